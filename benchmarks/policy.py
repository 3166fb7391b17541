"""The recommended contact strategy on held-out worlds against business as usual, the references and the oracle.

Needs the pipeline's models (`make repro`: data/models/uplift and data/models/strategy, or --uplift-dir /
--strategy-dir). Replays, on the evaluation worlds (`evaluate.seeds`, never the logged book's seed), the
recommended policy (strategy.policy:build), its myopic variant (horizon_weight 0), business as usual, no
contact, contact everyone, random at BAU's budget, the simple observable rule and the truth-greedy oracle;
then the recommended policy as the harm prices vary (`strategy.harm_scale`: net value against contacts);
then the recommendation speed for --accounts accounts (a state frame of the run date, replicated) with the
independent verifier over every row (US and CN profiles).

    python benchmarks/policy.py [--accounts 100000] [--eval-accounts N] [--seeds 3] [--quick]

--quick (the test suite's tiny run) sweeps two harm scales, 0 and 100, instead of four: it checks the script,
its figures mean nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import _harness
import numpy as np
import pandas as pd

from core.io import read_tables
from core.params import load_params
from evaluation.harness import evaluate
from features.state_frame import state_frame
from models.uplift.reminders import learn_from_log
from models.uplift.rows import decision_rows
from models.uplift.store import save as save_uplift
from models.uplift.train import train_uplift
from pipeline.stages import simulate
from strategy.model import fit_context, load_model, save_context
from strategy.policy import STRATEGY_DIR_ENV, UPLIFT_DIR_ENV
from strategy.recommend import recommend
from strategy.verify import verify

#: The harm scales of the sweep (--quick: the first and the last).
HARM_SCALES = (0.0, 1.0, 10.0, 100.0)
RECOMMENDED = "recommended=strategy.policy:build"
MYOPIC = 'myopic=strategy.policy:build {"horizon_weight": 0}'
REFERENCES = ("business_as_usual", "no_contact", "contact_everyone", "random_budget", "simple_rule", "oracle")
FIGURES = ("net_value", "collected", "contacts", "complaints", "cease_requests", "opt_outs", "charge_offs", "cost")


def _mean(report, name: str, figure: str) -> float:
    runs = report.runs[name]
    return float(np.mean([getattr(runs[s], figure) for s in report.seeds]))


def _violations(report, name: str) -> int:
    runs = report.runs[name]
    return int(sum(sum(runs[s].refused.values()) for s in report.seeds))


def _replicated(states: pd.DataFrame, n: int) -> pd.DataFrame:
    """`n` rows of the run date's state frame, copies given new account and borrower ids."""
    reps = -(-n // max(len(states), 1))
    out = pd.concat([states] * reps, ignore_index=True).iloc[:n].copy()
    k = np.repeat(np.arange(reps), len(states))[:n].astype(np.int64)
    for col in ("account_id", "borrower_id"):
        out[col] = out[col].to_numpy(np.int64) + k * (int(states[col].max()) + 1)
    return out


def speed(params, model, n: int, book: Path) -> dict[str, float]:
    """Plan + table + verifier for `n` accounts of the book's run-date state frame."""
    tables = read_tables(book)
    run_date = max(pd.to_datetime(tables["statements"]["cycle_date"]).max().date(), dt.date(2000, 1, 1))
    run_date += dt.timedelta(days=1)
    states = _replicated(state_frame(tables, run_date, params), n)
    began = time.perf_counter()
    recs, _ = recommend(states, run_date, model)
    seconds = time.perf_counter() - began
    began = time.perf_counter()
    bad = verify(recs, states, run_date, model.rules, model.params.strategy)
    verify_seconds = time.perf_counter() - began
    regions = states["region"].astype(str).str[:2].value_counts().to_dict()
    print(
        f"recommendations for {len(states):,} accounts ({regions}): {seconds:.1f} s; verifier {verify_seconds:.1f} s, "
        f"{len(bad)} violations; {int((recs['action'] != 'none').sum()):,} contacts"
    )
    return {"seconds": seconds, "verify_seconds": verify_seconds, "violations": len(bad)}


def main() -> None:
    parser = _harness.parser(__doc__)
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts for the speed run (default 100,000)")
    parser.add_argument(
        "--eval-accounts", type=int, default=None, help="accounts per world (default evaluate.accounts)"
    )
    parser.add_argument("--cycles", type=int, default=None, help="cycles per world (default evaluate.cycles)")
    parser.add_argument("--seeds", type=int, default=3, help="evaluation worlds (default 3)")
    parser.add_argument("--sweep-accounts", type=int, default=5000, help="accounts per world of the harm sweep")
    parser.add_argument("--plot", type=Path, default=None, help="write the harm sweep (net value vs contacts) as CSV")
    parser.add_argument("--uplift-dir", default="data/models/uplift", help="the pipeline's uplift model")
    parser.add_argument("--strategy-dir", default="data/models/strategy", help="the pipeline's strategy context")
    parser.add_argument(
        "--book-accounts",
        type=int,
        default=None,
        help="instead of the pipeline's models: simulate a book of N accounts and train on it (--book-cycles)",
    )
    parser.add_argument("--book-cycles", type=int, default=None, help="cycles of that book (default simulate.cycles)")
    parser.add_argument("--quick", action="store_true", help="a harm sweep of two scales (for the test suite)")
    args = parser.parse_args()
    params = load_params()
    with tempfile.TemporaryDirectory() as tmp:
        if args.book_accounts:
            book, uplift_dir, strategy_dir = train_on_a_book(params, args.book_accounts, args.book_cycles, Path(tmp))
        else:
            book, uplift_dir, strategy_dir = Path("data/validated"), Path(args.uplift_dir), Path(args.strategy_dir)
        run(params, args, book, uplift_dir, strategy_dir)


def train_on_a_book(params, accounts: int, cycles: int | None, tmp: Path) -> tuple[Path, Path, Path]:
    """Simulate a book, train the uplift model and fit the strategy's context on it (the pipeline's steps)."""
    if cycles:
        params = params.model_copy(update={"simulate": params.simulate.model_copy(update={"cycles": cycles})})
    simulate.run(params, tmp / "raw", accounts=accounts, metrics_file=None)
    tables = read_tables(tmp / "raw")
    rows = decision_rows(tables, params)
    result = train_uplift(rows, tables["contacts"], params)
    facts, reminders = learn_from_log(rows, tables, params)
    save_uplift(result.model, result.costs, params, tmp / "uplift", facts, reminders)
    save_context(fit_context(tables, params, rows, facts), params, tmp / "strategy")  # facts measured once
    return tmp / "raw", tmp / "uplift", tmp / "strategy"


def run(params, args, book: Path, uplift_dir: Path, strategy_dir: Path) -> None:
    os.environ[UPLIFT_DIR_ENV] = str(uplift_dir.resolve())
    os.environ[STRATEGY_DIR_ENV] = str(strategy_dir.resolve())
    model = load_model(uplift_dir, strategy_dir)
    seeds = tuple(params.evaluate.seeds[: args.seeds])

    began = time.perf_counter()
    policies = [*REFERENCES, RECOMMENDED, MYOPIC]
    report = evaluate(params, policies, seeds=seeds, accounts=args.eval_accounts, cycles=args.cycles)
    for line in report.lines():
        print(line)
    print(f"evaluated in {report.seconds:.0f} s", flush=True)

    sweep = []
    for scale in (HARM_SCALES[0], HARM_SCALES[-1]) if args.quick else HARM_SCALES:
        spec = f'harm_{scale:g}=strategy.policy:build {{"harm_scale": {scale}}}'
        r = evaluate(params, [spec], seeds=seeds, accounts=args.sweep_accounts, cycles=args.cycles)
        name = spec.partition("=")[0]
        point = {"harm_scale": scale, **{f: round(_mean(r, name, f), 2) for f in ("net_value", "contacts")}}
        point["harm"] = round(_mean(r, name, "complaints") + _mean(r, name, "cease_requests"), 2)
        sweep.append(point)
        print(f"  harm prices x{scale:g}: net value {point['net_value']:,.0f}, contacts {point['contacts']:,.0f}")

    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(sweep).to_csv(args.plot, index=False)
    fast = speed(params, model, args.accounts, book)

    names = {"recommended": "recommended", "myopic": "myopic", **{r: r for r in REFERENCES}}
    per = {k: {f: round(_mean(report, v, f), 2) for f in FIGURES} for k, v in names.items()}
    bau, rec, oracle = per["business_as_usual"], per["recommended"], per["oracle"]
    harm = lambda d: d["complaints"] + d["cease_requests"]  # noqa: E731
    figures = {
        "policies": per,
        "net_gain_vs_bau": round(rec["net_value"] / bau["net_value"] - 1, 4),
        "oracle_gap_captured": round(
            (rec["net_value"] - bau["net_value"]) / (oracle["net_value"] - bau["net_value"]), 4
        ),
        "contacts_ratio_vs_bau": round(rec["contacts"] / bau["contacts"], 4),
        "harm_ratio_vs_bau": round(harm(rec) / max(harm(bau), 1e-9), 4),
        "long_horizon_gain_vs_myopic": round(rec["net_value"] / per["myopic"]["net_value"] - 1, 4),
        "beats_simple_rule": bool(rec["net_value"] > per["simple_rule"]["net_value"]),
        "violations": int(fast["violations"] + _violations(report, "recommended") + _violations(report, "myopic")),
        "harm_sweep": sweep,
        "accounts": args.accounts,
        "seconds": round(fast["seconds"], 2),
        "verify_seconds": round(fast["verify_seconds"], 2),
        "evaluation_seconds": round(time.perf_counter() - began, 1),
        "seeds": list(seeds),
    }
    _harness.emit(figures)


if __name__ == "__main__":
    main()
