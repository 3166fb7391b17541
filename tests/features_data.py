"""Small canonical books for the feature tests: a seeded random one and a hand-made tiny one.

The random book is not a simulator (no behaviour, no consistency between DPD and payments
beyond amount_paid = sum of the cycle's payments); it only exercises every column, every
channel, outcome and restriction kind, borrower-wide restrictions and odd time zones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.io import conform
from core.schema import CHANNELS, OUTCOMES, PAYMENT_METHODS, PRODUCTS, RESTRICTION_KINDS, table

TIMEZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Asia/Taipei", "UTC", "Australia/Adelaide")


def random_book(
    n_accounts: int = 60, n_cycles: int = 8, seed: int = 0, start: str = "2024-01-31"
) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(np.arange(1, n_accounts * 5), n_accounts, replace=False))
    borrower = ids // 2  # neighbours often share a borrower
    product = rng.choice(PRODUCTS, n_accounts)
    revolving = product == "revolving"
    size = rng.choice([500.0, 1000.0, 3000.0], n_accounts)
    start_ts = pd.Timestamp(start)
    open_date = start_ts - pd.to_timedelta(rng.integers(20, 400, n_accounts), unit="D")
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "borrower_id": borrower,
            "product": product,
            "open_date": open_date,
            "principal": np.where(revolving, np.nan, size),
            "credit_limit": np.where(revolving, size, np.nan),
            "term_months": pd.array(np.where(revolving, pd.NA, 12), dtype="Int64"),
            "annual_rate": rng.uniform(0.05, 0.3, n_accounts),
            "instalment_amount": size / 12,
            "origination_score": np.where(rng.random(n_accounts) < 0.9, rng.integers(500, 800, n_accounts), np.nan),
            "timezone": rng.choice(TIMEZONES, n_accounts),
            "region": "US-TX",
            "consent_sms": rng.random(n_accounts) < 0.8,
            "consent_email": rng.random(n_accounts) < 0.7,
            "consent_call": rng.random(n_accounts) < 0.9,
        }
    )
    # statements: monthly cycles with an account-specific day offset
    cycles = np.arange(n_cycles)
    acc_rep = np.repeat(np.arange(n_accounts), n_cycles)
    cyc_rep = np.tile(cycles, n_accounts)
    offset = rng.integers(0, 5, n_accounts)
    cycle_date = pd.DatetimeIndex([start_ts]).repeat(len(acc_rep)) + pd.to_timedelta(
        cyc_rep * 30 + offset[acc_rep], unit="D"
    )
    dpd = rng.choice([0, 0, 0, 0, 10, 40, 70, 100, 130, 190], len(acc_rep))
    balance = np.round(rng.uniform(0, 1.2, len(acc_rep)) * size[acc_rep], 2)
    balance[rng.random(len(acc_rep)) < 0.1] = 0.0
    amount_due = np.round(np.minimum(balance, size[acc_rep] / 12 * (1 + dpd / 30)), 2)
    past_due = np.round(np.where(dpd > 0, amount_due * 0.5, 0.0), 2)
    # payments: 0-3 per cycle, inside the cycle window (previous cycle date, cycle date]
    n_pay = rng.choice([0, 1, 1, 2, 3], len(acc_rep))
    p_row = np.repeat(np.arange(len(acc_rep)), n_pay)
    p_time = (
        cycle_date[p_row]
        - pd.to_timedelta(rng.integers(0, 29, len(p_row)), unit="D")
        + pd.to_timedelta(rng.integers(0, 86_400, len(p_row)), unit="s")
    ).tz_localize("UTC")
    p_amount = np.round(rng.choice([0.5, 1.0, 1.0, 2.0], len(p_row)) * size[acc_rep[p_row]] / 24, 2)
    payments = pd.DataFrame(
        {
            "payment_id": np.arange(1, len(p_row) + 1) * 3,
            "account_id": ids[acc_rep[p_row]],
            "paid_at": p_time,
            "amount": p_amount,
            "method": rng.choice(PAYMENT_METHODS, len(p_row)),
        }
    )
    paid = np.bincount(p_row, weights=p_amount, minlength=len(acc_rep))
    statements = pd.DataFrame(
        {
            "account_id": ids[acc_rep],
            "cycle_date": cycle_date,
            "balance": balance,
            "amount_due": amount_due,
            "past_due_amount": past_due,
            "amount_paid": np.round(paid, 2),
            "days_past_due": dpd,
        }
    )
    # contacts: a few per account, spread over the history, calls at all hours
    n_con = rng.poisson(6, n_accounts)
    c_acc = np.repeat(np.arange(n_accounts), n_con)
    c_time = (
        pd.DatetimeIndex([start_ts]).repeat(len(c_acc))
        + pd.to_timedelta(rng.integers(-20 * 86_400, n_cycles * 30 * 86_400, len(c_acc)), unit="s")
    ).tz_localize("UTC")
    outcome = rng.choice(OUTCOMES, len(c_acc))
    ptp = outcome == "promise_to_pay"
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(1, len(c_acc) + 1) * 7,
            "account_id": ids[c_acc],
            "contacted_at": c_time,
            "channel": rng.choice(CHANNELS, len(c_acc), p=[0.3, 0.2, 0.3, 0.05, 0.05, 0.05, 0.05]),
            "outcome": outcome,
            "promise_amount": np.where(ptp, np.round(size[c_acc] / 24, 2), np.nan),
            "promise_date": pd.Series(
                c_time.tz_localize(None).normalize() + pd.to_timedelta(rng.integers(0, 12, len(c_acc)), unit="D")
            ).where(ptp),
            "propensity": np.where(rng.random(len(c_acc)) < 0.5, rng.uniform(0.1, 1, len(c_acc)), np.nan),
        }
    )
    # restrictions: some accounts, some borrower-wide, some ended
    r_acc = rng.choice(n_accounts, max(1, n_accounts // 3))
    r_start = (
        pd.DatetimeIndex([start_ts]).repeat(len(r_acc))
        + pd.to_timedelta(rng.integers(0, n_cycles * 30 * 86_400, len(r_acc)), unit="s")
    ).tz_localize("UTC")
    ended = rng.random(len(r_acc)) < 0.5
    r_end = pd.Series(r_start + pd.to_timedelta(rng.integers(1, 90 * 86_400, len(r_acc)), unit="s")).where(ended)
    kind = rng.choice(RESTRICTION_KINDS, len(r_acc))
    channel = pd.Series(rng.choice(["sms", "email", "call"], len(r_acc))).where(
        (kind == "channel_opt_out") & (rng.random(len(r_acc)) < 0.8)
    )
    wide = rng.random(len(r_acc)) < 0.3
    restrictions = pd.DataFrame(
        {
            "restriction_id": np.arange(1, len(r_acc) + 1),
            "borrower_id": borrower[r_acc],
            "account_id": pd.array(np.where(wide, pd.NA, ids[r_acc]), dtype="Int64"),
            "kind": kind,
            "channel": channel,
            "start_at": r_start,
            "end_at": r_end,
        }
    )
    # decisions: some days of each account, mostly no contact (decided at 00:00 UTC: the accounts' day here)
    n_dec = rng.poisson(10, n_accounts)
    d_acc = np.repeat(np.arange(n_accounts), n_dec)
    d_day = pd.DatetimeIndex([start_ts]).repeat(len(d_acc)) + pd.to_timedelta(
        rng.integers(-20, n_cycles * 30, len(d_acc)), unit="D"
    )
    action = np.where(rng.random(len(d_acc)) < 0.6, "none", rng.choice(["sms", "email", "call"], len(d_acc)))
    decisions = pd.DataFrame(
        {
            "decision_id": np.arange(1, len(d_acc) + 1) * 11,
            "account_id": ids[d_acc],
            "borrower_id": borrower[d_acc],
            "decided_at": d_day.tz_localize("UTC"),
            "local_date": d_day,
            "action": action,
            "local_hour": pd.array(np.where(action == "none", pd.NA, rng.integers(8, 21, len(d_acc))), dtype="Int64"),
            "offer": "none",
            "propensity": rng.uniform(0.01, 1, len(d_acc)),
            "policy": "business_as_usual",
        }
    )
    raw = {
        "accounts": accounts,
        "statements": statements,
        "payments": payments,
        "contacts": contacts,
        "restrictions": restrictions,
        "decisions": decisions,
    }
    return {name: conform(frame, table(name)) for name, frame in raw.items()}


def _utc(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps), utc=True))


def tiny_book() -> dict[str, pd.DataFrame]:
    """Two accounts of one borrower with every feature family's values worked out by hand.

    Account 10 (revolving, New York) cures in March and pays around the 19th local time;
    account 20 (instalment, UTC) rolls 0 -> 30 -> 61 days past due. The latest cycle is
    2024-04-30, so labels are observed until 2024-05-01 00:00 UTC. tests/test_features_values.py
    spells out each expected value.
    """
    accounts = pd.DataFrame(
        {
            "account_id": [10, 20],
            "borrower_id": [100, 100],
            "product": ["revolving", "instalment"],
            "open_date": pd.to_datetime(["2023-12-01", "2024-01-15"]),
            "principal": [np.nan, 1200.0],
            "credit_limit": [1000.0, np.nan],
            "term_months": pd.array([pd.NA, 12], dtype="Int64"),
            "annual_rate": [0.2, 0.1],
            "instalment_amount": [50.0, 110.0],
            "origination_score": [712.0, np.nan],
            "timezone": ["America/New_York", "UTC"],
            "region": ["US-NY", "US-NY"],
            "consent_sms": [True, False],
            "consent_email": [False, True],
            "consent_call": [True, True],
        }
    )
    statements = pd.DataFrame(
        {
            "account_id": [10, 10, 10, 10, 20, 20, 20],
            "cycle_date": pd.to_datetime(
                ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-02-15", "2024-03-15", "2024-04-15"]
            ),
            "balance": [500.0, 560.0, 400.0, 450.0, 1200.0, 1150.0, 1100.0],
            "amount_due": [50.0, 100.0, 100.0, 50.0, 110.0, 220.0, 330.0],
            "past_due_amount": [0.0, 50.0, 0.0, 0.0, 0.0, 110.0, 220.0],
            "amount_paid": [0.0, 0.0, 200.0, 20.0, 0.0, 50.0, 0.0],
            "days_past_due": [0, 29, 0, 0, 0, 30, 61],
        }
    )
    payments = pd.DataFrame(
        {
            "payment_id": [1, 2, 3, 4],
            "account_id": [10, 10, 10, 20],
            "paid_at": _utc("2024-03-05 14:00", "2024-03-20 03:00", "2024-04-19 15:00", "2024-03-01 09:00"),
            "amount": [150.0, 50.0, 20.0, 50.0],
            "method": ["direct_debit", "card", "card", "bank_transfer"],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4, 5, 6, 7],
            "account_id": [10] * 7,
            "contacted_at": _utc(
                "2024-02-10 13:30",
                "2024-02-12 18:00",
                "2024-03-01 15:00",
                "2024-03-02 23:30",
                "2024-04-28 22:00",
                "2024-04-30 12:00",
                "2024-05-01 00:00",
            ),
            "channel": ["call", "call", "sms", "call", "call", "email", "call"],
            "outcome": [
                "no_answer",
                "promise_to_pay",
                "delivered",
                "promise_to_pay",
                "wrong_party",
                "opened",
                "refused",
            ],
            "promise_amount": [np.nan, 100.0, np.nan, 150.0, np.nan, np.nan, np.nan],
            "promise_date": pd.to_datetime([None, "2024-02-20", None, "2024-03-06", None, None, None]),
            "propensity": [np.nan] * 7,
        }
    )
    restrictions = pd.DataFrame(
        {
            "restriction_id": [1, 2, 3, 4],
            "borrower_id": [100] * 4,
            "account_id": pd.array([pd.NA, 10, 20, 20], dtype="Int64"),
            "kind": ["channel_opt_out", "hardship_plan", "dispute", "do_not_contact"],
            "channel": ["sms", None, None, None],
            "start_at": _utc("2024-02-15 10:00", "2024-03-10 00:00", "2024-04-15 00:00", "2024-03-01 00:00"),
            "end_at": _utc(None, "2024-04-10 12:00", None, "2024-03-16 00:00"),
        }
    )
    raw = {
        "accounts": accounts,
        "statements": statements,
        "payments": payments,
        "contacts": contacts,
        "restrictions": restrictions,
    }
    return {name: conform(frame, table(name)) for name, frame in raw.items()}
