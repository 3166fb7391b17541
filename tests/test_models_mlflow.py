"""The roll_rate stage end to end on generated frames: metrics, plots, MLflow run, registry, pyfunc."""

from __future__ import annotations

import json
import os

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from core.params import parse_params
from features import catalogue_markdown
from models.common.card import CARD_FILE, TITLE, audit_cards
from models.common.tracking import artifact_root, audit_runs, dvc_hash, params_hash, tracking_uri
from pipeline.stages import promote, roll_rate
from tests.models_data import planted_history

FAST = {
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_child_samples": 50,
    "n_estimators": 60,
    "early_stopping_rounds": 10,
    "num_threads": 1,
}


def _params(**lightgbm):
    return parse_params(
        {
            "roll_rate": {
                "valid_cycles": 2,
                "test_cycles": 2,
                "model_form": "per_source",
                "calibration": "platt",
                "shap_sample": 50,
                "experiment": "roll_rate_test",
                "registered_model": "roll_rate_test",
                "lightgbm": {**FAST, **lightgbm},
            }
        }
    )


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    features, labels = planted_history(accounts=800, cycles=8, seed=2)
    features.to_parquet(folder / "features.parquet", index=False)
    labels.to_parquet(folder / "labels.parquet", index=False)
    (folder / "feature_catalogue.md").write_text(catalogue_markdown())  # as the features stage writes it
    return folder


def test_stage_logs_a_run_registers_a_champion_and_serves_probabilities(processed, tmp_path):
    assert tracking_uri().startswith("sqlite:///") and str(tmp_path) in tracking_uri(), "isolated store (conftest)"
    metrics_file, plots_dir = tmp_path / "metrics" / "roll_rate.json", tmp_path / "plots"
    record_file = tmp_path / "models" / "roll_rate.json"
    summary = roll_rate.run(_params(), processed, metrics_file, plots_dir, registration_file=record_file)

    metrics = json.loads(metrics_file.read_text())
    assert {"model", "baseline", "logloss_reduction", "by_bucket", "forecast"} <= set(metrics)
    for name in ("roc_model", "roc_baseline", "calibration_model", "calibration_baseline", "transitions", "forecast"):
        assert len(pd.read_csv(plots_dir / f"{name}.csv")) > 0

    client = MlflowClient()
    reg = summary["registration"]
    run = client.get_run(reg.run_id)
    for key in (
        "model.logloss",
        "baseline.logloss",
        "model.brier",
        "model.roll_forward_auc",
        "model.calibration_error",
        "by_bucket.current.model.logloss",
        "by_bucket.current.baseline.brier",
        "logloss_reduction",
    ):
        assert key in run.data.metrics, key
    assert run.data.metrics["model.logloss"] == pytest.approx(metrics["model"]["logloss"], abs=1e-6)
    assert run.data.params["roll_rate.lightgbm.num_leaves"] == "7"
    assert run.data.tags["dvc_hash.features"] == dvc_hash(processed / "features.parquet")
    assert run.data.tags["dvc_hash.labels"] == dvc_hash(processed / "labels.parquet")
    assert run.data.tags["git_commit"]
    # the tags every run carries (tracking.run_tags), and a name that says the stage and the commit
    assert run.data.tags["pipeline_stage"] == "roll_rate"
    assert run.data.tags["params_hash"] == params_hash(_params()) != params_hash(_params(n_estimators=1))
    assert run.info.run_name.startswith("roll_rate @ ")
    # nested runs: the model and its two baselines, with their own metrics
    children = client.search_runs([run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{reg.run_id}'")
    by_component = {c.data.tags["component"]: c for c in children}
    assert set(by_component) == {"model", "baseline", "plain_lgbm"}
    assert by_component["baseline"].data.metrics["logloss"] == pytest.approx(metrics["baseline"]["logloss"], abs=1e-6)
    assert all(c.data.tags["params_hash"] == run.data.tags["params_hash"] for c in children)
    # the model card: a run artifact and the registered version's description
    card = mlflow.artifacts.load_text(f"runs:/{reg.run_id}/{CARD_FILE}")
    assert card.startswith(TITLE) and reg.run_id in card and "Known limits" in card
    assert "| product | rows | model | baseline | plain_lgbm |" in card, "slices by product, every model"
    assert client.get_model_version(reg.name, reg.version).description == card
    assert audit_runs(client) == {} and audit_cards(client) == [], "the check of benchmarks/reports.py"
    artifacts = {a.path for a in client.list_artifacts(reg.run_id)}
    assert {
        "transition_heatmaps.png",
        "calibration_curves.png",
        "roc_per_bucket.png",
        "feature_importance.png",
        "shap_summary.png",
        "feature_catalogue.md",
        "transitions.csv",
        "forecast.csv",
    } <= artifacts
    assert str(artifact_root()).startswith(str(tmp_path)), "artifacts stay beside the test's database"

    assert reg.version == "1"
    assert json.loads(record_file.read_text()) == {
        "run_id": reg.run_id,
        "model_uri": reg.model_uri,
        "name": reg.name,
        "version": "1",
        "score_name": "logloss",
        "score": metrics["model"]["logloss"],
        "champion_score": None,
        "champion_version": None,
        "family": "roll_rate",
    }
    promoted = promote.run(_params(), [record_file], tmp_path / "models" / "promotion.json")
    assert promoted["families"]["roll_rate"]["decision"] == "promoted"
    served = mlflow.pyfunc.load_model(f"models:/{reg.name}@champion")
    test_rows = pd.read_parquet(processed / "features.parquet").tail(40)
    example = test_rows.assign(product=test_rows["product"].astype(object))
    proba = served.predict(example[served.metadata.get_input_schema().input_names()])
    assert list(proba.columns) == list(_params().buckets.names)
    np.testing.assert_allclose(proba.to_numpy().sum(axis=1), 1.0, atol=1e-9)

    # a much weaker challenger is registered but `promote` does not give it the alias
    weak = roll_rate.run(
        _params(n_estimators=1, learning_rate=0.01), processed, metrics_file, plots_dir, registration_file=record_file
    )
    weak_reg = weak["registration"]
    assert weak_reg.version == "2" and json.loads(record_file.read_text())["champion_version"] == "1"
    assert weak_reg.champion_score == pytest.approx(metrics["model"]["logloss"], abs=1e-6)
    kept = promote.run(_params(), [record_file], tmp_path / "models" / "promotion.json")
    assert kept["families"]["roll_rate"]["decision"] == "kept"
    assert client.get_model_version(reg.name, "2").tags["promotion.decision"] == "kept"
    assert str(client.get_model_version_by_alias(reg.name, "champion").version) == "1"


def test_the_audit_names_runs_without_the_tags_and_versions_without_a_card(tmp_path):
    client = MlflowClient()
    experiment = client.create_experiment("audit_test", artifact_location=(tmp_path / "artifacts").as_uri())
    bare = client.create_run(experiment, tags={"git_commit": "abc"}).info.run_id
    tagged = client.create_run(
        experiment, tags={"git_commit": "abc", "params_hash": "0f", "pipeline_stage": "score", "dvc_hash.x": "1"}
    ).info.run_id
    assert audit_runs(client) == {bare: ["params_hash", "pipeline_stage", "dvc_hash.*"]}
    assert tagged not in audit_runs(client)
    client.create_registered_model("audit_model")
    client.create_model_version("audit_model", "runs:/x/model", run_id=tagged, description=f"{TITLE}: x")
    client.create_model_version("audit_model", "runs:/x/model", run_id=tagged, description="")
    assert audit_cards(client) == ["audit_model/2"]


def test_tracking_uri_defaults_to_the_project_database(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    from core.paths import MLFLOW_ARTIFACTS, MLFLOW_DB

    assert tracking_uri() == f"sqlite:///{MLFLOW_DB}"
    assert artifact_root() == MLFLOW_ARTIFACTS
    assert os.environ.get("MLFLOW_DISABLE_TELEMETRY") == "true"


def test_data_version_tag_is_the_md5_dvc_records_in_its_lock(tmp_path):
    """The tag equals what `dvc commit` writes to dvc.lock for the same file and folder."""
    import subprocess
    import sys

    import yaml

    repo = tmp_path / "repo"
    (repo / "processed" / "sub").mkdir(parents=True)
    (repo / "processed" / "features.parquet").write_bytes(b"abc" * 100)
    (repo / "processed" / "sub" / "notes.md").write_text("x\n")
    (repo / "dvc.yaml").write_text("stages:\n  make:\n    cmd: 'true'\n    outs: [processed, processed.copy]\n")
    (repo / "processed.copy").write_bytes(b"abc" * 100)
    dvc = [sys.executable, "-m", "dvc"]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for args in (["init", "--no-scm", "-q"], ["commit", "-f", "-q"]):
        subprocess.run([*dvc, *args], cwd=repo, check=True, env=env, capture_output=True)
    outs = {o["path"]: o["md5"] for o in yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["make"]["outs"]}
    assert dvc_hash(repo / "processed") == outs["processed"] and outs["processed"].endswith(".dir")
    assert dvc_hash(repo / "processed.copy") == outs["processed.copy"]
