"""Real lenders' data as it comes (issue 12): what a source may lack, where its extract starts, when it posts.

Optional tables and columns are the schema's declaration (no params edit); an extract cut on one
date and books closing at local midnight are declared per source (`validate.extract_start`,
`validate.posting_day`) instead of quarantining genuine statements.
"""

from __future__ import annotations

import pandas as pd

from core.schema import TABLES
from tests.validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401
from validation import business

OPTIONAL_AMOUNTS = ("balance", "amount_due", "past_due_amount", "amount_paid")


def test_a_source_without_payments_contacts_or_restrictions_validates(project: Project):
    tables = clean_tables()
    write_raw({name: tables[name] for name in ("accounts", "statements")}, project.raw)  # files left out
    metrics = project.run()
    assert metrics["rows_quarantined"] == 0
    for name in ("payments", "contacts", "restrictions"):
        assert metrics["tables"][name]["rows_in"] == 0
        assert project.validated_table(name).dtypes.to_dict() == TABLES[name].empty_frame().dtypes.to_dict()
    # amount_paid is not reconciled with a payments table the source does not have
    assert project.validated_table("statements")["amount_paid"].gt(0).any()


def test_optional_tables_may_be_zero_bytes_or_header_only(project: Project):
    tables = clean_tables()
    tables["payments"] = tables["payments"].iloc[0:0]
    write_raw(tables, project.raw, fmt="csv")
    (project.raw / "contacts.csv").write_bytes(b"")
    metrics = project.run()
    assert metrics["rows_quarantined"] == 0 and metrics["tables"]["contacts"]["rows_in"] == 0


def test_optional_columns_may_be_left_out_and_stay_empty(project: Project):
    tables = clean_tables()
    tables["statements"] = tables["statements"].drop(columns=list(OPTIONAL_AMOUNTS))
    tables["accounts"] = tables["accounts"].drop(columns=["annual_rate", "instalment_amount", "open_date"])
    write_raw(tables, project.raw, fmt="csv")
    metrics = project.run()
    assert metrics["rows_quarantined"] == 0
    st = project.validated_table("statements")
    assert list(st.columns) == TABLES["statements"].column_names
    assert st[list(OPTIONAL_AMOUNTS) + ["status"]].isna().all().all()
    assert project.validated_table("accounts")["open_date"].isna().all()


def _cut(tables: dict[str, pd.DataFrame], day: str) -> dict[str, pd.DataFrame]:
    """The extract a lender cuts on one date: statements and payments from `day` on, for everyone."""
    out = dict(tables)
    out["statements"] = tables["statements"][tables["statements"]["cycle_date"] >= pd.Timestamp(day)]
    out["payments"] = tables["payments"][tables["payments"]["paid_at"] >= pd.Timestamp(day, tz="UTC")]
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def test_the_first_statements_of_an_extract_are_a_boundary_not_an_error(project: Project):
    tables = _cut(clean_tables(n_accounts=40, n_cycles=6), "2024-03-28")  # cycles end on the last day
    write_raw(tables, project.raw)
    without = project.run(max_quarantine_share=1.0)
    assert without["tables"]["statements"]["quarantined_by_rule"].get("amount_paid_matches_payments:amount_paid", 0) > 0
    declared = project.run(max_quarantine_share=1.0, extract_start="2024-03-28")
    assert declared["rows_quarantined"] == 0


def test_a_boundary_statement_must_still_cover_the_payments_present():
    accounts = pd.DataFrame({"account_id": [1], "open_date": pd.to_datetime(["2023-05-01"])})
    statements = pd.DataFrame(
        {"account_id": 1, "cycle_date": pd.to_datetime(["2024-03-31", "2024-04-30"]), "amount_paid": [30.0, 10.0]}
    )
    paid_at = pd.to_datetime(["2024-03-20T10:00:00Z", "2024-04-20T10:00:00Z"], utc=True)
    payments = pd.DataFrame({"account_id": 1, "paid_at": paid_at, "amount": [20.0, 10.0]})
    start = pd.Timestamp("2024-03-15").date()
    # March: 30 paid, 20 of it in the extract (the rest before 15 March): a boundary, fine
    assert business.amount_paid_matches_payments(statements, payments, accounts, 0.01, start) == []
    [found] = business.amount_paid_matches_payments(statements, payments, accounts, 0.01)  # undeclared: an error
    assert found.rows.tolist() == [0]
    statements.loc[0, "amount_paid"] = 15.0  # less than the payments present: wrong whatever the cut
    statements.loc[1, "amount_paid"] = 12.0  # a window wholly inside the extract: must match exactly
    [found] = business.amount_paid_matches_payments(statements, payments, accounts, 0.01, start)
    assert found.rows.tolist() == [0, 1]


def test_books_closing_at_local_midnight_post_payments_on_the_local_day():
    accounts = pd.DataFrame(
        {
            "account_id": [1, 2],
            "open_date": pd.to_datetime(["2023-01-01"] * 2),
            "timezone": ["America/Los_Angeles", "UTC"],
        }
    )
    cycles = pd.to_datetime(["2024-01-31", "2024-02-29"])
    statements = pd.DataFrame(
        {"account_id": [1, 1, 2, 2], "cycle_date": cycles.append(cycles), "amount_paid": [50.0, 0.0, 50.0, 0.0]}
    )
    # 23:00 on 31 January in Los Angeles is 1 February in UTC; the UTC account pays at 23:00 UTC
    paid_at = pd.to_datetime(["2024-01-31T23:00:00-08:00", "2024-01-31T23:00:00Z"], utc=True)
    payments = pd.DataFrame({"account_id": [1, 2], "paid_at": paid_at, "amount": [50.0, 50.0]})
    [found] = business.amount_paid_matches_payments(statements, payments, accounts, 0.01)
    assert found.rows.tolist() == [0, 1]  # posted on the UTC day: January short, February over
    assert business.amount_paid_matches_payments(statements, payments, accounts, 0.01, posting_day="local") == []


def test_a_lender_posting_until_local_midnight_is_not_quarantined(project: Project):
    """A whole book whose payments come at 23:00 local on their statement's cycle date: the lender posts
    them that day, but in the US time zones it is already the next day in UTC."""
    tables = clean_tables(n_accounts=30)
    pay = tables["payments"].assign(day=tables["payments"]["paid_at"].dt.tz_convert("UTC").dt.tz_localize(None))
    cycles = tables["statements"][["account_id", "cycle_date"]].astype({"cycle_date": "datetime64[ns]"})
    pay = pd.merge_asof(
        pay.sort_values("day").astype({"day": "datetime64[ns]"}),
        cycles.sort_values("cycle_date"),
        left_on="day",
        right_on="cycle_date",
        by="account_id",
        direction="forward",
    ).sort_values("payment_id")
    zone = pay["account_id"].map(tables["accounts"].set_index("account_id")["timezone"])
    evening = [
        (c + pd.Timedelta(hours=23)).tz_localize(z).tz_convert("UTC")
        for c, z in zip(pay["cycle_date"], zone, strict=True)
    ]
    tables["payments"] = tables["payments"].assign(paid_at=pd.DatetimeIndex(evening).as_unit("ns"))
    assert (zone.str.startswith("America/")).any()
    write_raw(tables, project.raw)
    utc = project.run(max_quarantine_share=1.0)
    assert utc["tables"]["statements"]["rows_quarantined"] > 0
    local = project.run(max_quarantine_share=1.0, posting_day="local")
    assert local["rows_quarantined"] == 0
