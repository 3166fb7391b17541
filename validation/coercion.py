"""Lenient reading of raw values as the schema's logical types, cell by cell.

core.io.conform is strict: one unreadable value stops everything. Validation has to find every
unreadable value instead, so here a value that cannot be read becomes missing and its row is
reported under the `dtype` rule; the good rows are later cast strictly with core.io.conform.

Input often arrives typed (the simulator's parquet), so each type has a fast path that does
no per-value work; strings (CSV) are parsed vectorised, ISO 8601 first and a slower mixed-format
parse only for the values ISO 8601 could not read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from core.schema import Column, Table
from validation.rules import Finding, finding

#: Dtypes used while checking: nullable so that an unreadable value can become missing
#: (integer columns that arrive as numpy int64, with nothing missing, stay int64).
CHECK_DTYPES: dict[str, str] = {
    "id": "Int64",
    "nullable_id": "Int64",
    "int": "Int64",
    "nullable_int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "string": "str",
    "date": "datetime64[ns]",
    "timestamp": "datetime64[ns, UTC]",
}

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
#: A time of day followed by a UTC offset (Z, +02:00, -0500): a date alone ("2024-01-05") has none.
_HAS_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|UTC|[+-]\d{2}(?::?\d{2})?)$"
_NS_MIN = pd.Timestamp.min.as_unit("ns")
_NS_MAX = pd.Timestamp.max.as_unit("ns")


def parse_table(frame: pd.DataFrame, spec: Table) -> tuple[pd.DataFrame, list[Finding]]:
    """`frame` with every column read as its logical type, and the cells that could not be read."""
    parsed: dict[str, pd.Series] = {}
    findings: list[Finding] = []
    for col in spec.columns:
        values, bad, ambiguous = parse_column(frame[col.name], col)
        parsed[col.name] = values
        for rule, mask in (("dtype", bad), ("unambiguous_timestamp", ambiguous)):
            if mask is not None and (found := finding(spec.name, rule, col.name, mask)):
                findings.append(found)
    return pd.DataFrame(parsed, index=frame.index, copy=False), findings


def parse_column(values: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray, np.ndarray | None]:
    """(values as CHECK_DTYPES[type] with unreadable ones missing, unreadable mask, ambiguous mask).

    The ambiguous mask is only for timestamps: naive values in a column where other values carry
    a UTC offset could be in any time zone, so they are not guessed to be UTC.
    """
    if col.type in ("id", "nullable_id", "int", "nullable_int", "float"):
        return (*_numeric(values, integral=col.type != "float"), None)
    if col.type == "bool":
        return (*_boolean(values), None)
    if col.type == "string":
        return (*_string(values), None)
    if col.type == "date":
        return (*_date(values), None)
    return _timestamp(values)


def _numeric(values: pd.Series, integral: bool) -> tuple[pd.Series, np.ndarray]:
    present = values.notna().to_numpy()
    if ptypes.is_bool_dtype(values):
        numeric = pd.Series(np.nan, index=values.index)
    elif ptypes.is_integer_dtype(values):
        # Already integers (typed parquet): kept as they are, numpy int64 needs no copy and no mask.
        target = ("int64" if isinstance(values.dtype, np.dtype) else "Int64") if integral else "float64"
        return values.astype(target), np.zeros(len(values), dtype=bool)
    elif ptypes.is_numeric_dtype(values):
        numeric = values.astype("float64")
    else:
        numeric = pd.to_numeric(_text(values), errors="coerce").astype("float64")
    number = numeric.to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(number)
    if integral:
        ok &= np.equal(np.mod(number, 1.0, where=ok, out=np.zeros_like(number)), 0.0)
    bad = present & ~ok
    number = np.where(ok, number, np.nan)
    out = pd.Series(number, index=values.index)
    return (out.astype("Int64") if integral else out), bad


def _boolean(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if ptypes.is_bool_dtype(values):
        return values.astype("boolean"), np.zeros(len(values), dtype=bool)
    words = _text(values).str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[words.isin(_TRUE).to_numpy()] = True
    out[words.isin(_FALSE).to_numpy()] = False
    bad = values.notna().to_numpy() & out.isna().to_numpy()
    return out, bad


def _string(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = _text(values)
    # A blank string is a missing value (the not_null rule judges it), not a value.
    return text.where(text != ""), np.zeros(len(values), dtype=bool)


def _date(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if ptypes.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_localize(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
    else:
        text = _text(values)
        # A calendar date: the leading YYYY-MM-DD of an ISO value, whatever time or offset follows.
        iso = text.str.match(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])").fillna(False)
        parsed = pd.to_datetime(text.str.slice(0, 10).where(iso), format="%Y-%m-%d", errors="coerce")
        parsed = _retry_mixed(parsed, text, utc=False)
    return _in_ns_range(parsed, values, "datetime64[ns]", normalize=True)


def _timestamp(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray | None]:
    if ptypes.is_datetime64_any_dtype(values):
        tz = isinstance(values.dtype, pd.DatetimeTZDtype)
        # Naive timestamps in a typed column are read as UTC, the schema's convention.
        parsed = values.dt.tz_convert("UTC") if tz else values.dt.tz_localize("UTC")
        out, bad = _in_ns_range(parsed, values, "datetime64[ns, UTC]")
        return out, bad, None
    text = _text(values)
    has_offset = text.str.contains(_HAS_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    parsed = _retry_mixed(parsed, text, utc=True)
    out, bad = _in_ns_range(parsed, values, "datetime64[ns, UTC]")
    ambiguous = out.notna().to_numpy() & ~has_offset & has_offset.any()
    return out.where(~ambiguous), bad, ambiguous


def _text(values: pd.Series) -> pd.Series:
    """Values as stripped strings, missing kept missing."""
    if ptypes.is_string_dtype(values) and not ptypes.is_object_dtype(values):
        return values.str.strip()
    text = values.astype("str").str.strip()
    return text.where(values.notna().to_numpy())


def _retry_mixed(parsed: pd.Series, text: pd.Series, utc: bool) -> pd.Series:
    """Parse the values the fast ISO path missed with pandas' per-value parser."""
    retry = (parsed.isna() & text.notna()).to_numpy()
    if not retry.any():
        return parsed
    try:
        again = pd.to_datetime(text[retry], format="mixed", utc=utc, errors="coerce")
    except (ValueError, TypeError):  # offsets mixed into a date column: keep each value's own calendar date
        again = pd.to_datetime(text[retry], format="mixed", utc=True, errors="coerce").dt.tz_localize(None)
    if isinstance(again.dtype, pd.DatetimeTZDtype) and not utc:
        again = again.dt.tz_localize(None)
    out = parsed.copy()
    out[retry] = again.astype(parsed.dtype).to_numpy()
    return out


def _in_ns_range(
    parsed: pd.Series, original: pd.Series, dtype: str, normalize: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Cast to nanosecond resolution; values outside its range (years before 1678 or after 2261) are unreadable."""
    naive = parsed.dt.tz_localize(None) if isinstance(parsed.dtype, pd.DatetimeTZDtype) else parsed
    ok = naive.notna() & (naive >= _NS_MIN) & (naive <= _NS_MAX)
    out = parsed.where(ok.to_numpy())
    if normalize:
        out = out.dt.normalize()
    bad = original.notna().to_numpy() & ~ok.to_numpy()
    return out.astype(dtype), bad
