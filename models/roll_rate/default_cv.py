"""Next-month default, out of fold: the real-data check of the roll-rate machinery (UCI data).

The protocol the issue fixes: outer 5-fold stratified cross-validation (seed 0), every account
predicted by models that never saw it. Inside each outer training fold nothing is tuned on the
outer test fold: `inner_folds` LightGBM models are each early-stopped on their own inner fold
(CV bagging, `models.roll_rate.model.cv_bag`, which the roll-rate model's account split uses
too); their inner out-of-fold predictions, made on rows each model did not train on, are what
the calibration is chosen (cross-fitted) and fitted on; the outer test fold gets the calibrated
mean of the inner models. The Markov baseline is the default rate of the account's
current bucket, estimated on the outer training fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from core.contracts import SOURCE_BUCKET as SOURCE
from core.params import LightGBMParams
from models.common.calibration import choose_calibration
from models.common.dataset import FeatureLayout
from models.roll_rate.markov import MarkovBaseline
from models.roll_rate.model import cv_bag, fit_submodel, merge_submodels


@dataclass(frozen=True)
class FoldReport:
    fold: int
    rounds: tuple[int, ...]
    calibration: str


def fit_predict_default(
    train: pd.DataFrame,
    y: np.ndarray,
    test: pd.DataFrame,
    lgbm: LightGBMParams,
    seed: int,
    calibration: str = "auto",
    inner_folds: int = 4,
) -> tuple[np.ndarray, str, tuple[int, ...]]:
    """Calibrated P(default) for `test` from CV-bagged LightGBM models fitted on `train` only
    (`cv_bag`, as the roll-rate model's account split fits)."""
    layout = FeatureLayout.from_frame(train)
    X, Xt = layout.apply(train), layout.apply(test)
    fold = np.zeros(len(y), dtype=np.int64)
    for j, (_, stop_rows) in enumerate(StratifiedKFold(inner_folds, shuffle=True, random_state=seed + 1).split(X, y)):
        fold[stop_rows] = j
    binary = np.array([0, 1])
    parts, oof = cv_bag(
        fold,
        lambda rows, stop: fit_submodel(X[rows], y[rows], X[stop], y[stop], lgbm, seed, classes=binary),
        lambda model, stop: model.predict(X[stop], 2),
    )
    groups = np.arange(len(y))
    calibrator, _ = choose_calibration(oof, y, groups, calibration)
    model = merge_submodels(parts)
    proba = calibrator.transform(model.predict(Xt, 2))[:, 1]
    rounds = tuple(int(b.best_iteration or b.current_iteration()) for b in model.boosters)
    return proba, calibrator.method, rounds


def out_of_fold(
    features: pd.DataFrame,
    y: np.ndarray,
    lgbm: LightGBMParams,
    n_buckets: int,
    seed: int = 0,
    folds: int = 5,
    calibration: str = "auto",
    inner_folds: int = 4,
    smoothing: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, list[FoldReport]]:
    """Out-of-fold P(default) of the model and of the current-bucket baseline, plus per-fold notes."""
    y = np.asarray(y, dtype=np.int64)
    outer = StratifiedKFold(folds, shuffle=True, random_state=0)
    model_p = np.zeros(len(y))
    base_p = np.zeros(len(y))
    source = features[SOURCE].to_numpy(np.int64)
    reports = []
    for i, (train_rows, test_rows) in enumerate(outer.split(features, y)):
        train, test = features.iloc[train_rows], features.iloc[test_rows]
        proba, method, rounds = fit_predict_default(train, y[train_rows], test, lgbm, seed, calibration, inner_folds)
        model_p[test_rows] = proba
        baseline = MarkovBaseline(n_buckets, smoothing=smoothing, n_targets=2).fit(source[train_rows], y[train_rows])
        base_p[test_rows] = baseline.predict_proba(source[test_rows])[:, 1]
        reports.append(FoldReport(i, rounds, method))
    return model_p, base_p, reports
