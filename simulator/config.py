"""Configuration of the simulated world: the params.yaml knobs plus secondary constants.

The important knobs (size, dates, mixes, channel costs, policy randomisation) come from
params.yaml through core.params.SimulateParams. Everything else that shapes behaviour is a
named constant in `Mechanics`, a frozen dataclass with documented defaults, so a study can
change one mechanism (`dataclasses.replace(Mechanics(), ...)`) without touching code.
simulator/README.md explains each constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from core.buckets import Buckets
from core.compliance import ComplianceParams
from core.params import SIM_SEGMENTS, ContactParams, Params, SimulateParams
from core.schema import CHANNELS, OUTCOMES, PAYMENT_METHODS, PRODUCTS, RESTRICTION_KINDS

SEGMENTS = SIM_SEGMENTS
NORMAL, SELF_CURE, HARDSHIP, WONT_PAY = range(4)

CH = {name: i for i, name in enumerate(CHANNELS)}
SMS, EMAIL, CALL, LETTER, FIELD_VISIT, AGENCY, LEGAL = (
    CH[c] for c in ("sms", "email", "call", "letter", "field_visit", "agency", "legal")
)
OUT = {name: i for i, name in enumerate(OUTCOMES)}
METHOD = {name: i for i, name in enumerate(PAYMENT_METHODS)}
KIND = {name: i for i, name in enumerate(RESTRICTION_KINDS)}
PROD = {name: i for i, name in enumerate(PRODUCTS)}
INSTALMENT, REVOLVING, BNPL = PROD["instalment"], PROD["revolving"], PROD["bnpl"]

#: Jurisdiction codes drawn for borrowers of each supported zone (other zones get "US"); the region selects
#: the compliance profile (core/compliance), so the Asia/Shanghai segment is held to the CN profile.
ZONE_REGIONS: dict[str, tuple[str, ...]] = {
    "America/New_York": ("US-NY", "US-FL", "US-GA", "US-PA", "US-OH", "US-NC", "US-MI", "US-NJ", "US-VA", "US-MA"),
    "America/Chicago": ("US-TX", "US-IL", "US-MN", "US-WI", "US-MO", "US-TN", "US-AL", "US-LA"),
    "America/Denver": ("US-CO", "US-UT", "US-NM", "US-ID", "US-MT"),
    "America/Phoenix": ("US-AZ",),
    "America/Los_Angeles": ("US-CA", "US-WA", "US-OR", "US-NV"),
    "America/Anchorage": ("US-AK",),
    "Pacific/Honolulu": ("US-HI",),
    # ISO 3166-2:CN provinces and municipalities on Beijing time (the CN profile claims every CN-*)
    "Asia/Shanghai": ("CN-GD", "CN-BJ", "CN-SH", "CN-ZJ", "CN-JS", "CN-SD", "CN-SC", "CN-HB", "CN-HA", "CN-FJ"),
}


def _by_segment(normal: float, self_cure: float, hardship: float, wont_pay: float) -> tuple[float, ...]:
    return (normal, self_cure, hardship, wont_pay)


@dataclass(frozen=True)
class Mechanics:
    """Secondary constants of every mechanism (defaults documented in simulator/README.md).

    Tuples `_by_segment(...)` are indexed by segment: normal, self_cure, hardship, wont_pay.
    Per-channel tuples are indexed like core.schema.CHANNELS.
    """

    # --- population -------------------------------------------------------------------------
    accounts_per_borrower: tuple[float, ...] = (0.88, 0.10, 0.02)  # P(1, 2, 3 accounts)
    ability_mean: tuple[float, ...] = _by_segment(0.3, 0.5, -0.8, 0.5)  # latent z, sd 1
    willingness_mean: tuple[float, ...] = _by_segment(0.3, 0.5, 0.3, -1.5)
    autopay_share: float = 0.35  # accounts paying by direct debit on the due date
    transactor_share: float = 0.35  # revolving borrowers who pay the whole balance
    #: Seasoned accounts already in arrears when the simulation starts, and how deep (1..5 dues).
    initial_arrears: tuple[float, ...] = _by_segment(0.015, 0.06, 0.12, 0.10)
    initial_depth: tuple[tuple[float, ...], ...] = (
        (0.70, 0.18, 0.07, 0.03, 0.02),
        (0.92, 0.06, 0.02, 0.0, 0.0),
        (0.35, 0.22, 0.18, 0.13, 0.12),
        (0.30, 0.22, 0.18, 0.16, 0.14),
    )
    due_offset_days: tuple[int, int] = (3, 25)  # due date lies this many days before cycle end
    #: Origination score: the bureau's view of the borrower's odds of missing a due, on the industry's
    #: points-to-double-the-odds scale (score = centre - pdo / ln 2 x (miss logit - centre logit + error)).
    #: The bureau's error (sd in logits, per borrower) is set so that the score's Gini for reaching
    #: 90+ days past due within the window is about 0.45, mid-range for application scores.
    origination_score_scale: tuple[float, float, float] = (700.0, 20.0, -4.0)  # centre, pdo, centre logit
    origination_score_error: float = 0.75
    # --- pay cycles ---------------------------------------------------------------------------
    #: weights of the pay schedules listed in simulator.calendar.PAY_SCHEDULES
    pay_schedule_weights: tuple[float, ...] = (0.13, 0.05, 0.17, 0.17, 0.08, 0.10, 0.12, 0.04, 0.04, 0.10)
    payday_window_days: int = 3  # payday and the next days count as "just after payday"
    payday_multiplier: float = 6.0  # hazard of paying on those days relative to other days
    payday_lag_weights: tuple[float, ...] = (0.5, 0.3, 0.2)  # on-time payers pay 0, 1, 2 days after payday
    # --- on-time payment (current accounts, decided once per cycle) ----------------------------
    miss_intercept: tuple[float, ...] = _by_segment(-3.6, -3.6, -3.3, -3.2)  # logit P(miss a due), as a bureau sees it
    #: Forgetting: added to the miss logit, unseen by the bureau (self-cure borrowers are able but forgetful; their
    #: short, always-cured lates weigh little in a bureau score) and undone by a reminder before the due date.
    forgetful_miss: tuple[float, ...] = _by_segment(0.0, 2.7, 0.0, 0.0)
    #: Pre-delinquency: current accounts whose bill falls due within this many days and is unpaid are shown to
    #: the policy (`pre_delinquent`); a reminder that reaches a borrower who was going to forget prevents the
    #: miss with reminder_rescue[segment] x reach (opened or a conversation 1, delivered 0.5, no answer 0.1).
    pre_delinquency_days: int = 2  # -1: off (no pre-delinquent rows)
    reminder_rescue: tuple[float, ...] = _by_segment(0.3, 0.7, 0.05, 0.0)
    miss_ability: float = 0.9
    miss_willingness: float = 0.6
    shock_ability_drop: float = 2.0  # an income shock lowers latent ability by this much
    plan_keep_intercept: float = 2.5  # logit P(pay a hardship-plan instalment), plus 0.3 x pre-shock ability
    # --- delinquent payment hazard (per month, spread over days by pay cycle) ------------------
    cure_intercept: tuple[float, ...] = _by_segment(1.8, 3.5, -3.0, -3.6)  # logit monthly P(pay)
    cure_ability: float = 0.8
    cure_willingness: float = 0.8
    cure_dpd: float = 0.012  # per day past due: the longer in arrears, the less likely to pay
    full_payment_intercept: tuple[float, ...] = _by_segment(0.8, 3.5, -2.2, -0.8)  # logit P(pays all arrears)
    hardship_payment_share: tuple[float, float] = (0.2, 0.6)  # of an instalment, when paying in hardship
    recovery_intercept: float = -4.2  # logit monthly P(pay something) after charge-off
    settlement_share: tuple[float, float] = (0.3, 1.0)  # share of the balance paid by a recovery payment
    bankrupt_hazard_factor: float = 0.0
    dispute_hazard_factor: float = 0.3
    # --- channels: reach ------------------------------------------------------------------------
    #: P(call answered) by reach type (home-day, office 9-5, evening/shift) and local hour 0..23
    call_hour_profile: tuple[tuple[float, ...], ...] = (
        (0,) * 8 + (0.55, 0.8, 1.0, 1.0, 0.85, 0.9, 1.0, 0.95, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3) + (0,) * 2,
        (0,) * 8 + (0.55, 0.25, 0.15, 0.2, 0.6, 0.35, 0.15, 0.2, 0.4, 0.9, 1.0, 0.95, 0.6, 0.4) + (0,) * 2,
        (0,) * 8 + (0.15, 0.2, 0.3, 0.35, 0.4, 0.35, 0.3, 0.3, 0.4, 0.6, 0.85, 1.0, 0.95, 0.8) + (0,) * 2,
    )
    reach_type_weights: tuple[float, ...] = (0.30, 0.45, 0.25)
    #: multiplier of the answer probability by reach type and local weekday (Mon..Sun)
    call_weekday_profile: tuple[tuple[float, ...], ...] = (
        (1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6),
        (0.9, 0.9, 0.9, 0.9, 0.85, 1.3, 0.8),
        (1.0, 1.0, 1.0, 1.0, 0.9, 1.1, 0.9),
    )
    #: borrower's peak answer probability: logit N(mean, sd); set so that right-party contacts per call attempt
    #: are about 9% (single digits to low teens in operations' reports, higher in the evening)
    answer_logit: tuple[float, float] = (-1.5, 0.8)
    #: shift of the answer logit and of the sms/e-mail reading logits by the borrower's (first account's) product
    #: (instalment, revolving, bnpl): assumption, bnpl borrowers are younger, read more and answer less
    answer_by_product: tuple[float, ...] = (0.2, 0.0, -0.5)
    digital_by_product: tuple[float, ...] = (-0.2, 0.0, 0.6)
    #: reading logit change per year on book (of the first account at the start): assumption, the novelty of a
    #: lender's messages wears off
    digital_per_year_on_book: float = -0.12
    #: sms/e-mail read (opened or clicked) soon vs. buried: multiplier of the reading probability and of a
    #: delivered message's effect by local hour 0..23 (assumption: before work and lunch read best, late messages
    #: sink under the night's) and by local weekday Mon..Sun (sms, e-mail)
    digital_hour_profile: tuple[float, ...] = (
        (0.5,) * 7 + (1.3, 1.25, 1.0, 0.95, 0.9, 1.2, 1.1, 0.85, 0.8, 0.85, 1.0, 1.05, 1.0, 0.8, 0.55) + (0.5,) * 2
    )
    digital_weekday_profile: tuple[tuple[float, ...], ...] = (
        (1.0, 1.0, 1.0, 1.0, 0.95, 1.1, 1.05),
        (1.05, 1.0, 1.0, 1.0, 0.9, 0.7, 0.75),
    )
    #: a contact on the days just before or on a payday (next payday within this many days) adds this much more
    #: engagement: the borrower has the money when the reminder is fresh (assumption, cf. payments after paydays)
    payday_contact_days: int = 2
    payday_contact_gain: float = 1.6
    wrong_number_share: float = 0.06  # borrowers whose number mostly reaches someone else
    bad_sms_share: float = 0.04
    bad_email_share: float = 0.06
    sms_click_logit: tuple[float, float] = (-1.8, 0.8)
    email_open_logit: tuple[float, float] = (-1.2, 0.8)
    field_home_probability: float = 0.45
    agency_answer_probability: float = 0.35
    letter_undelivered: float = 0.04
    # --- channels: effects ------------------------------------------------------------------------
    #: engagement added by an outcome (multiplied by the borrower's sensitivity to the channel
    #: and the segment's response); it raises the payment hazard by (1 + engagement), decaying.
    engagement_by_outcome: dict[str, float] = field(
        default_factory=lambda: {
            "delivered": 0.35,
            "opened": 0.9,
            "no_answer": 0.08,
            "wrong_party": 0.0,
            "right_party_contact": 1.4,
            "promise_to_pay": 1.4,
            "refused": 0.2,
            "dispute_raised": 0.0,
            "cease_request": 0.0,
            "not_delivered": 0.0,
        }
    )
    channel_engagement: tuple[float, ...] = (1.0, 0.45, 1.0, 1.1, 1.8, 1.2, 1.0)  # per channel
    engagement_decay_days: float = 6.0
    engagement_cap: float = 2.0  # hazard x (1 + cap*e/(cap+e)): repeated contacts have diminishing returns
    segment_response: tuple[float, ...] = _by_segment(1.0, 0.3, 0.25, 0.0)  # contact sensitivity by segment
    #: the same for escalation channels (letter, agency, legal, field visit): won't-pay borrowers ignore reminders
    #: but move when the lender escalates (formal demand, agency, legal action)
    escalation_response: tuple[float, ...] = _by_segment(1.0, 0.3, 0.25, 0.9)
    sensitivity_logsd: float = 0.5  # borrower sensitivity to calls and to digital channels: lognormal
    # --- fatigue ---------------------------------------------------------------------------------------
    fatigue_by_channel: tuple[float, ...] = (0.5, 0.3, 1.0, 0.3, 2.0, 1.0, 1.0)  # added per attempt
    fatigue_decay_days: float = 10.0
    fatigue_free: float = 4.0  # fatigue below this has no effect
    fatigue_willingness: float = 0.10  # hazard multiplied by exp(-this * excess fatigue)
    fatigue_risk: float = 0.30  # complaint/cease/opt-out odds multiplied by exp(this * excess fatigue)
    fatigue_affects: tuple[float, ...] = _by_segment(1.0, 0.0, 1.0, 1.0)
    # --- conversation outcomes (right-party contacts) ------------------------------------------------
    ptp_intercept: float = 0.2  # logit P(promise | RPC) before segment factor
    ptp_segment: tuple[float, ...] = _by_segment(1.0, 1.0, 0.5, 0.4)
    keep_intercept: float = 0.2  # logit P(keep a promise); promises kept (paid by the date) about 50%
    fatigue_keep: float = 0.3  # promises made under pressure are broken: keep logit - this * excess fatigue
    keep_segment: tuple[float, ...] = _by_segment(1.0, 1.0, 0.3, 0.0)  # self-cure are able, won't-pay never
    refuse_segment: tuple[float, ...] = _by_segment(0.08, 0.03, 0.10, 0.50)
    plan_accept: float = 0.25  # P(hardship borrower asks for and agrees a plan when reached without an offer)
    #: offers (core.schema.OFFERS, actions' `offer`): a plan offer raises hardship borrowers' acceptance; a settlement
    #: (share of the balance) or a discount (share off the arrears) raises the promise probability by the lift and
    #: promises less money
    plan_offer_accept: float = 0.6
    settlement_offer: tuple[float, float] = (0.6, 1.8)  # (share of the balance promised, promise odds multiplier)
    discount_offer: tuple[float, float] = (0.8, 1.3)  # (share of the arrears promised, promise odds multiplier)
    plan_min_dpd: int = 15
    plan_min_gap_days: int = 365  # re-ageing at most once a year per account (FFIEC practice)
    promise_max_days: int = 14
    cease_base: tuple[float, ...] = (0.0, 0.0, 0.008, 0.0, 0.02, 0.02, 0.0)  # per RPC, per channel
    optout_base: tuple[float, ...] = (0.002, 0.002, 0.0, 0.0, 0.0, 0.0, 0.0)  # per delivered message
    dispute_base: tuple[float, ...] = (0.0, 0.0, 0.004, 0.003, 0.004, 0.006, 0.0)
    risk_segment: tuple[float, ...] = _by_segment(1.0, 1.0, 1.2, 4.0)  # complaints, ceases, disputes
    complaint_base: tuple[float, ...] = (0.0002, 0.0001, 0.0004, 0.0001, 0.004, 0.001, 0.002)
    complaint_dnc: float = 0.5  # P(a complaint puts the borrower on do-not-contact)
    dnc_days: int = 90
    dispute_days: tuple[int, int] = (30, 60)
    # --- exogenous events (per borrower or account per cycle) ------------------------------------------
    bankruptcy_rate: float = 0.0002
    deceased_rate: float = 0.00004
    attorney_rate: float = 0.0001  # third_party_only: represented by an attorney
    spontaneous_dispute_rate: float = 0.0003
    spontaneous_optout_rate: float = 0.0008
    delinquent_event_factor: float = 15.0  # those rates multiply by this for borrowers in arrears
    # --- products ---------------------------------------------------------------------------------------
    instalment_terms: tuple[int, ...] = (12, 24, 36, 48, 60)
    bnpl_terms: tuple[int, ...] = (3, 4, 6)
    instalment_principal: tuple[float, float] = (8000.0, 0.7)  # lognormal median, sd of log
    credit_limit: tuple[float, float] = (4000.0, 0.7)
    bnpl_principal: tuple[float, float] = (100.0, 1500.0)
    min_payment_share: float = 0.03  # revolving minimum payment: share of the limit (at least 25)
    revolving_spend: float = 0.12  # monthly spend of current revolving accounts, share of the limit (max)


@dataclass(frozen=True)
class SimConfig:
    """Everything a simulation run needs: knobs from params.yaml, buckets, seed and mechanics."""

    seed: int
    params: SimulateParams
    buckets: Buckets
    contact: ContactParams = field(default_factory=ContactParams)
    mechanics: Mechanics = field(default_factory=Mechanics)
    #: The contact rulebook's profiles (params.yaml `compliance:`); every policy is held to them.
    compliance: ComplianceParams = field(default_factory=ComplianceParams)

    @classmethod
    def from_params(cls, params: Params, mechanics: Mechanics | None = None, **overrides: object) -> SimConfig:
        """Build from parsed params; `overrides` replace fields of the simulate section (e.g. accounts)."""
        sim = params.simulate.model_copy(update=overrides) if overrides else params.simulate
        if overrides:
            sim = SimulateParams.model_validate(sim.model_dump())
        return cls(
            seed=params.seeds.world,
            params=sim,
            contact=params.contact,
            buckets=params.buckets.as_buckets(),
            mechanics=mechanics or Mechanics(),
            compliance=params.compliance,
        )

    @property
    def start_date(self) -> date:
        return self.params.start_date

    @property
    def charge_off_dpd(self) -> int:
        """Accounts are charged off at the cycle end where days past due reach the last bucket."""
        return int(self.buckets.min_dpd[self.buckets.charge_off])

    @property
    def ring_size(self) -> int:
        """Unpaid dues an account can carry before charge-off, plus slack (see state.py)."""
        return int(np.ceil(self.charge_off_dpd / 28.0)) + 3

    def mix(self, name: str, order: tuple[str, ...]) -> np.ndarray:
        """Normalised weights of a params mix in a fixed order (missing keys weigh 0)."""
        raw = getattr(self.params, name)
        w = np.array([float(raw.get(k, 0.0)) for k in order])
        return w / w.sum()

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(self.params.timezone_mix)

    @property
    def channel_cost(self) -> np.ndarray:
        return np.array([self.contact.channel_cost[c] for c in CHANNELS])
