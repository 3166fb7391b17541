"""Reading values as the schema's logical types, exactly: the one parser behind core.io and validation.

A value is either read exactly as written or refused; it is never guessed, rounded or re-typed:

- integers (`id`, `int`) are decimal digits, optionally signed and with a zero fraction (`5001`,
  `-3`, `5001.0`), parsed as integers without going through floating point, within int64; an
  id written with leading zeros (`007`) is refused, since `007` and `7` would become one id;
- floats are decimal numbers (`12.5`, `-0.3`, `1e5`), parsed with correct rounding; `nan`,
  `inf`, thousands separators and other notations are refused; an integer-typed value that a
  float cannot hold exactly (beyond 2**53) is refused too;
- dates and timestamps are ISO 8601 (`2024-03-05`, `2024-03-05T09:30:00-05:00`, `...Z`): a date
  written any other way is refused unless the source declares its format (`date_format`, e.g.
  `%d/%m/%Y`), since `05/03/2024` is 5 March in one country and 3 May in another; a date's
  calendar date is the one written, whatever time or offset follows it;
- text is kept exactly as written, with no trimming; a value that is not text (a number in a
  string column of a parquet file) or holds a control character (NUL, tab, newline...) is refused;
  an empty or whitespace-only value is missing;
- booleans are `true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0` in any case, or typed booleans.

Numbers, booleans and dates may be surrounded by whitespace. Typed input (the simulator's
parquet) takes fast paths that do no per-value work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

#: The dtype each logical type is read into: nullable, so that an unreadable value can become
#: missing (integer columns that arrive as numpy int64 with nothing missing stay int64).
READ_DTYPES: dict[str, str] = {
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

_INTEGER = r"[+-]?[0-9]+(?:\.0*)?"
_PADDED = r"[+-]?0[0-9]"
_FLOAT = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
_OFFSET = r" ?(?:Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)"
_ISO = f"{_DATE}(?:{_TIME}(?:{_OFFSET})?)?"
_ISO_WITH_OFFSET = f"{_DATE}{_TIME}{_OFFSET}"
#: C0 and C1 control characters, DEL included.
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: Largest integer every smaller one of which a float64 holds exactly.
_FLOAT_EXACT = 2**53
_NS_MIN = pd.Timestamp.min.as_unit("ns")
_NS_MAX = pd.Timestamp.max.as_unit("ns")


@dataclass(frozen=True)
class Parsed:
    """Values read as READ_DTYPES[type], unreadable ones missing; which were unreadable (`bad`); for
    timestamps, which were naive among values with a UTC offset (`ambiguous`, also missing)."""

    values: pd.Series
    bad: np.ndarray
    ambiguous: np.ndarray | None = None


def parse_values(values: pd.Series, logical_type: str, date_format: str | None = None) -> Parsed:
    """Read `values` (typed, or text as in a CSV) as `logical_type`; see the module docstring for what is read."""
    if logical_type in ("id", "nullable_id", "int", "nullable_int"):
        return Parsed(*_integers(values, ids=logical_type.endswith("id")))
    if logical_type == "float":
        return Parsed(*_floats(values))
    if logical_type == "bool":
        return Parsed(*_booleans(values))
    if logical_type == "string":
        return Parsed(*_strings(values))
    if logical_type == "date":
        return Parsed(*_dates(values, date_format))
    if logical_type == "timestamp":
        return _timestamps(values)
    raise ValueError(f"unknown logical type {logical_type!r}")


# --------------------------------------------------------------------------- numbers


def _integers(values: pd.Series, ids: bool) -> tuple[pd.Series, np.ndarray]:
    values = _unboxed(values)
    present = values.notna().to_numpy()
    if ptypes.is_bool_dtype(values) or not (ptypes.is_numeric_dtype(values) or _textual(values)):
        return pd.Series(pd.NA, index=values.index, dtype="Int64"), present
    if ptypes.is_integer_dtype(values):
        if isinstance(values.dtype, np.dtype) and values.dtype.kind == "i":
            return values.astype("int64"), np.zeros(len(values), dtype=bool)  # typed parquet: no copy, no mask
        unsigned = values.dtype.kind == "u"
        big = unsigned and (values.fillna(0).to_numpy(dtype=np.uint64) > np.uint64(_INT64_MAX))
        if not np.any(big):
            return values.astype("Int64"), np.zeros(len(values), dtype=bool)
        ok = present & ~big
        out = pd.Series(np.where(ok, values.fillna(0).to_numpy(dtype=np.uint64), 0).astype("int64"), index=values.index)
        return out.astype("Int64").where(ok), present & ~ok
    if ptypes.is_numeric_dtype(values):  # floats: integral and within int64 convert exactly
        number = values.to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(number)
        ok[ok] = (np.mod(number[ok], 1.0) == 0.0) & (number[ok] >= -(2.0**63)) & (number[ok] < 2.0**63)
        out = pd.Series(np.where(ok, number, 0.0).astype("int64"), index=values.index).astype("Int64")
        return out.where(ok), present & ~ok
    text = _text(values)
    ok = _mask(text.str.fullmatch(_INTEGER))
    if ids:
        ok &= ~_mask(text.str.match(_PADDED))
    digits = text.str.replace(r"\.0*$", "", regex=True).str.lstrip("+")
    number = np.zeros(len(values), dtype=np.int64)
    short = ok & (digits.str.lstrip("-").str.len().fillna(0).to_numpy() <= 18)
    if short.any():
        number[short] = pd.to_numeric(digits[short]).to_numpy(dtype=np.int64)
    for i in np.flatnonzero(ok & ~short):  # 19 digits or more: rare, checked one by one
        value = int(digits.iat[i])
        if _INT64_MIN <= value <= _INT64_MAX:
            number[i] = value
        else:
            ok[i] = False
    out = pd.Series(number, index=values.index).astype("Int64").where(ok)
    return out, present & ~ok


def _floats(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    values = _unboxed(values)
    present = values.notna().to_numpy()
    if ptypes.is_bool_dtype(values) or not (ptypes.is_numeric_dtype(values) or _textual(values)):
        return pd.Series(np.nan, index=values.index), present
    if ptypes.is_numeric_dtype(values):
        number = values.to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(number)
        if ptypes.is_integer_dtype(values):  # a float holds every integer exactly only up to 2**53
            whole = values.fillna(0).to_numpy()
            ok &= (whole <= _FLOAT_EXACT) & (whole >= -_FLOAT_EXACT)
    else:
        text = _text(values)
        ok = _mask(text.str.fullmatch(_FLOAT))
        number = np.full(len(values), np.nan)
        if ok.any():
            # Arrow's parser rounds correctly (as Python's float() does) and never raises on range.
            number[ok] = pc.cast(pa.array(text[ok], type=pa.string()), pa.float64()).to_numpy(zero_copy_only=False)
        ok &= np.isfinite(number)
    return pd.Series(np.where(ok, number, np.nan), index=values.index), present & ~ok


# --------------------------------------------------------------------------- booleans and text


def _booleans(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    values = _unboxed(values)
    if ptypes.is_bool_dtype(values):
        return values.astype("boolean"), np.zeros(len(values), dtype=bool)
    words = _text(values).str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[words.isin(_TRUE).to_numpy()] = True
    out[words.isin(_FALSE).to_numpy()] = False
    bad = values.notna().to_numpy() & out.isna().to_numpy()
    return out, bad


def _strings(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    values = _unboxed(values)
    present = values.notna().to_numpy()
    if ptypes.is_string_dtype(values) and not ptypes.is_object_dtype(values):
        text = values
        is_text = present
    elif ptypes.is_object_dtype(values):
        is_text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        text = values.where(is_text).astype("str")
    else:  # numbers, booleans, dates in a text column: what was written as text is unknown
        return pd.Series(np.nan, index=values.index, dtype="str"), present
    control = _mask(text.str.contains(_CONTROL, regex=True))
    bad = present & (~is_text | control)
    # An empty or whitespace-only value is missing (the not_null rule judges it), not a value.
    keep = ~bad & _mask(text.str.strip() != "")
    return text.where(keep), bad


# --------------------------------------------------------------------------- dates and timestamps


def _dates(values: pd.Series, date_format: str | None) -> tuple[pd.Series, np.ndarray]:
    values = _unboxed(values)
    if ptypes.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_localize(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
        return _in_ns_range(parsed, values, "datetime64[ns]", normalize=True)
    text = _text(values)
    iso = _iso(text)
    # The calendar date as written (before any offset is applied), once the whole value is valid ISO 8601.
    whole = pd.to_datetime(text.where(iso), format="ISO8601", utc=True, errors="coerce")
    parsed = pd.to_datetime(text.str.slice(0, 10).where(whole.notna().to_numpy()), format="%Y-%m-%d", errors="coerce")
    if date_format is not None:  # the source's declared format, for the values that are not ISO 8601
        declared = pd.to_datetime(text.where(~iso), format=date_format, errors="coerce")
        parsed = parsed.astype("datetime64[us]").where(iso, declared.astype("datetime64[us]"))
    return _in_ns_range(parsed, values, "datetime64[ns]", normalize=True)


def _timestamps(values: pd.Series) -> Parsed:
    values = _unboxed(values)
    if ptypes.is_datetime64_any_dtype(values):
        # Naive timestamps in a typed column are read as UTC, the schema's convention.
        tz = isinstance(values.dtype, pd.DatetimeTZDtype)
        parsed = values.dt.tz_convert("UTC") if tz else values.dt.tz_localize("UTC")
        return Parsed(*_in_ns_range(parsed, values, "datetime64[ns, UTC]"))
    text = _text(values)
    iso = _iso(text)
    has_offset = _mask(text.str.fullmatch(_ISO_WITH_OFFSET))
    parsed = pd.to_datetime(text.where(iso), format="ISO8601", utc=True, errors="coerce")
    out, bad = _in_ns_range(parsed, values, "datetime64[ns, UTC]")
    ambiguous = out.notna().to_numpy() & ~has_offset & has_offset.any()
    return Parsed(out.where(~ambiguous), bad, ambiguous)


def _iso(text: pd.Series) -> np.ndarray:
    return _mask(text.str.fullmatch(_ISO))


def _in_ns_range(
    parsed: pd.Series, original: pd.Series, dtype: str, normalize: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Cast to nanosecond resolution; values outside its range (years before 1678 or after 2261) are unreadable."""
    naive = parsed.dt.tz_localize(None) if isinstance(parsed.dtype, pd.DatetimeTZDtype) else parsed
    ok = (naive.notna() & (naive >= _NS_MIN) & (naive <= _NS_MAX)).to_numpy(dtype=bool)
    out = parsed.where(ok)
    if normalize:
        out = out.dt.normalize()
    bad = original.notna().to_numpy() & ~ok
    return out.astype(dtype), bad


# --------------------------------------------------------------------------- helpers


def _unboxed(values: pd.Series) -> pd.Series:
    """Categorical values as their categories' values (a dictionary-encoded parquet column)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(values.dtype.categories.dtype if len(values.dtype.categories) else "object")
    return values


def _mask(flags: pd.Series) -> np.ndarray:
    """A writable boolean array of `flags`, missing as False (arrow-backed results are read-only)."""
    return np.array(flags.fillna(False).to_numpy(dtype=bool), dtype=bool)


def _textual(values: pd.Series) -> bool:
    return ptypes.is_string_dtype(values) or ptypes.is_object_dtype(values)


def _text(values: pd.Series) -> pd.Series:
    """Values as stripped strings (str dtype), missing kept missing."""
    if ptypes.is_string_dtype(values) and not ptypes.is_object_dtype(values):
        return values.astype("str").str.strip()
    text = values.astype("str").str.strip()
    return text.where(values.notna().to_numpy())
