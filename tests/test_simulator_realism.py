"""The simulated book has the shapes of a real one (DOMAIN.md): roll rates, cures, paydays, history."""

from __future__ import annotations

import pandas as pd
import pytest
from simulator_data import small_params
from sklearn.metrics import roc_auc_score

from core.params import BucketParams
from simulator import Simulation


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    return Simulation.from_params(small_params(seed=21, accounts=3000, cycles=12)).run(record=True).tables()


@pytest.fixture(scope="module")
def transitions(book) -> pd.DataFrame:
    buckets = BucketParams().as_buckets()
    s = book["statements"].sort_values(["account_id", "cycle_date"]).reset_index(drop=True)
    s["bucket"] = buckets.code(s["days_past_due"])
    s["next_bucket"] = s.groupby("account_id")["bucket"].shift(-1)
    s["worst_before"] = s.groupby("account_id")["bucket"].transform(lambda b: b.shift(1).rolling(6, 1).max())
    return s[s["next_bucket"].notna()]


def _roll(t: pd.DataFrame, bucket: int) -> float:
    rows = t[t["bucket"] == bucket]
    return float((rows["next_bucket"] > bucket).mean())


def test_roll_rates_rise_with_the_bucket(transitions):
    rolls = [_roll(transitions, b) for b in range(5)]
    assert 0.01 <= rolls[0] <= 0.08  # a minority of current accounts miss a payment
    assert rolls[1] < rolls[2] < rolls[3] < rolls[4]
    assert rolls[3] > 0.5  # 60+ mostly keep rolling


def test_early_arrears_often_cure(transitions):
    early = transitions[transitions["bucket"] == 1]
    assert (early["next_bucket"] == 0).mean() > 0.35


def test_charge_offs_are_plausible(book):
    charged = book["statements"].query("days_past_due >= 180")["account_id"].nunique()
    assert 0.005 < charged / len(book["accounts"]) < 0.15


def test_history_predicts_beyond_the_current_bucket(transitions):
    """Among current accounts, those delinquent in the last six cycles roll far more often (not Markov)."""
    current = transitions[transitions["bucket"] == 0]
    was_late = current["worst_before"].fillna(0) > 0
    late = (current.loc[was_late, "next_bucket"] > 0).mean()
    clean = (current.loc[~was_late, "next_bucket"] > 0).mean()
    assert late > 2.5 * clean


def test_origination_score_ranks_risk_like_an_application_score(book):
    """Lower scores go 60+ days late more often, with the partial power of a real score (not the truth)."""
    acc = book["accounts"].set_index("account_id")
    score = acc["origination_score"]
    assert score.notna().all() and score.between(300, 850).all() and (score == score.round()).all()
    s = book["statements"].sort_values(["account_id", "cycle_date"])
    clean_start = s.groupby("account_id")["days_past_due"].first() == 0
    bad = (s.groupby("account_id")["days_past_due"].max() >= 60)[clean_start]
    gini = 2 * roc_auc_score(bad, -score.loc[bad.index]) - 1
    assert 0.3 < gini < 0.65


def test_payments_cluster_just_after_paydays(book):
    """Most paydays are Fridays (weekly, bi-weekly) or fixed days of the month; manual payments follow them."""
    p = book["payments"]
    manual = p[p["method"].isin(["bank_transfer", "card", "cash"])]
    weekday = manual["paid_at"].dt.day_of_week.value_counts(normalize=True)
    assert weekday[[4, 5, 6]].sum() > 0.5  # Friday to Sunday
    debit = p[p["method"] == "direct_debit"]["paid_at"].dt.day_of_week.value_counts(normalize=True)
    assert debit.max() < 0.2  # direct debits fall on due dates, any weekday
    day = manual["paid_at"].dt.day.value_counts(normalize=True)
    assert day[15] > 2 / 31  # the mid-month payday


def test_contact_outcomes_have_realistic_rates(book):
    c = book["contacts"]
    calls = c[c["channel"] == "call"]["outcome"].value_counts(normalize=True)
    spoke = (
        calls.reindex(["right_party_contact", "promise_to_pay", "refused", "dispute_raised", "cease_request"])
        .fillna(0)
        .sum()
    )
    assert 0.05 < spoke < 0.4  # calls reach the right party a small fraction of the time
    sms = c[c["channel"] == "sms"]["outcome"].value_counts(normalize=True)
    assert sms.get("not_delivered", 0) < 0.15
