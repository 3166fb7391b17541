"""Delinquency buckets derived from days past due, with edges from params.yaml.

Buckets are never stored in the data: a lender that changes its bucket policy re-derives
them, and every stage derives them the same way through this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Buckets:
    """Ordered buckets; bucket i holds min_dpd[i] <= dpd < min_dpd[i+1]; the last is charge-off."""

    names: tuple[str, ...]
    min_dpd: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.min_dpd) or len(self.names) < 2:
            raise ValueError("buckets need as many names as lower edges, and at least two")
        if self.min_dpd[0] != 0 or list(self.min_dpd) != sorted(set(self.min_dpd)):
            raise ValueError("bucket edges must start at 0 and strictly increase")

    @property
    def charge_off(self) -> int:
        """Index of the absorbing charge-off bucket (the last one)."""
        return len(self.names) - 1

    def code(self, days_past_due: np.ndarray | pd.Series) -> np.ndarray:
        """Bucket index (int8) for each days-past-due value."""
        dpd = np.asarray(days_past_due)
        return (np.searchsorted(np.asarray(self.min_dpd), dpd, side="right") - 1).astype(np.int8)

    def of_account(self, days_past_due: np.ndarray, charged_off: np.ndarray) -> np.ndarray:
        """Bucket index (int64) of each account: its days past due's (missing: 0), and charge-off for an account
        written off, whatever its days past due (a state frame's or a decision row's view of the account)."""
        dpd = np.nan_to_num(np.asarray(days_past_due, dtype=np.float64)).astype(np.int64)
        return np.where(np.asarray(charged_off, dtype=bool), self.charge_off, self.code(dpd).astype(np.int64))

    def label(self, days_past_due: np.ndarray | pd.Series) -> pd.Categorical:
        return pd.Categorical.from_codes(self.code(days_past_due), categories=list(self.names), ordered=True)
