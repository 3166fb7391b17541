"""Fitted-Q evaluation (models/uplift/fqe.py): on a planted world where contacts tire the borrower for two days,
the target's own action values recover the value of contacting every day, which one-day (additive) effects at the
log's states get wrong in sign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.compliance import US_PROFILE, ComplianceParams, Rulebook
from core.params import LightGBMParams, Params
from core.schema import CHANNELS, CONSENT_CHANNELS, RESTRICTION_KINDS
from models.uplift.arms import arms
from models.uplift.counterfactual import CAUSED_KINDS, FOREVER, Book, EventRates
from models.uplift.fqe import fitted_q, log_allowed, next_day_rows
from models.uplift.rows import FEATURES

PARAMS = Params()
TABLE = arms(PARAMS.uplift)
CALL = next(i for i, a in enumerate(TABLE) if a.name == "call_evening")
FAST = LightGBMParams(learning_rate=0.2, n_estimators=60, early_stopping_rounds=10, min_child_samples=20, num_threads=1)
PRICE = np.where(np.arange(len(TABLE)) == CALL, 1.0, 0.0)
#: planted daily collections: BASE, plus a contact's LIFT less TIRE for each contact of the two days before
BASE, LIFT, TIRE = 2.0, 3.0, 1.5
LOG_P = 0.4
TRAIN_DAYS, VALID_DAYS, EVAL_DAYS = 30, 10, 10


def world(accounts: int, days: int, contact_p: float, seed: int, rested_only: bool = False) -> pd.DataFrame:
    """Decision rows of the planted world: every account shown every day, called with probability `contact_p`
    (`rested_only`: never when a call of the two days before tires it)."""
    rng = np.random.default_rng(seed)
    yesterday = np.zeros(accounts, bool)
    before = np.zeros(accounts, bool)
    frames = []
    for d in range(days):
        tired = yesterday.astype(float) + before
        call = (rng.random(accounts) < contact_p) & ~(rested_only & (tired > 0))
        frame = pd.DataFrame({c: np.zeros(accounts) for c in FEATURES})
        frame["contacts_7d"] = tired
        frame["days_since_contact"] = np.where(yesterday, 1.0, np.where(before, 2.0, 9999.0))
        frame["account_id"] = np.arange(accounts)
        frame["local_date"] = np.datetime64("2026-01-01") + np.timedelta64(d, "D")
        frame["arm"] = np.where(call, CALL, 0)
        frame["action"] = np.where(call, "call", "none").astype(object)
        frame["local_hour"] = np.where(call, 18, -1)
        frame["offer"] = "none"
        frame["reward_day"] = BASE + call * (LIFT - TIRE * tired) + rng.normal(0.0, 1.0, accounts)
        frames.append(frame)
        before, yesterday = yesterday, call
    rows = pd.concat(frames, ignore_index=True)
    rows["decision_id"] = np.arange(len(rows))
    return rows


def net_per_day(contact_p: float, rested_only: bool = False) -> float:
    """The planted world's net value per account-day under a policy that calls with probability `contact_p`
    (a long simulation, past the first days' transient)."""
    rows = world(4000, 40, contact_p, seed=99, rested_only=rested_only)
    late = rows["local_date"] >= np.datetime64("2026-01-11")
    return float((rows["reward_day"] - PRICE[rows["arm"]])[late].mean())


def call_everyone(rows: pd.DataFrame):
    def actions(idx: np.ndarray) -> pd.DataFrame:
        n = len(idx)
        return pd.DataFrame({"action": ["call"] * n, "local_hour": np.full(n, 18), "offer": ["none"] * n})

    return actions


@pytest.fixture(scope="module")
def log() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    rows = world(1500, TRAIN_DAYS + VALID_DAYS + EVAL_DAYS + 7, LOG_P, seed=1)
    day = (rows["local_date"] - rows["local_date"].min()).dt.days.to_numpy()
    train = rows[day < TRAIN_DAYS].assign(weight=1.0)
    valid = rows[(day >= TRAIN_DAYS) & (day < TRAIN_DAYS + VALID_DAYS)].assign(weight=1.0)
    evaluated = np.flatnonzero((day >= TRAIN_DAYS + VALID_DAYS) & (day < TRAIN_DAYS + VALID_DAYS + EVAL_DAYS))
    return rows, train, valid, evaluated


def advantage(log, horizon: int) -> float:
    """Mean over the evaluated decisions of Q_target(s, call) - (r + V_target(s')): the performance-difference
    identity's estimate of V(call everyone) - V(log) per decision (every account is decided on every day)."""
    rows, train, valid, evaluated = log
    uplift = PARAMS.uplift.model_copy(update={"response_days": horizon, "lightgbm": FAST})
    fq = fitted_q(rows, train, valid, evaluated, call_everyone(rows), PRICE, uplift, seed=0)
    assert (fq.actions["action"] == "call").all()
    return float(np.mean(fq.q[:, CALL] - fq.target))


def test_fitted_q_recovers_the_value_of_a_policy_that_tires_borrowers(log):
    truth = net_per_day(1.0) - net_per_day(LOG_P)  # about 1 - 2.32: calling daily tires everyone
    assert truth < -1.0
    assert advantage(log, horizon=4) == pytest.approx(truth, abs=0.15)


def test_one_day_effects_at_the_log_states_get_the_sign_wrong(log):
    # the log's own follow-up: a call at the log's (rested) states pays, so the additive estimate is positive
    assert advantage(log, horizon=1) > 0.2


TIRED = "contacts_7d"


def tired_unsupported(rows: pd.DataFrame):
    """The support check of a log that never calls a tired account: a call is unsupported where one tires it."""
    tired = rows[TIRED].to_numpy() > 0

    def support(idx: np.ndarray, arm: np.ndarray) -> np.ndarray:
        return ~((arm == CALL) & tired[idx])

    return support


@pytest.fixture(scope="module")
def rested_log(log) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The planted world logged by a policy that calls only rested accounts: the log never shows a tired call."""
    rows = world(1500, TRAIN_DAYS + VALID_DAYS + EVAL_DAYS + 7, LOG_P, seed=1, rested_only=True)
    _, train, valid, evaluated = log
    return rows, rows.loc[train.index].assign(weight=1.0), rows.loc[valid.index].assign(weight=1.0), evaluated


def test_a_check_that_passes_everywhere_changes_nothing(log):
    rows, train, valid, evaluated = log
    uplift = PARAMS.uplift.model_copy(update={"response_days": 3, "lightgbm": FAST})
    plain = fitted_q(rows, train, valid, evaluated, call_everyone(rows), PRICE, uplift, seed=0)
    passed = fitted_q(
        rows, train, valid, evaluated, call_everyone(rows), PRICE, uplift, seed=0, support=lambda i, a: a >= 0
    )
    np.testing.assert_array_equal(plain.q, passed.q)
    np.testing.assert_array_equal(plain.target, passed.target)
    assert passed.supported.all() and passed.followed_log == 0.0


def test_where_nothing_is_supported_the_target_is_the_logs_own_return(log):
    """Every follow-up state falls back to the log: the one-step target is the logged H-day return itself."""
    rows, train, valid, evaluated = log
    horizon = 3
    uplift = PARAMS.uplift.model_copy(update={"response_days": horizon, "lightgbm": FAST})
    fq = fitted_q(rows, train, valid, evaluated, call_everyone(rows), PRICE, uplift, seed=0, support=lambda i, a: a < 0)
    net = (rows["reward_day"] - PRICE[rows["arm"]]).to_numpy()
    nxt = next_day_rows(rows)
    expected = np.zeros(len(evaluated))
    at = np.asarray(evaluated)
    for _ in range(horizon):
        expected += net[at]
        at = nxt[at]
    np.testing.assert_allclose(fq.target, expected)
    assert not fq.supported.any() and fq.followed_log == 1.0


@pytest.mark.parametrize("continuation", ["sampled", "fitted"])
def test_the_support_check_values_the_log_where_the_target_is_unsupported(rested_log, continuation):
    """The log never calls a tired account, so a call there is the regression's extrapolation: the rested call's
    value. With the check, call-everyone's 4-day value of a call at a rested state is that of calling where the log
    supports it and following the log elsewhere: call, two tired days left alone (the log's own action), call again.
    Without it, every day is priced as a rested call. The log's continuation is its sampled return or the regression
    of its action there: the same value."""
    rows, train, valid, evaluated = rested_log
    uplift = PARAMS.uplift.model_copy(update={"response_days": 4, "lightgbm": FAST})
    rested = rows[TIRED].to_numpy()[evaluated] == 0
    call, rest = BASE + LIFT - PRICE[CALL], BASE

    def call_value(support) -> tuple[float, np.ndarray]:
        fq = fitted_q(
            rows,
            train,
            valid,
            evaluated,
            call_everyone(rows),
            PRICE,
            uplift,
            seed=0,
            support=support,
            continuation=continuation,
        )
        return float(fq.q[rested, CALL].mean()), fq.supported

    checked, supported = call_value(tired_unsupported(rows))
    assert supported.tolist() == rested.tolist()
    assert checked == pytest.approx(call + rest + rest + call, abs=0.4)
    extrapolated, _ = call_value(None)
    assert extrapolated == pytest.approx(4 * call, abs=0.4)


def test_an_unknown_continuation_is_refused(log):
    rows, train, valid, evaluated = log
    with pytest.raises(ValueError, match="continuation"):
        fitted_q(rows, train, valid, evaluated, call_everyone(rows), PRICE, PARAMS.uplift, seed=0, continuation="mean")


def test_next_day_rows_link_an_account_to_its_next_shown_day():
    rows = pd.DataFrame(
        {
            "account_id": [1, 1, 1, 2, 2],
            "local_date": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-04", "2026-01-02", "2026-01-01"]),
        }
    )
    assert next_day_rows(rows).tolist() == [1, -1, -1, -1, 3]
    with pytest.raises(ValueError, match="more than one row"):
        next_day_rows(pd.concat([rows, rows.iloc[:1]]))


def test_the_targets_channels_at_a_logged_state_are_the_rulebooks_on_the_logs_own_history():
    """A log that calls one borrower every day and always talks to them: after each conversation the quiet period
    (`call_quiet_days`) refuses calls, so a target deciding at those logged states may not call; SMS stays open."""
    days = 2 * US_PROFILE.call_quiet_days + 3
    rules = Rulebook.from_params(ComplianceParams())
    book = Book(
        day=np.arange(days) + 20_000,
        account=np.zeros(days, np.int64),
        borrower=np.zeros(days, np.int64),
        profile=rules.profile_for_regions(np.full(days, "US", dtype=object)),
        consent=np.ones((days, len(CONSENT_CHANNELS)), bool),
        opt_out=np.zeros((days, len(CONSENT_CHANNELS)), bool),
        restricted=np.zeros((days, len(RESTRICTION_KINDS)), bool),
        charged_off=np.zeros(days, bool),
    )
    rows = pd.DataFrame({"action": ["call"] * days, "local_hour": np.full(days, 18)})
    conversation = np.where(np.arange(len(CHANNELS)) == CHANNELS.index("call"), 1.0, 0.0)
    never = {k: np.zeros(len(CHANNELS)) for k in CAUSED_KINDS}
    rates = EventRates(conversation=conversation, caused=never, days=dict.fromkeys(CAUSED_KINDS, FOREVER))
    allowed = log_allowed(book, rows, rules, rates, seed=0)
    quiet = US_PROFILE.call_quiet_days
    expected = ([True] + [False] * quiet) * 2 + [True]
    assert allowed[:, CHANNELS.index("call")].tolist() == expected[:days]
    assert allowed[:, CHANNELS.index("sms")].all()
