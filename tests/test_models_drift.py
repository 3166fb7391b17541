"""Population stability index: hand-computed values, the credit-risk levels and the drift table."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.common.drift import (
    ACT,
    FLOOR,
    MISSING_BIN,
    WATCH,
    drift_table,
    level,
    profile,
    profile_json,
    psi,
    psi_bins,
    psi_bins_from_profile,
    psi_from_profile,
    read_reference,
)
from models.common.drift import reference as reference_file


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


# --- reference profiles (issue 16): what training stores of its population, and PSI from it at night


def _round_trip(reference: dict) -> dict:
    """A profile as the nightly job sees it: through its JSON text, as a reference file holds it."""
    document = reference_file("f", reference, profile(pd.DataFrame({"s": [0.5]}), ["s"]))
    return read_reference(profile_json(document))["features"]


def _books(seed: int, n: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def book(shift: float, size: int) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "balance": rng.lognormal(shift, 1.0, size),
                "dpd": rng.choice([0, 0, 0, 5, 30, 60], size) + int(shift * 10),
                "channel": pd.Categorical(rng.choice(["sms", "call", "email"][: 2 + int(shift > 0)], size)),
                "flag": rng.random(size) < 0.3 + shift / 4,
                "region": rng.choice(["US", "CN"], size).astype(object),
                "as_of": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 90 + int(shift * 30), size), "D"),
                "empty": np.full(size, np.nan),
            }
        )
        frame.loc[rng.random(size) < 0.05 + shift / 10, "balance"] = np.nan
        return frame

    return book(0.0, n), book(0.5, n // 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_psi_from_a_profile_equals_the_drift_table_on_the_same_data(seed):
    expected, actual = _books(seed)
    columns = list(expected.columns)
    stored = _round_trip(profile(expected, columns))
    want = drift_table(expected, actual, columns)
    got = psi_from_profile(stored, actual, columns)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert (got["level"] != "missing").all() and got["psi"].max() > ACT
    for name in columns:  # the bins too, not only their sum
        by_bins = psi_bins(expected[name], actual[name], column=name)
        from_profile = psi_bins_from_profile(stored["columns"][name], len(expected), actual[name], column=name)
        pd.testing.assert_frame_equal(from_profile, by_bins, check_exact=True)


@settings(max_examples=100, deadline=None)
@given(numbers, numbers, st.integers(2, 20))
def test_profile_psi_equals_psi_on_any_numbers(x, y, bins):
    frame = pd.DataFrame({"v": x})
    stored = _round_trip(profile(frame, ["v"], bins=bins))
    got = psi_from_profile(stored, pd.DataFrame({"v": y}))
    assert got["psi"].iloc[0] == psi(x, y, bins=bins)


def test_the_hand_computed_example_from_a_stored_profile():
    # the numeric example above: expected 1..10 in 5 quantile bins, cuts 2, 4, 6, 8
    stored = _round_trip(profile(pd.DataFrame({"x": np.arange(1, 11)}), ["x"], bins=5))
    entry = stored["columns"]["x"]
    assert entry == {"kind": "numeric", "missing": 0, "cuts": [2.0, 4.0, 6.0, 8.0], "counts": [2, 2, 2, 2, 2]}
    assert (stored["rows"], stored["bins"]) == (10, 5)
    table = psi_from_profile(stored, pd.DataFrame({"x": [1, 3, 3, 5, 9, 9, 9, 10, 10, 10]}))
    assert table["psi"].iloc[0] == pytest.approx(2.0974947532416954, abs=1e-9)
    # and the categorical one: e = 0.6, 0.4, 0; a = 0.5, 0.3, 0.2
    cats = _round_trip(profile(pd.DataFrame({"c": ["a"] * 6 + ["b"] * 4}), ["c"]))
    assert cats["columns"]["c"]["categories"] == [["a", "str"], ["b", "str"]]
    got = psi_from_profile(cats, pd.DataFrame({"c": ["a"] * 5 + ["b"] * 3 + ["c"] * 2}))
    assert got["psi"].iloc[0] == pytest.approx(1.566420764587036, abs=1e-9)


def test_a_profile_reports_absent_columns_a_type_change_and_takes_thresholds():
    stored = profile(pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0)}), ["x", "y"])
    tonight = pd.DataFrame({"x": ["a"] * 50 + list(np.arange(50.0)), "z": np.zeros(100)})
    table = psi_from_profile(stored, tonight, ["x", "y", "z"])
    assert table["column"].tolist() == ["x", "y", "z"]
    assert table["level"].tolist() == ["act", "missing", "missing"]
    assert pd.isna(table.loc[2, "missing_expected"]) and table.loc[1, "missing_expected"] == 0
    # numeric in training, text tonight: the training bins kept, each category a bin of its own
    bins = psi_bins_from_profile(stored["columns"]["x"], 100, tonight["x"], column="x")
    assert bins["bin"].tolist()[-1] == "a" and bins["expected_count"].iloc[-1] == 0
    assert bins["actual_count"].iloc[-1] == 50
    # thresholds from the caller (params scoring.psi_watch / psi_act)
    shifted = pd.DataFrame({"y": np.arange(100.0) + 3})
    value = psi_from_profile(stored, shifted)["psi"].iloc[0]
    assert 0.0 < value < WATCH
    assert psi_from_profile(stored, shifted, watch=value, act=1.0)["level"].iloc[0] == "watch"
    assert psi_from_profile(stored, shifted, watch=value / 2, act=value)["level"].iloc[0] == "act"
    with pytest.raises(ValueError, match="thresholds"):
        level(0.1, watch=0.3, act=0.2)


def test_a_reference_file_is_strict_json_and_checked_on_reading():
    frame = pd.DataFrame({"x": [1.0, np.inf, 3.0, -np.inf], "s": [0.1, 0.2, 0.3, 0.4]})
    arrears = {"rows": "in_arrears", "charge_off_dpd": 180}
    document = reference_file("roll_rate", profile(frame, ["x"], bins=4), profile(frame, ["s"], population=arrears))
    text = profile_json(document)
    assert "Infinity" not in text and "NaN" not in text
    back = read_reference(text)
    assert back == json.loads(text) and back["family"] == "roll_rate"
    assert back["features"]["population"] == {"rows": "all"} and back["scores"]["population"] == arrears
    assert psi_from_profile(back["features"], frame)["psi"].iloc[0] == 0.0
    for bad in ('{"format": "something else"}', json.dumps({**document, "scores": {"format": "x"}})):
        with pytest.raises(ValueError, match="not a dunning"):
            read_reference(bad)
    with pytest.raises(ValueError, match="'absent' is not in the frame"):
        profile(frame, ["absent"])
    with pytest.raises(ValueError, match="empty"):
        profile(frame.iloc[:0], ["x"])
