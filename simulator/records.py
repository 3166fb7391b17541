"""Compact event logs kept during a run, turned into the canonical tables at the end.

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

from core.compliance import REASONS
from core.schema import CHANNELS, DECISION_ACTIONS, OFFERS, OUTCOMES, PAYMENT_METHODS, PRODUCTS, RESTRICTION_KINDS
from simulator.calendar import Calendar
from simulator.population import REGIONS, Population

_NS_DAY = 86_400 * 10**9
_NS_MIN = 60 * 10**9
#: Days are below this in every key account * _DAY_SPAN + day.
_DAY_SPAN = 1 << 20


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
    """Everything written to the tables; `enabled=False` makes a replay skip the bookkeeping."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.consumed = False
        self.accounts: list[pd.DataFrame] = []
        self.statements = Log()
        self.payments = Log()
        self.contacts = Log()
        self.restrictions = RestrictionLog()
        #: The logging policy's decisions (policy: a code into `policies`), one row per account shown a day.
        self.decisions = Log()
        self.policies: list[str] = []

    def add_decisions(self, policy: str, **columns: np.ndarray) -> None:
        if policy not in self.policies:
            self.policies.append(policy)
        n = len(columns["account"])
        self.decisions.add(policy=np.full(n, self.policies.index(policy), np.int8), **columns)


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
    accounts = pd.concat(rec.accounts, ignore_index=True)
    rec.accounts = []
    borrower_of = np.zeros(int(accounts["account_id"].to_numpy().max(initial=0)) + 1, dtype=np.int64)
    borrower_of[accounts["account_id"].to_numpy()] = accounts["borrower_id"].to_numpy()
    yield "accounts", accounts
    del accounts

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
                "offer": _codes(_or_zeros(c.pop("offer"), len(order))[order], OFFERS),
            }
        ),
    )
    # (account, day) of each contact, sorted, with its contact_id: the decisions that made them link to it
    contact_key = account[order].astype(np.int64) * _DAY_SPAN + day[order]
    key_order = np.argsort(contact_key, kind="stable")
    contact_key, contact_id = contact_key[key_order], key_order.astype(np.int64) + 1
    del account, day, minute, tz, when, order, key_order

    r = rec.restrictions
    start = _utc_ns(cal, r.column("start_day"), r.column("start_min"), r.column("tz"), r.column("start_local"), zones)
    end_day = r.column("end_day")
    end_min = np.where(end_day >= 0, r.column("end_min"), 0)  # may be negative: the night before, east of UTC
    end = _utc_ns(cal, np.maximum(end_day, 0), end_min, r.column("tz"), np.zeros(r.n, bool), zones)
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
    yield "decisions", _decisions_frame(rec, cal, zones, borrower_of, contact_key, contact_id)


def _or_zeros(values: np.ndarray, n: int) -> np.ndarray:
    """A logged code column, or zeros where the log never had it (code 0: "none")."""
    return values if len(values) == n else np.zeros(n, dtype=np.int8)


def _decisions_frame(
    rec: Recorder,
    cal: Calendar,
    zones: tuple[str, ...],
    borrower_of: np.ndarray,
    contact_key: np.ndarray,
    contact_id: np.ndarray,
) -> pd.DataFrame:
    """The decision log: ids by (decided_at, account); decided_at is the start of the borrower's local day."""
    d = rec.decisions
    account, day, tz = d.pop("account").astype(np.int64), d.pop("day").astype(np.int64), d.pop("tz").astype(np.int8)
    n = len(account)
    when = _utc_ns(cal, day, np.zeros(n, np.int16), tz, np.ones(n, bool), zones)
    order = np.lexsort((account, when))
    account, day, when = account[order], day[order], when[order]
    channel = d.pop("channel").astype(np.int16)[order]
    refusal = d.pop("refusal").astype(np.int16)[order]
    hour = d.pop("hour").astype(np.int64)[order]
    made = (channel >= 0) & (refusal == 0)
    key = account * _DAY_SPAN + day
    at = np.minimum(np.searchsorted(contact_key, key), len(contact_key) - 1)
    linked = made & (contact_key[at] == key) if len(contact_key) else np.zeros(n, dtype=bool)
    if (made & ~linked).any():
        raise RuntimeError(f"{int((made & ~linked).sum())} decision(s) made a contact that the contact log lacks")
    ids = contact_id[at] if len(contact_id) else np.zeros(n, dtype=np.int64)
    none = channel < 0
    return pd.DataFrame(
        {
            "decision_id": np.arange(1, n + 1, dtype=np.int64),
            "account_id": account + 1,
            "borrower_id": borrower_of[account + 1],
            "decided_at": _utc(when),
            "local_date": (cal.origin + pd.to_timedelta(day, unit="D")).as_unit("ns"),
            "action": _codes(channel + 1, DECISION_ACTIONS),
            "local_hour": pd.Series(hour, dtype="Int64").where(~none),
            "offer": _codes(d.pop("offer")[order], OFFERS),
            "propensity": d.pop("propensity")[order].astype(np.float64),
            "policy": _codes(d.pop("policy")[order], tuple(rec.policies) or ("",)),
            "contact_id": pd.Series(ids, dtype="Int64").where(linked),
            "refusal": _codes(refusal, REASONS).where(refusal > 0),
        }
    )
