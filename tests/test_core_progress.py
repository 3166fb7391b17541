"""Progress: silent in a library call, plain periodic lines in a log, a bar on a terminal, and the CLI's wiring."""

from __future__ import annotations

import io

import pytest
from validation_fixtures import clean_tables, project, shared_gx_root, write_raw  # noqa: F401

from core import progress


@pytest.fixture(autouse=True)
def _silent_afterwards():
    yield
    progress.disable()


def test_a_library_call_prints_nothing(capsys):
    assert list(progress.track(range(3), "work")) == [0, 1, 2]
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_a_log_gets_a_first_line_periodic_lines_and_a_last_line():
    log = io.StringIO()
    progress.configure(stream=log, interval=0.0, bar=False)
    assert list(progress.track(range(3), "features", unit="partitions")) == [0, 1, 2]
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("progress: features: 1/3 partitions (33%), ")
    assert lines[2].startswith("progress: features: 3/3 partitions (100%), ")
    assert lines[-1].startswith("progress: features: done, ") and len(lines) == 4


def test_a_step_shorter_than_the_interval_writes_nothing_and_a_longer_one_a_line_per_interval(monkeypatch):
    log = io.StringIO()
    progress.configure(stream=log, interval=60.0, bar=False)
    now = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    with progress.steps("simulate", 5, unit="days") as step:
        for seconds in (30.0, 61.0, 90.0, 130.0, 150.0):  # the clock at each advance
            now[0] = seconds
            step.advance()
    lines = [line.rsplit(",", 1)[0] for line in log.getvalue().splitlines()]
    assert lines == [
        "progress: simulate: 2/5 days (40%)",
        "progress: simulate: 4/5 days (80%)",
        "progress: simulate: done",
    ]
    quiet = io.StringIO()
    progress.configure(stream=quiet, interval=3600.0, bar=False)
    assert list(progress.track(range(100), "validate")) == list(range(100))
    assert quiet.getvalue() == ""


def test_a_failed_step_does_not_claim_it_is_done():
    log = io.StringIO()
    progress.configure(stream=log, interval=0.0, bar=False)
    with pytest.raises(RuntimeError):
        for _ in progress.track(range(3), "validate"):
            raise RuntimeError("boom")
    assert "done" not in log.getvalue()


def test_a_terminal_gets_a_bar_that_leaves_one_closing_line():
    screen = io.StringIO()
    progress.configure(stream=screen, bar=True)
    assert sum(progress.track(range(50), "uplift: T-learner", unit="arms")) == sum(range(50))
    assert screen.getvalue().rstrip().splitlines()[-1].startswith("progress: uplift: T-learner: done, ")


def test_the_command_line_reports_progress_in_its_log_and_is_silent_again_afterwards(project, capsys, monkeypatch):
    monkeypatch.setenv("DUNNING_PROGRESS_SECONDS", "0")
    write_raw(clean_tables(), project.raw)
    code, output = project.cli(capsys)
    assert code == 0, output
    assert "progress: validate: Great Expectations: 1/" in output
    assert "progress: validate: Great Expectations: done" in output
    list(progress.track(range(2), "after the command"))
    assert "after the command" not in capsys.readouterr().err
