"""Reading never crashes and never changes a value (issue 11): each malformed input below once gave a
traceback or a silently altered value; now it is a quarantined row or a clear exit-2 error, and
every value that passes is the value as written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401

from core.errors import DataError
from core.io import conform, read_table
from core.params import parse_params
from core.schema import TABLES
from core.values import parse_values

# --------------------------------------------------------------------------- the value parser


@pytest.mark.parametrize(
    ("logical_type", "text", "expected"),
    [
        ("id", "5001", 5001),
        ("id", " 5001 ", 5001),
        ("id", "5001.0", 5001),
        ("id", "9007199254740993", 9007199254740993),  # 2**53 + 1: no float round trip
        ("id", "9223372036854775807", 2**63 - 1),
        ("id", "0", 0),
        ("int", "007", 7),  # a count written with leading zeros is still that count
        ("float", "0.1", 0.1),
        ("float", "1e5", 1e5),
        ("float", "-.5", -0.5),
        ("bool", "TRUE", True),
        ("bool", "n", False),
        ("string", "01", "01"),
        ("string", "NA", "NA"),
        ("string", " padded ", " padded "),
        ("date", "2024-03-05", pd.Timestamp("2024-03-05")),
        ("date", "2024-03-05T23:30:00-05:00", pd.Timestamp("2024-03-05")),  # the calendar date as written
        ("timestamp", "2024-03-05T09:30:00-05:00", pd.Timestamp("2024-03-05 14:30", tz="UTC")),
        ("timestamp", "2024-03-05 09:30:00.123456789Z", pd.Timestamp("2024-03-05 09:30:00.123456789", tz="UTC")),
    ],
)
def test_a_value_written_as_text_reads_as_written(logical_type, text, expected):
    parsed = parse_values(pd.Series([text], dtype="str"), logical_type)
    assert not parsed.bad.any()
    assert parsed.values.iloc[0] == expected


@pytest.mark.parametrize(
    ("logical_type", "text"),
    [
        ("id", "99999999999999999999"),  # beyond int64
        ("id", "-9223372036854775809"),
        ("id", "007"),  # "007" and "7" would become one id
        ("id", "5001.5"),
        ("id", "5.001e3"),
        ("id", "payment_id"),  # a repeated header row
        ("int", "١٢"),  # digits of another script
        ("float", "1,204.50"),
        ("float", "nan"),
        ("float", "inf"),
        ("float", "1e400"),
        ("float", "0x1A"),
        ("bool", "maybe"),
        ("string", "US\x00TX"),
        ("string", "line\nbreak"),
        ("date", "05/03/2024"),  # day-first or month-first: never guessed
        ("date", "2024-3-5"),
        ("date", "20240305"),
        ("date", "2024-02-30"),
        ("date", "2024-03-05 garbage"),
        ("date", "3000-01-01"),  # beyond nanosecond timestamps
        ("timestamp", "03/05/2024 10:00"),
        ("timestamp", "2024-03-05 10:00 UTC"),
        ("timestamp", "2024-03-05T25:00:00Z"),
    ],
)
def test_a_value_that_cannot_be_read_exactly_is_refused(logical_type, text):
    parsed = parse_values(pd.Series([text], dtype="str"), logical_type)
    assert parsed.bad.tolist() == [True]
    assert parsed.values.isna().all()


def test_typed_values_read_exactly_or_are_refused():
    ids = parse_values(pd.Series([1.0, 2.5, 1e19, np.nan]), "id")
    assert ids.bad.tolist() == [False, True, True, False] and ids.values.iloc[0] == 1
    big = parse_values(pd.Series([2**63 + 5, 3], dtype="uint64"), "id")
    assert big.bad.tolist() == [True, False] and big.values.iloc[1] == 3
    amounts = parse_values(pd.Series([2**53 + 1, 12], dtype="int64"), "float")
    assert amounts.bad.tolist() == [True, False], "a float cannot hold 2**53 + 1"
    region = parse_values(pd.Series([1, 2], dtype="int64"), "string")
    assert region.bad.all(), "a number in a text column is not the text it was written as"
    mixed = parse_values(pd.Series(["US-TX", 7, None], dtype=object), "string")
    assert mixed.bad.tolist() == [False, True, False] and mixed.values.iloc[0] == "US-TX"


def test_a_declared_date_format_reads_day_first_dates():
    text = pd.Series(["05/03/2024", "2024-03-06", "31/12/2023", "12/31/2023"], dtype="str")
    parsed = parse_values(text, "date", date_format="%d/%m/%Y")
    assert parsed.bad.tolist() == [False, False, False, True]
    assert parsed.values.iloc[:3].tolist() == [pd.Timestamp(d) for d in ("2024-03-05", "2024-03-06", "2023-12-31")]


def test_date_format_must_name_day_month_and_year():
    assert parse_params({"validate": {"date_format": "%d.%m.%Y"}}).validate_.date_format == "%d.%m.%Y"
    with pytest.raises(ValueError, match="date_format"):
        parse_params({"validate": {"date_format": "%m/%Y"}})


def test_conform_reads_ids_exactly_and_refuses_guesses(tmp_path):
    frame = clean_tables()["payments"].astype({"payment_id": "str", "paid_at": "str"})
    frame.loc[0, "payment_id"] = "9007199254740993"
    frame.to_csv(tmp_path / "payments.csv", index=False)
    assert read_table(tmp_path, "payments")["payment_id"].iloc[0] == 9007199254740993
    frame.loc[1, "paid_at"] = "03/05/2024 10:00"
    with pytest.raises(DataError, match="column 'paid_at'"):
        conform(frame, TABLES["payments"])


# --------------------------------------------------------------------------- the stage


def _cli(project: Project, capsys, **validate) -> tuple[int, str]:
    (project.root / "params.yaml").write_text(yaml.safe_dump({"validate": {"max_quarantine_share": 1.0, **validate}}))
    code, output = project.cli(capsys)
    assert "Traceback" not in output
    return code, output


def _quarantined(project: Project, name: str) -> list[tuple[int, str]]:
    q = project.quarantined(name)
    return list(zip(q["row_number"].tolist(), q["reason"].tolist(), strict=True))


def _rows_add_up(project: Project, tables) -> None:
    for name, frame in tables.items():
        assert len(project.validated_table(name)) + len(project.quarantined(name)) == len(frame), name


def test_a_header_row_repeated_in_a_csv_is_a_quarantined_row(project: Project, capsys):
    tables = clean_tables()
    write_raw(tables, project.raw, "csv")
    lines = (project.raw / "payments.csv").read_text().splitlines(keepends=True)
    lines.insert(6, lines[0])  # data row 5 is the header again
    (project.raw / "payments.csv").write_text("".join(lines))
    code, output = _cli(project, capsys)
    assert code == 0, output
    dtype = "; ".join(f"dtype:{c}" for c in ("payment_id", "account_id", "paid_at", "amount"))
    assert _quarantined(project, "payments") == [(5, f"{dtype}; allowed_values:method")]
    assert len(project.validated_table("payments")) == len(tables["payments"])


def test_trailing_lines_of_bare_commas_are_quarantined_rows(project: Project, capsys):
    tables = clean_tables()
    write_raw(tables, project.raw, "csv")
    with (project.raw / "payments.csv").open("a") as handle:
        handle.write(",,,,\n,,,,\n")
    code, output = _cli(project, capsys)
    assert code == 0, output
    n = len(tables["payments"])
    reason = "; ".join(f"not_null:{c}" for c in TABLES["payments"].column_names)
    assert _quarantined(project, "payments") == [(n, reason), (n + 1, reason)]


def test_a_row_longer_than_the_header_is_fatal_not_shifted(project: Project, capsys):
    """pandas made the first column of such a file its index, shifting every value one column left."""
    write_raw(clean_tables(), project.raw, "csv")
    lines = (project.raw / "accounts.csv").read_text().splitlines(keepends=True)
    lines[1] = lines[1].rstrip("\n") + ",surplus\n"
    (project.raw / "accounts.csv").write_text("".join(lines))
    code, output = _cli(project, capsys)
    assert code == 2 and "table 'accounts'" in output and "rule 'readable'" in output
    assert "line 2 has more cells than the header row" in output


def test_a_column_named_twice_in_a_csv_header_is_fatal(project: Project, capsys):
    write_raw(clean_tables(), project.raw, "csv")
    text = (project.raw / "payments.csv").read_text()
    (project.raw / "payments.csv").write_text(text.replace("amount,method", "amount,amount", 1))
    code, output = _cli(project, capsys, extra_columns="drop")
    assert code == 2 and "rule 'readable'" in output and "['amount'] more than once" in output


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_id_beyond_int64_is_quarantined(project: Project, capsys, fmt):
    tables = clean_tables()
    tables["payments"]["payment_id"] = tables["payments"]["payment_id"].astype(object)
    tables["payments"].loc[3, "payment_id"] = "99999999999999999999"
    write_raw(tables, project.raw, fmt)
    code, output = _cli(project, capsys)
    assert code == 0, output
    assert _quarantined(project, "payments") == [(3, "dtype:payment_id")]


def test_an_id_stored_as_text_is_read_exactly(project: Project, capsys):
    """9007199254740993 (2**53 + 1) became 9007199254740992 through a float."""
    tables = clean_tables()
    tables["payments"]["payment_id"] = tables["payments"]["payment_id"].astype(str)
    tables["payments"].loc[3, "payment_id"] = "9007199254740993"
    write_raw(tables, project.raw, "parquet")
    assert _cli(project, capsys)[0] == 0
    assert project.validated_table("payments")["payment_id"].iloc[3] == 9007199254740993


def test_zero_padded_ids_are_refused_not_merged(project: Project, capsys):
    tables = clean_tables()
    tables["payments"]["payment_id"] = tables["payments"]["payment_id"].map(lambda v: f"{v:08d}")
    write_raw(tables, project.raw, "parquet")
    code, output = _cli(project, capsys, max_quarantine_share=0.05)
    assert code == 2 and "table 'payments'" in output and "dtype:payment_id" in output
    tables["payments"].loc[2:, "payment_id"] = tables["payments"]["payment_id"].str.lstrip("0")[2:]
    write_raw(tables, project.raw, "parquet")
    assert _cli(project, capsys)[0] == 0
    assert _quarantined(project, "payments") == [(0, "dtype:payment_id"), (1, "dtype:payment_id")]


def test_text_columns_of_a_csv_are_not_type_guessed(project: Project, capsys):
    """region "01" became "1" (all regions numeric), and "NA" / "None" became missing."""
    tables = clean_tables()
    tables["accounts"]["region"] = ["01", "NA", "None", "002", "10"]
    write_raw(tables, project.raw, "csv")
    code, output = _cli(project, capsys)
    assert code == 0, output
    assert project.validated_table("accounts")["region"].tolist() == ["01", "NA", "None", "002", "10"]
    _rows_add_up(project, tables)


def test_a_number_in_a_parquet_text_column_is_quarantined(project: Project, capsys):
    tables = clean_tables()
    tables["accounts"]["region"] = [1, 2, 3, 4, 5]
    write_raw(tables, project.raw, "parquet")
    assert _cli(project, capsys)[0] == 0
    assert [r for _, r in _quarantined(project, "accounts")] == ["dtype:region"] * 5


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_day_first_dates_are_refused_not_swapped(project: Project, capsys, fmt):
    """05/03/2024 was read as 3 May: 366 of 2,000 open_dates swapped, exit 0."""
    tables = clean_tables()
    tables["accounts"]["open_date"] = tables["accounts"]["open_date"].dt.strftime("%d/%m/%Y")
    write_raw(tables, project.raw, fmt)
    code, output = _cli(project, capsys, max_quarantine_share=0.05)
    assert code == 2 and "table 'accounts'" in output and "dtype:open_date" in output

    assert _cli(project, capsys, date_format="%d/%m/%Y")[0] == 0
    expected = clean_tables()["accounts"]["open_date"]
    pd.testing.assert_series_equal(project.validated_table("accounts")["open_date"], expected)


def test_a_non_iso_timestamp_is_quarantined(project: Project, capsys):
    tables = clean_tables()
    stamps = tables["payments"]["paid_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    stamps.iloc[4] = "01/26/2024 10:00"
    tables["payments"]["paid_at"] = stamps
    write_raw(tables, project.raw, "csv")
    assert _cli(project, capsys)[0] == 0
    assert (4, "dtype:paid_at") in _quarantined(project, "payments")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_control_characters_in_text_are_quarantined(project: Project, capsys, fmt):
    tables = clean_tables()
    tables["accounts"].loc[1, "region"] = "US\x00TX"
    tables["contacts"]["channel"] = tables["contacts"]["channel"].astype(object)
    tables["contacts"].loc[0, "channel"] = "sms\x07"
    write_raw(tables, project.raw, fmt)
    assert _cli(project, capsys)[0] == 0
    assert _quarantined(project, "accounts") == [(1, "dtype:region")]
    assert _quarantined(project, "contacts")[0][1].startswith("dtype:channel")
    assert not project.validated_table("accounts")["region"].str.contains("\x00").any()


@pytest.mark.parametrize(
    ("table", "fmt", "value"),
    [
        ("payments", "parquet", None),
        ("payments", "csv", "abc"),
        ("statements", "parquet", None),
        ("statements", "csv", "x"),
    ],
)
def test_a_missing_or_unreadable_account_id_is_quarantined(project: Project, capsys, table, fmt, value):
    """merge_asof got Int64 keys on one side and int64 on the other: a MergeError traceback."""
    tables = clean_tables()
    tables[table]["account_id"] = tables[table]["account_id"].astype(object)
    tables[table].loc[2, "account_id"] = value
    write_raw(tables, project.raw, fmt)
    code, output = _cli(project, capsys)
    assert code == 0, output
    rule = "not_null" if value is None else "dtype"
    assert (2, f"{rule}:account_id") in _quarantined(project, table)
    _rows_add_up(project, tables)


def test_no_readable_account_at_all_quarantines_everything_without_a_crash(project: Project, capsys):
    """Every account_id unreadable: the account look-ups of the cross-table rules were empty (a TypeError)."""
    tables = clean_tables()
    tables["accounts"]["account_id"] = "unknown"
    write_raw(tables, project.raw, "csv")
    code, output = _cli(project, capsys)
    assert code == 0, output
    for name, frame in tables.items():
        assert len(project.validated_table(name)) == 0 and len(project.quarantined(name)) == len(frame), name
