"""Scoring next-bucket probabilities the way collections teams read them: per source bucket.

- log loss: multiclass, of the observed next bucket;
- Brier: multiclass, sum over buckets of the squared error, averaged over accounts;
- roll-forward AUC: how well P(next bucket > current bucket) ranks the accounts that roll;
- calibration error: expected calibration error of that roll-forward probability
  (equal-width bins, weighted by rows).

The scores themselves are the shared ones (models/common/metrics.py); this module decides what
they are computed on.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from models.common.metrics import auc, brier, calibration_error, calibration_table, log_loss


def roll_forward(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.asarray(target) > np.asarray(source)


def roll_forward_score(proba: np.ndarray, source: np.ndarray) -> np.ndarray:
    """P(next bucket > current bucket) for each row."""
    k = proba.shape[1]
    above = np.arange(k)[None, :] > np.asarray(source)[:, None]
    return (proba * above).sum(axis=1)


def scores(y: np.ndarray, proba: np.ndarray, source: np.ndarray, bins: int) -> dict[str, float]:
    """The four scores of one set of predictions."""
    if len(y) == 0:
        return {"logloss": math.nan, "brier": math.nan, "roll_forward_auc": math.nan, "calibration_error": math.nan}
    hit = roll_forward(source, y)
    score = roll_forward_score(proba, source)
    return {
        "logloss": log_loss(y, proba),
        "brier": brier(y, proba),
        "roll_forward_auc": auc(hit, score),
        "calibration_error": calibration_error(hit, score, bins),
    }


def evaluate(
    y: np.ndarray, source: np.ndarray, predictions: dict[str, np.ndarray], bucket_names: tuple[str, ...], bins: int
) -> dict[str, object]:
    """Overall and per-source-bucket scores for each named set of predictions (model, baseline)."""
    y = np.asarray(y, dtype=np.int64)
    source = np.asarray(source, dtype=np.int64)
    out: dict[str, object] = {"rows": int(len(y))}
    for name, proba in predictions.items():
        out[name] = scores(y, proba, source, bins)
    by_bucket: dict[str, object] = {}
    for code, bucket in enumerate(bucket_names):
        rows = source == code
        if not rows.any():
            continue
        entry: dict[str, object] = {
            "rows": int(rows.sum()),
            "roll_forward_rate": float(roll_forward(source[rows], y[rows]).mean()),
        }
        for name, proba in predictions.items():
            entry[name] = scores(y[rows], proba[rows], source[rows], bins)
        by_bucket[bucket] = entry
    out["by_bucket"] = by_bucket
    return out


def transition_matrices(
    y: np.ndarray, source: np.ndarray, predictions: dict[str, np.ndarray], bucket_names: tuple[str, ...]
) -> pd.DataFrame:
    """Long table (from, to, actual, <name>...) of actual and mean predicted transition rates."""
    y = np.asarray(y, dtype=np.int64)
    source = np.asarray(source, dtype=np.int64)
    k = len(bucket_names)
    rows = []
    for s in range(k):
        mask = source == s
        if not mask.any():
            continue
        actual = np.bincount(y[mask], minlength=k) / mask.sum()
        predicted = {name: proba[mask].mean(axis=0) for name, proba in predictions.items()}
        for t in range(k):
            rows.append(
                {
                    "from": bucket_names[s],
                    "to": bucket_names[t],
                    "rows": int(mask.sum()),
                    "actual": float(actual[t]),
                    **{name: float(p[t]) for name, p in predicted.items()},
                }
            )
    return pd.DataFrame(rows)


ALL = "all"


def _groups(source: np.ndarray, bucket_names: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    """("all", every row) first, then each source bucket that has rows."""
    source = np.asarray(source)
    out = [(ALL, np.ones(len(source), dtype=bool))]
    out += [(bucket, source == code) for code, bucket in enumerate(bucket_names) if (source == code).any()]
    return out


def roc_points(
    y: np.ndarray,
    source: np.ndarray,
    predictions: dict[str, np.ndarray],
    bucket_names: tuple[str, ...],
    max_points: int = 101,
) -> pd.DataFrame:
    """ROC curves of the roll-forward probability, all rows and per source bucket, per model
    (thinned to at most `max_points` points each)."""
    parts = []
    for bucket, rows in _groups(source, bucket_names):
        hit = roll_forward(np.asarray(source)[rows], np.asarray(y)[rows])
        if hit.all() or not hit.any():
            continue
        for name, proba in predictions.items():
            fpr, tpr, _ = roc_curve(hit, roll_forward_score(proba[rows], np.asarray(source)[rows]))
            keep = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).round().astype(int))
            parts.append(pd.DataFrame({"bucket": bucket, "model": name, "fpr": fpr[keep], "tpr": tpr[keep]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["bucket", "model", "fpr", "tpr"])


def calibration_points(
    y: np.ndarray, source: np.ndarray, predictions: dict[str, np.ndarray], bucket_names: tuple[str, ...], bins: int
) -> pd.DataFrame:
    """Reliability curves of the roll-forward probability, all rows and per source bucket, per model."""
    parts = []
    for bucket, rows in _groups(source, bucket_names):
        hit = roll_forward(np.asarray(source)[rows], np.asarray(y)[rows])
        for name, proba in predictions.items():
            table = calibration_table(hit, roll_forward_score(proba[rows], np.asarray(source)[rows]), bins)
            parts.append(
                table.assign(bucket=bucket, model=name)[["bucket", "model", "bin", "rows", "predicted", "observed"]]
            )
    columns = ["bucket", "model", "bin", "rows", "predicted", "observed"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
