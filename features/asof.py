"""Point-in-time indexing: every table as events sorted by (account, time), searchable by as-of date.

The whole package rests on one rule: a feature for as-of date D sees only records dated
strictly before D 00:00 UTC. Rather than filtering tables once per date (quadratic), each
table is sorted once by a composite integer key ``account_code * SPAN + seconds`` and every
"what happened before D" question becomes a `searchsorted` of the same key built from D.
Per-account cumulative sums then answer window questions ("paid in the 30 days before D")
by subtracting two positions, and `Spreader` counts events before each row's date per label
(channel, weekday, ...). Accounts are independent, so the same code runs on a partition of
accounts at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.buckets import Buckets
from core.errors import DataError
from core.params import FeaturesParams
from core.schema import LEFT_BOOK_STATUSES, MAX_AMOUNT, TABLES
from features.cycles import Cycles
from features.spec import Inputs

#: Event times are integer seconds since BASE; SPAN seconds (272 years) separate accounts in a key.
BASE = np.datetime64("1900-01-01T00:00:00", "ns")
SPAN = np.int64(1 << 33)
DAY = 86_400
#: Placeholder seconds for a missing timestamp (beyond any key range): "never".
NEVER = np.int64(SPAN - 1)
#: Largest magnitude of integer cents: every integer up to 2^53 is exact in float64 (and int64).
MAX_CENTS = float(2**53)

#: None (training: every cycle_date + 1 day), one date, several dates, or a frame of
#: (account_id, as_of_date) pairs for exactly those rows.
AsOfDates = None | str | date | datetime | pd.Timestamp | np.datetime64 | Iterable | pd.DataFrame


def to_seconds(values: pd.Series | np.ndarray | pd.Index, missing: np.int64 = NEVER, ceil: bool = False) -> np.ndarray:
    """Whole seconds since BASE (floored, or rounded up), reading naive values as UTC; NaT becomes `missing`."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if not (pd.api.types.is_datetime64_any_dtype(series.dtype)):
        series = pd.to_datetime(series, utc=True)
    ns = series.to_numpy(dtype="datetime64[ns]")
    nat = np.isnat(ns)
    offset = (ns - BASE).astype(np.int64)
    secs = -(-offset // 1_000_000_000) if ceil else offset // 1_000_000_000
    if nat.any():
        secs[nat] = missing
    return secs


def from_seconds(seconds: np.ndarray) -> np.ndarray:
    """datetime64[ns] (naive, UTC) for seconds since BASE."""
    return BASE + seconds.astype("timedelta64[s]").astype("timedelta64[ns]")


def normalise_dates(as_of_dates: AsOfDates) -> np.ndarray:
    """As-of dates as sorted unique naive midnights (datetime64[ns]); times of day are dropped."""
    if isinstance(as_of_dates, (str, date, datetime, pd.Timestamp, np.datetime64)):
        as_of_dates = [as_of_dates]
    stamps = pd.DatetimeIndex(pd.to_datetime(list(as_of_dates)))
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    if stamps.hasnans:
        raise ValueError("as-of dates must not be missing")
    return np.unique(stamps.normalize().to_numpy(dtype="datetime64[ns]"))


class EventIndex:
    """Composite keys of one table's rows, already sorted by (account code, time)."""

    def __init__(self, codes: np.ndarray, seconds: np.ndarray) -> None:
        self.codes = codes
        self.seconds = seconds
        self.keys = codes.astype(np.int64) * SPAN + seconds
        if len(self.keys) > 1 and (np.diff(self.keys) < 0).any():
            raise ValueError("EventIndex needs rows sorted by (code, time)")
        self._starts = np.zeros(1, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.keys)

    def before(self, codes: np.ndarray, seconds: np.ndarray | np.int64) -> np.ndarray:
        """Position of the first row of `codes` at or after `seconds` (= rows strictly before)."""
        secs = np.clip(seconds, 0, SPAN - 1)
        return np.searchsorted(self.keys, codes.astype(np.int64) * SPAN + secs, side="left")

    def first(self, codes: np.ndarray) -> np.ndarray:
        """Position of each code's first row (one search per account, then a lookup per query)."""
        top = int(codes.max()) + 2 if len(codes) else 1
        if len(self._starts) < top:
            self._starts = np.searchsorted(self.codes, np.arange(top), side="left")
        return self._starts[codes]

    def last_before(self, codes: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """Index of each code's last row strictly before `seconds`, -1 when there is none."""
        pos = self.before(codes, seconds) - 1
        return np.where(pos >= self.first(codes), pos, -1)


def prefix_sum(values: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading zero row, so that sum(rows a..b-1) = out[b] - out[a].

    Callers pass integers (counts, cents) so that differences are exact and a partition's
    result never depends on which other accounts share its arrays. The running total of a large
    partition's cents may wrap around int64; int64 arithmetic is modular, so a difference is
    still exact whenever the window's own sum fits (core.schema.MAX_AMOUNT leaves room for
    92,000 maximal amounts in one window).
    """
    values = np.asarray(values)
    out = np.zeros((len(values) + 1,) + values.shape[1:], dtype=np.int64)
    np.cumsum(values, axis=0, out=out[1:])
    return out


def cents(amounts: np.ndarray, table: str, columns: str | Sequence[str]) -> np.ndarray:
    """Money as integer cents (int64), for exact cumulative sums; a missing amount counts 0.

    Refuses, rather than wraps, an amount whose cents a float64 cannot hold exactly (beyond
    MAX_CENTS = 2^53, or infinite): DataError naming `table` and the column, `columns` being the
    column of a 1-D array or of each column of a 2-D one. Validation quarantines amounts above
    core.schema.MAX_AMOUNT (100x below), so this only stops data that bypassed it.
    """
    scaled = np.rint(np.asarray(amounts, dtype=np.float64) * 100)
    beyond = np.abs(scaled) > MAX_CENTS  # NaN compares False: missing, not too large
    if beyond.any():
        where = np.unravel_index(np.flatnonzero(beyond)[0], beyond.shape)
        column = columns if isinstance(columns, str) else columns[where[-1] if beyond.ndim > 1 else 0]
        values = np.asarray(amounts, dtype=np.float64)[beyond]
        raise DataError(
            table,
            "max_value",
            f"{values.size} amount(s) beyond the exact range of integer cents (|amount| * 100 <= 2^53 cents, "
            f"about {MAX_CENTS / 100:.4g}), e.g. {values[0]!r}; validation quarantines amounts above "
            f"{MAX_AMOUNT:.0e} (core.schema.MAX_AMOUNT)",
            column=column,
        )
    return np.nan_to_num(scaled).astype(np.int64)


def category_codes(values: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
    """Position of each value in `categories` (int64), -1 for a value outside them or missing.

    Done by Arrow on the string column as stored: going through Python objects costs ~15x more.
    """
    found = pc.index_in(pa.array(values.astype("str"), from_pandas=True), value_set=pa.array(list(categories)))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def take(values: np.ndarray, index: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """values[index] with `fill` where index is -1 (no such row)."""
    values = np.asarray(values)
    if len(values) == 0:
        dtype = np.result_type(values.dtype, np.asarray(fill).dtype)
        return np.full((len(index),) + values.shape[1:], fill, dtype=dtype)
    got = values[np.maximum(index, 0)]
    if (index < 0).any():
        got = np.where((index >= 0).reshape(-1, *[1] * (values.ndim - 1)), got, fill)
    return got


@dataclass(frozen=True)
class Table:
    """One event table of a partition: rows sorted by (account code, time) plus their index."""

    frame: pd.DataFrame
    index: EventIndex

    def col(self, name: str) -> np.ndarray:
        return self.frame[name].to_numpy()


@dataclass(frozen=True)
class Book:
    """A partition of accounts with their event tables, ready for point-in-time queries."""

    accounts: pd.DataFrame  # sorted by account_id; row position = account code
    statements: Table
    payments: Table
    contacts: Table
    restrictions: Table  # expanded to one row per account covered, timed by start_at
    decisions: Table  # the contact policy's decision log, timed by decided_at

    @property
    def account_ids(self) -> np.ndarray:
        return self.accounts["account_id"].to_numpy(dtype=np.int64)


@dataclass(frozen=True)
class Spine:
    """The rows to compute: one per (account, as-of date), sorted by account then date."""

    codes: np.ndarray
    as_of: np.ndarray  # datetime64[ns], naive midnight
    seconds: np.ndarray  # as_of in seconds since BASE

    def __len__(self) -> int:
        return len(self.codes)

    def days_since(self, seconds: np.ndarray) -> np.ndarray:
        """Days from event times to the as-of date (float32), NaN where the event is NEVER."""
        out = (self.seconds - seconds) / DAY
        return np.where(seconds >= NEVER, np.nan, out).astype(np.float32)


def _require(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """`frame` with every column of the table: a required one missing is an error, an optional one
    (core.schema.Column.optional) is added empty."""
    spec = TABLES[name]
    missing = [c for c in spec.required_columns if c not in frame.columns]
    if missing:
        raise DataError(name, "required_columns", f"missing column(s) {missing}", column=missing[0])
    absent = [c for c in spec.columns if c.name not in frame.columns]
    if absent:
        frame = frame.assign(**{c.name: pd.Series(None, index=frame.index, dtype=c.dtype) for c in absent})
    return frame


def _events(
    frame: pd.DataFrame, name: str, time_column: str, account_ids: np.ndarray, time_missing: np.int64 = NEVER
) -> Table:
    frame = _require(frame, name)
    ids = frame["account_id"].to_numpy(dtype=np.int64)
    codes = np.searchsorted(account_ids, ids)
    known = codes < len(account_ids)
    known[known] = account_ids[codes[known]] == ids[known]
    secs = to_seconds(frame[time_column], missing=time_missing)
    order = np.lexsort((secs[known], codes[known]))
    rows = np.flatnonzero(known)[order]
    sorted_frame = frame.iloc[rows].reset_index(drop=True)
    return Table(sorted_frame, EventIndex(codes[rows], secs[rows]))


def expand_restrictions(restrictions: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """One row per (restriction, account covered): borrower-wide rows fan out to the borrower's accounts."""
    restrictions = _require(restrictions, "restrictions")
    wide = restrictions["account_id"].isna()
    if not wide.any():
        return restrictions
    fanned = (
        restrictions[wide]
        .drop(columns="account_id")
        .merge(accounts[["borrower_id", "account_id"]], on="borrower_id", how="inner")
    )
    fanned = fanned[restrictions.columns]
    fanned["account_id"] = fanned["account_id"].astype(restrictions["account_id"].dtype)
    return pd.concat([restrictions[~wide], fanned], ignore_index=True)


def empty_table(name: str) -> pd.DataFrame:
    return TABLES[name].empty_frame()


def make_book(tables: Mapping[str, pd.DataFrame]) -> Book:
    """Index a partition's tables; payments, contacts, restrictions and decisions may be absent (e.g. card data
    sets)."""
    accounts = _require(tables["accounts"], "accounts")
    accounts = accounts.sort_values("account_id", kind="stable").reset_index(drop=True)
    ids = accounts["account_id"].to_numpy(dtype=np.int64)
    if len(ids) > 1 and (np.diff(ids) == 0).any():
        raise DataError("accounts", "unique_key", "account_id is not unique", column="account_id")
    get = lambda name: tables.get(name) if tables.get(name) is not None else empty_table(name)  # noqa: E731
    restrictions = expand_restrictions(get("restrictions"), accounts)
    return Book(
        accounts=accounts,
        statements=_events(get("statements"), "statements", "cycle_date", ids),
        payments=_events(get("payments"), "payments", "paid_at", ids),
        contacts=_events(get("contacts"), "contacts", "contacted_at", ids),
        restrictions=_events(restrictions, "restrictions", "start_at", ids),
        decisions=_events(get("decisions"), "decisions", "decided_at", ids),
    )


def left_book(statements: pd.DataFrame) -> np.ndarray:
    """Per statement row, whether the account left the book there (status paid_off, closed or written_off)."""
    return statements["status"].isin(LEFT_BOOK_STATUSES).to_numpy(dtype=bool)


def make_spine(book: Book, as_of_dates: AsOfDates, buckets: Buckets, absorbing_last_bucket: bool = True) -> Spine:
    """Training rows (every cycle_date + 1 day) when `as_of_dates` is None, else scoring rows.

    Both are the accounts at risk: an account is off the book after a statement whose status says it
    left (paid_off, closed, written_off) until a later statement of another status reopens it, so
    no row follows such a statement. Scoring rows are the accounts open at each date: opened before
    it (or of unknown open date) and not off the book at their last statement before it, nor in the
    last bucket when that bucket is absorbing (charge-off; `roll_rate.absorbing_last_bucket`: when it
    is an ordinary bucket such as "3+ months late", its accounts can still cure and are scored).
    """
    st = book.statements.index
    if isinstance(as_of_dates, pd.DataFrame):
        return _pairs_spine(book, as_of_dates)
    gone = left_book(book.statements.frame)
    if as_of_dates is None:
        codes = st.codes
        seconds = st.seconds + DAY
        # the same account can carry two statements on one day only in bad data; keep rows unique
        keep = np.ones(len(codes), dtype=bool)
        keep[1:] = (codes[1:] != codes[:-1]) | (seconds[1:] != seconds[:-1])
        codes, seconds = codes[keep], seconds[keep]
        if gone.any():
            on_book = ~gone[st.last_before(codes, seconds)]
            codes, seconds = codes[on_book], seconds[on_book]
    else:
        dates = normalise_dates(as_of_dates)
        date_secs = to_seconds(dates)
        n_acc = len(book.accounts)
        codes = np.repeat(np.arange(n_acc, dtype=np.int64), len(dates))
        seconds = np.tile(date_secs, n_acc)
        opened_at = to_seconds(book.accounts["open_date"], missing=np.int64(-1))  # unknown: open all along
        opened = np.repeat(opened_at, len(dates)) < seconds
        last = st.last_before(codes, seconds)
        dpd = book.statements.col("days_past_due")
        bucket = take(buckets.code(dpd), last, fill=0) if len(dpd) else np.zeros(len(codes), np.int8)
        off = take(gone, last, fill=False).astype(bool) if len(dpd) else np.zeros(len(codes), bool)
        keep = opened & ~off
        if absorbing_last_bucket:
            keep &= bucket != buckets.charge_off
        codes, seconds = codes[keep], seconds[keep]
    return Spine(codes=codes, as_of=from_seconds(seconds), seconds=seconds)


def _pairs_spine(book: Book, pairs: pd.DataFrame) -> Spine:
    """Exactly the requested (account_id, as_of_date) rows, for accounts in this partition."""
    ids = book.account_ids
    wanted = pairs["account_id"].to_numpy(dtype=np.int64)
    codes = np.searchsorted(ids, wanted)
    known = codes < len(ids)
    known[known] = ids[codes[known]] == wanted[known]
    dates = pd.to_datetime(pairs["as_of_date"])
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = to_seconds(dates.dt.normalize())
    codes, seconds = codes[known], seconds[known]
    keys = np.unique(codes.astype(np.int64) * SPAN + seconds)
    codes, seconds = keys // SPAN, keys % SPAN
    return Spine(codes=codes, as_of=from_seconds(seconds), seconds=seconds)


class Spreader:
    """Counts of events before each spine row's as-of date, per label, for one spine.

    Each event is added at the first spine row of its account dated after it, then counts are
    accumulated down each account's rows: memory is rows x labels, never events x labels.
    Positions (`targets`) are found once per set of event times and reused for every label set.
    """

    def __init__(self, spine: Spine) -> None:
        self.codes = spine.codes
        self.keys = spine.codes.astype(np.int64) * SPAN + spine.seconds
        new = np.ones(len(spine), dtype=bool)
        new[1:] = spine.codes[1:] != spine.codes[:-1]
        self.starts = np.flatnonzero(new)
        self.group = np.cumsum(new) - 1  # ordinal of each row's account among the spine's accounts

    def targets(self, codes: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """Spine row each event is first counted at (-1: its account has no later row)."""
        n = len(self.keys)
        target = np.searchsorted(self.keys, codes.astype(np.int64) * SPAN + seconds, side="right")
        ok = target < n
        ok[ok] = self.codes[target[ok]] == codes[ok]
        return np.where(ok, target, -1)

    def count(
        self, target: np.ndarray, labels: np.ndarray, n_labels: int, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """(spine rows x n_labels) int32: events (of `rows`, default all) with each label before the as-of date."""
        n = len(self.keys)
        keep = target >= 0 if rows is None else (target >= 0) & rows
        target, labels = target[keep], labels[keep]
        out = np.bincount(target * n_labels + labels, minlength=n * n_labels).reshape(n, n_labels).astype(np.int32)
        if n == 0:
            return out
        # close each account before the next one starts, so one running sum restarts per account
        totals = np.bincount(self.group[target] * n_labels + labels, minlength=len(self.starts) * n_labels)
        out[self.starts[1:]] -= totals.reshape(-1, n_labels)[:-1].astype(np.int32)
        np.cumsum(out, axis=0, out=out)
        return out


@dataclass(frozen=True)
class Context:
    """What every feature family receives: the indexed partition, the rows to compute and the knobs."""

    book: Book
    spine: Spine
    params: FeaturesParams
    buckets: Buckets
    #: per spine row, the index of the last statement before the as-of date (-1: none yet)
    last_statement: np.ndarray
    #: what the source lacks (tables, columns empty throughout): features from them are empty
    inputs: Inputs = Inputs()

    @classmethod
    def create(
        cls, book: Book, spine: Spine, params: FeaturesParams, buckets: Buckets, inputs: Inputs | None = None
    ) -> Context:
        last = book.statements.index.last_before(spine.codes, spine.seconds)
        return cls(book, spine, params, buckets, last, inputs or Inputs())

    @cached_property
    def cycles(self) -> Cycles:
        return Cycles(self.book.statements.index.codes)

    @cached_property
    def spreader(self) -> Spreader:
        return Spreader(self.spine)

    @cached_property
    def bucket_codes(self) -> np.ndarray:
        """Bucket code of every statement row."""
        return self.buckets.code(self.book.statements.col("days_past_due"))

    def at_statement(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """A statement-level array read at each spine row's last statement before D."""
        return take(values, self.last_statement, fill)


def utc_offsets(timezones: pd.Series, codes: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Local-time minus UTC in seconds, per event, from each account's IANA time zone.

    Loops over distinct time zones (a handful), never over accounts.
    """
    out = np.zeros(len(codes), dtype=np.int64)
    if len(codes) == 0:
        return out
    tz_of_account, names = pd.factorize(timezones.astype(object), use_na_sentinel=True)
    tz_of_row = tz_of_account[codes]
    for i, name in enumerate(names):
        rows = tz_of_row == i
        if not rows.any() or name in ("UTC", "Etc/UTC"):
            continue
        utc = pd.DatetimeIndex(from_seconds(np.minimum(seconds[rows], NEVER - 400 * DAY)))
        try:
            local = utc.tz_localize("UTC").tz_convert(str(name)).tz_localize(None)
        except Exception as exc:  # zoneinfo raises several types for an unknown zone name
            raise DataError("accounts", "timezone", f"unknown time zone {name!r}: {exc}", column="timezone") from exc
        out[rows] = (local.to_numpy(dtype="datetime64[ns]") - utc.to_numpy(dtype="datetime64[ns]")).astype(
            np.int64
        ) // 1_000_000_000
    return out
