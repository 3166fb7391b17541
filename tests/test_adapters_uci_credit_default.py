"""UCI credit-card adapter: canonical tables that the validation rules accept, statuses kept apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adapters import uci_credit_default as uci
from core.errors import DataError
from core.paths import UCI_CREDIT_DEFAULT_CSV
from core.schema import TABLES
from validation.business import amount_paid_matches_payments, dpd_growth

STATUS = ["PAY_6", "PAY_5", "PAY_4", "PAY_3", "PAY_2", "PAY_0"]  # April .. September
BILL = [f"BILL_AMT{i}" for i in range(6, 0, -1)]
PAID = [f"PAY_AMT{i}" for i in range(6, 0, -1)]


def _csv_rows(statuses: list[list[int]]) -> pd.DataFrame:
    """A small source frame: one account per status path (April..September), with demographics."""
    n = len(statuses)
    frame = {
        "ID": np.arange(1, n + 1),
        "LIMIT_BAL": 50_000.0,
        "SEX": 2,
        "EDUCATION": 1,
        "MARRIAGE": 2,
        "AGE": 35,
        "DEFAULT": np.arange(n) % 2,
    }
    for m, (s, b, p) in enumerate(zip(STATUS, BILL, PAID, strict=True)):
        frame[s] = [path[m] for path in statuses]
        frame[b] = [1000.0 * (m + 1) if path[m] != -2 else 0.0 for path in statuses]
        frame[p] = [0.0 if path[m] > 0 else 500.0 for path in statuses]
    frame["BILL_AMT3"] = [-200.0] + frame["BILL_AMT3"][1:]  # a credit balance
    return pd.DataFrame(frame)


@pytest.fixture(scope="module")
def source():
    return _csv_rows(
        [
            [0, 0, 2, 3, 4, 1],
            [-2, -2, -1, 0, 0, 0],
            [-1, -1, -1, -1, -1, -1],
            [2, 3, 4, 5, 6, 7],
            [8, 8, 8, 8, 8, 8],
            [0, 2, 0, 2, 0, 2],
        ]
    )


def test_tables_follow_the_schema_and_the_payment_rules(source):
    tables = uci.to_canonical(source)
    assert set(tables) == set(TABLES) - {"decisions"}  # no decision log in the source: absent, not empty
    for name, frame in tables.items():
        assert list(frame.columns) == TABLES[name].column_names
    st = tables["statements"]
    assert len(st) == 6 * len(source) and st["balance"].min() >= 0
    assert tables["contacts"].empty and tables["restrictions"].empty
    assert amount_paid_matches_payments(st, tables["payments"], tables["accounts"], tolerance=0.01) == []
    assert dpd_growth(st, tables["accounts"]) == []
    assert (tables["payments"]["paid_at"].dt.tz is not None) and (tables["payments"]["amount"] > 0).all()


def test_protected_attributes_never_leave_the_adapter(source):
    columns = {c.lower() for frame in uci.to_canonical(source).values() for c in frame.columns}
    assert not columns & {"sex", "education", "marriage", "age"}


def test_status_codes_map_to_days_past_due_and_stay_distinguishable(source):
    np.testing.assert_array_equal(
        uci.status_to_dpd(np.array([-2, -1, 0, 1, 2, 3, 7, 8])), [0, 0, 0, 1, 30, 60, 180, 210]
    )
    st = uci.to_canonical(source)["statements"]
    september = st[st["cycle_date"] == pd.Timestamp("2005-09-30")].set_index("account_id")
    assert september.loc[1, "days_past_due"] == 1  # code 1 (September only) -> 1-29 bucket
    april = st[st["cycle_date"] == pd.Timestamp("2005-04-30")].set_index("account_id")
    # -2 owes nothing, -1 owes the whole balance, 0 owes the minimum: three different current states
    due_share = (april["amount_due"] / april["balance"].where(april["balance"] > 0)).fillna(0.0)
    assert april.loc[2, "amount_due"] == 0.0
    assert due_share.loc[3] == pytest.approx(1.0)
    assert due_share.loc[1] == pytest.approx(uci.MIN_PAYMENT_RATE)


def test_no_consumption_with_a_zero_bill_is_inactive_and_other_states_stay_unreported(source):
    frame = source.copy()
    frame.loc[frame["ID"] == 3, "BILL_AMT6"] = 0.0  # -1 "paid in full" with a zero bill: not inactive
    st = uci.to_canonical(frame)["statements"].set_index(["account_id", "cycle_date"])
    april, july = pd.Timestamp("2005-04-30"), pd.Timestamp("2005-07-31")
    assert st.loc[(2, april), "status"] == "inactive"  # -2 and a zero bill
    assert pd.isna(st.loc[(3, april), "status"])
    assert pd.isna(st.loc[(2, july), "status"])  # code 0: a balance, state not reported
    assert set(st["status"].dropna()) == {"inactive"}


def test_default_target_is_keyed_like_the_features(source):
    target = uci.default_target(source)
    assert list(target.columns) == ["account_id", "as_of_date", "default"]
    assert (target["as_of_date"] == uci.TARGET_AS_OF).all()


def test_missing_column_is_a_data_error(tmp_path, source):
    path = tmp_path / "uci.csv"
    source.drop(columns="PAY_AMT3").to_csv(path, index=False)
    with pytest.raises(DataError, match="PAY_AMT3"):
        uci.load(path)


@pytest.mark.skipif(not UCI_CREDIT_DEFAULT_CSV.exists(), reason="the shared UCI data set is not present")
def test_real_file_maps_completely():
    tables, target = uci.load()
    assert len(tables["accounts"]) == 30_000 and len(tables["statements"]) == 180_000
    assert target["default"].mean() == pytest.approx(0.2212, abs=1e-4)
    assert dpd_growth(tables["statements"], tables["accounts"]) == []
