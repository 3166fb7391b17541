"""The bad-input corpus: each malformed input gives a fatal error naming table, column and rule
(exit code 2 from the command line, no traceback), or exactly the expected quarantined rows and
reasons with every other row passed on unchanged. Inputs are never modified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401

from core.io import conform
from core.schema import TABLES

Tables = dict[str, pd.DataFrame]


@dataclass
class Fatal:
    table: str
    rule: str
    column: str | None
    says: str = ""  # a further phrase the message must contain (the hint)


@dataclass
class Quarantined:
    #: table -> [(row_number, reason)], in row order; tables not named must quarantine nothing.
    rows: dict[str, list[tuple[int, str]]]


@dataclass
class Case:
    name: str
    mutate: Callable[[Tables], Fatal | Quarantined]
    fmt: str = "parquet"
    #: Runs on the written files (corrupt bytes, delete a file...).
    post_write: Callable[[Path], None] | None = None
    #: `validate` params for this case (tests of row-level rules allow any quarantined share).
    params: dict = field(default_factory=lambda: {"max_quarantine_share": 1.0})


def rows_of(frame: pd.DataFrame, **where) -> list[int]:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    return list(np.flatnonzero(mask))


def set_cell(frame: pd.DataFrame, row: int, column: str, value) -> None:
    """Put any value (a string in a float column...) in one cell, as a malformed file would."""
    values = frame[column].astype(object)
    values.iloc[row] = value
    frame[column] = values


def append(t: Tables, table: str, **values) -> int:
    """Append a copy of the table's first row with some values changed; returns its row number."""
    row = t[table].iloc[[0]].copy()
    for column, value in values.items():
        row[column] = value
    t[table] = pd.concat([t[table], row], ignore_index=True)
    return len(t[table]) - 1


# --------------------------------------------------------------------------- fatal: structure


def missing_column(t):
    t["statements"] = t["statements"].drop(columns="days_past_due")
    return Fatal("statements", "required_columns", "days_past_due")


def extra_column(t):
    t["accounts"]["nickname"] = "x"
    return Fatal("accounts", "extra_columns", "nickname", says="validate.extra_columns: drop")


def empty_file(t):
    return Fatal("accounts", "not_empty", None, says="0 bytes")


def _zero_bytes(raw: Path) -> None:
    (raw / "accounts.csv").write_bytes(b"")


def header_only(t):
    t["statements"] = t["statements"].iloc[0:0]
    return Fatal("statements", "not_empty", None, says="statements is required")


def truncated_parquet(t):
    return Fatal("payments", "readable", None, says="payments.parquet")


def _truncate_payments(raw: Path) -> None:
    path = raw / "payments.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def semicolon_csv(t):
    return Fatal("accounts", "required_columns", "account_id", says="';'-delimited")


def _semicolons(raw: Path) -> None:
    frame = pd.read_csv(raw / "accounts.csv")
    frame.to_csv(raw / "accounts.csv", sep=";", index=False)


def latin1_csv(t):
    set_cell(t["accounts"], 2, "region", "Île-de-France")
    return Fatal("accounts", "readable", None, says="not UTF-8")


def _latin1(raw: Path) -> None:
    text = (raw / "accounts.csv").read_text(encoding="utf-8")
    (raw / "accounts.csv").write_bytes(text.encode("latin-1"))


def missing_file(t):
    return Fatal("statements", "file_present", None, says="no statements.parquet or statements.csv")


def _delete_statements(raw: Path) -> None:
    (raw / "statements.parquet").unlink()


def parquet_and_csv(t):
    return Fatal("restrictions", "file_present", None, says="keep one")


def _second_copy(raw: Path) -> None:
    pd.read_parquet(raw / "restrictions.parquet").to_csv(raw / "restrictions.csv", index=False)


# --------------------------------------------------------------------------- fatal: keys, severities, share


def duplicate_payment_id(t):
    set_cell(t["payments"], 7, "payment_id", int(t["payments"]["payment_id"][3]))
    return Fatal("payments", "unique_key", "payment_id", says="validate.severity.unique_key")


def duplicate_statement_key(t):
    t["statements"].loc[3, "cycle_date"] = t["statements"].loc[2, "cycle_date"]
    return Fatal("statements", "unique_key", "account_id+cycle_date")


def severity_made_fatal(t):
    t["statements"].loc[4, "balance"] = -10.0
    return Fatal("statements", "min_value", "balance")


def too_much_quarantined(t):
    for row in range(3):  # 3 of 30 statements = 10% > the default 5%
        set_cell(t["statements"], row * 7, "amount_due", "n/a")
    return Fatal("statements", "max_quarantine_share", "amount_due", says="more than validate.max_quarantine_share")


# --------------------------------------------------------------------------- row level: values


def string_amount(t):
    set_cell(t["statements"], 8, "balance", "1,204.50")
    return Quarantined({"statements": [(8, "dtype:balance")]})


def string_payment_amount(t):
    """An unreadable payment also leaves its cycle's amount_paid unreconciled: both go."""
    row = rows_of(t["payments"], account_id=101)[1]  # paid in account 101's second cycle
    set_cell(t["payments"], row, "amount", "fifty")
    return Quarantined(
        {"payments": [(row, "dtype:amount")], "statements": [(1, "amount_paid_matches_payments:amount_paid")]}
    )


def negative_amount(t):
    t["statements"].loc[4, "past_due_amount"] = -3.5
    return Quarantined({"statements": [(4, "min_value:past_due_amount")]})


def non_integer_dpd(t):
    set_cell(t["statements"], 15, "days_past_due", 30.5)
    return Quarantined({"statements": [(15, "dtype:days_past_due")]})


def infinite_amount(t):
    t["contacts"].loc[0, "promise_amount"] = np.inf
    return Quarantined({"contacts": [(0, "dtype:promise_amount")]})


def nan_key(t):
    set_cell(t["contacts"], 3, "contact_id", None)
    set_cell(t["payments"], 10, "payment_id", np.nan)
    return Quarantined({"contacts": [(3, "not_null:contact_id")], "payments": [(10, "not_null:payment_id")]})


def unknown_channel(t):
    set_cell(t["contacts"], 2, "channel", "carrier_pigeon")
    set_cell(t["restrictions"], 1, "kind", "vacation")
    return Quarantined({"contacts": [(2, "allowed_values:channel")], "restrictions": [(1, "allowed_values:kind")]})


def several_faults_in_one_row(t):
    set_cell(t["contacts"], 4, "outcome", "maybe")
    t["contacts"].loc[4, "propensity"] = -0.2
    return Quarantined({"contacts": [(4, "allowed_values:outcome; min_value:propensity")]})


def unreadable_date(t):
    set_cell(t["statements"], 20, "cycle_date", "31/31/2024")
    # Without a cycle date the row cannot own account 104's March payments, which then
    # fall in April's window and break April's amount_paid.
    return Quarantined({"statements": [(20, "dtype:cycle_date"), (21, "amount_paid_matches_payments:amount_paid")]})


def year_3000(t):
    set_cell(t["restrictions"], 1, "end_at", "3000-01-01T00:00:00Z")
    return Quarantined({"restrictions": [(1, "dtype:end_at")]})


def future_payment(t):
    row = append(
        t, "payments", payment_id=6000, account_id=101, amount=10.0, paid_at=pd.Timestamp("2030-01-05 09:00", tz="UTC")
    )
    return Quarantined({"payments": [(row, "not_after_as_of:paid_at")]})


def statements_after_explicit_as_of(t):
    # run_date 2024-05-31: the June cycles are in the future, and so are June's payments.
    june_payments = [i for i, d in enumerate(t["payments"]["paid_at"]) if d >= pd.Timestamp("2024-06-01", tz="UTC")]
    june = rows_of(t["statements"], cycle_date=pd.Timestamp("2024-06-30"))
    return Quarantined(
        {
            "statements": [(r, "not_after_as_of:cycle_date") for r in june],
            "payments": [(r, "not_after_as_of:paid_at") for r in june_payments],
        }
    )


def payment_before_open_date(t):
    row = append(
        t, "payments", payment_id=6001, account_id=103, amount=5.0, paid_at=pd.Timestamp("2023-12-01 12:00", tz="UTC")
    )
    return Quarantined({"payments": [(row, "not_before_open_date:paid_at")]})


def contact_before_open_date(t):
    t["contacts"].loc[3, "contacted_at"] = pd.Timestamp("2023-01-01 10:00", tz="UTC")
    return Quarantined({"contacts": [(3, "not_before_open_date:contacted_at")]})


def orphan_payment(t):
    row = append(t, "payments", payment_id=6002, account_id=999, amount=5.0)
    return Quarantined({"payments": [(row, "reference:account_id")]})


def orphan_contact_and_restriction(t):
    contact = append(t, "contacts", contact_id=9999, account_id=888)
    restriction = append(t, "restrictions", restriction_id=7999, borrower_id=77)
    return Quarantined(
        {"contacts": [(contact, "reference:account_id")], "restrictions": [(restriction, "reference:borrower_id")]}
    )


def restriction_of_other_borrower(t):
    t["restrictions"].loc[1, "account_id"] = 101  # account 101 belongs to borrower 11, not 13
    return Quarantined({"restrictions": [(1, "account_of_borrower:account_id")]})


def restriction_ends_before_start(t):
    t["restrictions"].loc[1, "end_at"] = t["restrictions"].loc[1, "start_at"] - pd.Timedelta(days=1)
    return Quarantined({"restrictions": [(1, "end_after_start:end_at")]})


def invalid_timezone_cascades(t):
    """Account 104 is quarantined; its statements, payments and contacts go with it."""
    set_cell(t["accounts"], 3, "timezone", "Mars/Olympus_Mons")
    orphan = "orphan_of_quarantined_account:account_id"
    return Quarantined(
        {
            "accounts": [(3, "valid_timezone:timezone")],
            "statements": [(r, orphan) for r in rows_of(t["statements"], account_id=104)],
            "payments": [(r, orphan) for r in rows_of(t["payments"], account_id=104)],
            "contacts": [(r, orphan) for r in rows_of(t["contacts"], account_id=104)],
        }
    )


def borrower_loses_every_account(t):
    """Borrower 11's accounts 101 and 102 are both quarantined: the borrower-wide restriction goes too."""
    set_cell(t["accounts"], 0, "consent_sms", "maybe")
    set_cell(t["accounts"], 1, "region", "   ")
    orphan = "orphan_of_quarantined_account:account_id"
    return Quarantined(
        {
            "accounts": [(0, "dtype:consent_sms"), (1, "not_null:region")],
            "statements": [(r, orphan) for r in range(12)],
            "payments": [
                (r, orphan)
                for r in sorted(rows_of(t["payments"], account_id=101) + rows_of(t["payments"], account_id=102))
            ],
            "contacts": [(r, orphan) for r in rows_of(t["contacts"], account_id=102)],
            "restrictions": [(0, "orphan_of_quarantined_account:borrower_id")],
        }
    )


def dpd_jump(t):
    t["statements"].loc[2, "days_past_due"] = 45  # 0 at the end of February, 45 on 31 March: 31 days passed
    t["statements"].loc[24, "days_past_due"] = 90  # first cycle, 52 days after opening
    return Quarantined({"statements": [(2, "dpd_growth:days_past_due"), (24, "dpd_growth:days_past_due")]})


def amount_paid_mismatch(t):
    t["statements"].loc[9, "amount_paid"] += 0.02  # beyond the 0.01 tolerance
    t["statements"].loc[11, "amount_paid"] += 0.005  # within it
    return Quarantined({"statements": [(9, "amount_paid_matches_payments:amount_paid")]})


# --------------------------------------------------------------------------- time zones in timestamps


def mixed_offsets(t):
    """Explicit offsets, all different, are all unambiguous: read as the same UTC instants."""
    stamps = t["payments"]["paid_at"].astype(object)
    stamps.iloc[0] = "2024-01-26T12:00:00+02:00"  # = 10:00Z, as in the clean book
    stamps.iloc[1] = "2024-01-26T05:00:00-05:00"
    stamps.iloc[2] = "2024-01-26T10:00:00Z"
    t["payments"]["paid_at"] = stamps
    return Quarantined({})


def naive_among_offsets(t):
    """A timestamp without offset, among ones that have one, could be in any zone: quarantined, not guessed."""
    stamps = t["contacts"]["contacted_at"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").astype(object)
    stamps.iloc[5] = "2024-05-29 15:00:00"
    t["contacts"]["contacted_at"] = stamps
    return Quarantined({"contacts": [(5, "unambiguous_timestamp:contacted_at")]})


CASES = [
    Case("missing_column", missing_column),
    Case("extra_column", extra_column),
    Case("empty_file", empty_file, fmt="csv", post_write=_zero_bytes),
    Case("header_only_table", header_only),
    Case("truncated_parquet", truncated_parquet, post_write=_truncate_payments),
    Case("csv_wrong_delimiter", semicolon_csv, fmt="csv", post_write=_semicolons),
    Case("csv_wrong_encoding", latin1_csv, fmt="csv", post_write=_latin1),
    Case("missing_file", missing_file, post_write=_delete_statements),
    Case("parquet_and_csv", parquet_and_csv, post_write=_second_copy),
    Case("duplicate_key", duplicate_payment_id),
    Case("duplicate_compound_key", duplicate_statement_key),
    Case(
        "severity_configured_fatal",
        severity_made_fatal,
        params={"max_quarantine_share": 1.0, "severity": {"min_value": "fatal"}},
    ),
    Case("quarantine_share_escalates", too_much_quarantined, params={}),
    Case("string_amount", string_amount),
    Case("string_amount_csv", string_amount, fmt="csv"),
    Case("string_payment_amount", string_payment_amount),
    Case("negative_amount", negative_amount),
    Case("non_integer_dpd", non_integer_dpd),
    Case("infinite_amount", infinite_amount),
    Case("nan_keys", nan_key),
    Case("unknown_channel_and_kind", unknown_channel),
    Case("several_faults_in_one_row", several_faults_in_one_row),
    Case("unreadable_date", unreadable_date, fmt="csv"),
    Case("date_out_of_range", year_3000, fmt="csv"),
    Case("future_payment", future_payment),
    Case(
        "dates_after_explicit_as_of",
        statements_after_explicit_as_of,
        params={"max_quarantine_share": 1.0, "run_date": "2024-05-31"},
    ),
    Case("payment_before_open_date", payment_before_open_date),
    Case("contact_before_open_date", contact_before_open_date),
    Case("orphan_payment", orphan_payment),
    Case("orphan_contact_and_restriction", orphan_contact_and_restriction),
    Case("restriction_of_other_borrower", restriction_of_other_borrower),
    Case("restriction_ends_before_start", restriction_ends_before_start),
    Case("invalid_timezone_cascades", invalid_timezone_cascades),
    Case("borrower_loses_every_account", borrower_loses_every_account, fmt="csv"),
    Case("dpd_jump", dpd_jump),
    Case("amount_paid_mismatch", amount_paid_mismatch),
    Case("mixed_utc_offsets", mixed_offsets, fmt="csv"),
    Case("naive_among_offsets", naive_among_offsets, fmt="csv"),
]


def _snapshot(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_input(case: Case, project: Project, capsys):
    tables = clean_tables()
    expected = case.mutate(tables)
    write_raw(tables, project.raw, case.fmt)
    if case.post_write:
        case.post_write(project.raw)
    inputs = _snapshot(project.raw)

    if isinstance(expected, Fatal):
        (project.root / "params.yaml").write_text(yaml.safe_dump({"validate": case.params}))
        code, output = project.cli(capsys)
        assert code == 2, output
        assert "Traceback" not in output
        message = output.strip().splitlines()[0]
        assert message.startswith("data error: ")
        assert f"table '{expected.table}'" in message and f"rule '{expected.rule}'" in message
        if expected.column is not None:
            assert f"column '{expected.column}'" in message
        assert expected.says in output
        assert not project.validated.exists() and not project.metrics.exists(), "nothing is published"
    else:
        metrics = project.run(**case.params)
        for name in TABLES:
            if name not in tables:  # an optional table the book leaves out (decisions)
                continue
            quarantined = project.quarantined(name)
            got = list(zip(quarantined["row_number"].tolist(), quarantined["reason"].tolist(), strict=True))
            assert got == expected.rows.get(name, []), name
            bad = [row for row, _ in expected.rows.get(name, [])]
            good = conform(tables[name].drop(index=bad), TABLES[name])
            pd.testing.assert_frame_equal(project.validated_table(name), good, obj=f"validated {name}")
            assert metrics["tables"][name]["rows_quarantined"] == len(bad)
    assert _snapshot(project.raw) == inputs, "the input files are never modified"


def test_the_corpus_is_large_and_covers_both_severities():
    kinds = [type(c.mutate(clean_tables())).__name__ for c in CASES]
    assert len(CASES) >= 25 and kinds.count("Fatal") >= 10 and kinds.count("Quarantined") >= 15
