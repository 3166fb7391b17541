"""Money and delinquency: billing, payments, days past due, charge-off, income shocks.

* Current accounts decide once per cycle, at billing, whether they will pay the new due on
  time; if so the payment is scheduled on the last payday before the due date (or on the due
  date itself for direct debits). This is where pay cycles show in the data.
* Accounts in arrears pay with a daily hazard: a monthly probability set by segment, ability,
  willingness and days past due, concentrated on the days just after each payday, raised by
  recent engagement from contacts and lowered by contact fatigue.
* Charged-off accounts pay (through the agency) with a small hazard raised by agency contacts.
"""

from __future__ import annotations

import numpy as np

from simulator.config import HARDSHIP, METHOD, REVOLVING
from simulator.population import MANUAL_METHODS, miss_logit
from simulator.rng import sigmoid
from simulator.state import (
    A_DISPUTE,
    A_PLAN,
    B_BANKRUPT,
    B_DECEASED,
    CHARGED_OFF,
    CLOSED,
    NO_DUE,
    OPEN,
    PENDING,
    owed,
    refresh_oldest,
    settle,
)
from simulator.world import BlockWorld

_MANUAL = np.array([METHOD[m] for m in MANUAL_METHODS], dtype=np.int8)
_DAYS_PER_MONTH = 30.44


def past_due_amount(w: BlockWorld, t: int, idx: np.ndarray) -> np.ndarray:
    """Billed dues whose due date has passed (the balance, once charged off)."""
    st, cal = w.st, w.cal
    j = int(cal.cycle_of_day[t])
    current_due_day = cal.cycle_day[j] - w.pop.due_offset[idx]
    current_bill = np.where(current_due_day >= t, st.ring[idx, j % st.ring.shape[1]], 0.0)
    owed = st.ring[idx].sum(axis=1) - current_bill
    return np.round(np.where(st.status[idx] == CHARGED_OFF, st.balance[idx], owed), 2)


def payday_weight(w: BlockWorld, t: int, b: np.ndarray) -> np.ndarray:
    """Daily hazard multiplier: high just after payday, normalised so a month's total is unchanged."""
    m, cal = w.mech, w.cal
    sched = w.pop.pay_schedule[b]
    in_window = (t - cal.last_payday[sched, t]) < m.payday_window_days
    return np.where(in_window, m.payday_multiplier, 1.0) / w.payday_norm[sched]


def _blocked_factor(w: BlockWorld, idx: np.ndarray) -> np.ndarray:
    bits = w.st.bbits[w.pop.bor[idx]]
    stop = (bits & (B_BANKRUPT | B_DECEASED)) != 0
    disputed = (w.st.abits[idx] & A_DISPUTE) != 0
    return np.where(stop, w.mech.bankrupt_hazard_factor, np.where(disputed, w.mech.dispute_hazard_factor, 1.0))


def delinquent_hazard(w: BlockWorld, t: int, idx: np.ndarray) -> np.ndarray:
    """P(pay today) of accounts in arrears, from the state at the start of day t."""
    st, pop, m = w.st, w.pop, w.mech
    b = pop.bor[idx]
    seg = w.response_segment(b)
    za = pop.za[b] - m.shock_ability_drop * st.shocked[b]
    dpd = t - st.oldest_due[idx]
    q = sigmoid(
        np.asarray(m.cure_intercept)[seg] + m.cure_ability * za + m.cure_willingness * pop.zw[b] - m.cure_dpd * dpd
    )
    lam = -np.log1p(-np.minimum(q, 0.999)) * payday_weight(w, t, b)
    lam *= 1.0 + w.engagement_lift(t, idx)
    excess = np.maximum(0.0, w.fatigue_now(t, idx) - m.fatigue_free)
    lam *= np.exp(-m.fatigue_willingness * excess * np.asarray(m.fatigue_affects)[seg])
    return -np.expm1(-lam * _blocked_factor(w, idx))


def recovery_hazard(w: BlockWorld, t: int, idx: np.ndarray) -> np.ndarray:
    """P(pay today) of charged-off accounts with a balance."""
    st, pop, m = w.st, w.pop, w.mech
    b = pop.bor[idx]
    za = pop.za[b] - m.shock_ability_drop * st.shocked[b]
    q = sigmoid(m.recovery_intercept + 0.5 * za + 0.8 * pop.zw[b])
    lam = -np.log1p(-q) * payday_weight(w, t, b) * (1.0 + w.engagement_lift(t, idx))
    return -np.expm1(-lam * _blocked_factor(w, idx))


def delinquent_amount(w: BlockWorld, t: int, idx: np.ndarray) -> np.ndarray:
    """How much an account in arrears pays when it pays: all it owes, or part of it."""
    st, pop, m = w.st, w.pop, w.mech
    b = pop.bor[idx]
    seg = w.response_segment(b)
    za = pop.za[b] - m.shock_ability_drop * st.shocked[b]
    gid = pop.a0 + idx
    u1, u2 = w.streams.amount.uniform(gid, t, 0), w.streams.amount.uniform(gid, t, 1)
    total = owed(st, idx)
    full = u1 < sigmoid(np.asarray(m.full_payment_intercept)[seg] + za)
    lo, hi = m.hardship_payment_share
    share = np.where(seg == HARDSHIP, lo + (hi - lo) * u2, np.where(u2 < 0.7, 1.0, 2.0))
    return np.where(full, total, np.minimum(total, np.round(st.inst_eff[idx] * share, 2)))


def recovery_amount(w: BlockWorld, t: int, idx: np.ndarray) -> np.ndarray:
    st, m = w.st, w.mech
    gid = w.pop.a0 + idx
    u1, u2 = w.streams.amount.uniform(gid, t, 2), w.streams.amount.uniform(gid, t, 3)
    lo, hi = m.settlement_share
    settle_all = st.balance[idx] * (lo + (hi - lo) * u2)
    return np.where(u1 < 0.4, settle_all, np.minimum(st.balance[idx], st.inst_eff[idx]))


def pay(w: BlockWorld, t: int, idx: np.ndarray, amount: np.ndarray, method: np.ndarray) -> None:
    """Receive payments (accounts distinct) on UTC day t: settle dues, update balance and history."""
    st, pop, cal = w.st, w.pop, w.cal
    amount = np.round(np.minimum(amount, st.balance[idx]), 2)
    ok = amount > 0
    idx, amount, method = idx[ok], amount[ok], np.broadcast_to(method, ok.shape)[ok]
    if len(idx) == 0:
        return
    j = int(cal.cycle_of_day[t])
    status = st.status[idx]
    co = status == CHARGED_OFF
    cohort = st.in_cohort[idx]
    live = idx[status == OPEN]
    if len(live):
        # EVAL (outcomes.collected_past_due): the part of each payment that settles dues already past due,
        # and all of a payment on a hardship plan (the plan re-aged the arrears it repays)
        on_plan = (st.abits[live] & A_PLAN) != 0
        paid = amount[status == OPEN]
        settles_past_due = np.where(on_plan, paid, np.minimum(paid, past_due_amount(w, t, live)))
        w.tally_add(t, "collected_past_due", float(settles_past_due.sum()))
        settle(st, live, amount[status == OPEN], j)
        st.oldest_due[live] = refresh_oldest(st, pop, cal, live, j)
    st.balance[idx] = np.round(st.balance[idx] - amount, 2)
    st.paid_cycle[idx] += amount
    st.last_payment[idx] = t
    done = (st.balance[idx] <= 0.005) & ((pop.product[idx] != REVOLVING) | co)
    if done.any():
        gone = idx[done]
        st.status[gone] = CLOSED
        st.closed_day[gone] = t
        st.balance[gone] = 0.0
        st.ring[gone] = 0.0
        st.oldest_due[gone] = NO_DUE
        st.sched_day[gone] = -1
        st.ptp_day[gone] = -1
    method = np.where(co, METHOD["agency"], method)
    w.tally_payments(t, amount, cohort, co)
    if w.rec.enabled and t > cal.start_day:
        b = pop.bor[idx]
        gid = pop.a0 + idx
        # a daytime local clock (12:30 +- 3 h), in UTC, kept inside the zone's payment window (reflected at
        # its start, so no pile-up): on UTC date t, after the previous local day's contacts
        tz = pop.tz[b]
        lo, hi = w.pay_window[tz, 0], w.pay_window[tz, 1] - 1
        utc = 750 + 180 * w.streams.clock.normal(gid, t) + w.std_offset[tz]
        utc = np.where(utc < lo, 2 * lo - utc, utc)
        minute = np.clip(utc, lo, hi).astype(np.int16)
        w.rec.payments.add(
            account=gid.astype(np.int32),
            day=np.full(len(idx), t, np.int32),
            minute=minute,
            amount=amount,
            method=method.astype(np.int8),
        )


def daily_payments(
    w: BlockWorld,
    t: int,
    delinquent: np.ndarray,
    p_delinquent: np.ndarray,
    charged_off: np.ndarray,
    p_charged_off: np.ndarray,
) -> None:
    """Scheduled payments, kept promises, then hazard payments of those who have not paid today."""
    st = w.st
    s = np.flatnonzero(st.sched_day == t)
    if len(s):
        st.sched_day[s] = -1
        s = s[st.status[s] == OPEN]
        pay(w, t, s, st.sched_amt[s], st.sched_method[s])
    q = np.flatnonzero(st.ptp_day == t)
    if len(q):
        st.ptp_day[q] = -1
        q = q[st.ptp_keep[q] & ((st.status[q] == OPEN) | (st.status[q] == CHARGED_OFF)) & (st.last_payment[q] != t)]
        w.tally_add(t, "promises_kept", len(q))
        pay(w, t, q, st.ptp_amt[q], st.ptp_method[q])
    for idx, p, is_co in ((delinquent, p_delinquent, False), (charged_off, p_charged_off, True)):
        if len(idx) == 0:
            continue
        hit = w.streams.hazard.uniform(w.pop.a0 + idx, t) < p
        a = idx[hit]
        a = a[(st.last_payment[a] != t) & (st.status[a] == (CHARGED_OFF if is_co else OPEN))]
        if len(a) == 0:
            continue
        if is_co:
            pay(w, t, a, recovery_amount(w, t, a), METHOD["agency"])
        else:
            pay(w, t, a, delinquent_amount(w, t, a), _MANUAL[w.pop.method_pref[w.pop.bor[a]]])


def close_cycle(w: BlockWorld, j: int) -> None:
    """End of cycle j: open new accounts, charge off, accrue, bill cycle j+1, write statements, schedule."""
    st, pop, cal, m = w.st, w.pop, w.cal, w.mech
    t = int(cal.cycle_day[j])
    new = np.flatnonzero((st.status == PENDING) & (pop.first_cycle == j))
    st.status[new] = OPEN
    st.balance[new] = pop.init_balance[new]

    live = np.flatnonzero(st.status == OPEN)
    dpd = np.where(st.oldest_due[live] < t, t - st.oldest_due[live], 0)
    co = live[dpd >= w.config.charge_off_dpd]
    if len(co):
        st.status[co] = CHARGED_OFF
        st.co_anchor[co] = st.oldest_due[co]
        st.ring[co] = 0.0
        st.oldest_due[co] = NO_DUE
        st.sched_day[co] = -1
        st.ptp_day[co] = -1
        w.tally_add(t, "charge_offs", len(co))
        w.tally_add(t, "charged_off_balance", float(st.balance[co].sum()))
        live = live[dpd < w.config.charge_off_dpd]
        dpd = dpd[dpd < w.config.charge_off_dpd]

    # interest and revolving spend
    seasoned = live[pop.first_cycle[live] < j]
    st.balance[seasoned] = np.round(st.balance[seasoned] * (1 + pop.annual_rate[seasoned] / 12), 2)
    spender = seasoned[(pop.product[seasoned] == REVOLVING) & (st.oldest_due[seasoned] >= t)]
    if len(spender):
        spend = pop.credit_limit[spender] * m.revolving_spend * w.streams.amount.uniform(pop.a0 + spender, j, 7)
        st.balance[spender] = np.round(np.minimum(pop.credit_limit[spender], st.balance[spender] + spend), 2)

    # bill the next cycle
    past_due = owed(st, live)
    due = np.round(np.clip(np.minimum(st.inst_eff[live], st.balance[live] - past_due), 0.0, None), 2)
    nxt = min(j + 1, cal.last_cycle)
    slot = (j + 1) % st.ring.shape[1]
    st.ring[live, slot] += due
    next_due_day = (cal.cycle_day[nxt] - pop.due_offset[live]).astype(np.int32)
    fresh = (st.oldest_due[live] == NO_DUE) & (due > 0)
    st.oldest_due[live[fresh]] = next_due_day[fresh]

    if j > cal.start_cycle and w.rec.enabled:
        _statements(w, j, t, live, dpd, past_due, due)
    st.paid_cycle[:] = 0.0

    current = (past_due <= 0.005) & (due > 0)
    _schedule(w, j, t, live[current], due[current], next_due_day[current])
    _shocks(w, j)


def _statements(
    w: BlockWorld, j: int, t: int, live: np.ndarray, dpd: np.ndarray, past_due: np.ndarray, due: np.ndarray
) -> None:
    st, cal = w.st, w.cal
    prev = int(cal.cycle_day[j - 1])
    co = np.flatnonzero(st.status == CHARGED_OFF)
    closed = np.flatnonzero((st.status == CLOSED) & (st.closed_day > prev))
    account = np.concatenate([live, co, closed])
    balance = np.concatenate([st.balance[live], st.balance[co], np.zeros(len(closed))])
    past = np.concatenate([past_due, st.balance[co], np.zeros(len(closed))])
    amount_due = np.concatenate([np.round(past_due + due, 2), st.balance[co], np.zeros(len(closed))])
    days = np.concatenate([dpd, t - st.co_anchor[co], np.zeros(len(closed))])
    w.rec.statements.add(
        account=(w.pop.a0 + account).astype(np.int32),
        cycle=np.full(len(account), j, np.int16),
        balance=balance,
        amount_due=amount_due,
        past_due=past,
        paid=np.round(st.paid_cycle[account], 2),
        dpd=days.astype(np.int32),
    )


def _schedule(w: BlockWorld, j: int, t: int, idx: np.ndarray, due: np.ndarray, due_day: np.ndarray) -> None:
    """Current accounts decide whether to pay the new due on time, and on which day."""
    st, pop, m, cal = w.st, w.pop, w.mech, w.cal
    b = pop.bor[idx]
    seg = pop.seg[b]
    za = pop.za[b] - m.shock_ability_drop * st.shocked[b]
    on_plan = (st.abits[idx] & A_PLAN) != 0
    p_miss = np.where(
        on_plan,
        1 - sigmoid(m.plan_keep_intercept + 0.3 * pop.za[b]),
        sigmoid(miss_logit(m, seg, za, pop.zw[b]) + np.asarray(m.forgetful_miss)[seg]),
    )
    gid = pop.a0 + idx
    pays = w.streams.ontime.uniform(gid, j) >= p_miss
    idx, due, due_day, b, gid, on_plan = idx[pays], due[pays], due_day[pays], b[pays], gid[pays], on_plan[pays]
    last_day = cal.n_days - 1
    payday = cal.last_payday[pop.pay_schedule[b], np.minimum(due_day, last_day)]
    early = due_day - w.streams.ontime.integers(gid, 0, 4, j, 1)
    lag = w.streams.ontime.choice(gid, np.array(m.payday_lag_weights), j, 3)  # paid on payday or soon after
    manual_day = np.where((payday > t) & (payday >= due_day - 14), np.minimum(payday + lag, due_day), early)
    autopay = pop.autopay[idx] & ~on_plan
    day = np.maximum(np.where(autopay, due_day, manual_day), t + 1)
    u = w.streams.ontime.uniform(gid, j, 2)
    revolving = pop.product[idx] == REVOLVING
    extra = np.where(pop.transactor[b], st.balance[idx], np.minimum(st.balance[idx], due * (1 + 2 * u**2)))
    st.sched_day[idx] = day
    st.sched_amt[idx] = np.round(np.where(revolving & ~on_plan, np.maximum(extra, due), due), 2)
    st.sched_method[idx] = np.where(autopay, METHOD["direct_debit"], _MANUAL[pop.method_pref[b]])


def _shocks(w: BlockWorld, j: int) -> None:
    """Income shocks (job loss) start and end once per cycle, per borrower."""
    st, pop, p = w.st, w.pop, w.config.params
    u = w.streams.shock.uniform(pop.b0 + np.arange(pop.n_borrowers), j)
    onset = p.income_shock_rate * 2 * sigmoid(-pop.za)
    st.shocked = np.where(st.shocked, u >= p.income_recovery_rate, u < onset)
