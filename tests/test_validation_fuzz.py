"""Property-based fuzzing of validation (issue 11): generated corruptions of a small valid book, as CSV
and parquet, never crash the stage, never lose a row and never change a value.

The generators, the runner and the oracle are in tests/validation_fuzzing.py, shared with
benchmarks/fuzz_validate.py, which runs thousands of cases; here a few derandomised examples per
format keep the suite fast (one Great Expectations context serves them all, and runs once per distinct
table: validation_fuzzing.gx_memo). Warnings are errors
in the suite, so a warning raised while validating a case fails it too.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validation_fixtures import shared_gx_root  # noqa: F401
from validation_fuzzing import BASE, Op, Plan, gx_memo, judge, plans, run_case, write_case


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_validation_never_crashes_loses_rows_or_alters_values(fmt, data, tmp_path_factory, shared_gx_root):
    plan = data.draw(plans(formats=(fmt,)), label="plan")
    root = tmp_path_factory.mktemp("fuzz")
    case = write_case(plan, root / "raw")
    with gx_memo():
        outcome = run_case(case, root, shared_gx_root)
    report = "\n".join(outcome.problems[:10])
    assert outcome.exit_code in (0, 2), report
    assert outcome.tracebacks == 0, report
    assert outcome.rows_lost == 0, report
    assert outcome.values_altered == 0, report


def test_the_judge_notices_a_changed_value_and_a_lost_row(tmp_path, shared_gx_root):
    """The properties can fail: a validated value edited after the run, or a row dropped, is caught."""
    case = write_case(Plan("csv", (Op("variant", "statements", 3, "balance", 1),)), tmp_path / "raw")
    outcome = run_case(case, tmp_path, shared_gx_root)
    assert (outcome.exit_code, outcome.values_altered, outcome.rows_lost) == (0, 0, 0)
    assert outcome.values_compared == sum(len(f) * len(f.columns) for f in BASE.values())
    metrics = json.loads((tmp_path / "validation.json").read_text())

    path = tmp_path / "validated" / "statements.parquet"
    statements = pd.read_parquet(path)
    statements.loc[3, "balance"] = np.nextafter(statements.loc[3, "balance"], np.inf)
    statements.to_parquet(path)
    assert judge(case, metrics, tmp_path / "validated", tmp_path / "quarantine").values_altered == 1

    statements.drop(index=5).to_parquet(path)
    assert judge(case, metrics, tmp_path / "validated", tmp_path / "quarantine").rows_lost == 1
