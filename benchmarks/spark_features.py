"""Benchmark of the features stage on both engines: pandas, then Spark in local mode, on the same book.

    python benchmarks/spark_features.py [--accounts 20000] [--cycles 24] [--partition N] [--master local[2]]

The input book is simulated once per size and code version (benchmarks/_harness.py). The pandas run is
the stage itself (`pipeline.stages.features.run`); the Spark runs are `pipeline.spark.features.run`, the
same partition function per account partition on Spark. The Spark session is started before the clock
(its start-up, a JVM, is reported apart as `seconds_spark_session`). Spark is timed cold (`seconds_spark`:
the first job starts the Python workers and compiles code), again on the warm session
(`seconds_spark_warm`), both reading the tables as Spark DataFrames and shuffling their rows to the
partitions (`read="shuffle"`), and once more with each task reading its own partition from the parquet
files (`seconds_spark_direct`, `read="direct"`). Every run writes to a scratch folder;
`rows_equal_to_pandas` is true when every Spark run's three outputs and metrics equal the pandas engine's
(same rows and columns, values within 1e-12 relative). Peak memory is the driver's (this process; Spark's
JVM and its Python workers are other processes). Last line: JSON with `accounts`, `seconds_pandas`,
`seconds_spark`, `rows_equal_to_pandas` and the other times.
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
        spark_metrics = {}

        def spark_run(read: str, name: str) -> tuple[float, dict[str, float]]:
            """One Spark run into OUT/NAME; its seconds and the groups' summed seconds per step."""
            timings: list[dict[str, float]] = []
            began = time.perf_counter()
            spark_metrics[name] = spark_features.run(
                params, raw, out / name, out / f"{name}.json", spark, timings, read
            )
            seconds = time.perf_counter() - began
            steps = {step: round(sum(t[step] for t in timings), 2) for step in ("read", "compute", "write")}
            print(
                f"spark ({args.master}, read={read}{', cold' if name == 'cold' else ''}): {seconds:.1f} s; "
                "the groups' own seconds, summed: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
            )
            return seconds, steps

        seconds_spark, _ = spark_run("shuffle", "cold")  # the first job starts the Python workers, compiles code
        seconds_warm, groups = spark_run("shuffle", "shuffle")
        seconds_direct, groups_direct = spark_run("direct", "direct")
        equal = all(m == metrics for m in spark_metrics.values())
        for run in spark_metrics:
            for name in stage.OUTPUTS:
                expected = pd.read_parquet(out / "pandas" / f"{name}.parquet")
                got = pd.read_parquet(out / run / f"{name}.parquet")
                try:
                    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
                except AssertionError as exc:
                    equal = False
                    print(f"{run} {name}: differs from the pandas engine's: {str(exc).splitlines()[0]}")
        spark.stop()
    print(f"session start {seconds_session:.1f} s (not in the Spark times)")
    print(
        f"outputs equal to the pandas engine's: {equal}; Spark/pandas time: "
        f"cold {seconds_spark / seconds_pandas:.2f}x, warm {seconds_warm / seconds_pandas:.2f}x, "
        f"direct {seconds_direct / seconds_pandas:.2f}x"
    )
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
            "seconds_spark_warm": round(seconds_warm, 2),
            "seconds_spark_direct": round(seconds_direct, 2),
            "group_seconds_warm": groups,
            "group_seconds_direct": groups_direct,
            "rows_equal_to_pandas": equal,
            "peak_mib": round(_harness.peak_mib(), 1),
        }
    )


if __name__ == "__main__":
    main()
