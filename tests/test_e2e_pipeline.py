"""End to end: the real `dvc repro` on a small simulated book, twice, with identical metrics."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.paths import PROJECT_ROOT

pytestmark = pytest.mark.e2e

SMALL_BOOK = {"accounts": 1500, "cycles": 12}
SMALL_WORLDS = 800


def _project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return [f for f in listed if not f.startswith("data/") and (PROJECT_ROOT / f).is_file()]


@pytest.fixture(scope="module")
def small_project(tmp_path_factory) -> Path:
    """A copy of the project (code, dvc.yaml, params) with a small simulated book, in its own git repo."""
    root = tmp_path_factory.mktemp("project")
    for rel in _project_files():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, target)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["simulate"].update(SMALL_BOOK)
    params["evaluate"]["accounts"] = SMALL_WORLDS  # the evaluation worlds too: 27 replays
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def _repro(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DUNNING_ROOT": str(root),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_REGISTRY_URI": f"sqlite:///{root / 'mlflow.db'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "dvc", "repro", *args], cwd=root, env=env, capture_output=True, text=True, timeout=900
    )


def _metrics(root: Path) -> dict[str, object]:
    return {p.name: json.loads(p.read_text()) for p in sorted((root / "data" / "metrics").glob("*.json"))}


def test_dvc_repro_runs_every_stage_and_is_reproducible(small_project):
    first = _repro(small_project)
    assert first.returncode == 0, first.stdout + first.stderr
    stages = yaml.safe_load((small_project / "dvc.yaml").read_text())["stages"]
    lock = yaml.safe_load((small_project / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(stages), "every stage ran and is recorded in dvc.lock"
    for table in ("accounts", "statements", "payments", "contacts", "restrictions"):
        assert (small_project / "data" / "raw" / f"{table}.parquet").exists()
    metrics_before = _metrics(small_project)

    second = _repro(small_project, "--force")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _metrics(small_project) == metrics_before, "a forced re-run gives identical metrics"
    lock_again = yaml.safe_load((small_project / "dvc.lock").read_text())["stages"]
    outs_md5 = lambda lk: {s: [o.get("md5") for o in v.get("outs", [])] for s, v in lk.items()}  # noqa: E731
    assert outs_md5(lock_again)["simulate"] == outs_md5(lock)["simulate"], "simulated data are byte-identical"
