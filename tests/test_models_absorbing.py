"""The last bucket: absorbing charge-off (the default), or an ordinary bucket that can cure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.params import LightGBMParams, RollRateParams
from models.roll_rate.markov import MarkovBaseline
from models.roll_rate.scoring import MANIFEST, RollRateScorer
from models.roll_rate.train import train_roll_rate
from tests.models_data import BUCKETS, planted_history

FAST = LightGBMParams(
    learning_rate=0.1, num_leaves=7, min_child_samples=20, n_estimators=60, early_stopping_rounds=10, num_threads=1
)
TOP = BUCKETS.charge_off


@pytest.fixture(scope="module")
def curing():
    """Planted histories in which a third of the top bucket's accounts cure the next cycle."""
    features, labels = planted_history(accounts=1000, cycles=16, seed=6)
    labels = labels.copy()
    rng = np.random.default_rng(0)
    top = (features["bucket"] == TOP).to_numpy() & labels["next_bucket"].notna().to_numpy()
    cure = top & (rng.random(len(labels)) < 0.33)
    labels.loc[cure, "next_bucket"] = 0
    return features.assign(days_past_due_lag1=features["days_past_due"].astype(np.float32)), labels


def _train(curing, absorbing: bool, form: str = "per_source"):
    params = RollRateParams(
        valid_cycles=2, test_cycles=2, lightgbm=FAST, model_form=form, absorbing_last_bucket=absorbing
    )
    return train_roll_rate(*curing, params, BUCKETS, seed=0)


@pytest.mark.parametrize("form", ["per_source", "multiclass"])
def test_a_top_bucket_that_can_cure_is_trained_and_scored(curing, form):
    out = _train(curing, absorbing=False, form=form)
    top = out.test["bucket"].to_numpy() == TOP
    assert top.any() and out.metrics["by_bucket"][BUCKETS.names[TOP]]["rows"] == int(top.sum())
    assert out.metrics["training"]["absorbing"] is None and out.model.scorer_.absorbing is None
    for name in ("model", "baseline"):
        cure = out.predictions[name][top, 0]
        assert 0.15 < cure.mean() < 0.5, (name, cure.mean())  # about a third cure, not "stays put"
    if form == "per_source":
        assert TOP in out.model.models_


def test_by_default_the_top_bucket_is_absorbing_and_never_scored(curing):
    out = _train(curing, absorbing=True)
    assert not (out.test["bucket"] == TOP).any()
    assert out.metrics["training"]["absorbing"] == BUCKETS.names[TOP]
    rows = out.test.head(3).assign(bucket=np.int8(TOP))
    np.testing.assert_allclose(out.model.predict_proba(rows)[:, TOP], 1.0, atol=1e-4)


def test_markov_baseline_without_an_absorbing_bucket_learns_the_top_row():
    source = np.array([3, 3, 3, 3, 0, 0])
    target = np.array([0, 3, 3, 0, 0, 1])
    row = MarkovBaseline(4, smoothing=0.0, absorbing=None).fit(source, target).matrix()[3]
    np.testing.assert_allclose(row, [0.5, 0, 0, 0.5])
    stuck = MarkovBaseline(4, smoothing=0.0, absorbing=3).fit(source, target).matrix()[3]
    np.testing.assert_allclose(stuck, [0, 0, 0, 1])


def test_a_scorer_without_absorbing_bucket_saves_and_reloads(curing, tmp_path):
    out = _train(curing, absorbing=False)
    manifest = json.loads(out.model.scorer_.save(tmp_path).read_text())
    assert manifest["absorbing"] is None and manifest["format_version"] == 3
    loaded = RollRateScorer.load(tmp_path)
    assert loaded.absorbing is None
    np.testing.assert_allclose(loaded.predict_proba(out.test), out.predictions["model"], rtol=0, atol=1e-12)


def test_a_version_2_scorer_still_loads_and_scores_the_same(curing, tmp_path):
    """Version 3 only added what version 2 could not say: a champion registered before still serves."""
    out = _train(curing, absorbing=True)
    path = out.model.scorer_.save(tmp_path)
    manifest = json.loads(path.read_text())
    for entry in manifest["submodels"]:
        if "boosters" in entry:
            (entry["booster"],) = entry.pop("boosters")  # version 2: one booster per sub-model
    path.write_text(json.dumps({**manifest, "format_version": 2}))
    loaded = RollRateScorer.load(tmp_path)
    assert (tmp_path / MANIFEST).exists() and loaded.absorbing == TOP
    np.testing.assert_allclose(loaded.predict_proba(out.test), out.predictions["model"], rtol=0, atol=1e-12)
