"""The modelling table: features joined to one label, and the model's column contract.

Models are written over whatever the feature table holds: every numeric, bool or category
column except the keys and the labels is a feature. Keys and labels are those of
core/contracts.py, recognised by name whatever the horizons, so a label joined onto a feature
frame by a caller (a `paid_30d` next to the features, say) can never become a feature.

`FeatureLayout` records, at fit time, the columns, each column's dtype as the feature table
stores it, each category's levels and which columns held missing values, so that scoring frames
(tomorrow's rows, the pyfunc input whose categories arrive as strings) are laid out exactly as
in training, and `check` refuses, naming column and rows, what the model was never shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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


def read_frame(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A parquet table as a DataFrame (only `columns`, when given), read with about one copy of the
    data in memory: Arrow's buffers are freed column by column as pandas takes them over
    (`self_destruct`), and what Arrow's memory pool kept is handed back to the system."""
    table = pq.read_table(path, columns=None if columns is None else list(columns))
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    pa.default_memory_pool().release_unused()
    return frame


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
        # concat, not a column insert (a frame read in many blocks would warn); copy on write
        # (pandas 3): the feature columns are not copied, and the caller's frame is not touched
        column = pd.Series(right[target].array, name=target)
        base = features.drop(columns=[target]) if target in features.columns else features
        return pd.concat([base.reset_index(drop=True), column], axis=1)
    return features.merge(right, on=keys, how="left", validate="one_to_one")


@dataclass(frozen=True)
class FeatureLayout:
    """The columns a fitted model reads, in order, with their dtypes, category levels and missingness."""

    columns: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    #: each column's dtype as the feature table stores it (`int16`, `float32`, `bool`, `category`):
    #: the served model's signature is derived from it (models/common/pyfunc.py)
    dtypes: dict[str, str] = field(default_factory=dict)
    #: columns that held missing values in the table the layout was read from; a missing value
    #: anywhere else is refused by `check` (LightGBM would score it as if it were 0)
    missing: tuple[str, ...] = ()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, exclude: Iterable[str] = ()) -> FeatureLayout:
        columns = feature_columns(frame, exclude)
        categories = {
            c: tuple(str(v) for v in frame[c].cat.categories)
            for c in columns
            if isinstance(frame[c].dtype, pd.CategoricalDtype)
        }
        dtypes = {c: str(frame[c].dtype) for c in columns}
        missing = tuple(c for c in columns if frame[c].isna().any())
        return cls(tuple(columns), categories, dtypes, missing)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description (what a scorer's manifest stores)."""
        return {
            "columns": list(self.columns),
            "categories": {c: list(v) for c, v in self.categories.items()},
            "dtypes": dict(self.dtypes),
            "missing": list(self.missing),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeatureLayout:
        """The layout `to_dict` described."""
        return cls(
            tuple(data["columns"]),
            {c: tuple(v) for c, v in dict(data["categories"]).items()},
            dict(data["dtypes"]),
            tuple(data["missing"]),
        )

    def apply(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """`frame` (or its `rows`, positions) restricted to the layout: categories re-levelled, every
        other column float32. Only the layout's columns of those rows are copied, once."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError("features", "required_columns", f"missing feature column(s) {missing}", column=missing[0])
        out = {}
        for c in self.columns:
            values = frame[c] if rows is None else frame[c].iloc[rows]
            if c in self.categories:
                levels = list(self.categories[c])
                dtype = values.dtype
                if isinstance(dtype, pd.CategoricalDtype) and [str(v) for v in dtype.categories] == levels:
                    out[c] = pd.Categorical.from_codes(values.cat.codes.to_numpy(), categories=levels)
                else:
                    out[c] = pd.Categorical(_as_text(values), categories=levels)
            elif values.dtype.kind in "biuf":
                out[c] = values.to_numpy(dtype=np.float32, na_value=np.nan)
            else:
                out[c] = pd.to_numeric(values, errors="coerce").astype("float32").to_numpy()
        return pd.DataFrame(out, index=values.index if self.columns else frame.index, copy=False)

    def matrix(self, frame: pd.DataFrame, rows: np.ndarray | None = None, block: int = 1 << 16) -> np.ndarray:
        """`apply` as one row-major float32 matrix (what LightGBM bins without another copy): a
        category column holds its code among the layout's levels (NaN: missing or unknown).
        Filled `block` rows at a time, so the only full-size allocation is the result."""
        n = len(frame) if rows is None else len(rows)
        out = np.empty((n, len(self.columns)), dtype=np.float32)
        for start in range(0, n, block):
            part = slice(start, min(start + block, n))
            laid = self.apply(frame, np.arange(part.start, part.stop) if rows is None else rows[part])
            for j, c in enumerate(self.columns):
                values = laid[c]
                if c in self.categories:
                    codes = values.cat.codes.to_numpy().astype(np.float32)
                    codes[codes < 0] = np.nan
                    out[part, j] = codes
                else:
                    out[part, j] = values.to_numpy()
        return out

    @property
    def categorical(self) -> list[int]:
        """Positions of the category columns (for LightGBM's `categorical_feature`)."""
        return [j for j, c in enumerate(self.columns) if c in self.categories]

    def check(self, frame: pd.DataFrame, table: str = "features") -> None:
        """Refuse (DataError) a frame the model cannot score as it was trained; the message's first
        line names the problem.

        In this order: missing columns (all of them named), no rows, then per column: category
        values outside the training levels, values that are not numbers, and missing values in a
        column that held none in the table the layout was read from (`missing`). A refusal lists
        every offending column, each with its first rows (index labels), so that no value `apply`
        would silently turn into NaN, or into "missing" for LightGBM, is ever scored.
        """
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            raise DataError(
                table,
                "required_columns",
                f"missing {len(absent)} of the model's {len(self.columns)} feature column(s): {_listed(absent)}",
                column=absent[0],
            )
        if len(frame) == 0:
            raise DataError(table, "not_empty", "no rows to score: the frame is empty")
        problems = [p for c in self.columns if (p := self._column_problem(c, frame[c])) is not None]
        if problems:
            (column, rule, detail), *others = problems
            also = "".join(f"\n  also column '{c}': rule '{r}' failed: {d}" for c, r, d in others)
            raise DataError(table, rule, detail + also, column=column)

    def _column_problem(self, column: str, values: pd.Series) -> tuple[str, str, str] | None:
        absent = values.isna().to_numpy()
        allowed = column in self.missing
        if column in self.categories:
            levels = self.categories[column]
            text = _as_text(values)
            bad = (~absent & ~text.isin(levels).to_numpy()) | (absent & (not allowed))
            if bad.any():
                seen = list(dict.fromkeys(text[bad].tolist()))
                return (
                    column,
                    "known_category",
                    f"{int(bad.sum())} row(s) hold value(s) not seen in training: {_listed(seen, repr)} "
                    f"({_rows(values.index, bad)}); training saw {_listed(levels, repr)}"
                    + ("" if allowed else " and no missing value"),
                )
            return None
        if values.dtype.kind in "biuf":
            garbled = np.zeros(len(values), dtype=bool)
        else:  # object or string values: what `apply` would turn into NaN
            garbled = ~absent & pd.to_numeric(values, errors="coerce").isna().to_numpy()
        if garbled.any():
            seen = list(dict.fromkeys(values[garbled].tolist()))
            return (
                column,
                "numeric",
                f"{int(garbled.sum())} row(s) hold value(s) that are not numbers: {_listed(seen, repr)} "
                f"({_rows(values.index, garbled)})",
            )
        if absent.any() and not allowed:
            return (
                column,
                "not_null",
                f"{int(absent.sum())} row(s) hold a missing value ({_rows(values.index, absent)}); "
                "the training table never held one in this column",
            )
        return None


def _listed(values: Sequence[object], show=str, limit: int = 8) -> str:
    shown = ", ".join(show(v) for v in values[:limit])
    return shown if len(values) <= limit else f"{shown} and {len(values) - limit} more"


def _rows(index: pd.Index, mask: np.ndarray, limit: int = 5) -> str:
    labels = index[mask]
    return f"index {_listed(list(labels), str, limit)}"


def _as_text(values: pd.Series) -> pd.Series:
    """Values as Python strings (object dtype), missing values as None."""
    text = values.astype(object)
    return text.where(text.isna(), text.astype(str)).where(text.notna(), None)
