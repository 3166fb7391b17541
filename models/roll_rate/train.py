"""Train and evaluate the roll-rate model against the Markov baseline, out of time.

`train_roll_rate` is the library entry point used by the stage, the benchmark and the tests:
features + labels in, a `RollRateResult` out (fitted model and baseline, test predictions,
metrics, transition matrices, curves and the flow-rate forecast), with no I/O, so MLflow
logging and file writing stay in their own modules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.buckets import Buckets
from core.contracts import NEXT_BUCKET as TARGET
from core.contracts import SOURCE_BUCKET as SOURCE
from core.errors import DataError
from core.params import RollRateParams
from models.common.dataset import join_labels
from models.common.split import OutOfTimeSplit, cycle_index, out_of_time_split
from models.roll_rate import evaluation as metrics
from models.roll_rate import forecast
from models.roll_rate.markov import MarkovBaseline
from models.roll_rate.model import RollRateModel

ROUND = 6  # metrics are rounded so that a re-run reproduces them byte for byte


@dataclass
class RollRateResult:
    model: RollRateModel
    baseline: MarkovBaseline
    split: OutOfTimeSplit
    test: pd.DataFrame  # test rows (features + next_bucket)
    predictions: dict[str, np.ndarray]  # test probabilities: model, baseline
    metrics: dict[str, object]
    transitions: pd.DataFrame
    roc: pd.DataFrame
    calibration: pd.DataFrame
    forecast: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def _rounded(value: object) -> object:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if np.isnan(value) else float(round(value, ROUND)) + 0.0  # + 0.0: no "-0.0" in the JSON
    return value


def _segment(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    return frame[column].to_numpy() if column and column in frame.columns else None


def train_roll_rate(
    features: pd.DataFrame, labels: pd.DataFrame, params: RollRateParams, buckets: Buckets, seed: int = 0
) -> RollRateResult:
    """Fit baseline and model on the training window, early-stop and calibrate on validation,
    score both on the test window, forecast balances from the first test month."""
    started = time.perf_counter()
    data = join_labels(features, labels, TARGET, required=(SOURCE,))
    if params.last_as_of_date is not None:
        data = data[data["as_of_date"] <= pd.Timestamp(params.last_as_of_date)].reset_index(drop=True)
    k = len(buckets.names)
    if data[SOURCE].isna().any() or (data[SOURCE] < 0).any() or (data[SOURCE] >= k).any():
        raise DataError("features", "bucket_codes", f"`{SOURCE}` must hold codes 0..{k - 1}", column=SOURCE)
    labelled = data[data[TARGET].notna() & (data[SOURCE] != buckets.charge_off)]
    split = out_of_time_split(labelled["as_of_date"], params.valid_cycles, params.test_cycles, params.max_train_cycles)
    window = split.window(labelled["as_of_date"])
    train, valid, test = (labelled[window == w].reset_index(drop=True) for w in ("train", "valid", "test"))
    y = {name: frame[TARGET].to_numpy(np.int64) for name, frame in (("train", train), ("valid", valid), ("test", test))}
    baseline = MarkovBaseline(k, params.smoothing, params.segment_prior, absorbing=buckets.charge_off).fit(
        train[SOURCE].to_numpy(), y["train"], _segment(train, params.segment_column)
    )
    prepared = time.perf_counter()
    model = RollRateModel(params, k, seed).fit(
        train, y["train"], valid, y["valid"], valid["account_id"].to_numpy(np.int64), reference=data
    )
    fitted = time.perf_counter()
    source = test[SOURCE].to_numpy(np.int64)
    predictions = {
        "model": model.predict_proba(test),
        "baseline": baseline.predict_proba(source, _segment(test, params.segment_column)),
    }
    names = tuple(buckets.names)
    scored = metrics.evaluate(y["test"], source, predictions, names, params.calibration_bins)
    scored["logloss_reduction"] = 1 - scored["model"]["logloss"] / scored["baseline"]["logloss"]
    scored["training"] = {
        "model_form": model.model_form_,
        "calibration": model.calibration_,
        "rows_train": int(len(train)),
        "rows_valid": int(len(valid)),
        "rows_test": int(len(test)),
        **{f"valid_logloss_{name}": v for name, v in model.validation_logloss_.items()},
        **{f"valid_logloss_calibration_{name}": v for name, v in model.calibration_logloss_.items()},
    }
    scored["split"] = split.describe()
    origin = min(split.test)
    forecast_rows = data[data["as_of_date"].notna()]
    origin_rows = forecast_rows[cycle_index(forecast_rows["as_of_date"]) == origin]
    origin_pred = {
        "model": model.predict_proba(origin_rows),
        "baseline": baseline.predict_proba(
            origin_rows[SOURCE].to_numpy(np.int64), _segment(origin_rows, params.segment_column)
        ),
    }
    flows = forecast.forecast_table(forecast_rows, origin_pred, origin, params.forecast_horizons, names)
    scored["forecast"] = _forecast_errors(flows)
    return RollRateResult(
        model=model,
        baseline=baseline,
        split=split,
        test=test,
        predictions=predictions,
        metrics=_rounded(scored),
        transitions=metrics.transition_matrices(y["test"], source, predictions, names),
        roc=metrics.roc_points(y["test"], source, predictions, names),
        calibration=metrics.calibration_points(y["test"], source, predictions, names, params.calibration_bins),
        forecast=flows,
        timings={
            "prepare_s": prepared - started,
            "fit_s": fitted - prepared,
            "evaluate_s": time.perf_counter() - fitted,
        },
    )


def _forecast_errors(flows: pd.DataFrame) -> dict[str, object]:
    """Per horizon: actual and forecast charge-off amounts, and the balance-weighted bucket error."""
    out: dict[str, object] = {}
    for h, part in flows.groupby("horizon"):
        co = part[part["bucket"] == "charge_off_amount"].iloc[0]
        buckets = part[part["bucket"] != "charge_off_amount"]
        entry = {"charge_off_actual": float(co["actual"])}
        shares = buckets.drop(columns=["horizon", "bucket"])
        shares = shares / shares.sum().clip(lower=1e-9)
        for name in [c for c in flows.columns if c not in ("horizon", "bucket", "actual")]:
            entry[f"charge_off_{name}"] = float(co[name])
            entry[f"bucket_share_error_{name}"] = float((shares[name] - shares["actual"]).abs().sum() / 2)
        out[f"h{int(h)}"] = entry
    return out
