"""The validate stage end to end on a clean book: outputs, metrics, the offline report, the GX
context, quiet logs, and all-or-nothing publishing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from validation_fixtures import Project, clean_tables, project, shared_gx_root, write_raw  # noqa: F401

from core.errors import DataError
from core.io import write_frame
from core.schema import TABLES


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_clean_book_passes_unchanged(project: Project, capfd):
    tables = clean_tables()
    write_raw(tables, project.raw)
    metrics = project.run()

    assert metrics["rows_quarantined"] == 0 and metrics["expectations_failed"] == 0
    assert metrics["rows_in"] == metrics["rows_valid"] == sum(len(t) for t in tables.values())
    assert metrics["as_of_date"] == "2024-07-01", "null as_of_date: the day after the latest cycle_date"
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(project.validated_table(name), frame)
        quarantined = project.quarantined(name)
        assert len(quarantined) == 0 and {"row_number", "reason", *TABLES[name].column_names} == set(quarantined)
    assert json.loads(project.metrics.read_text()) == metrics
    out = capfd.readouterr()
    assert "Calculating Metrics" not in out.out + out.err and "%|" not in out.out + out.err, "no progress bars"


def test_csv_input_gives_the_same_result_as_parquet(project: Project):
    tables = clean_tables(n_accounts=8)
    write_raw(tables, project.raw, fmt="csv")
    assert project.run()["rows_quarantined"] == 0
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(project.validated_table(name), frame)


def test_report_is_self_contained_and_escapes_data(project: Project):
    tables = clean_tables()
    tables["contacts"]["channel"] = tables["contacts"]["channel"].astype(object)
    tables["contacts"].loc[1, "channel"] = "<script>alert(1)</script>"
    write_raw(tables, project.raw)
    project.run(max_quarantine_share=1.0)
    html = (project.report / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", html), "no links to CDNs or anything else online"
    assert "<script" not in html and "<link" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "allowed_values:channel" in html and "expect_column_values_to_be_in_set" in html


def test_gx_context_lives_in_the_project_root_quiet_and_stable(project: Project):
    write_raw(clean_tables(), project.raw)
    root = project.root / "own-root"
    Project(project.root, root).run()
    config = root / "gx" / "great_expectations.yml"
    settings = yaml.safe_load(config.read_text())
    assert settings["analytics_enabled"] is False
    assert settings["progress_bars"] == {"globally": False, "metric_calculations": False}
    assert all("uncommitted/" in store["store_backend"]["base_directory"] for store in settings["stores"].values())
    assert settings["data_docs_sites"] == {}
    before = config.read_text()
    Project(project.root, root).run()
    assert config.read_text() == before, "a second run leaves the committed config untouched"
    assert {p.name for p in (root / "gx" / "uncommitted" / "expectations").glob("*.json")} == {
        f"{name}.json" for name in TABLES
    }


def test_a_failed_run_leaves_the_previous_outputs_in_place(project: Project):
    write_raw(clean_tables(), project.raw)
    project.run()
    outputs = {d: _files(d) for d in (project.validated, project.quarantine, project.report)}
    metrics = project.metrics.read_bytes()

    broken = clean_tables()
    broken["accounts"] = broken["accounts"].drop(columns="region")
    write_raw(broken, project.raw)
    with pytest.raises(DataError, match="region"):
        project.run()
    assert {d: _files(d) for d in outputs} == outputs and project.metrics.read_bytes() == metrics
    assert sorted(p.name for p in project.root.joinpath("data").iterdir()) == [
        "metrics",
        "quarantine",
        "raw",
        "reports",
        "validated",
    ], "no staging directory left behind"


def test_a_crash_while_writing_publishes_nothing(project: Project, monkeypatch):
    write_raw(clean_tables(), project.raw)
    project.run()
    before = _files(project.validated)
    calls = []

    def failing_write(frame, target):
        calls.append(target)
        if len(calls) == 4:
            raise OSError("disk full")
        write_frame(frame, target)

    monkeypatch.setattr("pipeline.stages.validate.write_frame", failing_write)
    write_raw(clean_tables(n_accounts=6), project.raw)
    with pytest.raises(OSError, match="disk full"):
        project.run()
    assert _files(project.validated) == before
    assert not list(project.root.joinpath("data").rglob(".*staging*"))


def test_extra_columns_can_be_dropped_and_are_reported(project: Project):
    tables = clean_tables()
    tables["payments"]["channel_code"] = "X1"
    write_raw(tables, project.raw)
    metrics = project.run(extra_columns="drop")
    assert metrics["rows_quarantined"] == 0
    assert list(project.validated_table("payments").columns) == TABLES["payments"].column_names
    assert "channel_code" in (project.report / "index.html").read_text()


def test_optional_tables_can_be_header_only(project: Project):
    tables = clean_tables()
    tables["contacts"] = tables["contacts"].iloc[0:0]
    write_raw(tables, project.raw, fmt="csv")
    metrics = project.run()
    assert metrics["tables"]["contacts"]["rows_in"] == 0
    assert project.validated_table("contacts").dtypes.to_dict() == TABLES["contacts"].empty_frame().dtypes.to_dict()


def test_cli_success_prints_one_summary_line(project: Project, capsys):
    write_raw(clean_tables(), project.raw)
    code, output = project.cli(capsys)
    assert code == 0, output
    summary = "\n".join(line for line in output.splitlines() if not line.startswith("progress: "))  # core/progress
    assert re.fullmatch(
        r"validated [\d,]+ rows \(as of 2024-07-01\): [\d,]+ valid, 0 quarantined; report: .*index\.html",
        summary.strip(),
    )


def test_cli_refuses_to_write_over_its_inputs(project: Project, capsys):
    write_raw(clean_tables(), project.raw)
    before = _files(project.raw)
    project.validated = project.raw
    code, output = project.cli(capsys)
    assert code == 2 and "would replace the input directory" in output and "Traceback" not in output
    assert _files(project.raw) == before


def test_params_errors_exit_with_code_3(project: Project, capsys):
    write_raw(clean_tables(), project.raw)
    (project.root / "params.yaml").write_text("validate:\n  severity:\n    dtype: ignore\n")
    code, output = project.cli(capsys)
    assert code == 3 and "validate.severity.dtype" in output and "Traceback" not in output


@pytest.mark.e2e
def test_clean_simulated_data_pass_with_nothing_quarantined(project: Project):
    from core.params import parse_params
    from pipeline.stages import simulate

    simulate.run(parse_params({"simulate": {"accounts": 400, "cycles": 12}}), project.raw, metrics_file=None)
    metrics = project.run()
    assert metrics["rows_quarantined"] == 0, metrics["tables"]
    assert metrics["rows_valid"] == metrics["rows_in"] > 0


@pytest.mark.parametrize("torn", ["", "null", '{"name": "accounts", "expect'])
def test_a_suite_file_torn_by_another_run_is_regenerated_not_fatal(project: Project, torn: str):
    """Two validations sharing one gx/ folder (two nightly runs, two test workers): one may read a suite file
    while the other writes it. The reader regenerates the suite from the schema instead of failing."""
    write_raw(clean_tables(), project.raw)
    root = project.root / "torn-root"
    Project(project.root, root).run()
    suite = root / "gx" / "uncommitted" / "expectations" / "accounts.json"
    suite.write_text(torn)
    Project(project.root, root).run()
    assert json.loads(suite.read_text())["name"] == "accounts"
