"""What a validated book lacks (features.build.book_inputs) is judged from parquet statistics where they settle it,
and always agrees with reading every column: a column empty in every row group, one with a value in only its last
row group, a float column of NaN only, text columns, files written without statistics, an absent optional table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from validation_fixtures import clean_tables

from core.io import conform, write_frame
from core.partitions import ParquetAppender, PartitionedBook, to_arrow
from core.schema import TABLES
from features.build import book_inputs
from features.spec import Inputs


def _read_every_column(directory: Path) -> Inputs:
    """The rule read off whole tables: an optional table without rows is absent; an optional column of a table
    with rows is empty when every value is missing."""
    absent, empty = set(), set()
    for name, spec in TABLES.items():
        frame = pd.read_parquet(directory / f"{name}.parquet")
        if frame.empty:
            if spec.optional:
                absent.add(name)
            continue
        empty |= {f"{name}.{c.name}" for c in spec.columns if c.optional and frame[c.name].isna().all()}
    return Inputs(frozenset(absent), frozenset(empty))


def _write(tables: dict[str, pd.DataFrame], directory: Path, statistics: bool) -> None:
    """Each table as two row groups (the nightly job's validated files hold one per partition)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame = conform(frame, TABLES[name])
        if not statistics:
            pq.write_table(to_arrow(frame), directory / f"{name}.parquet", write_statistics=False)
            continue
        appender = ParquetAppender(directory / f"{name}.parquet")
        half = len(frame) // 2
        appender.append(frame.iloc[:half])
        appender.append(frame.iloc[half:])
        appender.close()


@pytest.mark.parametrize("statistics", [True, False])
def test_book_inputs_agrees_with_reading_every_column(tmp_path, statistics):
    tables = clean_tables(n_accounts=8, n_cycles=4, decisions=True)
    statements, contacts = tables["statements"], tables["contacts"]
    statements["amount_due"] = np.nan  # a float column of NaN only
    statements["status"] = None  # a text column empty throughout
    late = statements.index >= len(statements) // 2
    statements["past_due_amount"] = statements["past_due_amount"].where(late)  # values in the last row group only
    contacts["offer"] = None
    tables["decisions"] = tables["decisions"].iloc[:0]  # an optional table the source lacks
    _write(tables, tmp_path / "book", statistics)

    got = book_inputs(PartitionedBook(tmp_path / "book"))

    assert got == _read_every_column(tmp_path / "book")
    assert {"statements.amount_due", "statements.status", "contacts.offer"} <= got.empty_columns
    assert "statements.past_due_amount" not in got.empty_columns
    assert got.absent_tables == frozenset({"decisions"})


def test_a_csv_book_is_read_column_by_column(tmp_path):
    tables = clean_tables(n_accounts=4, n_cycles=3, decisions=True)
    for name, frame in tables.items():
        write_frame(conform(frame, TABLES[name]), tmp_path / f"{name}.parquet")
    (tmp_path / "contacts.parquet").unlink()
    conform(tables["contacts"], TABLES["contacts"]).assign(offer=None).to_csv(tmp_path / "contacts.csv", index=False)
    assert "contacts.offer" in book_inputs(PartitionedBook(tmp_path)).empty_columns
