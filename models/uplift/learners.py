"""Multi-treatment uplift learners with LightGBM base models: T-learner and DR-learner.

Both predict, per decision row and arm, the expected response (capped payment within the response
horizon) if that arm is taken, so that the effect of an arm is its prediction minus `none`'s.

* **T-learner**: one Tweedie regression of the response per arm, on the rows that took it (no-contact
  rows subsampled, weighted back). Unbiased per arm when the features hold every confounder the
  logging policy used, which holds here: the logging policy decides from the state frame.
* **DR-learner** (Kennedy 2023): cross-fitted T-learner outcomes and arm propensities give each row a
  doubly robust pseudo-outcome per arm, `mu_a - mu_0 + 1{A=a}(Y - mu_a)/e_a - 1{A=0}(Y - mu_0)/e_0`,
  regressed on the features. The arm propensities e are estimated (a multiclass LightGBM, clipped at
  `uplift.propensity_clip`): the log holds the probability of the exact channel x hour x offer taken,
  not of the arm (a channel at an hour band), which sums over hours and offers. Off-policy estimates
  use the logged propensities (models/uplift/ope.py).

**Calibration on the log** (`fit_calibration`, `calibrate_on_training`): the T-learner's Tweedie models
under-predict the logged response by about 30% on every window (docs/uplift.md). For the off-policy
estimates a per-arm recalibration (a ratio, or isotonic) is fitted on out-of-fold predictions of the
training window (2 folds by account, as the DR-learner's cross-fit): never on the test window, never on
anything the evaluation worlds hold. The served model and the greedy policy are not recalibrated.

Hand-written rather than causalml/econml: see docs/uplift.md (the library learners re-estimate
propensities for every treatment and fit one model per treatment pair against control, which is
what this does; neither can use the logged exact propensities for evaluation, and both add heavy
dependencies).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from core import progress
from core.params import LightGBMParams
from models.common.boosting import booster_params, fit_booster
from models.uplift.rows import FEATURES

MIN_ARM_ROWS = 100


def _regression(lgbm: LightGBMParams, seed: int, objective: str) -> dict[str, object]:
    p = booster_params(lgbm, seed, 2)
    p["objective"] = objective
    if objective == "tweedie":
        p["tweedie_variance_power"] = 1.5
    return p


def _fit(params, lgbm, X, y, w, Xv, yv) -> lgb.Booster:
    return fit_booster(params, lgbm, lgb.Dataset(X, label=y, weight=w, free_raw_data=True), Xv, yv)


def _matrix(X: pd.DataFrame) -> np.ndarray:
    """The features as one float matrix, converted once for every booster (LightGBM would convert per call)."""
    return X[list(FEATURES)].to_numpy(np.float64)


@dataclass
class UpliftModel:
    """Per-arm boosters: `reward[a]` predicts the response under arm a (T) or, for the DR-learner,
    `effect[a]` predicts the effect of arm a over `none` on top of `reward[0]`; `paid[a]` the probability
    of any payment (T-learner models, for reporting)."""

    learner: str
    n_arms: int
    reward: dict[int, lgb.Booster] = field(default_factory=dict)
    effect: dict[int, lgb.Booster] = field(default_factory=dict)
    paid: dict[int, lgb.Booster] = field(default_factory=dict)

    @property
    def supported(self) -> np.ndarray:
        """Arms the model can predict (enough logged rows to learn from)."""
        keys = self.effect if self.learner == "dr" else self.reward
        return np.array([a == 0 or a in keys for a in range(self.n_arms)])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """(rows, arms) expected response; NaN for arms the log does not support."""
        X = _matrix(X)
        out = np.full((len(X), self.n_arms), np.nan)
        out[:, 0] = self.reward[0].predict(X)
        for a in range(1, self.n_arms):
            if self.learner == "dr" and a in self.effect:
                out[:, a] = out[:, 0] + self.effect[a].predict(X)
            elif self.learner == "t" and a in self.reward:
                out[:, a] = self.reward[a].predict(X)
        return out

    def predict_paid(self, X: pd.DataFrame) -> np.ndarray:
        """(rows, arms) probability of any payment within the horizon (T-learner models)."""
        X = _matrix(X)
        out = np.full((len(X), self.n_arms), np.nan)
        for a, b in self.paid.items():
            out[:, a] = b.predict(X)
        return out


def _weights(frame: pd.DataFrame, none_sample: float) -> np.ndarray:
    """Inverse sampling probability of each row: its `weight` column (models/uplift/train.py samples), else
    the no-contact subsample's."""
    if "weight" in frame:
        return frame["weight"].to_numpy(np.float64)
    return np.where(frame["arm"].to_numpy() == 0, 1.0 / none_sample, 1.0)


def fit_t(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    n_arms: int,
    lgbm: LightGBMParams,
    seed: int,
    none_sample: float,
    with_paid: bool = True,
) -> UpliftModel:
    """One Tweedie regression (and one binary model of `paid`) per arm with enough rows. An arm none of whose
    rows was followed by a payment has nothing to learn (and LightGBM's Tweedie objective refuses labels that
    sum to zero): like an arm with too few rows, it gets no model, so no policy proposes it."""
    model = UpliftModel("t", n_arms)
    reg, clf = _regression(lgbm, seed, "tweedie"), booster_params(lgbm, seed, 2)
    for a in progress.track(range(n_arms), "uplift: T-learner", unit="arms"):
        tr, va = train[train["arm"] == a], valid[valid["arm"] == a]
        if len(tr) < MIN_ARM_ROWS or not (tr["reward"].to_numpy(np.float64) > 0).any():
            continue
        X, Xv, w = tr[list(FEATURES)], va[list(FEATURES)], _weights(tr, none_sample)
        model.reward[a] = _fit(reg, lgbm, X, tr["reward"].to_numpy(), w, Xv, va["reward"].to_numpy())
        if with_paid and tr["paid"].nunique() == 2:
            model.paid[a] = _fit(clf, lgbm, X, tr["paid"].to_numpy(int), w, Xv, va["paid"].to_numpy(int))
    return model


#: The arm-propensity model is a nuisance model with 15 classes (15 trees a round): lighter settings and at
#: most this many rows (a hash of the decision id, weighted back) keep it from dominating training time.
PROPENSITY_ROWS = 100_000
PROPENSITY_BOOSTING = {"num_leaves": 15, "learning_rate": 0.2, "n_estimators": 100, "early_stopping_rounds": 10}


def fit_arm_propensity(
    train: pd.DataFrame, valid: pd.DataFrame, n_arms: int, lgbm: LightGBMParams, seed: int, none_sample: float
) -> lgb.Booster:
    """Multiclass LightGBM of the arm taken given the features (weighted back for the subsamples)."""
    light = lgbm.model_copy(update=PROPENSITY_BOOSTING)
    p = booster_params(light, seed, n_arms)
    w = _weights(train, none_sample)
    share = min(1.0, PROPENSITY_ROWS / max(len(train), 1))
    keep = (train["decision_id"].to_numpy(np.int64) * 40503 % 2**32) / 2**32 < share
    X, y = train[list(FEATURES)][keep], train["arm"].to_numpy()[keep]
    return _fit(p, light, X, y, w[keep] / share, valid[list(FEATURES)], valid["arm"].to_numpy())


def arm_propensity(booster: lgb.Booster, X: pd.DataFrame, clip: float) -> np.ndarray:
    return np.clip(booster.predict(X[list(FEATURES)]), clip, 1.0)


def fit_dr(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    n_arms: int,
    lgbm: LightGBMParams,
    seed: int,
    none_sample: float,
    clip: float,
    t_model: UpliftModel | None = None,
) -> UpliftModel:
    """DR-learner: two folds by account cross-fit the outcome and propensity models; the effect of each
    arm over `none` is a regression of the doubly robust pseudo-outcome on the features. `t_model`: the
    T-learner already fitted on the same rows (its no-contact and probability models are reused)."""
    fold = (train["account_id"].to_numpy() * 2654435761 % 2**32) % 2
    mu = np.full((len(train), n_arms), np.nan)
    e = np.zeros((len(train), n_arms))
    for k in (0, 1):
        fit_rows, pred_rows = train[fold != k], fold == k
        m = fit_t(fit_rows, valid, n_arms, lgbm, seed, none_sample, with_paid=False)
        mu[pred_rows] = m.predict(train[pred_rows])
        prop = fit_arm_propensity(fit_rows, valid, n_arms, lgbm, seed, none_sample)
        e[pred_rows] = arm_propensity(prop, train[pred_rows], clip)
    full = t_model if t_model is not None else fit_t(train, valid, n_arms, lgbm, seed, none_sample, with_paid=True)
    model = UpliftModel("dr", n_arms, reward={0: full.reward[0]}, paid=full.paid)
    y, arm = train["reward"].to_numpy(), train["arm"].to_numpy()
    w = _weights(train, none_sample)
    X = train[list(FEATURES)]
    mu0 = mu[:, 0]
    base = np.where(arm == 0, (y - mu0) / e[:, 0], 0.0)
    reg = _regression(lgbm, seed, "regression")
    for a in range(1, n_arms):
        if a not in full.reward or np.isnan(mu[:, a]).any():
            continue
        phi = mu[:, a] - mu0 + np.where(arm == a, (y - mu[:, a]) / e[:, a], 0.0) - base
        model.effect[a] = lgb.train(reg, lgb.Dataset(X, label=phi, weight=w), num_boost_round=100)
    return model


# --- calibration of the outcome model on the log (docs/uplift.md, "Off-policy estimates") ---

#: How `fit_calibration` maps a prediction to a calibrated one, per arm.
CALIBRATION_METHODS = ("ratio", "isotonic")


@dataclass(frozen=True)
class Calibration:
    """Per-arm recalibration of the outcome model's expected response, fitted on out-of-fold predictions.

    ``ratio``: arm a's predictions times ``scale[a]`` (the weighted logged response over the weighted
    prediction on the arm's rows). ``isotonic``: a monotone step function per arm (knots ``knots[a]``),
    flat beyond its ends. Arms without enough rows keep their predictions (scale 1, no knots).
    """

    method: str
    scale: np.ndarray
    knots: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def apply(self, mu: np.ndarray) -> np.ndarray:
        """(rows, arms) predictions recalibrated; NaN (unsupported arms) stays NaN."""
        out = np.asarray(mu, np.float64) * self.scale[None, :]
        for a, (x, y) in self.knots.items():
            col = np.asarray(mu, np.float64)[:, a]
            out[:, a] = np.where(np.isnan(col), np.nan, np.interp(col, x, y))
        return out


def fit_calibration(
    mu: np.ndarray,
    arm: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None = None,
    method: str = "ratio",
    min_rows: int = MIN_ARM_ROWS,
) -> Calibration:
    """Fit a per-arm calibration of predictions ``mu`` (rows, arms) against logged responses.

    Parameters
    ----------
    mu : numpy.ndarray
        (rows, arms) predictions made WITHOUT the rows' own responses (out of fold: `crossfit_predictions`);
        in-sample predictions would calibrate the model to its own fit.
    arm, y : numpy.ndarray
        Per row: the arm taken and the logged response.
    weight : numpy.ndarray, optional
        Per row: inverse sampling probability (the training subsamples), default 1.
    method : {"ratio", "isotonic"}
        ``"ratio"`` (default): one scale per arm, what a model biased by a common factor needs, and it cannot
        chase the heavy tail of a few large payments; ``"isotonic"``: a monotone map per arm
        (sklearn's IsotonicRegression, stored as knots).
    min_rows : int
        Least rows of an arm to fit it; fewer keep the arm's predictions.
    """
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"unknown calibration {method!r}; one of {CALIBRATION_METHODS}")
    mu, arm, y = np.asarray(mu, np.float64), np.asarray(arm), np.asarray(y, np.float64)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, np.float64)
    n_arms = mu.shape[1]
    scale = np.ones(n_arms)
    knots: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for a in range(n_arms):
        rows = (arm == a) & ~np.isnan(mu[:, a])
        if rows.sum() < min_rows:
            continue
        pred, obs, wa = mu[rows, a], y[rows], w[rows]
        if method == "ratio":
            denom = float(np.sum(wa * pred))
            if denom > 0:
                scale[a] = float(np.sum(wa * obs)) / denom
        else:
            iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(pred, obs, sample_weight=wa)
            knots[a] = (np.asarray(iso.X_thresholds_, np.float64), np.asarray(iso.y_thresholds_, np.float64))
    return Calibration(method, scale, knots)


def crossfit_predictions(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    n_arms: int,
    lgbm: LightGBMParams,
    seed: int,
    none_sample: float,
    folds: int = 2,
) -> np.ndarray:
    """Out-of-fold T-learner predictions (rows of `train`, arms): folds by account (a hash, as `fit_dr`), each
    fold predicted by T-learner models fitted on the other folds (early-stopped on `valid`). What
    `fit_calibration` is fitted on: the model's error on rows it did not see, within the training window."""
    fold = (train["account_id"].to_numpy() * 2654435761 % 2**32) % folds
    mu = np.full((len(train), n_arms), np.nan)
    for k in range(folds):
        fit_rows, pred_rows = train[fold != k], fold == k
        if not pred_rows.any():
            continue
        m = fit_t(fit_rows, valid, n_arms, lgbm, seed, none_sample, with_paid=False)
        mu[pred_rows] = m.predict(train[pred_rows])
    return mu


def calibrate_on_training(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    n_arms: int,
    lgbm: LightGBMParams,
    seed: int,
    none_sample: float,
    method: str = "ratio",
) -> Calibration:
    """`fit_calibration` on `crossfit_predictions` of the training window (its sampling weights): never the test
    window, never anything of the evaluation worlds."""
    mu = crossfit_predictions(train, valid, n_arms, lgbm, seed, none_sample)
    arm, y = train["arm"].to_numpy(), train["reward"].to_numpy()
    return fit_calibration(mu, arm, y, _weights(train, none_sample), method)
