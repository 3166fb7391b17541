"""One MLflow run per training, and registration of its model as a challenger, for any model family.

A family (roll rate, propensity, uplift) describes its fitted result through the small `ModelFamily`
protocol: what to log (params, tags, metrics, figures and tables, the model) and how to score a
loaded model on this run's test window. Everything else is shared: the run, its provenance tags
(git commit, DVC hashes of the inputs) and registration.

Training registers a new version and never moves the alias `champion` (what consumers load,
`models:/<name>@champion`): the `promote` step does (models/common/promotion.py). So that it can,
registration measures the current champion on *this* run's test window (re-scored on the same rows,
so the comparison is never between numbers measured on different months) and records which version
that was. When the champion cannot score these rows (its features no longer exist), or was logged as
a pickle by an older version of this project (never unpickled here), its logged test score stands in.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel

from core import lifecycle
from core.errors import DataError
from core.params import Params
from models.common.card import CARD_FILE, model_card
from models.common.pyfunc import logged_from_code
from models.common.tracking import configure, experiment_id, run_tags
from models.common.tracking import run_name as stage_run_name

CHAMPION = "champion"


class ModelFamily(Protocol):
    """What the registry needs from a fitted model of one family. Lower scores are better."""

    #: Family name, tagged on every run as `model_family`.
    family: str
    #: MLflow experiment and registered model names (from the family's params section).
    experiment: str
    registered_model: str
    #: Name of the test score (`logloss`) and the logged metric that holds it (`model.logloss`).
    score_name: str
    score_metric: str
    #: The parameters the model was trained under (their hash tags every run).
    run_params: Params

    def params(self) -> dict[str, object]:
        """Flat MLflow params of the run."""
        ...

    def tags(self) -> dict[str, str]:
        """Family-specific run tags (chosen model form, calibration, split)."""
        ...

    def metrics(self) -> dict[str, object]:
        """Nested metrics; numeric leaves are logged under dotted names."""
        ...

    def test_score(self) -> float:
        """The new model's score on its test window."""
        ...

    def write_artifacts(self, folder: Path) -> None:
        """Figures and tables to log with the run."""
        ...

    def log_model(self):
        """Log the model into the active run (models from code); return MLflow's ModelInfo."""
        ...

    def score(self, model: PyFuncModel) -> float:
        """A loaded pyfunc's score on this run's test window (raises KeyError/ValueError if it cannot)."""
        ...

    def components(self) -> dict[str, dict[str, object]]:
        """The models the stage trains besides (or inside) the registered one, each logged as a nested run
        with its nested metrics: the baselines, one model per horizon, one per arm."""
        ...

    def card_sections(self) -> dict[str, str]:
        """The model card's family sections (title -> markdown): metrics vs baselines, slices, known limits."""
        ...


@dataclass(frozen=True)
class Registration:
    """The registration record (data/models/<family>.json): what `promote` compares."""

    run_id: str
    model_uri: str
    name: str
    version: str
    score_name: str
    #: The new version's test score, and the champion's on the same window (None: there was none).
    score: float
    champion_score: float | None
    #: The champion version that was scored (None: none). `promote` refuses when the alias has moved since.
    champion_version: str | None
    family: str = ""

    def verdict(self) -> str:
        """One line for the stage's output."""
        if self.champion_version is None:
            compared = "no champion yet"
        else:
            compared = f"champion version {self.champion_version}: {self.champion_score:.4f} on this window"
        return (
            f"registered {self.name} version {self.version} as challenger ({self.score_name} "
            f"{self.score:.4f}; {compared}); `python -m pipeline promote` decides"
        )


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
    return {
        k: float(v)
        for k, v in flatten(metrics).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None and np.isfinite(v)
    }


def log_run(
    fitted: ModelFamily,
    data_paths: dict[str, Path],
    timings: dict[str, float] | None = None,
    run_name: str | None = None,
) -> tuple[str, str]:
    """Log the run (params, metrics, tags, figures and tables, the model card, one nested run per component,
    the model); return (run_id, model_uri)."""
    experiment = experiment_id(fitted.experiment)
    tags = {**run_tags(data_paths, fitted.family, fitted.run_params), "model_family": fitted.family, **fitted.tags()}
    name = run_name or stage_run_name(fitted.family, tags["git_commit"])
    with mlflow.start_run(experiment_id=experiment, run_name=name) as run:
        mlflow.set_tags(tags)
        mlflow.log_params(fitted.params())
        mlflow.log_metrics(numeric_metrics(fitted.metrics()))
        mlflow.log_metrics({f"timing.{k}": v for k, v in (timings or {}).items()})
        with tempfile.TemporaryDirectory() as tmp:
            fitted.write_artifacts(Path(tmp))
            mlflow.log_artifacts(tmp)
        card = model_card(
            fitted.registered_model, fitted.family, run.info.run_id, tags, fitted.card_sections(), fitted.score_name
        )
        mlflow.log_text(card, CARD_FILE)
        for component, metrics in fitted.components().items():
            with mlflow.start_run(experiment_id=experiment, run_name=f"{name}: {component}", nested=True):
                mlflow.set_tags({**tags, "component": component})
                mlflow.log_metrics(numeric_metrics(metrics))
        info = fitted.log_model()
        return run.info.run_id, info.model_uri


def _champion(fitted: ModelFamily, client) -> tuple[str | None, float | None]:
    """The current champion's version and its score on this run's test window, or its logged score when
    it cannot score these rows (or is a pickled model from before models-from-code, never loaded at all)."""
    name = fitted.registered_model
    try:
        current = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None, None
    uri = f"models:/{name}/{current.version}"  # the version read above, even if the alias moves meanwhile
    try:
        if logged_from_code(uri):  # a champion pickled by an older version is never unpickled
            return str(current.version), fitted.score(mlflow.pyfunc.load_model(uri))
    except (MlflowException, DataError, KeyError, ValueError):
        pass
    logged = client.get_run(current.run_id).data.metrics.get(fitted.score_metric)
    return str(current.version), (float(logged) if logged is not None else None)


def register(fitted: ModelFamily, run_id: str, model_uri: str) -> Registration:
    """Register the run's model as a challenger, with the current champion's score on the same window.
    The alias `champion` is left where it is: moving it is the `promote` step's decision."""
    client = configure()
    name = fitted.registered_model
    champion_version, previous = _champion(fitted, client)
    version = str(mlflow.register_model(model_uri, name).version)
    # the model card is the version's description: the registry page answers "can we trust it, and where?"
    # (a run logged without one, by hand or by an older version, registers without: the audit names it)
    try:
        card = mlflow.artifacts.load_text(f"runs:/{run_id}/{CARD_FILE}")
    except MlflowException:
        card = None
    if card is not None:
        client.update_model_version(name, version, description=card)
    new = float(fitted.test_score())
    client.set_model_version_tag(name, version, f"test_{fitted.score_name}", f"{new:.6f}")
    if champion_version is not None:
        client.set_model_version_tag(name, version, "compared_with", champion_version)
    if previous is not None:
        client.set_model_version_tag(name, version, f"champion_{fitted.score_name}_same_window", f"{previous:.6f}")
    return Registration(
        run_id, model_uri, name, version, fitted.score_name, new, previous, champion_version, fitted.family
    )


def track(fitted: ModelFamily, data_paths: dict[str, Path], timings: dict[str, float] | None = None) -> Registration:
    """What a training stage does with `track`: refuse when DVC left the run behind (core/lifecycle.py),
    log the run and register its model as a challenger."""
    lifecycle.check_parent()
    run_id, model_uri = log_run(fitted, data_paths, timings)
    return register(fitted, run_id, model_uri)
