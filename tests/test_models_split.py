"""Out-of-time split: months in order, and never a test month in training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import DataError
from models.common.split import cycle_index, out_of_time_split


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
