"""MLflow set-up: where runs live, one experiment per model family, and what a run is tagged with.

Runs go to `sqlite:///<project root>/mlflow.db` with artifacts under `<project root>/mlartifacts`
(the file store is in maintenance mode), unless MLFLOW_TRACKING_URI says otherwise; with a
sqlite URI from the environment (tests, the UCI configuration) artifacts go beside that
database, so one store never writes into another's folders. Every run (training, scoring,
evaluation) carries the same tags (`run_tags`): the git commit, the DVC hash of each input, a hash of
the parameters and the pipeline stage, so a number in MLflow can always be traced back to the code,
the data and the knobs that produced it, and runs of one stage can be filtered together
(`tags.pipeline_stage = 'roll_rate'`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from core.io import json_text
from core.params import Params
from core.paths import MLFLOW_ARTIFACTS, MLFLOW_DB, PROJECT_ROOT

SQLITE_PREFIX = "sqlite:///"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"{SQLITE_PREFIX}{MLFLOW_DB}"


def registry_uri() -> str:
    return os.environ.get("MLFLOW_REGISTRY_URI") or tracking_uri()


def artifact_root() -> Path:
    """Artifacts beside the sqlite database in use (the project's own: mlartifacts/)."""
    uri = tracking_uri()
    if uri.startswith(SQLITE_PREFIX):
        db = Path(uri[len(SQLITE_PREFIX) :])
        if db.resolve() != MLFLOW_DB.resolve():
            return db.parent / "mlartifacts"
    return MLFLOW_ARTIFACTS


def configure() -> MlflowClient:
    """Point MLflow at the project's store (or the environment's) and return a client."""
    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_registry_uri(registry_uri())
    return MlflowClient(tracking_uri=tracking_uri(), registry_uri=registry_uri())


def experiment_id(name: str) -> str:
    """The experiment `name`, created on first use with its artifacts under artifact_root()/name."""
    client = configure()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = artifact_root() / name
    location.mkdir(parents=True, exist_ok=True)
    return client.create_experiment(name, artifact_location=location.resolve().as_uri())


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """HEAD's commit, with '-dirty' when tracked files differ from it; 'unknown' outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def dvc_hash(path: Path) -> str:
    """The md5 DVC records for `path` in dvc.lock (a file's md5, or a directory's with the '.dir'
    suffix), computed by DVC's own hashing (dvc_data), never written to any cache."""
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    path = Path(path)
    if not path.exists():
        return "missing"
    fs = LocalFileSystem()
    with tempfile.TemporaryDirectory() as scratch:
        _, _, obj = build(HashFileDB(fs, scratch), str(path.resolve()), fs, "md5", dry_run=True)
    return str(obj.hash_info.value)


def params_hash(params: Params) -> str:
    """First 16 hex digits of the sha256 of every parameter (params.yaml as the run read it, defaults filled):
    two runs with the same hash ran with the same knobs."""
    return hashlib.sha256(json_text(params.model_dump(mode="json")).encode()).hexdigest()[:16]


def run_name(stage: str, commit: str | None = None) -> str:
    """Every run's name: the stage and the short commit (`roll_rate @ 1a2b3c4d`), the same in every experiment."""
    commit = git_commit() if commit is None else commit
    return f"{stage} @ {commit[:8]}{'-dirty' if commit.endswith('-dirty') else ''}"


def run_tags(data_paths: dict[str, Path], stage: str, params: Params) -> dict[str, str]:
    """Tags every run carries: git commit, the DVC hash of each input, the params hash and the pipeline stage."""
    commit = git_commit()
    tags = {
        "git_commit": commit,
        "mlflow.source.git.commit": commit.removesuffix("-dirty"),
        "params_hash": params_hash(params),
        "pipeline_stage": stage,
    }
    for name, path in data_paths.items():
        tags[f"dvc_hash.{name}"] = dvc_hash(path)
    return tags


#: Tags every run must carry (`run_tags`), besides at least one `dvc_hash.<input>`.
REQUIRED_TAGS = ("git_commit", "params_hash", "pipeline_stage")


def missing_tags(tags: dict[str, str]) -> list[str]:
    """The required tags a run lacks (`dvc_hash.*` when it names no input's hash)."""
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    return missing + ([] if any(k.startswith("dvc_hash.") for k in tags) else ["dvc_hash.*"])


def audit_runs(client: MlflowClient) -> dict[str, list[str]]:
    """Every run of every experiment in the store that lacks a required tag: run id -> what it lacks."""
    out: dict[str, list[str]] = {}
    experiments = [e.experiment_id for e in client.search_experiments()]
    token = None
    while experiments:
        page = client.search_runs(experiments, max_results=1000, page_token=token)
        for run in page:
            lacks = missing_tags(run.data.tags)
            if lacks:
                out[run.info.run_id] = lacks
        token = page.token
        if not token:
            break
    return out
