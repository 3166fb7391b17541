"""Validation of the decision log (`decisions`, an optional table): quarantine and fatal paths, and books without it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401

from core.errors import DataError


def _reasons(project: Project, name: str) -> dict[int, str]:
    q = project.quarantined(name)
    return dict(zip(q["row_number"].tolist(), q["reason"].tolist(), strict=True))


def test_a_clean_decision_log_passes_whole(project: Project):
    tables = clean_tables(decisions=True)
    write_raw(tables, project.raw)
    metrics = project.run()
    assert metrics["tables"]["decisions"]["rows_quarantined"] == 0
    assert len(project.validated_table("decisions")) == len(tables["decisions"]) > 0


def test_a_book_without_decisions_still_validates(project: Project):
    tables = clean_tables()
    assert "decisions" not in tables
    write_raw(tables, project.raw)
    metrics = project.run()
    assert metrics["tables"]["decisions"]["rows_in"] == 0
    assert len(project.validated_table("decisions")) == 0
    assert list(project.validated_table("decisions").columns)[:3] == ["decision_id", "account_id", "borrower_id"]


def test_bad_decisions_are_quarantined_by_rule_column_and_row(project: Project):
    tables = clean_tables(n_accounts=12, decisions=True)
    d = tables["decisions"]
    none = np.flatnonzero(d["action"] == "none")
    # 101 and 102 share a borrower: one of their decisions is moved to the other account below
    pair = np.flatnonzero(d["contact_id"].notna() & d["account_id"].isin([101, 102]))
    made = np.flatnonzero(d["contact_id"].notna() & ~d["account_id"].isin([101, 102]))
    assert len(made) >= 5 and len(pair) >= 1
    d.loc[none[0], "propensity"] = 0.0  # a logged action had a chance: (0, 1]
    d.loc[none[1], "propensity"] = 1.5
    d.loc[none[2], "action"] = "pigeon"
    d.loc[none[3], "local_hour"] = 10  # no contact has no hour
    d.loc[none[4], "offer"] = "discount"  # ... and offers nothing
    d.loc[made[0], "local_hour"] = pd.NA  # a contact has an hour
    d.loc[made[1], "refusal"] = "outside_hours"  # made and refused at once
    d.loc[made[2], "action"] = "letter" if d.loc[made[2], "action"] != "letter" else "sms"  # not its contact's channel
    d.loc[made[3], "local_date"] -= pd.Timedelta(days=1)  # not its contact's local day
    d.loc[made[4], "contact_id"] = 99_999  # no such contact
    other = pair[0]  # another account of the same borrower: the contact is of the first one
    d.loc[other, "account_id"] = 203 - d.loc[other, "account_id"]
    write_raw(tables, project.raw)
    metrics = project.run(max_quarantine_share=1.0)
    got = _reasons(project, "decisions")
    assert got == {
        none[0]: "min_value:propensity",
        none[1]: "max_value:propensity",
        none[2]: "allowed_values:action",
        none[3]: "decision_consistent:local_hour",
        none[4]: "decision_consistent:offer",
        made[0]: "decision_consistent:local_hour",
        made[1]: "decision_consistent:refusal",
        made[2]: "decision_matches_contact:action",
        made[3]: "decision_matches_contact:local_date",
        made[4]: "reference:contact_id",
        other: got[other],
    }
    assert got[other].startswith("decision_matches_contact:account_id")
    assert metrics["tables"]["decisions"]["rows_quarantined"] == len(got)
    assert len(project.validated_table("decisions")) == len(d) - len(got)


def test_a_quarantined_contact_or_account_takes_its_decisions_with_it(project: Project):
    tables = clean_tables(decisions=True)
    d, contacts = tables["decisions"], tables["contacts"]
    victim = int(d.loc[d["contact_id"].notna(), "contact_id"].iloc[0])
    contacts.loc[contacts["contact_id"] == victim, "channel"] = "pigeon"
    write_raw(tables, project.raw)
    project.run(max_quarantine_share=1.0)
    got = _reasons(project, "decisions")
    assert list(got.values()) == ["orphan_of_quarantined_account:contact_id"]
    assert int(d.loc[list(got)[0], "contact_id"]) == victim


def test_a_fatal_decision_rule_stops_with_table_column_and_rows(project: Project):
    tables = clean_tables(decisions=True)
    d = tables["decisions"]
    bad = np.flatnonzero(d["action"] == "none")[:2]
    d.loc[bad, "local_hour"] = 9
    write_raw(tables, project.raw)
    with pytest.raises(DataError) as err:
        project.run(severity={"decision_consistent": "fatal"})
    message = str(err.value)
    assert "table 'decisions'" in message and "column 'local_hour'" in message
    assert "rule 'decision_consistent'" in message and "2 row(s)" in message
    assert not project.validated.exists()


def test_a_duplicated_decision_id_is_fatal(project: Project):
    tables = clean_tables(decisions=True)
    d = tables["decisions"]
    d.loc[1, "decision_id"] = d.loc[0, "decision_id"]
    write_raw(tables, project.raw)
    with pytest.raises(DataError, match=r"table 'decisions', column 'decision_id': rule 'unique_key'"):
        project.run()
