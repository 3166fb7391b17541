"""Population stability index: hand-computed values, the credit-risk levels and the drift table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.common.drift import ACT, FLOOR, MISSING_BIN, WATCH, drift_table, level, psi, psi_bins


def _term(a: float, e: float) -> float:
    a, e = max(a, FLOOR), max(e, FLOOR)
    return (a - e) * math.log(a / e)


def test_hand_computed_numeric_example():
    # expected 1..10 in 5 quantile bins: cuts at 2, 4, 6, 8 (observed values), 2 rows (0.2) per bin
    expected = np.arange(1, 11)
    actual = [1, 3, 3, 5, 9, 9, 9, 10, 10, 10]
    table = psi_bins(expected, actual, bins=5)
    assert table["bin"].tolist() == ["(-inf, 2]", "(2, 4]", "(4, 6]", "(6, 8]", "(8, inf)"]
    assert table["expected_count"].tolist() == [2, 2, 2, 2, 2]
    assert table["actual_count"].tolist() == [1, 2, 1, 0, 6]
    # shares e = 0.2 each; a = 0.1, 0.2, 0.1, 0 (floored to 1e-4), 0.6
    #   (0.1 - 0.2) ln(0.1 / 0.2)       = 0.0693147180559945
    #   (0.2 - 0.2) ln(1)               = 0
    #   (0.1 - 0.2) ln(0.1 / 0.2)       = 0.0693147180559945
    #   (0.0001 - 0.2) ln(0.0001 / 0.2) = 1.5194204016624624
    #   (0.6 - 0.2) ln(0.6 / 0.2)       = 0.4394449154672438
    assert table["term"].to_numpy() == pytest.approx(
        [0.0693147180559945, 0.0, 0.0693147180559945, 1.5194204016624624, 0.4394449154672438], abs=1e-12
    )
    assert psi(expected, actual, bins=5) == pytest.approx(2.0974947532416954, abs=1e-9)
    assert level(psi(expected, actual, bins=5)) == "act"


def test_identical_samples_give_zero():
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=5_000)
    assert psi(x, x) == 0.0
    assert psi(x, rng.permutation(x)) == 0.0
    words = pd.Series(rng.choice(["a", "b", "c"], size=500))
    assert psi(words, words) == 0.0
    assert level(0.0) == "stable"


@pytest.mark.parametrize(
    ("shift", "low", "high", "expected_level"),
    [(0.1, 0.0, 0.03, "stable"), (0.4, 0.12, 0.19, "watch"), (1.0, 0.8, 1.05, "act")],
)
def test_shifted_normal(shift, low, high, expected_level):
    # decile bins of N(0, 1) against N(shift, 1): 0.0096, 0.153 and 0.926 in the limit of large samples
    rng = np.random.default_rng(7)
    value = psi(rng.normal(0.0, 1.0, 20_000), rng.normal(shift, 1.0, 20_000))
    assert low < value < high
    assert level(value) == expected_level


def test_categorical_with_an_unseen_category():
    expected = ["a"] * 6 + ["b"] * 4
    actual = ["a"] * 5 + ["b"] * 3 + ["c"] * 2
    table = psi_bins(expected, actual)
    assert table["bin"].tolist() == ["a", "b", "c"]
    assert table["expected_count"].tolist() == [6, 4, 0]
    assert table["actual_count"].tolist() == [5, 3, 2]
    # e = 0.6, 0.4, 0 (floored to 1e-4); a = 0.5, 0.3, 0.2
    #   (0.5 - 0.6) ln(0.5 / 0.6)       = 0.0182321556793955
    #   (0.3 - 0.4) ln(0.3 / 0.4)       = 0.0287682072451781
    #   (0.2 - 0.0001) ln(0.2 / 0.0001) = 1.5194204016624624
    want = (0.5 - 0.6) * math.log(0.5 / 0.6) + (0.3 - 0.4) * math.log(0.3 / 0.4) + (0.2 - 1e-4) * math.log(0.2 / 1e-4)
    assert psi(expected, actual) == pytest.approx(want, abs=1e-12)
    assert psi(expected, actual) == pytest.approx(1.566420764587036, abs=1e-9)


def test_booleans_and_categoricals_are_binned_by_category():
    expected = pd.Series([True] * 7 + [False] * 3)
    actual = pd.Series([True] * 5 + [False] * 5)
    assert psi_bins(expected, actual)["bin"].tolist() == ["False", "True"]
    assert psi(expected, actual) == pytest.approx(_term(0.5, 0.3) + _term(0.5, 0.7), abs=1e-12)
    cat = pd.Series(pd.Categorical(["x", "y", "y"], categories=["x", "y", "z"]))
    assert psi(cat, cat) == 0.0


def test_missing_values_get_their_own_bin():
    expected = np.arange(1.0, 11.0)
    actual = [1, 2, 3, 4, 5, 6, 7, 8, None, None]
    table = psi_bins(expected, actual, bins=5)
    assert table["bin"].tolist()[-1] == MISSING_BIN
    assert table["expected_count"].tolist() == [2, 2, 2, 2, 2, 0]
    assert table["actual_count"].tolist() == [2, 2, 2, 2, 0, 2]
    # the last value bin and the missing bin swap 0.2 for 0 (floored): twice (0.2 - 1e-4) ln(0.2 / 1e-4)
    assert psi(expected, actual, bins=5) == pytest.approx(2 * (0.2 - 1e-4) * math.log(0.2 / 1e-4), abs=1e-12)
    # no missing value on either side: no missing bin
    assert MISSING_BIN not in psi_bins(expected, expected)["bin"].tolist()
    # missing on the expected side only, and a column entirely missing tonight
    assert psi([1.0, 2.0, None, None], [1.0, 2.0, 1.0, 2.0], bins=2) > ACT
    assert psi(["a", "b"], pd.Series([None, None], dtype=object)) > ACT


def test_levels_at_the_edges():
    assert (WATCH, ACT) == (0.10, 0.25)
    assert level(0.0999) == "stable"
    assert level(0.10) == "watch"
    assert level(0.2499) == "watch"
    assert level(0.25) == "act"
    assert level(3.0) == "act"
    for bad in (math.nan, -0.01):
        with pytest.raises(ValueError, match="PSI"):
            level(bad)


def test_drift_table_reports_missing_columns_and_sorts_worst_first():
    rng = np.random.default_rng(3)
    n = 4_000
    expected = pd.DataFrame(
        {"score": rng.normal(0, 1, n), "balance": rng.lognormal(size=n), "channel": rng.choice(["sms", "call"], n)}
    )
    actual = pd.DataFrame({"score": rng.normal(1.0, 1, n), "balance": rng.lognormal(size=n), "extra": np.zeros(n)})
    actual.loc[:9, "balance"] = np.nan
    table = drift_table(expected, actual, ["balance", "channel", "score", "extra", "balance"], bins=10)
    assert list(table.columns) == [
        "column",
        "psi",
        "level",
        "expected_rows",
        "actual_rows",
        "missing_expected",
        "missing_actual",
    ]
    assert table["column"].tolist() == ["score", "balance", "channel", "extra"]
    score, balance, channel, extra = (table.iloc[i] for i in range(4))
    assert score["level"] == "act" and score["psi"] > ACT
    assert balance["level"] == "stable" and balance["missing_actual"] == 10 and balance["missing_expected"] == 0
    for absent in (channel, extra):
        assert math.isnan(absent["psi"]) and absent["level"] == "missing"
    assert pd.isna(channel["missing_actual"]) and channel["missing_expected"] == 0
    assert pd.isna(extra["missing_expected"]) and extra["missing_actual"] == 0
    assert (table["expected_rows"] == n).all() and (table["actual_rows"] == n).all()
    assert str(table["missing_actual"].dtype) == "Int64"


def test_empty_samples_and_bad_arguments_raise():
    with pytest.raises(ValueError, match="'balance'.*expected sample is empty"):
        psi([], [1.0], column="balance")
    with pytest.raises(ValueError, match="'score'.*actual sample is empty"):
        psi(pd.Series([1.0], name="score"), pd.Series([], dtype=float))
    with pytest.raises(ValueError, match="'score'.*empty"):
        drift_table(pd.DataFrame({"score": [1.0, 2.0]}), pd.DataFrame({"score": []}), ["score"])
    with pytest.raises(ValueError, match="1-D"):
        psi(np.zeros((2, 2)), [1.0])
    with pytest.raises(ValueError, match="bins"):
        psi([1.0], [1.0], bins=1)
    with pytest.raises(ValueError, match="floor"):
        psi([1.0], [1.0], floor=0.0)


def test_values_beyond_the_training_range_land_in_the_outer_bins():
    table = psi_bins([1.0, 2.0, 3.0, 4.0], [-100.0, math.inf, 2.5, 1e308], bins=2)
    assert table["actual_count"].tolist() == [1, 3]
    constant = psi([5.0] * 10, [6.0] * 10)
    assert constant > ACT  # a constant training feature still has a bin above its value


numbers = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(numbers, numbers, st.integers(2, 20))
def test_psi_is_non_negative_and_zero_on_itself(x, y, bins):
    value = psi(x, y, bins=bins)
    assert math.isfinite(value) and value >= 0.0
    assert psi(x, x, bins=bins) == 0.0
    assert psi(y, y, bins=bins) == 0.0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=40),
    st.lists(st.sampled_from(["a", "b", "d", None]), min_size=1, max_size=40),
)
def test_categorical_psi_is_non_negative_and_zero_on_itself(x, y):
    value = psi(pd.Series(x, dtype=object), pd.Series(y, dtype=object))
    assert math.isfinite(value) and value >= 0.0
    assert psi(pd.Series(x, dtype=object), pd.Series(x, dtype=object)) == 0.0


def test_datetimes_bin_as_numbers_whatever_their_unit():
    days = pd.Series(pd.date_range("2024-01-01", periods=100, freq="D"))
    later = days + pd.Timedelta(days=50)
    assert psi(days, days.astype("datetime64[s]")) == 0.0
    assert psi(days, later.dt.tz_localize("UTC")) > ACT
    assert psi(days - days.iloc[0], later - days.iloc[0]) == pytest.approx(psi(days, later), abs=1e-12)
