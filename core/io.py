"""Reading and writing canonical tables, safely.

Reads accept parquet or CSV (the user's choice); writes are always parquet and always
atomic: a file is written beside its target and renamed over it, so a crash or a failed
run never leaves a half-written or truncated output where the last good one was.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from core import lifecycle
from core.errors import DataError
from core.schema import TABLE_NAMES, Table, table
from core.values import parse_values

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


def json_text(payload: Mapping[str, Any]) -> str:
    """A JSON document as every metrics and record file is written: sorted keys, indented, one final newline."""
    return json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"


def write_json(payload: Mapping[str, Any], target: Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json_text(payload))


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
    that quarantines rows instead. An optional column (core.schema.Column.optional) left out of
    `frame` comes back empty throughout.
    """
    missing = [c for c in spec.required_columns if c not in frame.columns]
    if missing:
        raise DataError(spec.name, "required_columns", f"missing column(s) {missing}", column=missing[0])
    out = {}
    for col in spec.columns:
        if col.name not in frame.columns:
            out[col.name] = pd.Series(None, index=frame.index, dtype=col.dtype)
            continue
        out[col.name] = cast_column(frame[col.name], col.type, spec.name, col.name)
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def cast_column(values: pd.Series, logical_type: str, table_name: str, column: str) -> pd.Series:
    """Cast one column to its logical type; unreadable values raise with their row numbers.

    Values are read by core.values: exactly as written or not at all (integers without floating
    point, ISO 8601 dates and timestamps, no guessing). Strings are taken as they are: this is the
    path between stages, whose inputs are typed; validation judges text from outside.
    """
    from core.schema import PANDAS_DTYPES

    dtype = PANDAS_DTYPES[logical_type]
    if logical_type == "string":
        return values.astype(dtype)
    parsed = parse_values(values, logical_type)
    bad = parsed.bad.copy()
    if parsed.ambiguous is not None:
        bad |= parsed.ambiguous
    if logical_type in ("id", "int", "bool"):
        bad |= values.isna().to_numpy()
    _raise_if_bad(pd.Series(bad, index=values.index), values, table_name, column, dtype)
    return parsed.values.astype(dtype)


def _raise_if_bad(bad: pd.Series, values: pd.Series, table_name: str, column: str, dtype: str) -> None:
    if bad.any():
        rows = values[bad].to_frame()
        raise DataError(
            table_name, "dtype", f"{int(bad.sum())} value(s) cannot be read as {dtype}", column=column, rows=rows
        )


def read_raw(path: Path) -> pd.DataFrame:
    """Read a parquet or CSV file as it is, turning unreadable files into a DataError.

    CSV cells are read as text, every column, and only an empty cell is missing: no value is
    type-guessed (region "01" stays "01", "NA" and "None" stay text), so that each column can then
    be read as the schema's type (core.values). A row with more cells than the header, or a header
    naming a column twice, makes the file unreadable: its cells cannot be matched to columns.
    """
    path = Path(path)
    name = path.stem
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return _read_csv_text(path, name)
    except DataError:
        raise
    except Exception as exc:  # the reader's own error types vary by format and engine
        raise DataError(name, "readable", f"cannot read {path.name}: {type(exc).__name__}: {exc}") from exc
    raise DataError(name, "readable", f"unsupported file type {path.suffix}; use .parquet or .csv")


def _read_csv_text(path: Path, name: str) -> pd.DataFrame:
    text = {"encoding": "utf-8", "dtype": "str", "keep_default_na": False, "na_values": [""]}
    header = pd.read_csv(path, header=None, nrows=1, **text)
    names = [str(v) for v in header.iloc[0].tolist()] if len(header) else []
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(name, "readable", f"{path.name} names column(s) {twice} more than once in its header row")
    with warnings.catch_warnings():
        # index_col=False: a first row with one cell too many must not become the index (shifting
        # every value one column left); pandas warns instead, and that warning is an error here.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(path, index_col=False, **text)
        except pd.errors.ParserWarning:
            raise DataError(
                name, "readable", f"{path.name}: {_longer_rows(path, len(names))} has more cells than the header row"
            ) from None


def _longer_rows(path: Path, width: int) -> str:
    """Where the first row with more than `width` cells is (for the message)."""
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if len(row) > width and any(row[width:]):
                return f"line {number}"
    return "a row"


def read_table(directory: Path, name: str) -> pd.DataFrame:
    """Read one canonical table from `directory`, conformed to the schema."""
    return conform(read_raw(find_table_file(directory, name)), table(name))


def read_tables(directory: Path) -> dict[str, pd.DataFrame]:
    return {name: read_table(directory, name) for name in TABLE_NAMES}


def write_table(frame: pd.DataFrame, directory: Path, name: str) -> Path:
    """Conform `frame` to table `name` and write it atomically as DIRECTORY/NAME.parquet."""
    target = Path(directory) / f"{name}.parquet"
    write_frame(conform(frame, table(name)), target)
    return target


def write_tables(tables: Mapping[str, pd.DataFrame], directory: Path) -> list[Path]:
    return [write_table(frame, directory, name) for name, frame in tables.items()]
