"""The catalogue describes exactly the produced columns, the committed copy is current, and labels stay out."""

from __future__ import annotations

import pandas as pd
import pytest
from features_data import random_book, tiny_book

from core.params import FeaturesParams
from core.paths import PROJECT_ROOT
from features import (
    build_contact_labels,
    build_features,
    build_labels,
    catalogue_markdown,
    contact_label_columns,
    feature_catalogue,
    label_columns,
)

CATALOGUE_FILE = PROJECT_ROOT / "docs" / "feature_catalogue.md"
ODD = FeaturesParams(
    payment_windows_days=(3, 60),
    contact_windows_days=(14,),
    cycle_windows=(2, 4),
    hour_band_edges=(9, 13, 20),
    ptp_horizons_days=(10,),
    contact_response_days=3,
)


@pytest.mark.parametrize("params", [FeaturesParams(), ODD], ids=["default", "other-windows"])
def test_catalogue_lists_exactly_the_produced_columns_in_order(params):
    produced = build_features(random_book(20, 4, 2), None, params)
    catalogue = feature_catalogue(params)
    assert list(produced.columns) == catalogue["name"].tolist()
    assert catalogue["name"].is_unique
    assert catalogue[["description", "window", "source", "family"]].ne("").all().all()


def test_committed_catalogue_is_what_the_code_generates():
    assert CATALOGUE_FILE.read_text() == catalogue_markdown(), (
        "regenerate with: python -m features > docs/feature_catalogue.md"
    )


def test_feature_columns_are_model_ready():
    frame = build_features(random_book(20, 4, 2))
    assert frame["bucket"].dtype == "int8"
    assert frame["product"].dtype == "category"
    for name, dtype in frame.drop(columns=["account_id", "as_of_date"]).dtypes.items():
        ok = (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_bool_dtype(dtype)
            or (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype))
        )
        assert ok, f"{name} has dtype {dtype}"


@pytest.mark.parametrize("params", [FeaturesParams(), ODD], ids=["default", "other-windows"])
def test_no_label_can_enter_the_feature_table(params):
    book = tiny_book()
    features = set(build_features(book, None, params).columns)
    labels = build_labels(book, None, params)
    contact = build_contact_labels(book, params)
    assert set(label_columns(params)) == set(labels.columns) - {"account_id", "as_of_date"}
    assert set(contact_label_columns(params)) <= set(contact.columns)
    assert not features & set(label_columns(params))
    assert not features & set(contact_label_columns(params))
    assert not [c for c in features if c.startswith(("next_", "paid_within", "promise_kept"))]


def test_labels_share_the_feature_rows():
    book = random_book(20, 4, 2)
    for as_of in (None, "2024-04-10"):
        features = build_features(book, as_of)
        labels = build_labels(book, as_of)
        pd.testing.assert_frame_equal(features[["account_id", "as_of_date"]], labels[["account_id", "as_of_date"]])
