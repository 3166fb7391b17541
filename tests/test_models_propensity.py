"""Propensity to pay: beats its baselines on a planted signal, calibrated, out of time, served as trained."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from core.errors import DataError
from core.params import LightGBMParams, PropensityParams
from models.common.pyfunc import served_inputs
from models.propensity.pyfunc import log_pyfunc
from models.propensity.scoring import PropensityScorer
from models.propensity.train import train_propensity
from tests.models_data import BUCKETS, planted_arrears

FAST = LightGBMParams(
    learning_rate=0.1, num_leaves=15, min_child_samples=40, n_estimators=150, early_stopping_rounds=20, num_threads=1
)
HORIZONS = (7, 30)


def _params(**kwargs) -> PropensityParams:
    return PropensityParams(valid_cycles=2, test_cycles=2, lightgbm=FAST, **kwargs)


@pytest.fixture(scope="module")
def planted():
    return planted_arrears(accounts=1500, cycles=10, seed=1)


@pytest.fixture(scope="module")
def result(planted):
    return train_propensity(*planted, _params(), BUCKETS, HORIZONS, seed=0)


def test_model_beats_the_baselines_on_a_planted_signal(result):
    for h in ("7d", "30d"):
        m = result.metrics[h]
        assert m["model"]["auc"] > m["baseline"]["auc"] + 0.05, m
        assert m["model"]["auc"] > m["plain_lgbm"]["auc"] + 0.05, m
        assert m["model"]["brier"] < m["baseline"]["brier"] - 0.01, m
        assert m["model"]["lift_top_decile"] > m["baseline"]["lift_top_decile"], m
        assert m["amount"]["model"]["mae"] < m["amount"]["baseline"]["mae"], m["amount"]


def test_probabilities_are_calibrated(result):
    for h in ("7d", "30d"):
        p = result.predictions[h]["model"]
        hit = result.test[f"paid_{h}"].to_numpy(bool)
        assert np.all((p > 0) & (p < 1))
        assert abs(p.mean() - hit.mean()) < 0.03, (p.mean(), hit.mean())
        assert result.metrics[h]["model"]["calibration_error"] < 0.05, result.metrics[h]
        # the top decile really pays more often than the bottom one, as predicted
        lift = result.lift[(result.lift["bucket"] == f"paid_{h}") & (result.lift["model"] == "model")]
        assert lift["observed"].iloc[0] > 2 * lift["observed"].iloc[-1]
        assert lift["predicted"].is_monotonic_decreasing


def test_rows_are_the_accounts_in_arrears(planted, result):
    features, _ = planted
    arrears = features[(features["days_past_due"] > 0) & (features["days_past_due"] < 180)]
    assert len(result.windows) == len(arrears) == result.metrics["rows"]["in_arrears"]
    keys = result.windows.merge(features, on=["account_id", "as_of_date"])
    assert keys["days_past_due"].between(1, 179).all()
    assert result.test["days_past_due"].between(1, 179).all()
    # rows of the last cycle have no label yet: in arrears, never trained on or scored
    last = result.windows["as_of_date"] == features["as_of_date"].max()
    assert (result.windows.loc[last, "window"] == "").all() and last.any()


def test_the_split_is_out_of_time_and_never_trains_on_test_outcomes(planted):
    features, labels = planted_arrears(accounts=600, cycles=8, seed=3, horizons=(7, 45))
    out = train_propensity(features, labels, _params(), BUCKETS, (7, 45), seed=0)
    w = out.windows
    first_test = w.loc[w["window"] == "test", "as_of_date"].min()
    seen = w[w["window"].isin(["train", "valid"])]
    assert (seen["as_of_date"] + pd.Timedelta(days=45) <= first_test).all()
    assert out.metrics["rows"]["embargoed"] > 0, "45-day labels of the last validation month reach the test window"
    assert w.loc[w["window"] == "train", "as_of_date"].max() < w.loc[w["window"] == "valid", "as_of_date"].min()

    # the test window's outcomes never reach the fitted models: flipping them changes no prediction
    test_rows = labels.merge(w[w["window"] == "test"], on=["account_id", "as_of_date"])[["account_id", "as_of_date"]]
    flipped = labels.set_index(["account_id", "as_of_date"])
    index = pd.MultiIndex.from_frame(test_rows)
    for h in (7, 45):
        flipped.loc[index, f"paid_{h}d"] = ~flipped.loc[index, f"paid_{h}d"]
        flipped.loc[index, f"paid_amount_next_{h}d"] = flipped.loc[index, f"paid_amount_next_{h}d"] * 10 + 1
    again = train_propensity(features, flipped.reset_index(), _params(), BUCKETS, (7, 45), seed=0)
    for h in ("7d", "45d"):
        for name in ("model", "baseline", "plain_lgbm"):
            np.testing.assert_array_equal(again.predictions[h][name], out.predictions[h][name])
    assert again.metrics["7d"]["model"]["auc"] != out.metrics["7d"]["model"]["auc"]


def test_the_scorer_round_trips_through_files_and_the_registered_pyfunc(result, planted, tmp_path):
    features, _ = planted
    rows = features.tail(200)  # arrears, current and charged-off rows
    expected = result.scorer.predict(rows)
    result.scorer.save(tmp_path / "scorer")
    loaded = PropensityScorer.load(tmp_path / "scorer")
    pd.testing.assert_frame_equal(loaded.predict(rows), expected)
    arrears = rows["days_past_due"].between(1, 179).to_numpy()
    assert expected[arrears].notna().all().all() and expected[~arrears].isna().all().all()

    with mlflow.start_run():
        info = log_pyfunc(result.scorer, result.test.head(5))
    served = mlflow.pyfunc.load_model(info.model_uri)
    got = served.predict(served_inputs(served, rows))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    with pytest.raises(DataError, match="missing 1 of the model's"):
        served.predict(served_inputs(served, rows).drop(columns="engagement"))


def test_training_is_deterministic(planted, result):
    again = train_propensity(*planted, _params(), BUCKETS, HORIZONS, seed=0)
    assert again.metrics == result.metrics
