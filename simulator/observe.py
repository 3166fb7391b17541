"""What a policy sees each day: one row per account it may act on (in arrears, charged off, or with a bill
due within a few days and unpaid: `pre_delinquent`).

The public columns are what a lender's systems know that morning. Policies that declare
`wants_truth = True` (the oracle) also get the latent truth, prefixed `truth_`; no other
policy ever sees it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.schema import CHANNELS, PRODUCTS
from core.state import STATE_COLUMNS  # noqa: F401  (re-exported: the columns of the frame `observe` builds)
from simulator.config import SEGMENTS
from simulator.dynamics import delinquent_hazard, past_due_amount, payday_weight, recovery_hazard
from simulator.population import REGIONS
from simulator.state import (
    A_DISPUTE,
    A_PLAN,
    B_BANKRUPT,
    B_CEASE,
    B_DECEASED,
    B_DNC,
    B_OPT_CALL,
    B_OPT_EMAIL,
    B_OPT_SMS,
    B_THIRD,
    CHARGED_OFF,
    NEVER,
    OPEN,
)
from simulator.world import BlockWorld

_NEVER_DAYS = 9999


def _since(t: int, day: np.ndarray) -> np.ndarray:
    return np.where(day <= NEVER, _NEVER_DAYS, t - day).astype(np.int32)


def days_past_due(w: BlockWorld, t: int, idx: np.ndarray) -> np.ndarray:
    st = w.st
    od = st.oldest_due[idx]
    return np.where(st.status[idx] == CHARGED_OFF, t - st.co_anchor[idx], np.where(od < t, t - od, 0)).astype(np.int32)


_PRODUCT = pd.CategoricalDtype(list(PRODUCTS))
_REGION = pd.CategoricalDtype(list(REGIONS))
_SEGMENT = pd.CategoricalDtype(list(SEGMENTS))


def observe(w: BlockWorld, t: int, idx: np.ndarray, allowed: np.ndarray, truth: bool = False) -> pd.DataFrame:
    st, pop = w.st, w.pop
    b = pop.bor[idx]
    bits = st.bbits[b]
    abits = st.abits[idx]
    dpd = days_past_due(w, t, idx)
    pre = (st.status[idx] == OPEN) & (st.oldest_due[idx] >= t)
    cols: dict[str, object] = {
        "account_id": pop.a0 + idx + 1,
        "borrower_id": pop.b0 + b.astype(np.int64) + 1,
        "product": pd.Categorical.from_codes(pop.product[idx], dtype=_PRODUCT),
        "timezone": pd.Categorical.from_codes(pop.tz[b], dtype=w.zone_dtype),
        "region": pd.Categorical.from_codes(pop.region[b], dtype=_REGION),
        "local_weekday": np.full(len(idx), w.cal.weekday[t], dtype=np.int8),
        "days_past_due": dpd,
        "bucket": w.buckets.code(dpd),
        "charged_off": st.status[idx] == CHARGED_OFF,
        "balance": np.round(st.balance[idx], 2),
        "past_due_amount": past_due_amount(w, t, idx),
        "instalment_amount": st.inst_eff[idx],
        "consent_sms": pop.consent[b, 0],
        "consent_email": pop.consent[b, 1],
        "consent_call": pop.consent[b, 2],
        "do_not_contact": (bits & B_DNC) != 0,
        "cease_communication": (bits & B_CEASE) != 0,
        "dispute": (abits & A_DISPUTE) != 0,
        "bankruptcy": (bits & B_BANKRUPT) != 0,
        "deceased": (bits & B_DECEASED) != 0,
        "third_party_only": (bits & B_THIRD) != 0,
        "hardship_plan": (abits & A_PLAN) != 0,
        "opt_out_sms": (bits & B_OPT_SMS) != 0,
        "opt_out_email": (bits & B_OPT_EMAIL) != 0,
        "opt_out_call": (bits & B_OPT_CALL) != 0,
        "contacts_7d": (st.contact_ring[idx] >= t - 7).sum(axis=1).astype(np.int8),
        "days_since_contact": _since(t, st.last_contact[idx]),
        "days_since_call_conversation": _since(t, st.last_call_rpc[idx]),
        "days_since_payment": _since(t, st.last_payment[idx]),
        "promise_pending": st.ptp_day[idx] >= t,
        "promises_made": st.promises[idx],
        # current, with a bill due within Mechanics.pre_delinquency_days and unpaid: a reminder may prevent the miss
        "pre_delinquent": pre,
        "days_to_due": np.where(pre, st.oldest_due[idx] - t, -1).astype(np.int16),
        "months_on_book": np.floor(np.maximum(t - pop.open_day[idx], 0) / 30.44).astype(np.int16),
        # engagement the lender has logged: counts of contacts.outcome == "opened" in the last 90 days
        # (saturating at state.OPEN_RING), and the local hour of the last call conversation (-1: none)
        "emails_opened_90d": (st.email_opens[idx] > t - 90).sum(axis=1).astype(np.int8),
        "sms_replies_90d": (st.sms_replies[idx] > t - 90).sum(axis=1).astype(np.int8),
        "last_answer_hour": st.last_answer_hour[idx],
    }
    for k, c in enumerate(CHANNELS):
        cols[f"can_{c}"] = allowed[:, k]
    if truth:
        cols.update(_truth(w, t, idx, b, pre))
    return pd.DataFrame(cols)


def _truth(w: BlockWorld, t: int, idx: np.ndarray, b: np.ndarray, pre: np.ndarray) -> dict[str, object]:
    """The hidden truth, for the oracle only (`wants_truth`; the harness refuses it to any other policy).

    Besides a few summaries (segment, shock, ability and willingness as probabilities, best call hour), the raw
    traits and state the world's response model (simulator/response.py) reads, so that the oracle prices an
    action with the world's own probabilities: the segment the borrower behaves as, latent ability and
    willingness (z scale), reach type, answer rate, wrong number, bad sms/e-mail, reading rates, sensitivities,
    engagement and fatigue now, days to the next payday, days since the last hardship plan, whether a current
    bill is going to be missed (pre-delinquent rows), and the daily payment hazard rate before the payday
    weight and the engagement lift (simulator/dynamics.py), with the probability that a payment clears the
    arrears.
    """
    st, pop, m, cal = w.st, w.pop, w.mech, w.cal
    shocked = st.shocked[b]
    seg = pop.seg[b]
    behaves = w.response_segment(b)
    za = pop.za[b] - m.shock_ability_drop * shocked
    profile = np.asarray(m.call_hour_profile)
    response = np.asarray(m.segment_response)[behaves]
    # daily hazard rate of paying, net of today's payday weight and engagement lift (0 for current accounts)
    rate = np.zeros(len(idx))
    for rows, hazard in (
        (np.flatnonzero((st.status[idx] == OPEN) & ~pre), delinquent_hazard),
        (np.flatnonzero(st.status[idx] == CHARGED_OFF), recovery_hazard),
    ):
        if len(rows):
            p = hazard(w, t, idx[rows])
            scale = payday_weight(w, t, b[rows]) * (1.0 + w.engagement_lift(t, idx[rows]))
            rate[rows] = -np.log1p(-np.minimum(p, 0.999999)) / scale
    return {
        "truth_segment": pd.Categorical.from_codes(seg, dtype=_SEGMENT),
        "truth_behaves_as": pd.Categorical.from_codes(behaves, dtype=_SEGMENT),
        "truth_shocked": shocked,
        "truth_ability": 1 / (1 + np.exp(-za)),
        "truth_willingness": 1 / (1 + np.exp(-pop.zw[b])),
        "truth_ability_z": za,
        "truth_ability_z_before_shock": pop.za[b],
        "truth_willingness_z": pop.zw[b],
        "truth_best_call_hour": np.argmax(profile, axis=1)[pop.reach_type[b]].astype(np.int8),
        "truth_reach_type": pop.reach_type[b],
        "truth_answer_rate": pop.answer[b],
        "truth_wrong_number": pop.wrong_number[b],
        "truth_bad_sms": pop.bad_sms[b],
        "truth_bad_email": pop.bad_email[b],
        "truth_sms_click": pop.sms_click[b],
        "truth_email_open": pop.email_open[b],
        "truth_sensitivity_call": pop.sens_call[b] * response,
        "truth_sensitivity_digital": pop.sens_digital[b] * response,
        "truth_sens_call": pop.sens_call[b],
        "truth_sens_digital": pop.sens_digital[b],
        "truth_engagement": w.engagement_now(t, idx),
        "truth_fatigue": w.fatigue_now(t, idx),
        "truth_days_to_payday": (cal.next_payday[pop.pay_schedule[b], t] - t).astype(np.int32),
        "truth_days_since_plan": (t - st.last_plan[idx]).astype(np.int64),
        "truth_will_miss": pre & (st.sched_day[idx] < 0),
        "truth_pay_rate": rate,
        "truth_full_payment": 1 / (1 + np.exp(-(np.asarray(m.full_payment_intercept)[behaves] + za))),
    }
