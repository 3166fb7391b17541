"""Flow-rate forecast: balances rolled through a transition matrix, against what happened."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from models.roll_rate.forecast import actual_balances, charge_offs, flow_matrix, forecast_table, roll_forward_balances


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (4, 4), elements=st.floats(0.01, 1.0)), arrays(np.float64, 4, elements=st.floats(0, 1e6)))
def test_rolling_forward_conserves_balance(raw, start):
    matrix = raw / raw.sum(axis=1, keepdims=True)
    path = roll_forward_balances(start, matrix, 3)
    np.testing.assert_allclose(path.sum(axis=1), start.sum(), rtol=1e-9)
    np.testing.assert_allclose(path[2], start @ matrix @ matrix)


def test_flow_matrix_is_balance_weighted_and_charge_offs_are_inflows():
    proba = np.array([[0.9, 0.1, 0.0], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    matrix = flow_matrix(proba, source=np.array([0, 0, 1]), weight=np.array([100.0, 300.0, 50.0]), n_buckets=3)
    np.testing.assert_allclose(matrix[0], [0.6, 0.4, 0.0])  # (0.9*100 + 0.5*300) / 400
    np.testing.assert_allclose(matrix[2], [0.0, 0.0, 1.0])  # no weight: stays put
    path = roll_forward_balances(np.array([0.0, 100.0, 0.0]), np.array([[1, 0, 0], [0, 0.8, 0.2], [0, 0, 1.0]]), 2)
    np.testing.assert_allclose(charge_offs(path, 2), [20.0, 16.0])


def test_actual_path_carries_origin_balances_to_each_accounts_latest_bucket():
    frame = pd.DataFrame(
        {
            "account_id": [1, 2, 3, 1, 2, 1],
            "as_of_date": pd.to_datetime(["2024-01-02"] * 3 + ["2024-02-02"] * 2 + ["2024-03-02"]),
            "bucket": [0, 1, 0, 0, 2, 0],
            "balance": [100.0, 50.0, 70.0, 90.0, 35.0, 80.0],
        }
    )
    origin = 2024 * 12 + 0
    path = actual_balances(frame, np.array([1, 2, 3]), origin, 2, n_buckets=3)
    np.testing.assert_allclose(path[0], [170.0, 50.0, 0.0])
    np.testing.assert_allclose(path[1], [170.0, 0.0, 50.0])  # 2 charged off with its origin 50, not 35; 3 left current
    np.testing.assert_allclose(path[2], [170.0, 0.0, 50.0])  # origin balances are conserved, like the forecast's
    assert path.sum(axis=1) == pytest.approx([220.0] * 3)


def test_forecast_table_compares_each_prediction_with_the_actual_path():
    frame = pd.DataFrame(
        {
            "account_id": [1, 2, 1, 2],
            "as_of_date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-02-02", "2024-02-02"]),
            "bucket": [0, 1, 1, 2],
            "balance": [100.0, 100.0, 100.0, 100.0],
        }
    )
    perfect = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    table = forecast_table(frame, {"model": perfect}, 2024 * 12, 3, ("current", "late", "charge_off"))
    assert list(table["horizon"].unique()) == [1]  # only one cycle observed after the origin
    np.testing.assert_allclose(table["model"], table["actual"])
    assert table.loc[table["bucket"] == "charge_off_amount", "actual"].item() == 100.0


def _two_account_frame(balances: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [1, 2, 1, 2],
            "as_of_date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-02-02", "2024-02-02"]),
            "bucket": [0, 1, 1, 2],
            "balance": balances,
        }
    )


def test_forecast_counts_accounts_when_no_balance_is_known_instead_of_inventing_amounts():
    perfect = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    frame = _two_account_frame([np.nan] * 4)
    table = forecast_table(frame, {"model": perfect}, 2024 * 12, 3, ("current", "late", "charge_off"))
    assert set(table["unit"]) == {"accounts"}
    assert table.loc[table["bucket"] == "charge_off_accounts", "actual"].item() == 1.0
    assert "charge_off_amount" not in set(table["bucket"])


def test_forecast_leaves_out_and_reports_accounts_with_an_unknown_balance():
    perfect = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    frame = _two_account_frame([100.0, np.nan, 100.0, np.nan])
    table = forecast_table(frame, {"model": perfect}, 2024 * 12, 3, ("current", "late", "charge_off"))
    assert set(table["unit"]) == {"balance"} and set(table["balance_unknown"]) == {1}
    # account 2 (unknown balance) rolled into charge-off: it is neither forecast nor counted as actual
    assert table.loc[table["bucket"] == "charge_off_amount", ["actual", "model"]].to_numpy().tolist() == [[0.0, 0.0]]
    np.testing.assert_allclose(table["model"], table["actual"])
