"""Compact event logs kept during a run, turned into the five canonical tables at the end.

During the run every event is a few small integers and floats (account index, day, minute,
codes); only at the end are ids assigned, local clock times converted to UTC instants per
time zone, and the frames built, one table at a time, so memory stays near the size of the
output itself. Ids are assigned after sorting by time, so they do not depend on blocks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import numpy as np
import pandas as pd

from core.schema import CHANNELS, OUTCOMES, PAYMENT_METHODS, PRODUCTS, RESTRICTION_KINDS
from simulator.calendar import Calendar
from simulator.population import REGIONS, Population

_NS_DAY = 86_400 * 10**9
_NS_MIN = 60 * 10**9


class Log:
    """Columns appended in chunks and concatenated once."""

    def __init__(self) -> None:
        self.chunks: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.chunks[name].append(np.asarray(values))

    def pop(self, name: str) -> np.ndarray:
        parts = self.chunks.pop(name, [])
        return np.concatenate(parts) if parts else np.array([])

    def __len__(self) -> int:
        first = next(iter(self.chunks.values()), [])
        return int(sum(len(c) for c in first))


class RestrictionLog:
    """Restrictions need their end written later (a plan is broken, a dispute resolved): a growable table."""

    FIELDS = {
        "borrower": np.int64,
        "account": np.int64,
        "kind": np.int8,
        "channel": np.int8,
        "start_day": np.int32,
        "start_min": np.int16,
        "start_local": np.bool_,
        "tz": np.int8,
        "end_day": np.int32,
        "end_min": np.int16,
    }

    def __init__(self) -> None:
        self.n = 0
        self.cols = {k: np.zeros(1024, dtype=t) for k, t in self.FIELDS.items()}

    def add(self, **values: np.ndarray) -> np.ndarray:
        k = len(np.atleast_1d(values["borrower"]))
        if self.n + k > len(self.cols["borrower"]):
            size = max(2 * len(self.cols["borrower"]), self.n + k)
            for name, arr in self.cols.items():
                grown = np.zeros(size, dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                self.cols[name] = grown
        for name in self.FIELDS:
            default = -1 if name in ("end_day", "end_min", "account", "channel") else 0
            self.cols[name][self.n : self.n + k] = values.get(name, default)
        rows = np.arange(self.n, self.n + k, dtype=np.int32)
        self.n += k
        return rows

    def end(self, rows: np.ndarray, day: int, minute: np.ndarray) -> None:
        minute = np.broadcast_to(minute, rows.shape)
        keep = rows >= 0
        self.cols["end_day"][rows[keep]] = day
        self.cols["end_min"][rows[keep]] = minute[keep]

    def column(self, name: str) -> np.ndarray:
        return self.cols[name][: self.n]


class Recorder:
    """Everything written to the five tables; `enabled=False` makes a replay skip the bookkeeping."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.consumed = False
        self.accounts: list[pd.DataFrame] = []
        self.statements = Log()
        self.payments = Log()
        self.contacts = Log()
        self.restrictions = RestrictionLog()


def accounts_frame(pop: Population, cal: Calendar, zones: tuple[str, ...]) -> pd.DataFrame:
    b = pop.bor
    return pd.DataFrame(
        {
            "account_id": pop.account_gid + 1,
            "borrower_id": pop.borrower_gid[b] + 1,
            "product": np.asarray(PRODUCTS, dtype=object)[pop.product],
            "open_date": (cal.origin + pd.to_timedelta(pop.open_day, unit="D")).as_unit("ns"),
            "principal": pop.principal,
            "credit_limit": pop.credit_limit,
            "term_months": pd.Series(pop.term, dtype="Int64").where(pop.term > 0),
            "annual_rate": pop.annual_rate,
            "instalment_amount": pop.instalment,
            "origination_score": pop.origination_score,
            "timezone": np.asarray(zones, dtype=object)[pop.tz[b]],
            "region": np.asarray(REGIONS, dtype=object)[pop.region[b]],
            "consent_sms": pop.consent[b, 0],
            "consent_email": pop.consent[b, 1],
            "consent_call": pop.consent[b, 2],
        }
    )


def _utc_ns(
    cal: Calendar, day: np.ndarray, minute: np.ndarray, tz: np.ndarray, local: np.ndarray, zones: tuple[str, ...]
) -> np.ndarray:
    """UTC instants (int64 ns) of clock times given as UTC, or as local times in each row's zone."""
    ns = cal.origin.as_unit("ns").value + day.astype(np.int64) * _NS_DAY + minute.astype(np.int64) * _NS_MIN
    out = ns.copy()
    for code, zone in enumerate(zones):
        rows = np.flatnonzero(local & (tz == code))
        if len(rows):
            naive = pd.DatetimeIndex(ns[rows].astype("datetime64[ns]"))
            out[rows] = naive.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward").asi8
    return out


def _utc(values: np.ndarray) -> pd.Series:
    return pd.Series(values.astype("datetime64[ns]")).dt.tz_localize("UTC")


def _codes(values: np.ndarray, names: tuple[str, ...]) -> pd.Series:
    """Category codes as strings, without materialising one Python object per row."""
    return pd.Series(pd.Categorical.from_codes(values.astype(np.int16), categories=list(names))).astype("str")


def table_frames(rec: Recorder, cal: Calendar, zones: tuple[str, ...]) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield (table name, frame) one at a time, releasing each log as it goes (so only once per run)."""
    if not rec.enabled or rec.consumed:
        raise RuntimeError("no event logs to turn into tables: run with record=True, and build the tables once")
    rec.consumed = True
    yield "accounts", pd.concat(rec.accounts, ignore_index=True)
    rec.accounts = []

    s = rec.statements
    account, cycle = s.pop("account"), s.pop("cycle")
    order = np.lexsort((cycle, account))
    yield (
        "statements",
        pd.DataFrame(
            {
                "account_id": account[order].astype(np.int64) + 1,
                "cycle_date": (cal.origin + pd.to_timedelta(cal.cycle_day[cycle[order]], unit="D")).as_unit("ns"),
                "balance": s.pop("balance")[order],
                "amount_due": s.pop("amount_due")[order],
                "past_due_amount": s.pop("past_due")[order],
                "amount_paid": s.pop("paid")[order],
                "days_past_due": s.pop("dpd")[order].astype(np.int64),
                # the simulated book reports no account state (core.schema: empty = not reported);
                # a closed account simply has no more statements, a charged-off one keeps counting
                "status": pd.Series(None, index=range(len(order)), dtype="str"),
            }
        ),
    )
    del account, cycle, order

    p = rec.payments
    account, day, minute = p.pop("account"), p.pop("day"), p.pop("minute")
    order = np.lexsort((account, minute, day))
    when = _utc_ns(cal, day[order], minute[order], np.zeros(len(order), np.int8), np.zeros(len(order), bool), zones)
    yield (
        "payments",
        pd.DataFrame(
            {
                "payment_id": np.arange(1, len(order) + 1, dtype=np.int64),
                "account_id": account[order].astype(np.int64) + 1,
                "paid_at": _utc(when),
                "amount": p.pop("amount")[order],
                "method": _codes(p.pop("method")[order], PAYMENT_METHODS),
            }
        ),
    )
    del account, day, minute, order, when

    c = rec.contacts
    account, day, minute, tz = c.pop("account"), c.pop("day"), c.pop("minute"), c.pop("tz")
    when = _utc_ns(cal, day, minute, tz, np.ones(len(day), bool), zones)
    order = np.lexsort((account, when))
    promise_day = c.pop("promise_day")[order]
    promise = pd.Series((cal.origin + pd.to_timedelta(np.maximum(promise_day, 0), unit="D")).as_unit("ns"))
    yield (
        "contacts",
        pd.DataFrame(
            {
                "contact_id": np.arange(1, len(order) + 1, dtype=np.int64),
                "account_id": account[order].astype(np.int64) + 1,
                "contacted_at": _utc(when[order]),
                "channel": _codes(c.pop("channel")[order], CHANNELS),
                "outcome": _codes(c.pop("outcome")[order], OUTCOMES),
                "promise_amount": c.pop("promise_amount")[order],
                "promise_date": promise.where(promise_day >= 0),
                "propensity": c.pop("propensity")[order].astype(np.float64),
            }
        ),
    )
    del account, day, minute, tz, when, order

    r = rec.restrictions
    start = _utc_ns(cal, r.column("start_day"), r.column("start_min"), r.column("tz"), r.column("start_local"), zones)
    end_day = r.column("end_day")
    end = _utc_ns(
        cal, np.maximum(end_day, 0), np.maximum(r.column("end_min"), 0), r.column("tz"), np.zeros(r.n, bool), zones
    )
    order = np.lexsort((r.column("kind"), r.column("account"), r.column("borrower"), start))
    account = r.column("account")[order]
    channel = r.column("channel")[order]
    ended = end_day[order] >= 0
    yield (
        "restrictions",
        pd.DataFrame(
            {
                "restriction_id": np.arange(1, len(order) + 1, dtype=np.int64),
                "borrower_id": r.column("borrower")[order] + 1,
                "account_id": pd.Series(account + 1, dtype="Int64").where(account >= 0),
                "kind": _codes(r.column("kind")[order], RESTRICTION_KINDS),
                "channel": _codes(np.maximum(channel, 0), CHANNELS).where(channel >= 0),
                "start_at": _utc(start[order]),
                "end_at": _utc(end[order]).where(ended),
            }
        ),
    )
