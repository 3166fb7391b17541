"""A plain baseline for every model family: a default LightGBM on the raw source columns of the same rows.

Each family's own baselines are the business's view (the roll rate's Markov matrix, the
propensity family's logistic regression); this one is what a data scientist would try first:
`lightgbm.LGBMClassifier()` with the library's defaults (no tuning, no early stopping, no
calibration), on the raw columns of the feature table (features/raw.py: the last statements'
days past due, balances, amounts due, past-due amounts and payments, and the account's own
columns), trained on the same training part as the family's model and scored on the same test
rows. A family's model must never be worse than it (`logloss_vs_plain` in the roll-rate metrics).
The K classes are codes 0..K-1 (buckets for the roll rate; 0/1 for a binary label).

Only the seed, the thread count and LightGBM's deterministic mode are set, so that a re-run reproduces
its figures. The mode needs row-wise (or col-wise) histograms forced: left to itself, LightGBM picks one by
timing both, so under load a re-run could pick the other and differ in the last digits (a flaky
`dvc repro` reproducibility test showed it).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.errors import DataError
from features.raw import raw_columns
from models.common.calibration import clip_normalise


class PlainLGBM:
    """`LGBMClassifier()` (library defaults) on the raw source columns; probabilities over K classes."""

    def __init__(self, n_buckets: int, seed: int = 0, threads: int = 2) -> None:
        self.n_buckets = n_buckets
        self.seed = seed
        self.threads = threads

    def _X(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[self.columns_]

    def fit(self, frame: pd.DataFrame, y: np.ndarray, rows: np.ndarray | None = None) -> PlainLGBM:
        """Train on `frame` (or its `rows`, positions; `y` is then given for those rows)."""
        self.columns_ = raw_columns(frame.columns)
        if not self.columns_:
            raise DataError("features", "required_columns", "no raw source column (features/raw.py) to train on")
        X = self._X(frame) if rows is None else self._X(frame).iloc[rows]
        self.model_ = lgb.LGBMClassifier(
            random_state=self.seed, n_jobs=self.threads, deterministic=True, force_row_wise=True, verbose=-1
        )
        self.model_.fit(X, np.asarray(y, dtype=np.int64))
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(frame), self.n_buckets))
        out[:, self.model_.classes_] = self.model_.predict_proba(self._X(frame))
        return clip_normalise(out)
