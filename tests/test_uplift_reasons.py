"""Reason codes of the uplift model (models/uplift/reasons.py): SHAP additivity on the effect scale for both
learners, the planted driver comes first, no-contact rows are explained by the best arm's negatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.params import LightGBMParams, Params
from models.uplift.arms import arms
from models.uplift.learners import fit_dr, fit_t
from models.uplift.reasons import PHRASES, best_contact_arm, contributions, reason_codes
from models.uplift.rows import FEATURES

PARAMS = Params()
TABLE = arms(PARAMS.uplift)
SMS = next(i for i, a in enumerate(TABLE) if a.name == "sms_morning")
FAST = LightGBMParams(learning_rate=0.1, n_estimators=60, early_stopping_rounds=10, min_child_samples=20, num_threads=1)


def planted(n: int, seed: int) -> pd.DataFrame:
    """A text message pays 40 more when there was no contact for more than 10 days, nothing otherwise;
    the response level depends on the balance, the other features are noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.integers(0, 3, n).astype(float) for c in FEATURES})
    frame["days_since_contact"] = rng.integers(0, 30, n).astype(float)
    frame["days_past_due"] = rng.integers(1, 90, n).astype(float)
    frame["balance"] = rng.uniform(100, 1000, n)
    sms = rng.random(n) < 0.5
    effect = np.where(sms & (frame["days_since_contact"] > 10), 40.0, 0.0)
    reward = np.maximum(20.0 + frame["balance"] / 50 + effect + rng.normal(0, 5, n), 0.0)
    frame["arm"] = np.where(sms, SMS, 0)
    frame["propensity"] = 0.5
    frame["reward"] = reward
    frame["paid"] = reward > 30
    frame["decision_id"] = np.arange(n)
    frame["account_id"] = np.arange(n) // 2
    return frame


@pytest.fixture(scope="module")
def models():
    train, valid = planted(4000, 1), planted(1000, 2)
    t = fit_t(train, valid, len(TABLE), FAST, 0, 1.0)
    dr = fit_dr(train, valid, len(TABLE), FAST, 0, 1.0, 0.01, t_model=t)
    return {"t": t, "dr": dr}


@pytest.mark.parametrize("method", ["shap", "path"])
@pytest.mark.parametrize("learner", ["t", "dr"])
def test_contributions_add_up_to_the_predicted_effect(models, learner, method):
    model = models[learner]
    X = planted(500, 3)[list(FEATURES)]
    arm = np.full(len(X), SMS)
    contrib, base = contributions(model, X, arm, method)
    predicted = model.predict(X)
    np.testing.assert_allclose(contrib.sum(axis=1) + base, predicted[:, SMS] - predicted[:, 0], rtol=1e-6, atol=1e-6)
    # no-contact rows have nothing to split
    zero, no_base = contributions(model, X, np.zeros(len(X), dtype=int))
    assert (zero == 0).all() and np.isnan(no_base).all()


@pytest.mark.parametrize("method", ["shap", "path"])
@pytest.mark.parametrize("learner", ["t", "dr"])
def test_the_planted_driver_is_the_top_reason(models, learner, method):
    X = planted(400, 4)[list(FEATURES)]
    long_ago = X["days_since_contact"].to_numpy() > 14
    codes = reason_codes(models[learner], X, np.where(long_ago, SMS, 0), k=3, best=np.full(len(X), SMS), method=method)
    assert (codes["reason_arm"] == SMS).all()
    # contacted rows: the silence since the last contact is why a text pays
    share = (codes.loc[long_ago, "reason_feature_1"] == "days_since_contact").mean()
    assert share > 0.9, share
    first = codes.loc[long_ago, "reason_1"].iloc[0]
    assert first.startswith("no contact in the last ") and first.endswith(" days")
    # no-contact rows recently contacted: the same feature, as the reason contact adds nothing
    recent = X["days_since_contact"].to_numpy() <= 5
    assert (codes.loc[recent, "reason_feature_1"] == "days_since_contact").mean() > 0.9
    assert (codes.loc[recent, "reason_contribution_1"] < 0).all()
    assert codes.loc[long_ago, "reason_contribution_1"].gt(0).all()
    assert codes["reason_codes"].str.count("; ").eq(2).all()


def test_no_contact_rows_default_to_the_models_best_arm_and_phrases_cover_every_feature(models):
    assert set(PHRASES) == set(FEATURES)
    X = planted(50, 5)[list(FEATURES)]
    best = best_contact_arm(models["t"], X)
    assert (best == SMS).all()  # the only contact arm the model supports
    codes = reason_codes(models["t"], X, np.zeros(len(X), dtype=int), k=2, params=PARAMS)
    assert (codes["reason_arm"] == SMS).all() and codes["reason_2"].str.len().gt(0).all()
    # an arm the model does not support is not explained
    other = next(i for i, a in enumerate(TABLE) if a.name == "letter")
    blank = reason_codes(models["t"], X, np.full(len(X), other))
    assert (blank["reason_codes"] == "").all() and blank["reason_contribution_1"].isna().all()


def test_phrases_read_the_value():
    assert PHRASES["days_past_due"](34.0) == "34 days past due"
    assert PHRASES["days_since_contact"](14.0) == "no contact in the last 14 days"
    assert PHRASES["days_since_contact"](9999.0) == "never contacted"
    assert PHRASES["contacts_7d"](0.0) == "no contact in the last 7 days"
    assert PHRASES["product"](1.0) == "a revolving account"
    assert PHRASES["product"](0.0) == "an instalment account"
