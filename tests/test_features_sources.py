"""Features and labels of real lenders' data (issue 12): gaps, closed accounts, and what a source lacks.

A label describes the next cycle or is empty; an account that left the book is not at risk; a
feature the source cannot compute is empty (never a guessed zero) and features.json says why.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import contracts
from core.io import conform, write_tables
from core.params import parse_params
from core.schema import TABLES
from features import build_features, build_labels
from pipeline.stages import features as stage
from tests.features_data import random_book
from tests.validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401

NEXT = contracts.NEXT_BUCKET


def _labels_by_cycle(labels: pd.DataFrame, account: int) -> pd.Series:
    rows = labels[labels["account_id"] == account]
    return rows.set_index(rows["as_of_date"] - pd.Timedelta(days=1))[NEXT]


def test_the_label_before_a_quarantined_statement_is_empty(project: Project):
    """Quarantine a middle statement through the real validate stage, build labels, check the label."""
    tables = clean_tables(n_accounts=5, n_cycles=6)
    st = tables["statements"]
    account, cycles = 102, st.loc[st["account_id"] == 102, "cycle_date"].sort_values().tolist()
    middle = st.index[(st["account_id"] == account) & (st["cycle_date"] == cycles[3])][0]
    st.loc[middle, "days_past_due"] = 400  # impossible: dpd_growth quarantines it
    write_raw(tables, project.raw)
    project.run()
    quarantined = project.quarantined("statements")
    assert quarantined[["account_id", "reason"]].values.tolist() == [[account, "dpd_growth:days_past_due"]]
    validated = {name: project.validated_table(name) for name in TABLES}
    labels = _labels_by_cycle(build_labels(validated), account)
    assert pd.isna(labels[cycles[2]]), "the bucket two cycles ahead is not the next cycle's"
    assert labels[[cycles[0], cycles[1], cycles[4]]].notna().all()
    bucket_of_next = validated["statements"].set_index(["account_id", "cycle_date"]).loc[(account, cycles[1])]
    assert labels[cycles[0]] == (bucket_of_next["days_past_due"] > 0) * 1 + (bucket_of_next["days_past_due"] >= 30)


def test_a_month_missing_from_the_source_leaves_the_label_empty():
    book = random_book(8, 6, seed=3)
    st = book["statements"].sort_values(["account_id", "cycle_date"]).reset_index(drop=True)
    account = st["account_id"].iloc[0]
    cycles = st.loc[st["account_id"] == account, "cycle_date"].tolist()
    book["statements"] = st[~((st["account_id"] == account) & (st["cycle_date"] == cycles[2]))]
    labels = _labels_by_cycle(build_labels(book), account)
    assert pd.isna(labels[cycles[1]]) and labels[[cycles[0], cycles[3]]].notna().all()
    assert parse_params({}).features.max_cycle_days == 45


def _statuses(statuses: list[str | None]) -> dict[str, pd.DataFrame]:
    """A one-account book (account 7) with these statement statuses, monthly, and nothing owed when quiet."""
    book = random_book(1, len(statuses), seed=1)
    st = book["statements"].sort_values("cycle_date").reset_index(drop=True)
    quiet = pd.Series(statuses).isin(["inactive", "paid_off", "closed"]).to_numpy()
    for column in ("balance", "amount_due", "past_due_amount"):
        st.loc[quiet, column] = 0.0
    st.loc[quiet, "days_past_due"] = 0
    book["statements"] = st.assign(status=pd.Series(statuses, dtype="str"))
    return book


def test_an_account_that_left_the_book_has_no_rows_until_it_is_reopened():
    book = _statuses(["active", "active", "paid_off", "paid_off", "active", "written_off", "written_off"])
    cycles = book["statements"]["cycle_date"].tolist()
    features = build_features(book)
    assert (features["as_of_date"] - pd.Timedelta(days=1)).tolist() == [cycles[0], cycles[1], cycles[4]]
    labels = build_labels(book).set_index("as_of_date")[contacts_next()]
    assert labels["next_status"].astype(str).tolist() == ["active", "paid_off", "written_off"]
    assert features["account_status"].astype(str).tolist() == ["active", "active", "active"]
    # scoring: off the book after a closure, back after a reopening
    after = [c + pd.Timedelta(days=1) for c in cycles]
    assert len(build_features(book, after[2])) == 0 and len(build_features(book, after[4])) == 1
    assert len(build_features(book, after[6])) == 0


def contacts_next() -> list[str]:
    return [contracts.NEXT_BUCKET, contracts.NEXT_STATUS]


def test_without_statuses_every_statement_is_a_row():
    book = random_book(10, 5, seed=2)
    assert len(build_features(book)) == len(book["statements"])
    assert build_labels(book)[contracts.NEXT_STATUS].isna().all()


def test_features_of_tables_a_source_lacks_are_empty_not_zero():
    book = random_book(10, 5, seed=4)
    full = build_features(book)
    lacking = build_features({k: v for k, v in book.items() if k not in ("payments", "contacts", "restrictions")})
    assert full["pay_count_30d"].notna().all() and lacking["pay_count_30d"].isna().all()
    assert lacking["sms_attempts_7d"].isna().all() and lacking["contact_blocked"].isna().all()
    # what the statements and accounts give is unchanged
    for name in ("days_past_due", "balance", "utilisation", "pay_status_last", "exposure"):
        pd.testing.assert_series_equal(lacking[name], full[name])
    labels = build_labels({k: v for k, v in book.items() if k != "payments"})
    assert labels[contracts.paid_label(30)].isna().all() and labels[contracts.paid_amount_label(30)].isna().all()


def test_unreported_amounts_give_empty_features_never_invented_ones():
    book = random_book(10, 6, seed=5)
    st = book["statements"].copy()
    st["balance"] = np.nan
    st["amount_due"] = np.nan
    book["statements"] = st
    accounts = book["accounts"].assign(annual_rate=np.nan, open_date=pd.NaT)
    book["accounts"] = accounts
    features = build_features(book)
    for name in ("balance", "utilisation", "utilisation_mean_3c", "utilisation_max_6c", "spend_last", "due_share"):
        assert features[name].isna().all(), name
    assert features["pay_status_last"].isna().all() and features["paid_to_due_3c"].isna().all()
    assert features["annual_rate"].isna().all() and features["months_on_book"].isna().all()
    assert features["amount_paid_last"].notna().any() and features["exposure"].notna().all()
    # scoring still finds the accounts: an unknown open date is no reason to leave one out
    assert len(build_features(book, st["cycle_date"].max() + pd.Timedelta(days=1))) > 0


def test_a_window_uses_the_cycles_where_the_amount_is_reported():
    book = random_book(6, 6, seed=6)
    st = book["statements"].sort_values(["account_id", "cycle_date"]).reset_index(drop=True)
    account = st["account_id"].iloc[0]
    rows = st.index[st["account_id"] == account]
    st.loc[rows[4], "balance"] = np.nan
    book["statements"] = st
    features = build_features(book).set_index(["account_id", "as_of_date"])
    last = features.loc[account].iloc[-1]  # window of 3 ending at cycle 5: cycles 3 and 5 known
    exposure = last["exposure"]
    expected = st.loc[[rows[3], rows[5]], "balance"].mean() / exposure
    assert last["utilisation_mean_3c"] == pytest.approx(expected, rel=1e-5)
    assert pd.isna(features.loc[account].iloc[4]["utilisation"])


def test_the_stage_reports_what_it_could_not_compute(tmp_path):
    book = random_book(12, 4, seed=7)
    book["statements"] = book["statements"].assign(balance=np.nan)
    tables = {name: conform(frame, TABLES[name]) for name, frame in book.items()}
    tables["contacts"] = TABLES["contacts"].empty_frame()
    tables["decisions"] = TABLES["decisions"].empty_frame()  # as validate writes a table the source lacks
    write_tables(tables, tmp_path / "validated")
    params = parse_params({"features": {"partition_accounts": 5}})
    metrics = stage.run(params, tmp_path / "validated", tmp_path / "processed", tmp_path / "features.json")
    assert json.loads((tmp_path / "features.json").read_text()) == metrics
    assert metrics["tables_absent"] == ["contacts", "decisions"]
    assert "statements.balance" in metrics["columns_empty"] and "statements.status" in metrics["columns_empty"]
    why = metrics["features_not_computable"]
    assert "sms_attempts_7d" in why["the source has no contacts table"]
    assert why["the source has no decisions table"] == ["decisions_30d", "decisions_none_share_30d"]
    assert {"balance", "utilisation"} <= set(why["statements.balance is empty throughout"])
    assert why["statements.status is empty throughout"] == ["account_status"]
    features = pd.read_parquet(tmp_path / "processed" / "features.parquet")
    assert features[["balance", "utilisation", "sms_attempts_7d", "decisions_30d"]].isna().all().all()
    assert features["pay_count_30d"].notna().all(), "payments are there"
