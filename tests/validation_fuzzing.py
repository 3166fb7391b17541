"""Generated corruptions of a small valid book, validate run on each, and the properties that must hold.

Shared by tests/test_validation_fuzz.py (a few examples per run) and benchmarks/fuzz_validate.py
(thousands). A case is a `Plan`: a format (CSV or parquet) and a few operations on the clean book
of validation_fixtures, drawn by hypothesis (`plans`): cell damage (wrong types, control characters,
huge numbers, exotic dates, whitespace, text in typed parquet columns, parquet columns stored as
other types), structural damage (repeated header rows, ragged rows, stray separators, bare-comma
and blank lines, missing, extra, renamed, duplicated or reordered columns, BOM, CRLF, bytes that
are not UTF-8, empty tables) and extreme but valid values. `write_case` writes the files and keeps,
for every cell, the value as written; `run_case` runs the validate stage on them; `judge` checks:

- the stage ends with exit code 0 or with a DataError (exit 2), never with any other exception;
- rows in = validated + quarantined, per table, and equals the rows written;
- every validated value equals the value as written, read by an oracle independent of the
  pipeline's parser (Python's int, float and datetime.fromisoformat): no re-typing, rounding or
  swapping. A validated row whose value the oracle cannot read counts as altered too.

Imports only the library, hypothesis and validation_fixtures, so that the benchmark can load it by path.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st
from validation_fixtures import clean_tables, params_with

from core.errors import DataError
from core.schema import TABLES

#: The book every case starts from: 5 accounts x 6 cycles (30 statements, 29 payments, 7 contacts, 2 restrictions).
BASE = clean_tables()

# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Op:
    """One operation: `kind` on `table` (row and column where it applies), with `value` (kind-specific)."""

    kind: str
    table: str
    row: int = 0
    column: str = ""
    value: Any = None


@dataclass(frozen=True)
class Plan:
    fmt: str
    ops: tuple[Op, ...]
    #: `validate` params of the run (max_quarantine_share, extra_columns).
    params: tuple[tuple[str, Any], ...] = ()


NASTY_TEXT = (
    *("", " ", "  ", "\t", "NA", "N/A", "None", "null", "NULL", "NaN", "nan", "inf", "-inf", "Infinity", "-", "?"),
    *("0", "-0", "+1", "00", "007", "0007.0", "1,204.50", "1.204,50", "1_000", "0x1A", "1e5", "1E+308", "1e309"),
    *("-1e400", "1e-400", "5e-324", "99999999999999999999", "9223372036854775807", "9223372036854775808"),
    *("-9223372036854775808", "-9223372036854775809", "9007199254740993", "18446744073709551616", "5001.0"),
    *("5001.", ".5", "5.", "+.5e-3", "\u0663", "\uff11\uff12", "true", "FALSE", "yes", "Y", "maybe", "2"),
    *("05/03/2024", "03/05/2024", "5/3/24", "2024-3-5", "20240305", "2024/03/05", "2024-02-30", "2024-02-29"),
    *("2023-02-29", "0000-01-01", "0001-01-01", "1677-09-21", "1677-09-22", "2262-04-11", "2262-04-12"),
    *("9999-12-31", "2024-W10-2", "2024-065", "2024-03", "2024", "1710000000", "2024-03-05T25:00:00"),
    *("2024-03-05T10:00:00+14:00", "2024-03-05T10:00:00-12:00", "2024-03-05T10:00:00+0530", "2024-03-05T10:00"),
    *("2024-03-05 10:00:00.123456789Z", "2024-03-05T10:00:00.1234567891Z", "2024-03-05 10:00 UTC"),
    *("2024-03-05T10:00:00Z", "2024-03-05t10:00:00z", "2024-03-05T23:59:60Z", "2024-03-05T10:00:00+24:00"),
    *("Mon, 05 Mar 2024 10:00:00 GMT", "sms", "SMS", " sms", "sms ", "\uff53\uff4d\uff53", "card", "revolving"),
    *("US\x00TX", "\x00", "a\tb", "a\nb", "a\rb", "a\r\nb", "\x7f", "\x85", "\x1b[31m", "\u200b", "\u200f"),
    *("\ufeff", "\ufffd", "\U0001f600", "<script>alert(1)</script>", '"', "'", ",", '","', "a,b", "\\", "\u00e9"),
    *("\u00cele-de-France", "account_id", "payment_id", "cycle_date", "America/Chicago", "Mars/Olympus_Mons"),
    *("UTC", "Etc/GMT+5", "US-TX", "01", "1.0", "-1", "1e18", "1e12", "1000000000000.01", "0.005"),
)

_CELL_KINDS = ("nasty", "unicode", "integer", "float", "date_text", "stamp_text", "padded", "other_row")


@st.composite
def plans(draw, formats: tuple[str, ...] = ("csv", "parquet")) -> Plan:
    """A plan of 1 to 3 operations on the base book, in CSV or parquet."""
    fmt = draw(st.sampled_from(formats))
    ops = tuple(draw(st.lists(_op(fmt), min_size=1, max_size=3)))
    share = draw(st.sampled_from((1.0, 1.0, 1.0, 0.05)))
    extra = draw(st.sampled_from(("fatal", "drop")))
    return Plan(fmt, ops, (("max_quarantine_share", share), ("extra_columns", extra)))


@st.composite
def _op(draw, fmt: str) -> Op:
    table = draw(st.sampled_from(list(BASE)))
    column = draw(st.sampled_from(TABLES[table].column_names))
    row = draw(st.integers(0, len(BASE[table]) - 1))
    kinds = ["cell"] * 6 + ["variant"] * 3 + ["extreme"] * 2 + ["missing"]
    kinds += ["drop_column", "extra_column", "rename_column", "shuffle_columns", "duplicate_column", "empty"]
    if fmt == "csv":
        kinds += ["header_again"] * 2 + ["bare_commas"] * 2 + ["blank_line", "long_row", "short_row"]
        kinds += ["stray_separator", "stray_quote", "raw_quote", "bom", "crlf", "not_utf8"]
    else:
        kinds += ["retype"] * 4
    kind = draw(st.sampled_from(kinds))
    value: Any = None
    if kind == "cell":
        value = draw(_cell_value(table, column))
    elif kind == "variant":
        value = draw(st.integers(0, 7))
    elif kind == "extreme":
        value = draw(_extreme(TABLES[table].column(column).type))
    elif kind == "retype":
        value = draw(st.sampled_from(_RETYPES))
    elif kind in ("extra_column", "rename_column"):
        value = draw(st.sampled_from(("nickname", f" {column}", column.upper(), "", "Unnamed: 0", f"{column}.1")))
    elif kind in ("shuffle_columns", "bare_commas", "long_row", "short_row", "stray_separator"):
        value = draw(st.integers(0, 2**16))
    return Op(kind, table, row, column, value)


def _cell_value(table: str, column: str) -> st.SearchStrategy[tuple[str, Any]]:
    """(kind, payload): a text, a pattern around the cell's own text ("padded"), or another row's value."""
    kind_of_value = {
        "nasty": st.sampled_from(NASTY_TEXT),
        "unicode": st.text(st.characters(codec="utf-8"), max_size=6),
        "integer": st.integers(-(2**70), 2**70).map(str),
        "float": st.floats(allow_nan=True, allow_infinity=True).map(repr),
        "date_text": st.tuples(
            st.dates(date(1, 1, 1), date(9999, 12, 31)),
            st.sampled_from(
                ("%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S", "%b %d %Y")
            ),
        ).map(lambda d: d[0].strftime(d[1])),
        "stamp_text": st.datetimes(
            datetime(1600, 1, 1), datetime(2400, 1, 1), timezones=st.sampled_from((None, UTC, _tz(5.5), _tz(-12)))
        ).map(lambda t: t.isoformat(sep=" " if t.second % 2 else "T")),
        "padded": st.sampled_from(("  {}", "{} ", "\u00a0{}", "{}\t", "0{}", "+{}", "{}.0", "{}e0", "'{}'")),
        "other_row": st.integers(0, 10**6),
    }
    return st.sampled_from(_CELL_KINDS).flatmap(lambda kind: kind_of_value[kind].map(lambda v: (kind, v)))


def _tz(hours: float):
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def _extreme(logical_type: str) -> st.SearchStrategy[Any]:
    """Typed values at the edges of what the type holds (written typed where the format allows)."""
    if logical_type in ("id", "nullable_id", "int", "nullable_int"):
        return st.one_of(st.sampled_from((0, -1, 2**53 + 1, 2**63 - 1, -(2**63))), st.integers(-(2**63), 2**63 - 1))
    if logical_type == "float":
        return st.one_of(
            st.sampled_from((0.0, -0.0, 5e-324, 1e12, 1e15 + 0.3, 2.0**53 + 2, 1e308, float("nan"), float("inf"))),
            st.floats(),
        )
    if logical_type == "bool":
        return st.booleans()
    if logical_type == "string":
        return st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
    if logical_type == "date":
        return st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)).map(lambda t: t.replace(hour=0, minute=0))
    return st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.just(UTC))


_RETYPES = (
    "string",
    "zero_padded",
    "double",
    "int32",
    "uint64",
    "decimal",
    "dictionary",
    "large_string",
    "binary",
    "date32",
    "timestamp_s",
    "timestamp_us",
    "timestamp_other_zone",
    "timestamp_naive",
    "int_for_bool",
    "all_null",
)

# --------------------------------------------------------------------------- writing a case


@dataclass
class Column:
    """A column being written: its name, arrow type (parquet) and values (python objects; None = null)."""

    name: str
    type: pa.DataType | None
    values: list[Any]


@dataclass
class TableDraft:
    columns: list[Column]
    #: CSV only: extra lines (position among the data rows, text) and damage to the bytes.
    lines: dict[int, list[str]] = field(default_factory=dict)
    short: dict[int, int] = field(default_factory=dict)  # row -> cells written (fewer than the header)
    long: dict[int, str] = field(default_factory=dict)  # row -> text appended after the last cell
    raw_quote: dict[int, str] = field(default_factory=dict)  # row -> column whose cell starts with a bare quote
    bom: bool = False
    crlf: bool = False
    not_utf8: tuple[int, str] | None = None
    records_added: list[int] = field(default_factory=list)  # positions of added records (header_again, commas)

    @property
    def n_rows(self) -> int:
        return len(self.columns[0].values) if self.columns else 0


@dataclass
class WrittenCase:
    plan: Plan
    raw: Path
    #: Rows each table's file holds as data rows (None: the file is structurally broken; no row count is promised).
    rows: dict[str, int | None]
    #: Tables whose text no reader but the real one can be trusted to split into cells (an unbalanced
    #: quote): only "rows in = validated + quarantined" is checked for them.
    opaque: set[str] = field(default_factory=set)


def write_case(plan: Plan, raw: Path) -> WrittenCase:
    """Write the plan's five files into `raw` (replacing what is there)."""
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    drafts = {name: _draft(frame, plan.fmt) for name, frame in BASE.items()}
    broken: set[str] = set()
    opaque: set[str] = set()
    for op in plan.ops:
        if _apply(op, drafts[op.table], plan.fmt):
            broken.add(op.table)
        if op.kind == "raw_quote":
            opaque.add(op.table)
    rows: dict[str, int | None] = {}
    for name, draft in drafts.items():
        if plan.fmt == "csv":
            data = _csv_bytes(draft)
            (raw / f"{name}.csv").write_bytes(data)
            # Rows as an independent reader finds them (a line with no cell at all is no row).
            rows[name] = None if name in broken else len(_csv_rows(data.decode("utf-8").removeprefix("\ufeff"))) - 1
        else:
            _write_parquet(draft, raw / f"{name}.parquet")
            rows[name] = None if name in broken else draft.n_rows
    return WrittenCase(plan, raw, rows, opaque)


def _draft(frame: pd.DataFrame, fmt: str) -> TableDraft:
    columns = []
    for name, (kind, values) in _typed_columns(id(frame), frame).items():
        if fmt == "csv":
            columns.append(Column(name, None, [_text_of(v) for v in values]))
        else:
            columns.append(Column(name, kind, list(values)))
    return TableDraft(columns)


_TYPED: dict[int, dict[str, tuple[pa.DataType, list[Any]]]] = {}


def _typed_columns(key: int, frame: pd.DataFrame) -> dict[str, tuple[pa.DataType, list[Any]]]:
    """Each column's arrow type and python values, computed once per base table."""
    if key not in _TYPED:
        with warnings.catch_warnings():  # pyarrow reads tz-aware columns through a deprecated pandas path
            warnings.simplefilter("ignore")
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
        _TYPED[key] = {n: (arrow.schema.field(n).type, arrow.column(n).to_pylist()) for n in arrow.column_names}
    return _TYPED[key]


def _text_of(value: Any) -> str | None:
    """The text a typed value is written as (a CSV cell, or a parquet column stored as text)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0 and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _apply(op: Op, draft: TableDraft, fmt: str) -> bool:
    """Apply one operation; True when it breaks the file's structure (no row count can be promised)."""
    names = [c.name for c in draft.columns]
    col = next((c for c in draft.columns if c.name == op.column), None)
    n = draft.n_rows
    row = op.row % n if n else 0
    if op.kind in ("cell", "variant", "extreme", "missing", "retype", "stray_quote") and (col is None or n == 0):
        return False
    if op.kind in ("drop_column", "duplicate_column", "rename_column") and col is None:
        return False
    if op.kind == "cell":
        kind, payload = op.value
        if kind == "other_row":  # another row's value of the same column: valid, but not this row's
            _set(col, row, col.values[payload % n], fmt)
        elif kind == "padded":
            _set(col, row, payload.replace("{}", _as_text(col.values[row]) or ""), fmt)
        else:
            _set(col, row, payload, fmt)
    elif op.kind == "variant":
        _set(col, row, _variant(col.values[row], op.value), fmt)
    elif op.kind == "extreme":
        _set(col, row, op.value, fmt)
    elif op.kind == "missing":
        col.values[row] = None
    elif op.kind == "retype":
        _retype(col, op.value)
    elif op.kind == "drop_column":
        draft.columns.remove(col)
    elif op.kind in ("extra_column", "duplicate_column"):
        source = col.values if op.kind == "duplicate_column" else [f"x{i}" for i in range(n)]
        name = op.column if op.kind == "duplicate_column" else op.value
        draft.columns.append(Column(name, col.type if op.kind == "duplicate_column" else pa.string(), list(source)))
        if fmt == "csv" and col.type is None:
            draft.columns[-1].type = None
        return op.kind == "duplicate_column" or name in names
    elif op.kind == "rename_column":
        col.name = op.value
        return op.value in names
    elif op.kind == "shuffle_columns":
        order = np.random.default_rng(op.value).permutation(len(draft.columns))
        draft.columns = [draft.columns[i] for i in order]
    elif op.kind == "empty":
        for c in draft.columns:
            c.values = []
        for book in (draft.lines, draft.short, draft.long, draft.raw_quote):
            book.clear()
    elif op.kind == "header_again":  # a data row whose cells are the header's names
        _insert_row(draft, row, list(names))
    elif op.kind == "bare_commas":
        width = len(names) + (op.value % 3) - 1  # one cell short, exact, or one too many
        if width == len(names):
            _insert_row(draft, row if op.value % 2 else n, [None] * len(names))
        else:
            draft.lines.setdefault(row, []).append("," * (width - 1))
            return True
    elif op.kind == "blank_line":
        draft.lines.setdefault(row, []).append("")
    elif op.kind == "long_row":
        draft.long[row] = "," + str(op.value) * (op.value % 2)
        return True
    elif op.kind == "short_row":
        keep = 1 + op.value % max(len(names) - 1, 1)
        draft.short[row] = keep
        for c in draft.columns[keep:]:
            c.values[row] = None
    elif op.kind == "stray_separator":  # a comma inside an unquoted cell: one cell too many
        draft.long[row] = ","
        return True
    elif op.kind == "stray_quote":
        text = _as_text(col.values[row]) if col else None
        if col is not None and n:
            col.values[row] = f'{text or ""}"x'  # quoted on output, so the cell reads back exactly
    elif op.kind == "raw_quote":  # a quote opening an unquoted cell, never closed on its line
        draft.raw_quote[row] = op.column
        return True
    elif op.kind == "bom":
        draft.bom = True
    elif op.kind == "crlf":
        draft.crlf = True
    elif op.kind == "not_utf8":
        draft.not_utf8 = (row, op.column)
        return True
    return False


def _as_text(value: Any) -> str | None:
    return value if isinstance(value, str) or value is None else _text_of(value)


def _set(col: Column, row: int, value: Any, fmt: str) -> None:
    if fmt == "csv" or col.type is None:
        col.values[row] = _as_text(value)
        return
    col.values[row] = value
    if not _fits(col):
        col.values = [_as_text(v) for v in col.values]
        col.type = pa.string()


def _fits(col: Column) -> bool:
    try:
        pa.array(col.values, type=col.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        if pa.types.is_timestamp(col.type) and col.type.unit == "ns":  # beyond nanoseconds: microseconds hold it
            col.type = pa.timestamp("us", tz=col.type.tz)
            return _fits(col)
        return False
    return True


def _variant(value: Any, which: int) -> Any:
    """The same value written another valid way (or the value itself)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return (("true", "TRUE", "t", "yes", "Y", "1", "True", " true "), ("false", "F", "no", "N", "0", "False"))[
            not value
        ][which % (8 if value else 6)]
    if isinstance(value, int):
        return (f"+{value}", f" {value} ", f"{value}.0", f"{value}.000", str(value), f"{value}\t", str(value))[
            which % 7
        ]
    if isinstance(value, float):
        forms = (repr(value), f"{value:.17g}", f"{value:e}", f" {value!r}", f"{value:.2f}", f"{value:.20f}")
        return forms[which % len(forms)]
    if isinstance(value, datetime) and value.tzinfo is not None:
        zones = ("UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Kiritimati", "Etc/GMT+12")
        stamp = pd.Timestamp(value).tz_convert(zones[which % len(zones)])
        text = stamp.isoformat(sep=" " if which % 2 else "T")
        return text.replace("+00:00", "Z") if which % 3 == 0 else text
    if isinstance(value, datetime):
        day = value.date().isoformat()
        return (day, f"{day}T00:00:00", f"{day} 00:00:00", f"{day}T23:30:00-05:00", f" {day} ")[which % 5]
    return value


def _retype(col: Column, how: str) -> None:
    """Store a parquet column as another type (values converted where they can be, else left as they are)."""
    values, kind = col.values, col.type
    try:
        if how == "string":
            col.values, col.type = [_as_text(v) for v in values], pa.string()
        elif how == "zero_padded" and pa.types.is_integer(kind):
            col.values, col.type = [None if v is None else f"{v:08d}" for v in values], pa.string()
        elif how == "double" and pa.types.is_integer(kind):
            col.values, col.type = [None if v is None else float(v) for v in values], pa.float64()
        elif how in ("int32", "uint64") and pa.types.is_integer(kind):
            col.type = pa.int32() if how == "int32" else pa.uint64()
            pa.array(values, type=col.type)
        elif how == "decimal" and pa.types.is_floating(kind):
            col.values = [None if v is None or not math.isfinite(v) else Decimal(repr(v)) for v in values]
            col.type = pa.decimal128(38, 10)
            pa.array(col.values, type=col.type)
        elif how in ("dictionary", "large_string", "binary") and pa.types.is_string(kind):
            col.type = {"dictionary": pa.dictionary(pa.int32(), pa.string()), "large_string": pa.large_string()}.get(
                how, pa.binary()
            )
            if how == "binary":
                col.values = [None if v is None else v.encode() for v in values]
        elif how == "date32" and pa.types.is_timestamp(kind):
            col.values, col.type = [None if v is None else v.date() for v in values], pa.date32()
        elif how.startswith("timestamp_") and pa.types.is_timestamp(kind):
            if how == "timestamp_other_zone" and kind.tz is not None:
                col.type = pa.timestamp(kind.unit, tz="America/New_York")
            elif how == "timestamp_naive":
                col.values = [None if v is None else v.replace(tzinfo=None) for v in values]
                col.type = pa.timestamp(kind.unit)
            elif how in ("timestamp_s", "timestamp_us"):
                col.type = pa.timestamp(how[-2:].lstrip("_"), tz=kind.tz)
                pa.array(values, type=col.type)
        elif how == "int_for_bool" and pa.types.is_boolean(kind):
            col.values, col.type = [None if v is None else int(v) for v in values], pa.int64()
        elif how == "all_null":
            col.values = [None] * len(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError, AttributeError):
        col.values, col.type = values, kind


def _insert_row(draft: TableDraft, row: int, cells: list[Any]) -> None:
    for c, cell in zip(draft.columns, cells, strict=True):
        c.values.insert(row, cell)
    for book in (draft.lines, draft.short, draft.long, draft.raw_quote):  # later positions move down one row
        moved = {(k + 1 if k >= row else k): v for k, v in book.items()}
        book.clear()
        book.update(moved)


def _quote(cell: str | None) -> str:
    """A cell as CSV text: quoted when it holds a separator, a quote or a line break, or only whitespace."""
    if cell is None:
        return ""
    if any(ch in cell for ch in ',"\r\n') or (cell.strip() == "" and cell != ""):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _csv_bytes(draft: TableDraft) -> bytes:
    end = "\r\n" if draft.crlf else "\n"
    lines = [",".join(_quote(c.name) for c in draft.columns)]
    for r in range(draft.n_rows + 1):
        lines.extend(draft.lines.get(r, []))
        if r == draft.n_rows:
            break
        cells = [_quote(c.values[r]) for c in draft.columns][: draft.short.get(r, len(draft.columns))]
        if r in draft.raw_quote:
            at = next((i for i, c in enumerate(draft.columns) if c.name == draft.raw_quote[r]), 0)
            cells[min(at, len(cells) - 1)] = '"' + cells[min(at, len(cells) - 1)]
        lines.append(",".join(cells) + draft.long.get(r, ""))
    text = end.join(lines) + end
    data = (("\ufeff" if draft.bom else "") + text).encode("utf-8")
    if draft.not_utf8 is not None:
        data = data.replace(b"\n", b"\n\xff\xfe", 1) if b"\n" in data else data + b"\xff"
    return data


def _write_parquet(draft: TableDraft, path: Path) -> None:
    arrays, names = [], []
    for c in draft.columns:
        try:
            arrays.append(pa.array(c.values, type=c.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
            arrays.append(pa.array([_as_text(v) for v in c.values], type=pa.string()))
        names.append(c.name)
    pq.write_table(pa.Table.from_arrays(arrays, names=names), path)


# --------------------------------------------------------------------------- running and judging


@dataclass
class Outcome:
    """What a case did: exit code (0, 2, or 1 for any other exception), and what it broke."""

    exit_code: int
    message: str = ""
    tracebacks: int = 0
    rows_lost: int = 0
    values_altered: int = 0
    #: Validated cells compared with the value as written.
    values_compared: int = 0
    problems: list[str] = field(default_factory=list)


def run_case(case: WrittenCase, root: Path, gx_root: Path) -> Outcome:
    """Run the validate stage on the case's files (outputs under `root`) and judge the result."""
    from pipeline.stages import validate as stage

    out = {name: root / name for name in ("validated", "quarantine", "report")}
    for path in out.values():
        shutil.rmtree(path, ignore_errors=True)
    metrics_file = root / "validation.json"
    metrics_file.unlink(missing_ok=True)
    params = params_with(**dict(case.plan.params))
    try:
        metrics = stage.run(params, case.raw, out["validated"], out["quarantine"], metrics_file, out["report"], gx_root)
    except DataError as exc:
        outcome = Outcome(2, str(exc).splitlines()[0])
        if out["validated"].exists() or metrics_file.exists():
            outcome.problems.append("a fatal error left outputs behind")
            outcome.rows_lost += 1
        return outcome
    except Exception as exc:  # any other exception is what the fuzz is looking for
        text = "".join(traceback.format_exception(exc))
        return Outcome(1, f"{type(exc).__name__}: {exc}", tracebacks=1, problems=[text])
    return judge(case, metrics, out["validated"], out["quarantine"])


def judge(case: WrittenCase, metrics: dict, validated_dir: Path, quarantine_dir: Path) -> Outcome:
    outcome = Outcome(0)
    for name, spec in TABLES.items():
        if name not in case.rows:  # an optional table the case leaves out (decisions)
            continue
        validated = pd.read_parquet(validated_dir / f"{name}.parquet")
        quarantined = pd.read_parquet(quarantine_dir / f"{name}.parquet")
        rows_in = metrics["tables"][name]["rows_in"]
        written = case.rows[name]
        lost = abs(rows_in - len(validated) - len(quarantined))
        if written is not None:
            lost += abs(written - rows_in)
        if lost:
            outcome.rows_lost += lost
            outcome.problems.append(
                f"{name}: {written} rows written, {rows_in} read, {len(validated)} + {len(quarantined)} out"
            )
            continue
        records = _as_written(case, name)
        if records is None:
            continue
        good = np.setdiff1d(np.arange(rows_in), quarantined["row_number"].to_numpy())
        if len(good) != len(validated):
            outcome.rows_lost += abs(len(good) - len(validated))
            outcome.problems.append(f"{name}: {len(good)} rows not quarantined but {len(validated)} validated")
            continue
        for col in spec.columns:
            if col.name not in records:
                continue
            got = validated[col.name].tolist()
            outcome.values_compared += len(good)
            for i, source in enumerate(good):
                verdict, expected = read_as_written(records[col.name][source], col.type)
                if not _same(verdict, expected, got[i], col.type):
                    outcome.values_altered += 1
                    outcome.problems.append(
                        f"{name}.{col.name} row {source}: written {records[col.name][source]!r} "
                        f"({verdict} {expected!r}), validated {got[i]!r}"
                    )
    return outcome


def _as_written(case: WrittenCase, name: str) -> dict[str, list[Any]] | None:
    """Each column's cells as written, read back from the file by an independent reader (None: unreadable)."""
    if case.plan.fmt == "parquet":
        table = pq.ParquetFile(case.raw / f"{name}.parquet").read()
        return {n: table.column(i).to_pylist() for i, n in enumerate(table.column_names)}
    if name in case.opaque:
        return None
    data = (case.raw / f"{name}.csv").read_bytes().decode("utf-8").removeprefix("\ufeff")
    header, *rows = _csv_rows(data)
    return {h: [r[i] if i < len(r) else None for r in rows] for i, h in enumerate(header)}


def _csv_rows(data: str) -> list[list[str | None]]:
    """The records of a CSV text (header first), blank lines skipped."""
    return [r for r in _csv_records(data) if r is not None]


def _csv_records(data: str):
    """Records of a CSV text: cells split on commas outside quotes; "" inside quotes is a quote; empty = None."""
    cells: list[str | None] = []
    cell, quoted, was_quoted, i = [], False, False, 0
    while i < len(data):
        ch = data[i]
        if quoted:
            if ch == '"' and data[i + 1 : i + 2] == '"':
                cell.append('"')
                i += 1
            elif ch == '"':
                quoted = False
            else:
                cell.append(ch)
        elif ch == '"' and not cell:
            quoted = was_quoted = True
        elif ch == ",":
            cells.append("".join(cell) or None)
            cell, was_quoted = [], False
        elif ch in "\r\n":
            if ch == "\r" and data[i + 1 : i + 2] == "\n":
                i += 1
            cells.append("".join(cell) or None)
            yield cells if len(cells) > 1 or cells[0] is not None or was_quoted else None
            cells, cell, was_quoted = [], [], False
        else:
            cell.append(ch)
        i += 1
    if cell or cells:
        cells.append("".join(cell) or None)
        yield cells


_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_TRUE, _FALSE = ("true", "t", "yes", "y", "1"), ("false", "f", "no", "n", "0")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FRACTION = re.compile(r"(?<=:\d\d)\.(\d+)")
_NS_DAYS = (date(1677, 9, 22), date(2262, 4, 11))


def read_as_written(value: Any, logical_type: str) -> tuple[str, Any]:
    """The oracle: ("value", v), ("missing", None) or ("unreadable", None) for a cell as written.

    Independent of the pipeline's parser: Python's int(), float() and datetime.fromisoformat(), the
    schema's documented conventions (an empty or whitespace-only text is missing; ids are not
    zero-padded; a naive timestamp is UTC; a date is the calendar date written), nothing else.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):  # a typed NaN is pandas' missing
        return "missing", None
    try:
        if isinstance(value, bytes):
            return "unreadable", None
        if isinstance(value, Decimal):
            value = str(value)
        if logical_type in ("id", "nullable_id", "int", "nullable_int"):
            return _oracle_int(value, logical_type.endswith("id"))
        if logical_type == "float":
            return _oracle_float(value)
        if logical_type == "bool":
            if isinstance(value, bool):
                return "value", value
            if isinstance(value, float):
                return "unreadable", None
            word = str(value).strip().lower()
            return ("value", word in _TRUE) if word in _TRUE + _FALSE else ("unreadable", None)
        if logical_type == "string":
            if not isinstance(value, str) or _CONTROL.search(value):
                return "unreadable", None
            return ("missing", None) if value.strip() == "" else ("value", value)
        if logical_type == "date":
            return _oracle_date(value)
        return _oracle_timestamp(value)
    except (ValueError, OverflowError, TypeError):
        return "unreadable", None


def _oracle_int(value: Any, is_id: bool) -> tuple[str, Any]:
    if isinstance(value, bool):
        return "unreadable", None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return "unreadable", None
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text) or (is_id and re.match(r"[+-]?0[0-9]", text)):
            return "unreadable", None
        value = int(text.split(".")[0])
    if not isinstance(value, int | np.integer):
        return "unreadable", None
    return ("value", int(value)) if -(2**63) <= value < 2**63 else ("unreadable", None)


def _oracle_float(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float | str | np.number):
        return "unreadable", None
    if isinstance(value, int) and abs(value) > 2**53:
        return "unreadable", None
    number = float(value.strip() if isinstance(value, str) else value)
    return ("value", number) if math.isfinite(number) else ("unreadable", None)


def _oracle_date(value: Any) -> tuple[str, Any]:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        day = _iso(value.strip()).date()
    else:
        return "unreadable", None
    return ("value", day) if _NS_DAYS[0] <= day <= _NS_DAYS[1] else ("unreadable", None)


def _oracle_timestamp(value: Any) -> tuple[str, Any]:
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
    elif isinstance(value, date):
        stamp = pd.Timestamp(value.isoformat())
    elif isinstance(value, str):
        stamp = _iso(value.strip())
    else:
        return "unreadable", None
    return "value", stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _iso(text: str) -> pd.Timestamp:
    """datetime.fromisoformat, with fractions of a second kept to the nanosecond (it keeps microseconds)."""
    fraction = _FRACTION.search(text)
    nanos = 0
    if fraction:
        if len(fraction.group(1)) > 9:
            raise ValueError("finer than nanoseconds")
        nanos = int(fraction.group(1).ljust(9, "0"))
        text = text[: fraction.start()] + text[fraction.end() :]
    return pd.Timestamp(datetime.fromisoformat(text)) + pd.Timedelta(nanoseconds=nanos)


def _same(verdict: str, expected: Any, got: Any, logical_type: str) -> bool:
    missing = got is None or got is pd.NaT or (isinstance(got, float) and math.isnan(got)) or got is pd.NA
    if verdict == "missing":
        return missing
    if verdict == "unreadable" or missing:
        return False
    if logical_type == "date":
        return isinstance(got, pd.Timestamp) and got.tzinfo is None and got == pd.Timestamp(expected)
    if logical_type == "timestamp":
        return isinstance(got, pd.Timestamp) and got.tzinfo is not None and got == expected
    if logical_type == "float":
        return isinstance(got, float) and got == expected
    if logical_type in ("id", "nullable_id", "int", "nullable_int"):
        return isinstance(got, int | np.integer) and not isinstance(got, bool) and int(got) == expected
    if logical_type == "bool":
        return isinstance(got, bool | np.bool_) and bool(got) == expected
    return isinstance(got, str) and got == expected


#: Great Expectations' verdicts by table content (see gx_memo).
_GX_MEMO: dict[tuple, Any] = {}
GX_CALLS = {"run": 0, "remembered": 0}


@contextmanager
def gx_memo():
    """Run Great Expectations once per distinct table content, and reuse its verdict for an identical table.

    GX's suite costs about 0.1 s per table, and most cases leave four of the five tables as they
    were. Its verdict is a function of the frame it is given (the parsed table), so a frame equal
    in columns, dtypes and every value (hashed) gets the verdict GX gave it before: the stage's
    result is the same as with GX run every time, only faster.
    """
    from validation import gx_context

    real = gx_context.run_suite

    def run_suite(context, spec, frame):
        digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()
        key = (spec.name, tuple(frame.columns), tuple(str(t) for t in frame.dtypes), digest)
        if key in _GX_MEMO:
            GX_CALLS["remembered"] += 1
        else:
            GX_CALLS["run"] += 1
            _GX_MEMO[key] = real(context, spec, frame)
        return _GX_MEMO[key]

    gx_context.run_suite = run_suite
    try:
        yield
    finally:
        gx_context.run_suite = real


def quiet_run(case: WrittenCase, root: Path, gx_root: Path) -> tuple[Outcome, list[str]]:
    """run_case, with the warnings it raised (as text) rather than printed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = run_case(case, root, gx_root)
    return outcome, [f"{w.category.__name__}: {w.message}" for w in caught]
