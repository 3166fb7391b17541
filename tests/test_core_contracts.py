"""The key and label contract: a label can never reach a model's features, whatever is joined."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import contracts
from core.params import FeaturesParams, LightGBMParams, RollRateParams
from features import contact_label_columns, feature_specs, label_columns
from models.common.dataset import FeatureLayout, feature_columns
from models.roll_rate.train import train_roll_rate
from tests.models_data import BUCKETS, planted_history

FAST = LightGBMParams(
    learning_rate=0.2, num_leaves=7, min_child_samples=50, n_estimators=20, early_stopping_rounds=5, num_threads=1
)


def _every_label(horizons=(7, 30, 45), response_days=(7, 14)) -> list[str]:
    out = contracts.label_columns(horizons)
    for days in response_days:
        out += contracts.contact_label_columns(days)
    return out


def test_features_write_the_contract_names():
    params = FeaturesParams()
    assert label_columns(params) == contracts.label_columns(params.ptp_horizons_days)
    assert contact_label_columns(params) == contracts.contact_label_columns(params.contact_response_days)


def test_no_catalogued_feature_is_named_like_a_label():
    names = [
        f.name for f in feature_specs(FeaturesParams(ptp_horizons_days=(3, 7, 30, 90), contact_windows_days=(7, 30)))
    ]
    assert not [n for n in names if contracts.is_label(n)]
    assert contracts.SOURCE_BUCKET in names and not set(contracts.FEATURE_KEYS) - set(names)


@pytest.mark.parametrize("label", _every_label())
def test_a_joined_label_of_any_horizon_is_never_a_feature(label):
    frame = pd.DataFrame(
        {
            "account_id": [1, 2],
            "as_of_date": pd.to_datetime(["2024-01-01"] * 2),
            "bucket": np.int8([0, 1]),
            "balance": [1.0, 2.0],
            label: [1.0, 0.0],
        }
    )
    assert feature_columns(frame) == ["bucket", "balance"]
    assert label not in FeatureLayout.from_frame(frame).columns


def test_training_with_every_label_joined_to_the_features_learns_from_none_of_them():
    features, labels = planted_history(accounts=600, cycles=6, seed=3)
    rng = np.random.default_rng(0)
    leaked = features.assign(**{name: rng.random(len(features)) for name in _every_label()})
    leaked["next_bucket"] = labels["next_bucket"].to_numpy()  # the target itself, joined by mistake
    result = train_roll_rate(
        leaked, labels, RollRateParams(valid_cycles=1, test_cycles=1, lightgbm=FAST), BUCKETS, seed=0
    )
    columns = set(result.model.layout_.columns)
    assert not [c for c in columns if contracts.is_label(c)]
    assert columns == set(feature_columns(features))
