"""Uplift family (issue 14): planted segment effects are recovered, off-policy estimators find a planted
policy value, IPS uses the logged propensities, unsupported actions warn; arms and decision rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.params import LightGBMParams, Params
from models.uplift import ope
from models.uplift.arms import arm_codes, arms
from models.uplift.learners import crossfit_predictions, fit_calibration, fit_dr, fit_t
from models.uplift.qini import dr_qini, qini
from models.uplift.rows import FEATURES, decision_rows
from models.uplift.train import channel_bands, channel_dr_inputs, channel_qini_inputs, weight_balance

PARAMS = Params()
TABLE = arms(PARAMS.uplift)
SMS = next(i for i, a in enumerate(TABLE) if a.name == "sms_morning")
CALL = next(i for i, a in enumerate(TABLE) if a.name == "call_evening")
#: planted effect of (sms, call) per segment: sms helps segment 0 most, hurts segment 2; calls help 1 most
EFFECT = {SMS: np.array([30.0, 10.0, -10.0]), CALL: np.array([5.0, 40.0, -8.0])}
BASE = np.array([50.0, 30.0, 20.0])
#: known logging policy per segment: P(none), P(sms), P(call)
LOGGING = np.array([[0.6, 0.3, 0.1], [0.5, 0.1, 0.4], [0.8, 0.1, 0.1]])
FAST = LightGBMParams(learning_rate=0.1, n_estimators=60, early_stopping_rounds=10, min_child_samples=20, num_threads=1)


def planted(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 3, n)
    u = rng.random(n)
    cum = LOGGING[seg].cumsum(axis=1)
    choice = (u[:, None] > cum).sum(axis=1)
    arm = np.array([0, SMS, CALL])[choice]
    prop = LOGGING[seg, choice]
    effect = np.where(arm == SMS, EFFECT[SMS][seg], np.where(arm == CALL, EFFECT[CALL][seg], 0.0))
    reward = np.maximum(BASE[seg] + effect + rng.normal(0, 10, n), 0.0)
    frame = pd.DataFrame({c: np.zeros(n) for c in FEATURES})
    frame["days_past_due"] = np.array([10.0, 45.0, 100.0])[seg] + rng.integers(0, 5, n)
    frame["balance"] = rng.uniform(100, 1000, n)
    frame["segment"] = seg
    frame["arm"], frame["propensity"], frame["reward"] = arm, prop, reward
    frame["paid"] = reward > 40
    frame["decision_id"] = np.arange(n)
    frame["account_id"] = np.arange(n) // 3
    return frame


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return planted(6000, 1), planted(1500, 2)


@pytest.mark.parametrize("learner", ["t", "dr"])
def test_learner_recovers_sign_and_ranking_of_segment_effects(data, learner):
    train, valid = data
    if learner == "t":
        model = fit_t(train, valid, len(TABLE), FAST, 0, 1.0)
    else:
        model = fit_dr(train, valid, len(TABLE), FAST, 0, 1.0, 0.01)
    probe = planted(900, 3)
    mu = model.predict(probe)
    for arm, truth in EFFECT.items():
        est = np.array([np.mean(mu[probe["segment"] == s, arm] - mu[probe["segment"] == s, 0]) for s in range(3)])
        nonzero = truth != 0
        assert (np.sign(est[nonzero]) == np.sign(truth[nonzero])).all(), (learner, arm, est)
        assert list(np.argsort(est)) == list(np.argsort(truth)), (learner, arm, est)


def _target(frame: pd.DataFrame) -> np.ndarray:
    """Planted target policy: sms to segment 0, a call to segment 1, nobody else."""
    return np.array([SMS, CALL, 0])[frame["segment"].to_numpy()]


def test_ope_recovers_the_planted_policy_value(data):
    train, valid = data
    model = fit_t(train, valid, len(TABLE), FAST, 0, 1.0)
    log = planted(8000, 4)
    seg, target = log["segment"].to_numpy(), _target(log)
    truth = float(
        np.mean(
            BASE[seg] + np.where(target == SMS, EFFECT[SMS][seg], 0) + np.where(target == CALL, EFFECT[CALL][seg], 0)
        )
    )
    mu = model.predict(log)
    rows = np.arange(len(log))
    match = (log["arm"].to_numpy() == target).astype(float)
    est = ope.estimate(
        log["reward"],
        log["propensity"],
        match,
        mu[rows, target],
        mu[rows, log["arm"]],
        floor=1e-5,
        bootstrap=100,
        seed=0,
    )
    for e in (est.ips, est.snips, est.dr):
        assert e.low <= truth <= e.high, (e, truth)
    logged_mean = log["reward"].mean()  # the logging policy's value differs: the estimators must see the policy
    assert not est.dr.low <= logged_mean <= est.dr.high


def test_ips_weights_are_the_logged_propensities():
    log = planted(500, 5)
    p = log["propensity"].to_numpy()
    assert np.array_equal(ope.importance_weights(np.ones(len(p)), p), 1.0 / p)
    on_policy = ope.estimate(log["reward"], p, p, np.zeros(len(p)), np.zeros(len(p)), floor=1e-5, bootstrap=10)
    assert on_policy.ips.value == pytest.approx(log["reward"].mean())
    assert on_policy.effective_sample_size == pytest.approx(len(p))


def test_unsupported_actions_and_low_propensities_warn_and_are_not_extrapolated():
    log = planted(400, 6)
    r, p = log["reward"].to_numpy(), log["propensity"].to_numpy()
    supported = np.arange(len(r)) >= 100
    with pytest.warns(ope.UnsupportedActionWarning, match="never took"):
        est = ope.estimate(r, p, p, np.full(len(r), 1e6), np.zeros(len(r)), supported, floor=1e-5, bootstrap=10)
    assert est.rows == 300 and est.unsupported_rows == 100
    low = p.copy()
    low[:5] = 1e-7
    with pytest.warns(ope.UnsupportedActionWarning, match="below the floor"):
        ope.estimate(r, low, np.ones(len(r)), np.zeros(len(r)), np.zeros(len(r)), floor=1e-5, bootstrap=10)


# --- switch / shrinkage DR, and the outcome model calibrated on the log (docs/uplift.md, "Off-policy estimates") ---


def _planted_value(log: pd.DataFrame, target: np.ndarray) -> float:
    seg = log["segment"].to_numpy()
    gain = np.where(target == SMS, EFFECT[SMS][seg], 0) + np.where(target == CALL, EFFECT[CALL][seg], 0)
    return float(np.mean(BASE[seg] + gain))


@pytest.mark.parametrize("kind", ["switch", "optimistic"])
@pytest.mark.parametrize("bias", ["upper_bound", "estimate"])
def test_tuned_dr_recovers_the_planted_policy_value(data, kind, bias):
    train, valid = data
    model = fit_t(train, valid, len(TABLE), FAST, 0, 1.0)
    log = planted(8000, 4)
    target, rows = _target(log), np.arange(len(log))
    mu = model.predict(log)
    match = (log["arm"].to_numpy() == target).astype(float)
    args = (log["reward"], log["propensity"], match, mu[rows, target], mu[rows, log["arm"]])
    est = ope.estimate(*args, floor=1e-5, bootstrap=100, seed=0, shrinkage=kind, bias=bias)
    truth = _planted_value(log, target)
    t = est.tuned
    assert t is not None and t.kind == kind
    assert t.estimate.low <= truth <= t.estimate.high, (t, truth)
    assert not t.estimate.low <= log["reward"].mean() <= t.estimate.high  # it estimates the target, not the log
    # the criterion never prefers an estimator it scores worse than plain DR (inf is on its grid)
    w = ope.importance_weights(match, log["propensity"].to_numpy())
    plain = ope.estimated_mse(log["reward"].to_numpy(), w, args[3], args[4], kind, np.inf, bias)
    assert t.mse <= plain[0]
    assert est.dr == ope.estimate(*args, floor=1e-5, bootstrap=100, seed=0).dr  # plain DR reported unchanged


def _heavy_log(seed: int, n: int = 4000):
    """Logged propensities from 0.5 down to 1 in 500; a deterministic target matching some rows."""
    rng = np.random.default_rng(seed)
    p = rng.choice([0.5, 0.05, 0.002], n, p=[0.6, 0.3, 0.1])
    tp = (rng.random(n) < np.minimum(3 * p, 1)).astype(float)
    mu = rng.uniform(5, 15, n)
    return rng, p, tp, mu + 1.0, mu


def test_switch_falls_back_to_the_model_where_weights_exceed_the_threshold():
    rng, p, tp, dm, mu = _heavy_log(0)
    r = mu + rng.normal(0, 5, len(p))
    w, tau = tp / p, 50.0
    heavy, light = w > tau, (w > 0) & (w <= tau)
    assert heavy.any() and light.any()

    def switch(reward):
        return ope.estimate(reward, p, tp, dm, mu, floor=1e-5, bootstrap=20, shrinkage="switch", threshold=tau)

    est = switch(r)
    assert est.tuned.threshold == tau and est.tuned.switched_rows == heavy.sum()
    assert est.tuned.estimate.value == pytest.approx(np.mean(dm + np.where(w <= tau, w * (r - mu), 0.0)))
    # above the threshold only the model prices the decision: its logged reward no longer matters
    wild = r + np.where(heavy, 1e6, 0.0)
    assert switch(wild).tuned.estimate.value == pytest.approx(est.tuned.estimate.value)
    assert switch(wild).dr.value > est.dr.value + 1e3  # while the plain DR follows it
    # below it, the correction stays: a shift of the light rows moves the estimate by their weighted shift
    shifted = switch(r + np.where(light, 10.0, 0.0)).tuned.estimate.value
    assert shifted - est.tuned.estimate.value == pytest.approx(np.sum(w[light] * 10.0) / len(r))


@settings(max_examples=50, deadline=None)
@given(
    w=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(0.0, 1e4)),
    threshold=st.floats(1e-3, 1e8),
)
def test_shrunk_weights_stay_between_zero_and_the_weight(w, threshold):
    switch = ope.shrink_weights(w, "switch", threshold)
    assert np.array_equal(switch, np.where(w <= threshold, w, 0.0))
    shrunk = ope.shrink_weights(w, "optimistic", threshold)
    assert (shrunk >= 0).all() and (shrunk <= w + 1e-12).all()
    assert (shrunk <= np.sqrt(threshold) / 2 * (1 + 1e-9)).all()  # lambda w / (w^2 + lambda) peaks at sqrt(lambda)/2
    for kind in ("switch", "optimistic"):
        assert np.array_equal(ope.shrink_weights(w, kind, np.inf), w)


def test_tuning_switches_where_the_model_is_right_and_keeps_dr_where_it_is_biased():
    """The plug-in criterion: with an exact model the dropped corrections are noise (a finite tau cuts the
    variance); with a model 30 too low on every row they are bias, and the switch keeps plain DR. The
    upper-bound criterion shrinks a little (first-order variance, second-order bias) and never switches."""
    rng, p, tp, dm, mu = _heavy_log(1, 20_000)
    w = tp / p
    exact = mu + rng.normal(0, 20, len(p))
    low = mu + 30 + rng.normal(0, 2, len(p))
    assert np.isfinite(ope.tune(exact, w, dm, mu, "switch", bias="estimate")[0])
    assert np.isinf(ope.tune(low, w, dm, mu, "switch", bias="estimate")[0])
    assert np.isinf(ope.tune(exact, w, dm, mu, "switch")[0])
    chosen, mse, _, _ = ope.tune(exact, w, dm, mu, "optimistic")
    assert np.isfinite(chosen) and mse < ope.estimated_mse(exact, w, dm, mu, "optimistic", np.inf)[0]
    # the choice is the grid's argmin of the estimated MSE
    grid = ope.candidate_thresholds(w, "optimistic", 30)
    scores = [ope.estimated_mse(exact, w, dm, mu, "optimistic", t)[0] for t in grid]
    assert chosen == grid[int(np.argmin(scores))]
    # on-policy (every weight 1) there is nothing to shrink
    assert np.isinf(ope.tune(exact, np.ones(len(p)), dm, mu, "optimistic")[0])


@pytest.mark.parametrize("method", ["ratio", "isotonic"])
def test_calibration_removes_a_planted_scale_bias(data, method):
    """A model 30% low on no contact and sms and 40% low on calls (planted on out-of-fold T-learner predictions):
    calibrated on the training rows, its predictions on a fresh log match the logged responses per arm again, and
    the planted target's direct-method value its truth."""
    train, valid = data
    factor = np.ones(len(TABLE))
    factor[[0, SMS]], factor[CALL] = 0.7, 0.6
    oof = crossfit_predictions(train, valid, len(TABLE), FAST, 0, 1.0)
    supported = [0, SMS, CALL]
    assert not np.isnan(oof[:, supported]).any() and np.isnan(np.delete(oof, supported, axis=1)).all()
    cal = fit_calibration(oof * factor, train["arm"].to_numpy(), train["reward"].to_numpy(), method=method)
    assert cal.method == method
    model = fit_t(train, valid, len(TABLE), FAST, 0, 1.0)
    log = planted(8000, 4)
    biased = model.predict(log) * factor
    fixed = cal.apply(biased)
    arm, y, rows = log["arm"].to_numpy(), log["reward"].to_numpy(), np.arange(len(log))
    for a in supported:
        logged = y[arm == a].mean()
        assert abs(biased[arm == a, a].mean() / logged - 1) > 0.15
        assert fixed[arm == a, a].mean() == pytest.approx(logged, rel=0.04), (method, a)
    target, truth = _target(log), _planted_value(log, _target(log))
    assert abs(biased[rows, target].mean() / truth - 1) > 0.15
    assert fixed[rows, target].mean() == pytest.approx(truth, rel=0.04)
    other = next(a for a in range(len(TABLE)) if a not in supported)
    assert np.isnan(fixed[:, other]).all()  # arms without a model stay unsupported


def test_an_arm_whose_rows_never_paid_gets_no_model_instead_of_failing(data):
    """A small book can log an arm many times without a payment after it: there is nothing for its
    response model to learn (LightGBM's Tweedie objective refuses labels that sum to zero), so the arm is left
    without a model, as one with too few rows is, and the other arms are learnt as before."""
    train, valid = data
    silent = train.assign(reward=np.where(train["arm"] == CALL, 0.0, train["reward"]))
    silent["paid"] = silent["reward"] > 40
    learnt = {
        "t": fit_t(silent, valid, len(TABLE), FAST, 0, 1.0),
        "dr": fit_dr(silent, valid, len(TABLE), FAST, 0, 1.0, 0.01),
    }
    for learner, model in learnt.items():
        mu = model.predict(planted(300, 4))
        assert np.isnan(mu[:, CALL]).all() and np.isfinite(mu[:, [0, SMS]]).all(), learner


def test_calibration_leaves_arms_without_enough_rows_alone():
    mu = np.full((150, 3), 10.0)
    arm = np.repeat([0, 1, 2], [120, 20, 10])
    cal = fit_calibration(mu, arm, np.full(150, 13.0), method="ratio")
    assert cal.scale.tolist() == pytest.approx([1.3, 1.0, 1.0])
    with pytest.raises(ValueError, match="unknown calibration"):
        fit_calibration(mu, arm, np.ones(150), method="platt")


def test_qini_is_positive_for_a_true_ranking_and_not_for_a_random_one():
    rng = np.random.default_rng(7)
    n = 4000
    effect = rng.uniform(0, 1, n)
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < 0.2 + 0.5 * effect * treated).astype(float)
    good = qini(effect, y, treated, np.ones(n), bootstrap=50, confidence=0.95, seed=0)
    bad = qini(rng.random(n), y, treated, np.ones(n), bootstrap=50, confidence=0.95, seed=0)
    assert good.low > 0
    assert bad.low < 0 < bad.high


def _banded_call_log(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Calls at three bands (and plan offers) against no contact, with a confounded logging policy: the
    segment the call helps most is called least. Returns the log and the planted mean response per arm."""
    rng = np.random.default_rng(seed)
    calls = [i for i, a in enumerate(TABLE) if a.channel == "call"]  # the three bands and the plan offer
    seg = rng.integers(0, 3, n)
    p_call = np.array([0.05, 0.1, 0.2])[seg]  # per band and the plan offer alike: the rest is no contact
    u = rng.random(n)
    k = np.minimum((u / p_call).astype(int), len(calls))
    arm = np.where(k < len(calls), np.array(calls + [0])[k], 0)
    prop = np.where(arm == 0, 1 - len(calls) * p_call, p_call)
    mu = np.zeros((n, len(TABLE)))
    mu[:, 0] = 20.0
    band_shift = {a: 2.0 * j for j, a in enumerate(calls)}
    for a in calls:
        mu[:, a] = 20.0 + np.array([15.0, 5.0, -5.0])[seg] + band_shift[a]
    reward = mu[np.arange(n), arm] + rng.normal(0, 8, n)
    frame = pd.DataFrame(
        {
            "arm": arm,
            "reward": reward,
            "charged_off": False,
            "consent_sms": True,
            "consent_email": True,
            "consent_call": rng.random(n) < 0.9,
        }
    )
    return frame, mu, 1.0 / prop


def test_channel_qini_pools_the_bands_ranks_the_planted_effect_and_leaves_the_plan_offer_out():
    frame, mu, weight = _banded_call_log(30_000, 11)
    plan = next(i for i, a in enumerate(TABLE) if a.name == "plan")
    bands = channel_bands(TABLE, "call", set(range(len(TABLE))))
    assert [TABLE[a].name for a in bands] == ["call_morning", "call_afternoon", "call_evening"]
    assert channel_bands(TABLE, "call", set(bands[:1])) == bands[:1]  # an arm not scored is not pooled
    keep = np.ones(len(frame), bool)
    score, y, treated, w = channel_qini_inputs(frame, TABLE, mu, weight, bands, keep)
    arm, allowed = frame["arm"].to_numpy(), frame["consent_call"].to_numpy()
    rows = allowed & np.isin(arm, [0, *bands])
    assert len(score) == rows.sum() and treated.sum() == np.isin(arm[rows], bands).sum()
    assert plan not in set(arm[rows]) and allowed[rows].all()
    # the same score for treated and control rows: the bands' mean predicted effect
    np.testing.assert_allclose(score, mu[rows][:, bands].mean(axis=1) - mu[rows, 0])
    good = qini(score, y, treated, w, bootstrap=50, confidence=0.95, seed=0)
    noise = np.random.default_rng(3).random(len(score))
    bad = qini(noise, y, treated, w, bootstrap=50, confidence=0.95, seed=0)
    assert good.low > 0
    assert bad.low < 0 < bad.high


def _planted_propensities(frame: pd.DataFrame, weight: np.ndarray) -> np.ndarray:
    """(rows, arms) propensities of `_banded_call_log`: each call arm (bands and plan offer) at the row's rate,
    no contact the rest, every other arm never."""
    calls = [i for i, a in enumerate(TABLE) if a.channel == "call"]
    taken = 1.0 / weight
    p_call = np.where(frame["arm"].to_numpy() == 0, (1 - taken) / len(calls), taken)
    e = np.zeros((len(frame), len(TABLE)))
    e[:, calls] = p_call[:, None]
    e[:, 0] = 1 - len(calls) * p_call
    return e


def test_doubly_robust_qini_ranks_the_planted_effect_and_its_scores_average_to_it_whatever_the_model():
    frame, mu, weight = _banded_call_log(30_000, 11)
    e = _planted_propensities(frame, weight)
    bands = channel_bands(TABLE, "call", set(range(len(TABLE))))
    score, gamma, treated = channel_dr_inputs(frame, TABLE, mu, e, bands)
    allowed = frame["consent_call"].to_numpy()
    assert len(score) == allowed.sum()  # every decision where a call was allowed, the plan offer's too
    assert treated.sum() == np.isin(frame["arm"].to_numpy()[allowed], bands).sum()
    true_effect = mu[allowed][:, bands].mean(axis=1) - mu[allowed, 0]
    assert gamma.mean() == pytest.approx(true_effect.mean(), abs=0.6)
    # a wrong outcome model (no effect anywhere): the propensities alone keep the scores' mean on the truth
    flat = np.full_like(mu, 20.0)
    _, gamma_flat, _ = channel_dr_inputs(frame, TABLE, flat, e, bands)
    assert gamma_flat.mean() == pytest.approx(true_effect.mean(), abs=1.5)
    good = dr_qini(score, gamma_flat, treated, bootstrap=50, confidence=0.95, seed=0)
    assert good.low > 0 and good.treated == treated.sum() and good.rows == len(score)
    # random rankings: the interval holds 0 but for about one draw in twenty (10 draws: 2 misses at most)
    rng = np.random.default_rng(3)
    misses = sum(
        not (q.low < 0 < q.high)
        for q in (
            dr_qini(rng.random(len(score)), gamma_flat, treated, bootstrap=50, confidence=0.95, seed=k)
            for k in range(10)
        )
    )
    assert misses <= 2


def test_doubly_robust_qini_on_whether_anything_was_paid_reads_the_paid_column_and_ranks_its_planted_effect():
    frame, mu, weight = _banded_call_log(30_000, 13)
    probability = mu / 50.0  # 0.3 to 0.78: the planted chance of any payment per arm
    rows = np.arange(len(frame))
    paid = np.random.default_rng(14).random(len(frame)) < probability[rows, frame["arm"].to_numpy()]
    frame = frame.assign(paid=paid)
    e = _planted_propensities(frame, weight)
    bands = channel_bands(TABLE, "call", set(range(len(TABLE))))
    allowed = frame["consent_call"].to_numpy()
    true_effect = probability[allowed][:, bands].mean(axis=1) - probability[allowed, 0]
    # a model of no effect: the residuals are the paid column's (the reward's would be some 40 times larger)
    flat = np.full_like(mu, paid.mean())
    score, gamma, treated = channel_dr_inputs(frame, TABLE, probability, e, bands, outcome="paid")
    _, gamma_flat, _ = channel_dr_inputs(frame, TABLE, flat, e, bands, outcome="paid")
    assert gamma.mean() == pytest.approx(true_effect.mean(), abs=0.02)
    assert gamma_flat.mean() == pytest.approx(true_effect.mean(), abs=0.03)
    assert dr_qini(score, gamma_flat, treated, bootstrap=50, confidence=0.95, seed=0).low > 0


def test_weight_balance_is_one_for_true_propensities_and_falls_where_the_clip_bites():
    frame, _, weight = _banded_call_log(30_000, 5)
    frame = frame.assign(consent_call=True)
    e = _planted_propensities(frame, weight)
    call = next(i for i, a in enumerate(TABLE) if a.name == "call_morning")
    # propensities of 0.05 to 0.2: a clip at 0.01 leaves them alone, one at 0.1 halves the weight of the least called
    kept = weight_balance(frame, TABLE, e, call, clip=0.01, floor=0.00002)
    assert kept["allowed"] == len(frame)
    assert kept["clipped"] == pytest.approx(1.0, abs=0.08) and kept["floor"] == kept["clipped"]
    bitten = weight_balance(frame, TABLE, e, call, clip=0.1, floor=0.00002)
    assert bitten["clipped"] == pytest.approx((0.5 + 1 + 1) / 3, abs=0.05) and bitten["floor"] == kept["floor"]


def test_arm_codes_bands_and_plan():
    codes = arm_codes(
        np.array(["none", "sms", "call", "call", "letter"], object),
        np.array([np.nan, 9, 18, 18, 10]),
        np.array(["none", "none", "none", "plan", "none"], object),
        PARAMS.uplift,
    )
    assert [TABLE[c].name for c in codes] == ["none", "sms_morning", "call_evening", "plan", "letter"]
    with pytest.raises(ValueError, match="unknown"):
        arm_codes(np.array(["pigeon"], object), np.array([9.0]), np.array(["none"], object), PARAMS.uplift)


def test_decision_rows_response_window_and_point_in_time():
    utc = "UTC"
    decided = pd.Timestamp("2024-03-10 05:00", tz=utc)
    tables = {
        "accounts": pd.DataFrame(
            {
                "account_id": [1],
                "borrower_id": [1],
                "product": ["revolving"],
                "open_date": [pd.Timestamp("2023-01-01")],
                "instalment_amount": [50.0],
                "region": ["US-TX"],
                "consent_sms": [True],
                "consent_email": [False],
                "consent_call": [True],
            }
        ),
        "statements": pd.DataFrame(
            {
                "account_id": [1, 1],
                "cycle_date": pd.to_datetime(["2024-03-01", "2024-04-01"]),
                "balance": [900.0, 800.0],
                "amount_due": [120.0, 200.0],
                "past_due_amount": [100.0, 150.0],
                "days_past_due": [20, 0],
                "status": ["active", "active"],
            }
        ),
        "payments": pd.DataFrame(
            {
                "account_id": [1, 1, 1, 1],
                "amount": [7.0, 60.0, 70.0, 500.0],
                "paid_at": [
                    decided - pd.Timedelta(days=1, hours=20),
                    decided + pd.Timedelta(hours=1),
                    decided + pd.Timedelta(days=6),
                    decided + pd.Timedelta(days=8),
                ],
            }
        ),
        "contacts": pd.DataFrame(
            {
                "account_id": [1, 1],
                "contacted_at": [decided - pd.Timedelta(days=2, hours=18), decided + pd.Timedelta(hours=5)],
            }
        ),
        "decisions": pd.DataFrame(
            {
                "decision_id": [1],
                "account_id": [1],
                "decided_at": [decided],
                "local_date": [pd.Timestamp("2024-03-10")],
                "action": ["sms"],
                "local_hour": pd.array([10], dtype="Int64"),
                "offer": ["none"],
                "propensity": [0.2],
            }
        ),
    }
    row = decision_rows(tables, PARAMS).iloc[0]
    assert row["days_past_due"] == 29  # 20 at the statement + 9 days since
    assert row["past_due_amount"] == 100.0 and row["balance"] == 900.0  # the April statement is the future
    # calendar days, as the state frame counts them: 1 day 20 hours before the local midnight is 2 days ago
    assert row["days_since_payment"] == 2 and row["contacts_7d"] == 1 and row["days_since_contact"] == 3
    # 60 + 70 within 7 days, capped at what was due (120) less what was paid since the statement (7); day 8 not counted
    assert row["reward"] == 113.0
    assert row["reward_day"] == 60.0 and not row["pre_delinquent"]
    assert bool(row["paid"]) and bool(row["observed"])
    assert TABLE[row["arm"]].name == "sms_morning"
    assert row["propensity"] == 0.2  # the logged propensity, as IPS uses it (never re-estimated)


def _states(days_past_due: list[int], borrowers: list[int] | None = None) -> pd.DataFrame:
    """A public state frame (simulator.observe.STATE_COLUMNS) of accounts 1.. at `days_past_due`, sms and calls
    allowed, nothing else, no consent recorded, never contacted."""
    n = len(days_past_due)
    return pd.DataFrame(
        {
            "account_id": np.arange(1, n + 1),
            "borrower_id": borrowers or list(range(1, n + 1)),
            "product": ["revolving"] * n,
            "region": ["US-TX"] * n,
            "local_weekday": [1] * n,
            "days_past_due": days_past_due,
            "charged_off": [False] * n,
            "balance": [500.0] * n,
            "past_due_amount": [0.0] * n,
            "instalment_amount": [0.0] * n,
            "consent_sms": [False] * n,
            "consent_email": [False] * n,
            "consent_call": [False] * n,
            "months_on_book": [0] * n,
            "contacts_7d": [0] * n,
            "days_since_contact": [30] * n,
            "days_since_payment": [0] * n,
            "promise_pending": [False] * n,
            "pre_delinquent": [False] * n,
            **{
                f"can_{c}": [c in ("sms", "call")] * n
                for c in ("sms", "email", "call", "letter", "field_visit", "agency", "legal")
            },
        }
    )


def test_saved_model_drives_the_greedy_policy_on_a_state_frame(data, tmp_path):
    """The policy factory loads the model from files and answers on the public state frame only:
    sms where the planted effect pays for it, nothing where no arm beats no contact."""
    from models.uplift.arms import arm_costs
    from models.uplift.policy import build
    from models.uplift.store import load, save

    train, valid = data
    model = fit_t(train, valid, len(TABLE), FAST, 0, 1.0)
    costs = arm_costs(PARAMS.uplift, PARAMS.contact)
    save(model, costs, PARAMS, tmp_path)
    loaded, loaded_costs, _ = load(tmp_path)
    probe = planted(50, 9)
    assert np.array_equal(loaded.predict(probe), model.predict(probe), equal_nan=True)
    assert np.array_equal(loaded_costs, costs)
    assert not list(tmp_path.glob("*.pkl"))
    states = _states([10, 45, 100])
    states["balance"] = [550.0, 550.0, 550.0]
    actions = build(str(tmp_path))(pd.Timestamp("2024-03-05"), states)
    chosen = dict(zip(actions["account_id"], actions["channel"], strict=True))
    assert chosen == {1: "sms", 2: "call"}  # segment 2: sms and calls hurt: no contact
    assert actions["hour"].tolist() == [TABLE[SMS].hour, TABLE[CALL].hour]


def test_budgeted_targeting_contacts_the_same_share_by_the_ranking_or_at_random(data, tmp_path):
    """benchmarks/_targeting.py: both policies call the same share of the eligible accounts, one per borrower, at a
    call band's hour; by the model they are the segment the planted call effect helps most (days past due 45), at
    random they are drawn afresh each day and the same on a second run."""
    from benchmarks._targeting import build
    from models.uplift.arms import arm_costs
    from models.uplift.store import save

    train, valid = data
    save(fit_t(train, valid, len(TABLE), FAST, 0, 1.0), arm_costs(PARAMS.uplift, PARAMS.contact), PARAMS, tmp_path)
    states = _states([10, 45, 100] * 4, borrowers=[1, 1, 1, *range(2, 11)])  # borrower 1 holds three accounts
    states.loc[11, "can_call"] = False
    states.loc[10, "days_since_contact"] = 0  # contacted today: not eligible
    day = pd.Timestamp("2024-03-05")
    by_model = build("call", "model", 0.3, str(tmp_path))(day, states)
    # 10 eligible (account 11 was contacted today, 12 may not be called): 3 of them, the eligible ones at 45 days
    assert by_model["account_id"].tolist() == [2, 5, 8]
    assert set(by_model["channel"]) == {"call"} and set(by_model["hour"]) == {TABLE[CALL].hour}
    at_random = build("call", "random", 0.3, str(tmp_path))
    picks = [at_random(d, states) for d in (day, day, day + pd.Timedelta(days=1), day + pd.Timedelta(days=2))]
    assert all(len(p) == 3 for p in picks) and picks[0].equals(picks[1])
    assert len({tuple(p["account_id"]) for p in picks}) >= 2
    for p in picks:
        borrowers = states.set_index("account_id").loc[p["account_id"], "borrower_id"]
        assert borrowers.is_unique and not {11, 12} & set(p["account_id"])
    # once: an account this policy contacted is no longer eligible; the budget is a share of those left (7 of 10)
    once = build("call", "model", 0.3, str(tmp_path), once=True)
    assert once(day, states)["account_id"].tolist() == [2, 5, 8]
    again = once(day + pd.Timedelta(days=1), states)
    assert len(again) == 2 and not {2, 5, 8, 11, 12} & set(again["account_id"])
    with pytest.raises(ValueError, match="ranking"):
        build("call", "best", 0.3, str(tmp_path))


def test_reminder_rows_count_only_payments_after_the_due_day():
    """An account current at its statement and shown again: its first pre_delinquency_days + 1 shown days are
    reminder rows; a bill paid on the due day is not a collection on a delinquent balance."""
    days = pd.to_datetime(["2024-03-20", "2024-03-21", "2024-03-22", "2024-03-23"])
    decided = days.tz_localize("UTC") + pd.Timedelta(hours=5)
    tables = {
        "accounts": pd.DataFrame(
            {
                "account_id": [1],
                "product": ["bnpl"],
                "open_date": [pd.Timestamp("2023-01-01")],
                "instalment_amount": [90.0],
                "region": ["US-TX"],
                "consent_sms": [True],
                "consent_email": [True],
                "consent_call": [True],
            }
        ),
        "statements": pd.DataFrame(
            {
                "account_id": [1],
                "cycle_date": pd.to_datetime(["2024-03-01"]),
                "balance": [300.0],
                "amount_due": [90.0],
                "past_due_amount": [0.0],
                "days_past_due": [0],
                "status": ["active"],
            }
        ),
        "payments": pd.DataFrame(
            {
                "account_id": [1, 1],
                "amount": [50.0, 40.0],
                "paid_at": [decided[2] + pd.Timedelta(hours=2), decided[3] + pd.Timedelta(hours=2)],
            }
        ),
        "contacts": pd.DataFrame(
            {"account_id": pd.Series([], dtype=np.int64), "contacted_at": pd.Series([], dtype="datetime64[ns, UTC]")}
        ),
        "decisions": pd.DataFrame(
            {
                "decision_id": [1, 2, 3, 4],
                "account_id": [1] * 4,
                "decided_at": decided,
                "local_date": days,
                "action": ["none"] * 4,
                "local_hour": pd.array([None] * 4, dtype="Int64"),
                "offer": ["none"] * 4,
                "propensity": [1.0] * 4,
            }
        ),
    }
    rows = decision_rows(tables, PARAMS)
    assert rows["pre_delinquent"].tolist() == [True, True, True, False]
    # the 50 paid on the due day (third shown day) never counts; the 40 the day after does
    assert rows["reward"].tolist() == [40.0, 40.0, 40.0, 40.0]
    assert rows["reward_day"].tolist() == [0.0, 0.0, 0.0, 40.0]


def test_plan_collections_counts_plan_payments_on_days_without_a_decision():
    from models.uplift.rows import plan_collections

    utc = pd.Timestamp("2024-05-01", tz="UTC")
    tables = {
        "accounts": pd.DataFrame({"account_id": [1, 2], "timezone": ["America/Chicago", "Asia/Shanghai"]}),
        "restrictions": pd.DataFrame(
            {"account_id": [1], "kind": ["hardship_plan"], "start_at": [utc], "end_at": [utc + pd.Timedelta(days=60)]}
        ),
        "payments": pd.DataFrame(
            {
                "payment_id": [1, 2, 3, 4, 5],
                "account_id": [1, 1, 1, 1, 2],
                "amount": [10.0, 20.0, 40.0, 80.0, 160.0],
                # before the plan; in it on a day not shown; in it on a shown (local) day; after it; another account
                "paid_at": [
                    utc - pd.Timedelta(days=1),
                    utc + pd.Timedelta(days=10, hours=18),
                    utc + pd.Timedelta(days=20, hours=18),
                    utc + pd.Timedelta(days=70),
                    utc + pd.Timedelta(days=5),
                ],
            }
        ),
        "decisions": pd.DataFrame({"account_id": [1], "local_date": [pd.Timestamp("2024-05-21")]}),
    }
    assert plan_collections(tables) == 20.0
