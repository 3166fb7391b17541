"""Personal data stays out (issue 16): names, phone numbers, e-mail and postal addresses and national ids that
a real extract carries as extra columns (`validate.extra_columns: drop`) reach no output, no quarantine, no
report, no MLflow run, artifact or registered model, and no log of training or of the nightly `score` run.

A small simulated book gets such columns in every input table, each cell a unique marker string; training
(validate, features, roll_rate, propensity, uplift, tracked in a private MLflow store) and the nightly score
run on that extract, and then every file they wrote is searched for the marker's prefix, inside parquet,
sqlite, zip and compressed files too (a planted value is stored compressed there, invisible to a byte search);
the plots are searched as bytes only (text drawn into their pixels is not read). A fatal data error on the
marked extract, through the command line, names its rows without them either.
"""

from __future__ import annotations

import bz2
import contextlib
import datetime as dt
import gzip
import io
import logging
import lzma
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from core.params import parse_params
from core.schema import TABLES
from models.common import tracking
from pipeline.stages import features, promote, propensity, roll_rate, score, simulate, uplift, validate
from strategy.output import RECOMMENDATION_COLUMNS

pytestmark = pytest.mark.e2e

MARK = "PIIMARK"  # never produced by the simulator, the models or any library
PERSONAL = ("full_name", "phone", "email", "postal_address", "national_id")
FAST = {"num_leaves": 7, "min_child_samples": 40, "n_estimators": 40, "early_stopping_rounds": 10, "num_threads": 1}


def _params():
    return parse_params(
        {
            "simulate": {"accounts": 1200, "cycles": 10},
            "validate": {"extra_columns": "drop"},
            "roll_rate": {"valid_cycles": 2, "test_cycles": 2, "shap_sample": 50, "lightgbm": FAST},
            "propensity": {"lightgbm": FAST},
            "uplift": {"valid_days": 30, "test_days": 30, "bootstrap": 20, "lightgbm": FAST},
        }
    )


def _marker(table: str, column: str, row: int) -> str:
    return f"{MARK}{table}{column}{row}"


def _plant(extract: Path) -> dict[str, int]:
    """Personal columns in every table of `extract` (a unique marker per cell), and one account quarantined
    (an unknown time zone) so that it and its records in the other tables fill the quarantine; rows per table."""
    rows = {}
    accounts = pd.read_parquet(extract / "accounts.parquet")
    restrictions = pd.read_parquet(extract / "restrictions.parquet")
    covered = set(restrictions["account_id"].dropna())
    for name in ("statements", "payments", "contacts", "decisions"):
        covered &= set(pd.read_parquet(extract / f"{name}.parquet")["account_id"])
    assert covered, "the book needs an account with records in every table"
    decisions = pd.read_parquet(extract / "decisions.parquet")
    contacted = decisions.loc[decisions["action"] != "none", "account_id"].value_counts()
    bad = min(covered, key=lambda a: (contacted.get(a, 0), a))  # the one the models miss least: few contacts
    for name in TABLES:
        path = extract / f"{name}.parquet"
        frame = accounts if name == "accounts" else pd.read_parquet(path)
        if name == "accounts":
            frame.loc[frame["account_id"] == bad, "timezone"] = "Nowhere/Atlantis"
        for column in PERSONAL:
            frame[column] = pd.Series([_marker(name, column, i) for i in range(len(frame))], dtype="str")
        frame.to_parquet(path, index=False)
        rows[name] = len(frame)
    return rows


@contextlib.contextmanager
def _captured(logs: Path) -> Iterator[None]:
    """Everything written to stdout and stderr (Python's and the file descriptors', so C libraries' too) and
    every log record emitted (the root logger at DEBUG, libraries at their own levels), into files under `logs`."""
    logs.mkdir(parents=True, exist_ok=True)
    records = logging.FileHandler(logs / "records.log", encoding="utf-8")
    records.setLevel(logging.DEBUG)
    records.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    # libraries that keep their records to themselves (propagate=False) get the handler too
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    root_level = logging.getLogger().level
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(logs / "output.log", "wb") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        text = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
        for logger in loggers:
            logger.addHandler(records)
        logging.getLogger().setLevel(logging.DEBUG)
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield
        finally:
            text.flush()
            logging.getLogger().setLevel(root_level)
            for logger in loggers:
                logger.removeHandler(records)
            records.close()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _contents(data: bytes, depth: int = 0) -> Iterator[str]:
    """The bytes as text, and the text of whatever they hold: parquet cells and metadata, an sqlite database's
    rows, the members of a zip, compressed streams."""
    yield data.decode("latin-1")
    if depth > 3:
        return
    if data[:4] == b"PAR1":
        table = pq.read_table(io.BytesIO(data))
        yield repr(table.schema.metadata) + repr(table.schema.names)
        for column in table.columns:
            yield repr(column.to_pylist())
    elif data[:16] == b"SQLite format 3\x00":
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "copy.db"
            copy.write_bytes(data)
            connection = sqlite3.connect(copy)
            try:
                yield "\n".join(connection.iterdump())
            finally:
                connection.close()
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield member
                yield from _contents(archive.read(member), depth + 1)
    else:
        for magic, open_ in ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress), (b"\xfd7zXZ", lzma.decompress)):
            if data.startswith(magic):
                yield from _contents(open_(data), depth + 1)


def _leaks(folder: Path) -> dict[str, int]:
    """Files under `folder` (named relative to it) whose contents hold the marker, with how many times."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        hits = sum(text.count(MARK) for text in _contents(path.read_bytes()))
        if hits:
            found[str(path.relative_to(folder))] = hits
    return found


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    """The marked extract: its folder, the run date after its last statement, and the rows of each table."""
    folder = tmp_path_factory.mktemp("personal") / "extract"
    simulate.run(_params(), folder, metrics_file=None)
    rows = _plant(folder)
    last = pd.to_datetime(pd.read_parquet(folder / "statements.parquet")["cycle_date"]).max().date()
    return folder, last + dt.timedelta(days=1), rows


def test_the_search_finds_every_planted_cell_in_the_extract(extract):
    """The control: the search reads every planted cell back out of the extract's compressed parquet files."""
    folder, _, rows = extract
    planted = _leaks(folder)
    assert sorted(planted) == sorted(f"{name}.parquet" for name in TABLES)
    for name, n in rows.items():  # each cell once decoded (and a few more in the raw bytes)
        assert planted[f"{name}.parquet"] >= n * len(PERSONAL), name


def test_training_and_the_nightly_score_leave_no_personal_data_anywhere(extract, tmp_path, monkeypatch):
    """One test, so that training runs once however pytest-xdist spreads the module's tests."""
    folder, day, _ = extract
    work = tmp_path / "work"
    registry = f"sqlite:///{work / 'mlflow.db'}"
    params = _params()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry)
    monkeypatch.setattr(tempfile, "tempdir", str(work / "tmp"))  # what a run leaves in temporary folders is searched
    (work / "tmp").mkdir(parents=True)
    with _captured(work / "logs"):
        checked = validate.run(
            params, folder, work / "validated", work / "quarantine", work / "v.json", work / "report", gx_root=work
        )
        features.run(params, work / "validated", work / "processed", work / "f.json")
        m = {"metrics_file": work / "m.json", "plots_dir": work / "plots"}
        roll_rate.run(params, work / "processed", registration_file=work / "rr.json", **m)
        propensity.run(params, work / "processed", registration_file=work / "p.json", **m)
        uplift.run(params, work / "validated", model_dir=work / "u", registration_file=work / "u.json", **m)
        promote.run(params, [work / "rr.json", work / "p.json", work / "u.json"], work / "promotion.json")  # champions
        scored = score.run(params, day, folder, work / "recommendations", gx_root=work)

    # the personal columns were read and dropped, and one account and its records quarantined
    report = (work / "report" / "index.html").read_text(encoding="utf-8")
    assert report.count(f"Columns not in the schema, dropped: {', '.join(PERSONAL)}") == len(TABLES)
    for name in TABLES:
        assert len(pd.read_parquet(work / "quarantine" / f"{name}.parquet")) > 0, name
    assert scored["validation"]["rows_quarantined"] == checked["rows_quarantined"] > 0

    # every store was written where the search looks: MLflow's database and artifacts, GX, outputs, logs
    artifacts = tracking.artifact_root()
    assert artifacts.is_relative_to(work) and any(artifacts.rglob("MLmodel")), "the MLflow store under test"
    written = {str(p.relative_to(work)).split(os.sep)[0] for p in work.rglob("*") if p.is_file()}
    expected = {"mlflow.db", "mlartifacts", "gx", "validated", "quarantine", "report", "processed", "plots", "u"}
    assert expected | {"recommendations", "logs"} <= written
    assert (work / "logs" / "output.log").stat().st_size > 0 and (work / "logs" / "records.log").stat().st_size > 0
    assert _leaks(work) == {}

    # the recommendations name accounts and borrowers by their ids, nothing else
    out = work / "recommendations"
    recs = pd.read_parquet(out / f"{day}.parquet")
    assert len(recs) == scored["recommend"]["accounts"] > 0
    assert tuple(recs.columns) == RECOMMENDATION_COLUMNS
    assert [c for c in recs.columns if c.endswith("_id")] == ["account_id", "borrower_id"]
    assert not set(PERSONAL) & set(pd.read_csv(out / f"{day}.csv", nrows=0).columns)
    accounts = pd.read_parquet(folder / "accounts.parquet")
    assert set(recs["account_id"]) <= set(accounts["account_id"])
    assert set(recs["borrower_id"]) <= set(accounts["borrower_id"])


def test_a_data_error_on_a_marked_extract_names_its_rows_without_personal_data(extract, tmp_path):
    """The command line's message for a fatal error shows example rows (what operations' logs keep): their key
    and the columns at fault, none of the dropped ones."""
    folder, day, _ = extract
    copy = tmp_path / "extract"
    shutil.copytree(folder, copy)
    payments = pd.read_parquet(copy / "payments.parquet")
    pd.concat([payments, payments.iloc[[7]]], ignore_index=True).to_parquet(copy / "payments.parquet", index=False)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump({"validate": {"extra_columns": "drop"}}))
    # the command's project root is this test's (DUNNING_ROOT, core/paths.py): its Great Expectations context
    # gx/ is this test's own, never the project's that other pytest-xdist workers validate into at the same time
    root = tmp_path / "root"
    root.mkdir()
    cli = subprocess.run(
        [sys.executable, "-m", "pipeline", "score", "--run-date", str(day), "--input", str(copy)]
        + ["--output", str(tmp_path / "out"), "--dry-run", "--params-file", str(params_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "DUNNING_ROOT": str(root)},
    )
    assert cli.returncode == 2, cli.stderr
    assert "'payments'" in cli.stderr and "unique_key" in cli.stderr and str(payments["payment_id"][7]) in cli.stderr
    assert MARK not in cli.stdout + cli.stderr
    assert set(_leaks(tmp_path)) == {f"extract{os.sep}{name}.parquet" for name in TABLES}, "only the extract"
    # the command line keeps Great Expectations' results of each run in the project's gx/uncommitted/ (searched
    # above with the rest of tmp_path, and here as text)
    results = list((root / "gx" / "uncommitted").rglob("*.json"))
    assert results and not [p for p in results if MARK in p.read_text(encoding="utf-8")]
