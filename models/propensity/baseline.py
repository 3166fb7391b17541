"""The simple baseline: a logistic regression on a handful of features (params `propensity.baseline_features`).

The default four are what a collections scorecard reads first: how late the account is
(`days_past_due`), how much it owes past due (`past_due_amount`), how much of what was due it paid
over the last three cycles (`paid_to_due_3c`) and how long since its last payment
(`days_since_payment`). Each goes through a signed log (amounts and day counts are skewed), missing
values are filled with the training median with an indicator column (no payment yet is
information), then standardised; scikit-learn's `LogisticRegression` with its default L2 penalty.
It trains on the training and validation windows (it has no use for early stopping) and is not
recalibrated: a logistic regression fitted by maximum likelihood is calibrated on its own rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from core.errors import DataError


def signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


class LogisticBaseline:
    """P(label) from `columns` of a feature frame."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)

    def _X(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError("features", "required_columns", f"baseline feature(s) {missing} missing", column=missing[0])
        return np.column_stack(
            [pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64, na_value=np.nan) for c in self.columns]
        )

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> LogisticBaseline:
        self.model_ = make_pipeline(
            FunctionTransformer(signed_log),
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        ).fit(self._X(frame), np.asarray(y, dtype=np.int64))
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """P(label = 1) per row."""
        return self.model_.predict_proba(self._X(frame))[:, 1]
