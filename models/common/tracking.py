"""MLflow set-up: where runs live, one experiment per model family, and what a run is tagged with.

Runs go to `sqlite:///<project root>/mlflow.db` with artifacts under `<project root>/mlartifacts`
(the file store is in maintenance mode), unless MLFLOW_TRACKING_URI says otherwise; with a
sqlite URI from the environment (tests, the UCI configuration) artifacts go beside that
database, so one store never writes into another's folders. Each run is tagged with the git
commit and the DVC hash of its input data, so a number in MLflow can always be traced back to
the code and the data that produced it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient

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


def run_tags(data_paths: dict[str, Path]) -> dict[str, str]:
    """Tags every run carries: git commit and the DVC hash of each input."""
    commit = git_commit()
    tags = {"git_commit": commit, "mlflow.source.git.commit": commit.removesuffix("-dirty")}
    for name, path in data_paths.items():
        tags[f"dvc_hash.{name}"] = dvc_hash(path)
    return tags
