"""`map_partitions_spark`: the partitioned backend's loop (core.partitions.map_partitions) on Spark.

The contract is the pandas engine's: a partition function takes one account range's tables (table
name -> DataFrame in the canonical schema) and returns one frame per output. Here:

1. The driver computes the account ranges exactly as the pandas engine does
   (`core.partitions.partition_bounds` over the accounts' ids), so both engines cut the book alike.
2. Every table is read as a Spark DataFrame (parquet, or CSV as text), its columns prefixed with its
   name, every row tagged with its account range and its position in its file. Borrower-wide
   restrictions (no account_id) go to every range holding one of the borrower's accounts, as
   `core.partitions.slice_tables` sends them.
3. The tables are stacked (`unionByName`) and grouped by range: one `applyInPandas` group holds one
   range's rows of every table. Inside, each table is split off, put back in file order and conformed
   to the schema (`core.io.conform`, the readers' own casts), and the partition function runs on it.
4. Each group writes its frames itself, one parquet file per output and range
   (OUTPUT.parquet/part-NNNNN.parquet), with the pandas engine's writer (`core.partitions.ParquetAppender`),
   so the columns and their types (int8 codes, float32, categories, nanosecond timestamps) are the
   pandas engine's: Spark's own types would change several of them. File names are fixed per range,
   so a retried or speculative task rewrites the same file (through a rename, never half-written).
   The outputs are built in staging folders and published together only when every range succeeded.

Each group returns one small row (its range and a JSON summary of its frames) to the driver, for the
stage's running totals. Reading an output folder with `pandas.read_parquet` gives the pandas engine's
rows, in its order (the part files sort by range).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.io import conform, find_table_file
from core.partitions import ParquetAppender, PartitionFunction, partition_bounds
from core.schema import TABLE_NAMES, table
from pipeline.spark.session import quiet_pyspark
from validation.publish import staged_dirs

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: One partition's frames -> a small JSON-able summary sent back to the driver (counts for the metrics).
Summarize = Callable[[Sequence[pd.DataFrame]], dict[str, Any]]

PARTITION = "__partition"
TABLE = "__table"
ROW = "__row"
NANOS = "nanos"  # a date/timestamp column that crossed as int64 nanoseconds (parquet written by pandas)


def part_name(index: int) -> str:
    """The file of one range in an output folder; zero-padded so that name order is range order."""
    return f"part-{index:06d}.parquet"


def prefixed(name: str, column: str) -> str:
    return f"{name}__{column}"


@dataclass(frozen=True)
class SourceTable:
    """How one table crosses from Spark into pandas: the columns its file holds, and how each travels."""

    name: str
    columns: tuple[str, ...]
    how: Mapping[str, str]  # column -> "nanos" | "text" | "as_is"


def map_partitions_spark(
    spark: SparkSession,
    directory: Path,
    size: int,
    compute: PartitionFunction,
    outputs: Sequence[Path],
    summarize: Summarize | None = None,
) -> list[dict[str, Any]]:
    """Run `compute` on every range of at most `size` accounts of the book in `directory` on Spark, writing its
    frames as partitioned parquet (one folder per output, one file per range); publish the outputs only
    when every range has succeeded. Returns each range's summary (`summarize(frames)`, or the frames' row
    counts), in range order."""
    with quiet_pyspark():
        return _map_partitions(
            spark, Path(directory), size, compute, [Path(p) for p in outputs], summarize or _row_counts
        )


def _map_partitions(
    spark: SparkSession,
    directory: Path,
    size: int,
    compute: PartitionFunction,
    outputs: list[Path],
    summarize: Summarize,
) -> list[dict[str, Any]]:
    tables = {name: _read(spark, find_table_file(directory, name)) for name in TABLE_NAMES}
    sources = {name: _source(name, frame) for name, frame in tables.items()}
    ids = tables["accounts"].select(tables["accounts"]["account_id"].cast("long")).toArrow().column(0).to_numpy()
    bounds = partition_bounds(ids, size)
    with staged_dirs(outputs) as staged:
        if not bounds:  # an empty book: one empty partition, so that every output still has its columns
            empty = {name: conform(table(name).empty_frame(), table(name)) for name in TABLE_NAMES}
            summaries = [_write(0, compute(empty), staged, summarize)]
        else:
            stacked = _stack(spark, tables, sources, bounds)
            group = _group_function(sources, compute, [str(p) for p in staged], summarize)
            rows = stacked.groupBy(PARTITION).applyInPandas(group, f"{PARTITION} long, summary string").collect()
            found = sorted((int(r[PARTITION]), json.loads(r["summary"])) for r in rows)
            if [i for i, _ in found] != list(range(len(bounds))):
                raise RuntimeError(f"Spark returned {len(found)} of {len(bounds)} partitions")
            summaries = [s for _, s in found]
    return summaries


def _read(spark: SparkSession, path: Path) -> DataFrame:
    """A table's file as Spark reads it: parquet typed, CSV as text throughout (as core.io.read_raw reads it:
    only an empty cell is missing, quotes doubled as in RFC 4180, cells may span lines)."""
    if path.suffix == ".parquet":
        return spark.read.parquet(str(path))
    return spark.read.csv(str(path), header=True, inferSchema=False, multiLine=True, escape='"', encoding="utf-8")


def _source(name: str, frame: DataFrame) -> SourceTable:
    """How each of the table's columns travels: integers as their decimal text (exact: pandas would
    make a nullable integer float), int64 nanoseconds of a date or timestamp as text too, and turned
    back into time in the group; everything else as it is."""
    from pyspark.sql.types import DateType, IntegralType

    spec = table(name)
    known = set(spec.column_names)
    how = {}
    for field in frame.schema.fields:
        if field.name not in known:
            continue
        logical = spec.column(field.name).type
        if isinstance(field.dataType, IntegralType):
            how[field.name] = NANOS if logical in ("date", "timestamp") else "text"
        elif isinstance(field.dataType, DateType):
            how[field.name] = "text"  # ISO text, read by the schema's date parser
        else:
            how[field.name] = "as_is"
    return SourceTable(name, tuple(how), how)


def _stack(spark: SparkSession, tables: dict[str, DataFrame], sources: dict[str, SourceTable], bounds) -> DataFrame:
    """Every table's rows, prefixed, tagged with their range, table and file position, in one DataFrame."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType

    firsts = np.array([b[0] for b in bounds], dtype=np.int64)
    lasts = np.array([b[1] for b in bounds], dtype=np.int64)

    @F.pandas_udf(LongType())
    def range_of(account_id: pd.Series) -> pd.Series:
        """The range holding each account id (core.partitions.slice_tables's `between`), or -1."""
        ids = pd.to_numeric(account_id)
        present = ids.notna().to_numpy()
        value = ids.fillna(0).to_numpy(dtype=np.int64)
        index = np.searchsorted(firsts, value, side="right") - 1
        inside = present & (index >= 0)
        inside[inside] = value[inside] <= lasts[index[inside]]
        return pd.Series(np.where(inside, index, -1), dtype="int64")

    parts = []
    for name, frame in tables.items():
        source = sources[name]
        columns = []
        for col in source.columns:
            value = F.col(f"`{col}`")
            columns.append((value.cast("string") if source.how[col] != "as_is" else value).alias(prefixed(name, col)))
        tagged = frame.select(
            *columns,
            F.lit(name).alias(TABLE),
            F.monotonically_increasing_id().alias(ROW),
            range_of(F.col("account_id")).alias(PARTITION),
        )
        if name == "restrictions":
            # a borrower-wide restriction goes with every range holding one of the borrower's accounts
            holders = (
                tables["accounts"]
                .select(F.col("borrower_id").alias("__borrower"), range_of(F.col("account_id")).alias("__holder"))
                .distinct()
            )
            wide = (
                tagged.where(F.col(prefixed(name, "account_id")).isNull())
                .join(holders, F.col(prefixed(name, "borrower_id")) == F.col("__borrower").cast("string"))
                .withColumn(PARTITION, F.col("__holder"))
                .drop("__borrower", "__holder")
            )
            tagged = tagged.where(F.col(prefixed(name, "account_id")).isNotNull()).unionByName(wide)
        parts.append(tagged.where(F.col(PARTITION) >= 0))
    stacked = parts[0]
    for part in parts[1:]:
        stacked = stacked.unionByName(part, allowMissingColumns=True)
    return stacked


def _group_function(
    sources: dict[str, SourceTable], compute: PartitionFunction, staged: list[str], summarize: Summarize
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The function each group runs on an executor: split the tables, conform them, compute, write."""

    def run(group: pd.DataFrame) -> pd.DataFrame:
        index = int(group[PARTITION].iloc[0])
        tables = {name: _unpack(group, source) for name, source in sources.items()}
        summary = _write(index, compute(tables), [Path(p) for p in staged], summarize)
        return pd.DataFrame({PARTITION: [index], "summary": [json.dumps(summary)]})

    return run


def _unpack(group: pd.DataFrame, source: SourceTable) -> pd.DataFrame:
    """One table's rows of a group, in file order, in the canonical schema (core.io.conform casts them as
    the readers do; columns the file lacks come back empty, as they do there)."""
    rows = group[group[TABLE] == source.name].sort_values(ROW, kind="stable")
    spec = table(source.name)
    raw = {}
    for col in source.columns:
        values = rows[prefixed(source.name, col)].reset_index(drop=True)
        if source.how[col] == NANOS:
            nanos = pd.to_numeric(values).astype("Int64")
            values = pd.to_datetime(nanos, unit="ns", utc=spec.column(col).type == "timestamp")
        elif spec.column(col).type == "timestamp" and pd.api.types.is_datetime64_dtype(values.dtype):
            values = values.dt.tz_localize("UTC")  # tz-naive UTC wall times (the session's time zone is UTC)
        raw[col] = values
    return conform(pd.DataFrame(raw, index=pd.RangeIndex(len(rows))), spec)


def _write(index: int, frames: Sequence[pd.DataFrame], staged: list[Path], summarize: Summarize) -> dict[str, Any]:
    """Write one range's frames, one file per output, through a rename (a retried task rewrites the same
    file whole)."""
    if len(frames) != len(staged):
        raise ValueError(f"the partition function returned {len(frames)} frames for {len(staged)} outputs")
    for folder, frame in zip(staged, frames, strict=True):
        target = folder / part_name(index)
        tmp = folder / f".{target.name}.{uuid.uuid4().hex}.tmp"
        appender = ParquetAppender(tmp)
        try:
            appender.append(frame)
        finally:
            appender.close()
        os.replace(tmp, target)
    return summarize(frames)


def _row_counts(frames: Sequence[pd.DataFrame]) -> dict[str, Any]:
    return {"rows": [len(f) for f in frames]}
