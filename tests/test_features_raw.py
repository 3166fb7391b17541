"""The raw family: the last statements' values exactly as the source wrote them, point in time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features_data import random_book, tiny_book

from core.params import FeaturesParams
from features import build_features
from features.raw import ACCOUNT_COLUMNS, STATEMENT_COLUMNS, STATUS, lag_name, raw_columns


@pytest.mark.parametrize("lags", [1, 3, 5])
def test_lag_i_is_the_ith_last_statement_before_the_as_of_date(lags):
    book = random_book(25, 7, seed=4)
    statements = book["statements"]
    rng = np.random.default_rng(lags)
    states = np.array(["active", "inactive", None], dtype=object)  # states that keep the account on the book
    book["statements"] = statements.assign(status=pd.array(rng.choice(states, len(statements)), dtype="str"))
    params = FeaturesParams(raw_lags=lags)
    features = build_features(book, None, params)
    # scoring rows mid-history too: as-of dates between cycle dates
    scoring = build_features(book, ["2024-03-20", "2024-06-01"], params)
    statements = book["statements"].sort_values(["account_id", "cycle_date"])
    for frame in (features, scoring):
        for row in frame.sample(40, random_state=0).itertuples(index=False):
            before = statements[
                (statements["account_id"] == row.account_id) & (statements["cycle_date"] < row.as_of_date)
            ]
            for lag in range(1, lags + 1):
                for column in STATEMENT_COLUMNS:
                    got = getattr(row, lag_name(column, lag))
                    where = (row.account_id, row.as_of_date, column, lag)
                    if lag > len(before):
                        assert pd.isna(got), where
                    elif column == STATUS:
                        expected = before[column].iloc[-lag]
                        assert (pd.isna(got) and pd.isna(expected)) or got == expected, where
                    else:
                        assert got == np.float32(before[column].iloc[-lag]), where


def test_account_columns_pass_through_unchanged():
    book = tiny_book()
    features = build_features(book)
    accounts = book["accounts"].set_index("account_id")
    for name in ACCOUNT_COLUMNS:
        expected = accounts.loc[features["account_id"], name].to_numpy(np.float32)
        np.testing.assert_array_equal(features[name].to_numpy(), expected)


def test_raw_columns_are_the_source_values_and_nothing_engineered():
    features = build_features(random_book(10, 4, seed=1), None, FeaturesParams(raw_lags=2))
    raw = raw_columns(features.columns)
    assert "days_past_due_lag2" in raw and "credit_limit" in raw and "product" in raw
    assert not {"bucket", "utilisation", "exposure", "worst_bucket_3c", "account_id"} & set(raw)
