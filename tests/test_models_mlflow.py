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
from models.tracking import artifact_root, dvc_hash, tracking_uri
from pipeline.stages import roll_rate
from tests.models_data import planted_history

FAST = {"learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 50, "n_estimators": 60,
        "early_stopping_rounds": 10, "num_threads": 1}


def _params(**lightgbm):
    return parse_params({"seed": 0, "roll_rate": {
        "valid_cycles": 2, "test_cycles": 2, "strategy": "per_source", "calibration": "platt", "shap_sample": 50,
        "experiment": "roll_rate_test", "registered_model": "roll_rate_test", "lightgbm": {**FAST, **lightgbm}}})


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    features, labels = planted_history(accounts=800, cycles=8, seed=2)
    features.to_parquet(folder / "features.parquet", index=False)
    labels.to_parquet(folder / "labels.parquet", index=False)
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
    for key in ("model.logloss", "baseline.logloss", "model.brier", "model.roll_forward_auc",
                "model.calibration_error", "by_bucket.current.model.logloss", "by_bucket.current.baseline.brier",
                "logloss_reduction"):
        assert key in run.data.metrics, key
    assert run.data.metrics["model.logloss"] == pytest.approx(metrics["model"]["logloss"], abs=1e-6)
    assert run.data.params["roll_rate.lightgbm.num_leaves"] == "7"
    assert run.data.tags["dvc_hash.features"] == dvc_hash(processed / "features.parquet")
    assert run.data.tags["dvc_hash.processed"] == dvc_hash(processed) and dvc_hash(processed).endswith(".dir")
    assert run.data.tags["git_commit"]
    artifacts = {a.path for a in client.list_artifacts(reg.run_id)}
    assert {"transition_heatmaps.png", "calibration_curves.png", "roc_per_bucket.png", "feature_importance.png",
            "shap_summary.png", "feature_catalogue.md", "transitions.csv", "forecast.csv"} <= artifacts
    assert str(artifact_root()).startswith(str(tmp_path)), "artifacts stay beside the test's database"

    assert reg.champion and reg.version == "1"
    assert json.loads(record_file.read_text()) == {"run_id": reg.run_id, "model_uri": reg.model_uri, "name": reg.name,
                                                   "version": "1", "champion": True, "champion_logloss": None}
    served = mlflow.pyfunc.load_model(f"models:/{reg.name}@champion")
    test_rows = pd.read_parquet(processed / "features.parquet").tail(40)
    example = test_rows.assign(product=test_rows["product"].astype(object))
    proba = served.predict(example[served.metadata.get_input_schema().input_names()])
    assert list(proba.columns) == list(_params().buckets.names)
    np.testing.assert_allclose(proba.to_numpy().sum(axis=1), 1.0, atol=1e-9)

    # a much weaker challenger is registered but does not take the alias
    weak = roll_rate.run(_params(n_estimators=1, learning_rate=0.01), processed, metrics_file, plots_dir,
                         registration_file=record_file)
    weak_reg = weak["registration"]
    assert weak_reg.version == "2" and not weak_reg.champion
    assert json.loads(record_file.read_text())["champion"] is False
    assert weak_reg.champion_logloss == pytest.approx(metrics["model"]["logloss"], abs=1e-6)
    assert str(client.get_model_version_by_alias(reg.name, "champion").version) == "1"


def test_tracking_uri_defaults_to_the_project_database(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    from core.paths import MLFLOW_ARTIFACTS, MLFLOW_DB
    assert tracking_uri() == f"sqlite:///{MLFLOW_DB}"
    assert artifact_root() == MLFLOW_ARTIFACTS
    assert os.environ.get("MLFLOW_DISABLE_TELEMETRY") == "true"


def test_data_version_tag_is_the_hash_dvc_computes(tmp_path):
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    folder = tmp_path / "processed"
    (folder / "sub").mkdir(parents=True)
    (folder / "features.parquet").write_bytes(b"abc" * 100)
    (folder / "sub" / "notes.md").write_text("x\n")
    fs = LocalFileSystem()
    _, _, tree = build(HashFileDB(fs, str(tmp_path / "odb")), str(folder), fs, "md5")
    assert dvc_hash(folder) == tree.hash_info.value
    assert dvc_hash(folder / "features.parquet") == build(HashFileDB(fs, str(tmp_path / "odb")),
                                                          str(folder / "features.parquet"), fs, "md5")[2].hash_info.value
