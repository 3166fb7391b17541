"""The mutable state of one block of accounts, and the dues ledger that defines days past due.

Dues ledger ("ring"): each account keeps the unpaid remainder of its last R billed dues, one
slot per cycle (slot = cycle % R). Payments settle the oldest dues first; days past due is
the age of the oldest unpaid due whose due date has passed. R is chosen so that an account
is charged off before it could need more slots (config.SimConfig.ring_size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.calendar import Calendar
from simulator.config import SimConfig
from simulator.population import Population

NEVER = -(10**6)  # "long ago" for last-event days
OPEN_RING = 6  # opened e-mails / replied sms remembered per account (the 90-day counts saturate there)
NO_DUE = 10**7  # oldest unpaid due day when nothing is owed
PENDING, OPEN, CHARGED_OFF, CLOSED = 0, 1, 2, 3

# borrower-level restriction bits
B_DNC, B_CEASE, B_BANKRUPT, B_DECEASED, B_THIRD, B_OPT_SMS, B_OPT_EMAIL, B_OPT_CALL = (1 << k for k in range(8))
B_BLOCK_ALL = B_DNC | B_CEASE | B_BANKRUPT | B_DECEASED | B_THIRD
# account-level restriction bits
A_DISPUTE, A_PLAN = 1, 2


@dataclass
class State:
    status: np.ndarray
    balance: np.ndarray
    inst_eff: np.ndarray
    ring: np.ndarray
    oldest_due: np.ndarray
    paid_cycle: np.ndarray
    closed_day: np.ndarray
    co_anchor: np.ndarray
    sched_day: np.ndarray
    sched_amt: np.ndarray
    sched_method: np.ndarray
    ptp_day: np.ndarray
    ptp_amt: np.ndarray
    ptp_method: np.ndarray
    ptp_keep: np.ndarray
    plan_end: np.ndarray
    plan_rec: np.ndarray
    last_plan: np.ndarray
    dispute_end: np.ndarray
    dispute_rec: np.ndarray
    abits: np.ndarray
    last_contact: np.ndarray
    last_call_rpc: np.ndarray
    last_payment: np.ndarray
    contact_ring: np.ndarray
    fatigue: np.ndarray
    fatigue_day: np.ndarray
    engage: np.ndarray
    engage_day: np.ndarray
    promises: np.ndarray
    email_opens: np.ndarray  # days of the account's last opened e-mails (ring of OPEN_RING)
    sms_replies: np.ndarray  # days of the account's last clicked or replied sms (ring of OPEN_RING)
    open_slot: np.ndarray
    last_answer_hour: np.ndarray  # local hour of the last call conversation (-1: never)
    in_cohort: np.ndarray  # fell into arrears (or was charged off) during the evaluation window
    # borrower level
    shocked: np.ndarray
    bbits: np.ndarray
    dnc_end: np.ndarray
    dnc_rec: np.ndarray

    @classmethod
    def initial(cls, pop: Population, config: SimConfig, cal: Calendar) -> State:
        na, nb, r = pop.n_accounts, pop.n_borrowers, config.ring_size
        i32 = lambda v: np.full(na, v, dtype=np.int32)  # noqa: E731
        st = cls(
            status=np.where(pop.first_cycle <= cal.first_loop_cycle, OPEN, PENDING).astype(np.int8),
            balance=np.where(pop.first_cycle <= cal.first_loop_cycle, pop.init_balance, 0.0),
            inst_eff=pop.instalment.copy(),
            ring=np.zeros((na, r)),
            oldest_due=i32(NO_DUE),
            paid_cycle=np.zeros(na),
            closed_day=i32(-1),
            co_anchor=i32(0),
            sched_day=i32(-1),
            sched_amt=np.zeros(na),
            sched_method=np.zeros(na, dtype=np.int8),
            ptp_day=i32(-1),
            ptp_amt=np.zeros(na),
            ptp_method=np.zeros(na, dtype=np.int8),
            ptp_keep=np.zeros(na, dtype=bool),
            plan_end=i32(-1),
            plan_rec=i32(-1),
            last_plan=i32(NEVER),
            dispute_end=i32(-1),
            dispute_rec=i32(-1),
            abits=np.zeros(na, dtype=np.uint8),
            last_contact=i32(NEVER),
            last_call_rpc=i32(NEVER),
            last_payment=i32(NEVER),
            contact_ring=np.full((na, 7), NEVER, dtype=np.int32),
            fatigue=np.zeros(na, dtype=np.float32),
            fatigue_day=i32(0),
            engage=np.zeros(na, dtype=np.float32),
            engage_day=i32(0),
            promises=np.zeros(na, dtype=np.int16),
            email_opens=np.full((na, OPEN_RING), NEVER, dtype=np.int32),
            sms_replies=np.full((na, OPEN_RING), NEVER, dtype=np.int32),
            open_slot=np.zeros(na, dtype=np.int32),
            last_answer_hour=np.full(na, -1, dtype=np.int8),
            in_cohort=np.zeros(na, dtype=bool),
            shocked=np.zeros(nb, dtype=bool),
            bbits=np.zeros(nb, dtype=np.uint16),
            dnc_end=np.full(nb, -1, dtype=np.int32),
            dnc_rec=np.full(nb, -1, dtype=np.int32),
        )
        # seasoned arrears: the last k dues before the loop starts are unpaid
        j0 = cal.first_loop_cycle
        for k in range(1, int(pop.init_arrears.max(initial=0)) + 1):
            rows = np.flatnonzero(pop.init_arrears >= k)
            st.ring[rows, (j0 - k + 1) % r] = pop.instalment[rows]
        owed = np.flatnonzero(pop.init_arrears > 0)
        st.oldest_due[owed] = refresh_oldest(st, pop, cal, owed, j0)
        return st


def slot_order(cycle: int, ring_size: int) -> np.ndarray:
    """Ring slots from the oldest to the newest billed cycle, when `cycle` is the newest."""
    return (np.arange(cycle - ring_size + 1, cycle + 1)) % ring_size


def refresh_oldest(st: State, pop: Population, cal: Calendar, idx: np.ndarray, newest_cycle: int) -> np.ndarray:
    """Due day of the oldest unpaid due of accounts `idx` (NO_DUE when nothing is owed)."""
    r = st.ring.shape[1]
    owed = st.ring[idx][:, slot_order(newest_cycle, r)] > 0.005
    first = np.argmax(owed, axis=1)
    cycle = np.clip(newest_cycle - r + 1 + first, 0, len(cal.cycle_day) - 1)
    return np.where(owed.any(axis=1), cal.cycle_day[cycle] - pop.due_offset[idx], NO_DUE).astype(np.int32)


def settle(st: State, idx: np.ndarray, amount: np.ndarray, newest_cycle: int) -> None:
    """Apply payments to the dues of accounts `idx` (distinct), oldest first."""
    r = st.ring.shape[1]
    order = slot_order(newest_cycle, r)
    dues = st.ring[idx][:, order]
    before = np.cumsum(dues, axis=1) - dues
    alloc = np.clip(amount[:, None] - before, 0.0, dues)
    st.ring[idx[:, None], order[None, :]] = np.round(dues - alloc, 2)


def owed(st: State, idx: np.ndarray) -> np.ndarray:
    """Total billed and unpaid (arrears plus the current bill) of accounts `idx`."""
    return np.round(st.ring[idx].sum(axis=1), 2)
