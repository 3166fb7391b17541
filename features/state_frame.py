"""The public state frame of a run date, from a lender's own tables: what a policy sees that morning.

`state_frame(tables, run_date, params)` returns the columns of the simulator's daily state frame
(`simulator.observe.STATE_COLUMNS`, same names and dtypes where the tables allow) for the accounts a
contact policy acts on that day: open accounts in arrears (days past due > 0), charged-off accounts
still owing, and current accounts whose bill falls due within `uplift.pre_delinquency_days` days and is
unpaid (`pre_delinquent`). Everything is as of the run date's local morning in the borrower's own time
zone (00:00 local): statements closed before the run date, payments, contacts and restrictions before
that instant; nothing of the day itself. The `decisions` table is optional: when present, it only helps
date the accounts' due dates (below).

What the tables do not say, and what is assumed instead (docs/features.md, "State frame of a run date"):

* **Due dates.** The statements carry no due date. Bills fall due a fixed number of days before the
  next cycle end (the account's *due offset*); the offset is read from the account's history: a
  statement in arrears dates its oldest unpaid due (cycle date - days past due), and a direct-debit
  payment is taken on the due date; with a decision log, an account current at its statement is first
  shown `uplift.pre_delinquency_days` before the due date (the lender's own setting, as in
  models/uplift/rows.py). The median of these readings is the offset. An account without any (never
  late, never on direct debit, never shown before a due date) has an unknown due date: it is shown only once the
  statements say it is late (so a first missed bill shows at the next statement, and such an account
  is never `pre_delinquent`). Other payments bound nothing: a bill paid late but before the cycle end
  leaves the next statement current. A due older than the account's first statement is placed by
  stepping back calendar months from that statement.
* **Unpaid dues after the statement.** Each statement's new bill is its amount due less its past-due
  amount; payments settle the oldest dues first, so after the payments since the last statement the
  oldest unpaid bill, hence days past due and the past-due amount, follow. The next cycle end (the due
  date of the newest bill) is one calendar month after the last statement, at the latest day of month
  the account's recent statements used (month-end cycles stay at month end). Where the bills do not add
  up to what is owed (arrears older than the last `BILLS` statements, amounts not reported) or the due
  offset is unknown, days past due are the last statement's plus the days since (as models/uplift/rows.py)
  and the account is taken as still in arrears until its payments since cover the past-due amount.
* **Hardship plan** in force at the morning: the plan re-aged the arrears (and ends once a plan instalment
  is missed), so the account is current; its plan dues are not in the tables, so it is not shown unless
  charged off.
* **Charged off**: the statement's status `written_off`, or days past due at or past the last bucket's
  lower edge (the simulated book reports no status); its days past due keep counting from the statement.
* **Balance**: the last statement's less the payments since (interest and spend are billed at cycle end).
* **Instalment**: the contractual `accounts.instalment_amount` (a hardship plan's reduced instalment is
  not in the tables).
* **Contact history**: contacts on distinct local days in the 7 days before (`contacts_7d`), the local
  day and hour of the last call conversation (a call answered by the borrower: right-party contact,
  promise, refusal, dispute, cease request), opened e-mails and clicked sms in the 90 days before (exact
  counts: the simulator saturates them at 6). A promise is a `promise_to_pay` contact that did not start a
  hardship plan (a plan agreement is logged as a promise followed within the hour by a `hardship_plan`
  restriction); `promises_made` counts the promises in the tables (the simulator also counts those made
  before its first written cycle).
* **Restrictions** in force at the morning: started before it, not ended by then. An event the world
  applies from the start of its day (a bankruptcy learnt that afternoon) is not known that morning.
* **can_<channel>**: the rulebook (`core.compliance.channel_reasons`) on this frame: the profile of the
  account's region, consents, opt-outs and restrictions in force, charge-off, days since the last call
  conversation, and the call attempts of the 6 days before (exact, from the calls in the contacts table);
  the day's own counts are zero (morning). `available` names the channels the lender can execute at all
  (all by default; the simulator cannot take legal action).

A source without an optional table: without `contacts`, the contact columns are empty (nullable) and
`can_call` is False wherever a call quiet period or a weekly call cap applies (the history that would
allow a call is unknown); without `restrictions`, the restriction and opt-out columns are empty and every
`can_<channel>` is False (a cease or bankruptcy in force cannot be ruled out); without `payments`,
balances and dues are the last statement's and `days_since_payment` is empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core import compliance as rulebook
from core.params import Params
from core.schema import CHANNELS, CONSENT_CHANNELS, LEFT_BOOK_STATUSES, PRODUCTS, RESTRICTION_KINDS
from core.state import STATE_COLUMNS
from features.events import first_at_or_after, keys, last_before, minutes, window_sum

NEVER_DAYS = 9999
#: Statements (bills) read back to place the oldest unpaid due after the last statement.
BILLS = 8
#: Call outcomes that were a conversation with the borrower (the rulebook's "telephone conversation").
CONVERSATION = ("right_party_contact", "promise_to_pay", "refused", "dispute_raised", "cease_request")
FLAG_KINDS = tuple(k for k in RESTRICTION_KINDS if k != "channel_opt_out")
_DAY_MIN = 1440
_CENT = 0.005


def _day(value: dt.date | pd.Timestamp) -> int:
    """Days since 1970-01-01."""
    return int((pd.Timestamp(value).normalize() - pd.Timestamp(0)).days)


def _days(ts: pd.Series) -> np.ndarray:
    return ts.to_numpy("datetime64[D]").astype(np.int64)


def _local_midnight(zones: pd.Series, run_date: dt.date) -> np.ndarray:
    """UTC minute of 00:00 local on the run date, per row's IANA zone (UTC where the zone is unknown)."""
    out = np.full(len(zones), _day(run_date) * _DAY_MIN, dtype=np.int64)
    codes, uniques = pd.factorize(zones.astype(object))
    for i, zone in enumerate(uniques):
        try:
            stamp = pd.Timestamp(run_date).tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
        except Exception:  # an unknown zone: the UTC day (the strategy refuses it anyway)
            continue
        out[codes == i] = stamp.value // 60_000_000_000
    return out


def _local_clock(ts: pd.Series, zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local day since 1970, local hour) of UTC instants, each in its row's zone (UTC where unknown)."""
    day = np.zeros(len(ts), dtype=np.int64)
    hour = np.zeros(len(ts), dtype=np.int64)
    utc = pd.DatetimeIndex(ts)
    codes, uniques = pd.factorize(pd.Series(zones, dtype=object))
    for i, zone in enumerate(list(uniques) + [None]):
        rows = np.flatnonzero(codes == (i if zone is not None else -1))
        if len(rows) == 0:
            continue
        try:
            local = utc[rows].tz_convert(zone) if zone is not None else utc[rows]
        except Exception:  # an unknown zone: UTC
            local = utc[rows]
        naive = local.tz_localize(None)
        day[rows] = naive.to_numpy("datetime64[D]").astype(np.int64)
        hour[rows] = naive.hour
    return day, hour


def _present(tables: dict[str, pd.DataFrame], name: str) -> bool:
    """An optional table the source has (a file with rows); a required one always counts as present."""
    frame = tables.get(name)
    return frame is not None and (len(frame) > 0 or name in ("accounts", "statements"))


def state_frame(
    tables: dict[str, pd.DataFrame],
    run_date: dt.date,
    params: Params,
    available: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The state frame (STATE_COLUMNS) of the accounts a policy acts on at `run_date`'s local morning.

    `tables`: the lender's validated tables (accounts and statements required; payments, contacts,
    restrictions and decisions optional; the decision log only dates due dates). `available`: channels the
    lender can execute at all (default: every channel); the others are `can_<channel>` False. See the module
    docstring for what is assumed where the tables know less than the lender's systems would.
    """
    D = _day(run_date)
    acc_all = tables["accounts"]
    s = tables["statements"]
    s = s[_days(s["cycle_date"]) < D].sort_values(["account_id", "cycle_date"], kind="stable")
    if s.empty:
        return _empty()
    s_acc = s["account_id"].to_numpy(np.int64)
    s_day = _days(s["cycle_date"])
    last = np.flatnonzero(np.r_[s_acc[1:] != s_acc[:-1], True])
    acc = s_acc[last]
    a = acc_all.drop_duplicates("account_id").set_index("account_id").reindex(acc)
    zones = a["timezone"].astype(object)
    morning = _local_midnight(zones, run_date)

    def stat(name: str) -> np.ndarray:
        return s[name].to_numpy(np.float64, na_value=np.nan) if name in s else np.full(len(s), np.nan)

    due_all, pdue_all, bal_all = stat("amount_due"), stat("past_due_amount"), stat("balance")
    dpd_all = s["days_past_due"].to_numpy(np.int64)
    status = s["status"].astype(object).to_numpy()[last] if "status" in s else np.full(len(acc), None)
    C = s_day[last]
    dpd_last = dpd_all[last]
    charged = (status == "written_off") | (dpd_last >= params.buckets.min_dpd[-1])
    left = np.isin(status, LEFT_BOOK_STATUSES) & ~charged

    # payments since the statement (from the next UTC day, as the world books them) and before the morning
    has_pay = _present(tables, "payments")
    pay = tables["payments"] if has_pay else None
    if pay is not None:
        p_acc, p_min = pay["account_id"].to_numpy(np.int64), minutes(pay["paid_at"])
        amounts = pay["amount"].to_numpy(np.float64)
        paid_since, _ = window_sum(
            p_acc, p_min, amounts, acc, (C + 1) * _DAY_MIN, np.maximum(morning, (C + 1) * _DAY_MIN)
        )
        last_pay = last_before(p_acc, p_min, acc, morning)
    else:
        paid_since, last_pay = np.zeros(len(acc)), np.full(len(acc), -1)
    balance = np.round(np.maximum(bal_all[last] - paid_since, 0.0), 2)
    owed = np.round(due_all[last] - paid_since, 2)  # arrears and the newest bill, less what was paid since

    decisions = None
    if _present(tables, "decisions"):
        decisions = tables["decisions"][_days(tables["decisions"]["local_date"]) < D]
    offset = _due_offset(s_acc, s_day, dpd_all, params, pay, acc, decisions)
    due_date, oldest_known, newest_due = _oldest_due(s, s_day, due_all, pdue_all, last, owed, offset)
    # days past due: from the oldest unpaid due where known, else the statement's plus the days since
    known = oldest_known & ~charged
    dpd = _days_past_due(D, C, dpd_last, charged, known, due_date, pdue_all[last] - paid_since)
    # a hardship plan in force re-aged the arrears (a missed plan instalment ends it): current, dues unknown
    restrictions = _restrictions(tables, acc, a["borrower_id"].to_numpy(np.int64), morning)
    on_plan = np.asarray(pd.array(restrictions["hardship_plan"], dtype="boolean").fillna(False), dtype=bool) & ~charged
    dpd = np.where(on_plan, 0, dpd)
    known &= ~on_plan
    pre_days = params.uplift.pre_delinquency_days
    pre = known & (owed > _CENT) & (due_date >= D) & (due_date <= D + pre_days) & (pre_days >= 0)
    owing = np.where(charged, balance > _CENT, owed > _CENT)
    show = owing & ~left & ((dpd > 0) | pre)
    if not show.any():
        return _empty()
    idx = np.flatnonzero(show)
    acc, a, zones, morning = acc[idx], a.iloc[idx], zones.iloc[idx], morning[idx]
    dpd, pre, charged, balance = dpd[idx], pre[idx], charged[idx], balance[idx]
    owed, due_date, known, last_pay = owed[idx], due_date[idx], known[idx], last_pay[idx]
    newest_due = newest_due[idx]
    newest = np.nan_to_num((due_all - pdue_all)[last][idx], nan=0.0)
    # past due: all that is owed but the newest bill while it is not yet due (the balance once charged off)
    newest_unpaid = np.minimum(np.maximum(newest, 0.0), np.maximum(owed, 0.0))
    not_due_yet = ~np.isfinite(newest_due) | (newest_due >= D)
    past_due = np.where(charged, balance, np.maximum(owed - np.where(not_due_yet, newest_unpaid, 0.0), 0.0))

    out: dict[str, object] = {
        "account_id": acc,
        "borrower_id": a["borrower_id"].to_numpy(np.int64),
        "product": pd.Categorical(a["product"].astype(object), categories=list(PRODUCTS)),
        "timezone": pd.Categorical(zones, categories=sorted(acc_all["timezone"].astype(str).unique())),
        "region": pd.Categorical(a["region"].astype(object), categories=sorted(acc_all["region"].astype(str).unique())),
        "local_weekday": np.full(len(acc), pd.Timestamp(run_date).weekday(), dtype=np.int8),
        "days_past_due": dpd.astype(np.int32),
        "bucket": params.buckets.as_buckets().code(dpd),
        "charged_off": charged,
        "balance": balance,
        "past_due_amount": np.round(past_due, 2),
        "instalment_amount": a["instalment_amount"].to_numpy(np.float64, na_value=np.nan)
        if "instalment_amount" in a
        else np.full(len(acc), np.nan),
    }
    for ch in CONSENT_CHANNELS:
        out[f"consent_{ch}"] = a[f"consent_{ch}"].to_numpy(bool)
    out.update({k: v[idx] for k, v in restrictions.items()})
    history = _contacts(tables, acc, zones.to_numpy(object), morning, D)
    attempts = np.asarray(history.pop("call_attempts_6d"), dtype=object)
    out.update(history)
    out["days_since_payment"] = (
        pd.array(np.where(last_pay >= 0, D - last_pay // _DAY_MIN, NEVER_DAYS), dtype="int32")
        if has_pay
        else pd.array([pd.NA] * len(acc), dtype="Int32")
    )
    out["pre_delinquent"] = pre
    out["days_to_due"] = np.where(pre, due_date - D, -1).astype(np.int16)
    opened = a["open_date"] if "open_date" in a else pd.Series(pd.NaT, index=a.index)
    months = np.floor(np.maximum(D - _days(opened.fillna(pd.Timestamp(0))), 0) / 30.44)
    out["months_on_book"] = pd.array(np.where(opened.isna().to_numpy(), pd.NA, months), dtype="Int16")
    if not opened.isna().any():
        out["months_on_book"] = months.astype(np.int16)
    frame = pd.DataFrame(out)
    frame = frame[[c for c in STATE_COLUMNS if not c.startswith("can_")]]
    allowed = _allowed(frame, tables, params, available, attempts)
    for k, c in enumerate(CHANNELS):
        frame[f"can_{c}"] = allowed[:, k]
    return frame[list(STATE_COLUMNS)].reset_index(drop=True)


_DTYPES = {
    "account_id": "int64",
    "borrower_id": "int64",
    "local_weekday": "int8",
    "days_past_due": "int32",
    "bucket": "int8",
    "balance": "float64",
    "past_due_amount": "float64",
    "instalment_amount": "float64",
    "contacts_7d": "int8",
    "days_since_contact": "int32",
    "days_since_call_conversation": "int32",
    "days_since_payment": "int32",
    "promises_made": "int16",
    "days_to_due": "int16",
    "months_on_book": "int16",
    "emails_opened_90d": "int8",
    "sms_replies_90d": "int8",
    "last_answer_hour": "int8",
}


def _empty() -> pd.DataFrame:
    """No account to show: the columns with their dtypes (categories empty)."""
    return pd.DataFrame(
        {
            c: pd.Series([], dtype="category" if c in ("product", "timezone", "region") else _DTYPES.get(c, "bool"))
            for c in STATE_COLUMNS
        }
    )


def _days_past_due(D, cycle_day, dpd_last, charged, known, due_date, arrears) -> np.ndarray:
    """Days past due on day `D` after a statement of `cycle_day`: counting on from the statement once charged
    off; from the oldest unpaid due where it is known; else the statement's plus the days since while any of
    the statement's `arrears` (its past-due amount less the payments since; NaN: unknown) is left."""
    elapsed = D - cycle_day
    arrears_left = np.nan_to_num(arrears, nan=1.0) > _CENT
    return np.where(
        charged,
        dpd_last + elapsed,
        np.where(known, np.maximum(D - due_date, 0), np.where((dpd_last > 0) & arrears_left, dpd_last + elapsed, 0)),
    )


def days_past_due_at(
    tables: dict[str, pd.DataFrame], account_id: np.ndarray, day: np.ndarray, morning: np.ndarray, params: Params
) -> np.ndarray:
    """Days past due of each (account, local day number `day`, its local morning in UTC minutes `morning`) as
    `state_frame` dates them that morning; NaN where no statement precedes the day.

    For reading a decision log on the state frame's dates (models/uplift/reminders.contact_share_by_bucket:
    business as usual's contact rate per bucket), where `state_frame` itself, one run date at a time, would
    take a second per logged day. Read with hindsight in one respect: each account's due offset comes from
    its whole history in the tables, where the state frame reads it from the history up to the run date (it
    is a fixed property of the account, readable once the account has been late or on direct debit). A
    hardship plan in force is not applied (the state frame does not show such an account; a log shows it only
    where the lender did)."""
    acc, D = np.asarray(account_id, dtype=np.int64), np.asarray(day, dtype=np.int64)
    out = np.full(len(acc), np.nan)
    s = tables["statements"].sort_values(["account_id", "cycle_date"], kind="stable")
    if s.empty or not len(acc):
        return out
    s_acc, s_day = s["account_id"].to_numpy(np.int64), _days(s["cycle_date"])
    at = np.searchsorted(keys(s_acc, s_day), keys(acc, D), "left") - 1  # the last statement before the day
    has = (at >= 0) & (s_acc[np.maximum(at, 0)] == acc)
    last, q_acc, q_day = at[has], acc[has], D[has]
    first = np.searchsorted(s_acc, q_acc, "left")

    def stat(name: str) -> np.ndarray:
        return s[name].to_numpy(np.float64, na_value=np.nan) if name in s else np.full(len(s), np.nan)

    due_all, pdue_all = stat("amount_due"), stat("past_due_amount")
    dpd_all = s["days_past_due"].to_numpy(np.int64)
    status = s["status"].astype(object).to_numpy()[last] if "status" in s else np.full(len(last), None)
    C, dpd_last = s_day[last], dpd_all[last]
    charged = (status == "written_off") | (dpd_last >= params.buckets.min_dpd[-1])
    pay = tables["payments"] if _present(tables, "payments") else None
    paid_since = np.zeros(len(last))
    if pay is not None:
        start = (C + 1) * _DAY_MIN
        paid_since, _ = window_sum(
            pay["account_id"].to_numpy(np.int64),
            minutes(pay["paid_at"]),
            pay["amount"].to_numpy(np.float64),
            q_acc,
            start,
            np.maximum(np.asarray(morning, dtype=np.int64)[has], start),
        )
    owed = np.round(due_all[last] - paid_since, 2)
    decisions = tables["decisions"] if _present(tables, "decisions") else None
    accounts = np.unique(q_acc)
    offset = _due_offset(s_acc, s_day, dpd_all, params, pay, accounts, decisions)[np.searchsorted(accounts, q_acc)]
    due_date, oldest_known, _ = _oldest_due(s, s_day, due_all, pdue_all, last, owed, offset, first)
    known = oldest_known & ~charged
    out[has] = _days_past_due(q_day, C, dpd_last, charged, known, due_date, pdue_all[last] - paid_since)
    return out


def _due_offset(
    s_acc, s_day, dpd, params: Params, pay: pd.DataFrame | None, acc: np.ndarray, decisions: pd.DataFrame | None = None
) -> np.ndarray:
    """Per account in `acc`, the days between a bill's due date and the next cycle end (NaN: unknown).

    Readings: a statement in arrears (not charged off) dates its oldest unpaid due, cycle date - days past
    due, and that due belongs to the account's first cycle end at or after it; a direct-debit payment is
    collected on the due date. Their median is the offset. Other payments say nothing reliable: a bill paid
    late but before the cycle end leaves the next statement current, so a payment's day bounds the due date
    from neither side."""
    late = np.flatnonzero((dpd > 0) & (dpd < params.buckets.min_dpd[-1]))
    due_day = s_day[late] - dpd[late]
    end = first_at_or_after(s_acc, s_day, s_acc[late], due_day)
    # a due older than the account's first statement: the cycle ends before it, a calendar month apart
    first = pd.Series(s_day, index=s_acc).groupby(level=0).min().reindex(s_acc[late]).to_numpy(np.int64)
    early = (end < 0) | (end - due_day >= 28)
    if early.any():
        base = pd.DatetimeIndex(first[early].astype("datetime64[D]"))
        step = end[early].copy()
        for months in range(1, 13):
            cand = (base - pd.DateOffset(months=months)).to_numpy("datetime64[D]").astype(np.int64)
            step = np.where(cand >= due_day[early], cand, step)
        end[early] = step
    got = end >= 0
    r_acc, r_off = [s_acc[late][got]], [end[got] - due_day[got]]
    if pay is not None and len(pay) and "method" in pay:
        dd = (pay["method"].astype(object) == "direct_debit").to_numpy()
        d_acc = pay["account_id"].to_numpy(np.int64)[dd]
        d_day = _days(pay["paid_at"].dt.tz_convert("UTC").dt.tz_localize(None))[dd]
        end = first_at_or_after(s_acc, s_day, d_acc, d_day)
        r_acc.append(d_acc[end >= 0])
        r_off.append(end[end >= 0] - d_day[end >= 0])
    pre_days = params.uplift.pre_delinquency_days
    if decisions is not None and len(decisions) and pre_days >= 0:
        # a decision log (optional): an account current at its statement is first shown pre_days before the due
        d = decisions.sort_values(["account_id", "local_date"], kind="stable")
        d_acc, d_day = d["account_id"].to_numpy(np.int64), _days(d["local_date"])
        prev = last_before(s_acc, s_day, d_acc, d_day)
        end = first_at_or_after(s_acc, s_day, d_acc, d_day)
        k = keys(s_acc, s_day)
        at = np.minimum(np.searchsorted(k, keys(d_acc, prev)), max(len(k) - 1, 0))
        current = (prev >= 0) & (end >= 0) & (dpd[at] == 0) & (d_day > prev + 1)
        first = ~pd.Series(keys(d_acc, prev)).duplicated().to_numpy()  # the first decision after each statement
        use = current & first
        r_acc.append(d_acc[use])
        r_off.append(end[use] - (d_day[use] + pre_days))
    readings = pd.Series(np.concatenate(r_off).astype(np.float64), index=np.concatenate(r_acc))
    readings = readings[(readings >= 0) & (readings < 28)]  # a due date inside the cycle it belongs to
    return readings.groupby(level=0).median().round().reindex(acc).to_numpy(np.float64)


def _next_cycle_end(s: pd.DataFrame, last: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Day number of the cycle end after each statement row `last` (its account's rows from `first`): a
    calendar month later, at the latest day of month among that statement and the two before it (so
    month-end cycles stay at month end)."""
    dates = pd.DatetimeIndex(s["cycle_date"].to_numpy("datetime64[ns]"))
    day_of_month = dates.day.to_numpy(np.int64)
    dom = day_of_month[last]
    for back in (1, 2):
        row = last - back
        dom = np.where(row >= first, np.maximum(dom, day_of_month[np.maximum(row, 0)]), dom)
    after = pd.DatetimeIndex(dates[last]) + pd.DateOffset(months=1)
    target = np.minimum(dom, after.days_in_month.to_numpy())
    start = after.to_numpy("datetime64[D]").astype(np.int64) - (after.day.to_numpy() - 1)
    return start + target - 1


def _oldest_due(
    s, s_day, due_all, pdue_all, last, owed, offset, first: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(due day of the oldest unpaid bill, whether it is known, due day of the newest bill or NaN) per
    statement row `last` (its account's first row `first`; default: `last` holds every account's last row in
    order), after the payments since.

    Bills by recency m = 0 (billed at the last statement) .. BILLS-1; payments settle the oldest first, so
    the unpaid bills are the newest ones whose sum first reaches what is owed now."""
    n = len(last)
    if first is None:
        first = np.r_[0, last[:-1] + 1]  # first statement row of each account
    bills = np.zeros((n, BILLS))
    ends = np.full((n, BILLS), -1, dtype=np.int64)  # the cycle end each bill falls due before
    ends[:, 0] = _next_cycle_end(s, last, first)
    new = due_all - pdue_all
    for m in range(BILLS):
        row = last - m
        ok = row >= first
        bills[ok, m] = new[row[ok]]
        if m > 0:
            ends[ok, m] = s_day[row[ok] + 1]
    covered = np.cumsum(np.nan_to_num(bills, nan=np.inf), axis=1) >= owed[:, None] - _CENT
    m_star = np.argmax(covered, axis=1)
    end = ends[np.arange(n), m_star]
    known = covered.any(axis=1) & np.isfinite(offset) & (end >= 0) & np.isfinite(owed) & ~np.isnan(bills).any(axis=1)
    due = np.where(known, end - np.nan_to_num(offset, nan=0.0).astype(np.int64), 0)
    return due, known, ends[:, 0] - offset


def _restrictions(tables, acc: np.ndarray, borrower: np.ndarray, morning: np.ndarray) -> dict[str, object]:
    """Restriction flags and opt-outs in force at each account's morning (empty without the table)."""
    names = [*FLAG_KINDS, *(f"opt_out_{c}" for c in CONSENT_CHANNELS)]
    if not _present(tables, "restrictions"):
        return {k: pd.array([pd.NA] * len(acc), dtype="boolean") for k in names}
    r = tables["restrictions"]
    pos = pd.Series(np.arange(len(acc)), index=acc)
    by_borrower = pd.DataFrame({"borrower_id": borrower, "row": np.arange(len(acc))})
    own = r[r["account_id"].notna()]
    own_rows = pos.reindex(own["account_id"].astype("int64").to_numpy()).to_numpy()
    keep = ~np.isnan(own_rows)
    wide = r[r["account_id"].isna()].merge(by_borrower, on="borrower_id")
    rows = np.concatenate([own_rows[keep].astype(np.int64), wide["row"].to_numpy(np.int64)])
    both = pd.concat([own[keep], wide.drop(columns="row")], ignore_index=True)
    start = minutes(both["start_at"])
    end = both["end_at"]
    end_min = np.where(end.isna().to_numpy(), np.iinfo(np.int64).max, minutes(end.fillna(pd.Timestamp(0, tz="UTC"))))
    t = morning[rows]
    live = (start < t) & (end_min > t)
    kind = both["kind"].astype(object).to_numpy()
    channel = both["channel"].astype(object).to_numpy()
    out: dict[str, object] = {}
    for k in FLAG_KINDS:
        flag = np.zeros(len(acc), dtype=bool)
        flag[rows[live & (kind == k)]] = True
        out[k] = flag
    for c in CONSENT_CHANNELS:
        flag = np.zeros(len(acc), dtype=bool)
        hit = live & (kind == "channel_opt_out") & (pd.isna(channel) | (channel == c))
        flag[rows[hit]] = True
        out[f"opt_out_{c}"] = flag
    return out


def _contacts(tables, acc: np.ndarray, zones: np.ndarray, morning: np.ndarray, D: int) -> dict[str, object]:
    """Contact-history columns at each account's morning, by the borrower's local days (empty without the table)."""
    names = {
        "contacts_7d": "Int8",
        "days_since_contact": "Int32",
        "days_since_call_conversation": "Int32",
        "promise_pending": "boolean",
        "promises_made": "Int16",
        "emails_opened_90d": "Int8",
        "sms_replies_90d": "Int8",
        "last_answer_hour": "Int8",
        "call_attempts_6d": "Int64",
    }
    if not _present(tables, "contacts"):
        return {k: pd.array([pd.NA] * len(acc), dtype=t) for k, t in names.items()}
    c = tables["contacts"]
    pos = pd.Series(np.arange(len(acc)), index=acc).reindex(c["account_id"].to_numpy(np.int64)).to_numpy()
    c_min = minutes(c["contacted_at"])
    ok = ~np.isnan(pos)
    row = np.where(ok, pos, 0).astype(np.int64)
    ok &= c_min < morning[row]
    c, row, c_min = c[ok], row[ok], c_min[ok]
    day, hour = _local_clock(c["contacted_at"], zones[row])
    channel = c["channel"].astype(object).to_numpy()
    outcome = c["outcome"].astype(object).to_numpy()
    n = len(acc)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(row[mask], minlength=n)

    week = (day >= D - 7) & (day < D)
    distinct = pd.Series(day[week]).groupby(row[week]).nunique().reindex(range(n), fill_value=0).to_numpy()
    last_day = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_day, row, day)
    talk = (channel == "call") & np.isin(outcome, CONVERSATION)
    order = np.lexsort((c_min[talk], row[talk]))
    talk_row, talk_day, talk_hour = row[talk][order], day[talk][order], hour[talk][order]
    final = np.r_[talk_row[1:] != talk_row[:-1], True] if len(talk_row) else np.zeros(0, bool)
    last_talk = np.full(n, -1, dtype=np.int64)
    last_hour = np.full(n, -1, dtype=np.int64)
    last_talk[talk_row[final]], last_hour[talk_row[final]] = talk_day[final], talk_hour[final]

    # promises, less plan agreements (a promise followed within the hour by a hardship_plan restriction)
    promise = outcome == "promise_to_pay"
    r = tables.get("restrictions")
    if promise.any() and r is not None and len(r):
        plans = r[(r["kind"].astype(object) == "hardship_plan") & r["account_id"].notna()]
        start = first_at_or_after(
            plans["account_id"].astype("int64").to_numpy(),
            minutes(plans["start_at"]),
            acc[row[promise]],
            c_min[promise],
        )
        agreed = (start >= 0) & (start - c_min[promise] <= 60)
        promise[np.flatnonzero(promise)[agreed]] = False
    p_order = np.lexsort((c_min[promise], row[promise]))
    p_row = row[promise][p_order]
    p_date = _days(c["promise_date"])[promise][p_order] if "promise_date" in c else np.full(len(p_row), -1)
    p_final = np.r_[p_row[1:] != p_row[:-1], True] if len(p_row) else np.zeros(0, bool)
    pending = np.zeros(n, dtype=bool)
    pending[p_row[p_final]] = p_date[p_final] >= D

    recent = (day >= D - 89) & (day < D) & (outcome == "opened")
    return {
        "contacts_7d": distinct.astype(np.int8),
        "days_since_contact": np.where(last_day >= 0, D - last_day, NEVER_DAYS).astype(np.int32),
        "days_since_call_conversation": np.where(last_talk >= 0, D - last_talk, NEVER_DAYS).astype(np.int32),
        "promise_pending": pending,
        "promises_made": count(promise).astype(np.int16),
        "emails_opened_90d": np.minimum(count(recent & (channel == "email")), 127).astype(np.int8),
        "sms_replies_90d": np.minimum(count(recent & (channel == "sms")), 127).astype(np.int8),
        "last_answer_hour": last_hour.astype(np.int8),
        "call_attempts_6d": count((channel == "call") & (day >= D - 6) & (day < D)),
    }


def _allowed(
    frame: pd.DataFrame, tables, params: Params, available: Sequence[str] | None, attempts: np.ndarray
) -> np.ndarray:
    """bool (rows, CHANNELS): what the rulebook allows today, conservative where the history is unknown."""
    rules = rulebook.Rulebook.from_params(params.compliance)
    profile = rulebook.profile_for_regions(params.compliance, frame["region"].astype(object))
    n = len(frame)
    known_r = _present(tables, "restrictions")
    known_c = _present(tables, "contacts")

    def flag(name: str) -> np.ndarray:
        return frame[name].fillna(False).to_numpy(bool) if known_r else np.zeros(n, dtype=bool)

    opt_out = np.column_stack([flag(f"opt_out_{c}") for c in CONSENT_CHANNELS])
    restricted = np.column_stack(
        [opt_out.any(axis=1) if k == "channel_opt_out" else flag(k) for k in RESTRICTION_KINDS]
    )
    zeros = np.zeros(n, dtype=np.int64)
    if known_c:
        since_talk = frame["days_since_call_conversation"].to_numpy(np.int64)
        attempts = attempts.astype(np.int64)
    else:  # unknown history: as if a conversation had just taken place and the weekly cap were reached
        since_talk, attempts = zeros, np.full(n, np.iinfo(np.int32).max, dtype=np.int64)
    state = rulebook.ContactState(
        consent=np.column_stack([frame[f"consent_{c}"].to_numpy(bool) for c in CONSENT_CHANNELS]),
        opt_out=opt_out,
        restricted=restricted,
        charged_off=frame["charged_off"].to_numpy(bool),
        days_since_call_conversation=since_talk,
        call_attempts_7d=np.asarray(attempts, dtype=np.int64),
        call_conversations_today=zeros,
        unanswered_calls_today=zeros,
        contacts_today=zeros,
    )
    allowed = rulebook.allowed_channels(rules, profile, state)
    if not known_r:
        allowed[:] = False
    if available is not None:
        allowed &= np.isin(np.asarray(CHANNELS), list(available))[None, :]
    return allowed
