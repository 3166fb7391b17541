"""What happens when a contact is made: reach, conversation outcome, and their consequences.

Reach depends on the channel, the borrower (bad numbers, reading habits, who answers calls
at which hour and weekday) and the local hour. A right-party conversation can end in a
promise to pay, a hardship plan (hardship borrowers), a refusal, a dispute or a request to
cease contact; fatigue from recent contacts makes ceases, opt-outs and complaints likelier.
Every draw comes from the policy stream keyed by (account, day, channel), so two policies
that make the same contact get the same outcome (common random numbers). The probabilities
behind every draw are simulator/response.py's pure functions, which the oracle uses too.
"""

from __future__ import annotations

import numpy as np

from core.schema import CHANNELS, OFFERS
from simulator import events, response
from simulator.config import CH, KIND, METHOD, OUT
from simulator.population import MANUAL_METHODS
from simulator.state import A_DISPUTE, A_PLAN, B_CEASE, B_DNC, B_OPT_EMAIL, B_OPT_SMS, CHARGED_OFF, NO_DUE, OPEN
from simulator.world import BlockWorld

_MANUAL_METHOD_CODES = np.array([METHOD[m] for m in MANUAL_METHODS], dtype=np.int8)
_REACH = response.REMINDER_REACH


def make_contacts(
    w: BlockWorld,
    t: int,
    idx: np.ndarray,
    ch: np.ndarray,
    hour: np.ndarray,
    propensity: np.ndarray,
    offer: np.ndarray | None = None,
) -> None:
    """Execute valid contacts (one per borrower) on local day t and apply their consequences.

    `offer`: core.schema.OFFERS codes (None: every contact offers "none")."""
    if len(idx) == 0:
        return
    st, pop, m, cal = w.st, w.pop, w.mech, w.cal
    offer = np.zeros(len(idx), dtype=np.int8) if offer is None else np.asarray(offer, dtype=np.int8)
    gid = pop.a0 + idx
    u = [w.streams.contact.uniform(gid, t, ch, k) for k in range(7)]
    minute = (hour.astype(np.int16) * 60 + np.floor(u[6] * 60).astype(np.int16)).astype(np.int16)
    b = pop.bor[idx]
    seg = w.response_segment(b)
    za = pop.za[b] - m.shock_ability_drop * st.shocked[b]
    zw = pop.zw[b]
    fatigue = w.fatigue_now(t, idx)
    excess, risk = response.contact_risk(m, fatigue, seg)
    is_ = {c: ch == CH[c] for c in CHANNELS}
    voice = response.VOICE[ch]
    co = st.status[idx] == CHARGED_OFF
    weekday = cal.weekday[t]

    # --- reach (probabilities: simulator/response.py, shared with the oracle) --------------------------
    undelivered = u[0] < response.p_undelivered(m, ch, pop.bad_sms[b], pop.bad_email[b])
    answered = voice & (u[0] < response.p_answer(m, ch, hour, weekday, pop.reach_type[b], pop.answer[b]))
    wrong = answered & (u[1] < response.p_wrong_party(ch, pop.wrong_number[b]))
    rpc = answered & ~wrong
    # a message is read soon or buried depending on the local hour and weekday it arrives
    digital = is_["sms"] | is_["email"]
    read_when = response.read_timing(m, ch, hour, weekday)
    p_read = response.p_read(ch, pop.sms_click[b], pop.email_open[b], read_when)
    opened = ~undelivered & digital & (u[1] < p_read)

    outcome = np.full(len(idx), OUT["delivered"], dtype=np.int8)
    outcome[opened] = OUT["opened"]
    outcome[undelivered] = OUT["not_delivered"]
    outcome[voice] = OUT["no_answer"]
    outcome[wrong] = OUT["wrong_party"]
    outcome[rpc] = OUT["right_party_contact"]

    # --- conversation ------------------------------------------------------------------------
    on_plan = (st.abits[idx] & A_PLAN) != 0
    dpd = np.where(st.oldest_due[idx] < t, t - st.oldest_due[idx], 0)
    can_plan = ~on_plan & ~co & (dpd >= m.plan_min_dpd) & (t - st.last_plan[idx] > m.plan_min_gap_days)
    offered = {name: offer == OFFERS.index(name) for name in OFFERS}
    p_cease, p_dispute, p_plan, p_ptp, p_refuse = response.conversation_probabilities(
        m, ch, seg, zw, excess, risk, offer, can_plan
    )
    c1 = p_cease
    c2 = c1 + (1 - c1) * p_dispute
    c3 = c2 + (1 - c2) * p_plan
    c4 = c3 + (1 - c3) * p_ptp
    c5 = c4 + (1 - c4) * p_refuse
    v = u[2]
    cease = rpc & (v < c1)
    dispute = rpc & (v >= c1) & (v < c2)
    plan = rpc & (v >= c2) & (v < c3)
    ptp = rpc & (v >= c3) & (v < c4)
    refused = rpc & (v >= c4) & (v < c5)
    dispute |= is_["letter"] & ~undelivered & (u[3] < p_dispute)
    outcome[cease] = OUT["cease_request"]
    outcome[dispute] = OUT["dispute_raised"]
    outcome[plan | ptp] = OUT["promise_to_pay"]
    outcome[refused] = OUT["refused"]
    reached = ~undelivered & (~voice | answered)
    complaint = reached & (u[5] < response.p_complaint(m, ch, risk))
    opt_out = digital & ~undelivered & (u[4] < response.p_opt_out(m, ch, risk))

    # --- promises ------------------------------------------------------------------------------
    promise_amount = np.full(len(idx), np.nan)
    promise_day = np.full(len(idx), -1, dtype=np.int32)
    if ptp.any():
        r = np.flatnonzero(ptp)
        a = idx[r]
        nxt = cal.next_payday[pop.pay_schedule[b[r]], min(t + 1, cal.n_days - 1)]
        soon = t + 2 + np.floor(u[3][r] * 6).astype(np.int32)
        day = np.where(nxt - t <= m.promise_max_days, nxt, soon).astype(np.int32)
        owed = np.round(st.ring[a].sum(axis=1), 2)
        full = np.where(u[4][r] < 0.7, owed, np.minimum(owed, st.inst_eff[a]))
        settle = np.round(st.balance[a] * (0.3 + 0.4 * u[4][r]), 2)
        amount = np.where(co[r], settle, full)
        owed_now = np.where(co[r], st.balance[a], owed)
        amount = np.where(offered["settlement"][r], np.round(owed_now * m.settlement_offer[0], 2), amount)
        amount = np.where(
            offered["discount"][r], np.round(np.minimum(amount, owed_now * m.discount_offer[0]), 2), amount
        )
        amount = np.where(amount > 0, amount, np.round(st.inst_eff[a], 2))
        keep = u[5][r] < response.p_keep(m, seg[r], za[r], zw[r], excess[r])
        method = np.where(
            co[r],
            METHOD["agency"],
            np.where(is_["field_visit"][r], METHOD["cash"], _MANUAL_METHOD_CODES[pop.method_pref[b[r]]]),
        )
        st.ptp_day[a], st.ptp_amt[a], st.ptp_keep[a], st.ptp_method[a] = day, amount, keep, method
        st.promises[a] += 1
        promise_amount[r], promise_day[r] = amount, day
        w.tally_add(t, "promises", len(r))
    if plan.any():
        r = np.flatnonzero(plan)
        first_due = events.start_plans(w, t, idx[r], minute[r] + 1)
        promise_amount[r] = np.round(pop.instalment[idx[r]] * w.config.params.hardship_plan_fraction, 2)
        promise_day[r] = first_due

    # --- state: engagement, fatigue, contact history --------------------------------------------------
    sens = response.sensitivity(m, ch, seg, pop.sens_call[b], pop.sens_digital[b])
    to_payday = cal.next_payday[pop.pay_schedule[b], t] - t
    gain = response.engagement_gain(m, response.outcome_engagement(m)[outcome], ch, read_when, to_payday)
    st.engage[idx] = (w.engagement_now(t, idx) + gain * sens).astype(np.float32)
    st.engage_day[idx] = t
    st.fatigue[idx] = (fatigue + np.where(undelivered, 0.0, np.asarray(m.fatigue_by_channel)[ch])).astype(np.float32)
    st.fatigue_day[idx] = t
    st.last_contact[idx] = t
    st.contact_ring[idx, t % 7] = t
    st.last_call_rpc[idx[is_["call"] & rpc]] = t
    # what the lender observes of engagement (observe.py): opened e-mails, clicked/replied sms, the last answer hour
    for channel, ring in (("email", st.email_opens), ("sms", st.sms_replies)):
        r = idx[opened & is_[channel]]
        ring[r, st.open_slot[r] % ring.shape[1]] = t
    st.open_slot[idx[opened]] += 1
    st.last_answer_hour[idx[is_["call"] & rpc]] = hour[is_["call"] & rpc]

    # --- pre-delinquency: a reminder before the due date prevents a forgotten payment --------------------
    remind = np.flatnonzero((st.oldest_due[idx] >= t) & (st.oldest_due[idx] != NO_DUE) & (st.status[idx] == OPEN) & ~co)
    if len(remind):
        a = idx[remind]
        reach = np.where(
            opened[remind] | rpc[remind],
            _REACH["read"],
            np.where(outcome[remind] == OUT["delivered"], _REACH["delivered"], _REACH["voice_missed"] * voice[remind]),
        )
        forgot = st.sched_day[a] < 0  # the bill was going to be missed
        rescue = forgot & (u[4][remind] < np.asarray(m.reminder_rescue)[seg[remind]] * reach)
        a = a[rescue]
        if len(a):
            st.sched_day[a] = np.maximum(st.oldest_due[a], t + 1)
            st.sched_amt[a] = np.round(st.ring[a].sum(axis=1), 2)
            st.sched_method[a] = _MANUAL_METHOD_CODES[pop.method_pref[pop.bor[a]]]
            # net value credits the bill a reminder kept from being missed (evaluation/pricing.py)
            w.tally_add(t, "rescued_by_reminder", float(st.sched_amt[a].sum()))

    # --- restrictions created by the contact (in force from the next day) -------------------------
    local_start = minute + 1
    if cease.any():
        r = np.flatnonzero(cease)
        events.restrict_borrower(w, t, b[r], B_CEASE, KIND["cease_communication"], -1, local_start[r], True)
    if dispute.any():
        r = np.flatnonzero(dispute & ((st.abits[idx] & A_DISPUTE) == 0))
        events.start_disputes(w, t, idx[r], local_start[r], True)
    for channel, bit in (("sms", B_OPT_SMS), ("email", B_OPT_EMAIL)):
        r = np.flatnonzero(opt_out & is_[channel])
        if len(r):
            events.restrict_borrower(w, t, b[r], bit, KIND["channel_opt_out"], CH[channel], local_start[r], True)
    if complaint.any():
        r = np.flatnonzero(complaint)
        w.tally_add(t, "complaints", len(r))
        r = r[(u[3][r] < m.complaint_dnc) & ((st.bbits[b[r]] & B_DNC) == 0)]
        if len(r):
            events.restrict_borrower(
                w, t, b[r], B_DNC, KIND["do_not_contact"], -1, local_start[r], True, end_day=t + m.dnc_days
            )

    # --- bookkeeping -----------------------------------------------------------------------------
    w.tally_contacts(t, ch, rpc, cease, dispute, opt_out)
    if w.rec.enabled and t > w.cal.start_day:
        w.rec.contacts.add(
            account=gid.astype(np.int32),
            day=np.full(len(idx), t, np.int32),
            minute=minute,
            tz=pop.tz[b],
            channel=ch,
            outcome=outcome,
            promise_amount=promise_amount,
            promise_day=promise_day,
            propensity=propensity.astype(np.float64),
            offer=np.zeros(len(idx), np.int8) if offer is None else offer.astype(np.int8),  # LOG: contacts.offer
        )
