"""The data contract: every table round-trips through parquet and CSV with identical dtypes."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import io
from core.errors import DataError
from core.schema import TABLES, Column, Table, schema_markdown

_TIMESTAMPS = st.datetimes(
    min_value=pd.Timestamp("2000-01-01").to_pydatetime(), max_value=pd.Timestamp("2030-12-31").to_pydatetime()
)


def _values(col: Column, n: int) -> st.SearchStrategy:
    """Values of one column's logical type, with nulls only where the schema allows them."""
    base: st.SearchStrategy
    if col.type in ("id", "nullable_id", "int", "nullable_int"):
        base = st.integers(min_value=0, max_value=2**40)
    elif col.type == "float":
        base = st.floats(min_value=0, max_value=1e9, allow_nan=False)
    elif col.type == "bool":
        base = st.booleans()
    elif col.type == "string":
        base = (
            st.sampled_from(col.allowed) if col.allowed else st.text(alphabet="abcXYZ019-_/", min_size=1, max_size=12)
        )
    elif col.type == "date":
        base = _TIMESTAMPS.map(lambda t: pd.Timestamp(t).normalize())
    else:
        base = _TIMESTAMPS.map(lambda t: pd.Timestamp(t, tz="UTC"))
    if col.nullable:
        base = st.one_of(st.none(), base)
    return st.lists(base, min_size=n, max_size=n)


@st.composite
def canonical_frames(draw, spec: Table) -> pd.DataFrame:
    n = draw(st.integers(min_value=0, max_value=8))
    raw = {col.name: draw(_values(col, n)) for col in spec.columns}
    return io.conform(pd.DataFrame(raw), spec)


@pytest.mark.parametrize("name", list(TABLES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_parquet_round_trip_keeps_values_and_dtypes(name, data, tmp_path):
    frame = data.draw(canonical_frames(TABLES[name]))
    io.write_table(frame, tmp_path, name)
    back = io.read_table(tmp_path, name)
    assert dict(back.dtypes.astype(str)) == TABLES[name].dtypes
    pd.testing.assert_frame_equal(back, frame)


@pytest.mark.parametrize("name", list(TABLES))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_csv_input_conforms_to_the_same_frame(name, data, tmp_path):
    frame = data.draw(canonical_frames(TABLES[name]))
    (tmp_path / f"{name}.csv").write_text(frame.to_csv(index=False))
    back = io.read_table(tmp_path, name)
    pd.testing.assert_frame_equal(back, frame, check_exact=False, rtol=1e-12)


def test_conform_names_table_column_and_rows_of_uncastable_values():
    frame = TABLES["payments"].empty_frame().astype(object)
    frame = pd.DataFrame(
        {
            "payment_id": [1, 2, 3],
            "account_id": [1, 1, 1],
            "paid_at": ["2024-01-01T10:00:00Z"] * 3,
            "amount": ["10", "ten", "12.5"],
            "method": ["card"] * 3,
        }
    )
    with pytest.raises(DataError) as err:
        io.conform(frame, TABLES["payments"])
    message = str(err.value)
    assert "table 'payments'" in message and "column 'amount'" in message and "ten" in message


def test_missing_column_is_named():
    with pytest.raises(DataError, match="missing column.*method"):
        io.conform(pd.DataFrame({"payment_id": [1]}), TABLES["payments"])


def test_failed_write_leaves_previous_file_intact(tmp_path):
    good = pd.DataFrame(
        {
            "payment_id": [1],
            "account_id": [7],
            "paid_at": [pd.Timestamp("2024-01-02", tz="UTC")],
            "amount": [5.0],
            "method": ["card"],
        }
    )
    io.write_table(good, tmp_path, "payments")
    with pytest.raises(DataError):
        io.write_table(good.assign(amount=["not a number"]), tmp_path, "payments")
    pd.testing.assert_frame_equal(io.read_table(tmp_path, "payments"), io.conform(good, TABLES["payments"]))
    assert [p.name for p in tmp_path.iterdir()] == ["payments.parquet"]


def test_both_parquet_and_csv_present_is_ambiguous(tmp_path):
    (tmp_path / "payments.csv").write_text("x\n")
    (tmp_path / "payments.parquet").write_text("x")
    with pytest.raises(DataError, match="keep one"):
        io.find_table_file(tmp_path, "payments")


def test_schema_manual_documents_the_schema_as_the_code_defines_it():
    from core.paths import PROJECT_ROOT

    assert schema_markdown() in (PROJECT_ROOT / "docs" / "schema.md").read_text(encoding="utf-8")


def test_published_files_are_readable_by_others(tmp_path):
    frame = TABLES["payments"].empty_frame()
    path = io.write_table(frame, tmp_path, "payments")
    assert path.stat().st_mode & 0o044, "outputs are shared with analysts, not owner-only"
