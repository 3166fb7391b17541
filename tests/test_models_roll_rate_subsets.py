"""Per-source boosters trained on a subset of the binned rows use column-wise histograms.

LightGBM 4.7 kills the process (a fatal check, then heap corruption) when it builds row-wise
histograms over some `Dataset.subset`s: `tests/data/lightgbm_subset/` holds one such subset, the
691 rows of source bucket 1 of a 3,000-account, 24-cycle simulated book, saved with LightGBM's
`save_binary`, and the booster parameters the roll-rate stage trained it with.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import lightgbm as lgb

import models.roll_rate.model as roll_rate_model
from models.roll_rate.model import SUBSET_HISTOGRAMS
from models.roll_rate.train import train_roll_rate
from tests.models_data import BUCKETS, planted_history
from tests.test_models_roll_rate import _params

SUBSET = Path(__file__).parent / "data" / "lightgbm_subset"

TRAIN_SUBSET = """
import json, sys
import lightgbm as lgb
from models.roll_rate.model import SUBSET_HISTOGRAMS
params = json.loads(open(sys.argv[1] + "/params.json").read()) | SUBSET_HISTOGRAMS
train = lgb.Dataset(sys.argv[1] + "/train.bin", params=params).construct()
booster = lgb.train(params, train, num_boost_round=60)
print(booster.num_trees())
"""


def test_the_subset_that_killed_lightgbm_trains_with_the_subset_histograms():
    # in its own process: a regression would end it with a signal, not fail an assertion here
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_SUBSET, str(SUBSET)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) == 60 * 3  # 60 rounds of a 3-class model


def test_every_booster_on_a_subset_of_the_binned_rows_is_trained_column_wise(monkeypatch):
    seen: list[tuple[bool, dict]] = []
    fit = roll_rate_model._fit_booster

    def spy(params, lgbm, train: lgb.Dataset, X_valid, y_valid):
        if train.used_indices is not None:  # the layout the subset was built with must be the booster's
            assert train.params.items() >= SUBSET_HISTOGRAMS.items(), "a row-wise subset trained column-wise"
        seen.append((train.used_indices is not None, dict(params)))
        return fit(params, lgbm, train, X_valid, y_valid)

    monkeypatch.setattr(roll_rate_model, "_fit_booster", spy)
    features, labels = planted_history(accounts=800, cycles=8, seed=3, signal=1.5)
    train_roll_rate(features, labels, _params(model_form="auto", calibration="none"), BUCKETS, seed=0)
    subsets = [params for is_subset, params in seen if is_subset]
    whole = [params for is_subset, params in seen if not is_subset]
    assert subsets and whole  # auto fits both forms here: per-source boosters on subsets, one multiclass
    assert all(params.items() >= SUBSET_HISTOGRAMS.items() for params in subsets)
    assert all(params["force_row_wise"] for params in whole)  # the faster layout where it is safe
