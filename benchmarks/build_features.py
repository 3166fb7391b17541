"""Benchmark of the `features` stage: N accounts x 24 cycles -> features, labels, contact labels.

    python benchmarks/features.py [--accounts 200000] [--cycles 24] [--data-dir DIR] [--partition N]

The input book is simulated once per size and code version (core.fingerprint) into a cache
outside the project (in a child process, so that generating it does not count towards the
measured peak memory). The measured
run is the real stage (`pipeline.stages.features.run`): partitioned reads of the parquet
tables, every feature family, the labels and the contact labels, written to a scratch
directory. `account_cycles` is the number of feature rows (one per statement: accounts
opened during the simulated window have fewer than `cycles`). Last line: JSON with
`accounts`, `account_cycles`, `seconds`, `peak_mib`.
Target (issue 4): at least 1,000,000 account-cycles per 10 s on 2 cores, under 4 GiB peak.
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


def generate(accounts: int, cycles: int, out_dir: Path) -> None:
    """Simulate the book into out_dir/raw (the simulator writes validated-schema parquet)."""
    from core.params import parse_params
    from pipeline.stages import simulate

    simulate.run(parse_params({"simulate": {"accounts": accounts, "cycles": cycles}}), out_dir / "raw",
                 metrics_file=None)
    (out_dir / "READY").write_text("simulator\n")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--cycles", type=int, default=24)
    parser.add_argument("--partition", type=int, default=None,
                        help="Accounts per partition (default: params.yaml features.partition_accounts).")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="Cache for the simulated input (default: a directory under the system temp dir).")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data_dir or Path(tempfile.gettempdir()) / (
        f"dunning-bench-features-{args.accounts}x{args.cycles}-{source_fingerprint('core', 'simulator')}")

    if args.generate_only:
        generate(args.accounts, args.cycles, data)
        return
    if not (data / "READY").exists():
        print(f"simulating {args.accounts:,} accounts x {args.cycles} cycles into {data} (once) ...", flush=True)
        subprocess.run([sys.executable, __file__, "--accounts", str(args.accounts), "--cycles", str(args.cycles),
                        "--data-dir", str(data), "--generate-only"], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})

    import pyarrow.parquet as pq

    from core.params import load_params
    from pipeline.stages import features as stage

    params = load_params()
    if args.partition:
        params = params.model_copy(update={"features": params.features.model_copy(
            update={"partition_accounts": args.partition})})
    rows_in = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in sorted((data / "raw").glob("*.parquet"))}
    print("input rows: " + ", ".join(f"{k} {v:,}" for k, v in rows_in.items()))
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        metrics = stage.run(params, data / "raw", Path(tmp) / "processed", Path(tmp) / "features.json")
        seconds = time.perf_counter() - began
        size = sum(p.stat().st_size for p in (Path(tmp) / "processed").iterdir()) / 2 ** 20
    rate = metrics["rows"] / seconds * 10
    print(f"{metrics['rows']:,} account-cycles x {metrics['feature_columns']} features, "
          f"{metrics['contacts']:,} contact labels, {metrics['partitions']} partition(s) of "
          f"{params.features.partition_accounts:,} accounts: {seconds:.1f} s "
          f"({rate:,.0f} account-cycles per 10 s), {size:,.0f} MiB parquet written")
    print(f"peak memory {peak_mib():,.0f} MiB")
    print(json.dumps({"accounts": args.accounts, "account_cycles": metrics["rows"], "seconds": round(seconds, 2),
                      "peak_mib": round(peak_mib(), 1), "account_cycles_per_10s": round(rate),
                      "feature_columns": metrics["feature_columns"], "partitions": metrics["partitions"],
                      "input_rows": rows_in}))


if __name__ == "__main__":
    main()
