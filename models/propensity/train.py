"""Train and evaluate the propensity-to-pay models against their two baselines, out of time.

`train_propensity` is the library entry point used by the stage and the tests: features + labels
in, a `PropensityResult` out (the fitted scorer, the baselines' and the model's test
predictions, metrics and curves), with no I/O.

Rows: the accounts in arrears at the as-of date (models/propensity/rows.py); labelled are those
whose labels are known for every horizon (`features.ptp_horizons_days`), so that every horizon is
trained and scored on the same rows. Split (params `propensity`): by as-of month as the roll rate
(models/common/split.py): train on the earlier months, early-stop and calibrate on the
`valid_cycles` months after them, test on the latest `test_cycles`. A label looks h days ahead of
its as-of date, so a training or validation row whose longest horizon ends after the first test
as-of date would have seen outcomes of the test window: such rows are dropped (`embargoed`).

Per horizon, three sets of test probabilities on the same rows: `model` (LightGBM on every
feature, early-stopped and calibrated on validation), `baseline` (logistic regression on
`baseline_features`, models/propensity/baseline.py) and `plain_lgbm` (a default LightGBM on the
raw columns, models/common/plain.py). The expected amount paid is a LightGBM Tweedie regression of
the amount paid within h days (partial payments below the label's threshold count too, which a
probability times an amount-if-paid would miss); its total is matched to the validation window's
(a scale fitted there, as the calibration is). Its baseline is the amount past due times the
training rows' overall paid-to-past-due ratio.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from core import progress
from core.buckets import Buckets
from core.contracts import FEATURE_KEYS, paid_amount_label, paid_label
from core.errors import DataError
from core.params import PropensityParams
from models.common.boosting import booster_params, fit_booster
from models.common.calibration import choose_calibration
from models.common.dataset import FeatureLayout
from models.common.metrics import rounded
from models.common.plain import PlainLGBM
from models.common.split import OutOfTimeSplit, out_of_time_split
from models.propensity import evaluation
from models.propensity.baseline import LogisticBaseline
from models.propensity.rows import in_arrears
from models.propensity.scoring import Horizon, PropensityScorer, predict_booster

MODEL, BASELINE, PLAIN = "model", "baseline", "plain_lgbm"
PAST_DUE = "past_due_amount"


@dataclass
class PropensityResult:
    scorer: PropensityScorer
    split: OutOfTimeSplit
    #: per labelled row in arrears: 'train', 'valid', 'test', 'embargoed' or '' (outside every window)
    windows: pd.DataFrame
    test: pd.DataFrame  # test rows: features and labels
    predictions: dict[str, dict[str, np.ndarray]]  # horizon ("7d") -> model / baseline / plain_lgbm -> P(paid)
    metrics: dict[str, object]
    calibration: pd.DataFrame
    lift: pd.DataFrame
    importance: pd.Series
    timings: dict[str, float] = field(default_factory=dict)


def horizon_name(days: int) -> str:
    return f"{days}d"


def arrears_rows(
    features: pd.DataFrame, labels: pd.DataFrame, horizons: tuple[int, ...], charge_off_dpd: int
) -> pd.DataFrame:
    """The rows in arrears (features) with their propensity labels for every horizon."""
    targets = [c for d in horizons for c in (paid_label(d), paid_amount_label(d))]
    missing = [c for c in (*FEATURE_KEYS, *targets) if c not in labels.columns]
    if missing:
        raise DataError("labels", "required_columns", f"missing column(s) {missing}", column=missing[0])
    rows = features[in_arrears(features, charge_off_dpd)].drop(columns=targets, errors="ignore")
    return rows.merge(labels[[*FEATURE_KEYS, *targets]], on=list(FEATURE_KEYS), how="left", validate="one_to_one")


def _split(data: pd.DataFrame, labelled: np.ndarray, params: PropensityParams, horizons: tuple[int, ...]):
    """The out-of-time windows of the labelled rows, and each row's window with the embargo applied."""
    dates = data["as_of_date"]
    split = out_of_time_split(dates[labelled], params.valid_cycles, params.test_cycles, params.max_train_cycles)
    window = np.where(labelled, split.window(dates), "")
    first_test = dates[window == "test"].min()
    reaches = (dates + pd.Timedelta(days=max(horizons))).to_numpy() > np.datetime64(first_test)
    window[np.isin(window, ("train", "valid")) & reaches] = "embargoed"
    return split, window


def _train_booster(params: dict[str, object], lgbm, X, y, Xv, yv, layout: FeatureLayout) -> lgb.Booster:
    train = lgb.Dataset(X, label=y, feature_name=list(layout.columns), categorical_feature=layout.categorical)
    return fit_booster(params, lgbm, train, Xv, yv)


def _fit_horizon(days, data, rows, X, layout, params: PropensityParams, seed: int) -> tuple[Horizon, dict]:
    lgbm = params.lightgbm
    hit = {w: data[paid_label(days)].iloc[r].to_numpy(bool) for w, r in rows.items()}
    paid = {w: data[paid_amount_label(days)].iloc[r].to_numpy(np.float64) for w, r in rows.items()}
    classifier = _train_booster(
        booster_params(lgbm, seed, 2), lgbm, X["train"], hit["train"], X["valid"], hit["valid"], layout
    )
    raw = predict_booster(classifier, X["valid"])
    groups = data["account_id"].iloc[rows["valid"]].to_numpy(np.int64)
    calibrator, losses = choose_calibration(
        np.column_stack([1 - raw, raw]), hit["valid"].astype(np.int64), groups, params.calibration
    )
    regression = {**booster_params(lgbm, seed, 2), "objective": "tweedie"}
    regression["tweedie_variance_power"] = params.tweedie_variance_power
    amount = _train_booster(regression, lgbm, X["train"], paid["train"], X["valid"], paid["valid"], layout)
    predicted = predict_booster(amount, X["valid"]).sum()
    scale = float(paid["valid"].sum() / predicted) if predicted > 0 else 1.0
    info = {
        "calibration": calibrator.method,
        "rounds_classifier": int(classifier.best_iteration or classifier.current_iteration()),
        "rounds_amount": int(amount.best_iteration or amount.current_iteration()),
        "amount_scale": scale,
        **{f"valid_logloss_calibration_{k}": v for k, v in losses.items()},
    }
    return Horizon(days, classifier, calibrator, amount, scale), info


def train_propensity(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    params: PropensityParams,
    buckets: Buckets,
    horizons: tuple[int, ...],
    seed: int = 0,
) -> PropensityResult:
    """Fit the models and both baselines per horizon, score them on the same test rows, out of time."""
    started = time.perf_counter()
    horizons = tuple(int(d) for d in horizons)
    charge_off_dpd = int(buckets.min_dpd[buckets.charge_off])
    data = arrears_rows(features, labels, horizons, charge_off_dpd)
    labelled = np.ones(len(data), dtype=bool)
    for d in horizons:
        labelled &= data[paid_label(d)].notna().to_numpy()
    if not labelled.any():
        raise DataError("labels", "enough_history", "no labelled row in arrears to train on")
    split, window = _split(data, labelled, params, horizons)
    rows = {w: np.flatnonzero(window == w) for w in ("train", "valid", "test")}
    if any(len(r) == 0 for r in rows.values()):
        raise DataError("labels", "enough_history", f"an empty window: { ({w: len(r) for w, r in rows.items()}) }")
    # the layout from the whole feature table: the served model accepts every row the features stage writes
    layout = FeatureLayout.from_frame(features)
    X = {w: layout.matrix(data, r) for w, r in rows.items()}
    prepared = time.perf_counter()
    fitted, training = [], {}
    for d in progress.track(horizons, "propensity: horizons", unit="horizons"):
        horizon, info = _fit_horizon(d, data, rows, X, layout, params, seed)
        fitted.append(horizon)
        training[horizon_name(d)] = info
    scorer = PropensityScorer(layout, charge_off_dpd, tuple(fitted))
    test = data.iloc[rows["test"]].reset_index(drop=True)
    served = scorer.predict(test)
    both = np.concatenate([rows["train"], rows["valid"]])
    past_due = {w: data[PAST_DUE].iloc[r].to_numpy(np.float64) for w, r in (("fit", both), ("test", rows["test"]))}
    predictions: dict[str, dict[str, np.ndarray]] = {}
    scored: dict[str, object] = {}
    calibration, lift = [], []
    for d in horizons:
        name = horizon_name(d)
        y_fit = data[paid_label(d)].iloc[both].to_numpy(bool)
        baseline = LogisticBaseline(params.baseline_features).fit(data.iloc[both], y_fit)
        plain = PlainLGBM(2, seed, params.lightgbm.num_threads).fit(data, y_fit.astype(np.int64), rows=both)
        predictions[name] = {
            MODEL: served[f"p_pay_{d}d"].to_numpy(np.float64),
            BASELINE: baseline.predict(test),
            PLAIN: plain.predict_proba(test)[:, 1],
        }
        hit = test[paid_label(d)].to_numpy(bool)
        paid_fit = data[paid_amount_label(d)].iloc[both].to_numpy(np.float64)
        recovery = float(paid_fit.sum() / past_due["fit"].sum())
        paid = test[paid_amount_label(d)].to_numpy(np.float64)
        scored[name] = {
            "base_rate": float(hit.mean()),
            **{m: evaluation.scores(hit, p, params.calibration_bins) for m, p in predictions[name].items()},
            "amount": {
                MODEL: evaluation.amount_scores(paid, served[f"expected_paid_{d}d"].to_numpy(np.float64)),
                BASELINE: evaluation.amount_scores(paid, past_due["test"] * recovery),
            },
        }
        cal, lf = evaluation.curves(hit, predictions[name], paid_label(d), params.calibration_bins)
        calibration.append(cal)
        lift.append(lf)
    done = time.perf_counter()
    scored[MODEL] = {
        k: float(np.mean([scored[horizon_name(d)][MODEL][k] for d in horizons])) for k in ("logloss", "brier")
    }
    counts = {w: int((window == w).sum()) for w in ("train", "valid", "test", "embargoed")}
    scored["rows"] = {"in_arrears": int(len(data)), "labelled": int(labelled.sum()), **counts}
    scored["training"] = training
    scored["split"] = split.describe()
    windows = data[list(FEATURE_KEYS)].assign(window=window)
    return PropensityResult(
        scorer=scorer,
        split=split,
        windows=windows,
        test=test,
        predictions=predictions,
        metrics=rounded(scored),
        calibration=pd.concat(calibration, ignore_index=True),
        lift=pd.concat(lift, ignore_index=True),
        importance=_importance(scorer),
        timings={"prepare_s": prepared - started, "fit_s": done - prepared},
    )


def _importance(scorer: PropensityScorer) -> pd.Series:
    """Total gain per feature of the probability models, summed over horizons, largest first."""
    total = pd.Series(0.0, index=list(scorer.layout.columns))
    for h in scorer.horizons:
        total += pd.Series(h.classifier.feature_importance("gain"), index=h.classifier.feature_name()).reindex(
            total.index, fill_value=0.0
        )
    return total.sort_values(ascending=False)
