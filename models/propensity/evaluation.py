"""Scoring P(paid) and the expected amount on the test rows: the tables collections teams read.

For each set of probabilities (model, baseline, plain_lgbm): AUC (ranking), Brier (scikit-learn's
binary `brier_score_loss`, on [0, 1]), log loss, the expected calibration error (equal-width bins,
weighted by rows) and the lift of the top score decile. Lift by decile: rows sorted by score
(highest first, ties in row order), cut into ten equal parts; a decile's lift is its observed
payment rate over the rate of all test rows, so a worklist of the top decile pays `lift` times as
often as a random one. The expected amount is scored by its mean absolute error and by the ratio
of the predicted to the paid total (1: the book's cash is forecast right).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, mean_absolute_error

from models.common.metrics import auc, calibration_error, calibration_table, log_loss

DECILES = 10


def lift_table(hit: np.ndarray, score: np.ndarray, deciles: int = DECILES) -> pd.DataFrame:
    """Per score decile (1: highest scores): rows, mean predicted, observed rate, lift, cumulative capture."""
    hit = np.asarray(hit, dtype=np.float64)
    n = len(hit)
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
    decile = np.empty(n, dtype=np.int64)
    decile[order] = np.arange(n) * deciles // max(n, 1)
    frame = pd.DataFrame({"decile": decile + 1, "predicted": score, "observed": hit})
    table = frame.groupby("decile").agg(
        rows=("observed", "size"), predicted=("predicted", "mean"), observed=("observed", "mean")
    )
    rate = hit.mean() if n else math.nan
    table["lift"] = table["observed"] / rate if rate > 0 else math.nan
    hits = frame.groupby("decile")["observed"].sum().cumsum()
    table["cumulative_capture"] = hits / hit.sum() if hit.sum() > 0 else math.nan
    return table.reset_index()


def scores(hit: np.ndarray, p: np.ndarray, bins: int) -> dict[str, float]:
    hit = np.asarray(hit, dtype=bool)
    lift = lift_table(hit, p)
    return {
        "auc": auc(hit, p),
        "brier": float(brier_score_loss(hit, p)),
        "logloss": log_loss(hit.astype(np.int64), np.column_stack([1 - p, p])),
        "calibration_error": calibration_error(hit, p, bins),
        "lift_top_decile": float(lift["lift"].iloc[0]),
    }


def amount_scores(paid: np.ndarray, expected: np.ndarray) -> dict[str, float]:
    paid = np.asarray(paid, dtype=np.float64)
    return {
        "mae": float(mean_absolute_error(paid, expected)),
        "total_ratio": float(np.sum(expected) / np.sum(paid)) if np.sum(paid) > 0 else math.nan,
        "mean_paid": float(paid.mean()),
        "mean_expected": float(np.mean(expected)),
    }


def curves(hit: np.ndarray, predictions: dict[str, np.ndarray], panel: str, bins: int) -> tuple[pd.DataFrame, ...]:
    """Calibration and lift tables of each named set of probabilities, long, tagged with `panel`."""
    cal = [
        calibration_table(hit, p, bins).assign(bucket=panel, model=name)[
            ["bucket", "model", "bin", "rows", "predicted", "observed"]
        ]
        for name, p in predictions.items()
    ]
    lift = [lift_table(hit, p).assign(bucket=panel, model=name) for name, p in predictions.items()]
    return pd.concat(cal, ignore_index=True), pd.concat(lift, ignore_index=True)
