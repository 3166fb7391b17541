"""Benchmark of the `validate` stage: N accounts x 24 cycles, read + check + write, time and peak memory.

    python benchmarks/validate.py [--accounts 200000] [--cycles 24] [--data-dir DIR]

The input book is generated once per size and code version (core.fingerprint) into a cache
outside the project (the simulator when it is available, else the vectorised valid-book factory
of the validation tests), in a child process so that generating it does not count towards the
measured peak memory. The measured run
is the real stage (`pipeline.stages.validate.run`), Great Expectations import included, writing
to a scratch directory. Last line: JSON with `accounts`, `seconds`, `peak_mib`.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.fingerprint import source_fingerprint  # noqa: E402  (needs ROOT on sys.path)
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

TABLES = ("accounts", "statements", "payments", "contacts", "restrictions")


def generate(accounts: int, cycles: int, out_dir: Path) -> str:
    """Write a valid book to out_dir/raw; returns which generator made it."""
    raw = out_dir / "raw"
    try:
        from core.params import parse_params
        from pipeline.stages import simulate

        simulate.run(parse_params({"simulate": {"accounts": accounts, "cycles": cycles}}), raw, metrics_file=None)
        source = "simulator"
    except ImportError:  # the simulator is another area's: keep the benchmark usable without it
        sys.path.insert(0, str(ROOT / "tests"))
        from validation_fixtures import clean_tables, write_raw

        write_raw(clean_tables(accounts, cycles), raw)
        source = "tests/validation_fixtures.clean_tables (simulator not available)"
    (out_dir / "SOURCE").write_text(source)
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--cycles", type=int, default=24)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="Cache for the generated input (default: a directory under the system temp dir).")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data_dir or Path(tempfile.gettempdir()) / (
        f"dunning-bench-validate-{args.accounts}x{args.cycles}-{source_fingerprint('core', 'simulator')}")

    if args.generate_only:
        generate(args.accounts, args.cycles, data)
        return
    if not all(any((data / "raw" / f"{t}{s}").exists() for s in (".parquet", ".csv")) for t in TABLES):
        print(f"generating {args.accounts:,} accounts x {args.cycles} cycles into {data} ...", flush=True)
        subprocess.run([sys.executable, __file__, "--accounts", str(args.accounts), "--cycles", str(args.cycles),
                        "--data-dir", str(data), "--generate-only"], check=True)
    print(f"input: {data / 'raw'} ({(data / 'SOURCE').read_text() if (data / 'SOURCE').exists() else 'given'})")

    start = time.perf_counter()
    from core.params import parse_params
    from core.paths import PROJECT_ROOT
    from pipeline.stages import validate

    with tempfile.TemporaryDirectory(prefix="dunning-bench-validate-out-") as scratch:
        out = Path(scratch)
        timings: dict[str, float] = {}
        metrics = validate.run(parse_params({}), data / "raw", out / "validated", out / "quarantine",
                               out / "validation.json", out / "report", PROJECT_ROOT, timings=timings)
        seconds = time.perf_counter() - start
    print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, table in metrics["tables"].items():
        print(f"{name:>13}: {table['rows_in']:>10,} rows in, {table['rows_quarantined']:>7,} quarantined "
              f"{dict(table['quarantined_by_rule']) or ''}")
    print(f"validate: {seconds:.1f} s, peak {peak_mib:,.0f} MiB ({os.cpu_count()} CPUs)")
    print(json.dumps({"accounts": args.accounts, "seconds": round(seconds, 2), "peak_mib": round(peak_mib, 1),
                      "cycles": args.cycles, "rows_in": metrics["rows_in"],
                      "rows_quarantined": metrics["rows_quarantined"]}))


if __name__ == "__main__":
    main()
