"""Train and evaluate the roll-rate model against its two baselines, out of time or out of fold.

`train_roll_rate` is the library entry point used by the stage, the benchmarks and the tests:
features + labels in, a `RollRateResult` out (fitted model and baseline, test predictions,
metrics, transition matrices, curves and the flow-rate forecast), with no I/O, so MLflow
logging and file writing stay in their own modules.

Three sets of test predictions are scored side by side on the same rows: `model` (the project's
calibrated LightGBM), `baseline` (the Markov transition matrix) and `plain_lgbm` (a default
LightGBM on the raw source columns, models/common/plain.py). The split (params
`roll_rate.split.method`):

- `time`: train on the training window, early-stop and calibrate on the validation window, test on
  the latest months; the plain model trains on both windows (it has no use for a validation one);
- `account`: grouped k-fold by account; in each fold the three are trained on the whole training
  part (the project's model by inner folds, `RollRateModel.fit_cv`) and predict the test fold, so
  every labelled row gets an out-of-fold prediction. The model returned (the one registered and
  served) is fitted the same way on every labelled row; the metrics estimate it out of fold.
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
from models.common.metrics import rounded as _rounded
from models.common.plain import PlainLGBM
from models.common.split import AccountSplit, OutOfTimeSplit, account_split, cycle_index, out_of_time_split
from models.roll_rate import evaluation as metrics
from models.roll_rate import forecast
from models.roll_rate.markov import MarkovBaseline
from models.roll_rate.model import RollRateModel

#: Names of the prediction sets, in the order the metrics list them.
MODEL, BASELINE, PLAIN = "model", "baseline", "plain_lgbm"


@dataclass
class RollRateResult:
    model: RollRateModel
    baseline: MarkovBaseline
    split: OutOfTimeSplit | AccountSplit
    test: pd.DataFrame  # test rows (features + next_bucket); out of fold: every labelled row
    predictions: dict[str, np.ndarray]  # test probabilities: model, baseline, plain_lgbm
    metrics: dict[str, object]
    transitions: pd.DataFrame
    roc: pd.DataFrame
    calibration: pd.DataFrame
    forecast: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def _segment(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    return frame[column].to_numpy() if column and column in frame.columns else None


def _baseline(params: RollRateParams, k: int, absorbing: int | None, frame: pd.DataFrame, y: np.ndarray):
    return MarkovBaseline(k, params.smoothing, params.segment_prior, absorbing=absorbing).fit(
        frame[SOURCE].to_numpy(), y, _segment(frame, params.segment_column)
    )


def _baseline_proba(baseline: MarkovBaseline, params: RollRateParams, frame: pd.DataFrame) -> np.ndarray:
    return baseline.predict_proba(frame[SOURCE].to_numpy(np.int64), _segment(frame, params.segment_column))


def _within_dates(data: pd.DataFrame, params: RollRateParams) -> pd.DataFrame:
    keep = np.ones(len(data), dtype=bool)
    if params.first_as_of_date is not None:
        keep &= (data["as_of_date"] >= pd.Timestamp(params.first_as_of_date)).to_numpy()
    if params.last_as_of_date is not None:
        keep &= (data["as_of_date"] <= pd.Timestamp(params.last_as_of_date)).to_numpy()
    return data if keep.all() else data[keep].reset_index(drop=True)


@dataclass
class _Fitted:
    model: RollRateModel
    baseline: MarkovBaseline
    split: OutOfTimeSplit | AccountSplit
    test: pd.DataFrame
    y_test: np.ndarray
    predictions: dict[str, np.ndarray]
    training: dict[str, object]
    #: the month (cycle index) the flow-rate forecast starts from
    origin: int


def _fit_time(data, keep, params, k, absorbing, seed) -> _Fitted:
    """Train, validation and test windows as row positions of `data`: no window is copied whole;
    the model and the plain baseline copy only their columns of their rows."""
    dates = data["as_of_date"]
    split = out_of_time_split(dates[keep], params.valid_cycles, params.test_cycles, params.max_train_cycles)
    window = split.window(dates)
    rows = {w: np.flatnonzero(keep & (window == w)) for w in ("train", "valid", "test")}
    y = {w: data[TARGET].iloc[r].to_numpy(np.int64) for w, r in rows.items()}
    baseline_columns = [c for c in (SOURCE, params.segment_column) if c and c in data.columns]
    baseline = _baseline(params, k, absorbing, data[baseline_columns].iloc[rows["train"]], y["train"])
    groups_valid = data["account_id"].iloc[rows["valid"]].to_numpy(np.int64)
    model = RollRateModel(params, k, seed).fit(
        data, y["train"], data, y["valid"], groups_valid, data, train_rows=rows["train"], valid_rows=rows["valid"]
    )
    plain_rows = np.concatenate([rows["train"], rows["valid"]])
    plain = PlainLGBM(k, seed, params.lightgbm.num_threads).fit(
        data, np.concatenate([y["train"], y["valid"]]), rows=plain_rows
    )
    test = data.iloc[rows["test"]].reset_index(drop=True)
    predictions = {
        MODEL: model.predict_proba(test),
        BASELINE: _baseline_proba(baseline, params, test),
        PLAIN: plain.predict_proba(test),
    }
    training = {
        "model_form": model.model_form_,
        "calibration": model.calibration_,
        "rows_train": int(len(rows["train"])),
        "rows_valid": int(len(rows["valid"])),
        "rows_test": int(len(rows["test"])),
        "rows_train_plain_lgbm": int(len(plain_rows)),
        **{f"valid_logloss_{name}": v for name, v in model.validation_logloss_.items()},
        **{f"valid_logloss_calibration_{name}": v for name, v in model.calibration_logloss_.items()},
    }
    return _Fitted(model, baseline, split, test, y["test"], predictions, training, min(split.test))


def _fit_account(data, keep, params, k, absorbing, seed) -> _Fitted:
    labelled = data[keep].reset_index(drop=True)
    accounts = labelled["account_id"].to_numpy(np.int64)
    y = labelled[TARGET].to_numpy(np.int64)
    split = account_split(accounts, labelled["as_of_date"], params.split.folds, params.split.inner_folds, seed)
    predictions = {name: np.zeros((len(labelled), k)) for name in (MODEL, BASELINE, PLAIN)}
    folds = []
    for f in range(split.folds):
        test_rows = split.fold == f
        train = labelled[~test_rows]
        test = labelled[test_rows]
        model = RollRateModel(params, k, seed).fit_cv(train, y[~test_rows], accounts[~test_rows], reference=data)
        predictions[MODEL][test_rows] = model.predict_proba(test)
        predictions[BASELINE][test_rows] = _baseline_proba(
            _baseline(params, k, absorbing, train, y[~test_rows]), params, test
        )
        plain = PlainLGBM(k, seed, params.lightgbm.num_threads).fit(train, y[~test_rows])
        predictions[PLAIN][test_rows] = plain.predict_proba(test)
        folds.append(f"{model.model_form_}/{model.calibration_}")
    # the model that is registered and served: the same fit on every labelled row
    model = RollRateModel(params, k, seed).fit_cv(labelled, y, accounts, reference=data)
    baseline = _baseline(params, k, absorbing, labelled, y)
    training = {
        "model_form": model.model_form_,
        "calibration": model.calibration_,
        "rows_train": int(len(labelled)),
        "rows_test": int(len(labelled)),
        "folds_model_form_calibration": ", ".join(folds),
        **{f"inner_oof_logloss_{name}": v for name, v in model.validation_logloss_.items()},
        **{f"inner_oof_logloss_calibration_{name}": v for name, v in model.calibration_logloss_.items()},
    }
    months = cycle_index(labelled["as_of_date"])
    origin = max(int(months.min()), int(cycle_index(data["as_of_date"]).max()) - params.forecast_horizons)
    return _Fitted(model, baseline, split, labelled, y, predictions, training, origin)


def train_roll_rate(
    features: pd.DataFrame, labels: pd.DataFrame, params: RollRateParams, buckets: Buckets, seed: int = 0
) -> RollRateResult:
    """Fit the model and both baselines, score them on the same test rows (out of time, or out of
    fold with the account split), and forecast balances from one month's rows."""
    started = time.perf_counter()
    data = _within_dates(join_labels(features, labels, TARGET, required=(SOURCE,)), params)
    k = len(buckets.names)
    if data[SOURCE].isna().any() or (data[SOURCE] < 0).any() or (data[SOURCE] >= k).any():
        raise DataError("features", "bucket_codes", f"`{SOURCE}` must hold codes 0..{k - 1}", column=SOURCE)
    absorbing = buckets.charge_off if params.absorbing_last_bucket else None
    keep = data[TARGET].notna().to_numpy().copy()
    if absorbing is not None:
        keep &= (data[SOURCE] != absorbing).to_numpy()
    if not keep.any():
        raise DataError("labels", "enough_history", "no labelled row within the as-of dates to train on")
    prepared = time.perf_counter()
    fit = _fit_time if params.split.method == "time" else _fit_account
    fitted = fit(data, keep, params, k, absorbing, seed)
    done = time.perf_counter()
    names = tuple(buckets.names)
    y, source, predictions = fitted.y_test, fitted.test[SOURCE].to_numpy(np.int64), fitted.predictions
    scored = metrics.evaluate(y, source, predictions, names, params.calibration_bins)
    scored["logloss_reduction"] = 1 - scored[MODEL]["logloss"] / scored[BASELINE]["logloss"]
    scored["logloss_vs_plain"] = 1 - scored[MODEL]["logloss"] / scored[PLAIN]["logloss"]
    scored["training"] = {"absorbing": names[absorbing] if absorbing is not None else None, **fitted.training}
    scored["split"] = fitted.split.describe()
    flows = _forecast(data, fitted, params, names)
    scored["forecast"] = _forecast_errors(flows)
    return RollRateResult(
        model=fitted.model,
        baseline=fitted.baseline,
        split=fitted.split,
        test=fitted.test,
        predictions=predictions,
        metrics=_rounded(scored),
        transitions=metrics.transition_matrices(y, source, predictions, names),
        roc=metrics.roc_points(y, source, predictions, names),
        calibration=metrics.calibration_points(y, source, predictions, names, params.calibration_bins),
        forecast=flows,
        timings={
            "prepare_s": prepared - started,
            "fit_s": done - prepared,
            "evaluate_s": time.perf_counter() - done,
        },
    )


def _forecast(data: pd.DataFrame, fitted: _Fitted, params: RollRateParams, names: tuple[str, ...]) -> pd.DataFrame:
    """The flow-rate forecast from the origin month's rows: the model's and the baseline's
    probabilities, out of fold where the account split has them (the fitted model otherwise)."""
    origin = fitted.origin
    rows = data[cycle_index(data["as_of_date"]) == origin]
    pred = {
        MODEL: fitted.model.predict_proba(rows),
        BASELINE: _baseline_proba(fitted.baseline, params, rows),
    }
    if isinstance(fitted.split, AccountSplit):
        test = fitted.test
        at = test[cycle_index(test["as_of_date"]) == origin]
        pos = pd.MultiIndex.from_frame(at[["account_id", "as_of_date"]]).get_indexer(
            pd.MultiIndex.from_frame(rows[["account_id", "as_of_date"]])
        )
        found = pos >= 0
        index = at.index.to_numpy()[pos[found]]
        for name in (MODEL, BASELINE):
            pred[name][found] = fitted.predictions[name][index]
    return forecast.forecast_table(data, pred, origin, params.forecast_horizons, names)


def _forecast_errors(flows: pd.DataFrame) -> dict[str, object]:
    """Per horizon: actual and forecast charge-off amounts, and the balance-weighted bucket error."""
    out: dict[str, object] = {}
    if len(flows):
        out["unit"] = str(flows["unit"].iloc[0])
        out["balance_unknown"] = int(flows["balance_unknown"].iloc[0])
    flows = flows.drop(columns=["unit", "balance_unknown"])
    charge_off = flows["bucket"].str.startswith("charge_off_")
    for h, part in flows.groupby("horizon"):
        co = part[charge_off.loc[part.index]].iloc[0]
        buckets = part[~charge_off.loc[part.index]]
        entry = {"charge_off_actual": float(co["actual"])}
        shares = buckets.drop(columns=["horizon", "bucket"])
        shares = shares / shares.sum().clip(lower=1e-9)
        for name in [c for c in flows.columns if c not in ("horizon", "bucket", "actual")]:
            entry[f"charge_off_{name}"] = float(co[name])
            entry[f"bucket_share_error_{name}"] = float((shares[name] - shares["actual"]).abs().sum() / 2)
        out[f"h{int(h)}"] = entry
    return out
