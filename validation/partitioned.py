"""Validating an extract too large for memory, one partition of whole borrowers at a time.

The nightly job (pipeline/stages/score.py) validates the night's whole extract; at a million accounts
that is over a hundred million rows, more than a scoring machine should hold at once. Here the extract
is cut into partitions of about `size` accounts that never split a borrower (core.partitions.
borrower_partitions, the cut the nightly plan uses), and each partition is checked by
validation.engine.validate_tables with exactly the rules of a whole-book run:

1. The accounts and restrictions (one row per account, or few) are read whole, as they are. Each
   account's partition comes from its ids, read as the schema's types (validation.coercion); every other
   row goes with its account (a restriction without one with its borrower). A row whose account is
   unreadable or unknown goes to the first partition, where it fails the same rule it would fail in a
   whole-book run (it is an orphan, or its id is unreadable, wherever it is checked).
2. The large tables in parquet are cut on disk, never held whole: read in batches, each row written,
   as read and with its row number in the file, to its partition's spill file. (A CSV table is read
   whole: its text has to be parsed anyway; give large extracts as parquet.)
3. Each partition is validated (BookPart: its rows' numbers in the input files, and the keys duplicated
   across partitions, found on the key columns of the whole tables), and its good rows are appended to
   `validated_dir/<table>.parquet`, its quarantined rows kept for `quarantine_dir`.

Every other rule decides on one account's or one borrower's rows (references, dates, days past due,
amounts paid against payments), so a partition decides as the whole book would. What only the whole
book can say is decided here: that a required table has rows, the quarantine-share threshold (counted
over the book), the row numbers that messages and quarantined rows name. A fatal rule stops the run at
the first partition that breaks it (the whole-book run names the first table that breaks it; both
name the table, column, rule and rows). Outputs are published all together or not at all
(validation.publish.staged_dirs).

The run date must be given: the whole-book run's default as-of date (the day after the latest readable
statement) needs the whole statements table first, and the nightly job always has its run date.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core import progress
from core.errors import DataError
from core.io import find_table_file
from core.params import ValidateParams
from core.partitions import ParquetAppender, borrower_partitions
from core.schema import TABLES, Table
from validation.coercion import parse_column
from validation.engine import BookPart, ValidationOutcome, validate_tables
from validation.publish import staged_dirs
from validation.quarantine import ROW_NUMBER, book_share_error
from validation.reading import check_structure, read_input
from validation.report import book_figures, table_figures
from validation.rules import Finding

#: Tables read whole (one row per account, or few): they decide where every other row goes.
READ_WHOLE = ("accounts", "restrictions")
#: Column of a spill file holding each row's number in its input file.
ROW = "__dunning_row_number__"
#: Rows per batch when a parquet table is cut into partitions.
BATCH_ROWS = 500_000


@dataclass
class Dispatch:
    """Which partition each account and each borrower is checked in."""

    account: pd.Series  # account_id -> partition
    borrower: pd.Series  # borrower_id -> partition
    count: int

    @classmethod
    def of(cls, accounts: pd.DataFrame, size: int, date_format: str | None) -> Dispatch:
        ids = pd.DataFrame(
            {c: _parsed(accounts, TABLES["accounts"], c, date_format) for c in ("account_id", "borrower_id")}
        )
        pairs = ids.dropna().astype("int64").drop_duplicates("account_id")
        parts = borrower_partitions(pairs, size) or [np.zeros(0, dtype=np.int64)]
        sizes = [len(p) for p in parts]
        account = pd.Series(np.repeat(np.arange(len(parts)), sizes), index=np.concatenate(parts), dtype="int64")
        owners = pairs.assign(part=pairs["account_id"].map(account)).drop_duplicates("borrower_id")
        return cls(account, owners.set_index("borrower_id")["part"], len(parts))

    def rows(self, frame: pd.DataFrame, spec: Table, date_format: str | None) -> np.ndarray:
        """Each row's partition: its account's; else (a restriction) its borrower's; else the first."""
        part = _parsed(frame, spec, "account_id", date_format).map(self.account)
        if "borrower_id" in spec.column_names and "borrower_id" in frame.columns:
            part = part.fillna(_parsed(frame, spec, "borrower_id", date_format).map(self.borrower))
        return part.fillna(0).to_numpy(dtype=np.int64)


@dataclass
class BookTotals:
    """What the partitions' outcomes add up to, per table: the summary (validation.report.summary)."""

    as_of: date | None = None
    as_of_source: str = ""
    rows_in: Counter = field(default_factory=Counter)
    rows_valid: Counter = field(default_factory=Counter)
    by_reason: dict[str, Counter] = field(default_factory=dict)
    failed: dict[str, set[int]] = field(default_factory=dict)
    suites: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # each table's expectations
    quarantined: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    empty: dict[str, pd.DataFrame] = field(default_factory=dict)  # each table's quarantine columns, no rows

    def add(self, outcome: ValidationOutcome) -> None:
        self.as_of, self.as_of_source = outcome.as_of_date, outcome.as_of_source
        for name, check in outcome.tables.items():
            self.rows_in[name] += len(check.raw)
            self.rows_valid[name] += len(check.validated)
            reasons = self.by_reason.setdefault(name, Counter())
            for f in check.findings:
                reasons[f.reason] += f.count
            self.suites[name] = check.expectations
            failed = self.failed.setdefault(name, set())
            failed.update(i for i, e in enumerate(check.expectations) if not e["success"])
            self.empty.setdefault(name, check.quarantined.iloc[:0])
            if len(check.quarantined):
                self.quarantined.setdefault(name, []).append(check.quarantined)

    def fail(self, name: str, rule: str) -> None:
        """Count table `name`'s expectations of `rule` as failed (found over the book, not by a partition's suite)."""
        failed = self.failed.setdefault(name, set())
        failed.update(i for i, e in enumerate(self.suites.get(name, [])) if e["rule"] == rule)

    def quarantine(self, name: str) -> pd.DataFrame:
        parts = self.quarantined.get(name, [])
        return pd.concat(parts, ignore_index=True) if parts else self.empty[name]

    def summary(self) -> dict[str, Any]:
        """validation.report.summary's figures for the whole book (an expectation failed if it failed in a
        partition)."""
        tables = {
            name: table_figures(
                self.rows_in[name],
                self.rows_valid[name],
                self.rows_in[name] - self.rows_valid[name],
                self.by_reason.get(name, Counter()),
                len(self.suites.get(name, [])),
                len(self.failed.get(name, ())),
            )
            for name in TABLES
        }
        return book_figures(self.as_of, tables)

    def check_share(self, limit: float) -> None:
        """The quarantine-share threshold over the whole book (validate.max_quarantine_share)."""
        for name, spec in TABLES.items():
            rows_in, quarantined = self.rows_in[name], self.rows_in[name] - self.rows_valid[name]
            if quarantined > limit * rows_in:
                rows = self.quarantine(name).head(10).set_index(ROW_NUMBER)
                raise book_share_error(spec, rows_in, quarantined, dict(self.by_reason[name]), limit, rows)


def validate_book(
    raw_dir: Path,
    params: ValidateParams,
    gx_root: Path,
    run_date: date,
    size: int,
    validated_dir: Path,
    quarantine_dir: Path,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Validate the extract in `raw_dir` one partition of about `size` accounts at a time; write the good rows
    to `validated_dir/<table>.parquet` and the quarantined ones to `quarantine_dir`, all or nothing. Returns
    the metrics (validation.report.summary's figures for the whole book). `timings` receives seconds per phase.
    """
    from validation.gx_context import open_context

    clock = perf_counter()
    whole = {name: read_input(Path(raw_dir), name) for name in TABLES if not _spills(Path(raw_dir), name)}
    for name, spec in TABLES.items():
        _check_columns(Path(raw_dir), name, spec, whole.get(name), params)
    dispatch = Dispatch.of(whole["accounts"], size, params.date_format)
    whole_parts = {name: dispatch.rows(frame, TABLES[name], params.date_format) for name, frame in whole.items()}
    laps = {"read_whole_tables": perf_counter() - clock}
    totals = BookTotals()
    with tempfile.TemporaryDirectory(prefix="dunning-validate-", dir=Path(validated_dir).parent) as spill_root:
        clock = perf_counter()
        spilled = {
            name: _spill(Path(raw_dir), name, dispatch, Path(spill_root), params)
            for name in TABLES
            if name not in whole
        }
        duplicated = {**_duplicated_keys(whole, params.date_format), **{n: t.duplicated for n, t in spilled.items()}}
        laps["cut_into_partitions"] = perf_counter() - clock
        context = open_context(gx_root)
        clock = perf_counter()
        with ExitStack() as stack:
            validated, quarantine = stack.enter_context(staged_dirs([Path(validated_dir), Path(quarantine_dir)]))
            appenders = {name: ParquetAppender(validated / f"{name}.parquet") for name in TABLES}
            for appender in appenders.values():
                stack.callback(appender.close)  # before the outputs are published (last in, first out)
            for part in progress.track(range(dispatch.count), "validate: partitions", unit="partitions"):
                frames, numbers = {}, {}
                for name in TABLES:
                    if name in whole:
                        rows = np.flatnonzero(whole_parts[name] == part)
                        frames[name], numbers[name] = whole[name].iloc[rows], rows
                    else:
                        frames[name], numbers[name] = spilled[name].read(part)
                known = {
                    name: _found(name, numbers[name], duplicated[name]) for name in duplicated if len(numbers[name])
                }
                outcome = validate_tables(
                    frames, params, gx_root, run_date, part=BookPart(numbers, known), context=context
                )
                del frames
                for name, check in outcome.tables.items():
                    appenders[name].append(check.validated)
                totals.add(outcome)
                del outcome, check  # before the next partition is read: one partition's rows in memory at a time
                pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
            laps["validate_partitions"] = perf_counter() - clock
            clock = perf_counter()
            for name in (name for name, rows in duplicated.items() if rows.size):
                totals.fail(name, "unique_key")
            totals.check_share(params.max_quarantine_share)
            for name in TABLES:
                totals.quarantine(name).to_parquet(quarantine / f"{name}.parquet", index=False)
        laps["write"] = perf_counter() - clock
    if timings is not None:
        timings.update({k: round(v, 3) for k, v in laps.items()})
    return totals.summary()


@dataclass
class Spilled:
    """A table cut into one parquet file per partition (rows as read, plus ROW), and its key column."""

    files: list[Path]
    duplicated: np.ndarray  # row numbers of a key (not the account's) another row also has (`_duplicated`)

    def read(self, part: int) -> tuple[pd.DataFrame, np.ndarray]:
        frame = pd.read_parquet(self.files[part])
        numbers = frame.pop(ROW).to_numpy(dtype=np.int64)
        return frame, numbers


def _spills(raw_dir: Path, name: str) -> bool:
    """Whether table `name` is cut on disk: a large table given as a readable parquet file whose columns have
    distinct names (any other file is read whole, by validation.reading, which names what is wrong with it)."""
    path = raw_dir / f"{name}.parquet"
    if name in READ_WHOLE or not path.exists() or path.stat().st_size == 0 or (raw_dir / f"{name}.csv").exists():
        return False
    try:
        names = pq.ParquetFile(path).schema_arrow.names
    except Exception:  # pyarrow's error types vary; validation.reading reports them
        return False
    return len(set(names)) == len(names)


def _check_columns(raw_dir: Path, name: str, spec: Table, frame: pd.DataFrame | None, params: ValidateParams) -> None:
    """The whole table's structural checks (columns, a required table with rows) before any partition runs."""
    if frame is None:
        parquet = pq.ParquetFile(find_table_file(raw_dir, name))
        frame = parquet.schema_arrow.empty_table().to_pandas()
        check_structure(frame, spec, params, part_of_book=parquet.metadata.num_rows > 0)
    else:
        check_structure(frame.iloc[:0], spec, params, part_of_book=len(frame) > 0)


def _spill(raw_dir: Path, name: str, dispatch: Dispatch, root: Path, params: ValidateParams) -> Spilled:
    """Cut parquet table `name` into one file per partition, batch by batch, rows as read."""
    path = find_table_file(raw_dir, name)
    try:
        return _cut(pq.ParquetFile(path), TABLES[name], dispatch, root, params)
    except DataError:
        raise
    except Exception as exc:  # a damaged file found part way through: what validation.reading says of it
        raise DataError(name, "readable", f"cannot read {path.name}: {type(exc).__name__}: {exc}") from exc


def _cut(source: pq.ParquetFile, spec: Table, dispatch: Dispatch, root: Path, params: ValidateParams) -> Spilled:
    schema = source.schema_arrow.append(pa.field(ROW, pa.int64()))
    files = [root / f"{spec.name}-{part:05d}.parquet" for part in range(dispatch.count)]
    checked = spec.key[0] != "account_id"  # a key holding the account: its duplicates share a partition
    rows = source.metadata.num_rows if checked else 0
    values, present, offset = np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=bool), 0
    with ExitStack() as stack:
        writers = [stack.enter_context(pq.ParquetWriter(f, schema)) for f in files]
        for batch in _batches(source):
            table = pa.Table.from_batches([batch])
            wanted = dict.fromkeys(("account_id", "borrower_id", *spec.key))
            ids = table.select([c for c in wanted if c in table.column_names])
            ids = ids.replace_schema_metadata(None).to_pandas()
            part = dispatch.rows(ids, spec, params.date_format)
            if checked:
                key = _parsed(ids, spec, spec.key[0], params.date_format)
                values[offset : offset + len(key)], present[offset : offset + len(key)] = _as_int64(key)
            numbered = table.append_column(ROW, pa.array(np.arange(offset, offset + len(table)), pa.int64()))
            order = np.argsort(part, kind="stable")
            numbered, part = numbered.take(pa.array(order)), part[order]
            bounds = np.searchsorted(part, np.arange(dispatch.count + 1))
            for p in np.flatnonzero(np.diff(bounds)):
                writers[p].write_table(numbered.slice(bounds[p], bounds[p + 1] - bounds[p]).cast(schema))
            offset += len(table)
    return Spilled(files, _duplicated(values, present) if checked else np.zeros(0, dtype=np.int64))


def _batches(source: pq.ParquetFile) -> Iterator[pa.RecordBatch]:
    yield from source.iter_batches(batch_size=BATCH_ROWS)


def _duplicated_keys(whole: dict[str, pd.DataFrame], date_format: str | None) -> dict[str, np.ndarray]:
    """`_duplicated` of each table read whole whose key is not the account's."""
    return {
        name: _duplicated(*_as_int64(_parsed(frame, TABLES[name], TABLES[name].key[0], date_format)))
        for name, frame in whole.items()
        if TABLES[name].key[0] != "account_id"
    }


def _as_int64(key: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """An id column read as the schema's type (nullable integers) as int64 values and the mask of those read."""
    return key.to_numpy(dtype="int64", na_value=0), key.notna().to_numpy(dtype=bool)


def _duplicated(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The row numbers whose key value another (read) row also has (a key holding the account is not checked
    here: its duplicates share a partition, where they are found). By sorting a copy of the values read, 8
    bytes a row: a hash table of a million accounts' decision log (78 million ids) took gigabytes."""
    ordered = values[present]
    ordered.sort()
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if repeated.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(present & np.isin(values, repeated))


def _found(name: str, numbers: np.ndarray, duplicated: np.ndarray) -> list[Finding]:
    """The unique_key finding of a partition's rows (`numbers`) whose key is duplicated in the book."""
    rows = np.flatnonzero(np.isin(numbers, duplicated))
    return [Finding(name, "unique_key", TABLES[name].key[0], rows)] if rows.size else []


def _parsed(frame: pd.DataFrame, spec: Table, column: str, date_format: str | None) -> pd.Series:
    """One column read as the schema's type, unreadable values missing (validation.coercion)."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")
    values, _, _ = parse_column(frame[column].reset_index(drop=True), spec.column(column), date_format)
    return values
