"""Fuzz of the `validate` stage: N generated corruptions of a valid book; none may crash, lose a row or alter a value.

    python benchmarks/fuzz_validate.py [--cases 2000] [--seed 0] [--workers 2]

The cases, the runner and the oracle are the property-based test's (tests/validation_fuzzing.py,
loaded by path: the tests folder is not a package): hypothesis draws each case (CSV or parquet;
cell, structural and type damage, extreme values), the real stage runs on its files, and the case
is judged: exit 0 or a DataError (exit 2), never another exception (`tracebacks`); rows in =
validated + quarantined = rows written, per table (`rows_lost`); every validated cell equals the
value as written (`values_altered`). Great Expectations runs once per distinct table content and
its verdict is reused for an identical table (validation_fuzzing.gx_memo: same frame, same
verdict), which makes a case about three times cheaper without changing any result. Workers each
run their share of the cases with their own seed and Great Expectations context.
Last line: JSON with `cases`, `tracebacks`, `rows_lost`, `values_altered`, `seconds`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import _harness

from core.workers import ordered_map

TESTS = Path(__file__).resolve().parents[1] / "tests"


def _load(name: str):
    """A module of tests/ by path (validation_fuzzing imports validation_fixtures by name)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _run_share(task: tuple[int, int]) -> dict:
    """`run_share` of one worker's (cases, seed)."""
    return run_share(*task)


def run_share(cases: int, seed: int) -> dict:
    """Run `cases` generated cases with hypothesis seeded by `seed`; returns the tallies."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    _load("validation_fixtures")
    fuzz = _load("validation_fuzzing")
    tally: Counter = Counter()
    examples: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dunning-fuzz-") as scratch:
        root, gx_root = Path(scratch) / "case", Path(scratch) / "gx"
        root.mkdir()
        gx_root.mkdir()

        @seeded(seed)
        @settings(
            max_examples=cases,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(plan=fuzz.plans())
        def one(plan):
            case = fuzz.write_case(plan, root / "raw")
            with fuzz.gx_memo():
                outcome, warned = fuzz.quiet_run(case, root, gx_root)
            tally["cases"] += 1
            tally[f"exit_{outcome.exit_code}"] += 1
            tally[f"{plan.fmt}_cases"] += 1
            tally["tracebacks"] += outcome.tracebacks
            tally["rows_lost"] += outcome.rows_lost
            tally["values_altered"] += outcome.values_altered
            tally["values_compared"] += outcome.values_compared
            tally["warnings"] += len(warned)
            if outcome.problems and len(examples) < 5:
                examples.append(f"{plan}\n    " + "\n    ".join(p[-2000:] for p in outcome.problems[:3]))

        one()
    tally.update({f"gx_{k}": v for k, v in fuzz.GX_CALLS.items()})
    return {"tally": dict(tally), "examples": examples}


def main() -> None:
    parser = _harness.parser(__doc__)
    parser.add_argument("--cases", type=int, default=2000, help="generated cases (default 2,000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first worker's hypothesis run (default 0)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes sharing the cases (default: CPUs)"
    )
    args = parser.parse_args()
    workers = max(1, min(args.workers, args.cases))
    shares = [args.cases // workers + (i < args.cases % workers) for i in range(workers)]
    print(f"{args.cases:,} cases, {workers} worker(s), seeds {args.seed}..{args.seed + workers - 1}", flush=True)

    start = time.perf_counter()
    tasks = [(share, args.seed + i) for i, share in enumerate(shares)]
    results = list(ordered_map(_run_share, tasks, workers))
    seconds = time.perf_counter() - start

    tally: Counter = Counter()
    for result in results:
        tally.update(result["tally"])
    for result in results:
        for example in result["examples"]:
            print("PROBLEM:", example)
    print(
        f"exit 0: {tally['exit_0']:,}, exit 2 (data error): {tally['exit_2']:,}, other exceptions: {tally['exit_1']:,} "
        f"(csv {tally['csv_cases']:,}, parquet {tally['parquet_cases']:,})"
    )
    print(
        f"validated cells compared with the value as written: {tally['values_compared']:,}; "
        f"altered: {tally['values_altered']:,}; rows lost: {tally['rows_lost']:,}; warnings: {tally['warnings']:,}"
    )
    print(
        f"Great Expectations suites run: {tally['gx_run']:,}, verdicts reused for identical tables: "
        f"{tally['gx_remembered']:,}"
    )
    print(f"fuzz: {tally['cases']:,} cases in {seconds:.1f} s ({os.cpu_count()} CPUs)")
    _harness.emit(
        {
            "cases": tally["cases"],
            "tracebacks": tally["tracebacks"],
            "rows_lost": tally["rows_lost"],
            "values_altered": tally["values_altered"],
            "seconds": round(seconds, 1),
            "exit_0": tally["exit_0"],
            "exit_2": tally["exit_2"],
            "values_compared": tally["values_compared"],
            "warnings": tally["warnings"],
            "workers": workers,
            "seed": args.seed,
        }
    )


if __name__ == "__main__":
    main()
