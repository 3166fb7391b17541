"""The nightly `score` job's plan on Spark: the same partition function, `strategy.nightly.plan_partition`, per
partition of whole borrowers.

`plan_book` has `pipeline.nightly.plan_book`'s signature and outputs, so `pipeline.stages.score.run` uses it in
its place (`plan_book=`) and everything before and after (validation, the champions, the strategy's context
fitted on the whole book, the book-wide priority ranks, drift, MLflow, publishing) is the pandas job's own.

The night (`strategy.nightly.Night`: params, strategy model, what the book lacks) is broadcast; the champions
travel as their registered names and versions, with the driver's tracking and registry URIs, and each
executor's Python worker loads each champion once (the same version the driver loaded, as
`mlflow.pyfunc.spark_udf` would), however many partitions it plans. The partitions are the pandas job's
(`pipeline.nightly.partitions`). The executors write one file per partition; the driver then joins them, in
partition order, into the draft and latest-rows files the pandas engine would have written (one row group
per partition), reading one partition at a time.

A verifier violation on an executor comes back to the driver as the `DataError` the pandas job raises, so the
command's exit code is the same.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import DataError
from core.partitions import PartitionedBook
from pipeline import nightly
from pipeline.spark.engine import map_partitions_spark, part_name
from strategy.nightly import Night, plan_partition

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: How a DataError raised on an executor crosses Spark's own exception (its message carries this line).
DATA_ERROR = "DUNNING-DATA-ERROR "


def plan_book(
    night: Night,
    validated_dir: Path,
    draft: Path,
    latest_file: Path,
    size: int,
    spark: SparkSession | None = None,
    read: str = "shuffle",
) -> int:
    """`pipeline.nightly.plan_book` on Spark: the recommendations into `draft`, the latest feature rows into
    `latest_file`, one row group per partition in partition order. Returns the number of partitions."""
    from pipeline.spark.session import get_session

    spark = spark or get_session()
    parts = nightly.partitions(PartitionedBook(Path(validated_dir)), size)
    shared = spark.sparkContext.broadcast(nightly.shipped(night))

    def compute(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
        try:
            recs, latest = plan_partition(tables, nightly.unshipped(*shared.value))
        except DataError as err:  # Spark would hand the driver its own exception, the rule lost
            fields = {"table": err.table, "rule": err.rule, "message": err.detail, "column": err.column}
            raise RuntimeError(DATA_ERROR + json.dumps(fields)) from err
        return nightly.typed(recs), latest

    with tempfile.TemporaryDirectory(prefix="spark-plan-", dir=Path(draft).parent) as tmp:
        folders = [Path(tmp) / "draft.parquet", Path(tmp) / "latest.parquet"]
        try:
            summaries = map_partitions_spark(
                spark, Path(validated_dir), size, compute, folders, accounts=parts, read=read
            )
        except Exception as exc:
            found = re.search(re.escape(DATA_ERROR) + r"(\{.*?\})(?:\n|$)", str(exc))
            if found is None:
                raise
            fields = json.loads(found.group(1))
            raise DataError(fields["table"], fields["rule"], fields["message"], column=fields["column"]) from None
        for folder, target in zip(folders, (draft, latest_file), strict=True):
            _join(folder, len(summaries), Path(target))
    return len(summaries)


def _join(folder: Path, count: int, target: Path) -> None:
    """The partitions' files of one output as one parquet file, a row group each, in partition order (the pandas
    engine's layout), with the first partition's schema."""
    writer: pq.ParquetWriter | None = None
    try:
        for index in range(count):
            table = pq.read_table(folder / part_name(index))
            if writer is None:  # as core.partitions.ParquetAppender writes: dictionaries for the category columns only
                categorical = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
                writer = pq.ParquetWriter(target, table.schema, use_dictionary=categorical)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
