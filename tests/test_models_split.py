"""Out-of-time split: months in order, and never a test month in training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import DataError
from models.common.split import account_folds, account_split, cycle_index, out_of_time_split


@settings(max_examples=50, deadline=None)
@given(
    st.integers(5, 30),
    st.integers(1, 3),
    st.integers(1, 3),
    st.one_of(st.none(), st.integers(1, 10)),
    st.integers(0, 27),
)
def test_no_test_or_validation_cycle_reaches_training(months, valid, test, max_train, day):
    start = pd.Timestamp("2022-01-01") + pd.Timedelta(days=day)
    # staggered billing cycles: as-of dates on different days of the same months
    dates = pd.Series([start + pd.DateOffset(months=m) + pd.Timedelta(days=d) for m in range(months) for d in (0, 1)])
    if months < valid + test + 1:
        with pytest.raises(DataError, match="enough_history"):
            out_of_time_split(dates, valid, test, max_train)
        return
    split = out_of_time_split(dates, valid, test, max_train)
    window = split.window(dates)
    cycles = cycle_index(dates)
    assert cycles[window == "train"].max() < cycles[window == "valid"].min()
    assert cycles[window == "valid"].max() < cycles[window == "test"].min()
    assert set(cycles[window == "test"]) == set(np.unique(cycles)[-test:])
    assert not set(cycles[window == "train"]) & set(cycles[window == "test"])
    if max_train is not None:
        assert len(split.train) <= max_train


def test_rows_of_one_month_share_a_window():
    dates = pd.Series(
        pd.to_datetime(["2024-01-02", "2024-01-28", "2024-02-01", "2024-03-05", "2024-03-31", "2024-04-10"])
    )
    split = out_of_time_split(dates, valid_cycles=1, test_cycles=1)
    assert list(split.window(dates)) == ["train", "train", "train", "valid", "valid", "test"]


@settings(max_examples=30, deadline=None)
@given(st.integers(5, 60), st.integers(2, 5), st.integers(0, 3), st.integers(1, 4))
def test_account_folds_keep_every_account_in_one_fold(accounts, folds, seed, rows_each):
    ids = np.repeat(np.arange(100, 100 + accounts), rows_each)
    np.random.default_rng(seed).shuffle(ids)
    fold = account_folds(ids, folds, seed)
    per_account = pd.Series(fold).groupby(ids).nunique()
    assert (per_account == 1).all()
    sizes = np.bincount(pd.Series(fold).groupby(ids).first().to_numpy(), minlength=folds)
    assert sizes.max() - sizes.min() <= 1  # accounts dealt round robin
    np.testing.assert_array_equal(fold, account_folds(ids, folds, seed))  # seeded


def test_account_folds_need_an_account_per_fold():
    with pytest.raises(DataError, match="enough_accounts"):
        account_folds(np.array([1, 1, 2]), 3, 0)


def test_every_split_names_its_method():
    dates = pd.Series(pd.date_range("2024-01-01", periods=6, freq="MS"))
    assert out_of_time_split(dates, 1, 1).describe()["method"] == "time"
    split = account_split(np.arange(6), dates, folds=3, inner_folds=2, seed=0)
    assert split.describe()["method"] == "account" and split.describe()["folds"] == "3"
