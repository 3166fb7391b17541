"""Calibrating multiclass probabilities: one-vs-rest isotonic or Platt, then renormalised.

Boosted trees trained to early stopping are usually close to calibrated on the training
months but drift on later ones; the calibrator is fitted on the validation window (later
than training) so that the probabilities that reach the flow-rate forecast add up to the
balances that actually roll. Which method is chosen on validation by cross-fitting (fit on
half of the accounts, score on the other half, and back), because a calibrator scored on the
rows it was fitted on always looks best, isotonic most of all.

A fitted calibrator keeps only plain numbers (Platt: slope and intercept on the logit; isotonic:
the step function's knots), never the sklearn estimators: the same numbers score in memory and
in the registered model's JSON, so the served probabilities are the evaluated ones and loading
them unpickles nothing.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from models.common.metrics import log_loss

#: Probability floor after calibration: no next bucket is ever impossible for the loss.
EPS = 1e-6
METHODS = ("none", "platt", "isotonic")


def clip_normalise(proba: np.ndarray) -> np.ndarray:
    out = np.clip(proba, EPS, 1.0)
    return out / out.sum(axis=1, keepdims=True)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


class Calibrator:
    """Per-class one-vs-rest calibration of a (n, K) probability matrix."""

    def __init__(self, method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown calibration {method!r}; one of {METHODS}")
        self.method = method

    def fit(self, proba: np.ndarray, y: np.ndarray) -> Calibrator:
        y = np.asarray(y, dtype=np.int64)
        self.maps_: dict[int, dict[str, object]] = {}
        if self.method == "none":
            return self
        for k in range(proba.shape[1]):
            hit = (y == k).astype(np.int64)
            if hit.min() == hit.max():  # class always or never observed: nothing to learn
                continue
            if self.method == "platt":
                fitted = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(proba[:, [k]]), hit)
                self.maps_[k] = {"coef": float(fitted.coef_[0, 0]), "intercept": float(fitted.intercept_[0])}
            else:
                fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(proba[:, k], hit)
                self.maps_[k] = {
                    "x": fitted.X_thresholds_.astype(np.float64),
                    "y": fitted.y_thresholds_.astype(np.float64),
                }
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        """What the sklearn estimators would predict: Platt is `LogisticRegression.predict_proba`
        on the logit (expit of slope * logit + intercept); isotonic is
        `IsotonicRegression(out_of_bounds="clip").predict`, linear between knots and flat
        beyond them, which is exactly `np.interp`."""
        out = np.array(proba, dtype=np.float64, copy=True)
        for k, fitted in self.maps_.items():
            if self.method == "platt":
                out[:, k] = expit(_logit(out[:, k]) * fitted["coef"] + fitted["intercept"])
            else:
                out[:, k] = np.interp(out[:, k], fitted["x"], fitted["y"])
        return clip_normalise(out)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready parameters: {"method", "maps": {class code (str): parameters}}."""
        maps = {
            str(k): {name: value.tolist() if isinstance(value, np.ndarray) else value for name, value in fitted.items()}
            for k, fitted in self.maps_.items()
        }
        return {"method": self.method, "maps": maps}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        """The fitted calibrator `to_dict` described (JSON floats round-trip exactly)."""
        out = cls(str(data["method"]))
        out.maps_ = {}
        for k, fitted in dict(data["maps"]).items():
            if out.method == "platt":
                out.maps_[int(k)] = {"coef": float(fitted["coef"]), "intercept": float(fitted["intercept"])}
            else:
                x, y = (np.asarray(fitted[name], dtype=np.float64) for name in ("x", "y"))
                if x.ndim != 1 or x.shape != y.shape or len(x) == 0 or np.any(np.diff(x) <= 0):
                    raise ValueError(f"isotonic map of class {k}: knots must be increasing with one y each")
                out.maps_[int(k)] = {"x": x, "y": y}
        return out


def cross_fitted_losses(proba: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Log loss of each method fitted on one half of the groups and scored on the other (both ways)."""
    half = (np.asarray(groups, dtype=np.int64) % 2) == 0
    losses = {}
    for method in METHODS:
        total = 0.0
        for fit_rows in (half, ~half):
            score_rows = ~fit_rows
            if not fit_rows.any() or not score_rows.any():
                continue
            cal = Calibrator(method).fit(proba[fit_rows], y[fit_rows])
            total += log_loss(y[score_rows], cal.transform(proba[score_rows])) * score_rows.sum()
        losses[method] = total / len(y)
    return losses


def choose_calibration(
    proba: np.ndarray, y: np.ndarray, groups: np.ndarray, wanted: str = "auto"
) -> tuple[Calibrator, dict[str, float]]:
    """The calibrator (`wanted`, or the best cross-fitted one for `auto`) fitted on all rows."""
    losses = cross_fitted_losses(proba, y, groups)
    method = min(losses, key=losses.get) if wanted == "auto" else wanted
    return Calibrator(method).fit(proba, y), losses
