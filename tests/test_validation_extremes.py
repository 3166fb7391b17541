"""Extreme values and impossible histories: amounts beyond the schema's maxima, and days past due
that fall with nothing to explain it (issue 11)."""

from __future__ import annotations

import numpy as np
from validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401

from core.schema import MAX_AMOUNT, TABLES
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


def test_max_value_severity_can_be_made_fatal(project: Project, capsys):
    tables = clean_tables()
    tables["payments"].loc[0, "amount"] = 1e18
    write_raw(tables, project.raw)
    (project.root / "params.yaml").write_text("validate:\n  severity:\n    max_value: fatal\n")
    code, output = project.cli(capsys)
    assert code == 2 and "Traceback" not in output
    assert "table 'payments', column 'amount': rule 'max_value' failed" in output
