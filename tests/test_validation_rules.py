"""The rules themselves: suites generated from the schema, the severity catalogue, and the exact
semantics of the business rules at their boundaries."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401

import core.schema
from core.errors import ParamsError
from core.params import ValidateSeverity, parse_params
from core.schema import TABLES, Column
from validation import business
from validation.coercion import parse_column
from validation.expectations import expectation_specs
from validation.publish import staged_dirs
from validation.quarantine import reasons
from validation.rules import ROW_RULES, RULES, Finding


def test_every_schema_declaration_becomes_an_expectation():
    for spec in TABLES.values():
        specs = {(rule, column) for _, _, rule, column in expectation_specs(spec)}
        for col in spec.columns:
            assert (("not_null", col.name) in specs) == (not col.nullable), (spec.name, col.name)
            assert (("allowed_values", col.name) in specs) == bool(col.allowed)
            assert (("min_value", col.name) in specs) == (col.min_value is not None)
            assert (("max_value", col.name) in specs) == (col.max_value is not None)
        assert ("unique_key", "+".join(spec.key)) in specs


def test_a_column_added_to_the_schema_is_validated_with_no_other_change(project: Project, monkeypatch):
    """Add `late_fee` (float, >= 0) to statements: its expectations exist and bad values are quarantined."""
    tables = clean_tables()
    statements = TABLES["statements"]
    extended = replace(
        statements, columns=(*statements.columns, Column("late_fee", "float", "Fee charged.", min_value=0.0))
    )
    monkeypatch.setitem(core.schema.TABLES, "statements", extended)
    assert (
        "ExpectColumnValuesToBeBetween",
        {"column": "late_fee", "min_value": 0.0},
        "min_value",
        "late_fee",
    ) in expectation_specs(extended)

    tables["statements"]["late_fee"] = 0.0
    tables["statements"].loc[7, "late_fee"] = -5.0
    tables["statements"].loc[8, "late_fee"] = np.nan
    write_raw(tables, project.raw)
    metrics = project.run(max_quarantine_share=1.0)
    quarantined = project.quarantined("statements")
    assert list(zip(quarantined["row_number"], quarantined["reason"], strict=True)) == [
        (7, "min_value:late_fee"),
        (8, "not_null:late_fee"),
    ]
    assert "late_fee" in project.validated_table("statements").columns
    assert metrics["tables"]["statements"]["rows_valid"] == len(tables["statements"]) - 2


def test_every_row_level_rule_has_a_configurable_severity():
    assert set(ValidateSeverity.model_fields) == set(ROW_RULES)
    assert all(RULES[r].structural for r in ("file_present", "readable", "not_empty", "required_columns"))


def test_severity_params_are_checked():
    with pytest.raises(ParamsError, match=r"validate\.severity\.dtype"):
        parse_params({"validate": {"severity": {"dtype": "warn"}}})
    with pytest.raises(ParamsError, match=r"validate\.severity\.no_such_rule"):
        parse_params({"validate": {"severity": {"no_such_rule": "fatal"}}})
    with pytest.raises(ParamsError, match="may_be_empty was removed"):  # the schema declares optional tables
        parse_params({"validate": {"may_be_empty": ["contacts", "restrictions"]}})
    with pytest.raises(ParamsError, match="dpd_bands"):
        parse_params({"validate": {"dpd_bands": [1, 30, 60]}})
    assert parse_params({"validate": {"severity": {"dtype": "fatal"}}}).validate_.severity.unique_key == "fatal"


def test_tables_are_checked_after_the_tables_they_reference():
    order = business.reference_order()
    assert order[0] == "accounts" and sorted(order) == sorted(TABLES)
    for name in order:
        assert all(order.index(ref.table) < order.index(name) for ref in TABLES[name].references if ref.table != name)


def test_a_payment_belongs_to_the_cycle_of_its_utc_date():
    """Window (previous cycle_date, cycle_date] on the UTC calendar date, opening at open_date."""
    accounts = pd.DataFrame({"account_id": [1], "open_date": pd.to_datetime(["2024-01-10"])})
    statements = pd.DataFrame(
        {"account_id": [1, 1], "cycle_date": pd.to_datetime(["2024-01-31", "2024-02-29"]), "amount_paid": [10.0, 5.0]}
    )
    paid_at = pd.to_datetime(
        [
            "2024-01-31T23:59:59Z",  # 31 Jan UTC: January
            "2024-01-31T20:00:00-05:00",  # 1 Feb 01:00 UTC: February
            "2024-01-05T12:00:00Z",  # before opening: in no cycle
            "2024-03-01T00:00:00Z",
        ],
        utc=True,
    )  # after the last cycle: in no cycle
    payments = pd.DataFrame({"account_id": [1, 1, 1, 1], "paid_at": paid_at, "amount": [10.0, 5.0, 99.0, 99.0]})
    assert business.amount_paid_matches_payments(statements, payments, accounts, 0.01) == []
    statements.loc[1, "amount_paid"] = 5.02
    [found] = business.amount_paid_matches_payments(statements, payments, accounts, 0.01)
    assert found.rows.tolist() == [1] and found.reason == "amount_paid_matches_payments:amount_paid"


def test_dpd_may_grow_by_exactly_the_days_elapsed_and_no_more():
    accounts = pd.DataFrame({"account_id": [1, 2], "open_date": pd.to_datetime(["2024-01-01", "2024-01-01"])})
    cycles = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"])
    statements = pd.DataFrame(
        {"account_id": [1, 1, 1, 2, 2, 2], "cycle_date": cycles.append(cycles), "days_past_due": [30, 59, 90, 31, 0, 0]}
    )
    # account 1: 30 days after opening, then +29 and +31 exactly; account 2: 31 > 30 days since opening
    [found] = business.dpd_growth(statements, accounts)
    assert found.rows.tolist() == [3]
    statements.loc[2, "days_past_due"] = 91
    assert business.dpd_growth(statements, accounts)[0].rows.tolist() == [2, 3]


def test_reasons_list_every_rule_of_a_row_in_check_order():
    findings = [
        Finding("t", "dtype", "a", [3, 1]),
        Finding("t", "min_value", "b", [1]),
        Finding("t", "reference", "c", [5, 1]),
    ]
    assert reasons(findings).to_dict() == {1: "dtype:a; min_value:b; reference:c", 3: "dtype:a", 5: "reference:c"}


def test_staged_outputs_replace_targets_only_on_success(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), staged_dirs([target]) as (stage,):
        (stage / "new.txt").write_text("new")
        raise RuntimeError("boom")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with staged_dirs([target]) as (stage,):
        (stage / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


_TEXT_FORMS = {
    "id": st.integers(0, 2**40),
    "nullable_id": st.integers(0, 2**40),
    "int": st.integers(0, 10**6),
    "nullable_int": st.integers(0, 10**6),
    "float": st.floats(0, 1e9, allow_nan=False),
    "bool": st.booleans(),
    "date": st.dates(pd.Timestamp("1990-01-01").date(), pd.Timestamp("2100-12-31").date()),
    "timestamp": st.datetimes(pd.Timestamp("1990-01-01").to_pydatetime(), pd.Timestamp("2100-12-31").to_pydatetime()),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_values_read_the_same_typed_or_as_text(data):
    """Every valid value reads without a dtype failure, and its CSV text reads as the typed value."""
    spec = data.draw(st.sampled_from(list(TABLES.values())))
    col = data.draw(st.sampled_from([c for c in spec.columns if c.type in _TEXT_FORMS]))
    values = data.draw(st.lists(_TEXT_FORMS[col.type], min_size=1, max_size=6))
    typed = pd.Series(values)
    if col.type == "timestamp":
        typed = pd.to_datetime(typed).dt.tz_localize("UTC")
    elif col.type == "date":
        typed = pd.to_datetime(typed)
    text = pd.Series([v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values], dtype="str")
    if col.type == "timestamp":
        text = text + "Z"
    from_typed, bad_typed, _ = parse_column(typed, col)
    from_text, bad_text, _ = parse_column(text, col)
    assert not bad_typed.any() and not bad_text.any()
    if col.type == "float":
        np.testing.assert_allclose(from_text.to_numpy(), from_typed.to_numpy(), rtol=1e-15)
    else:
        assert from_text.tolist() == from_typed.tolist()


def test_validation_manual_lists_every_rule_with_its_default_severity():
    from core.paths import PROJECT_ROOT
    from validation.rules import rules_markdown

    text = (PROJECT_ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    assert rules_markdown(ValidateSeverity()) in text
