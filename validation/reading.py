"""Reading the input tables as they are, and the structural checks that no row-level fix can repair.

Everything here is fatal: a missing file or column, an unreadable file, an empty table. The
messages name the likely cause (a ';'-delimited or Latin-1 CSV, a truncated parquet) because
those are the mistakes people make when they bring their own data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.errors import DataError
from core.io import find_table_file, read_raw
from core.params import ValidateParams
from core.schema import TABLES, Table

_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}


def read_inputs(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """Every schema table from `raw_dir`, read as it is (no casting): parquet or CSV."""
    return {name: read_input(raw_dir, name) for name in TABLES}


def read_input(raw_dir: Path, name: str) -> pd.DataFrame:
    path = find_table_file(Path(raw_dir), name)
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


def check_structure(frame: pd.DataFrame, spec: Table, params: ValidateParams) -> tuple[pd.DataFrame, list[str]]:
    """The schema's columns of `frame` in schema order with a 0..n-1 index, and the extra columns dropped.

    The index becomes the row number every finding and every quarantined row refers to.
    """
    columns = [str(c) for c in frame.columns]
    missing = [c for c in spec.column_names if c not in columns]
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
    if len(frame) == 0 and spec.name not in params.may_be_empty:
        raise DataError(
            spec.name,
            "not_empty",
            "the table has no rows (only tables listed in "
            f"validate.may_be_empty may be empty: {list(params.may_be_empty)})",
        )
    out = frame.loc[:, spec.column_names]  # copy-on-write: the caller's frame is never modified
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
