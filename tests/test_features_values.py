"""Every feature family and label, checked against values worked out by hand on tests/features_data.tiny_book."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from features_data import tiny_book

from features import build_contact_labels, build_features, build_labels


@pytest.fixture(scope="module")
def feats() -> pd.DataFrame:
    return build_features(tiny_book()).set_index(["account_id", "as_of_date"])


def row(frame: pd.DataFrame, account: int, day: str) -> pd.Series:
    return frame.loc[(account, pd.Timestamp(day))]


def check(got: pd.Series, expected: dict[str, object]) -> None:
    for name, want in expected.items():
        value = got[name]
        if want is None:
            assert pd.isna(value), f"{name}: expected empty, got {value}"
        elif isinstance(want, float):
            assert value == pytest.approx(want, rel=1e-5, abs=1e-6), f"{name}: {value} != {want}"
        else:
            assert value == want, f"{name}: {value!r} != {want!r}"


def test_training_rows_are_the_morning_after_each_cycle(feats):
    assert list(feats.index) == [
        (10, pd.Timestamp(d)) for d in ("2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01")
    ] + [(20, pd.Timestamp(d)) for d in ("2024-02-16", "2024-03-16", "2024-04-16")]


def test_delinquency_state(feats):
    # account 10: dpd 0, 29, 0, 0 -> buckets 0, 1, 0, 0: one roll forward (Feb) and one cure (Mar)
    check(
        row(feats, 10, "2024-05-01"),
        {
            "days_past_due": 0,
            "bucket": 0,
            "past_due_amount": 0.0,
            "balance": 450.0,
            "amount_due": 50.0,
            "due_share": 50 / 450,
            "days_since_statement": 1.0,
            "cycles_on_book": 4,
            "dpd_change_1c": 0.0,
            "worst_bucket_3c": 1,
            "max_dpd_3c": 29,
            "mean_dpd_3c": 29 / 3,
            "mean_dpd_6c": 29 / 4,
            "delinquent_cycles_3c": 1,
            "cures_3c": 1,
            "roll_forwards_3c": 1,
            "consecutive_delinquent_cycles": 0,
            "cycles_since_delinquent": 2.0,
            "delinquent_cycles_total": 1,
            "cycles_30plus_total": 0,
            "cures_total": 1,
            "roll_forwards_total": 1,
        },
    )
    # account 20: dpd 0, 30, 61 -> buckets 0, 2, 3: two roll forwards, delinquent two cycles running
    check(
        row(feats, 20, "2024-04-16"),
        {
            "days_past_due": 61,
            "bucket": 3,
            "past_due_amount": 220.0,
            "past_due_share": 0.2,
            "dpd_change_1c": 31.0,
            "bucket_change_1c": 1.0,
            "worst_bucket_3c": 3,
            "consecutive_delinquent_cycles": 2,
            "cycles_since_delinquent": 0.0,
            "roll_forwards_total": 2,
            "cycles_30plus_total": 2,
            "cures_total": 0,
        },
    )
    # a first statement has no previous cycle to compare with
    check(row(feats, 20, "2024-02-16"), {"dpd_change_1c": None, "cycles_since_delinquent": None, "cycles_on_book": 1})


def test_payment_behaviour_from_statements(feats):
    # account 10, April: paid 20 against 100 due and 400 balance at the March statement -> partial.
    # last 3 cycles: paid 0, 200, 20 against due 50, 100, 100 and balances 500, 560, 400
    check(
        row(feats, 10, "2024-05-01"),
        {
            "amount_paid_last": 20.0,
            "pay_status_last": "partial",
            "paid_to_due_last": 0.2,
            "paid_to_balance_last": 0.05,
            "paid_to_due_3c": 220 / 250,
            "paid_to_balance_3c": 220 / 1460,
            "pay_none_share_3c": 1 / 3,
            "pay_minimum_share_3c": 1 / 3,
            "pay_partial_share_3c": 1 / 3,
            "pay_full_share_3c": 0.0,
            "pay_no_balance_share_3c": 0.0,
            "cycles_since_payment": 0.0,
        },
    )
    check(row(feats, 10, "2024-02-01"), {"pay_status_last": None, "paid_to_due_last": None})


def test_payment_behaviour_from_payments(feats):
    # account 10 paid 150 (03-05 14:00 UTC, direct debit), 50 (03-20 03:00 UTC = 03-19 23:00 in New York)
    # and 20 (04-19 15:00 UTC): paydays cluster on the 19th (local), both on Tuesdays... and a Friday
    check(
        row(feats, 10, "2024-05-01"),
        {
            "pay_count_7d": 0,
            "pay_amount_7d": 0.0,
            "pay_count_30d": 1,
            "pay_amount_30d": 20.0,
            "pay_count_90d": 3,
            "pay_amount_90d": 220.0,
            "pay_count_total": 3,
            "days_since_payment": 11.375,
            "last_payment_amount": 20.0,
            "paid_since_statement": 0.0,
            "direct_debit_share": 1 / 3,
            "payday_dom": 19.0,
            "payday_dom_share": 2 / 3,
            "payday_weekday": 1.0,
            "payday_weekday_share": 2 / 3,
            "days_until_payday_dom": 18.0,
            "days_until_payday_weekday": 6.0,  # 2024-05-01 is a Wednesday
        },
    )
    check(row(feats, 10, "2024-04-01"), {"pay_count_30d": 2, "pay_amount_30d": 200.0, "days_since_payment": 11.875})
    check(row(feats, 10, "2024-03-01"), {"pay_count_total": 0, "days_since_payment": None, "payday_dom": None})


def test_scoring_rows_see_payments_after_the_last_statement():
    scored = build_features(tiny_book(), "2024-03-10").set_index("account_id")
    # account 10's last statement is 02-29; the 150 paid on 03-05 is known on 03-10 but not on any statement
    check(scored.loc[10], {"paid_since_statement": 150.0, "days_since_statement": 10.0, "pay_count_7d": 1})
    # account 20 paid 50 on 03-01, after its 02-15 statement
    check(scored.loc[20], {"paid_since_statement": 50.0, "cycles_on_book": 1})


def test_contact_history(feats):
    # before 2024-05-01 (contact 7 at exactly 05-01 00:00 is not): calls 1 no answer (Sat 08:30 local),
    # 2 promise (Mon 13:00), 4 promise (Sat 18:30), 5 wrong party (Sun 18:00); sms 3 delivered; email 6 opened
    check(
        row(feats, 10, "2024-05-01"),
        {
            "call_attempts_total": 4,
            "call_attempts_7d": 1,
            "call_attempts_30d": 1,
            "call_reach_rate": 0.75,
            "call_rpc_rate": 0.5,
            "sms_attempts_total": 1,
            "sms_reach_rate": 1.0,
            "sms_rpc_rate": 0.0,
            "email_attempts_7d": 1,
            "letter_attempts_total": 0,
            "letter_reach_rate": None,
            "contacts_7d": 2,
            "contacts_30d": 2,
            "contacts_total": 6,
            "days_since_contact": 0.5,
            "days_since_rpc": 59 + 0.5 / 24,
            "days_since_call_conversation": 59 + 0.5 / 24,
            "call_answer_rate_08_12h": 0.0,
            "call_answer_rate_12_17h": 1.0,
            "call_answer_rate_17_21h": 1.0,
            "call_answer_rate_mon": 1.0,
            "call_answer_rate_sat": 0.5,
            "call_answer_rate_sun": 1.0,
            "call_answer_rate_tue": None,
            "refusals_total": 0,
        },
    )


def test_promises(feats):
    # promise 2 (100 by 02-20): nothing paid -> broken; promise 4 (150 by 03-06): 150 paid on 03-05 -> kept
    check(
        row(feats, 10, "2024-05-01"),
        {
            "ptp_total": 2,
            "ptp_kept_total": 1,
            "ptp_broken_total": 1,
            "ptp_kept_ratio": 0.5,
            "days_since_broken_ptp": 71.0,
            "open_ptp_count": 0,
            "open_ptp_amount": 0.0,
            "last_ptp_days_to_date": -56.0,
        },
    )
    # on 03-01 promise 4 is not made yet
    check(
        row(feats, 10, "2024-03-01"),
        {"ptp_total": 1, "ptp_broken_total": 1, "ptp_kept_total": 0, "days_since_broken_ptp": 10.0},
    )
    # on 03-04 promise 4 is open: made, due on 03-06, not judged yet
    scored = build_features(tiny_book(), "2024-03-04").set_index("account_id")
    check(
        scored.loc[10],
        {
            "ptp_total": 2,
            "open_ptp_count": 1,
            "open_ptp_amount": 150.0,
            "last_ptp_days_to_date": 2.0,
            "ptp_kept_total": 0,
            "ptp_broken_total": 1,
        },
    )


def test_restrictions(feats):
    # the borrower-wide sms opt-out (02-15) covers both accounts; account 10's hardship plan runs
    # 03-10 .. 04-10 12:00; account 20's do-not-contact ends exactly at 03-16 00:00; its dispute starts
    # exactly at 04-15 00:00 (in force from 04-16)
    check(row(feats, 10, "2024-02-01"), {"opt_out_sms": False, "restrictions_total": 0})
    # a hardship plan pauses collection contact (the rulebook's house rule), so it blocks contact
    check(
        row(feats, 10, "2024-04-01"),
        {
            "opt_out_sms": True,
            "restricted_channel_opt_out": True,
            "restricted_hardship_plan": True,
            "contact_blocked": True,
            "restrictions_total": 2,
        },
    )
    check(row(feats, 10, "2024-05-01"), {"restricted_hardship_plan": False, "opt_out_call": False})
    check(
        row(feats, 20, "2024-03-16"),
        {"restricted_do_not_contact": False, "opt_out_sms": True, "contact_blocked": False, "restrictions_total": 2},
    )
    check(row(feats, 20, "2024-04-16"), {"restricted_dispute": True, "contact_blocked": True, "restrictions_total": 3})
    on_day = build_features(tiny_book(), "2024-04-15").set_index("account_id")
    check(on_day.loc[20], {"restricted_dispute": False})
    during = build_features(tiny_book(), "2024-03-15").set_index("account_id")
    check(during.loc[20], {"restricted_do_not_contact": True, "contact_blocked": True})


def test_account_attributes(feats):
    check(
        row(feats, 10, "2024-05-01"),
        {
            "product": "revolving",
            "exposure": 1000.0,
            "annual_rate": 0.2,
            "term_months": None,
            "instalment_amount": 50.0,
            "instalment_to_exposure": 0.05,
            "origination_score": 712.0,
            "months_on_book": 152 / 30.4375,
            "term_elapsed_share": None,
            "consent_sms": True,
            "consent_email": False,
            "utc_offset_hours": -4.0,
            "utilisation": 0.45,
            "spend_last": (450 - 400 + 20) / 1000,
            "utilisation_mean_3c": 0.47,
            "utilisation_max_3c": 0.56,
            "utilisation_change_3c": -0.05,
            "utilisation_change_6c": -0.05,
            "spend_mean_3c": (0.06 + 0.04 + 0.07) / 3,
        },
    )
    check(row(feats, 10, "2024-02-01"), {"utc_offset_hours": -5.0})  # winter time
    check(
        row(feats, 20, "2024-04-16"),
        {
            "product": "instalment",
            "exposure": 1200.0,
            "origination_score": None,
            "term_elapsed_share": 92 / 30.4375 / 12,
        },
    )


def test_roll_rate_and_propensity_labels():
    labels = build_labels(tiny_book()).set_index(["account_id", "as_of_date"])
    assert labels["next_bucket"].dtype == "Int8"
    expected = {  # next_bucket, paid_7d, paid_amount_next_7d, paid_30d, paid_amount_next_30d
        (10, "2024-02-01"): (1, None, 0.0, None, 0.0),  # nothing past due: no propensity label
        (10, "2024-03-01"): (0, True, 150.0, True, 200.0),  # 50 past due; 150 paid on 03-05
        (10, "2024-04-01"): (0, None, 0.0, None, 20.0),
        (10, "2024-05-01"): (None, None, None, None, None),  # beyond the data: unobserved
        (20, "2024-03-16"): (3, False, 0.0, False, 0.0),
        (20, "2024-04-16"): (None, False, 0.0, None, None),  # 7 days fit before 05-01, 30 do not
    }
    for (account, day), values in expected.items():
        got = labels.loc[(account, pd.Timestamp(day))]
        for name, want in zip(
            ("next_bucket", "paid_7d", "paid_amount_next_7d", "paid_30d", "paid_amount_next_30d"), values, strict=True
        ):
            if want is None:
                assert pd.isna(got[name]), (account, day, name)
            else:
                assert got[name] == want, (account, day, name, got[name])


def test_contact_response_labels():
    labels = build_contact_labels(tiny_book()).set_index("contact_id")
    paid = labels["paid_within_7d"]
    assert paid.isna().tolist() == [False] * 4 + [True] * 3  # the last three run past the data
    assert paid.iloc[:4].tolist() == [False, False, True, True]
    assert labels.loc[3, "paid_amount_within_7d"] == 150.0
    assert math.isnan(labels.loc[5, "paid_amount_within_7d"])  # 04-28 + 7 days runs past the data
    assert labels.loc[2, "promise_kept"] == False  # noqa: E712 - pandas' nullable boolean
    assert labels.loc[4, "promise_kept"] == True  # noqa: E712
    assert labels["promise_kept"].isna().sum() == 5  # no promise made
    assert labels.loc[1, "as_of_date"] == pd.Timestamp("2024-02-10")


def test_last_bucket_accounts_are_scored_only_when_the_bucket_is_not_absorbing():
    book = tiny_book()
    statements = book["statements"].copy()
    latest_of_20 = statements.index[statements["account_id"].eq(20)].max()
    statements.loc[latest_of_20, "days_past_due"] = 200  # the last bucket (180+)
    book = {**book, "statements": statements}
    absorbing = set(build_features(book, "2024-06-01")["account_id"])
    ordinary = set(build_features(book, "2024-06-01", absorbing_last_bucket=False)["account_id"])
    assert absorbing == {10} and ordinary == {10, 20}


def test_decisions_in_the_30_days_before_d():
    """Decided at D - 31 days (out), D - 30 days (in), D - 12 days 19 h (in), D itself (not before D)."""
    from core.io import conform
    from core.schema import table

    book = tiny_book()
    borrower = int(book["accounts"].set_index("account_id").loc[10, "borrower_id"])
    at = pd.to_datetime(["2024-03-01T00:00", "2024-03-02T00:00", "2024-03-20T05:00", "2024-04-01T00:00"], utc=True)
    book["decisions"] = conform(
        pd.DataFrame(
            {
                "decision_id": [1, 2, 3, 4],
                "account_id": 10,
                "borrower_id": borrower,
                "decided_at": at,
                "local_date": at.tz_localize(None).normalize(),
                "action": ["sms", "none", "sms", "none"],
                "local_hour": pd.array([9, None, 10, None], dtype="Int64"),
                "offer": "none",
                "propensity": [0.2, 0.7, 0.1, 0.9],
                "policy": "business_as_usual",
            }
        ),
        table("decisions"),
    )
    scored = build_features(book, "2024-04-01").set_index("account_id")
    check(scored.loc[10], {"decisions_30d": 2, "decisions_none_share_30d": 0.5})
    earlier = build_features(book, "2024-03-02").set_index("account_id")
    check(earlier.loc[10], {"decisions_30d": 1, "decisions_none_share_30d": 0.0})
    without = build_features(tiny_book(), "2024-04-01").set_index("account_id")
    check(without.loc[10], {"decisions_30d": None, "decisions_none_share_30d": None})
