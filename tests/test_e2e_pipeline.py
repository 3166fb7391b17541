"""End to end: the real `dvc repro` on a small simulated book, twice, with identical metrics."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from core.params import Params
from core.paths import PROJECT_ROOT
from models.common.card import audit_cards
from models.common.tracking import audit_runs
from pipeline.notebooks import fast_models

pytestmark = pytest.mark.e2e

SMALL_BOOK = {"accounts": 1500, "cycles": 12}
#: The evaluation worlds: two seeds (an interval across seeds needs two), few accounts and the shortest horizon
#: the stage takes. Each replay's fixed cost (a spawned policy process, the burn-in) dominates at this size, so
#: the replays count most: 12 for `evaluate`, 10 for each of the two `evaluate_strategy` runs.
SMALL_WORLDS = {"accounts": 300, "cycles": 3, "seeds": 2}
#: The stages forced to run again: features, the models and the plan.
RERUN = ("features", "roll_rate", "propensity", "uplift", "recommend")


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
    # the notebooks' small, fast roll-rate and propensity models: the same code, fewer trees (the uplift model
    # keeps its windows: on this book, 30-day windows leave an arm without a payment in a fold)
    fast = fast_models(Params.model_validate(params))
    for section in ("roll_rate", "propensity"):
        params[section] = getattr(fast, section).model_dump(mode="json", by_alias=True)
    params["evaluate"].update(
        accounts=SMALL_WORLDS["accounts"],
        cycles=SMALL_WORLDS["cycles"],
        seeds=params["evaluate"]["seeds"][: SMALL_WORLDS["seeds"]],
    )
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    # `dvc exp run` (the README's tour) needs a commit to start from
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "small project"],
        cwd=root,
        check=True,
    )
    return root


def _repro(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dvc", "repro", *args],
        cwd=root,
        env=_env(root),
        capture_output=True,
        text=True,
        timeout=900,
    )


def _metrics(root: Path) -> dict[str, object]:
    return {p.name: json.loads(p.read_text()) for p in sorted((root / "data" / "metrics").glob("*.json"))}


def test_dvc_repro_runs_every_stage_is_reproducible_and_the_readme_tour_works(small_project):
    first = _repro(small_project)
    assert first.returncode == 0, first.stdout + first.stderr
    stages = yaml.safe_load((small_project / "dvc.yaml").read_text())["stages"]
    lock = yaml.safe_load((small_project / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(stages), "every stage ran and is recorded in dvc.lock"
    for table in ("accounts", "statements", "payments", "contacts", "restrictions"):
        assert (small_project / "data" / "raw" / f"{table}.parquet").exists()
    metrics_before = _metrics(small_project)
    # every run the pipeline logged carries the required tags, every registered version its model card
    store = _env(small_project)["MLFLOW_TRACKING_URI"]
    client = MlflowClient(store, store)
    assert audit_runs(client) == {} and audit_cards(client) == []
    assert len(client.search_registered_models()) == 3

    # the stages that learn, forced again (the simulator's and the harness's own determinism have their tests)
    second = _repro(small_project, "--force", "--single-item", *RERUN)
    assert second.returncode == 0, second.stdout + second.stderr
    assert all(f"Running stage '{stage}'" in second.stdout for stage in RERUN), second.stdout
    assert _metrics(small_project) == metrics_before, "a forced re-run gives identical metrics"
    lock_again = yaml.safe_load((small_project / "dvc.lock").read_text())["stages"]
    outs_md5 = lambda lk: {s: [o.get("md5") for o in v.get("outs", [])] for s, v in lk.items()}  # noqa: E731
    assert outs_md5(lock_again)["features"] == outs_md5(lock)["features"], "the feature tables are byte-identical"

    # the README's ten-minute tour, line by line, on the same small project
    for line in tour_commands():
        follow_tour_step(small_project, line)


def tour_commands() -> list[str]:
    """The commands of the README's ten-minute tour (comments dropped), in order."""
    text = (PROJECT_ROOT / "README.md").read_text()
    block = text.split("### The ten-minute tour", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def _env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DUNNING_ROOT": str(root),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_REGISTRY_URI": f"sqlite:///{root / 'mlflow.db'}",
        "COLUMNS": "400",  # `dvc exp show` fits its table to the terminal: let every column through
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def follow_tour_step(root: Path, line: str) -> None:
    """Run one tour command in the small project and check what the README says it shows."""
    env = _env(root)

    def run(*argv: str) -> str:
        done = subprocess.run(list(argv), cwd=root, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{line}: {done.stdout}{done.stderr}"
        return done.stdout

    if line == "make repro":  # ran above, as `dvc repro` (make only adds the environment's set-up)
        assert (root / "dvc.lock").exists()
    elif line == "make mlflow":  # the Makefile's recipe, on a free port, with one worker process (its default
        # of four each import MLflow's server: seconds of both cores, for a UI that answers one request here)
        assert "--host 127.0.0.1" in (PROJECT_ROOT / "Makefile").read_text()
        port = _free_port()
        ui = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", env["MLFLOW_TRACKING_URI"]]
            + ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            names = _experiments(port)
        finally:
            ui.terminate()
            ui.wait(timeout=60)
        assert {"roll_rate", "propensity", "uplift", "evaluation"} <= names
    elif line.startswith("python -m pipeline show"):
        out = run(sys.executable, "-m", "pipeline", *line.split()[3:])
        assert "contacts" in out and "priority_rank" in out
    elif line.startswith("dvc "):
        out = run(sys.executable, "-m", "dvc", *line.split()[1:])
        if line.startswith("dvc metrics show"):
            assert "recommend.json" in out and "evaluate_strategy.json" in out
        if line.startswith("dvc exp show"):  # a table for people; its content checked through the CSV form
            assert "Experiment" in out
            rows = list(csv.DictReader(io.StringIO(run(sys.executable, "-m", "dvc", *line.split()[1:], "--csv"))))
            assert len(rows) >= 3, rows  # the workspace, the baseline commit and the experiment
            assert {float(row["strategy.harm_scale"]) for row in rows} == {1.0, 10.0}
    else:
        raise AssertionError(f"the tour has a command this test does not know how to follow: {line!r}")


def _experiments(port: int, seconds: float = 240.0) -> set[str]:
    """The experiment names the MLflow UI at `port` serves, once it answers (it starts slowly on a busy machine)."""
    url = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search?max_results=100"
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return {e["name"] for e in json.load(response)["experiments"]}
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
