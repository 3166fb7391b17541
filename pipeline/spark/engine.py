"""`map_partitions_spark`: the partitioned backend's loop (core.partitions.map_partitions) on Spark.

The contract is the pandas engine's: a partition function takes one account range's tables (table
name -> DataFrame in the canonical schema) and returns one frame per output. Here:

1. The driver computes the account ranges exactly as the pandas engine does
   (`core.partitions.partition_bounds` over the accounts' ids), so both engines cut the book alike.
2. Every table is read as a Spark DataFrame (parquet, or CSV as text) and every row tagged with its
   account range and its position in its file. Borrower-wide restrictions (no account_id) go to every
   range holding one of the borrower's accounts, as `core.partitions.slice_tables` sends them.
3. The tables are stacked (`unionByName`) in shared columns, one per Spark type and position (so the
   stack is as wide as the widest table, not as all tables together), and grouped by range: one
   `applyInArrow` group holds one range's rows of every table, as Arrow (integers stay exact, where
   pandas would make a column with nulls float). Inside, each table is split off, put back in file
   order and conformed to the schema (`core.io.conform`, the readers' own casts), and the partition
   function runs on it.
4. Each group writes its frames itself, one parquet file per output and range
   (OUTPUT.parquet/part-NNNNNN.parquet), with the pandas engine's writer (`core.partitions.ParquetAppender`),
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
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def part_name(index: int) -> str:
    """The file of one range in an output folder; zero-padded so that name order is range order."""
    return f"part-{index:06d}.parquet"


def slot_name(type_name: str, position: int) -> str:
    """The shared column that holds the `position`-th column of a Spark type in every table (see `_source`)."""
    return f"__{re.sub(r'[^0-9a-zA-Z]', '_', type_name)}_{position}"


@dataclass(frozen=True)
class SourceTable:
    """The columns of the schema that one table's file holds, and those that hold int64 nanoseconds of a date or
    timestamp (parquet written by pandas, read with spark.sql.legacy.parquet.nanosAsLong)."""

    name: str
    columns: tuple[str, ...]
    nanos: frozenset[str]
    slots: dict[str, str]  # column -> the stacked frame's column that carries it


def map_partitions_spark(
    spark: SparkSession,
    directory: Path,
    size: int,
    compute: PartitionFunction,
    outputs: Sequence[Path],
    summarize: Summarize | None = None,
    accounts: Sequence[np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """Run `compute` on every range of at most `size` accounts of the book in `directory` on Spark, writing its
    frames as partitioned parquet (one folder per output, one file per partition); publish the outputs only
    when every partition has succeeded. Returns each partition's summary (`summarize(frames)`, or the frames'
    row counts), in partition order.

    `accounts`: the partitions as arrays of account ids (core.partitions.borrower_partitions) instead of
    account-id ranges, as `core.partitions.map_partitions` takes them."""
    with quiet_pyspark():
        return _map_partitions(
            spark, Path(directory), size, compute, [Path(p) for p in outputs], summarize or _row_counts, accounts
        )


def _map_partitions(
    spark: SparkSession,
    directory: Path,
    size: int,
    compute: PartitionFunction,
    outputs: list[Path],
    summarize: Summarize,
    accounts: Sequence[np.ndarray] | None,
) -> list[dict[str, Any]]:
    tables = {name: _read(spark, find_table_file(directory, name)) for name in TABLE_NAMES}
    sources = {name: _source(name, frame) for name, frame in tables.items()}
    if accounts is None:
        ids = tables["accounts"].select(tables["accounts"]["account_id"].cast("long")).toArrow().column(0).to_numpy()
        partitioning: Ranges | Members = Ranges.of(partition_bounds(ids, size))
    else:
        partitioning = Members.of(accounts)
    with staged_dirs(outputs) as staged:
        if not partitioning.count:  # an empty book: one empty partition, so that every output still has its columns
            empty = {name: conform(table(name).empty_frame(), table(name)) for name in TABLE_NAMES}
            summaries = [_write(0, compute(empty), staged, summarize)]
        else:
            stacked = _stack(spark, tables, sources, partitioning)
            group = _group_function(sources, compute, [str(p) for p in staged], summarize)
            rows = stacked.groupBy(PARTITION).applyInArrow(group, f"{PARTITION} long, summary string").collect()
            found = sorted((int(r[PARTITION]), json.loads(r["summary"])) for r in rows)
            if [i for i, _ in found] != list(range(partitioning.count)):
                raise RuntimeError(f"Spark returned {len(found)} of {partitioning.count} partitions")
            summaries = [s for _, s in found]
    return summaries


def _read(spark: SparkSession, path: Path) -> DataFrame:
    """A table's file as Spark reads it: parquet typed, CSV as text throughout (as core.io.read_raw reads it:
    only an empty cell is missing, quotes doubled as in RFC 4180, cells may span lines)."""
    if path.suffix == ".parquet":
        return spark.read.parquet(str(path))
    return spark.read.csv(str(path), header=True, inferSchema=False, multiLine=True, escape='"', encoding="utf-8")


def _source(name: str, frame: DataFrame) -> SourceTable:
    """The table's columns, and the slot each travels in: the tables are stacked into shared columns, one per
    Spark type and position (a table's second double goes where every table's second double goes), so
    that a group's Arrow batch is as wide as the widest table per type, not as all tables together."""
    from pyspark.sql.types import IntegralType

    spec = table(name)
    known = set(spec.column_names)
    columns = tuple(f.name for f in frame.schema.fields if f.name in known)
    nanos = frozenset(
        f.name
        for f in frame.schema.fields
        if f.name in known
        and isinstance(f.dataType, IntegralType)
        and spec.column(f.name).type in ("date", "timestamp")
    )
    types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    slots, used = {}, {}
    for col in columns:
        used[types[col]] = used.get(types[col], 0) + 1
        slots[col] = slot_name(types[col], used[types[col]])
    return SourceTable(name, columns, nanos, slots)


@dataclass(frozen=True)
class Ranges:
    """Partitions as inclusive account-id ranges (core.partitions.partition_bounds), sorted."""

    firsts: np.ndarray
    lasts: np.ndarray

    @classmethod
    def of(cls, bounds: Sequence[tuple[int, int]]) -> Ranges:
        return cls(np.array([b[0] for b in bounds], dtype=np.int64), np.array([b[1] for b in bounds], dtype=np.int64))

    @property
    def count(self) -> int:
        return len(self.firsts)

    def assign(self, ids: np.ndarray) -> np.ndarray:
        """The range holding each id (core.partitions.slice_tables's `between`), or -1."""
        index = np.searchsorted(self.firsts, ids, side="right") - 1
        inside = index >= 0
        inside[inside] = ids[inside] <= self.lasts[index[inside]]
        return np.where(inside, index, -1)


@dataclass(frozen=True)
class Members:
    """Partitions as sets of account ids (core.partitions.borrower_partitions): every id, sorted, with its
    partition's position."""

    ids: np.ndarray
    partitions: np.ndarray
    count: int

    @classmethod
    def of(cls, accounts: Sequence[np.ndarray]) -> Members:
        ids = np.concatenate([np.asarray(a, dtype=np.int64) for a in accounts]) if accounts else np.zeros(0, np.int64)
        owner = np.repeat(np.arange(len(accounts), dtype=np.int64), [len(a) for a in accounts])
        order = np.argsort(ids, kind="stable")
        return cls(ids[order], owner[order], len(accounts))

    def assign(self, ids: np.ndarray) -> np.ndarray:
        """The partition holding each id (core.partitions.select_tables's `isin`), or -1."""
        if not len(self.ids):
            return np.full(len(ids), -1, dtype=np.int64)
        index = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[index] == ids, self.partitions[index], -1)


def _stack(
    spark: SparkSession, tables: dict[str, DataFrame], sources: dict[str, SourceTable], partitioning: Ranges | Members
) -> DataFrame:
    """Every table's rows in their slots, tagged with their partition, table and file position, in one DataFrame."""
    from pyspark.sql import functions as F

    shared = spark.sparkContext.broadcast(partitioning)  # once per executor, however many ids

    @F.arrow_udf("long")
    def partition_of(account_id: pa.Array) -> pa.Array:
        """The partition holding each account id, or -1 (none, or no account_id)."""
        present = account_id.is_valid().to_numpy(zero_copy_only=False)
        value = account_id.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        return pa.array(np.where(present, shared.value.assign(value), -1), type=pa.int64())

    def partition_column(frame: DataFrame) -> Any:
        return partition_of(frame["account_id"].cast("long"))

    parts = []
    for name, frame in tables.items():
        source = sources[name]
        tagged = frame.select(
            *[F.col(f"`{col}`").alias(source.slots[col]) for col in source.columns],
            F.lit(name).alias(TABLE),
            F.monotonically_increasing_id().alias(ROW),
            partition_column(frame).alias(PARTITION),
        )
        if name == "restrictions":
            # a borrower-wide restriction goes with every range holding one of the borrower's accounts
            accounts = tables["accounts"]
            holders = accounts.select(
                accounts["borrower_id"].cast("long").alias("__borrower"), partition_column(accounts).alias("__holder")
            ).distinct()
            wide = (
                tagged.where(F.col(source.slots["account_id"]).isNull())
                .join(holders, F.col(source.slots["borrower_id"]).cast("long") == F.col("__borrower"))
                .withColumn(PARTITION, F.col("__holder"))
                .drop("__borrower", "__holder")
            )
            tagged = tagged.where(F.col(source.slots["account_id"]).isNotNull()).unionByName(wide)
        parts.append(tagged.where(F.col(PARTITION) >= 0))
    stacked = parts[0]
    for part in parts[1:]:
        stacked = stacked.unionByName(part, allowMissingColumns=True)
    return stacked


def _group_function(
    sources: dict[str, SourceTable], compute: PartitionFunction, staged: list[str], summarize: Summarize
) -> Callable[[pa.Table], pa.Table]:
    """The function each group runs on an executor: split the tables, conform them, compute, write."""

    def run(group: pa.Table) -> pa.Table:
        index = int(group.column(PARTITION)[0].as_py())
        tables = {name: _unpack(group, source) for name, source in sources.items()}
        summary = _write(index, compute(tables), [Path(p) for p in staged], summarize)
        return pa.table({PARTITION: pa.array([index], pa.int64()), "summary": pa.array([json.dumps(summary)])})

    return run


def _unpack(group: pa.Table, source: SourceTable) -> pd.DataFrame:
    """One table's rows of a group (a pyarrow.Table), in file order, in the canonical schema: core.io.conform
    casts them as the readers do, and fills the columns the file lacks with missing values, as there."""
    rows = group.filter(pc.equal(group.column(TABLE), source.name))
    rows = rows.take(pc.sort_indices(rows.column(ROW)))
    raw = {}
    for col in source.columns:
        values = rows.column(source.slots[col])
        raw[col] = _series(values)
        if col in source.nanos:  # int64 nanoseconds since the epoch, UTC (conform reads naive values as UTC)
            raw[col] = pd.to_datetime(raw[col], unit="ns")
    return conform(pd.DataFrame(raw, index=pd.RangeIndex(rows.num_rows)), table(source.name))


def _series(values: pa.ChunkedArray) -> pd.Series:
    """One Arrow column as pandas, integers exactly (a null makes pandas' own conversion float)."""
    if pa.types.is_integer(values.type) and values.null_count:
        filled = values.fill_null(0).to_numpy().astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(filled, values.is_null().to_numpy(zero_copy_only=False)))
    return values.to_pandas()


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
