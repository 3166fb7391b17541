"""The registered model without pickles: scorer files, calibration as numbers, models from code."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow import MlflowClient
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from core.params import LightGBMParams, RollRateParams, parse_params
from models.common.calibration import Calibrator, _logit, clip_normalise
from models.common.pyfunc import logged_from_code
from models.common.registry import CHAMPION, register
from models.common.tracking import artifact_root, experiment_id
from models.roll_rate.family import RollRateFamily
from models.roll_rate.pyfunc import log_pyfunc
from models.roll_rate.scoring import MANIFEST, RollRateScorer
from models.roll_rate.train import train_roll_rate
from tests.models_data import BUCKETS, planted_history

FAST = LightGBMParams(
    learning_rate=0.1, num_leaves=7, min_child_samples=50, n_estimators=60, early_stopping_rounds=10, num_threads=1
)
SHAPES = (("per_source", "platt"), ("multiclass", "isotonic"))


@pytest.fixture(scope="module")
def fitted():
    """One fitted model per (model form, calibration) shape, on small planted data."""
    features, labels = planted_history(accounts=800, cycles=8, seed=2)
    return {
        shape: train_roll_rate(
            features,
            labels,
            RollRateParams(valid_cycles=2, test_cycles=2, lightgbm=FAST, model_form=shape[0], calibration=shape[1]),
            BUCKETS,
            seed=0,
        )
        for shape in SHAPES
    }


# --- calibration as plain numbers -------------------------------------------------------------


def _sklearn_transform(method: str, fit_proba: np.ndarray, y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """What the calibrator computed before it stored numbers: sklearn's own predictions."""
    out = proba.copy()
    for k in range(proba.shape[1]):
        hit = (y == k).astype(np.int64)
        if hit.min() == hit.max():
            continue
        if method == "platt":
            out[:, k] = (
                LogisticRegression(C=1e6, max_iter=1000)
                .fit(_logit(fit_proba[:, [k]]), hit)
                .predict_proba(_logit(proba[:, [k]]))[:, 1]
            )
        else:
            out[:, k] = (
                IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
                .fit(fit_proba[:, k], hit)
                .predict(proba[:, k])
            )
    return clip_normalise(out)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(5, 300),
    k=st.integers(2, 5),
    method=st.sampled_from(["platt", "isotonic"]),
)
def test_calibrator_numbers_predict_as_sklearn_and_survive_json(seed, n, k, method):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(k), size=n)
    y = rng.integers(0, k, size=n)
    # scored rows reach beyond the fitted range on both sides (isotonic clips there)
    scored = np.vstack([rng.dirichlet(np.ones(k) * 0.3, size=50), np.eye(k), np.full((1, k), 1.0 / k)])
    fitted = Calibrator(method).fit(proba, y)
    expected = _sklearn_transform(method, proba, y, scored)
    np.testing.assert_allclose(fitted.transform(scored), expected, rtol=0, atol=1e-12)
    loaded = Calibrator.from_dict(json.loads(json.dumps(fitted.to_dict())))
    np.testing.assert_array_equal(loaded.transform(scored), fitted.transform(scored))
    assert loaded.method == method and set(loaded.maps_) == set(fitted.maps_)


def test_calibrator_refuses_malformed_isotonic_knots():
    with pytest.raises(ValueError, match="increasing"):
        Calibrator.from_dict({"method": "isotonic", "maps": {"0": {"x": [0.5, 0.2], "y": [0.1, 0.3]}}})
    assert Calibrator.from_dict({"method": "none", "maps": {}}).transform(np.array([[0.2, 0.8]])).shape == (1, 2)


# --- the scorer as files ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_scorer_files_are_text_and_reload_to_the_same_probabilities(fitted, shape, tmp_path):
    result = fitted[shape]
    model = result.model
    manifest_path = model.scorer_.save(tmp_path / "scorer")
    manifest = json.loads(manifest_path.read_text())
    boosters = sorted(p.name for p in (tmp_path / "scorer").iterdir() if p.name != MANIFEST)
    expected = (
        ["booster_multiclass.txt"]
        if shape[0] == "multiclass"
        else sorted(f"booster_source_{s}.txt" for s, m in model.models_.items() if m.booster is not None)
    )
    assert boosters == expected
    for name in boosters:
        assert (tmp_path / "scorer" / name).read_text().startswith("tree\n"), "LightGBM text format"
    assert manifest["strategy"] == shape[0] and manifest["calibrator"]["method"] == shape[1]
    assert manifest["n_buckets"] == len(BUCKETS.names) and manifest["absorbing"] == BUCKETS.charge_off
    assert manifest["layout"]["columns"] == list(model.layout_.columns)
    assert manifest["format_version"] == 3 and manifest["layout"]["dtypes"]["product"] == "category"
    assert manifest["layout"]["dtypes"]["bucket"] == "int8"
    assert manifest["layout"]["missing"] == list(model.layout_.missing)
    assert {e["key"] for e in manifest["submodels"]} == set(model.models_)

    loaded = RollRateScorer.load(tmp_path / "scorer")
    # the booster is cut at its early-stopping iteration, as scoring used it
    for key, sub in model.models_.items():
        if sub.booster is not None:
            used = min(sub.booster.best_iteration or sub.booster.current_iteration(), sub.booster.current_iteration())
            assert loaded.models[key].booster.current_iteration() == used
        else:
            np.testing.assert_array_equal(loaded.models[key].constant, sub.constant)
    assert loaded.layout == model.layout_
    np.testing.assert_allclose(loaded.predict_proba(result.test), model.predict_proba(result.test), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.predict_proba(result.test), result.predictions["model"])


def test_scorer_refuses_an_unknown_format(fitted, tmp_path):
    manifest_path = fitted[SHAPES[0]].model.scorer_.save(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ValueError, match="format_version"):
        RollRateScorer.load(tmp_path)


# --- the logged MLflow model --------------------------------------------------------------------


def _no_unpickling(*args, **kwargs):
    raise AssertionError("the registered model must load without unpickling")


def _forbid_unpickling(monkeypatch) -> None:
    for module, names in ((pickle, ("load", "loads", "Unpickler")), (cloudpickle, ("load", "loads"))):
        for name in names:
            monkeypatch.setattr(module, name, _no_unpickling)


@pytest.mark.parametrize("shape", SHAPES)
def test_logged_model_holds_no_pickle_and_serves_the_in_memory_probabilities(fitted, shape, monkeypatch, tmp_path):
    result = fitted[shape]
    with mlflow.start_run(experiment_id=experiment_id("pyfunc_test")):  # artifacts beside the test's store
        info = log_pyfunc(result.model, BUCKETS.names, result.test.head(5))
    folder = Path(mlflow.artifacts.download_artifacts(info.model_uri))
    assert str(artifact_root()).startswith(str(tmp_path))
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"MLmodel", "served.py", "input_example.json", "requirements.txt", "artifacts/scorer/scorer.json"} <= files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle")) or "python_model" in f], files
    for name in files:  # no pickle stream under any name (protocol 2+ starts with 0x80)
        assert (folder / name).read_bytes()[:1] != b"\x80", name
    assert "python_model" not in info.flavors["python_function"]
    assert "cloudpickle" not in (folder / "requirements.txt").read_text()

    _forbid_unpickling(monkeypatch)
    served = mlflow.pyfunc.load_model(info.model_uri)
    proba = served.predict(result.test)  # the feature table's rows as they are: categories, int8, float32
    monkeypatch.undo()

    assert list(proba.columns) == list(BUCKETS.names)
    np.testing.assert_allclose(proba.to_numpy(), result.model.predict_proba(result.test), rtol=0, atol=1e-9)
    np.testing.assert_allclose(proba.to_numpy().sum(axis=1), 1.0, atol=1e-12)
    assert served.metadata.get_input_schema().input_names() == list(result.model.layout_.columns)
    assert logged_from_code(info.model_uri)


class _Legacy(mlflow.pyfunc.PythonModel):
    """A cloudpickled pyfunc, the format this project registered before models-from-code."""

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return model_input


def test_a_pickled_champion_is_never_unpickled_and_its_logged_loss_decides(fitted, monkeypatch):
    result, name = fitted[SHAPES[0]], "roll_rate_legacy"
    experiment = experiment_id("pyfunc_test")
    with mlflow.start_run(experiment_id=experiment), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow discourages pickling a Python object: the point here
        legacy = mlflow.pyfunc.log_model(name="model", python_model=_Legacy(), pip_requirements=["pandas"])
        mlflow.log_metric(RollRateFamily.score_metric, 10.0)
    client = MlflowClient()
    client.set_registered_model_alias(name, CHAMPION, mlflow.register_model(legacy.model_uri, name).version)
    assert not logged_from_code(legacy.model_uri)

    with mlflow.start_run(experiment_id=experiment) as run:
        info = log_pyfunc(result.model, BUCKETS.names, result.test.head(5))
    _forbid_unpickling(monkeypatch)
    family = RollRateFamily(result, parse_params({"roll_rate": {"registered_model": name}}))
    reg = register(family, run.info.run_id, info.model_uri)
    assert reg.champion_score == 10.0 and reg.champion_version == "1" and reg.version == "2"
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "1", "registration moves no alias"


def test_a_champion_of_an_older_scorer_format_is_refused_and_its_logged_loss_decides(fitted):
    """A champion logged before the scorer recorded dtypes and missing values (format 1) cannot
    check its input: loading it fails with what to do, and the registry falls back to its logged loss."""
    result, name = fitted[SHAPES[0]], "roll_rate_format_1"
    experiment = experiment_id("pyfunc_test")
    with mlflow.start_run(experiment_id=experiment):
        old = log_pyfunc(result.model, BUCKETS.names, result.test.head(5))
        mlflow.log_metric(RollRateFamily.score_metric, 10.0)
    client = MlflowClient()
    client.set_registered_model_alias(name, CHAMPION, mlflow.register_model(old.model_uri, name).version)
    stored = [p for p in artifact_root().rglob(MANIFEST) if old.model_id in p.as_posix()]
    assert len(stored) == 1, stored
    manifest = json.loads(stored[0].read_text())
    stored[0].write_text(json.dumps({**manifest, "format_version": 1}))
    with pytest.raises(ValueError, match="format_version 1, this code reads 2") as excinfo:
        mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
    assert "retrain" in str(excinfo.value)

    with mlflow.start_run(experiment_id=experiment) as run:
        info = log_pyfunc(result.model, BUCKETS.names, result.test.head(5))
    family = RollRateFamily(result, parse_params({"roll_rate": {"registered_model": name}}))
    reg = register(family, run.info.run_id, info.model_uri)
    assert reg.champion_score == 10.0 and reg.champion_version == "1" and reg.version == "2"
