"""Benchmark of the features stage on both engines: pandas, then Spark in local mode, on the same book.

    python benchmarks/spark_features.py [--accounts 20000] [--cycles 24] [--partition N] [--master local[2]]

The input book is simulated once per size and code version (benchmarks/_harness.py). The pandas run is
the stage itself (`pipeline.stages.features.run`); the Spark run is `pipeline.spark.features.run`, the
same partition function per account range in `groupBy(range).applyInPandas` groups. The Spark session is
started before the clock (its start-up, a JVM, is reported apart as `seconds_spark_session`). Both runs
write to a scratch folder; `rows_equal_to_pandas` is true when the three outputs are equal (same rows and
columns, values within 1e-12 relative). Peak memory is the driver's (this process; Spark's JVM and its
Python workers are other processes). Last line: JSON with `accounts`, `seconds_pandas`, `seconds_spark`,
`rows_equal_to_pandas`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import _harness


def main() -> None:
    parser = _harness.parser(__doc__)
    _harness.add_book_arguments(parser, accounts=20_000)
    parser.add_argument("--partition", type=int, default=None, help="accounts per partition (default: params.yaml)")
    parser.add_argument("--master", default="local[2]", help="Spark master of the local session (default local[2])")
    args = parser.parse_args()
    raw = _harness.cached_book(args.accounts, args.cycles, args.data_dir)

    import pandas as pd

    from core.params import load_params
    from pipeline.spark import features as spark_features
    from pipeline.spark.session import get_session
    from pipeline.stages import features as stage

    params = load_params()
    if args.partition:
        params = params.model_copy(
            update={"features": params.features.model_copy(update={"partition_accounts": args.partition})}
        )
    size = params.features.partition_accounts
    print(f"book: {_harness.book_source(raw)}; partitions of {size:,} accounts")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        began = time.perf_counter()
        metrics = stage.run(params, raw, out / "pandas", out / "pandas.json")
        seconds_pandas = time.perf_counter() - began
        print(f"pandas: {metrics['rows']:,} rows in {metrics['partitions']} partition(s): {seconds_pandas:.1f} s")

        began = time.perf_counter()
        spark = get_session(args.master, shuffle_partitions=2)
        seconds_session = time.perf_counter() - began
        began = time.perf_counter()
        spark_metrics = spark_features.run(params, raw, out / "spark", out / "spark.json", spark)
        seconds_spark = time.perf_counter() - began
        print(
            f"spark ({args.master}): {spark_metrics['rows']:,} rows in {spark_metrics['partitions']} partition(s): "
            f"{seconds_spark:.1f} s (+ {seconds_session:.1f} s to start the session)"
        )
        equal = spark_metrics == metrics
        for name in stage.OUTPUTS:
            expected = pd.read_parquet(out / "pandas" / f"{name}.parquet")
            got = pd.read_parquet(out / "spark" / f"{name}.parquet")
            try:
                pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
            except AssertionError as exc:
                equal = False
                print(f"{name}: differs from the pandas engine's: {str(exc).splitlines()[0]}")
        spark.stop()
    print(f"outputs equal to the pandas engine's: {equal}; Spark/pandas time {seconds_spark / seconds_pandas:.2f}x")
    print(f"driver peak memory {_harness.peak_mib():,.0f} MiB")
    _harness.emit(
        {
            "accounts": args.accounts,
            "account_cycles": metrics["rows"],
            "partitions": metrics["partitions"],
            "master": args.master,
            "seconds_pandas": round(seconds_pandas, 2),
            "seconds_spark": round(seconds_spark, 2),
            "seconds_spark_session": round(seconds_session, 2),
            "rows_equal_to_pandas": equal,
            "peak_mib": round(_harness.peak_mib(), 1),
        }
    )


if __name__ == "__main__":
    main()
