"""Validation one partition of whole borrowers at a time (validation/partitioned.py, the nightly job's) decides as
the whole-book run does: the same rows pass, the same are quarantined, with the same row numbers; the same
inputs stop both runs; keys duplicated across partitions and the book's quarantine share are found over the book.

The fuzz cases are the validation fuzzer's (tests/validation_fuzzing.py): generated corruptions of a small valid
book as CSV and parquet, cut here into partitions of one or two accounts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validation_fixtures import clean_tables, params_with, shared_gx_root  # noqa: F401
from validation_fuzzing import BASE, gx_memo, plans, write_case

from core.errors import DataError
from core.schema import TABLES
from validation.engine import validate_tables
from validation.partitioned import validate_book
from validation.reading import read_inputs
from validation.report import summary

RUN_DATE = (BASE["statements"]["cycle_date"].max() + pd.Timedelta(days=1)).date()


def _both(raw: Path, out: Path, params, gx_root: Path, size: int):
    """(whole-book outcome or its DataError, partitioned metrics or its DataError)."""
    try:
        whole = validate_tables(read_inputs(raw), params.validate_, gx_root, RUN_DATE)
    except DataError as err:
        whole = err
    try:
        parts = validate_book(raw, params.validate_, gx_root, RUN_DATE, size, out / "validated", out / "quarantine")
    except DataError as err:
        parts = err
    return whole, parts


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by, kind="stable").reset_index(drop=True)


def _assert_same_decisions(whole, metrics: dict, out: Path) -> None:
    """Same rows valid (values and dtypes), same rows quarantined (row numbers and values); the same reasons,
    except for decisions, whose contact may be checked in another partition (then `reference`)."""
    expected = summary(whole)
    for name, check in whole.tables.items():
        got, want = metrics["tables"][name], expected["tables"][name]
        assert (got["rows_in"], got["rows_valid"]) == (want["rows_in"], want["rows_valid"]), name
        validated = pd.read_parquet(out / "validated" / f"{name}.parquet")
        key = list(TABLES[name].key)
        pd.testing.assert_frame_equal(_sorted(validated, key), _sorted(check.validated, key))
        quarantined = _sorted(pd.read_parquet(out / "quarantine" / f"{name}.parquet"), ["row_number"])
        reference = check.quarantined.reset_index(drop=True)
        if name == "decisions":
            quarantined, reference = quarantined.drop(columns="reason"), reference.drop(columns="reason")
        else:
            assert got["quarantined_by_rule"] == want["quarantined_by_rule"], name
        # values compared; a categorical's category list is its partition's, not the book's
        pd.testing.assert_frame_equal(quarantined, reference, check_dtype=False, check_categorical=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_partitions_decide_as_the_whole_book(fmt, data, tmp_path_factory, shared_gx_root):
    plan = data.draw(plans(formats=(fmt,)), label="plan")
    size = data.draw(st.sampled_from([1, 2]), label="accounts per partition")
    root = tmp_path_factory.mktemp("partitioned")
    case = write_case(plan, root / "raw")
    params = params_with(**dict(plan.params))
    with gx_memo():
        whole, parts = _both(case.raw, root, params, shared_gx_root, size)
    if isinstance(whole, DataError) or isinstance(parts, DataError):
        assert isinstance(whole, DataError) and isinstance(parts, DataError), (whole, parts)
        return
    _assert_same_decisions(whole, parts, root)


def _book(tmp_path: Path, edit=None, row_group_size: int | None = None) -> Path:
    tables = clean_tables(n_accounts=12, n_cycles=6, decisions=True)
    if edit is not None:
        edit(tables)
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(raw / f"{name}.parquet", index=False, row_group_size=row_group_size)
    return raw


def test_a_key_duplicated_across_partitions_is_found_with_its_row_numbers(tmp_path, shared_gx_root):
    """Payment 2 (account 101) takes the id of payment 40 (another borrower, another partition of 3 accounts)."""

    def duplicate(tables):
        payments = tables["payments"]
        assert payments.loc[2, "account_id"] != payments.loc[40, "account_id"]
        payments.loc[2, "payment_id"] = payments.loc[40, "payment_id"]

    raw = _book(tmp_path, duplicate)
    with pytest.raises(DataError) as fatal:  # unique_key is fatal by default
        validate_book(raw, params_with().validate_, shared_gx_root, RUN_DATE, 3, tmp_path / "v", tmp_path / "q")
    assert (fatal.value.table, fatal.value.rule, fatal.value.column) == ("payments", "unique_key", "payment_id")
    assert "    2 " in str(fatal.value) and not (tmp_path / "v").exists()

    params = params_with(severity={"unique_key": "quarantine"})
    whole, metrics = _both(raw, tmp_path, params, shared_gx_root, 3)
    assert sorted(pd.read_parquet(tmp_path / "quarantine" / "payments.parquet")["row_number"]) == [2, 40]
    assert metrics["tables"]["payments"]["expectations_failed"] == 1
    _assert_same_decisions(whole, metrics, tmp_path)


def test_the_quarantine_share_is_counted_over_the_book(tmp_path, shared_gx_root):
    """One contact of 14 (7%) names an unknown account: over a 5% limit the run stops naming the row; at 10% it
    goes on, although that row's partition alone is far over 10%."""

    def orphan(tables):
        tables["contacts"].loc[3, "account_id"] = 999

    raw = _book(tmp_path, orphan)
    strict = params_with(max_quarantine_share=0.05).validate_
    with pytest.raises(DataError) as fatal:
        validate_book(raw, strict, shared_gx_root, RUN_DATE, 2, tmp_path / "v", tmp_path / "q")
    assert (fatal.value.table, fatal.value.rule) == ("contacts", "max_quarantine_share")
    assert "1 of 14 rows" in str(fatal.value)
    lenient = params_with(max_quarantine_share=0.10).validate_
    metrics = validate_book(raw, lenient, shared_gx_root, RUN_DATE, 2, tmp_path / "v", tmp_path / "q")
    assert metrics["tables"]["contacts"]["rows_quarantined"] == 1


def test_worker_processes_validate_as_one_process_does(tmp_path, shared_gx_root):
    """Two spawned workers (scoring.workers) write the same validated and quarantined files, byte for byte, and a
    fatal rule found in a worker stops the run with the same error (table, rule, column, rows), nothing written.
    Row groups of 5 rows: the workers cut each table in chunks of row groups, joined again per partition."""

    def orphan_and_duplicate(tables):
        tables["contacts"].loc[3, "account_id"] = 999
        tables["payments"].loc[2, "payment_id"] = tables["payments"].loc[40, "payment_id"]

    raw = _book(tmp_path, orphan_and_duplicate, row_group_size=5)
    lenient = params_with(severity={"unique_key": "quarantine"}, max_quarantine_share=0.10).validate_
    runs = {}
    for workers in (1, 2):
        out = tmp_path / f"workers-{workers}"
        out.mkdir()
        runs[workers] = validate_book(raw, lenient, shared_gx_root, RUN_DATE, 3, out / "v", out / "q", workers=workers)
    assert runs[1] == runs[2] and runs[2]["tables"]["payments"]["rows_quarantined"] == 2
    for folder in ("v", "q"):
        for name in TABLES:
            one, two = (tmp_path / f"workers-{w}" / folder / f"{name}.parquet" for w in (1, 2))
            assert one.read_bytes() == two.read_bytes(), (folder, name)

    errors = []
    for workers in (1, 2):
        with pytest.raises(DataError) as fatal:
            validate_book(
                raw,
                params_with().validate_,
                shared_gx_root,
                RUN_DATE,
                3,
                tmp_path / "f",
                tmp_path / "fq",
                workers=workers,
            )
        errors.append(fatal.value)
    assert [(e.table, e.rule, e.column, str(e)) for e in errors[:1]] == [
        (e.table, e.rule, e.column, str(e)) for e in errors[1:]
    ]
    assert not (tmp_path / "f").exists()


def test_categorical_columns_over_several_row_groups_are_cut_as_read(tmp_path, shared_gx_root):
    """A parquet extract written from pandas categoricals (dictionary columns) whose row groups bring different
    dictionaries: the spill files keep the values and dtypes, so the partitions decide as the whole book."""

    def categorical(tables):
        for name, column in (("contacts", "channel"), ("decisions", "action")):
            tables[name][column] = tables[name][column].astype("category")

    raw = _book(tmp_path, categorical, row_group_size=4)
    assert pq.ParquetFile(raw / "contacts.parquet").metadata.num_row_groups > 1
    whole, metrics = _both(raw, tmp_path, params_with(), shared_gx_root, 3)
    assert metrics["tables"]["contacts"]["rows_valid"] > 0
    _assert_same_decisions(whole, metrics, tmp_path)
