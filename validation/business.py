"""Business rules that a column-by-column suite cannot express, vectorised in pandas.

They run on the *clean* frames: values already condemned by a cell rule (unreadable, null,
negative...) are missing there, so one bad value is reported once, by the rule it broke, and
does not also break the rules that reason from it. Rules that follow the schema's declarations
(record dates, references) apply to any table that declares them; the DPD and amount-paid
rules are about the statements and payments tables by nature.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import available_timezones

import numpy as np
import pandas as pd

from core.schema import CHANNELS, NO_CONTACT, OWES_NOTHING_STATUSES, TABLES, Table
from validation.rules import Finding, finding

ACCOUNTS = "accounts"
STATEMENTS = "statements"
PAYMENTS = "payments"


def record_date_columns(spec: Table) -> list[str]:
    """The columns that date the record itself: its event_time, or every date column of an undated table.

    Not promise_date or end_at: those lie in the future legitimately (a promise, a planned end).
    """
    if spec.event_time:
        return [spec.event_time]
    return [c.name for c in spec.columns if c.type in ("date", "timestamp")]


def calendar_date(values: pd.Series) -> pd.Series:
    """The calendar date as a naive midnight (the UTC date for instants), as used by every date rule."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.dt.normalize().astype("datetime64[ns]")


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_timezone(spec: Table, frame: pd.DataFrame) -> list[Finding]:
    """Every `timezone` column holds IANA names (contact hours are computed in them)."""
    out = []
    for col in spec.columns:
        if col.name == "timezone":
            values = frame[col.name]
            out.append(finding(spec.name, "valid_timezone", col.name, values.notna() & ~values.isin(_iana_zones())))
    return [f for f in out if f]


def not_after_as_of(spec: Table, frame: pd.DataFrame, as_of: pd.Timestamp) -> list[Finding]:
    out = [
        finding(spec.name, "not_after_as_of", name, calendar_date(frame[name]) > as_of)
        for name in record_date_columns(spec)
    ]
    return [f for f in out if f]


def end_after_start(spec: Table, frame: pd.DataFrame) -> list[Finding]:
    """A period (start_at, end_at) must not end before it starts; an open end is fine."""
    if not {"start_at", "end_at"} <= set(spec.column_names):
        return []
    found = finding(spec.name, "end_after_start", "end_at", frame["end_at"] < frame["start_at"])
    return [found] if found else []


def references(
    spec: Table, frame: pd.DataFrame, clean: Mapping[str, pd.DataFrame], kept: Mapping[str, np.ndarray]
) -> list[Finding]:
    """Every reference resolves: to a row of the target table (`reference`) that was kept
    (`orphan_of_quarantined_account`). `kept[table]` is the boolean mask of the target's good rows.
    """
    out = []
    for ref in spec.references:
        values = frame[ref.column]
        target = clean[ref.table][ref.target_column]
        known = values.isin(target.dropna().unique())
        good = values.isin(target[kept[ref.table]].dropna().unique())
        present = values.notna()
        out.append(finding(spec.name, "reference", ref.column, present & ~known))
        out.append(finding(spec.name, "orphan_of_quarantined_account", ref.column, present & known & ~good))
    return [f for f in out if f]


def account_of_borrower(spec: Table, frame: pd.DataFrame, accounts: pd.DataFrame) -> list[Finding]:
    """A record naming both an account and a borrower names the account's own borrower."""
    if not {"account_id", "borrower_id"} <= set(spec.column_names) or spec.name == ACCOUNTS:
        return []
    owner = frame["account_id"].map(_by_account(accounts, "borrower_id"))
    found = finding(
        spec.name,
        "account_of_borrower",
        "account_id",
        owner.notna() & frame["borrower_id"].notna() & (owner != frame["borrower_id"]),
    )
    return [found] if found else []


def not_before_open_date(spec: Table, frame: pd.DataFrame, accounts: pd.DataFrame) -> list[Finding]:
    """No record of an account is dated before the account was opened."""
    if spec.name == ACCOUNTS or "account_id" not in spec.column_names or not spec.event_time:
        return []
    opened = frame["account_id"].map(_by_account(accounts, "open_date"))
    found = finding(spec.name, "not_before_open_date", spec.event_time, calendar_date(frame[spec.event_time]) < opened)
    return [found] if found else []


def dpd_band(spec: Table, frame: pd.DataFrame, bands: tuple[int, ...] | None) -> list[Finding]:
    """With declared bands (a status-coded source), days past due are the lower end of one of them."""
    if bands is None or spec.name != STATEMENTS:
        return []
    dpd = frame["days_past_due"]
    found = finding(STATEMENTS, "dpd_band", "days_past_due", dpd.notna() & ~dpd.isin(list(bands)))
    return [found] if found else []


def band_top(dpd: np.ndarray, bands: tuple[int, ...] | None) -> np.ndarray:
    """The largest days past due each value may stand for: itself when exact (no bands), else the top of
    the band it opens (the next edge minus one day; infinite for the last, open-ended band)."""
    dpd = np.asarray(dpd, dtype=np.float64)
    if bands is None:
        return dpd.copy()
    edges = np.asarray(bands, dtype=np.float64)
    tops = np.append(edges[1:] - 1, np.inf)
    at = np.clip(np.searchsorted(edges, np.nan_to_num(dpd), side="right") - 1, 0, len(edges) - 1)
    return np.where(np.isnan(dpd), np.nan, tops[at])


def status_owes_nothing(statements: pd.DataFrame) -> list[Finding]:
    """An inactive, paid-off or closed statement owes nothing: 0 days past due and, where the amounts are
    given, no balance, amount due or past-due amount (half a cent or more is something)."""
    if "status" not in statements.columns:
        return []
    quiet = statements["status"].isin(OWES_NOTHING_STATUSES).to_numpy(dtype=bool)
    owes = (statements["days_past_due"].to_numpy(dtype="float64", na_value=np.nan) > 0).copy()
    for column in ("balance", "amount_due", "past_due_amount"):
        if column in statements.columns:
            owes |= statements[column].to_numpy(dtype="float64", na_value=np.nan) >= 0.005
    found = finding(STATEMENTS, "status_owes_nothing", "status", quiet & owes)
    return [found] if found else []


def dpd_rules(
    statements: pd.DataFrame,
    accounts: pd.DataFrame,
    restrictions: pd.DataFrame | None = None,
    bands: tuple[int, ...] | None = None,
    timing_days: int = 0,
) -> list[Finding]:
    """Days past due change as the days and the payments allow, judged along each account's history.

    - `dpd_growth`: DPD grows by at most the days elapsed since the previous cycle (since
      open_date at an account's first cycle): the oldest unpaid due date cannot move earlier.
    - `dpd_cure`: DPD falls only when something settled or re-aged the oldest due in between: a
      payment (`amount_paid` > 0, or unknown), a pay-off (`status` paid_off) or a `hardship_plan`
      restriction of the account (or borrower-wide) starting then, by its local date in the
      account's time zone (a plan agreed on the cycle date's evening in Chicago is dated the next
      day in UTC). A charged-off account keeps counting, and a closed one was closed by a
      payment, so the simulator produces no other cure.

    Status-coded sources declare `bands` (validate.dpd_bands): DPD is then a band's lower end and
    may stand for anything up to the band's top, so DPD grows too much only when even the top of
    the earlier band could not have reached the later band's lower end, and falls only when the
    later band lies wholly below the earlier one. `timing_days` (validate.dpd_timing_days) is how
    long before its cycle date a count may have been taken (a monthly status measured on an unknown
    day of its month): growth may be that much larger, and a payment or plan that many days before
    the earlier statement's cycle date explains a fall. A `written_off` statement is the lender's
    decision, which may come at any count, so its growth is not judged (what follows it is).

    Each row is judged against the previous row of its account that passed both rules (or
    open_date when there is none), so one impossible row is quarantined alone: in 178 -> 0 (no
    payment) -> 207, the 0 fails `dpd_cure` and 207 is a legal step from 178. A payment or plan
    in a skipped row's cycle still counts for the next row. Rows without DPD (condemned by a cell
    rule) are not judged and are no reference, but their payments count. Vectorised: every row
    is first judged against its predecessor; only accounts with a failure are walked again, one
    position at a time over all of them, and the tail of a few long histories in plain Python.
    """
    cols = ["account_id", "cycle_date", "days_past_due"]
    s = statements[cols + [c for c in ("amount_paid", "status") if c in statements.columns]]
    s = s.dropna(subset=["account_id", "cycle_date"]).sort_values(["account_id", "cycle_date"], kind="stable")
    n = len(s)
    if n == 0:
        return []
    tol = int(timing_days)
    account = s["account_id"].to_numpy(dtype="int64")
    cycle = s["cycle_date"].to_numpy(dtype="datetime64[D]").astype("int64")
    dpd = s["days_past_due"].to_numpy(dtype="float64", na_value=np.nan)
    top = band_top(dpd, bands)
    known = ~np.isnan(dpd)
    opened = s["account_id"].map(_by_account(accounts, "open_date")).astype("datetime64[ns]")
    since_open = (cycle - opened.to_numpy(dtype="datetime64[D]").astype("int64")).astype("float64")
    since_open[opened.isna().to_numpy()] = np.inf
    if "amount_paid" in s.columns:
        paid = s["amount_paid"].to_numpy(dtype="float64", na_value=np.nan)
        settles = ~(paid <= 0)  # a payment, or an unknown amount: the benefit of the doubt
    else:
        settles = np.ones(n, dtype=bool)
    if "status" in s.columns:
        status = s["status"]
        settles |= (status == "paid_off").fillna(False).to_numpy(dtype=bool)
        decided = (status == "written_off").fillna(False).to_numpy(dtype=bool)
    else:
        decided = np.zeros(n, dtype=bool)
    settled = np.zeros(n + 1, dtype=np.int64)  # settled[b] - settled[a]: rows a..b-1 with a cause
    np.cumsum(settles, out=settled[1:])
    first = np.ones(n, dtype=bool)
    first[1:] = account[1:] != account[:-1]
    code = np.cumsum(first) - 1
    start = np.flatnonzero(first)
    # causes of a fall after reference row r count from row since[r]: the first row of r's account whose
    # cycle window reaches past cycle_date[r] - tol (r + 1 when tol = 0)
    base, width = int(cycle.min()) - tol - 1, int(cycle.max() - cycle.min()) + tol + 3
    keys = code * width + (cycle - base)
    since = np.searchsorted(keys, keys - tol, side="right")
    plans = _plan_days(restrictions, accounts, account[start], cycle, tol)

    def judge(i: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(grew too much, fell without cause) of rows i against reference rows ref (-1: none)."""
        has = ref >= 0
        r = np.maximum(ref, 0)
        limit = np.where(has, top[r] + (cycle[i] - cycle[r]), since_open[i]) + tol
        fell = has & (top[i] < dpd[r])
        j = np.flatnonzero(fell)  # few: look for a cause only where DPD fell
        i_, r_ = i[j], r[j]
        cause = settled[i_ + 1] - settled[since[r_]]
        fell[j] = (cause == 0) & (plans.count(code[i_], cycle[r_] - tol, cycle[i_]) == 0)
        return (dpd[i] > limit) & ~decided[i], fell

    # every row against the previous row of its account with a DPD
    last_known = np.maximum.accumulate(np.where(known, np.arange(n), -1))
    previous = np.full(n, -1)
    previous[1:] = last_known[:-1]
    previous[previous < start[code]] = -1
    rows = np.flatnonzero(known)
    grew, fell = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    grew[rows], fell[rows] = judge(rows, previous[rows])
    # accounts with a failure: again, each row against the last row that passed
    redo = np.zeros(len(start), dtype=bool)
    redo[code[grew | fell]] = True
    rows = rows[redo[code[rows]]]
    if rows.size:
        grew[rows] = fell[rows] = False
        position = rows - start[code[rows]]
        rows = rows[np.argsort(position, kind="stable")]
        bounds = np.searchsorted(np.sort(position), np.arange(position.max() + 2))
        kept = np.full(len(start), -1)
        for k in range(position.max() + 1):
            at = rows[bounds[k] : bounds[k + 1]]
            if len(at) < _FEW_ACCOUNTS:  # a long tail of few accounts: numpy's per-call cost dominates
                history = _History(code, dpd, top, cycle, since_open, settled, since, decided, plans, tol)
                _walk_in_python(rows[bounds[k] :], kept, history, grew, fell)
                break
            g, f = judge(at, kept[code[at]])
            grew[at], fell[at] = g, f
            ok = ~(g | f)
            kept[code[at[ok]]] = at[ok]
    out = []
    for rule, mask in (("dpd_growth", grew), ("dpd_cure", fell)):
        bad = pd.Series(mask, index=s.index).reindex(statements.index, fill_value=False)
        out.append(finding(STATEMENTS, rule, "days_past_due", bad))
    return [f for f in out if f]


#: Below this many accounts still being walked, the walk goes on in plain Python (a long history).
_FEW_ACCOUNTS = 32


class _History(NamedTuple):
    """The arrays `dpd_rules` judges with (sorted statements of the accounts)."""

    code: np.ndarray
    dpd: np.ndarray
    top: np.ndarray
    cycle: np.ndarray
    since_open: np.ndarray
    settled: np.ndarray
    since: np.ndarray
    decided: np.ndarray
    plans: _PlanDays
    tol: int


def _walk_in_python(rows: np.ndarray, kept: np.ndarray, h: _History, grew: np.ndarray, fell: np.ndarray) -> None:
    """The walk of `dpd_rules`, row by row (`rows` in walking order), with the same judgement."""
    last = kept.tolist()
    tol = h.tol
    for i in rows.tolist():
        c, r = int(h.code[i]), last[int(h.code[i])]
        now = float(h.dpd[i])
        if r < 0:
            g, f = now > h.since_open[i] + tol, False
        else:
            g = now > float(h.top[r]) + float(h.cycle[i] - h.cycle[r]) + tol
            f = (
                float(h.top[i]) < float(h.dpd[r])
                and h.settled[i + 1] == h.settled[h.since[r]]
                and h.plans.count_one(c, int(h.cycle[r]) - tol, int(h.cycle[i])) == 0
            )
        g = g and not h.decided[i]
        grew[i], fell[i] = g, f
        if not (g or f):
            last[c] = i


def dpd_growth(
    statements: pd.DataFrame,
    accounts: pd.DataFrame,
    restrictions: pd.DataFrame | None = None,
    bands: tuple[int, ...] | None = None,
    timing_days: int = 0,
) -> list[Finding]:
    """The `dpd_growth` findings of `dpd_rules` (rows judged against the history that was kept)."""
    return [f for f in dpd_rules(statements, accounts, restrictions, bands, timing_days) if f.rule == "dpd_growth"]


class _PlanDays:
    """Local start dates of hardship plans per account code, counted in windows (lo, hi]."""

    def __init__(self, codes: np.ndarray, days: np.ndarray, base: int, width: int) -> None:
        self.base, self.width = base, width
        self.keys = np.sort(codes * width + (days - base))

    def count_one(self, code: int, lo: int, hi: int) -> int:
        """count() of one window, without numpy's per-call cost."""
        if self.keys.size == 0:
            return 0
        if not hasattr(self, "_list"):
            self._list = self.keys.tolist()
        base = code * self.width - self.base
        return bisect_right(self._list, base + hi) - bisect_right(self._list, base + lo)

    def count(self, code: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Plans of each `code` dated after day `lo` and up to day `hi`."""
        if self.keys.size == 0:
            return np.zeros(len(code), dtype=np.int64)
        left = np.searchsorted(self.keys, code * self.width + (lo - self.base), side="right")
        return np.searchsorted(self.keys, code * self.width + (hi - self.base), side="right") - left


def _plan_days(
    restrictions: pd.DataFrame | None, accounts: pd.DataFrame, ids: np.ndarray, cycle: np.ndarray, before: int = 0
) -> _PlanDays:
    """The hardship plans of accounts `ids` (sorted), dated by their local start date, in days; windows
    may open up to `before` days ahead of the first cycle."""
    base, top = int(cycle.min()) - before, int(cycle.max())
    empty = _PlanDays(np.zeros(0, np.int64), np.zeros(0, np.int64), base, top - base + 2)
    if restrictions is None or restrictions.empty:
        return empty
    r = restrictions[(restrictions["kind"] == "hardship_plan").fillna(False).to_numpy(dtype=bool)]
    r = r.dropna(subset=["start_at"])
    wide = r["account_id"].isna().to_numpy()
    owners = accounts[["borrower_id", "account_id"]].dropna().astype("int64")
    borrower_wide = r.loc[wide, ["borrower_id", "start_at"]].dropna()
    fanned = borrower_wide.astype({"borrower_id": "int64"}).merge(owners, on="borrower_id", how="inner")
    parts = [p for p in (r.loc[~wide, ["account_id", "start_at"]], fanned[["account_id", "start_at"]]) if len(p)]
    if not parts:
        return empty
    plans = pd.concat(parts, ignore_index=True)
    plan_ids = plans["account_id"].to_numpy(dtype="int64", na_value=-1)
    codes = np.searchsorted(ids, plan_ids)
    found = codes < len(ids)
    found[found] = ids[codes[found]] == plan_ids[found]
    if not found.any():
        return empty
    plans, codes = plans[found], codes[found]
    zones = plans["account_id"].map(_by_account(accounts, "timezone")) if "timezone" in accounts else None
    days = _local_days(plans["start_at"], zones)
    # days outside the statements' range can only fall in no window: clip them just outside it
    days = np.clip(days, base - 1, top + 1)
    return _PlanDays(codes.astype(np.int64), days, base - 1, top - base + 4)


def _local_days(instants: pd.Series, zones: pd.Series | None) -> np.ndarray:
    """Calendar day numbers of instants in each row's IANA time zone (UTC where it has none or an unknown one)."""
    utc = pd.to_datetime(instants, utc=True)
    days = calendar_date(utc).to_numpy(dtype="datetime64[D]").astype("int64")
    if zones is None:
        return days
    names = zones.to_numpy(dtype=object)
    for name in pd.unique(names[pd.notna(names)]):
        if name in ("UTC", "Etc/UTC") or name not in _iana_zones():
            continue
        rows = names == name
        local = utc[rows].dt.tz_convert(str(name)).dt.tz_localize(None).dt.normalize()
        days[rows] = local.to_numpy(dtype="datetime64[D]").astype("int64")
    return days


def amount_paid_matches_payments(
    statements: pd.DataFrame,
    payments: pd.DataFrame,
    accounts: pd.DataFrame,
    tolerance: float,
    extract_start: date | None = None,
    posting_day: str = "utc",
) -> list[Finding]:
    """amount_paid equals the payments posted in the cycle: previous cycle_date < posting date <= cycle_date.

    A payment's posting date is its UTC date, or with `posting_day` "local" its date in the account's
    time zone (books that close at local midnight). The first cycle's window opens at the account's
    open_date: a payment dated earlier is reported by not_before_open_date and must not also spoil
    the first statement. Payments dated after an account's last cycle belong to no statement yet and
    are not compared. With `extract_start` (validate.extract_start), a window that opens before it
    is a boundary of the extract: its amount_paid may include payments the extract lacks, so it must
    only cover the payments present (be at least their sum, within the tolerance).
    """
    cycles = statements[["account_id", "cycle_date"]].dropna()
    cycles = cycles.assign(row=cycles.index.to_numpy(), cycle_date=cycles["cycle_date"].astype("datetime64[ns]"))
    cycles = cycles.sort_values("cycle_date", kind="stable")
    paid = payments[["account_id", "paid_at", "amount"]].dropna()
    if posting_day == "local":
        zones = paid["account_id"].map(_by_account(accounts, "timezone")) if "timezone" in accounts else None
        paid_on = pd.Series(_local_days(paid["paid_at"], zones).astype("datetime64[D]"), index=paid.index)
        paid_on = paid_on.astype("datetime64[ns]")
    else:
        paid_on = calendar_date(paid["paid_at"])
    paid = pd.DataFrame({"account_id": paid["account_id"], "paid_on": paid_on, "amount": paid["amount"]})
    paid = paid[~(paid["paid_on"] < paid["account_id"].map(_by_account(accounts, "open_date")))]
    paid = paid.sort_values("paid_on", kind="stable")
    matched = pd.merge_asof(
        paid,
        cycles,
        left_on="paid_on",
        right_on="cycle_date",
        by="account_id",
        direction="forward",
        allow_exact_matches=True,
    )
    matched = matched.dropna(subset=["row"])
    expected = np.bincount(
        matched["row"].to_numpy(dtype=np.int64), weights=matched["amount"].to_numpy(), minlength=len(statements)
    )
    comparable = np.zeros(len(statements), dtype=bool)
    comparable[cycles["row"].to_numpy()] = True
    gap = statements["amount_paid"].to_numpy(dtype="float64", na_value=np.nan) - expected
    boundary = np.zeros(len(statements), dtype=bool)
    if extract_start is not None:
        boundary[cycles["row"].to_numpy()] = _window_opens_before(cycles, accounts, pd.Timestamp(extract_start))
    wrong = np.where(boundary, -gap, np.abs(gap)) > tolerance + 1e-9  # NaN (no amount_paid) compares False
    found = finding(STATEMENTS, "amount_paid_matches_payments", "amount_paid", comparable & wrong)
    return [found] if found else []


def _window_opens_before(cycles: pd.DataFrame, accounts: pd.DataFrame, day: pd.Timestamp) -> np.ndarray:
    """For each row of `cycles` (account_id, cycle_date), whether its cycle window opens before `day`:
    the previous cycle_date of the account, or open_date for its first (an unknown open_date: before)."""
    ordered = cycles.sort_values(["account_id", "cycle_date"], kind="stable")
    previous = ordered.groupby("account_id", sort=False)["cycle_date"].shift(1)
    opened = ordered["account_id"].map(_by_account(accounts, "open_date")).astype("datetime64[ns]")
    opens = previous.where(previous.notna(), opened)
    before = (opens < day) | opens.isna()
    return before.reindex(cycles.index).to_numpy(dtype=bool)


def _by_account(accounts: pd.DataFrame, column: str) -> pd.Series:
    """`column` of accounts indexed by account_id (first row of a duplicated id)."""
    first = accounts.dropna(subset=["account_id"]).drop_duplicates("account_id")
    lookup = first.set_index("account_id")[column]
    if lookup.empty:  # no readable account: Series.map turns an empty mapping into float64 NaN, which
        # dates cannot be compared with; one missing key, whose value is missing, keeps the dtype.
        lookup = pd.Series([None], index=pd.Index([pd.NA], dtype=lookup.index.dtype), dtype=lookup.dtype)
    return lookup


DECISIONS = "decisions"


def decision_consistent(spec: Table, decisions: pd.DataFrame) -> list[Finding]:
    """A decision's columns agree with its action: a contact (any channel) has a local hour; `none` has no hour,
    offers `none`, and is linked to no contact and names no refusal; a refused contact made no contact."""
    if spec.name != DECISIONS:
        return []
    action = decisions["action"]
    none = (action == NO_CONTACT).fillna(False).to_numpy(dtype=bool)
    contact = action.isin(CHANNELS).to_numpy(dtype=bool)  # an unknown action is allowed_values' to report
    hour = decisions["local_hour"].notna().to_numpy(dtype=bool)
    linked = decisions["contact_id"].notna().to_numpy(dtype=bool)
    refused = decisions["refusal"].notna().to_numpy(dtype=bool)
    offer = decisions["offer"]
    offers_something = (offer.notna() & (offer != "none")).to_numpy(dtype=bool)
    out = [
        finding(DECISIONS, "decision_consistent", "local_hour", (contact & ~hour) | (none & hour)),
        finding(DECISIONS, "decision_consistent", "offer", none & offers_something),
        finding(DECISIONS, "decision_consistent", "contact_id", none & linked),
        finding(DECISIONS, "decision_consistent", "refusal", (none & refused) | (linked & refused)),
    ]
    return [f for f in out if f]


def decision_matches_contact(
    spec: Table, decisions: pd.DataFrame, contacts: pd.DataFrame, accounts: pd.DataFrame
) -> list[Finding]:
    """A decision linked to a contact (contact_id) names that contact's account, channel and offer (when the
    contact records one), and the contact was made on the decision's local date in the account's time zone.
    Unknown contact ids are `reference`'s to report."""
    if spec.name != DECISIONS or "contact_id" not in decisions.columns:
        return []
    linked = decisions["contact_id"].notna().to_numpy(dtype=bool)
    if not linked.any() or len(contacts) == 0:
        return []
    d = decisions[linked]
    c = contacts.dropna(subset=["contact_id"]).drop_duplicates("contact_id").set_index("contact_id")
    known = d["contact_id"].isin(c.index).to_numpy(dtype=bool)
    d = d[known]
    rows = np.flatnonzero(linked)[known]
    matched = c.reindex(d["contact_id"].to_numpy())
    zones = d["account_id"].map(_by_account(accounts, "timezone"))
    contact_day = _local_days(matched["contacted_at"].reset_index(drop=True), zones.reset_index(drop=True))
    decision_day = calendar_date(d["local_date"]).to_numpy(dtype="datetime64[D]").astype("int64")

    def differ(mine: pd.Series, theirs: pd.Series) -> np.ndarray:
        a, b = mine.to_numpy(dtype=object), theirs.to_numpy(dtype=object)
        return (pd.notna(a) & pd.notna(b) & (a != b)).astype(bool)

    checks = {
        "account_id": differ(d["account_id"].astype("Int64"), matched["account_id"].astype("Int64")),
        "action": differ(d["action"], matched["channel"]),
        "offer": differ(d["offer"], matched["offer"]) if "offer" in matched.columns else np.zeros(len(d), bool),
        "local_date": (contact_day != decision_day)
        & matched["contacted_at"].notna().to_numpy()
        & d["local_date"].notna().to_numpy(),
    }
    out = []
    for column, bad in checks.items():
        mask = np.zeros(len(decisions), dtype=bool)
        mask[rows[np.asarray(bad, dtype=bool)]] = True
        out.append(finding(DECISIONS, "decision_matches_contact", column, mask))
    return [f for f in out if f]


def reference_order() -> list[str]:
    """Tables ordered so that every table comes after the tables it references."""
    order: list[str] = []
    pending = dict(TABLES)
    while pending:
        ready = [n for n, t in pending.items() if all(r.table in order or r.table == n for r in t.references)]
        if not ready:
            raise ValueError(f"the schema's references form a cycle among {sorted(pending)}")
        for name in ready:
            order.append(name)
            del pending[name]
    return order
