"""Reading the input tables as they are, and the structural checks that no row-level fix can repair.

Everything here is fatal: a missing file or column, an unreadable file, an empty table. The
messages name the likely cause (a ';'-delimited or Latin-1 CSV, a truncated parquet) because
those are the mistakes people make when they bring their own data. What the schema declares
optional is no error: a table a source may lack (core.schema.Table.optional) may be left out or
have no rows, and an optional column may be left out (it is then empty throughout).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.errors import DataError
from core.io import SUPPORTED_SUFFIXES, find_table_file, read_raw
from core.params import ValidateParams
from core.schema import TABLES, Table

_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}


def read_inputs(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """Every schema table from `raw_dir`, read as it is (no casting): parquet or CSV."""
    return {name: read_input(raw_dir, name) for name in TABLES}


def read_input(raw_dir: Path, name: str) -> pd.DataFrame:
    spec = TABLES[name]
    if spec.optional and not any((Path(raw_dir) / f"{name}{suffix}").exists() for suffix in SUPPORTED_SUFFIXES):
        return absent_table(spec)
    path = find_table_file(Path(raw_dir), name)
    if path.stat().st_size == 0 and spec.optional:
        return absent_table(spec)
    if path.stat().st_size == 0:
        raise DataError(
            name,
            "not_empty",
            f"{path.name} is an empty file (0 bytes); a table without rows still needs its header row",
        )
    try:
        return read_raw(path)
    except DataError as exc:
        cause = exc.__cause__
        if isinstance(cause, UnicodeDecodeError):
            raise DataError(
                name,
                "readable",
                f"{path.name} is not UTF-8 ({cause.reason} at byte {cause.start}); save the CSV as UTF-8",
            ) from cause
        raise


def absent_table(spec: Table) -> pd.DataFrame:
    """What a table a source lacks reads as: no rows, every column (as text, like an empty CSV)."""
    return pd.DataFrame({name: pd.Series([], dtype="str") for name in spec.column_names})


def check_structure(
    frame: pd.DataFrame, spec: Table, params: ValidateParams, part_of_book: bool = False
) -> tuple[pd.DataFrame, list[str]]:
    """The schema's columns of `frame` in schema order with a 0..n-1 index, and the extra columns dropped.

    The index becomes the row number every finding and every quarantined row refers to. An optional
    column the frame lacks is added, empty. `part_of_book`: `frame` is one partition of the table, which
    may have no rows (the caller checks that the whole table has some).
    """
    columns = [str(c) for c in frame.columns]
    missing = [c for c in spec.required_columns if c not in columns]
    if missing:
        raise DataError(spec.name, "required_columns", _missing_message(missing, columns), column=missing[0])
    extra = [c for c in columns if c not in spec.column_names]
    if extra and params.extra_columns == "fatal":
        raise DataError(
            spec.name,
            "extra_columns",
            f"column(s) {extra} are not in the schema; rename them, remove them, or set validate.extra_columns: drop",
            column=extra[0],
        )
    if len(frame) == 0 and not spec.optional and not part_of_book:
        optional = [name for name, t in TABLES.items() if t.optional]
        raise DataError(
            spec.name,
            "not_empty",
            f"the table has no rows; {spec.name} is required (a source may lack only {', '.join(optional)})",
        )
    out = frame.loc[:, [c for c in spec.column_names if c in columns]]  # copy-on-write: the caller's frame is kept
    for position, name in enumerate(spec.column_names):
        if name not in columns:  # an optional column the source does not have: empty throughout
            out.insert(position, name, pd.Series(None, index=out.index, dtype="str"))
    return out.reset_index(drop=True), extra


def _missing_message(missing: list[str], columns: list[str]) -> str:
    text = f"missing column(s) {missing}"
    if len(columns) == 1:
        for delimiter, label in _DELIMITERS.items():
            if delimiter in columns[0]:
                return text + (
                    f"; the file has a single column '{columns[0][:60]}': it looks {label}-delimited, "
                    "but CSV input must be comma-separated"
                )
    return text + f"; the file has {columns[:20]}"
