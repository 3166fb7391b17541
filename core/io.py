"""Reading and writing canonical tables, safely.

Reads accept parquet or CSV (the user's choice); writes are always parquet and always
atomic: a file is written beside its target and renamed over it, so a crash or a failed
run never leaves a half-written or truncated output where the last good one was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from core import lifecycle
from core.errors import DataError
from core.schema import TABLE_NAMES, Table, table

SUPPORTED_SUFFIXES = (".parquet", ".csv")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path for `target`; rename it over `target` only on success.

    The temporary file lives in the hidden `.dunning-tmp/` folder beside the target (core.lifecycle):
    never part of a declared output, removed on failure, swept by the next run if this one is killed.
    The rename refuses when the run's parent process is gone (lifecycle.publishing).
    """
    target = Path(target)
    tmp = lifecycle.temp_file(target.parent, target.name)
    try:
        yield tmp
        # mkstemp creates owner-only files; published outputs get the usual umask permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with lifecycle.publishing():
            os.replace(tmp, target)
    finally:
        lifecycle.release(tmp)


def write_json(payload: Mapping[str, Any], target: Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_frame(frame: pd.DataFrame, target: Path) -> None:
    """Write any frame to parquet atomically (index dropped: keys live in columns)."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)


def find_table_file(directory: Path, name: str) -> Path:
    """The file holding table `name` in `directory`: NAME.parquet or NAME.csv, exactly one."""
    table(name)  # fail early on an unknown table name
    found = [Path(directory) / f"{name}{suffix}" for suffix in SUPPORTED_SUFFIXES]
    found = [p for p in found if p.exists()]
    if not found:
        raise DataError(name, "file_present", f"no {name}.parquet or {name}.csv in {directory}")
    if len(found) > 1:
        raise DataError(
            name, "file_present", f"both {found[0].name} and {found[1].name} exist in {directory}; keep one"
        )
    return found[0]


def conform(frame: pd.DataFrame, spec: Table) -> pd.DataFrame:
    """Return `frame` with exactly the schema's columns, in order, cast to the schema's dtypes.

    Raises DataError naming the column and the offending rows when a value cannot be cast,
    so this is the strict path used between stages; validation has its own lenient path
    that quarantines rows instead.
    """
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise DataError(spec.name, "required_columns", f"missing column(s) {missing}", column=missing[0])
    out = {}
    for col in spec.columns:
        out[col.name] = cast_column(frame[col.name], col.type, spec.name, col.name)
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def cast_column(values: pd.Series, logical_type: str, table_name: str, column: str) -> pd.Series:
    """Cast one column to its logical type; unparseable values raise with their row numbers."""
    from core.schema import PANDAS_DTYPES

    dtype = PANDAS_DTYPES[logical_type]
    if logical_type in ("date", "timestamp"):
        utc = logical_type == "timestamp"
        parsed = pd.to_datetime(values, errors="coerce", utc=utc, format="mixed")
        bad = parsed.isna() & values.notna()
        _raise_if_bad(bad, values, table_name, column, dtype)
        if logical_type == "date":
            if isinstance(parsed.dtype, pd.DatetimeTZDtype):
                parsed = parsed.dt.tz_localize(None)
            parsed = parsed.dt.normalize()
        return parsed.astype(dtype)
    if logical_type == "string":
        return values.astype(dtype)
    if logical_type == "bool":
        if pd.api.types.is_bool_dtype(values):
            return values.astype(dtype)
        mapped = (
            values.map(_BOOL_WORDS.get)
            if not pd.api.types.is_numeric_dtype(values)
            else values.map({0: False, 1: True})
        )
        bad = mapped.isna()
        _raise_if_bad(bad, values, table_name, column, dtype)
        return mapped.astype(dtype)
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() & values.notna()
    if logical_type in ("id", "int"):
        bad |= values.isna()
    if logical_type in ("id", "int", "nullable_id", "nullable_int"):
        bad |= numeric.notna() & (numeric != numeric.round())
    _raise_if_bad(bad, values, table_name, column, dtype)
    return numeric.astype(dtype)


_BOOL_WORDS = {
    "true": True,
    "false": False,
    "True": True,
    "False": False,
    "TRUE": True,
    "FALSE": False,
    "1": True,
    "0": False,
    True: True,
    False: False,
}


def _raise_if_bad(bad: pd.Series, values: pd.Series, table_name: str, column: str, dtype: str) -> None:
    if bad.any():
        rows = values[bad].to_frame()
        raise DataError(
            table_name, "dtype", f"{int(bad.sum())} value(s) cannot be read as {dtype}", column=column, rows=rows
        )


def read_raw(path: Path, spec: Table | None = None) -> pd.DataFrame:
    """Read a parquet or CSV file as it is, turning unreadable files into a DataError.

    With `spec`, CSV columns the schema types as strings are read as text, so that codes
    such as region "01" keep their leading zeros instead of turning into numbers.
    """
    path = Path(path)
    name = path.stem
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            text_columns = {c.name: "str" for c in spec.columns if c.type == "string"} if spec else None
            return pd.read_csv(path, encoding="utf-8", dtype=text_columns)
    except Exception as exc:  # the reader's own error types vary by format and engine
        raise DataError(name, "readable", f"cannot read {path.name}: {type(exc).__name__}: {exc}") from exc
    raise DataError(name, "readable", f"unsupported file type {path.suffix}; use .parquet or .csv")


def read_table(directory: Path, name: str) -> pd.DataFrame:
    """Read one canonical table from `directory`, conformed to the schema."""
    spec = table(name)
    return conform(read_raw(find_table_file(directory, name), spec), spec)


def read_tables(directory: Path) -> dict[str, pd.DataFrame]:
    return {name: read_table(directory, name) for name in TABLE_NAMES}


def write_table(frame: pd.DataFrame, directory: Path, name: str) -> Path:
    """Conform `frame` to table `name` and write it atomically as DIRECTORY/NAME.parquet."""
    target = Path(directory) / f"{name}.parquet"
    write_frame(conform(frame, table(name)), target)
    return target


def write_tables(tables: Mapping[str, pd.DataFrame], directory: Path) -> list[Path]:
    return [write_table(frame, directory, name) for name, frame in tables.items()]
