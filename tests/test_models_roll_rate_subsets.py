"""Per-source boosters train on their own datasets, binned with the whole set's bin edges, column-wise.

LightGBM 4.7 killed the process (a fatal check, then heap corruption, no traceback) twice here: with
row-wise histograms on the 691 rows of source bucket 1 of a 3,000-account, 24-cycle simulated book,
and with column-wise training on a `Dataset.subset` of the row-wise binned set on the default book.
models/roll_rate/model.py avoids both: no subsets, and column-wise histograms built and trained alike.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

import models.roll_rate.model as roll_rate_model
from models.roll_rate.model import SOURCE_HISTOGRAMS, Binned
from models.roll_rate.train import train_roll_rate
from tests.models_data import BUCKETS, planted_history
from tests.test_models_roll_rate import FAST, _params


def test_every_per_source_booster_trains_column_wise_on_its_own_dataset_with_the_shared_bins(monkeypatch):
    seen: list[tuple[lgb.Dataset, dict]] = []
    fit = roll_rate_model._fit_booster

    def spy(params, lgbm, train: lgb.Dataset, X_valid, y_valid):
        seen.append((train, dict(params)))
        return fit(params, lgbm, train, X_valid, y_valid)

    monkeypatch.setattr(roll_rate_model, "_fit_booster", spy)
    features, labels = planted_history(accounts=800, cycles=8, seed=3, signal=1.5)
    train_roll_rate(features, labels, _params(model_form="auto", calibration="none"), BUCKETS, seed=0)
    parts = [(d, p) for d, p in seen if d.reference is not None]
    whole = [(d, p) for d, p in seen if d.reference is None]
    assert parts and whole  # auto fits both forms here: per-source boosters, and one multiclass model
    assert all(d.used_indices is None for d, _ in seen), "no Dataset.subset"
    for dataset, params in parts:  # laid out and trained column-wise, binned with the whole set's edges
        assert dataset.params.items() >= SOURCE_HISTOGRAMS.items() and params.items() >= SOURCE_HISTOGRAMS.items()
        assert dataset.reference.used_indices is None and dataset.reference.reference is None
    assert all(params["force_row_wise"] for _, params in whole)  # the faster layout where it is safe


def test_a_part_of_the_binned_rows_gives_the_booster_a_subset_of_the_same_rows_would():
    features, _ = planted_history(accounts=400, cycles=6, seed=5, signal=1.5)
    frame = features.drop(columns=["account_id", "as_of_date"])
    from models.common.dataset import FeatureLayout

    layout = FeatureLayout.from_frame(frame)
    rows = np.arange(0, len(frame), 2)  # the binned set covers every other row
    binned = Binned(layout, frame, rows, FAST, seed=0)
    mask = np.zeros(len(rows), dtype=bool)
    mask[: len(rows) // 3] = True
    y = (np.arange(len(rows)) % 3 == 0).astype(float)
    part = binned.take(mask, y[mask])
    assert part.num_data() == mask.sum() and np.array_equal(part.get_label(), y[mask])
    # the same rows laid out directly, binned with the same edges: identical boosters
    direct = lgb.Dataset(
        layout.matrix(frame, rows[mask]),
        label=y[mask],
        feature_name=list(layout.columns),
        categorical_feature=layout.categorical,
        params=binned.params | SOURCE_HISTOGRAMS,
        reference=binned.dataset,
    ).construct()
    params = {**binned.params, **SOURCE_HISTOGRAMS, "objective": "binary"}
    a = lgb.train(params, part, num_boost_round=5).model_to_string()
    b = lgb.train(params, direct, num_boost_round=5).model_to_string()
    assert a.split("feature_importances")[0] == b.split("feature_importances")[0]
