"""params.yaml, parsed and validated in one place.

Each stage reads its own section through `load_params()`; a typo or an out-of-range value
fails here, before any work, with the key path in the message. Sections forbid unknown
keys so a misspelt knob is an error rather than silently ignored.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.buckets import Buckets
from core.compliance import ComplianceParams
from core.errors import ParamsError
from core.paths import PARAMS_FILE
from core.schema import TABLE_NAMES, table


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BucketParams(Section):
    names: tuple[str, ...] = (
        "current",
        "dpd_1_29",
        "dpd_30_59",
        "dpd_60_89",
        "dpd_90_119",
        "dpd_120_179",
        "charge_off",
    )
    min_dpd: tuple[int, ...] = (0, 1, 30, 60, 90, 120, 180)

    @model_validator(mode="after")
    def _consistent(self) -> BucketParams:
        self.as_buckets()  # raises ValueError with the reason
        return self

    def as_buckets(self) -> Buckets:
        return Buckets(names=self.names, min_dpd=self.min_dpd)


#: Behavioural segments of simulated borrowers (see docs/simulator.md).
SIM_SEGMENTS = ("normal", "self_cure", "hardship", "wont_pay")


def _check_mix(name: str, mix: dict[str, float], allowed: tuple[str, ...] | None) -> None:
    """A mix is a set of non-negative weights over named values (normalised by the simulator)."""
    if allowed is not None:
        unknown = sorted(set(mix) - set(allowed))
        if unknown:
            raise ValueError(f"{name} has unknown key(s) {unknown}; allowed: {list(allowed)}")
    if any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"{name} needs non-negative weights with a positive sum")


def _check_timezone(zone: str) -> None:
    """An IANA zone; whether the simulator's clock can order its records is checked with the compliance hours
    (Params._zone_clocks, core.compliance.clock)."""
    from core.compliance.clock import ClockError, utc_minus_local

    try:
        utc_minus_local(zone)
    except ClockError as exc:
        raise ValueError(f"timezone_mix: {exc}") from None


class SimulateParams(Section):
    """Size and shape of the simulated book and its main behavioural knobs.

    Secondary mechanism constants live in simulator.config.Mechanics; docs/simulator.md
    documents every one of them.
    """

    accounts: int = Field(40_000, ge=10)
    cycles: int = Field(24, ge=3, le=240)
    start_date: date = date(2024, 1, 1)
    #: Cycles simulated (under business as usual) before start_date and not written, so the
    #: first written cycles already show a seasoned book (arrears, fatigue, restrictions).
    burn_in_cycles: int = Field(3, ge=0, le=24)
    #: Accounts simulated at a time; bounds memory. Results do not depend on it.
    block_accounts: int = Field(250_000, ge=100)
    #: Share of accounts originated during the simulated window rather than before it.
    new_account_share: float = Field(0.25, ge=0.0, le=1.0)
    product_mix: dict[str, float] = {"instalment": 0.5, "revolving": 0.35, "bnpl": 0.15}
    segment_mix: dict[str, float] = {"normal": 0.62, "self_cure": 0.22, "hardship": 0.10, "wont_pay": 0.06}
    timezone_mix: dict[str, float] = {
        "America/New_York": 0.26,
        "America/Chicago": 0.24,
        "America/Denver": 0.05,
        "America/Phoenix": 0.03,
        "America/Los_Angeles": 0.24,
        "America/Anchorage": 0.015,
        "Pacific/Honolulu": 0.015,
        "Asia/Shanghai": 0.15,  # the CN segment (region CN-*, profile CN)
    }
    #: Share of borrowers who consented to collection contact on each channel.
    consent: dict[str, float] = {"sms": 0.70, "email": 0.80, "call": 0.90}
    #: Business-as-usual logging policy: share of each choice (channel, hour, offer) drawn uniformly
    #: over the allowed ones instead of from the lender's rule; off its cadence an account is
    #: contacted with probability bau_exploration / 4 a day.
    bau_exploration: float = Field(0.10, ge=0.0, le=1.0)
    #: Business-as-usual logging policy: the least probability of every allowed action (channel x
    #: local hour x offer of each account shown, and no contact) on every account-day shown.
    bau_floor: float = Field(2e-5, ge=0.0, le=0.01)
    #: Monthly probability that an employed borrower loses income, and that a shocked one recovers.
    income_shock_rate: float = Field(0.005, ge=0.0, le=1.0)
    income_recovery_rate: float = Field(0.15, ge=0.0, le=1.0)
    #: Hardship plan: instalment as a fraction of the contractual one, and its length in cycles.
    hardship_plan_fraction: float = Field(0.4, gt=0.0, le=1.0)
    hardship_plan_cycles: int = Field(6, ge=1, le=36)

    @model_validator(mode="after")
    def _mixes(self) -> SimulateParams:
        from core.schema import CONSENT_CHANNELS, PRODUCTS

        _check_mix("product_mix", self.product_mix, PRODUCTS)
        _check_mix("segment_mix", self.segment_mix, SIM_SEGMENTS)
        _check_mix("timezone_mix", self.timezone_mix, None)
        for zone in self.timezone_mix:
            _check_timezone(zone)
        if set(self.consent) != set(CONSENT_CHANNELS) or not all(0 <= v <= 1 for v in self.consent.values()):
            raise ValueError(f"consent needs a probability for each of {list(CONSENT_CHANNELS)}")
        return self


class ContactParams(Section):
    """Business inputs of contacting: what each action costs (later also the prices of harm).

    The simulator charges these costs; the strategy and the policy evaluation weigh them
    against what a contact collects. Kept apart from `simulate:` because they are the
    lender's figures, not properties of the simulated world.
    """

    #: Cost of one contact attempt per channel (currency units).
    channel_cost: dict[str, float] = {
        "sms": 0.02,
        "email": 0.005,
        "call": 0.90,
        "letter": 0.80,
        "field_visit": 25.0,
        "agency": 0.50,
        "legal": 40.0,
    }

    #: Agent time per right-party call conversation (minutes) and its cost per minute: a call that
    #: reaches the borrower costs more than one that rings out (evaluation/pricing.py).
    talk_minutes: float = Field(5.0, ge=0.0)
    talk_cost_per_minute: float = Field(0.75, ge=0.0)
    #: Share of what the collection agency collects after charge-off that it keeps (contingency fee);
    #: its per-placement fee is channel_cost.agency.
    contingency_share: float = Field(0.25, ge=0.0, le=1.0)
    #: Prices of harm, per event: a complaint (handling, regulatory exposure), a request to cease
    #: contact, an opt-out from a channel. Stated assumptions of the lender, not estimates.
    complaint_price: float = Field(100.0, ge=0.0)
    cease_price: float = Field(25.0, ge=0.0)
    opt_out_price: float = Field(2.0, ge=0.0)

    @model_validator(mode="after")
    def _costs(self) -> ContactParams:
        from core.schema import CHANNELS

        if set(self.channel_cost) != set(CHANNELS) or any(v < 0 for v in self.channel_cost.values()):
            raise ValueError(f"channel_cost needs a non-negative cost for each of {list(CHANNELS)}")
        return self


#: Reference policies the evaluation knows by name (evaluation/references.py maps them to import specs).
REFERENCE_POLICIES = ("business_as_usual", "no_contact", "contact_everyone", "random_budget", "simple_rule", "oracle")


class EvaluateParams(Section):
    """Policy evaluation (evaluation/, stage `evaluate`): held-out worlds, horizon, references.

    Evaluation worlds are the simulated world of `simulate:` drawn from other seeds than the logged
    book's (`seeds.world`): new borrowers and new exogenous draws, so nothing learnt by heart from
    the log carries over.
    """

    #: World seeds of the evaluation worlds; none may equal seeds.world.
    seeds: tuple[int, ...] = Field((101, 102, 103), min_length=1)
    #: Accounts per evaluation world (the stage runs 18 replays: kept modest); null: simulate.accounts.
    accounts: int | None = Field(20_000, ge=10)
    #: The horizon: statement cycles the policy runs after the burn-in; null: simulate.cycles.
    cycles: int | None = Field(None, ge=3, le=240)
    #: Reference policies evaluated by the stage (names in REFERENCE_POLICIES).
    policies: tuple[str, ...] = REFERENCE_POLICIES
    #: Worlds run at a time (processes); each runs its policy in one more process.
    workers: int = Field(2, ge=1, le=64)
    #: Two-sided confidence level of the intervals across seeds (t-interval over seed means).
    confidence: float = Field(0.95, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _known(self) -> EvaluateParams:
        unknown = sorted(set(self.policies) - set(REFERENCE_POLICIES))
        if unknown:
            raise ValueError(f"policies has unknown name(s) {unknown}; known: {list(REFERENCE_POLICIES)}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct")
        return self


RuleSeverity = Literal["fatal", "quarantine"]


class ValidateSeverity(Section):
    """What each row-level rule does when rows fail it (rule names as in validation.rules).

    `quarantine` moves the failing rows to data/quarantine/<table>.parquet and lets the good
    rows go on; `fatal` stops the pipeline. Structural rules (file_present, readable, not_empty,
    required_columns) are always fatal, and a table with more than `max_quarantine_share` of its
    rows quarantined escalates to fatal.
    """

    dtype: RuleSeverity = "quarantine"
    not_null: RuleSeverity = "quarantine"
    unique_key: RuleSeverity = "fatal"
    allowed_values: RuleSeverity = "quarantine"
    min_value: RuleSeverity = "quarantine"
    max_value: RuleSeverity = "quarantine"
    valid_timezone: RuleSeverity = "quarantine"
    unambiguous_timestamp: RuleSeverity = "quarantine"
    not_after_as_of: RuleSeverity = "quarantine"
    not_before_open_date: RuleSeverity = "quarantine"
    end_after_start: RuleSeverity = "quarantine"
    dpd_band: RuleSeverity = "quarantine"
    status_owes_nothing: RuleSeverity = "quarantine"
    dpd_growth: RuleSeverity = "quarantine"
    dpd_cure: RuleSeverity = "quarantine"
    amount_paid_matches_payments: RuleSeverity = "quarantine"
    decision_consistent: RuleSeverity = "quarantine"
    decision_matches_contact: RuleSeverity = "quarantine"
    reference: RuleSeverity = "quarantine"
    account_of_borrower: RuleSeverity = "quarantine"
    orphan_of_quarantined_account: RuleSeverity = "quarantine"


class ValidateParams(Section):
    """The `validate` stage: severities and tolerances of the checks (the as-of date is `run_date`)."""

    #: A table with a larger share of its rows quarantined fails the run instead.
    max_quarantine_share: float = Field(0.05, ge=0.0, le=1.0)
    #: Columns the schema does not know: `fatal` (the default: often a misspelt column) or
    #: `drop` (ignored, listed in the report).
    extra_columns: Literal["fatal", "drop"] = "fatal"
    #: Largest absolute difference between statements.amount_paid and the sum of the cycle's payments.
    amount_paid_tolerance: float = Field(0.01, ge=0.0)
    #: A status-coded source (a monthly status or band instead of exact days): the lower edges of its
    #: bands in days, starting at 0, e.g. [0, 1, 30, 60, 90, 120, 150]. days_past_due is then a band's
    #: lower end; the band runs to the next edge minus one day, the last one open-ended. null: exact days.
    dpd_bands: tuple[int, ...] | None = None
    #: How many days before its cycle_date a statement's days past due may have been measured: 0 when
    #: the count is as at the cycle date; a monthly status taken on an unknown day of its month: 30.
    #: DPD may then grow by that much more, and a payment or plan that many days earlier explains a fall.
    dpd_timing_days: int = Field(0, ge=0, le=366)
    #: The first day the extract covers (payments and statements from that date on); null: the whole
    #: history since each account opened. A statement whose cycle window opens earlier is a boundary:
    #: its amount_paid may include payments the extract lacks, so it must only cover those present.
    extract_start: date | None = None
    #: Which calendar day a payment is posted on, for the cycle windows: `utc` (the UTC date of
    #: paid_at) or `local` (the date in the account's time zone: books that close at local midnight).
    posting_day: Literal["utc", "local"] = "utc"
    #: How the input writes dates that are not ISO 8601 (YYYY-MM-DD): a strftime format naming day,
    #: month and year, e.g. "%d/%m/%Y" (05/03/2024 = 5 March). null: ISO 8601 only, and any other
    #: date is quarantined (`dtype`), never guessed. Timestamps are always ISO 8601.
    date_format: str | None = None
    severity: ValidateSeverity = ValidateSeverity()

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, raw: Any) -> Any:
        """`may_be_empty` is gone: which tables a source may lack is the schema's declaration."""
        if isinstance(raw, dict) and "may_be_empty" in raw:
            optional = [name for name in TABLE_NAMES if table(name).optional]
            raise ValueError(
                "may_be_empty was removed: the schema declares which tables a source may lack or leave "
                f"empty ({', '.join(optional)}; core/schema.py, docs/schema.md); delete the key"
            )
        return raw

    @model_validator(mode="after")
    def _bands(self) -> ValidateParams:
        edges = self.dpd_bands
        if edges is not None and (len(edges) < 2 or edges[0] != 0 or list(edges) != sorted(set(edges))):
            raise ValueError("dpd_bands must start at 0 and strictly increase, with at least two bands")
        return self

    @model_validator(mode="after")
    def _whole_dates(self) -> ValidateParams:
        """date_format must read back the day, month and year it writes (5 March 2024 and 31 Dec 1999)."""
        if self.date_format is not None:
            for day in (date(2024, 3, 5), date(1999, 12, 31)):
                try:
                    back = datetime.strptime(day.strftime(self.date_format), self.date_format).date()
                except ValueError:
                    back = None
                if back != day:
                    raise ValueError(
                        f"date_format {self.date_format!r} does not name day, month and year (e.g. '%d/%m/%Y')"
                    )
        return self


class FeaturesParams(Section):
    """Windows, label horizons and partition size of the `features` stage (see features/)."""

    #: Day windows before the as-of date for payment and contact counts and amounts.
    payment_windows_days: tuple[int, ...] = Field((7, 30, 90, 180), min_length=1)
    contact_windows_days: tuple[int, ...] = Field((7, 30), min_length=1)
    #: Cycle windows (statements) for worst bucket, payment shares, utilisation trends.
    cycle_windows: tuple[int, ...] = Field((3, 6, 12), min_length=1)
    #: Local-hour edges of the call hour bands: [8, 12, 17, 21] gives 08-12, 12-17, 17-21.
    hour_band_edges: tuple[int, ...] = Field((8, 12, 17, 21), min_length=2)
    #: Propensity-to-pay labels: paid at least `ptp_min_share` of the past-due amount within each horizon.
    ptp_horizons_days: tuple[int, ...] = Field((7, 30), min_length=1)
    ptp_min_share: float = Field(0.5, gt=0.0, le=1.0)
    #: Contact-response label: a payment within this many days after the contact.
    contact_response_days: int = Field(7, ge=1, le=365)
    #: Accounts per partition: the stage holds one partition's histories in memory at a time.
    partition_accounts: int = Field(50_000, ge=1)
    #: Raw statement values of the last `raw_lags` statements before D, one column per value and lag
    #: (features/raw.py): what the source said, beside the engineered summaries.
    raw_lags: int = Field(3, ge=1, le=24)
    #: The longest a billing cycle lasts, in days: a statement further than this after the one before
    #: follows a gap (a statement missing or quarantined), and the label of the row before the gap,
    #: which would describe two cycles ahead, is empty.
    max_cycle_days: int = Field(45, ge=1, le=400)

    @model_validator(mode="after")
    def _windows(self) -> FeaturesParams:
        for name in ("payment_windows_days", "contact_windows_days", "cycle_windows", "ptp_horizons_days"):
            values = getattr(self, name)
            if min(values) < 1 or list(values) != sorted(set(values)):
                raise ValueError(f"{name} must be positive and strictly increasing")
        edges = self.hour_band_edges
        if min(edges) < 0 or max(edges) > 24 or list(edges) != sorted(set(edges)):
            raise ValueError("hour_band_edges must be strictly increasing hours within 0..24")
        return self


class LightGBMParams(Section):
    """LightGBM knobs of the roll-rate model: regularised defaults, rounds capped by early stopping."""

    learning_rate: float = Field(0.05, gt=0.0, le=1.0)
    num_leaves: int = Field(31, ge=2, le=4096)
    min_child_samples: int = Field(100, ge=1)
    feature_fraction: float = Field(0.7, gt=0.0, le=1.0)
    bagging_fraction: float = Field(0.8, gt=0.0, le=1.0)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(5.0, ge=0.0)
    max_bin: int = Field(63, ge=3, le=1023)
    #: Most boosting rounds; early stopping on the validation window usually stops well before.
    n_estimators: int = Field(1000, ge=1)
    early_stopping_rounds: int = Field(50, ge=1)
    #: Fixed thread count: LightGBM results depend on it, and `dvc repro` must be reproducible.
    num_threads: int = Field(2, ge=1)


class SplitParams(Section):
    """How the labelled rows are split into training and test parts (models/common/split.py)."""

    #: `time`: out of time (the windows `valid_cycles`, `test_cycles`, `max_train_cycles`): test on the
    #: latest months. `account`: grouped k-fold by account: every account is predicted by the model of
    #: the fold that never saw it, trained on the whole rest (inner folds early-stop and calibrate),
    #: for short histories where holding months out leaves too little (UCI: six months).
    method: Literal["time", "account"] = "time"
    #: account: outer folds; accounts are dealt to folds at random, seeded by `seeds.training`.
    folds: int = Field(5, ge=2, le=50)
    #: account: inner folds (by account) inside each training part: one LightGBM per inner fold,
    #: early-stopped on it; their out-of-fold predictions choose the model form and fit the
    #: calibration, and the model scores with their mean.
    inner_folds: int = Field(4, ge=2, le=20)


class RollRateParams(Section):
    """The `roll_rate` stage: split, model shape, calibration, baselines and tracking."""

    split: SplitParams = SplitParams()
    #: Time split by as-of month: the latest `test_cycles` labelled months are the test
    #: window, the `valid_cycles` before them the validation window, earlier months train.
    valid_cycles: int = Field(3, ge=1)
    test_cycles: int = Field(3, ge=1)
    #: Time split: train on at most this many of the latest training months (null: all of them).
    max_train_cycles: int | None = Field(None, ge=1)
    #: Ignore as-of dates before `first_as_of_date` or after `last_as_of_date` (null: no bound). For
    #: data whose coding changes between months, e.g. the UCI September status codes.
    first_as_of_date: date | None = None
    last_as_of_date: date | None = None
    #: The last bucket is absorbing (charge-off: an account there stays there, is never scored and
    #: trains nothing). false: it is an ordinary bucket that can cure, e.g. "3+ months late".
    absorbing_last_bucket: bool = True
    #: The model's form: one multiclass model, one model per source bucket, or `auto` (the better
    #: on validation). Not to be confused with the contact strategy.
    model_form: Literal["auto", "multiclass", "per_source"] = "auto"
    #: Probability calibration fitted on the validation window; `auto` picks by cross-fitted log loss.
    calibration: Literal["auto", "isotonic", "platt", "none"] = "auto"
    #: Markov baseline: a transition matrix per segment (accounts column among the features),
    #: shrunk towards the pooled matrix by `segment_prior` pseudo-transitions per row.
    segment_column: str | None = "product"
    segment_prior: float = Field(50.0, ge=0.0)
    #: Pseudo-count added to every cell of the pooled matrix (no transition gets probability 0).
    smoothing: float = Field(0.5, ge=0.0)
    #: Flow-rate forecast: cycles ahead of the first test month.
    forecast_horizons: int = Field(3, ge=1, le=12)
    calibration_bins: int = Field(10, ge=2, le=100)
    #: Rows explained in the SHAP summary plot.
    shap_sample: int = Field(500, ge=10)
    #: MLflow experiment (one per model family) and registered model name.
    experiment: str = Field("roll_rate", min_length=1)
    registered_model: str = Field("roll_rate", min_length=1)
    lightgbm: LightGBMParams = LightGBMParams()

    @model_validator(mode="after")
    def _dates(self) -> RollRateParams:
        if self.first_as_of_date and self.last_as_of_date and self.first_as_of_date > self.last_as_of_date:
            raise ValueError("first_as_of_date must not be after last_as_of_date")
        return self


# --- PTP (propensity to pay, issue 14): the `propensity:` section ---
class PropensityParams(Section):
    """The `propensity` stage: P(pays at least `features.ptp_min_share` of the amount past due within
    each of `features.ptp_horizons_days`) and the expected amount paid, for accounts in arrears."""

    #: Out-of-time split by as-of month, as `roll_rate`: the latest `test_cycles` labelled months test,
    #: the `valid_cycles` before them validate (early stopping, calibration), earlier months train.
    valid_cycles: int = Field(3, ge=1)
    test_cycles: int = Field(3, ge=1)
    #: Train on at most this many of the latest training months (null: all of them).
    max_train_cycles: int | None = Field(None, ge=1)
    #: Calibration of each probability, fitted on the validation window; `auto`: lowest cross-fitted log loss.
    calibration: Literal["auto", "isotonic", "platt", "none"] = "auto"
    calibration_bins: int = Field(10, ge=2, le=100)
    #: The logistic-regression baseline's features: depth and size of the arrears, recent repayment, recency.
    baseline_features: tuple[str, ...] = Field(
        ("days_past_due", "past_due_amount", "paid_to_due_3c", "days_since_payment"), min_length=1
    )
    #: Expected amount paid: LightGBM Tweedie regression; its variance power (1: Poisson, 2: gamma).
    tweedie_variance_power: float = Field(1.5, gt=1.0, lt=2.0)
    #: MLflow experiment and registered model name; alias `champion` moves only on a win on the same window.
    experiment: str = Field("propensity", min_length=1)
    registered_model: str = Field("propensity", min_length=1)
    lightgbm: LightGBMParams = LightGBMParams()


# --- end PTP ---


# --- UPLIFT (contact response, issue 14): the `uplift:` section ---
class UpliftParams(Section):
    """The `uplift` stage: per action and contact window, the expected payment within `response_days` of
    a decision if the action is taken, learnt from the decision log (docs/uplift.md)."""

    #: Payments within this many days of a decision (its local morning) are its response.
    response_days: int = Field(7, ge=1, le=60)
    #: Local hour bands [first, end) of the contact windows; a policy contacts at the band's middle hour.
    hour_bands: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: {"morning": (8, 12), "afternoon": (12, 17), "evening": (17, 21)}
    )
    #: Weekday types of the contact windows (0 = Monday): a feature of the decision's day.
    weekday_types: dict[str, tuple[int, ...]] = Field(
        default_factory=lambda: {"weekday": (0, 1, 2, 3, 4), "saturday": (5,), "sunday": (6,)}
    )
    #: Days before the due date the lender shows current accounts to its policy (reminder rows); the log
    #: does not mark them, so rows are read as reminders by this count (models/uplift/rows.py).
    pre_delinquency_days: int = Field(2, ge=-1, le=10)
    #: Out-of-time windows by decision date: the latest `test_days` test, the `valid_days` before
    #: validate (early stopping, choice of learner); decisions whose response runs into the next window are dropped.
    valid_days: int = Field(60, ge=7)
    test_days: int = Field(60, ge=7)
    #: Share of no-contact decisions kept for training (they are most of the log); weighted back.
    none_sample: float = Field(0.25, gt=0.0, le=1.0)
    #: At most about this many training (and validation) rows of any one arm, weighted back: bounds training time.
    max_rows_per_arm: int = Field(60000, ge=1000)
    #: Learners compared on the validation window (mean Qini coefficient); the best is kept.
    learners: tuple[Literal["t", "dr"], ...] = Field(("t", "dr"), min_length=1)
    #: The greedy policy contacts an account at most once in this many days (models/uplift/greedy.py).
    min_days_between_contacts: int = Field(3, ge=0)
    #: Least estimated arm propensity in the DR-learner's pseudo-outcomes and the Qini weights.
    propensity_clip: float = Field(0.01, gt=0.0, lt=0.5)
    #: Off-policy estimates: a matched logged propensity below this is flagged (the logging floor).
    min_propensity: float = Field(0.00002, gt=0.0, lt=1.0)
    #: Bootstrap resamples and two-sided confidence of the Qini and off-policy intervals.
    bootstrap: int = Field(200, ge=10)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    #: MLflow experiment and registered model name; alias `champion` moves only on a win on the same window.
    experiment: str = Field("uplift", min_length=1)
    registered_model: str = Field("uplift", min_length=1)
    lightgbm: LightGBMParams = LightGBMParams(learning_rate=0.1, n_estimators=300, early_stopping_rounds=30)

    @model_validator(mode="after")
    def _bands(self) -> UpliftParams:
        for name, (first, end) in self.hour_bands.items():
            if not 0 <= first < end <= 24:
                raise ValueError(f"uplift.hour_bands.{name}: need 0 <= first < end <= 24, got [{first}, {end})")
        days = sorted(d for v in self.weekday_types.values() for d in v)
        if days != list(range(7)):
            raise ValueError("uplift.weekday_types must hold each weekday 0..6 exactly once")
        return self


# --- end UPLIFT ---


# --- STRATEGY (contact strategy, issue 15): the `strategy:` section ---
class StrategyParams(Section):
    """The contact strategy's foundations (docs/strategy.md): contact windows, capacity and how it is shared."""

    #: Contact windows, local hour bands [first, end) on the run date in the borrower's own time zone; every
    #: contact action is proposed in every window, and a window is allowed only if the rulebook allows each
    #: local hour it covers (the profile's hours decide, e.g. US until 21:00, CN until 22:00).
    windows: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: {"morning": (8, 12), "afternoon": (12, 17), "evening": (17, 21), "late": (21, 22)}
    )
    #: Outbound calls the call centre can place in one UTC hour; a call in a window uses the hours of the
    #: window in proportion to their minutes (the dialer spreads a window's calls evenly).
    calls_per_hour: float = Field(2000.0, ge=0.0)
    #: Field visits the field agents can make on the run date (all zones together).
    field_visits_per_day: float = Field(200.0, ge=0.0)
    #: How capacity is shared across borrowers: `greedy` by value per unit of capacity, or `lp` (HiGHS linear
    #: program, then rounded to one action per borrower); chosen by benchmarks/strategy_core.py.
    allocation: Literal["greedy", "lp"] = "lp"
    #: Complaints per collection contact, from the lender's complaints register (the schema's tables hold no
    #: complaints): priced at `contact.complaint_price` on every contact. 0.0002 is this book's business-as-usual
    #: register (about 2 complaints per 10,000 contacts); set your own.
    complaints_per_contact: float = Field(0.0002, ge=0.0, le=1.0)
    #: Days after a statement over which the value per bucket (the share of the balance collected) is measured.
    horizon_days: int = Field(360, ge=1)
    #: Weight of the long-horizon term (keeping an account from rolling on, strategy/outlook.py) in an action's
    #: value: 1 counts it in full, 0 gives the myopic policy (next-cash only). Chosen by the harness
    #: (benchmarks/policy.py compares both).
    horizon_weight: float = Field(1.0, ge=0.0)
    #: Multiplies the harm prices (cease, opt-out, complaint) in the action values: 1 prices harm at `contact:`;
    #: the benchmark sweeps it for the net value against contacts plot.
    harm_scale: float = Field(1.0, ge=0.0)
    #: Contacts a day at most, allocated to the most valuable: "log" is what business as usual would spend on the
    #: accounts shown that day, each at the decision log's contact rate for its bucket (the same volume, as in Abe
    #: et al.'s "same resources"; strategy.model.StrategyModel.contact_budget); a number is a share of the accounts
    #: shown; null: no limit (only value and the other capacity decide).
    contact_budget: float | Literal["log"] | None = Field("log")
    #: Under `contact_budget: log`, the share of business as usual's spend held back: the budget counts tonight's
    #: accounts at business as usual's rates, but a strategy that reminds before the due date instead of calling
    #: late accounts leaves more of them late or charged off than business as usual would, and each earns its
    #: bucket's rate, so an unmargined budget contacts more than business as usual over a horizon (0.45% more on
    #: the tuning worlds, seeds 201 and 202; docs/strategy.md, "A contact budget").
    log_budget_margin: float = Field(0.01, ge=0.0, lt=1.0)
    #: Days since the account's last contact before the strategy contacts it again (1: any day), reminders before
    #: the due date included. The response models learn from every logged decision, whatever its gap since the last
    #: contact (the logging policy contacts daily from 60 days past due), so this is the strategy's cadence, not
    #: the model's support; the greedy policy of the uplift stage keeps `uplift.min_days_between_contacts`.
    #: Chosen on tuning worlds (seeds 201 and 202) that the reported evaluation worlds never include
    #: (docs/strategy.md, "Choosing the cadence").
    rest_days: int = Field(2, ge=1)
    #: Run date of the `recommend` stage (YYYY-MM-DD); null: the day after the latest date in the tables.
    run_date: date | None = None

    @model_validator(mode="after")
    def _windows(self) -> StrategyParams:
        if not self.windows:
            raise ValueError("strategy.windows needs at least one window")
        for name, (first, end) in self.windows.items():
            if not 0 <= first < end <= 24:
                raise ValueError(f"strategy.windows.{name}: need 0 <= first < end <= 24, got [{first}, {end})")
        if isinstance(self.contact_budget, float) and not 0.0 <= self.contact_budget <= 1.0:
            raise ValueError(f"strategy.contact_budget: a share in [0, 1], 'log' or null, got {self.contact_budget}")
        return self


# --- end STRATEGY ---


# --- PROMOTE (champion/challenger, issue 16): the `promote:` section ---
class PromoteParams(Section):
    """When a registered challenger takes the registry alias `champion` (docs/mlflow.md, model lifecycle)."""

    #: The challenger's lower-is-better test score must be below the champion's, re-scored on the same
    #: window, by more than this share of it: a retrained identical model never replaces the champion.
    margin: float = Field(0.001, ge=0.0, lt=1.0)


# --- end PROMOTE ---


class Seeds(Section):
    """One seed per purpose, so that re-seeding a model does not re-simulate the world."""

    #: The simulated world: borrowers, exogenous events and the logging policy's draws.
    world: int = 0
    #: Model training: LightGBM bagging and feature sampling.
    training: int = 0


# --- DRIFT (nightly scoring monitoring, issue 16): the `scoring:` section ---
class ScoringParams(Section):
    """The nightly `score` job (docs/scoring.md): its partitions, the drift alarm's PSI thresholds and whether
    `act` blocks the run."""

    #: PSI at or above which a score or feature is flagged `watch` (credit-risk convention 0.10).
    psi_watch: float = Field(0.10, ge=0.0)
    #: PSI at or above which it is flagged `act` (credit-risk convention 0.25).
    psi_act: float = Field(0.25, ge=0.0)
    #: true: any score or feature at `act` stops the run with exit code 8 and writes no recommendations (the
    #: MLflow run is still logged, with the alarm); false: the run writes and only flags it.
    block_on_drift: bool = False
    #: Accounts per partition of the nightly plan (whole borrowers): memory holds one partition's histories
    #: and plans; each partition gets its share of the call and field capacity (docs/scoring.md).
    partition_accounts: int = Field(25_000, ge=1)
    #: Processes that validate and plan partitions at once (core.workers): up to the scoring machine's cores.
    #: Each holds one partition's rows, so memory grows with it; 1 runs everything in the job's own process
    #: (as does a book of one partition).
    workers: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> ScoringParams:
        if self.psi_watch > self.psi_act:
            raise ValueError(f"scoring: psi_watch ({self.psi_watch}) must not exceed psi_act ({self.psi_act})")
        return self


# --- end DRIFT ---


class Params(Section):
    seeds: Seeds = Seeds()
    #: The date the pipeline acts on: records dated after it break `not_after_as_of` in
    #: validation. null: the day after the latest statement cycle_date in the input.
    run_date: date | None = None
    buckets: BucketParams = BucketParams()
    simulate: SimulateParams = SimulateParams()
    contact: ContactParams = ContactParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    features: FeaturesParams = FeaturesParams()
    roll_rate: RollRateParams = RollRateParams()
    propensity: PropensityParams = PropensityParams()  # PTP
    uplift: UpliftParams = UpliftParams()  # UPLIFT
    strategy: StrategyParams = StrategyParams()  # STRATEGY
    promote: PromoteParams = PromoteParams()  # PROMOTE
    compliance: ComplianceParams = ComplianceParams()
    evaluate: EvaluateParams = EvaluateParams()
    scoring: ScoringParams = ScoringParams()  # DRIFT

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _held_out(self) -> Params:
        """An evaluation world is never the logged book's world: a policy may have learnt it by heart."""
        if self.seeds.world in self.evaluate.seeds:
            raise ValueError(
                f"evaluate.seeds must not contain seeds.world ({self.seeds.world}): evaluation worlds are held out"
            )
        return self

    @model_validator(mode="after")
    def _zone_clocks(self) -> Params:
        """Every simulated zone keeps the contact clock's ordering guarantees under the compliance hours."""
        from core.compliance.clock import ClockError, check_zones

        hours = [(p.first_hour, p.end_hour) for p in self.compliance.profiles.values()]
        try:
            check_zones(list(self.simulate.timezone_mix), min(h[0] for h in hours), max(h[1] for h in hours))
        except ClockError as exc:
            raise ValueError(f"simulate.timezone_mix: {exc}") from None
        return self


def parse_params(raw: dict[str, Any] | None) -> Params:
    try:
        return Params.model_validate(raw or {})
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ParamsError("invalid params.yaml:\n" + "\n".join(lines)) from None


def load_params(path: Path = PARAMS_FILE) -> Params:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ParamsError(f"no params file at {path}") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None
    return parse_params(raw)
