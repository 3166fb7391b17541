"""LightGBM roll-rate model: beats the Markov baseline where there is signal, proper probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from core.params import LightGBMParams, RollRateParams
from models.common.calibration import Calibrator, choose_calibration
from models.common.metrics import log_loss as multiclass_log_loss
from models.roll_rate.train import train_roll_rate
from tests.models_data import BUCKETS, planted_history

FAST = LightGBMParams(
    learning_rate=0.1, num_leaves=15, min_child_samples=50, n_estimators=150, early_stopping_rounds=20, num_threads=1
)


def _params(**kwargs) -> RollRateParams:
    return RollRateParams(valid_cycles=2, test_cycles=2, lightgbm=FAST, **kwargs)


@pytest.fixture(scope="module")
def planted():
    return planted_history(accounts=2500, cycles=10, seed=1, signal=1.5)


@pytest.fixture(scope="module")
def result(planted):
    return train_roll_rate(*planted, _params(model_form="auto", calibration="auto"), BUCKETS, seed=0)


def test_model_beats_the_baseline_on_a_planted_signal(result):
    m = result.metrics
    assert m["logloss_reduction"] > 0.08, m
    assert m["model"]["roll_forward_auc"] > m["baseline"]["roll_forward_auc"] + 0.03
    assert m["model"]["brier"] < m["baseline"]["brier"]
    # by bucket, where the signal acts: current accounts rolling forward
    current = m["by_bucket"]["current"]
    assert current["model"]["logloss"] < current["baseline"]["logloss"]


def test_without_signal_the_model_does_not_pretend(planted):
    features, labels = planted_history(accounts=2500, cycles=10, seed=1, signal=0.0)
    out = train_roll_rate(features, labels, _params(model_form="per_source", calibration="platt"), BUCKETS, seed=0)
    assert abs(out.metrics["logloss_reduction"]) < 0.03, out.metrics["logloss_reduction"]


def test_probabilities_are_distributions_and_the_split_is_out_of_time(result):
    for proba in result.predictions.values():
        assert proba.shape == (len(result.test), len(BUCKETS.names))
        assert np.all(proba > 0)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert result.metrics["training"]["model_form"] in ("multiclass", "per_source")
    assert result.metrics["training"]["calibration"] in ("none", "platt", "isotonic")
    assert max(result.split.train) < min(result.split.valid) <= max(result.split.valid) < min(result.split.test)


def test_model_forms_and_calibrations_each_give_valid_models(planted):
    features, labels = planted
    for model_form, calibration in (("multiclass", "isotonic"), ("per_source", "none")):
        out = train_roll_rate(
            features, labels, _params(model_form=model_form, calibration=calibration), BUCKETS, seed=0
        )
        assert out.model.model_form_ == model_form and out.model.calibration_ == calibration
        np.testing.assert_allclose(out.predictions["model"].sum(axis=1), 1.0)
        assert out.metrics["model"]["logloss"] < out.metrics["baseline"]["logloss"]


def test_training_is_deterministic(planted):
    features, labels = planted
    first = train_roll_rate(features, labels, _params(model_form="per_source"), BUCKETS, seed=0)
    second = train_roll_rate(features, labels, _params(model_form="per_source"), BUCKETS, seed=0)
    assert first.metrics == second.metrics


def test_calibration_repairs_a_distorted_model_and_is_chosen_out_of_sample():
    rng = np.random.default_rng(0)
    n = 20_000
    true = rng.dirichlet([1.0, 1.0, 1.0], size=n)
    y = (rng.random(n)[:, None] > np.cumsum(true, axis=1)).sum(axis=1)
    distorted = true**3 / (true**3).sum(axis=1, keepdims=True)  # overconfident
    fitted, losses = choose_calibration(distorted, y, groups=np.arange(n), wanted="auto")
    assert fitted.method in ("platt", "isotonic")
    assert losses[fitted.method] < losses["none"]
    assert multiclass_log_loss(y, fitted.transform(distorted)) < multiclass_log_loss(y, distorted) - 0.05
    np.testing.assert_allclose(Calibrator("none").fit(distorted, y).transform(distorted).sum(axis=1), 1.0)
