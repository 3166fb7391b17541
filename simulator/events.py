"""Restrictions over time: life events, requests from contacts, disputes and hardship plans.

Times: a restriction created by a contact starts one minute after it, in the borrower's local
clock, and binds from the next day. Exogenous starts and every end are stamped in the zone's
restriction window of their day (core.compliance.clock): after every contact of the previous
local day and before every contact of the day (the night, e.g. 03:00-11:59 UTC in New York,
14:00-23:59 UTC of the day before in Shanghai), so records and the rules the world applied
agree to the minute.
"""

from __future__ import annotations

import numpy as np

from simulator.config import CH, KIND
from simulator.state import (
    A_DISPUTE,
    A_PLAN,
    B_BANKRUPT,
    B_DECEASED,
    B_DNC,
    B_OPT_CALL,
    B_OPT_EMAIL,
    B_OPT_SMS,
    B_THIRD,
    CHARGED_OFF,
    NO_DUE,
    OPEN,
)
from simulator.world import BlockWorld

#: exogenous borrower-level events: (kind, bit, channel, rate attribute of Mechanics)
_BORROWER_EVENTS = (
    ("bankruptcy", B_BANKRUPT, -1, "bankruptcy_rate"),
    ("deceased", B_DECEASED, -1, "deceased_rate"),
    ("third_party_only", B_THIRD, -1, "attorney_rate"),
    ("channel_opt_out", B_OPT_SMS, CH["sms"], "spontaneous_optout_rate"),
    ("channel_opt_out", B_OPT_EMAIL, CH["email"], "spontaneous_optout_rate"),
    ("channel_opt_out", B_OPT_CALL, CH["call"], "spontaneous_optout_rate"),
)
_DISPUTE_EVENT = len(_BORROWER_EVENTS)


def utc_minute(w: BlockWorld, ids: np.ndarray, t: int, salt: int, tz: np.ndarray) -> np.ndarray:
    """A UTC minute (from 00:00 UTC of day t, may be negative) for exogenous starts and for ends: inside the
    zone's restriction window, after the previous local day's contacts and before this local day's."""
    lo, hi = w.restrict_window[tz, 0], w.restrict_window[tz, 1]
    u = w.streams.event.uniform(ids, t, salt)
    return (lo + np.floor(u * (hi - lo))).astype(np.int16)


def draw_events(w: BlockWorld, j: int) -> None:
    """Draw the life events that happen in cycle window j+1 (applied on their day)."""
    st, pop, m, cal = w.st, w.pop, w.mech, w.cal
    if j + 1 > cal.last_cycle:
        w.events = (np.zeros(0, np.int32),) * 3
        return
    t0, t1 = int(cal.cycle_day[j]), int(cal.cycle_day[j + 1])
    live_acct = (st.status == OPEN) | (st.status == CHARGED_OFF)
    delinquent = ((st.status == OPEN) & (st.oldest_due < t0)) | (st.status == CHARGED_OFF)
    b_del = np.zeros(pop.n_borrowers, dtype=bool)
    b_del[pop.bor[delinquent]] = True
    b_live = np.zeros(pop.n_borrowers, dtype=bool)
    b_live[pop.bor[live_acct]] = True
    factor_b = np.where(b_del, m.delinquent_event_factor, 1.0)
    gb = pop.b0 + np.arange(pop.n_borrowers)
    days, targets, kinds = [], [], []
    for k, (_, bit, _, rate) in enumerate(_BORROWER_EVENTS):
        hit = b_live & ((st.bbits & bit) == 0) & (w.streams.event.uniform(gb, j, k) < getattr(m, rate) * factor_b)
        rows = np.flatnonzero(hit)
        days.append(w.streams.event.integers(gb[rows], t0 + 1, t1, j, k, 1))
        targets.append(rows)
        kinds.append(np.full(len(rows), k))
    ga = pop.a0 + np.arange(pop.n_accounts)
    factor_a = np.where(delinquent, m.delinquent_event_factor, 1.0)
    hit = live_acct & (w.streams.event.uniform(ga, j, _DISPUTE_EVENT) < m.spontaneous_dispute_rate * factor_a)
    rows = np.flatnonzero(hit)
    days.append(w.streams.event.integers(ga[rows], t0 + 1, t1, j, _DISPUTE_EVENT, 1))
    targets.append(rows)
    kinds.append(np.full(len(rows), _DISPUTE_EVENT))
    w.events = (
        np.concatenate(days).astype(np.int32),
        np.concatenate(targets).astype(np.int64),
        np.concatenate(kinds).astype(np.int32),
    )


def apply_events(w: BlockWorld, t: int) -> None:
    day, target, kind = w.events
    today = np.flatnonzero(day == t)
    if len(today) == 0:
        return
    st, pop = w.st, w.pop
    for k, (name, bit, channel, _) in enumerate(_BORROWER_EVENTS):
        b = target[today[kind[today] == k]]
        b = b[((st.bbits[b] & bit) == 0) & (pop.min_open_day[b] < t)]
        if len(b):
            restrict_borrower(w, t, b, bit, KIND[name], channel, utc_minute(w, pop.b0 + b, t, k, pop.tz[b]), False)
    a = target[today[kind[today] == _DISPUTE_EVENT]]
    a = a[((st.abits[a] & A_DISPUTE) == 0) & ((st.status[a] == OPEN) | (st.status[a] == CHARGED_OFF))]
    if len(a):
        start_disputes(w, t, a, utc_minute(w, pop.a0 + a, t, _DISPUTE_EVENT, pop.tz[pop.bor[a]]), False)


def _record(
    w: BlockWorld, t: int, b: np.ndarray, a: np.ndarray | int, kind: int, channel: int, minute: np.ndarray, local: bool
) -> np.ndarray:
    if not w.rec.enabled:
        return np.full(len(b), -1, dtype=np.int32)
    pop = w.pop
    account = pop.a0 + a if isinstance(a, np.ndarray) else np.full(len(b), -1)
    return w.rec.restrictions.add(
        borrower=pop.b0 + b,
        account=account,
        kind=kind,
        channel=channel,
        start_day=t,
        start_min=minute,
        start_local=local,
        tz=pop.tz[b],
    )


def restrict_borrower(
    w: BlockWorld,
    t: int,
    b: np.ndarray,
    bit: int,
    kind: int,
    channel: int,
    minute: np.ndarray,
    local: bool,
    end_day: int | None = None,
) -> None:
    """Put borrowers `b` (distinct) under a borrower-wide restriction from day t (or t+1 if local)."""
    w.st.bbits[b] |= np.uint16(bit)
    rows = _record(w, t, b, -1, kind, channel, minute, local)
    if kind == KIND["cease_communication"]:
        w.tally_add(t, "cease_requests", len(b))
    if end_day is not None:
        w.st.dnc_end[b] = end_day
        w.st.dnc_rec[b] = rows


def start_disputes(w: BlockWorld, t: int, a: np.ndarray, minute: np.ndarray, local: bool) -> None:
    st, m = w.st, w.mech
    st.abits[a] |= np.uint8(A_DISPUTE)
    st.dispute_end[a] = t + w.streams.event.integers(w.pop.a0 + a, m.dispute_days[0], m.dispute_days[1], t, 99)
    st.dispute_rec[a] = _record(w, t, w.pop.bor[a], a, KIND["dispute"], -1, minute, local)
    w.tally_add(t, "disputes", len(a))


def start_plans(w: BlockWorld, t: int, a: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """Agree hardship plans: re-age the arrears, cut the instalment; returns the first plan due day."""
    st, pop, cal, p = w.st, w.pop, w.cal, w.config.params
    st.ring[a] = 0.0
    st.oldest_due[a] = NO_DUE
    st.sched_day[a] = -1
    st.inst_eff[a] = np.round(pop.instalment[a] * p.hardship_plan_fraction, 2)
    st.abits[a] |= np.uint8(A_PLAN)
    st.plan_end[a] = t + int(round(p.hardship_plan_cycles * 30.44))
    st.last_plan[a] = t
    st.plan_rec[a] = _record(w, t, pop.bor[a], a, KIND["hardship_plan"], -1, minute, True)
    w.tally_add(t, "plans_started", len(a))
    j = int(cal.cycle_of_day[t])
    # the next cycle's due date (beyond the calendar's last cycle: a month after it)
    next_end = int(cal.cycle_day[j + 1]) if j + 1 <= cal.last_cycle else int(cal.cycle_day[j]) + 31
    return np.maximum(next_end - pop.due_offset[a], t + 1).astype(np.int32)


def end_plans(w: BlockWorld, t: int, a: np.ndarray, broken: bool) -> None:
    st = w.st
    st.abits[a] &= np.uint8(~A_PLAN & 0xFF)
    st.inst_eff[a] = w.pop.instalment[a]
    st.plan_end[a] = -1
    if w.rec.enabled:
        w.rec.restrictions.end(st.plan_rec[a], t, utc_minute(w, w.pop.a0 + a, t, 201, w.pop.tz[w.pop.bor[a]]))
    st.plan_rec[a] = -1
    if broken:
        w.tally_add(t, "plans_broken", len(a))


def end_restrictions(w: BlockWorld, t: int) -> None:
    """Lift do-not-contact periods, resolve disputes and complete plans that end today."""
    st, pop = w.st, w.pop
    b = np.flatnonzero(st.dnc_end == t)
    if len(b):
        st.bbits[b] &= np.uint16(~B_DNC & 0xFFFF)
        st.dnc_end[b] = -1
        if w.rec.enabled:
            w.rec.restrictions.end(st.dnc_rec[b], t, utc_minute(w, pop.b0 + b, t, 202, pop.tz[b]))
    a = np.flatnonzero(st.dispute_end == t)
    if len(a):
        st.abits[a] &= np.uint8(~A_DISPUTE & 0xFF)
        st.dispute_end[a] = -1
        if w.rec.enabled:
            w.rec.restrictions.end(st.dispute_rec[a], t, utc_minute(w, pop.a0 + a, t, 203, pop.tz[pop.bor[a]]))
    a = np.flatnonzero(st.plan_end == t)
    if len(a):
        end_plans(w, t, a, broken=False)
