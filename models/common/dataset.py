"""The modelling table: features joined to one label, and the model's column contract.

Models are written over whatever the feature table holds: every numeric, bool or category
column except the keys and the labels is a feature. Keys and labels are those of
core/contracts.py, recognised by name whatever the horizons, so a label joined onto a feature
frame by a caller (a `paid_30d` next to the features, say) can never become a feature.

`FeatureLayout` records, at fit time, the columns and each category's levels, so that scoring
frames (tomorrow's rows, the pyfunc input whose categories arrive as strings) are laid out
exactly as in training.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from core.contracts import FEATURE_KEYS, is_label
from core.errors import DataError


def feature_columns(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """Numeric, bool and category columns of `frame` except keys, labels and `exclude`."""
    skip = set(FEATURE_KEYS) | set(exclude)
    out = []
    for name, dtype in frame.dtypes.items():
        if name in skip or is_label(str(name)):
            continue
        if (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_numeric_dtype(dtype)
        ):
            out.append(name)
    return out


def join_labels(
    features: pd.DataFrame, labels: pd.DataFrame, target: str, required: Iterable[str] = ()
) -> pd.DataFrame:
    """Features with the `target` label (nullable) on the same keys; the other labels are not joined.

    `required` names feature columns the model family cannot do without.
    """
    for name, frame, needed in (
        ("features", features, (*FEATURE_KEYS, *required)),
        ("labels", labels, (*FEATURE_KEYS, target)),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise DataError(name, "required_columns", f"missing column(s) {missing}", column=missing[0])
    keys = list(FEATURE_KEYS)
    right = labels[[*keys, target]]
    if len(features) == len(right) and features[keys].reset_index(drop=True).equals(right[keys].reset_index(drop=True)):
        out = features.reset_index(drop=True).copy()
        out[target] = right[target].to_numpy()
        return out
    return features.merge(right, on=keys, how="left", validate="one_to_one")


@dataclass(frozen=True)
class FeatureLayout:
    """The columns a fitted model reads, in order, with the levels of each category column."""

    columns: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    #: bool columns: kept bool in the MLflow signature (MLflow will not cast bool to double)
    flags: tuple[str, ...] = ()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, exclude: Iterable[str] = ()) -> FeatureLayout:
        columns = feature_columns(frame, exclude)
        categories = {
            c: tuple(str(v) for v in frame[c].cat.categories)
            for c in columns
            if isinstance(frame[c].dtype, pd.CategoricalDtype)
        }
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
