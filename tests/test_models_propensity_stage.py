"""The propensity stage on generated frames: outputs all or nothing, MLflow run, champion rule, reproducible."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from core.errors import DataError
from core.params import parse_params
from models.common.pyfunc import served_inputs
from pipeline.stages import promote, propensity
from tests.models_data import planted_arrears

FAST = {
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_child_samples": 40,
    "n_estimators": 60,
    "early_stopping_rounds": 10,
    "num_threads": 1,
}


def _params(**lightgbm):
    section = {"valid_cycles": 2, "test_cycles": 2, "experiment": "ptp_test", "registered_model": "ptp_test"}
    return parse_params({"propensity": {**section, "lightgbm": {**FAST, **lightgbm}}})


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    features, labels = planted_arrears(accounts=700, cycles=8, seed=2)
    features.to_parquet(folder / "features.parquet", index=False)
    labels.to_parquet(folder / "labels.parquet", index=False)
    return folder


def _outputs(tmp_path):
    return {
        "metrics_file": tmp_path / "metrics" / "propensity.json",
        "plots_dir": tmp_path / "plots" / "propensity",
        "registration_file": tmp_path / "models" / "propensity.json",
    }


def _snapshot(out) -> dict[str, bytes]:
    files = [out["metrics_file"], out["registration_file"], *sorted(out["plots_dir"].rglob("*.csv"))]
    return {str(f): f.read_bytes() for f in files}


def _promoted(out) -> str:
    """The `promote` step on the stage's registration record: its decision."""
    summary = promote.run(parse_params({}), [out["registration_file"]], out["registration_file"].parent / "p.json")
    return summary["families"]["propensity"]["decision"]


def test_stage_registers_a_challenger_that_promote_makes_champion_only_on_a_win(processed, tmp_path):
    out = _outputs(tmp_path)
    summary = propensity.run(_params(), processed, **out)
    metrics = json.loads(out["metrics_file"].read_text())
    assert {"7d", "30d", "model", "rows", "split", "training"} <= set(metrics)
    for kind in ("calibration", "lift"):
        for label in ("paid_7d", "paid_30d"):
            for model in ("model", "baseline", "plain_lgbm"):
                assert len(pd.read_csv(out["plots_dir"] / kind / f"{label}_{model}.csv")) > 0

    reg = summary["registration"]
    assert reg.champion_version is None and reg.version == "1" and reg.family == "propensity"
    assert reg.verdict().startswith("registered ptp_test version 1 as challenger (logloss ")
    assert _promoted(out) == "promoted"
    run = MlflowClient().get_run(reg.run_id)
    for key in ("7d.model.auc", "30d.baseline.brier", "7d.model.calibration_error", "30d.model.lift_top_decile"):
        assert run.data.metrics[key] == pytest.approx(metrics[key.split(".")[0]][key.split(".")[1]][key.split(".")[2]])
    artifacts = {a.path for a in MlflowClient().list_artifacts(reg.run_id)}
    assert {"calibration_curves.png", "lift_by_decile.png", "feature_importance.png", "lift.csv"} <= artifacts
    assert json.loads(out["registration_file"].read_text())["version"] == "1"

    served = mlflow.pyfunc.load_model(f"models:/{reg.name}@champion")
    rows = pd.read_parquet(processed / "features.parquet").tail(50)
    got = served.predict(served_inputs(served, rows))
    assert list(got.columns) == ["p_pay_7d", "p_pay_30d", "expected_paid_7d", "expected_paid_30d"]

    # the same model again ties on the same window and does not take the alias; a weak one neither
    same = propensity.run(_params(), processed, **out)["registration"]
    assert same.champion_version == "1" and same.champion_score == pytest.approx(same.score, abs=1e-12)
    assert _promoted(out) == "kept"
    weak = propensity.run(_params(n_estimators=1, learning_rate=0.01), processed, **out)["registration"]
    assert weak.version == "3" and weak.champion_version == "1"
    assert f"champion version 1: {weak.champion_score:.4f} on this window" in weak.verdict()
    assert weak.champion_score == pytest.approx(reg.score, abs=1e-9)
    assert _promoted(out) == "kept"
    assert str(MlflowClient().get_model_version_by_alias(reg.name, "champion").version) == "1"


def test_metrics_are_identical_when_run_twice(processed, tmp_path):
    first, second = _outputs(tmp_path / "a"), _outputs(tmp_path / "b")
    propensity.run(_params(), processed, track=False, **first)
    propensity.run(_params(), processed, track=False, **second)
    assert first["metrics_file"].read_bytes() == second["metrics_file"].read_bytes()
    for a in sorted(first["plots_dir"].rglob("*.csv")):
        assert a.read_bytes() == (second["plots_dir"] / a.relative_to(first["plots_dir"])).read_bytes()


def test_stage_is_all_or_nothing(processed, tmp_path, monkeypatch):
    out = _outputs(tmp_path)
    propensity.run(_params(), processed, track=False, **out)
    before = _snapshot(out)

    # fails after training, while tracking: no output changes
    def refuse(*args, **kwargs):
        raise RuntimeError("registry down")

    monkeypatch.setattr(propensity, "track_and_register", refuse)
    with pytest.raises(RuntimeError, match="registry down"):
        propensity.run(_params(learning_rate=0.3), processed, **out)
    assert _snapshot(out) == before

    # fails while writing the plot data: neither the plots nor the JSON files change
    monkeypatch.setattr(propensity, "write_plot_data", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        propensity.run(_params(learning_rate=0.3), processed, track=False, **out)
    assert _snapshot(out) == before
    for target in out.values():  # no staging folder or temporary file left beside any output
        scratch = target.parent / ".dunning-tmp"
        assert not scratch.exists() or not any(scratch.iterdir()), list(scratch.iterdir())


def test_stage_refuses_labels_without_the_propensity_columns(processed, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "features.parquet").write_bytes((processed / "features.parquet").read_bytes())
    pd.read_parquet(processed / "labels.parquet").drop(columns=["paid_30d"]).to_parquet(bare / "labels.parquet")
    with pytest.raises(DataError, match="paid_30d"):
        propensity.run(_params(), bare, track=False, **_outputs(tmp_path))
    assert not _outputs(tmp_path)["metrics_file"].exists()


def test_the_command_line_prints_one_line_per_horizon(processed, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(_params().model_dump(mode="json", by_alias=True)))
    out = _outputs(tmp_path)
    args = ["propensity", "--params-file", str(params_file), "--processed-dir", str(processed), "--no-track"]
    for option, path in (("--metrics-file", "metrics_file"), ("--plots-dir", "plots_dir")):
        args += [option, str(out[path])]
    done = CliRunner().invoke(app, [*args, "--registration-file", str(out["registration_file"])])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert [line.split(" on ")[0] for line in lines] == ["P(paid within 7d)", "P(paid within 30d)"]
    assert json.loads(out["registration_file"].read_text()) == {"tracked": False}
