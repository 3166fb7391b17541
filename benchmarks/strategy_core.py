"""Strategy foundations: allowed actions, greedy vs HiGHS LP allocation and the verifier on a synthetic book.

The state frame is generated (public columns only: regions US/CN, the simulator's zone mix, consents,
opt-outs, restrictions, contact counts near the caps); values are random draws (the response models
are not wired in yet), so the figures measure time and the allocation methods' total value, not money.

    python benchmarks/strategy_core.py [--accounts 100000]
"""

from __future__ import annotations

import time
from datetime import date

import _harness
import numpy as np
import pandas as pd

from core import compliance as rulebook
from core.params import SimulateParams, StrategyParams
from core.schema import CONSENT_CHANNELS, RESTRICTION_KINDS
from strategy.allocation import allocate
from strategy.allowed import action_table
from strategy.capacity import capacity_usage
from strategy.output import recommendations
from strategy.verify import verify

RUN_DATE = date(2024, 3, 10)  # a US clock change


def book(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = SimulateParams().timezone_mix
    zones = rng.choice(list(mix), n, p=np.array(list(mix.values())) / sum(mix.values()))
    frame = pd.DataFrame(
        {
            "account_id": np.arange(n) + 1,
            "borrower_id": rng.integers(0, int(n * 0.8), n),
            "bucket": rng.integers(1, 7, n),
            "timezone": zones,
            "region": np.where(zones == "Asia/Shanghai", "CN-31", "US-NY"),
            "charged_off": rng.random(n) < 0.08,
            "contacts_7d": rng.integers(0, 9, n),
            "days_since_call_conversation": rng.integers(0, 30, n),
        }
    )
    for c in CONSENT_CHANNELS:
        frame[f"consent_{c}"] = rng.random(n) < 0.8
        frame[f"opt_out_{c}"] = rng.random(n) < 0.03
    for k in RESTRICTION_KINDS:
        if k != "channel_opt_out":
            frame[k] = rng.random(n) < 0.01
    return frame


def main() -> None:
    p = _harness.parser(__doc__)
    p.add_argument("--accounts", type=int, default=100_000, help="accounts (default 100,000)")
    args = p.parse_args()
    n = args.accounts
    frame = book(n)
    # capacity that binds: about one call in five of the book's and one field visit in a hundred
    params = StrategyParams(calls_per_hour=max(n / 100, 1.0), field_visits_per_day=max(n / 500, 1.0))
    rules = rulebook.Rulebook.from_params()
    t0 = time.perf_counter()
    table = action_table(frame, RUN_DATE, params.windows, rules)
    usage = capacity_usage(table.windows, RUN_DATE, params)
    table_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    value = rng.normal(0.0, 5.0, table.reason.shape) + np.where(
        np.isin(np.arange(table.reason.shape[1]) // len(params.windows), [2, 4, 5]), 4.0, 0.0
    )  # calls, field visits and plan offers worth more: capacity binds
    value[~table.allowed] = np.nan
    group = frame["borrower_id"].to_numpy()
    figures: dict[str, float | int] = {"accounts": n}
    allocs = {}
    for method in ("greedy", "lp"):
        t0 = time.perf_counter()
        allocs[method] = allocate(value, group, usage, method)
        figures[f"allocation_seconds_{method}"] = round(time.perf_counter() - t0, 3)
        figures[f"value_{method}"] = round(allocs[method].value, 2)
        print(f"{method:>6}: {figures[f'allocation_seconds_{method}']:.2f} s, total value {allocs[method].value:,.1f}")
    figures["lp_bound"] = round(float(allocs["lp"].bound), 2)
    t0 = time.perf_counter()
    recs = recommendations(frame, RUN_DATE, table, value, allocs[params.allocation], rules)
    figures["output_seconds"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    violations = verify(recs, frame, RUN_DATE, rules, params)
    figures["verify_seconds"] = round(time.perf_counter() - t0, 3)
    figures["violations"] = len(violations)
    figures["table_seconds"] = round(table_s, 3)
    figures["contacts"] = int((recs["action"] != "none").sum())
    print(
        f"action table: {table_s:.2f} s ({table.reason.shape[1]} candidates), output {figures['output_seconds']:.2f} s"
    )
    print(
        f"LP upper bound {figures['lp_bound']:,.1f}; greedy reaches {allocs['greedy'].value / allocs['lp'].bound:.4%}"
    )
    print(
        f"verifier: {figures['verify_seconds']:.2f} s, {len(violations)} violations; {figures['contacts']:,} contacts"
    )
    _harness.emit(figures)


if __name__ == "__main__":
    main()
