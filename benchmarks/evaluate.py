"""Benchmark: the reference policies on held-out worlds, priced, with the exploit checks; time.

    python benchmarks/evaluate.py [--accounts 20000] [--seeds 3] [--cycles 24] [--workers 2] [--exploit-scale 1]

Prints the evaluation table (means across seeds, gain against business as usual with its t-interval),
each exploit check, then one JSON object (last line): per reference policy net_value, collected,
contacts, complaints, cease_requests, opt_outs, charge_offs, cost; oracle_gain_vs_bau and
rule_gain_vs_bau (net value ratio - 1, mean over seeds) with their intervals; min_logged_propensity (the
least propensity in the logged book's decisions table, else contacts.propensity); exploits_blocked of
exploits_run; seconds (the evaluation alone) and exploit_seconds.
Target (issue 13): 20,000 accounts x 3 evaluation seeds x 6 policies in under 3 minutes on 2 cores.
"""

from __future__ import annotations

import time
from pathlib import Path

import _harness
import pandas as pd

from core.params import load_params
from evaluation.exploits import run_checks
from evaluation.harness import evaluate

FIGURES = ("net_value", "collected", "contacts", "complaints", "cease_requests", "opt_outs", "charge_offs", "cost")


def min_logged_propensity(raw: Path) -> float | None:
    """The least probability with which the logging policy took a logged action (decisions, else contacts)."""
    for table in ("decisions", "contacts"):
        path = raw / f"{table}.parquet"
        if path.exists():
            p = pd.read_parquet(path, columns=["propensity"])["propensity"].dropna()
            if len(p):
                return float(p.min())
    return None


def main() -> None:
    parser = _harness.parser(__doc__)
    _harness.add_book_arguments(parser, accounts=20_000, cycles=24)
    parser.add_argument("--seeds", type=int, default=3, help="evaluation worlds (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="worlds at a time (default 2)")
    parser.add_argument(
        "--exploit-scale", type=float, default=1.0, help="size of the exploit checks' books (0: skip them)"
    )
    args = parser.parse_args()

    params = load_params()
    seeds = tuple(params.evaluate.seeds[: args.seeds])
    seeds += tuple(max(seeds) + k for k in range(1, args.seeds - len(seeds) + 1))
    print(f"evaluating {len(params.evaluate.policies)} policies on {len(seeds)} held-out worlds ...", flush=True)
    report = evaluate(params, seeds=seeds, accounts=args.accounts, cycles=args.cycles, workers=args.workers)
    for line in report.lines():
        print(line)
    print(f"evaluated in {report.seconds:.1f} s ({report.run_seconds:.1f} s of world runs)", flush=True)

    checks, exploit_seconds = [], 0.0
    if args.exploit_scale > 0:
        began = time.perf_counter()
        checks = run_checks(params, scale=args.exploit_scale)
        exploit_seconds = time.perf_counter() - began
        for check in checks:
            print(check.line())

    raw = _harness.cached_book(args.accounts, args.cycles, args.data_dir)
    summary = report.as_dict()["policies"]
    oracle, rule = report.gain_vs_bau("oracle"), report.gain_vs_bau("simple_rule")
    _harness.emit(
        {
            "accounts": args.accounts,
            "cycles": args.cycles,
            "seeds": list(seeds),
            "policies": {name: {f: summary[name][f] for f in FIGURES} for name in summary},
            "oracle_gain_vs_bau": round(oracle.mean, 4) if oracle else None,
            "oracle_gain_interval": [round(oracle.low, 4), round(oracle.high, 4)] if oracle else None,
            "rule_gain_vs_bau": round(rule.mean, 4) if rule else None,
            "rule_gain_interval": [round(rule.low, 4), round(rule.high, 4)] if rule else None,
            "min_logged_propensity": min_logged_propensity(raw),
            "exploits_blocked": sum(c.blocked for c in checks),
            "exploits_run": len(checks),
            "seconds": round(report.seconds, 1),
            "exploit_seconds": round(exploit_seconds, 1),
        }
    )


if __name__ == "__main__":
    main()
