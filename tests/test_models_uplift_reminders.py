"""The bills reminders rescue, measured from a log (models/uplift/reminders.py: bills_paid_on_time, rescue_credit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.params import load_params
from models.uplift.reminders import MIN_ROWS, bills_paid_on_time, rescue_credit

PARAMS = load_params()
PRE_DAYS = PARAMS.uplift.pre_delinquency_days


def _log(bills: int, on_time_none: float, on_time_sms: float, seed: int = 3):
    """One statement per account on 2025-01-01 (amount due 100 + account id % 50), its reminder rows from
    2025-01-11 to the due day, and on the day before the due day an SMS with probability 0.5 (no contact
    otherwise); the bill paid in full by the day after its due day with the given probabilities, else 10 days
    late. Returns decision rows, tables, and the planted lift."""
    rng = np.random.default_rng(seed)
    acc = np.arange(bills)
    amount = 100.0 + acc % 50
    first = pd.Timestamp("2025-01-11")
    days = [first + pd.Timedelta(days=k) for k in range(PRE_DAYS + 1)]
    sms = rng.random(bills) < 0.5
    rows = []
    for k, day in enumerate(days):
        remind_day = k == PRE_DAYS - 1
        rows.append(
            pd.DataFrame(
                {
                    "account_id": acc,
                    "local_date": day,
                    "pre_delinquent": True,
                    "action": np.where(remind_day & sms, "sms", "none").astype(object),
                    "offer": "none",
                    "propensity": 0.5 if remind_day else 0.9,
                }
            )
        )
    rows = pd.concat(rows, ignore_index=True)
    paid = rng.random(bills) < np.where(sms, on_time_sms, on_time_none)
    due = first + pd.Timedelta(days=PRE_DAYS)
    paid_at = np.where(paid, due + pd.Timedelta(hours=30), due + pd.Timedelta(days=10))
    tables = {
        "statements": pd.DataFrame({"account_id": acc, "cycle_date": pd.Timestamp("2025-01-01"), "amount_due": amount}),
        "payments": pd.DataFrame(
            {"account_id": acc, "paid_at": pd.to_datetime(paid_at).tz_localize("UTC"), "amount": amount}
        ),
    }
    return rows, tables, on_time_sms - on_time_none


def test_the_lift_in_bills_paid_on_time_is_the_planted_one_and_credited_to_the_sms_rows_only():
    rows, tables, planted = _log(4 * MIN_ROWS, on_time_none=0.80, on_time_sms=0.92)
    credit, lift = rescue_credit(rows, tables, PARAMS)
    assert set(lift) == {"sms"}, "no other channel was logged"
    assert lift["sms"] == pytest.approx(planted, abs=0.04)
    sms = rows["action"].to_numpy(object) == "sms"
    bill = tables["statements"].set_index("account_id")["amount_due"].reindex(rows["account_id"]).to_numpy()
    np.testing.assert_allclose(credit[sms], bill[sms] * lift["sms"])
    assert (credit[~sms] == 0).all(), "no reminder, no credit"


def test_a_reminder_that_changes_nothing_is_credited_about_nothing():
    rows, tables, _ = _log(4 * MIN_ROWS, on_time_none=0.85, on_time_sms=0.85)
    _, lift = rescue_credit(rows, tables, PARAMS)
    assert abs(lift["sms"]) < 0.04


def test_a_channel_with_too_few_logged_reminders_gets_no_lift_and_no_credit():
    rows, tables, _ = _log(MIN_ROWS, on_time_none=0.80, on_time_sms=0.95)  # about MIN_ROWS / 2 SMS
    credit, lift = rescue_credit(rows, tables, PARAMS)
    assert lift == {} and (credit == 0).all()


def test_the_label_counts_the_day_after_the_due_day_and_not_a_bill_paid_later_or_not_yet_known():
    rows, tables, _ = _log(10, on_time_none=0.5, on_time_sms=0.5, seed=1)
    bill, on_time, to_due = bills_paid_on_time(rows, tables, PARAMS)
    due = pd.Timestamp("2025-01-11") + pd.Timedelta(days=PRE_DAYS)
    paid_at = tables["payments"].set_index("account_id")["paid_at"].dt.tz_localize(None)
    expected = (paid_at < due + pd.Timedelta(days=2)).astype(float).reindex(rows["account_id"]).to_numpy()
    # the last payment of the log is 10 days after the due day: every label is known
    np.testing.assert_array_equal(on_time, expected)
    assert not np.isnan(bill).any()
    days = (due - pd.to_datetime(rows["local_date"])).dt.days.to_numpy()
    np.testing.assert_array_equal(to_due, days)
    assert set(days) == set(range(PRE_DAYS + 1))
    # a log that ends on the due day: no label is known yet
    cut = tables["payments"]["paid_at"] <= pd.Timestamp(due, tz="UTC") + pd.Timedelta(hours=1)
    early = {**tables, "payments": tables["payments"][cut]}
    _, unknown, _ = bills_paid_on_time(rows, early, PARAMS)
    assert np.isnan(unknown).all()


def test_only_reminder_rows_have_a_bill_and_a_label():
    rows, tables, _ = _log(10, on_time_none=0.5, on_time_sms=0.5)
    rows["pre_delinquent"] = False
    bill, on_time, to_due = bills_paid_on_time(rows, tables, PARAMS)
    assert np.isnan(bill).all() and np.isnan(on_time).all() and (to_due == -1).all()
