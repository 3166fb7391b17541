"""The roll-rate model: LightGBM predicting each account's bucket at the next cycle, calibrated.

Two shapes are tried (params `roll_rate.model_form`): one multiclass model over all buckets, with
the current bucket as a feature, or one model per source bucket over the next buckets seen
from it (most rows are current accounts with two possible outcomes, so that model is binary
and cheap). `auto` keeps whichever has the lower validation log loss.

Two ways to fit, one per split (params `roll_rate.split.method`):

- `fit` (time split): early stopping and calibration use the validation window, which lies after
  the training months;
- `fit_cv` (account split): the whole training part trains. Inner folds by account each
  early-stop one booster (`cv_bag`, the CV bagging of the next-month default benchmark,
  models/roll_rate/default_cv.py, which uses the same function); their out-of-fold predictions,
  each made by a booster that never saw the row, choose the model form and the calibration and
  fit it; the model scores with the mean of the fold boosters.

Fitting ends in a `RollRateScorer` (models/scoring.py): the layout, sub-models and calibrator
that scoring reads, with no trace of how they were chosen. `predict_proba` delegates to it, and
the registered MLflow model is that scorer saved as files, so both score through the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import lightgbm as lgb
import numpy as np
import pandas as pd

from core import progress
from core.contracts import SOURCE_BUCKET as SOURCE
from core.params import LightGBMParams, RollRateParams
from models.common.boosting import booster_params
from models.common.boosting import fit_booster as _fit_booster
from models.common.calibration import Calibrator, choose_calibration
from models.common.dataset import FeatureLayout
from models.common.metrics import log_loss
from models.common.split import account_folds
from models.roll_rate.scoring import MULTICLASS, RollRateScorer, SubModel

__all__ = ["Binned", "RollRateModel", "SubModel", "booster_params", "cv_bag", "fit_submodel", "merge_submodels"]
T = TypeVar("T")
#: `auto` fits only the per-source form when every modelled source bucket has at least this many
#: minimum leaves (`lightgbm.min_child_samples`) of training rows.
SHARE_BELOW = 10
#: Histogram layout of the per-source boosters (their datasets are built with it, and trained with it).
#: LightGBM 4.7's row-wise histograms break its own split bookkeeping on some small, sparse buckets (fatal
#: "Check failed: best_split_info.left_count > 0", then heap corruption: the process dies without a
#: traceback; seen on bucket 1 of a 3,000-account, 24-cycle book). Column-wise histograms give the same
#: trees wherever row-wise ones work (identical predictions, measured) and never hit it.
SOURCE_HISTOGRAMS = {"force_row_wise": False, "force_col_wise": True}


def _rows(values: pd.Series, rows: np.ndarray | None) -> pd.Series:
    return values if rows is None else values.iloc[rows]


class Binned:
    """Training rows binned once for LightGBM, shared by every sub-model trained on them.

    The rows' features are laid out as one row-major float32 matrix (`FeatureLayout.matrix`, the
    only full-size copy), binned by LightGBM without a further copy (bin edges from all the
    training rows) and freed; the multiclass model trains on the binned rows. Each source bucket's
    model trains on its own rows laid out again (one bucket's float copy at a time) and binned with
    the whole set's bin edges (`reference`), so every sub-model sees the same bins, with column-wise
    histograms (SOURCE_HISTOGRAMS). Not `Dataset.subset`: column-wise training on a subset of the
    row-wise set corrupts LightGBM 4.7's heap on the default book. Category columns are binned from
    their codes among the layout's levels, which is how a frame laid out by `FeatureLayout.apply` is
    scored.
    """

    def __init__(
        self, layout: FeatureLayout, frame: pd.DataFrame, rows: np.ndarray | None, lgbm: LightGBMParams, seed: int
    ) -> None:
        self.params = {k: v for k, v in booster_params(lgbm, seed, 2).items() if k != "objective"}
        self.layout, self.frame = layout, frame
        self.positions = np.arange(len(frame)) if rows is None else np.asarray(rows)
        matrix = layout.matrix(frame, rows)
        self.dataset = self._binned(matrix, None)

    def _binned(self, matrix: np.ndarray, reference: lgb.Dataset | None) -> lgb.Dataset:
        return lgb.Dataset(
            matrix,
            label=np.zeros(len(matrix)),
            feature_name=list(self.layout.columns),
            categorical_feature=self.layout.categorical,
            params=self.params if reference is None else self.params | SOURCE_HISTOGRAMS,
            reference=reference,
            free_raw_data=True,
        ).construct()

    def take(self, rows: np.ndarray | None, label: np.ndarray) -> lgb.Dataset:
        """The binned rows (boolean mask; None: all of them) with `label`; a part of them is laid out for
        column-wise histograms (SOURCE_HISTOGRAMS), which the booster trained on it must use too."""
        if rows is None:
            data = self.dataset
        else:
            data = self._binned(self.layout.matrix(self.frame, self.positions[np.flatnonzero(rows)]), self.dataset)
        data.set_label(label)
        return data


def fit_submodel(
    X: pd.DataFrame | Binned,
    y: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    lgbm: LightGBMParams,
    seed: int,
    classes: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> SubModel:
    """A booster over the classes seen in `y` (or `classes`), trained on `X` (or its `rows`, a
    boolean mask, with `y` given for all of `X`); validation rows of unseen classes are dropped."""
    y = y if rows is None else y[rows]
    classes = np.unique(y) if classes is None else np.asarray(classes)
    if len(classes) == 1:
        return SubModel(classes, (), np.ones(1))
    local = np.searchsorted(classes, y)
    known = np.isin(y_valid, classes)
    local_valid = np.searchsorted(classes, y_valid[known])
    params = booster_params(lgbm, seed, len(classes))
    if isinstance(X, Binned):
        train = X.take(rows, local)
        if rows is not None:
            params |= SOURCE_HISTOGRAMS
    else:
        train = lgb.Dataset(X if rows is None else X[rows], label=local, free_raw_data=True)
    booster = _fit_booster(params, lgbm, train, X_valid[known], local_valid)
    return SubModel(classes, (booster,))


def cv_bag(
    fold: np.ndarray, fit: Callable[[np.ndarray, np.ndarray], T], predict: Callable[[T, np.ndarray], np.ndarray]
) -> tuple[list[T], np.ndarray]:
    """CV bagging: for each inner fold j, `fit(fit_rows, stop_rows)` (boolean masks: fold != j, fold
    == j; early stopping on the stop rows), then `predict(fitted, stop_rows)`. Returns the fitted
    models and their out-of-fold predictions: every row predicted by the model that did not train on it."""
    fitted, oof = [], None
    for j in progress.track(np.unique(fold), "roll rate: inner folds", unit="folds"):
        stop = fold == j
        model = fit(~stop, stop)
        part = predict(model, stop)
        if oof is None:
            oof = np.zeros((len(fold), *part.shape[1:]))
        oof[stop] = part
        fitted.append(model)
    return fitted, oof


def merge_submodels(parts: list[SubModel]) -> SubModel:
    """One sub-model scoring with the mean of the parts' boosters (all over the same classes)."""
    classes = parts[0].classes
    if any(not np.array_equal(p.classes, classes) for p in parts):
        raise ValueError("only sub-models over the same classes can be merged")
    if all(not p.boosters for p in parts):
        return SubModel(classes, (), np.mean([p.constant for p in parts], axis=0))
    if any(not p.boosters for p in parts):
        raise ValueError("cannot merge boosters with constants")
    return SubModel(classes, tuple(b for p in parts for b in p.boosters))


class RollRateModel:
    """Calibrated next-bucket probabilities (n, K) from a feature frame holding the `bucket` column."""

    def __init__(self, params: RollRateParams, n_buckets: int, seed: int = 0) -> None:
        self.params = params
        self.n_buckets = n_buckets
        self.seed = seed

    @property
    def absorbing(self) -> int | None:
        """The absorbing bucket (the last one, charge-off), or None (`absorbing_last_bucket: false`)."""
        return self.n_buckets - 1 if self.params.absorbing_last_bucket else None

    def _forms(self, plan: dict[int, np.ndarray | None], src: np.ndarray) -> tuple[str, ...]:
        """The model forms to fit. `auto` fits both and keeps the better on held-out rows, unless
        every source bucket with a model of its own has at least `SHARE_BELOW` minimum leaves of
        rows: then each can grow its own trees, sharing them (the multiclass form) buys nothing,
        and only the per-source form is fitted."""
        wanted = self.params.model_form
        if wanted != "auto":
            return (wanted,)
        modelled = [s for s, classes in plan.items() if classes is not None]
        least = min((int((src == s).sum()) for s in modelled), default=0)
        if modelled and least >= SHARE_BELOW * self.params.lightgbm.min_child_samples:
            return ("per_source",)
        return ("multiclass", "per_source")

    def _scorer(self, layout: FeatureLayout, models: dict[int, SubModel], form: str) -> RollRateScorer:
        return RollRateScorer(layout, self.n_buckets, self.absorbing, models, form)

    def fit(
        self,
        train: pd.DataFrame,
        y_train: np.ndarray,
        valid: pd.DataFrame,
        y_valid: np.ndarray,
        groups_valid: np.ndarray,
        reference: pd.DataFrame | None = None,
        train_rows: np.ndarray | None = None,
        valid_rows: np.ndarray | None = None,
    ) -> RollRateModel:
        """Fit on the training window; early-stop, choose the model form and calibrate on validation.

        `groups_valid` (account ids) splits validation rows for the cross-fitted calibration choice.
        `reference` is the whole feature table the windows were cut from (default: `train`); the
        layout (columns, dtypes, category levels, and which columns hold missing values, which
        the served model checks its input against) is read from it, so that every row the
        features stage writes is accepted: unlabelled rows, such as paid-off accounts' rows
        whose `past_due_share` is missing (balance 0), never reach the training window.

        `train_rows` and `valid_rows` (positions) pick the windows' rows out of `train` and `valid`
        (then both may be the whole table): only the layout's columns of those rows are copied.
        The training matrix is binned once (`Binned`) and freed before any booster trains.
        """
        y_train = np.asarray(y_train, dtype=np.int64)
        y_valid = np.asarray(y_valid, dtype=np.int64)
        layout = FeatureLayout.from_frame(train if reference is None else reference)
        src = _rows(train[SOURCE], train_rows).to_numpy(np.int64)
        src_v = _rows(valid[SOURCE], valid_rows).to_numpy(np.int64)
        binned = Binned(layout, train, train_rows, self.params.lightgbm, self.seed)
        Xv = layout.apply(valid, valid_rows)
        plan = self._plan(src, y_train)
        candidates = {
            form: self._scorer(layout, self._fit_form(form, plan, binned, y_train, src, Xv, y_valid, src_v), form)
            for form in self._forms(plan, src)
        }
        del binned
        raw_valid = {name: scorer.raw(Xv, src_v) for name, scorer in candidates.items()}
        return self._choose(candidates, raw_valid, y_valid, groups_valid)

    def fit_cv(
        self, train: pd.DataFrame, y_train: np.ndarray, groups: np.ndarray, reference: pd.DataFrame | None = None
    ) -> RollRateModel:
        """Fit on the whole of `train` (the account split's training part), by inner folds of
        accounts (`groups`, params `split.inner_folds`): each inner fold early-stops one booster per
        sub-model trained on the other folds; the boosters' out-of-fold predictions choose the model
        form and the calibration (cross-fitted by account) and fit it; scoring takes their mean.
        `reference` as in `fit`."""
        y_train = np.asarray(y_train, dtype=np.int64)
        groups = np.asarray(groups, dtype=np.int64)
        layout = FeatureLayout.from_frame(train if reference is None else reference)
        X = layout.apply(train)
        src = train[SOURCE].to_numpy(np.int64)
        fold = account_folds(groups, self.params.split.inner_folds, self.seed + 1)
        candidates, raw_oof = {}, {}
        plan = self._plan(src, y_train, fold)
        for form in self._forms(plan, src):

            def fit(rows: np.ndarray, stop: np.ndarray, form: str = form, plan: dict = plan) -> dict[int, SubModel]:
                return self._fit_form(form, plan, X[rows], y_train[rows], src[rows], X[stop], y_train[stop], src[stop])

            def predict(models: dict[int, SubModel], stop: np.ndarray, form: str = form) -> np.ndarray:
                return self._scorer(layout, models, form).raw(X[stop], src[stop])

            parts, raw_oof[form] = cv_bag(fold, fit, predict)
            merged = {key: merge_submodels([p[key] for p in parts]) for key in parts[0]}
            candidates[form] = self._scorer(layout, merged, form)
        return self._choose(candidates, raw_oof, y_train, groups)

    def _choose(
        self, candidates: dict[str, RollRateScorer], raw: dict[str, np.ndarray], y: np.ndarray, groups: np.ndarray
    ) -> RollRateModel:
        """Keep the form with the lower log loss on `raw` (held-out predictions) and calibrate it on them."""
        self.validation_logloss_ = {name: log_loss(y, p) for name, p in raw.items()}
        best = min(self.validation_logloss_, key=self.validation_logloss_.get)
        self.scorer_ = candidates[best]
        self.scorer_.calibrator, self.calibration_logloss_ = choose_calibration(
            raw[best], y, groups, self.params.calibration
        )
        return self

    def _plan(self, src: np.ndarray, y: np.ndarray, fold: np.ndarray | None = None) -> dict[int, np.ndarray | None]:
        """Per source bucket to model (per-source form): the classes its boosters predict, or None for
        a constant row: when a single outcome is seen from it (or, with inner folds, when some
        fold's training rows see fewer than two), its smoothed frequency row, never a certainty."""
        plan: dict[int, np.ndarray | None] = {}
        for s in np.unique(src):
            if s == self.absorbing:
                continue
            rows = src == s
            classes = np.unique(y[rows])
            enough = len(classes) > 1
            if enough and fold is not None:
                enough = all(len(np.unique(y[rows & (fold != j)])) > 1 for j in np.unique(fold))
            plan[int(s)] = classes if enough else None
        return plan

    def _fit_form(
        self,
        form: str,
        plan: dict[int, np.ndarray | None],
        X: pd.DataFrame | Binned,
        y: np.ndarray,
        src: np.ndarray,
        Xv: pd.DataFrame,
        yv: np.ndarray,
        src_v: np.ndarray,
    ) -> dict[int, SubModel]:
        """The sub-models of one form trained on (X, y), early-stopped on (Xv, yv)."""
        lgbm, seed = self.params.lightgbm, self.seed
        if form == "multiclass":
            return {MULTICLASS: fit_submodel(X, y, Xv, yv, lgbm, seed, np.arange(self.n_buckets))}
        out: dict[int, SubModel] = {}
        for s, classes in plan.items():
            rows, rows_v = src == s, src_v == s
            if classes is None:
                counts = np.bincount(y[rows], minlength=self.n_buckets) + self.params.smoothing
                out[s] = SubModel(np.arange(self.n_buckets), (), counts / counts.sum())
            else:
                out[s] = fit_submodel(X, y, Xv[rows_v], yv[rows_v], lgbm, seed, classes, rows=rows)
        return out

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

    def boosters(self) -> dict[int, tuple[lgb.Booster, ...]]:
        """Fitted boosters by source bucket (-1: the multiclass model); several per key when trained by inner folds."""
        return {s: m.boosters for s, m in self.models_.items() if m.boosters}

    def feature_importance(self) -> pd.Series:
        """Total gain per feature, summed over the boosters (inner-fold boosters averaged), largest first."""
        total = pd.Series(0.0, index=list(self.layout_.columns))
        for members in self.boosters().values():
            for booster in members:
                total += (
                    pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
                    .reindex(total.index, fill_value=0.0)
                    .to_numpy()
                ) / len(members)
        return total.sort_values(ascending=False)

    def contributions(self, frame: pd.DataFrame, source: int, target: int) -> tuple[np.ndarray, pd.DataFrame]:
        """TreeSHAP values (raw score scale) of class `target` for rows of `frame` in bucket `source`."""
        rows = frame[frame[SOURCE].to_numpy(np.int64) == source]
        X = self.layout_.apply(rows)
        model = self.models_.get(MULTICLASS, self.models_.get(source))
        if model is None or not model.boosters or target not in model.classes:
            return np.zeros((len(X), len(X.columns))), X
        # the scorer's mean of the boosters' probabilities is not a sum of raw scores; the mean of
        # their contributions explains the mean raw score, which ranks the same way
        contrib = np.mean(
            [b.predict(X, pred_contrib=True, num_iteration=b.best_iteration or None) for b in model.boosters], axis=0
        )
        n_features = len(X.columns) + 1
        k = int(np.flatnonzero(model.classes == target)[0])
        if len(model.classes) == 2:
            values = contrib if k == 1 else -contrib
        else:
            values = contrib[:, k * n_features : (k + 1) * n_features]
        return values[:, :-1], X
