"""Benchmark of the `features` stage: N accounts x 24 cycles -> features, labels, contact labels.

    python benchmarks/build_features.py [--accounts 200000] [--cycles 24] [--data-dir DIR] [--partition N]

The input book is simulated once per size and code version (core.fingerprint) into a cache
outside the project (benchmarks/_harness.py, in a child process so that generating it does not
count towards the measured peak memory). The measured run is the real stage
(`pipeline.stages.features.run`): partitioned reads of the parquet tables, every feature family,
the labels and the contact labels, written to a scratch directory. `account_cycles` is the number
of feature rows (one per statement: accounts opened during the simulated window have fewer than
`cycles`). Last line: JSON with `accounts`, `account_cycles`, `seconds`, `peak_mib`.
Target (issue 4): at least 1,000,000 account-cycles per 10 s on 2 cores, under 4 GiB peak.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import _harness


def main() -> None:
    parser = _harness.parser(__doc__)
    _harness.add_book_arguments(parser)
    parser.add_argument(
        "--partition",
        type=int,
        default=None,
        help="Accounts per partition (default: params.yaml features.partition_accounts).",
    )
    args = parser.parse_args()
    raw = _harness.cached_book(args.accounts, args.cycles, args.data_dir)

    import pyarrow.parquet as pq

    from core.params import load_params
    from pipeline.stages import features as stage

    params = load_params()
    if args.partition:
        params = params.model_copy(
            update={"features": params.features.model_copy(update={"partition_accounts": args.partition})}
        )
    rows_in = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in sorted(raw.glob("*.parquet"))}
    print("input rows: " + ", ".join(f"{k} {v:,}" for k, v in rows_in.items()))
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        metrics = stage.run(params, raw, Path(tmp) / "processed", Path(tmp) / "features.json")
        seconds = time.perf_counter() - began
        size = sum(p.stat().st_size for p in (Path(tmp) / "processed").iterdir()) / 2**20
    rate = metrics["rows"] / seconds * 10
    print(
        f"{metrics['rows']:,} account-cycles x {metrics['feature_columns']} features, "
        f"{metrics['contacts']:,} contact labels, {metrics['partitions']} partition(s) of "
        f"{params.features.partition_accounts:,} accounts: {seconds:.1f} s "
        f"({rate:,.0f} account-cycles per 10 s), {size:,.0f} MiB parquet written"
    )
    print(f"peak memory {_harness.peak_mib():,.0f} MiB")
    _harness.emit(
        {
            "accounts": args.accounts,
            "account_cycles": metrics["rows"],
            "seconds": round(seconds, 2),
            "peak_mib": round(_harness.peak_mib(), 1),
            "account_cycles_per_10s": round(rate),
            "feature_columns": metrics["feature_columns"],
            "partitions": metrics["partitions"],
            "input_rows": rows_in,
        }
    )


if __name__ == "__main__":
    main()
