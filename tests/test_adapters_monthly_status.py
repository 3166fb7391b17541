"""The generic monthly-status adapter: a documented coding, nothing invented, errors that name the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adapters import monthly_status as ms
from adapters import uci_credit_default as uci
from core.errors import DataError
from core.params import load_params, parse_params
from core.paths import PROJECT_ROOT
from core.schema import TABLES

BOOK = pd.DataFrame(
    {
        "account": ["5", "5", "5", "5", "9", "9", "9", "9"],
        "month": ["2024-01", "2024-02", "2024-03", "2024-04", "2024-01", "2024-02", "2024-03", "2024-04"],
        "status": ["X", "0", "1", "C", "0", "2", "3", "5"],
    }
)


def test_the_card_book_coding_maps_to_band_lower_ends_and_states():
    tables = ms.to_canonical(BOOK)
    assert set(tables) == {"accounts", "statements"}, "no payments, contacts or restrictions: the source has none"
    st = tables["statements"]
    assert list(st.columns) == TABLES["statements"].column_names
    assert st["days_past_due"].tolist() == [0, 1, 30, 0, 1, 60, 90, 150]
    assert st["status"].tolist() == [
        "inactive",
        "active",
        "active",
        "paid_off",
        "active",
        "active",
        "active",
        "written_off",
    ]
    assert st["cycle_date"].dt.strftime("%Y-%m-%d").tolist()[:4] == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
    ]
    assert st[["balance", "amount_due", "past_due_amount", "amount_paid"]].isna().all().all()
    acc = tables["accounts"]
    assert acc["account_id"].tolist() == [5, 9]
    assert acc[["open_date", "credit_limit", "principal", "annual_rate", "instalment_amount"]].isna().all().all()
    assert not acc[["consent_sms", "consent_email", "consent_call"]].any().any()


def test_bands_of_the_coding():
    coding = ms.StatusCoding()
    assert coding.validate_bands() == (0, 1, 30, 60, 90, 120, 150)
    assert coding.band("0") == (1, 29) and coding.band("5") == (150, None) and coding.band("X") == (0, 0)
    parse_params({"validate": {"dpd_bands": list(coding.validate_bands())}})  # a valid declaration


def test_integer_months_count_from_the_declared_reference_month():
    rows = BOOK.assign(month=["0", "-1", "-2", "-3"] * 2)
    with pytest.raises(DataError, match="reference_month"):
        ms.to_canonical(rows)
    st = ms.to_canonical(rows, ms.StatusCoding(reference_month="2018-12"))["statements"]
    assert st["cycle_date"].min() == pd.Timestamp("2018-09-30") and st["cycle_date"].max() == pd.Timestamp("2018-12-31")


def test_an_unknown_code_is_an_error_naming_it():
    with pytest.raises(DataError, match=r"\['7'\]") as err:
        ms.to_canonical(BOOK.assign(status=["0", "7", "1", "C", "0", "2", "3", "5"]))
    assert err.value.rule == "allowed_values"


@pytest.mark.parametrize(
    "bad",
    [
        {"band_edges": (1, 30)},  # one edge per code
        {"band_edges": (0, 30, 60, 90, 120, 150)},  # a delinquency band starts at 1 day or more
        {"written_off_codes": ("C",)},
        {"current_codes": {"C": "gone"}},
        {"current_codes": {"0": None}},  # listed twice
    ],
)
def test_an_inconsistent_coding_is_refused(bad):
    with pytest.raises(ValueError):
        ms.StatusCoding(**bad)


def test_a_book_read_from_csv_keeps_codes_as_text(tmp_path):
    path = tmp_path / "book.csv"
    BOOK.to_csv(path, index=False)
    pd.testing.assert_frame_equal(ms.load(path)["statements"], ms.to_canonical(BOOK)["statements"])
    path.write_text("account,month\n1,2024-01\n")
    with pytest.raises(DataError, match="status"):
        ms.load(path)


def test_the_uci_coding_is_its_documented_mapping_and_what_its_configuration_declares():
    codes = np.array([-2, -1, 0, 1, 2, 3, 7, 8, 9])
    lower = [uci.CODING.band(str(k))[0] for k in codes]
    np.testing.assert_array_equal(uci.status_to_dpd(codes), lower)
    assert uci.CODING.band("1") == (1, 29) and uci.CODING.band("2") == (30, 59) and uci.CODING.band("9") == (240, None)
    declared = load_params(PROJECT_ROOT / "configs" / "uci" / "params.yaml").validate_
    assert declared.dpd_bands == uci.CODING.validate_bands() and declared.dpd_timing_days == 30
