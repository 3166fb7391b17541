"""`map_partitions_spark`: the partitioned backend's loop (core.partitions.map_partitions) on Spark.

The contract is the pandas engine's: a partition function takes one account range's tables (table
name -> DataFrame in the canonical schema) and returns one frame per output. Here:

1. The driver computes the account ranges exactly as the pandas engine does
   (`core.partitions.partition_bounds` over the accounts' ids), so both engines cut the book alike.
2. Every table is read as a Spark DataFrame (parquet, or CSV as text) and, batch by batch on the
   executors (`mapInArrow`), its rows are sent to their partition: packed as Arrow IPC, one payload
   per input batch and partition, each row numbered with its position in its file. Borrower-wide
   restrictions (no account_id) go to every partition holding one of the borrower's accounts, as
   `core.partitions.slice_tables` sends them. The shuffle so moves a few large binary values, every
   type exactly as Arrow holds it, rather than millions of rows in Spark's row format.
3. The payloads are grouped by partition (`groupBy(partition).applyInArrow`): one group holds one
   partition's rows of every table. Inside, each table is unpacked, put back in file order and
   conformed to the schema (`core.io.conform`, the readers' own casts), and the partition function
   runs on it.
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
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.io import conform, find_table_file
from core.partitions import ParquetAppender, PartitionedBook, PartitionFunction, partition_bounds
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
PAYLOAD = "__payload"
#: How a partition's rows reach its executor (map_partitions_spark's `read`).
READS = ("shuffle", "direct")


def part_name(index: int) -> str:
    """The file of one range in an output folder; zero-padded so that name order is range order."""
    return f"part-{index:06d}.parquet"


@dataclass(frozen=True)
class SourceTable:
    """The columns of the schema that one table's file holds, and those that hold int64 nanoseconds of a date or
    timestamp (parquet written by pandas, read with spark.sql.legacy.parquet.nanosAsLong)."""

    name: str
    columns: tuple[str, ...]
    nanos: frozenset[str]


def map_partitions_spark(
    spark: SparkSession,
    directory: Path,
    size: int,
    compute: PartitionFunction,
    outputs: Sequence[Path],
    summarize: Summarize | None = None,
    accounts: Sequence[np.ndarray] | None = None,
    timings: list[dict[str, float]] | None = None,
    read: str = "shuffle",
) -> list[dict[str, Any]]:
    """Run `compute` on every range of at most `size` accounts of the book in `directory` on Spark, writing its
    frames as partitioned parquet (one folder per output, one file per partition); publish the outputs only
    when every partition has succeeded. Returns each partition's summary (`summarize(frames)`, or the frames'
    row counts), in partition order.

    `accounts`: the partitions as arrays of account ids (core.partitions.borrower_partitions) instead of
    account-id ranges, as `core.partitions.map_partitions` takes them. `timings`, when given, receives each
    partition's seconds on its executor (reading or unpacking its tables, the partition function, writing),
    for the benchmark.

    `read`: how a partition's rows reach its executor. "shuffle" (the default): the tables are read as Spark
    DataFrames and their rows sent to their partition's group (any storage Spark reads, any file layout).
    "direct": one Spark task per partition reads its rows itself with the pandas engine's reader
    (`core.partitions.PartitionedBook`, parquet filtered on account_id), so no row crosses the shuffle;
    the files must be paths every executor sees, and are read fastest when sorted by account_id."""
    if read not in READS:
        raise ValueError(f"read must be one of {READS}, not {read!r}")
    with quiet_pyspark():
        return _map_partitions(
            spark,
            Path(directory),
            size,
            compute,
            [Path(p) for p in outputs],
            summarize or _row_counts,
            accounts,
            timings,
            read,
        )


def _map_partitions(
    spark: SparkSession,
    directory: Path,
    size: int,
    compute: PartitionFunction,
    outputs: list[Path],
    summarize: Summarize,
    accounts: Sequence[np.ndarray] | None,
    timings: list[dict[str, float]] | None,
    read: str,
) -> list[dict[str, Any]]:
    tables = {name: _read(spark, find_table_file(directory, name)) for name in TABLE_NAMES}
    sources = {name: _source(name, frame) for name, frame in tables.items()}
    accounts_frame = tables["accounts"]
    owners = accounts_frame.select(
        accounts_frame["account_id"].cast("long"), accounts_frame["borrower_id"].cast("long")
    ).toArrow()
    ids = owners.column(0).to_numpy()
    partitioning: Ranges | Members = (
        Ranges.of(partition_bounds(ids, size)) if accounts is None else Members.of(accounts)
    )
    with staged_dirs(outputs) as staged:
        if not partitioning.count or not len(
            ids
        ):  # an empty book: one empty partition, so every output has its columns
            empty = {name: _empty(name) for name in TABLE_NAMES}
            summaries = [_write(0, compute(empty), staged, summarize)]
        else:
            schema = f"{PARTITION} long, summary string"
            if read == "direct":
                tasks = spark.range(0, partitioning.count, 1, numPartitions=partitioning.count)
                shared = spark.sparkContext.broadcast(partitioning)
                run = _direct_function(str(directory), shared, compute, [str(p) for p in staged], summarize)
                rows = tasks.mapInArrow(run, schema).collect()
            else:
                holders = Holders.of(owners.column(1).to_numpy(), partitioning.assign(ids))
                packed = _packed(spark, tables, partitioning, holders)
                group = _group_function(sources, compute, [str(p) for p in staged], summarize)
                rows = packed.groupBy(PARTITION).applyInArrow(group, schema).collect()
            found = sorted((int(r[PARTITION]), json.loads(r["summary"])) for r in rows)
            if [i for i, _ in found] != list(range(partitioning.count)):
                raise RuntimeError(f"Spark returned {len(found)} of {partitioning.count} partitions")
            summaries = [report["summary"] for _, report in found]
            if timings is not None:
                timings.extend(report["seconds"] for _, report in found)
    return summaries


def _read(spark: SparkSession, path: Path) -> DataFrame:
    """A table's file as Spark reads it: parquet typed, CSV as text throughout (as core.io.read_raw reads it:
    only an empty cell is missing, quotes doubled as in RFC 4180, cells may span lines)."""
    if path.suffix == ".parquet":
        return spark.read.parquet(str(path))
    return spark.read.csv(str(path), header=True, inferSchema=False, multiLine=True, escape='"', encoding="utf-8")


def _source(name: str, frame: DataFrame) -> SourceTable:
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
    return SourceTable(name, columns, nanos)


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

    def read(self, book: PartitionedBook, index: int) -> dict[str, pd.DataFrame]:
        return book.read(int(self.firsts[index]), int(self.lasts[index]))

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

    def read(self, book: PartitionedBook, index: int) -> dict[str, pd.DataFrame]:
        return book.read_accounts(self.ids[self.partitions == index])

    def assign(self, ids: np.ndarray) -> np.ndarray:
        """The partition holding each id (core.partitions.select_tables's `isin`), or -1."""
        if not len(self.ids):
            return np.full(len(ids), -1, dtype=np.int64)
        index = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[index] == ids, self.partitions[index], -1)


@dataclass(frozen=True)
class Holders:
    """Which partitions hold each borrower's accounts: (borrower, partition) pairs, sorted, each once. A
    borrower-wide restriction (no account_id) goes to every one of them, as core.partitions.slice_tables
    sends it."""

    borrowers: np.ndarray
    partitions: np.ndarray

    @classmethod
    def of(cls, borrower_ids: np.ndarray, partitions: np.ndarray) -> Holders:
        keep = partitions >= 0
        pairs = np.unique(np.stack([borrower_ids[keep], partitions[keep]], axis=1), axis=0).reshape(-1, 2)
        return cls(pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64))

    def rows(self, rows: np.ndarray, borrower_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each of `rows` repeated once per partition holding its borrower: (row positions, partitions)."""
        first = np.searchsorted(self.borrowers, borrower_ids, side="left")
        counts = np.searchsorted(self.borrowers, borrower_ids, side="right") - first
        starts = np.repeat(first - np.cumsum(counts) + counts, counts)
        return np.repeat(rows, counts), self.partitions[starts + np.arange(int(counts.sum()))]


def _packed(
    spark: SparkSession, tables: dict[str, DataFrame], partitioning: Ranges | Members, holders: Holders
) -> DataFrame:
    """Every table's rows as Arrow IPC payloads, one per input batch and partition: (partition, table, payload).

    The rows cross the shuffle packed (a few large binary values rather than millions of rows, and every
    type exactly as Arrow holds it), each with its position in its file (`ROW`) to put it back in order."""
    from pyspark.sql import functions as F

    shared = spark.sparkContext.broadcast((partitioning, holders))  # once per executor, however many ids
    schema = f"{PARTITION} long, {TABLE} string, {PAYLOAD} binary"
    parts = []
    for name, frame in tables.items():
        numbered = frame.select(*[F.col(f"`{c}`") for c in frame.columns], F.monotonically_increasing_id().alias(ROW))
        parts.append(numbered.mapInArrow(_packer(name, shared), schema))
    packed = parts[0]
    for part in parts[1:]:
        packed = packed.unionByName(part)
    return packed


def _packer(name: str, shared: Any) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def pack(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        partitioning, holders = shared.value
        for batch in batches:
            account = pc.cast(batch.column("account_id"), pa.int64())
            present = account.is_valid().to_numpy(zero_copy_only=False)
            where = np.where(present, partitioning.assign(account.fill_null(0).to_numpy(zero_copy_only=False)), -1)
            rows = np.flatnonzero(where >= 0)
            owner = where[rows]
            if name == "restrictions" and not present.all():  # borrower-wide: every partition holding the borrower
                wide = np.flatnonzero(~present)
                borrower = pc.cast(batch.column("borrower_id"), pa.int64()).to_numpy(zero_copy_only=False)[wide]
                extra_rows, extra_owner = holders.rows(wide, borrower)
                rows, owner = np.concatenate([rows, extra_rows]), np.concatenate([owner, extra_owner])
            order = np.argsort(owner, kind="stable")
            rows, owner = rows[order], owner[order]
            cuts = np.flatnonzero(np.diff(owner)) + 1
            for part_rows, part in zip(np.split(rows, cuts), owner[np.r_[0, cuts]] if len(owner) else [], strict=True):
                sink = pa.BufferOutputStream()
                taken = batch.take(pa.array(part_rows))
                with pa.ipc.new_stream(sink, taken.schema) as writer:
                    writer.write_batch(taken)
                yield pa.RecordBatch.from_pydict(
                    {PARTITION: [int(part)], TABLE: [name], PAYLOAD: [sink.getvalue().to_pybytes()]},
                    schema=pa.schema([(PARTITION, pa.int64()), (TABLE, pa.string()), (PAYLOAD, pa.binary())]),
                )

    return pack


def _group_function(
    sources: dict[str, SourceTable], compute: PartitionFunction, staged: list[str], summarize: Summarize
) -> Callable[[pa.Table], pa.Table]:
    """The function each group runs on an executor: split the tables, conform them, compute, write."""

    def run(group: pa.Table) -> pa.Table:
        began = time.perf_counter()
        index = int(group.column(PARTITION)[0].as_py())
        tables = {name: _unpack(group, source) for name, source in sources.items()}
        return pa.Table.from_batches([_report(index, tables, began, compute, staged, summarize)])

    return run


def _direct_function(
    directory: str, shared: Any, compute: PartitionFunction, staged: list[str], summarize: Summarize
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function each task runs in "direct" mode: read its partitions with the pandas engine's reader,
    compute, write."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        book = _book(directory)
        for batch in batches:
            for index in batch.column(0).to_pylist():
                began = time.perf_counter()
                yield _report(index, shared.value.read(book, index), began, compute, staged, summarize)

    return run


#: The book each Python worker has opened (accounts and restrictions read whole once, as the pandas engine
#: does), by folder and the files' identity.
_BOOKS: dict[tuple, PartitionedBook] = {}


def _book(directory: str) -> PartitionedBook:
    files = [find_table_file(Path(directory), name) for name in TABLE_NAMES]
    key = (directory, *((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    if key not in _BOOKS:
        _BOOKS.clear()
        _BOOKS[key] = PartitionedBook(Path(directory))
    return _BOOKS[key]


def _report(
    index: int,
    tables: dict[str, pd.DataFrame],
    began: float,
    compute: PartitionFunction,
    staged: list[str],
    summarize: Summarize,
) -> pa.RecordBatch:
    """Compute and write one partition; its row for the driver: the summary and the seconds each step took."""
    ready = time.perf_counter()
    frames = compute(tables)
    computed = time.perf_counter()
    summary = _write(index, frames, [Path(p) for p in staged], summarize)
    seconds = {"read": ready - began, "compute": computed - ready, "write": time.perf_counter() - computed}
    report = json.dumps({"summary": summary, "seconds": seconds})
    return pa.RecordBatch.from_pydict({PARTITION: pa.array([index], pa.int64()), "summary": pa.array([report])})


def _unpack(group: pa.Table, source: SourceTable) -> pd.DataFrame:
    """One table's rows of a group, in file order, in the canonical schema: core.io.conform casts them as the
    readers do, and fills the columns the file lacks with missing values, as there."""
    payloads = group.filter(pc.equal(group.column(TABLE), source.name)).column(PAYLOAD).to_pylist()
    if not payloads:
        return _empty(source.name)
    rows = pa.concat_tables([pa.ipc.open_stream(p).read_all() for p in payloads])
    rows = rows.take(pc.sort_indices(rows.column(ROW)))
    raw = {}
    for col in source.columns:
        raw[col] = _series(rows.column(col))
        if col in source.nanos:  # int64 nanoseconds since the epoch, UTC (conform reads naive values as UTC)
            raw[col] = pd.to_datetime(raw[col], unit="ns")
    return conform(pd.DataFrame(raw, index=pd.RangeIndex(rows.num_rows)), table(source.name))


def _empty(name: str) -> pd.DataFrame:
    """A table with no rows, in the schema (what the pandas engine reads for a partition without any)."""
    return conform(table(name).empty_frame(), table(name))


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
