"""The modelling table: features joined to next-cycle labels, and the model's column contract.

Models are written over whatever the feature table holds: every numeric, bool or category
column except the keys and labels is a feature. `FeatureLayout` records, at fit time, the
columns and each category's levels, so that scoring frames (tomorrow's rows, the pyfunc input
whose categories arrive as strings) are laid out exactly as in training.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import DataError

KEYS = ("account_id", "as_of_date")
TARGET = "next_bucket"
#: Feature columns the roll-rate models need beyond the generic ones.
SOURCE = "bucket"


def feature_columns(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """Numeric, bool and category columns of `frame` except keys, labels and `exclude`."""
    skip = set(KEYS) | {TARGET} | set(exclude)
    out = []
    for name, dtype in frame.dtypes.items():
        if name in skip:
            continue
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype) \
                or pd.api.types.is_numeric_dtype(dtype):
            out.append(name)
    return out


def join_labels(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Features with the `next_bucket` label (nullable) on the same keys; other labels are dropped."""
    for name, frame in (("features", features), ("labels", labels)):
        missing = [c for c in (*KEYS, *( (SOURCE,) if name == "features" else (TARGET,))) if c not in frame.columns]
        if missing:
            raise DataError(name, "required_columns", f"missing column(s) {missing}", column=missing[0])
    right = labels[[*KEYS, TARGET]]
    if len(features) == len(right) and features[list(KEYS)].reset_index(drop=True).equals(
            right[list(KEYS)].reset_index(drop=True)):
        out = features.reset_index(drop=True).copy()
        out[TARGET] = right[TARGET].to_numpy()
        return out
    return features.merge(right, on=list(KEYS), how="left", validate="one_to_one")


@dataclass(frozen=True)
class FeatureLayout:
    """The columns a fitted model reads, in order, with the levels of each category column."""

    columns: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    #: bool columns: kept bool in the MLflow signature (MLflow will not cast bool to double)
    flags: tuple[str, ...] = ()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, exclude: Iterable[str] = ()) -> "FeatureLayout":
        columns = feature_columns(frame, exclude)
        categories = {c: tuple(str(v) for v in frame[c].cat.categories) for c in columns
                      if isinstance(frame[c].dtype, pd.CategoricalDtype)}
        flags = tuple(c for c in columns if pd.api.types.is_bool_dtype(frame[c].dtype) and not frame[c].hasnans)
        return cls(tuple(columns), categories, flags)

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` restricted to the layout: categories re-levelled, every other column float32."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError("features", "required_columns", f"missing feature column(s) {missing}", column=missing[0])
        out = {}
        for c in self.columns:
            values = frame[c]
            if c in self.categories:
                out[c] = pd.Categorical(_as_text(values), categories=list(self.categories[c]))
            else:
                out[c] = pd.to_numeric(values, errors="coerce").astype("float32").to_numpy()
        return pd.DataFrame(out, index=frame.index)

    def example_input(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` as a plain table for MLflow signatures: categories as strings, flags as bool,
        other numbers as float64 (so integer inputs are accepted too)."""
        out = {}
        for c in self.columns:
            values = frame[c]
            if c in self.categories:
                out[c] = _as_text(values)
            elif c in self.flags:
                out[c] = values.astype(bool).to_numpy()
            else:
                out[c] = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
        return pd.DataFrame(out, index=frame.index)


def _as_text(values: pd.Series) -> pd.Series:
    """Values as Python strings (object dtype), missing values as None."""
    text = values.astype(object)
    return text.where(text.isna(), text.astype(str)).where(text.notna(), None)


def source_buckets(frame: pd.DataFrame) -> np.ndarray:
    return frame[SOURCE].to_numpy(dtype=np.int64)
