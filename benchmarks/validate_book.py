"""Benchmark of the `validate` stage: N accounts x 24 cycles, read + check + write, time and peak memory.

    python benchmarks/validate_book.py [--accounts 200000] [--cycles 24] [--data-dir DIR] [--gx-root DIR]

The input book is simulated once per size and code version (core.fingerprint) into a cache
outside the project (benchmarks/_harness.py, in a child process so that generating it does not
count towards the measured peak memory). The measured run is the real stage
(`pipeline.stages.validate.run`), Great Expectations import included, writing to a scratch
directory; the Great Expectations context is the project's `gx/` (--gx-root: another folder's, e.g. one
that no other run validates into at the same time). Last line: JSON with `accounts`, `seconds`, `peak_mib`.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import _harness


def main() -> None:
    parser = _harness.parser(__doc__)
    _harness.add_book_arguments(parser)
    parser.add_argument(
        "--gx-root", type=Path, default=None, help="folder holding the GX context gx/ (default: the project)"
    )
    args = parser.parse_args()
    raw = _harness.cached_book(args.accounts, args.cycles, args.data_dir)
    print(f"input: {raw} ({_harness.book_source(raw)})")

    start = time.perf_counter()
    from core.params import parse_params
    from core.paths import PROJECT_ROOT
    from pipeline.stages import validate

    with tempfile.TemporaryDirectory(prefix="dunning-bench-validate-out-") as scratch:
        out = Path(scratch)
        timings: dict[str, float] = {}
        metrics = validate.run(
            parse_params({}),
            raw,
            out / "validated",
            out / "quarantine",
            out / "validation.json",
            out / "report",
            args.gx_root or PROJECT_ROOT,
            timings=timings,
        )
        seconds = time.perf_counter() - start
    print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    peak_mib = _harness.peak_mib()
    for name, table in metrics["tables"].items():
        print(
            f"{name:>13}: {table['rows_in']:>10,} rows in, {table['rows_quarantined']:>7,} quarantined "
            f"{dict(table['quarantined_by_rule']) or ''}"
        )
    print(f"validate: {seconds:.1f} s, peak {peak_mib:,.0f} MiB ({os.cpu_count()} CPUs)")
    _harness.emit(
        {
            "accounts": args.accounts,
            "seconds": round(seconds, 2),
            "peak_mib": round(peak_mib, 1),
            "cycles": args.cycles,
            "rows_in": metrics["rows_in"],
            "rows_quarantined": metrics["rows_quarantined"],
        }
    )


if __name__ == "__main__":
    main()
