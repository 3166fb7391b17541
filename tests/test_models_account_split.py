"""The split by account, the whole training part, the plain LightGBM baseline and the model forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.params import LightGBMParams, RollRateParams, SplitParams
from models.roll_rate import train as train_module
from models.roll_rate.family import RollRateFamily
from models.roll_rate.model import RollRateModel
from models.roll_rate.train import train_roll_rate
from tests.models_data import BUCKETS, planted_history

FAST = LightGBMParams(
    learning_rate=0.1, num_leaves=7, min_child_samples=30, n_estimators=60, early_stopping_rounds=10, num_threads=1
)


def _params(**kwargs) -> RollRateParams:
    return RollRateParams(
        split=SplitParams(method="account", folds=3, inner_folds=2), lightgbm=FAST, segment_column=None, **kwargs
    )


def _with_raw_columns(features):
    """The planted frames as the features stage would also write them: raw lag columns."""
    return features.assign(days_past_due_lag1=features["days_past_due"].astype(np.float32))


@pytest.fixture(scope="module")
def planted():
    features, labels = planted_history(accounts=600, cycles=5, seed=4)
    return _with_raw_columns(features), labels


@pytest.fixture(scope="module")
def spied(planted):
    """An account-split run, recording which accounts every fit saw."""
    seen = []
    original = RollRateModel.fit_cv

    def spy(self, train, y_train, groups, reference=None):
        seen.append((set(train["account_id"]), len(train)))
        return original(self, train, y_train, groups, reference)

    patch = pytest.MonkeyPatch()
    patch.setattr(RollRateModel, "fit_cv", spy)
    try:
        result = train_roll_rate(*planted, _params(), BUCKETS, seed=0)
    finally:
        patch.undo()
    return result, seen


def test_every_labelled_row_is_predicted_by_a_model_that_never_saw_its_account(planted, spied):
    result, seen = spied
    features, labels = planted
    labelled = labels["next_bucket"].notna() & (features["bucket"] != BUCKETS.charge_off)
    assert len(result.test) == int(labelled.sum())  # out of fold: every labelled row is a test row
    folds = result.split.fold
    assert len(seen) == result.split.folds + 1  # one fit per fold, then the registered model on all rows
    for f, (accounts, rows) in enumerate(seen[:-1]):
        tested = set(result.test["account_id"][folds == f])
        assert tested and not accounts & tested
        # the whole rest trains: no hold-out of the training part for validation or calibration
        assert rows == int((folds != f).sum())
    assert seen[-1][1] == len(result.test)
    for proba in result.predictions.values():
        assert proba.shape == (len(result.test), len(BUCKETS.names)) and np.all(proba > 0)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_the_model_learns_from_inner_folds_and_scores_with_their_mean(spied):
    result, _ = spied
    model = result.model
    assert all(len(boosters) == 2 for boosters in model.boosters().values())  # inner_folds = 2
    assert model.calibration_ in ("none", "platt", "isotonic")
    m = result.metrics
    assert m["model"]["logloss"] < m["baseline"]["logloss"]
    assert m["model"]["roll_forward_auc"] > m["baseline"]["roll_forward_auc"] + 0.03


def test_metrics_and_mlflow_tags_name_the_split(spied):
    result, _ = spied
    assert result.metrics["split"]["method"] == "account"
    assert result.metrics["split"]["folds"] == "3" and result.metrics["split"]["inner_folds"] == "2"
    from core.params import Params

    tags = RollRateFamily(result, Params(roll_rate=_params())).tags()
    assert tags["split.method"] == "account" and tags["split.folds"] == "3"


def test_the_time_split_is_named_too(planted):
    out = train_roll_rate(*planted, RollRateParams(valid_cycles=1, test_cycles=1, lightgbm=FAST), BUCKETS, seed=0)
    assert out.metrics["split"]["method"] == "time"


def test_a_champion_is_not_rescored_on_rows_it_trained_on(spied):
    result, _ = spied
    from core.params import Params

    with pytest.raises(ValueError, match="account split"):
        RollRateFamily(result, Params(roll_rate=_params())).score(model=None)


def test_the_plain_lightgbm_is_scored_beside_the_model_on_the_raw_columns_only(spied, monkeypatch):
    result, _ = spied
    m = result.metrics
    assert {"logloss", "brier", "roll_forward_auc", "calibration_error"} <= set(m["plain_lgbm"])
    assert m["logloss_vs_plain"] == pytest.approx(1 - m["model"]["logloss"] / m["plain_lgbm"]["logloss"], abs=2e-6)
    assert "plain_lgbm" in m["by_bucket"]["current"]
    # the planted signal (risk_score) is not a raw source column: the plain model never sees it
    fitted = []
    original = train_module.PlainLGBM.fit

    def spy(self, frame, y, rows=None):
        out = original(self, frame, y, rows)
        fitted.append(self.columns_)
        return out

    monkeypatch.setattr(train_module.PlainLGBM, "fit", spy)
    features, labels = planted_history(accounts=300, cycles=4, seed=5)
    train_roll_rate(_with_raw_columns(features), labels, _params(), BUCKETS, seed=0)
    assert fitted and all(columns == ["product", "days_past_due_lag1"] for columns in fitted)


def test_as_of_dates_outside_the_bounds_are_ignored(planted):
    features, labels = planted
    dates = np.sort(features["as_of_date"].unique())
    first = pd.Timestamp(dates[1]).date()
    out = train_roll_rate(features, labels, _params(first_as_of_date=first, last_as_of_date=first), BUCKETS, seed=0)
    assert (out.test["as_of_date"] == pd.Timestamp(first)).all()


def test_auto_fits_one_form_when_every_source_bucket_can_grow_its_own_trees(planted):
    features, labels = planted
    params = RollRateParams(valid_cycles=1, test_cycles=1, lightgbm=FAST, model_form="auto")
    thin = train_roll_rate(features, labels, params, BUCKETS, seed=0)  # thin late buckets: both forms compared
    assert set(thin.model.validation_logloss_) == {"multiclass", "per_source"}
    big = params.model_copy(update={"lightgbm": FAST.model_copy(update={"min_child_samples": 1})})
    one = train_roll_rate(features, labels, big, BUCKETS, seed=0)  # >= 10 minimum leaves everywhere
    assert set(one.model.validation_logloss_) == {"per_source"}


def test_the_time_split_bins_the_training_rows_once(planted, monkeypatch):
    """Memory on big books: one float copy of the training rows is binned; every sub-model trains on
    a subset of those bins (before: a DataFrame copy and a LightGBM matrix per sub-model)."""
    import lightgbm as lgb

    built = []
    original = lgb.Dataset.__init__

    def spy(self, data, *args, **kwargs):
        if data is not None and kwargs.get("reference") is None:
            built.append(type(data).__name__)
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(lgb.Dataset, "__init__", spy)
    params = RollRateParams(valid_cycles=1, test_cycles=1, lightgbm=FAST, model_form="per_source")
    out = train_roll_rate(*planted, params, BUCKETS, seed=0)
    assert len([m for m in out.model.models_.values() if m.boosters]) > 1
    assert built.count("ndarray") == 1  # the model's training rows (the plain baseline bins its own)
    assert "DataFrame" not in built[:1]


def test_the_laid_out_matrix_is_what_scoring_sees(planted):
    from models.common.dataset import FeatureLayout

    features, _ = planted
    layout = FeatureLayout.from_frame(features)
    rows = np.arange(3, len(features), 7)
    matrix = layout.matrix(features, rows, block=50)
    frame = layout.apply(features.iloc[rows])
    assert matrix.dtype == np.float32 and matrix.flags.c_contiguous
    for j, column in enumerate(layout.columns):
        expected = frame[column].cat.codes.to_numpy() if column in layout.categories else frame[column].to_numpy()
        np.testing.assert_array_equal(matrix[:, j], np.asarray(expected, dtype=np.float32))
