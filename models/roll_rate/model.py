"""The roll-rate model: LightGBM predicting each account's bucket at the next cycle, calibrated.

Two shapes are tried (params `roll_rate.model_form`): one multiclass model over all buckets, with
the current bucket as a feature, or one model per source bucket over the next buckets seen
from it (most rows are current accounts with two possible outcomes, so that model is binary
and cheap). `auto` keeps whichever has the lower validation log loss. Early stopping and
calibration use the validation window, which lies after the training months.

Fitting ends in a `RollRateScorer` (models/scoring.py): the layout, sub-models and calibrator
that scoring reads, with no trace of how they were chosen. `predict_proba` delegates to it, and
the registered MLflow model is that scorer saved as files, so both score through the same code.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.contracts import SOURCE_BUCKET as SOURCE
from core.params import LightGBMParams, RollRateParams
from models.common.calibration import Calibrator, choose_calibration
from models.common.dataset import FeatureLayout
from models.common.metrics import log_loss
from models.roll_rate.scoring import MULTICLASS, RollRateScorer, SubModel

__all__ = ["RollRateModel", "SubModel", "booster_params", "fit_submodel"]


def booster_params(p: LightGBMParams, seed: int, n_classes: int) -> dict[str, object]:
    objective = {"objective": "binary"} if n_classes == 2 else {"objective": "multiclass", "num_class": n_classes}
    return {
        **objective,
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_data_in_leaf": p.min_child_samples,
        "feature_fraction": p.feature_fraction,
        "bagging_fraction": p.bagging_fraction,
        "bagging_freq": p.bagging_freq,
        "lambda_l2": p.lambda_l2,
        "max_bin": p.max_bin,
        "num_threads": p.num_threads,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def _fit_booster(
    params: dict[str, object],
    lgbm: LightGBMParams,
    X: pd.DataFrame,
    y: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
) -> lgb.Booster:
    train = lgb.Dataset(X, label=y, free_raw_data=True)
    if len(y_valid) == 0:
        return lgb.train(params, train, num_boost_round=min(lgbm.n_estimators, 100))
    valid = lgb.Dataset(X_valid, label=y_valid, reference=train)
    return lgb.train(
        params,
        train,
        num_boost_round=lgbm.n_estimators,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(lgbm.early_stopping_rounds, verbose=False)],
    )


def fit_submodel(
    X: pd.DataFrame,
    y: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    lgbm: LightGBMParams,
    seed: int,
    classes: np.ndarray | None = None,
) -> SubModel:
    """A booster over the classes seen in `y` (or `classes`); validation rows of unseen classes are dropped."""
    classes = np.unique(y) if classes is None else np.asarray(classes)
    if len(classes) == 1:
        return SubModel(classes, None, np.ones(1))
    local = np.searchsorted(classes, y)
    known = np.isin(y_valid, classes)
    local_valid = np.searchsorted(classes, y_valid[known])
    params = booster_params(lgbm, seed, len(classes))
    booster = _fit_booster(params, lgbm, X, local, X_valid[known], local_valid)
    return SubModel(classes, booster)


class RollRateModel:
    """Calibrated next-bucket probabilities (n, K) from a feature frame holding the `bucket` column."""

    def __init__(self, params: RollRateParams, n_buckets: int, seed: int = 0) -> None:
        self.params = params
        self.n_buckets = n_buckets
        self.seed = seed

    @property
    def absorbing(self) -> int:
        return self.n_buckets - 1

    def fit(
        self,
        train: pd.DataFrame,
        y_train: np.ndarray,
        valid: pd.DataFrame,
        y_valid: np.ndarray,
        groups_valid: np.ndarray,
        reference: pd.DataFrame | None = None,
    ) -> RollRateModel:
        """Fit on the training window; early-stop, choose the model form and calibrate on validation.

        `groups_valid` (account ids) splits validation rows for the cross-fitted calibration choice.
        `reference` is the whole feature table the windows were cut from (default: `train`); the
        layout (columns, dtypes, category levels, and which columns hold missing values, which
        the served model checks its input against) is read from it, so that every row the
        features stage writes is accepted: unlabelled rows, such as paid-off accounts' rows
        whose `past_due_share` is missing (balance 0), never reach the training window.
        """
        y_train = np.asarray(y_train, dtype=np.int64)
        y_valid = np.asarray(y_valid, dtype=np.int64)
        layout = FeatureLayout.from_frame(train if reference is None else reference)
        X, Xv = layout.apply(train), layout.apply(valid)
        src, src_v = train[SOURCE].to_numpy(np.int64), valid[SOURCE].to_numpy(np.int64)
        wanted = self.params.model_form
        candidates: dict[str, RollRateScorer] = {}
        if wanted in ("auto", "multiclass"):
            classes = np.arange(self.n_buckets)
            models = {MULTICLASS: fit_submodel(X, y_train, Xv, y_valid, self.params.lightgbm, self.seed, classes)}
            candidates["multiclass"] = RollRateScorer(layout, self.n_buckets, self.absorbing, models, "multiclass")
        if wanted in ("auto", "per_source"):
            models = {
                int(s): self._fit_source(X, y_train, Xv, y_valid, src == s, src_v == s)
                for s in np.unique(src)
                if s != self.absorbing
            }
            candidates["per_source"] = RollRateScorer(layout, self.n_buckets, self.absorbing, models, "per_source")
        raw_valid = {name: scorer.raw(Xv, src_v) for name, scorer in candidates.items()}
        self.validation_logloss_ = {name: log_loss(y_valid, raw) for name, raw in raw_valid.items()}
        best = min(self.validation_logloss_, key=self.validation_logloss_.get)
        self.scorer_ = candidates[best]
        self.scorer_.calibrator, self.calibration_logloss_ = choose_calibration(
            raw_valid[best], y_valid, groups_valid, self.params.calibration
        )
        return self

    def _fit_source(
        self, X: pd.DataFrame, y: np.ndarray, Xv: pd.DataFrame, yv: np.ndarray, rows: np.ndarray, rows_v: np.ndarray
    ) -> SubModel:
        """The model of one source bucket; with a single outcome seen, its smoothed frequency row
        (as the Markov baseline would have it), never a certainty."""
        if len(np.unique(y[rows])) == 1:
            counts = np.bincount(y[rows], minlength=self.n_buckets) + self.params.smoothing
            return SubModel(np.arange(self.n_buckets), None, counts / counts.sum())
        return fit_submodel(X[rows], y[rows], Xv[rows_v], yv[rows_v], self.params.lightgbm, self.seed)

    # The fitted parts, as the scorer holds them (read-only views kept for callers and plots).
    @property
    def layout_(self) -> FeatureLayout:
        return self.scorer_.layout

    @property
    def models_(self) -> dict[int, SubModel]:
        return self.scorer_.models

    @property
    def model_form_(self) -> str:
        return self.scorer_.model_form

    @property
    def calibrator_(self) -> Calibrator:
        return self.scorer_.calibrator

    @property
    def calibration_(self) -> str:
        return self.calibrator_.method

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.scorer_.predict_proba(frame)

    def boosters(self) -> dict[int, lgb.Booster]:
        """Fitted boosters by source bucket (-1: the multiclass model)."""
        return {s: m.booster for s, m in self.models_.items() if m.booster is not None}

    def feature_importance(self) -> pd.Series:
        """Total gain per feature, summed over the boosters, largest first."""
        total = pd.Series(0.0, index=list(self.layout_.columns))
        for booster in self.boosters().values():
            total += (
                pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
                .reindex(total.index, fill_value=0.0)
                .to_numpy()
            )
        return total.sort_values(ascending=False)

    def contributions(self, frame: pd.DataFrame, source: int, target: int) -> tuple[np.ndarray, pd.DataFrame]:
        """TreeSHAP values (raw score scale) of class `target` for rows of `frame` in bucket `source`."""
        rows = frame[frame[SOURCE].to_numpy(np.int64) == source]
        X = self.layout_.apply(rows)
        model = self.models_.get(MULTICLASS, self.models_.get(source))
        if model is None or model.booster is None or target not in model.classes:
            return np.zeros((len(X), len(X.columns))), X
        contrib = model.booster.predict(X, pred_contrib=True, num_iteration=model.booster.best_iteration or None)
        n_features = len(X.columns) + 1
        k = int(np.flatnonzero(model.classes == target)[0])
        if len(model.classes) == 2:
            values = contrib if k == 1 else -contrib
        else:
            values = contrib[:, k * n_features : (k + 1) * n_features]
        return values[:, :-1], X
