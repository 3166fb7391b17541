"""Bring your own data, end to end with the real `dvc repro`: the own-data pipeline (configs/own/)
validates the user's files, and the default pipeline still simulates its own and never sees them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from core.params import parse_params
from core.paths import PROJECT_ROOT
from pipeline.stages import simulate

pytestmark = pytest.mark.e2e

TABLES = ("accounts", "statements", "payments", "contacts", "restrictions")


def _project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return [f for f in listed if not f.startswith("data/") and (PROJECT_ROOT / f).is_file()]


def _env(root: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in ("DVC_STAGE", "DVC_ROOT")},
        "DUNNING_ROOT": str(root),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_REGISTRY_URI": f"sqlite:///{root / 'mlflow.db'}",
    }


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=root, env=_env(root), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


def _dvc(root: Path, *args: str) -> subprocess.CompletedProcess:
    return _run(root, sys.executable, "-m", "dvc", *args)


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project with a small simulated default book, and the user's own book (another
    world seed, more accounts) in data/own/raw, made by the simulator as a stand-in for a lender's files."""
    root = tmp_path / "project"
    for rel in _project_files():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, target)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["simulate"].update({"accounts": 200, "cycles": 6})
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    their_world = parse_params({**params, "seeds": {**params["seeds"], "world": 1}})
    simulate.run(their_world, root / "data" / "own" / "raw", accounts=300, metrics_file=None)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def _rows_in(metrics: Path) -> dict[str, int]:
    tables = json.loads(metrics.read_text())["tables"]
    return {name: tables[name]["rows_in"] for name in TABLES}


def _rows(directory: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    return {name: pq.ParquetFile(directory / f"{name}.parquet").metadata.num_rows for name in TABLES}


def test_own_data_route_validates_the_users_files_and_leaves_the_default_alone(project):
    theirs = _digests(project / "data" / "own" / "raw")
    _dvc(project, "repro", "configs/own/dvc.yaml:validate_own")
    assert _rows_in(project / "data" / "own" / "metrics" / "validation.json") == _rows(project / "data" / "own" / "raw")
    assert (project / "data" / "own" / "validated" / "accounts.parquet").exists()
    assert _digests(project / "data" / "own" / "raw") == theirs, "the user's files are never written"
    assert not (project / "data" / "raw").exists() and not (project / "data" / "validated").exists()

    # a changed file of theirs reruns the own-data validation, and nothing of the default pipeline
    payments = project / "data" / "own" / "raw" / "payments.parquet"
    pd.read_parquet(payments).iloc[:-1].to_parquet(payments, index=False)
    status = json.loads(_dvc(project, "status", "--json", "configs/own/dvc.yaml:validate_own").stdout)
    assert "configs/own/dvc.yaml:validate_own" in status
    default = _dvc(project, "status", "--json", "dvc.yaml:validate").stdout
    assert "data/own" not in default


def test_default_route_simulates_its_data_and_never_sees_the_users_files(project):
    theirs = _digests(project / "data" / "own" / "raw")
    _dvc(project, "repro", "validate")
    simulated = json.loads((project / "data" / "metrics" / "simulate.json").read_text())["rows"]
    assert _rows_in(project / "data" / "metrics" / "validation.json") == {t: simulated[t] for t in TABLES}
    assert _rows(project / "data" / "raw") != _rows(project / "data" / "own" / "raw")
    assert _digests(project / "data" / "own" / "raw") == theirs
    assert not (project / "data" / "own" / "validated").exists()
    lock = (project / "dvc.lock").read_text()
    assert "data/own" not in lock, "no stage of the default pipeline depends on the user's files"
