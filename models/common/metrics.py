"""Scores shared by every model family: log loss, Brier, AUC and calibration error.

Log loss and Brier are scikit-learn's (`log_loss`, `brier_score_loss`), called with every class
listed so that a class absent from a window still counts, and the multiclass Brier kept on its
original [0, 2] scale (sum over classes of the squared error, averaged over rows). The
calibration error is the expected calibration error over equal-width bins, weighted by rows;
scikit-learn has the curve (`calibration_curve`) but drops empty bins without their counts,
which the weighting needs, so the table is computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.metrics import log_loss as sk_log_loss


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the observed class; columns of `proba` are classes 0..K-1."""
    return float(sk_log_loss(np.asarray(y, dtype=np.int64), proba, labels=np.arange(proba.shape[1])))


def brier(y: np.ndarray, proba: np.ndarray) -> float:
    """Multiclass Brier score: sum over classes of the squared error, averaged over rows."""
    return float(
        brier_score_loss(np.asarray(y, dtype=np.int64), proba, labels=np.arange(proba.shape[1]), scale_by_half=False)
    )


def auc(hit: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC, NaN when only one outcome occurs."""
    hit = np.asarray(hit, dtype=bool)
    if hit.all() or not hit.any():
        return math.nan
    return float(roc_auc_score(hit, score))


def calibration_table(hit: np.ndarray, score: np.ndarray, bins: int) -> pd.DataFrame:
    """Per non-empty equal-width bin: rows, mean predicted probability, observed frequency."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "predicted": score, "observed": np.asarray(hit, dtype=float)})
    table = frame.groupby("bin").agg(
        rows=("predicted", "size"), predicted=("predicted", "mean"), observed=("observed", "mean")
    )
    return table.reset_index()


def calibration_error(hit: np.ndarray, score: np.ndarray, bins: int) -> float:
    """Expected calibration error: row-weighted mean |predicted - observed| over the bins."""
    if len(score) == 0:
        return math.nan
    table = calibration_table(hit, score, bins)
    return float((table["rows"] * (table["predicted"] - table["observed"]).abs()).sum() / table["rows"].sum())


#: Metrics are rounded so that a re-run reproduces them byte for byte.
ROUND = 6


def rounded(value: object) -> object:
    """`value` with every float (in nested dicts) rounded to ROUND digits; NaN becomes None."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if np.isnan(value) else float(round(value, ROUND)) + 0.0  # + 0.0: no "-0.0" in the JSON
    return value
