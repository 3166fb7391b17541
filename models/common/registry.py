"""One MLflow run per training: params, metrics, tags, plots, the model; then the registry.

The alias `champion` names the model version that consumers load
(`models:/<name>@champion`). A new version takes it only when it is at least as good as the
current champion on *this* run's test window: the champion is re-scored on the same rows, so
the comparison is never between numbers measured on different months. When the champion
cannot score these rows (its features no longer exist), or was logged as a pickle by an older
version of this project (never unpickled here), the logged test log losses decide.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from core.errors import DataError
from core.params import Params
from models import plots
from models.calibration import multiclass_log_loss
from models.dataset import SOURCE, TARGET
from models.pyfunc import log_pyfunc, logged_from_code
from models.tracking import configure, experiment_id, run_tags
from models.train import RollRateResult

CHAMPION = "champion"
TEST_LOGLOSS = "model.logloss"


@dataclass(frozen=True)
class Registration:
    run_id: str
    model_uri: str
    name: str
    version: str
    champion: bool
    champion_logloss: float | None  # the previous champion's log loss on this test window (None: none yet)


def flatten(tree: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def numeric_metrics(metrics: dict[str, object]) -> dict[str, float]:
    return {k: float(v) for k, v in flatten(metrics).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None and np.isfinite(v)}


def _params(params: Params) -> dict[str, object]:
    out = {f"roll_rate.{k}": v for k, v in flatten(params.roll_rate.model_dump()).items()}
    out["seed"] = params.seed
    out["buckets.names"] = ",".join(params.buckets.names)
    out["buckets.min_dpd"] = ",".join(str(v) for v in params.buckets.min_dpd)
    return out


def _log_figures(result: RollRateResult, params: Params, folder: Path) -> None:
    names = tuple(params.buckets.names)
    model = result.model
    plots.transition_heatmaps(result.transitions, names, folder / "transition_heatmaps.png")
    plots.calibration_curves(result.calibration, folder / "calibration_curves.png")
    plots.roc_curves(result.roc, folder / "roc_per_bucket.png")
    plots.feature_importance(model.feature_importance(), folder / "feature_importance.png")
    current = result.test[result.test[SOURCE] == 0].head(params.roll_rate.shap_sample)
    values, X = model.contributions(current, source=0, target=1)
    if len(X):
        plots.shap_summary(values, X, folder / "shap_summary.png",
                           f"SHAP: {names[0]} -> {names[1]} (roll forward from current), raw score")


def log_run(result: RollRateResult, params: Params, data_paths: dict[str, Path],
            catalogue_markdown: str | None = None, run_name: str | None = None) -> tuple[str, str]:
    """Log the run (params, metrics, tags, plots, tables, catalogue, model); return (run_id, model_uri)."""
    experiment = experiment_id(params.roll_rate.experiment)
    with mlflow.start_run(experiment_id=experiment, run_name=run_name) as run:
        mlflow.set_tags({**run_tags(data_paths), "model_family": "roll_rate", "strategy": result.model.strategy_,
                         "calibration": result.model.calibration_, **{f"split.{k}": v for k, v in
                                                                        result.split.describe().items()}})
        mlflow.log_params(_params(params))
        mlflow.log_metrics(numeric_metrics(result.metrics))
        mlflow.log_metrics({f"timing.{k}": v for k, v in result.timings.items()})
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            _log_figures(result, params, folder)
            for name, table in (("transitions", result.transitions), ("forecast", result.forecast),
                                ("roc", result.roc), ("calibration", result.calibration)):
                table.to_csv(folder / f"{name}.csv", index=False)
            if catalogue_markdown is not None:
                (folder / "feature_catalogue.md").write_text(catalogue_markdown)
            mlflow.log_artifacts(str(folder))
        info = log_pyfunc(result.model, tuple(params.buckets.names), result.test.head(5))
        return run.info.run_id, info.model_uri


def _champion_logloss(name: str, test: pd.DataFrame, client) -> float | None:
    """The current champion's log loss on `test`, or its logged one when it cannot score these rows
    (or is a pickled model from before models-from-code, which is not loaded at all)."""
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    uri = f"models:/{name}@{CHAMPION}"
    try:
        if logged_from_code(uri):  # a champion pickled by an older version is never unpickled
            champion = mlflow.pyfunc.load_model(uri)
            columns = champion.metadata.get_input_schema().input_names()
            inputs = test[columns].copy()
            for column in inputs.columns:
                if isinstance(inputs[column].dtype, pd.CategoricalDtype):
                    inputs[column] = inputs[column].astype(object)
            proba = champion.predict(inputs).to_numpy(np.float64)
            return multiclass_log_loss(test[TARGET].to_numpy(np.int64), proba)
    except (MlflowException, DataError, KeyError, ValueError):
        pass
    logged = client.get_run(current.run_id).data.metrics.get(TEST_LOGLOSS)
    return float(logged) if logged is not None else None


def register(result: RollRateResult, params: Params, run_id: str, model_uri: str) -> Registration:
    """Register the run's model; move `champion` to it when it is at least as good as the current one."""
    client = configure()
    name = params.roll_rate.registered_model
    previous = _champion_logloss(name, result.test, client)
    version = mlflow.register_model(model_uri, name).version
    new = float(result.metrics["model"]["logloss"])
    wins = previous is None or new <= previous
    if wins:
        client.set_registered_model_alias(name, CHAMPION, str(version))
    client.set_model_version_tag(name, str(version), "test_logloss", f"{new:.6f}")
    if previous is not None:
        client.set_model_version_tag(name, str(version), "champion_logloss_same_window", f"{previous:.6f}")
    client.set_model_version_tag(name, str(version), "champion", str(wins).lower())
    return Registration(run_id, model_uri, name, str(version), wins, previous)
