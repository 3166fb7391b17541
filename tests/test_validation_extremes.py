"""Extreme values and impossible histories: amounts beyond the schema's maxima, and days past due
that fall with nothing to explain it (issue 11)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401

from core.errors import DataError
from core.schema import MAX_AMOUNT, TABLES
from validation import business
from validation.expectations import expectation_specs

#: Every column that holds money (limits, principals, instalments, balances, payments, promises).
AMOUNT_COLUMNS = {
    "accounts": ("principal", "credit_limit", "instalment_amount"),
    "statements": ("balance", "amount_due", "past_due_amount", "amount_paid"),
    "payments": ("amount",),
    "contacts": ("promise_amount",),
}


def test_every_amount_column_has_a_documented_maximum():
    for name, columns in AMOUNT_COLUMNS.items():
        for column in columns:
            col = TABLES[name].column(column)
            assert (col.min_value, col.max_value) == (0.0, MAX_AMOUNT), (name, column)
            spec = ("ExpectColumnValuesToBeBetween", {"column": column, "max_value": MAX_AMOUNT}, "max_value", column)
            assert spec in expectation_specs(TABLES[name])
    # integer cents of the largest amount are exact in float64 (2^53) with room for sums over a history
    assert MAX_AMOUNT * 100 * 64 < 2**53 and MAX_AMOUNT * 100 * 90_000 < 2**63


def test_amounts_beyond_the_maximum_are_quarantined(project: Project):
    """1e18 passed validation and overflowed the integer cents of the features stage."""
    tables = clean_tables()
    st = tables["statements"]
    st.loc[3, "balance"] = 1e18
    st.loc[4, "balance"] = MAX_AMOUNT  # the maximum itself is allowed
    st.loc[5, "past_due_amount"] = np.nextafter(MAX_AMOUNT, np.inf)
    tables["accounts"].loc[1, "credit_limit"] = 9.9e15  # revolving account 102: it takes its records with it
    contact = int(np.flatnonzero(tables["contacts"]["account_id"] != 102)[0])
    tables["contacts"].loc[contact, "propensity"] = 1.5  # a probability
    write_raw(tables, project.raw)
    metrics = project.run(max_quarantine_share=1.0)

    def reasons(name: str) -> dict[int, str]:
        q = project.quarantined(name)
        return dict(zip(q["row_number"], q["reason"], strict=True))

    assert reasons("accounts") == {1: "max_value:credit_limit"}
    statements = reasons("statements")
    assert statements[3] == "max_value:balance" and statements[5] == "max_value:past_due_amount"
    assert 4 not in statements
    assert set(statements) - {3, 5} == set(np.flatnonzero(st["account_id"] == 102))
    assert reasons("contacts")[contact] == "max_value:propensity"
    assert metrics["tables"]["statements"]["quarantined_by_rule"]["max_value:balance"] == 1


def test_max_value_severity_can_be_made_fatal(project: Project):
    tables = clean_tables()
    tables["payments"].loc[0, "amount"] = 1e18
    write_raw(tables, project.raw)
    with pytest.raises(DataError, match="table 'payments', column 'amount': rule 'max_value' failed"):
        project.run(severity={"max_value": "fatal"})
    assert not project.validated.exists()


# --------------------------------------------------------------------------- days past due along a history


def _history(dpd: list[int], paid: list[float] | None = None, zone: str = "America/Chicago"):
    """One account opened 2023-06-01 with month-end cycles from 2023-12-31."""
    accounts = pd.DataFrame(
        {
            "account_id": [1],
            "borrower_id": [9],
            "open_date": pd.to_datetime(["2023-06-01"]),
            "timezone": [zone],
        }
    )
    cycles = pd.date_range("2023-12-31", periods=len(dpd), freq="ME")
    statements = pd.DataFrame(
        {
            "account_id": 1,
            "cycle_date": cycles,
            "amount_paid": paid if paid is not None else [0.0] * len(dpd),
            "days_past_due": dpd,
        }
    )
    return accounts, statements


def _plan(start_at: str, account_id: int | None = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "restriction_id": [1],
            "borrower_id": [9],
            "account_id": pd.array([account_id], dtype="Int64"),
            "kind": ["hardship_plan"],
            "channel": [None],
            "start_at": pd.to_datetime([start_at], utc=True),
            "end_at": pd.to_datetime([None], utc=True),
        }
    )


def _flagged(findings) -> dict[str, list[int]]:
    return {f.rule: f.rows.tolist() for f in findings}


def test_days_past_due_fall_only_with_a_payment_or_a_hardship_plan():
    """178 -> 0 with no payment used to pass, and the correct next row (238) was quarantined."""
    accounts, statements = _history([147, 178, 0, 238])
    assert _flagged(business.dpd_rules(statements, accounts)) == {"dpd_cure": [2]}
    # a payment in the cycle cures: then 238 is the impossible one
    statements.loc[2, "amount_paid"] = 50.0
    assert _flagged(business.dpd_rules(statements, accounts)) == {"dpd_growth": [3]}
    # an unknown amount (condemned by a cell rule) gets the benefit of the doubt
    statements.loc[2, "amount_paid"] = np.nan
    assert _flagged(business.dpd_rules(statements, accounts)) == {"dpd_growth": [3]}
    # a partial fall needs a cause too
    accounts, statements = _history([147, 178, 120, 238])
    assert _flagged(business.dpd_rules(statements, accounts)) == {"dpd_cure": [2]}


def test_a_hardship_plan_cures_by_its_local_date():
    """A plan agreed on the evening of 29 February in Chicago (1 March in UTC) re-ages February's cycle."""
    accounts, statements = _history([147, 178, 0, 29])
    evening = "2024-03-01T03:30:00Z"  # 29 February 21:30 in Chicago
    assert business.dpd_rules(statements, accounts, _plan(evening)) == []
    assert business.dpd_rules(statements, accounts, _plan(evening, account_id=None)) == [], "borrower-wide"
    utc_accounts, _ = _history([147, 178, 0, 29], zone="UTC")
    assert _flagged(business.dpd_rules(statements, utc_accounts, _plan(evening))) == {"dpd_cure": [2]}
    # a plan before the cycle explains nothing, and 29 in March is then a fall from 178 too
    assert _flagged(business.dpd_rules(statements, accounts, _plan("2024-01-15T12:00:00Z"))) == {"dpd_cure": [2, 3]}
    other = _plan(evening).assign(kind="dispute")
    assert _flagged(business.dpd_rules(statements, accounts, other)) == {"dpd_cure": [2, 3]}


def test_each_row_is_judged_against_the_last_row_kept():
    accounts, statements = _history([147, 400, 207, 0, 0, 299])
    # 400 grew too much; 207 is a legal step from 147 (+60 days); 0 fell without cause; the second
    # 0 too (still judged against 207); 299 = 207 + 92 days is legal
    assert _flagged(business.dpd_rules(statements, accounts)) == {"dpd_growth": [1], "dpd_cure": [3, 4]}
    # a payment in a skipped cycle still counts for the next row
    statements.loc[3, "amount_paid"] = 10.0
    statements.loc[3, "days_past_due"] = 999
    assert _flagged(business.dpd_rules(statements, accounts)) == {"dpd_growth": [1, 3, 5]}
    # a row without DPD is not judged and is no reference
    accounts, statements = _history([147, 178, 0, 238])
    statements["days_past_due"] = statements["days_past_due"].astype("Int64")
    statements.loc[1, "days_past_due"] = pd.NA
    assert _flagged(business.dpd_rules(statements, accounts)) == {"dpd_cure": [2]}


def test_a_cure_without_cause_is_quarantined_alone(project: Project):
    """Account 102 misses February and March (DPD 29, 60); a March DPD of 0 with no payment goes, April stays."""
    tables = clean_tables()
    st = tables["statements"]
    march = int(np.flatnonzero((st["account_id"] == 102) & (st["cycle_date"] == "2024-03-31"))[0])
    assert st.loc[march, "days_past_due"] == 60 and st.loc[march, "amount_paid"] == 0
    st.loc[march, "days_past_due"] = 0
    write_raw(tables, project.raw)
    metrics = project.run(max_quarantine_share=1.0)
    q = project.quarantined("statements")
    assert list(zip(q["row_number"], q["reason"], strict=True)) == [(march, "dpd_cure:days_past_due")]
    assert metrics["rows_quarantined"] == 1


def test_simulated_books_have_no_impossible_history():
    """The simulator's cures come with a payment or a hardship plan; its charge-offs keep counting."""
    from simulator_data import small_tables

    tables = small_tables()
    st = tables["statements"].sort_values(["account_id", "cycle_date"])
    fell = st["account_id"].eq(st["account_id"].shift()) & (st["days_past_due"] < st["days_past_due"].shift())
    assert (fell & (st["amount_paid"] == 0)).sum() > 0, "the book has cures by hardship plans to check"
    assert business.dpd_rules(tables["statements"], tables["accounts"], tables["restrictions"]) == []


def _dpd_rules_by_hand(statements: pd.DataFrame, accounts: pd.DataFrame, restrictions: pd.DataFrame):
    """The DPD rules as their docs say, one row at a time: the reference for the vectorised walk."""
    zone = accounts.set_index("account_id")["timezone"]
    opened = accounts.set_index("account_id")["open_date"]
    plans: dict[int, list[pd.Timestamp]] = {}
    for r in restrictions[restrictions["kind"] == "hardship_plan"].itertuples():
        local = r.start_at.tz_convert(zone[r.account_id]).tz_localize(None).normalize()
        plans.setdefault(r.account_id, []).append(local)
    grew, fell = [], []
    for account, rows in statements.sort_values(["account_id", "cycle_date"], kind="stable").groupby("account_id"):
        kept = None
        for i, row in rows.iterrows():
            if kept is None:
                bad_growth = row.days_past_due > (row.cycle_date - opened[account]).days
                bad_cure = False
            else:
                ref = rows.loc[kept]
                bad_growth = row.days_past_due > ref.days_past_due + (row.cycle_date - ref.cycle_date).days
                between = rows.loc[kept:i].iloc[1:]
                caused = (between["amount_paid"] > 0).any() or any(
                    ref.cycle_date < p <= row.cycle_date for p in plans.get(account, [])
                )
                bad_cure = row.days_past_due < ref.days_past_due and not caused
            if bad_growth:
                grew.append(i)
            if bad_cure:
                fell.append(i)
            if not (bad_growth or bad_cure):
                kept = i
    return {rule: sorted(rows) for rule, rows in (("dpd_growth", grew), ("dpd_cure", fell)) if rows}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_vectorised_walk_equals_the_rules_row_by_row(seed, monkeypatch):
    """Random histories, many with impossible steps, and one long history (the walk's plain-Python tail)."""
    rng = np.random.default_rng(seed)
    lengths = np.r_[rng.integers(1, 30, 120), 400]
    ids = np.arange(len(lengths)) + 1
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "borrower_id": ids,
            "open_date": pd.Timestamp("2020-01-01") - pd.to_timedelta(rng.integers(0, 60, len(ids)), unit="D"),
            "timezone": rng.choice(["UTC", "America/Chicago", "Asia/Taipei"], len(ids)),
        }
    )
    account = np.repeat(ids, lengths)
    step = np.concatenate([np.sort(rng.choice(np.arange(1, 2000), n, replace=False)) for n in lengths])
    dpd = np.where(
        rng.random(len(account)) < 0.5, rng.integers(0, 4, len(account)) * 30, rng.integers(0, 400, len(account))
    )
    statements = (
        pd.DataFrame(
            {
                "account_id": account,
                "cycle_date": pd.Timestamp("2020-01-01") + pd.to_timedelta(step * 7, unit="D"),
                "amount_paid": np.where(rng.random(len(account)) < 0.3, 10.0, 0.0),
                "days_past_due": dpd,
            }
        )
        .sample(frac=1, random_state=seed)
        .reset_index(drop=True)
    )
    n_plans = 150
    plan_account = rng.choice(ids, n_plans)
    restrictions = pd.DataFrame(
        {
            "restriction_id": np.arange(n_plans),
            "borrower_id": plan_account,
            "account_id": pd.array(plan_account, dtype="Int64"),
            "kind": "hardship_plan",
            "channel": None,
            "start_at": pd.Timestamp("2020-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 14_000 * 24, n_plans), unit="h"),
            "end_at": pd.NaT,
        }
    )
    expected = _dpd_rules_by_hand(statements, accounts, restrictions)
    assert len(expected.get("dpd_growth", [])) > 50 and len(expected.get("dpd_cure", [])) > 50
    assert _flagged(business.dpd_rules(statements, accounts, restrictions)) == expected
    for few in (0, 10**9):  # the walk all in numpy, all in plain Python
        monkeypatch.setattr(business, "_FEW_ACCOUNTS", few)
        assert _flagged(business.dpd_rules(statements, accounts, restrictions)) == expected
