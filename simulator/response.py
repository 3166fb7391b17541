"""How a borrower responds to a contact, as probabilities: the world's response model in pure functions.

The world (simulator/contacts.py) draws each contact's outcome from these probabilities; the
truth-greedy oracle (simulator/policies.Oracle) takes their expectation to price an action before
making it. One model, two users, no copy: a change here changes both.

Every function is elementwise numpy and broadcasts: the world passes one value per contact, the
oracle a (rows, candidate actions) grid with the borrower's traits as a column. Channel codes
index core.schema.CHANNELS, offer codes core.schema.OFFERS, segments simulator.config.SEGMENTS
(the segment a borrower *behaves as*: hardship while under an income shock, see
BlockWorld.response_segment).
"""

from __future__ import annotations

import numpy as np

from core.schema import CHANNELS, OFFERS, OUTCOMES
from simulator.config import AGENCY, CALL, EMAIL, FIELD_VISIT, HARDSHIP, LETTER, SMS, Mechanics
from simulator.rng import sigmoid

#: Channels that reach the borrower as a conversation (answered or not).
VOICE = np.zeros(len(CHANNELS), dtype=bool)
VOICE[[CALL, FIELD_VISIT, AGENCY]] = True
#: Channels that are read (opened or clicked) or buried.
DIGITAL = np.zeros(len(CHANNELS), dtype=bool)
DIGITAL[[SMS, EMAIL]] = True
#: Escalation channels: formal demand letters, field visits, the agency, legal action.
ESCALATION = np.isin(np.array(CHANNELS), ["letter", "field_visit", "agency", "legal"])
#: A reminder's reach before the due date (pre-delinquency), by what the contact achieved: read or a
#: conversation, delivered but not read, a voice attempt that did not reach the borrower.
REMINDER_REACH = {"read": 1.0, "delivered": 0.5, "voice_missed": 0.1}
_PLAN, _SETTLEMENT, _DISCOUNT = (OFFERS.index(o) for o in ("plan", "settlement", "discount"))


def outcome_engagement(m: Mechanics) -> np.ndarray:
    """Engagement an outcome adds (before channel, timing and the borrower's sensitivity), by OUTCOMES code."""
    return np.array([m.engagement_by_outcome[o] for o in OUTCOMES])


def p_undelivered(m: Mechanics, ch: np.ndarray, bad_sms: np.ndarray, bad_email: np.ndarray) -> np.ndarray:
    """P(a message does not arrive): bad numbers and addresses, lost letters; 0 for voice channels."""
    return np.where(
        ch == SMS,
        np.where(bad_sms, 0.85, 0.02),
        np.where(ch == EMAIL, np.where(bad_email, 0.9, 0.03), np.where(ch == LETTER, m.letter_undelivered, 0.0)),
    )


def p_answer(
    m: Mechanics,
    ch: np.ndarray,
    hour: np.ndarray,
    weekday: int | np.ndarray,
    reach_type: np.ndarray,
    answer: np.ndarray,
) -> np.ndarray:
    """P(a voice attempt is answered) by the borrower's reach type, local hour and weekday; 0 for other channels."""
    profile = np.asarray(m.call_hour_profile)[reach_type, hour]
    by_weekday = np.asarray(m.call_weekday_profile)[reach_type, weekday]
    return np.select(
        [ch == CALL, ch == FIELD_VISIT, ch == AGENCY],
        [
            answer * profile * by_weekday,
            m.field_home_probability * np.where((hour >= 9) & (hour <= 19), 1.0, 0.6),
            m.agency_answer_probability * answer / 0.4 * profile,
        ],
        0.0,
    )


def p_wrong_party(ch: np.ndarray, wrong_number: np.ndarray) -> np.ndarray:
    """P(an answered attempt reaches someone else): high for borrowers whose number is wrong (not at the door)."""
    return np.where(wrong_number & (ch != FIELD_VISIT), 0.7, 0.05)


def read_timing(m: Mechanics, ch: np.ndarray, hour: np.ndarray, weekday: int | np.ndarray) -> np.ndarray:
    """Read soon or buried: the sms/e-mail multiplier of reading and of the message's effect (1 otherwise)."""
    read_when = (
        np.asarray(m.digital_hour_profile)[hour]
        * np.asarray(m.digital_weekday_profile)[np.where(ch == EMAIL, 1, 0), weekday]
    )
    return np.where(DIGITAL[ch], read_when, 1.0)


def p_read(ch: np.ndarray, sms_click: np.ndarray, email_open: np.ndarray, read_when: np.ndarray) -> np.ndarray:
    """P(a delivered sms or e-mail is opened or clicked)."""
    return np.where(ch == SMS, sms_click, email_open) * read_when


def contact_risk(m: Mechanics, fatigue: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(excess fatigue, risk multiplier of complaints, ceases, opt-outs and disputes) before the contact."""
    excess = np.maximum(0.0, fatigue - m.fatigue_free)
    return excess, np.exp(m.fatigue_risk * excess) * np.asarray(m.risk_segment)[seg]


def conversation_probabilities(
    m: Mechanics,
    ch: np.ndarray,
    seg: np.ndarray,
    zw: np.ndarray,
    excess: np.ndarray,
    risk: np.ndarray,
    offer: np.ndarray,
    can_plan: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cease, dispute, plan, promise, refusal): the chained probabilities of a right-party conversation's end.

    The world draws one uniform v and takes the first of cease (v < c1), dispute (c1 <= v < c2), plan,
    promise, refusal with c_k = c_(k-1) + (1 - c_(k-1)) x p_k (see `conversation_shares`)."""
    p_cease = np.minimum(0.5, np.asarray(m.cease_base)[ch] * risk)
    p_dispute = np.asarray(m.dispute_base)[ch] * np.asarray(m.risk_segment)[seg]
    p_plan = np.where((seg == HARDSHIP) & can_plan, np.where(offer == _PLAN, m.plan_offer_accept, m.plan_accept), 0.0)
    # a settlement or a discount multiplies the odds of a promise (for less money)
    odds = np.where(offer == _SETTLEMENT, m.settlement_offer[1], np.where(offer == _DISCOUNT, m.discount_offer[1], 1.0))
    p_base = sigmoid(m.ptp_intercept + zw - 0.15 * excess + np.log(odds))
    p_ptp = np.minimum(0.95, p_base * np.asarray(m.ptp_segment)[seg] + 0.1 * (ch == FIELD_VISIT))
    p_refuse = np.asarray(m.refuse_segment)[seg]
    return p_cease, p_dispute, p_plan, p_ptp, p_refuse


def conversation_shares(
    p: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """P(each end | right-party conversation): cease, dispute, plan, promise, refusal, and none of them."""
    shares, left = [], 1.0
    for p_k in p:
        shares.append(left * p_k)
        left = left * (1 - p_k)
    return (*shares, left)  # type: ignore[return-value]


def p_keep(m: Mechanics, seg: np.ndarray, za: np.ndarray, zw: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """P(a promise is kept): ability and willingness, less under pressure (fatigue), by segment."""
    return sigmoid(m.keep_intercept + 0.8 * za + 0.8 * zw - m.fatigue_keep * excess) * np.asarray(m.keep_segment)[seg]


def p_complaint(m: Mechanics, ch: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """P(a complaint | the contact reached the borrower's device or door)."""
    return np.asarray(m.complaint_base)[ch] * risk


def p_opt_out(m: Mechanics, ch: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """P(an opt-out from the channel | a delivered message)."""
    return np.asarray(m.optout_base)[ch] * risk


def sensitivity(
    m: Mechanics, ch: np.ndarray, seg: np.ndarray, sens_call: np.ndarray, sens_digital: np.ndarray
) -> np.ndarray:
    """How much engagement a borrower takes from the channel: own sensitivity x the segment's response
    (escalation channels move won't-pay borrowers, reminders do not)."""
    response = np.where(ESCALATION[ch], np.asarray(m.escalation_response)[seg], np.asarray(m.segment_response)[seg])
    return np.where(VOICE[ch], sens_call, sens_digital) * response


def engagement_gain(
    m: Mechanics, per_outcome: np.ndarray, ch: np.ndarray, read_when: np.ndarray, to_payday: np.ndarray
) -> np.ndarray:
    """Engagement a contact adds before the borrower's sensitivity: the outcome's (or its expectation's) worth
    x the channel's, less for a buried message, more just before a payday."""
    gain = per_outcome * np.asarray(m.channel_engagement)[ch]
    gain = gain * read_when  # a buried message does less
    return gain * np.where(to_payday <= m.payday_contact_days, m.payday_contact_gain, 1.0)


def engagement_lift(m: Mechanics, engagement: np.ndarray) -> np.ndarray:
    """Relative rise of the payment hazard from engagement, saturating at engagement_cap."""
    cap = m.engagement_cap
    return cap * engagement / (cap + engagement)
