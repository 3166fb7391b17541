"""Population stability index (PSI): how far tonight's population has moved from the training one.

The nightly scoring job compares each score and each model feature of the night's population
(`actual`) with the population the model was trained on (`expected`). PSI is the credit-risk
industry's measure for this, with conventional thresholds that operations already know:

    PSI = sum over bins of (a - e) * ln(a / e)

where `e` and `a` are the shares of the expected and actual rows that fall in each bin. It is the
symmetrised Kullback-Leibler divergence of the two binned distributions, so every term is >= 0
and identical distributions give exactly 0.

Conventions (each is a choice, written down because a different choice gives a different number):

- **Numeric columns** are cut at quantiles of the *expected* sample (`bins` equal-count bins,
  edges deduplicated, outer bins open to -inf and +inf). The edges are fixed by training, so
  tonight's figure is comparable with last week's, and each bin holds about 1/bins of the training
  rows, so no bin is too thin to estimate its share. Equal-width bins would put most rows of a
  skewed feature (balances, days past due) in one bin and see no movement inside it. The edges
  are observed training values (numpy's 'inverted_cdf' quantiles, no interpolation), so infinite
  or extreme values bin without overflow. Bins are right-closed, (c[i-1], c[i]], as in
  `pandas.cut`. Ties (a feature that is 0 for 60% of rows) collapse edges, so such a column has
  fewer bins. A column is numeric only when both sides are (a side holding only missing values
  takes the other's kind); otherwise both sides are binned by category.
- **Categorical, boolean and string columns** get one bin per category; a category seen only in
  `actual` is a bin of its own (its expected share is the floor), because a new product code or
  channel is exactly the movement monitoring is for.
- **Missing values** get a bin of their own whenever either side has any: a feed that starts
  sending nulls is drift, and dropping them would hide it.
- **Floor**: shares are raised to at least `FLOOR` before the formula, because an empty bin on
  one side makes ln(a / e) infinite. 1e-4 is one row in ten thousand: it changes only shares
  thinner than that (empty bins, rare categories). It caps the term of a bin empty on one side at
  about (share) * ln(share / 1e-4), large enough to flag it (a bin holding 10% of one
  side alone contributes about 0.69, well past `ACT`). The shares are not renormalised after the
  floor: every term stays >= 0 either way.

Thresholds (`WATCH`, `ACT`): below 0.10 stable, 0.10 to 0.25 watch, 0.25 and above act.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

#: PSI at or above which a column is worth watching (credit-risk convention).
WATCH = 0.10
#: PSI at or above which a column has moved enough to act on (investigate, consider retraining).
ACT = 0.25
#: Smallest share a bin may take in the formula, so that a bin empty on one side gives a finite term.
FLOOR = 1e-4
#: Label of the bin of missing values in `psi_bins`.
MISSING_BIN = "<missing>"

Level = Literal["stable", "watch", "act"]

#: Columns of `drift_table`, in order.
DRIFT_COLUMNS = ("column", "psi", "level", "expected_rows", "actual_rows", "missing_expected", "missing_actual")


def level(value: float) -> Level:
    """Credit-risk reading of a PSI value: 'stable' (< 0.10), 'watch' (0.10 to 0.25), 'act' (>= 0.25).

    Parameters
    ----------
    value : float
        A PSI, >= 0.

    Returns
    -------
    str
        'stable', 'watch' or 'act'. The boundaries belong to the higher level (0.10 is 'watch',
        0.25 is 'act'), so a value printed at the threshold is never reported as below it.

    Raises
    ------
    ValueError
        When `value` is NaN or negative: neither is a PSI, and calling it 'stable' would hide a bug.
    """
    value = float(value)
    if math.isnan(value) or value < 0:
        raise ValueError(f"level: a PSI is a number >= 0, got {value!r}")
    if value >= ACT:
        return "act"
    if value >= WATCH:
        return "watch"
    return "stable"


def psi(
    expected: Sequence | np.ndarray | pd.Series,
    actual: Sequence | np.ndarray | pd.Series,
    bins: int = 10,
    *,
    column: str | None = None,
    floor: float = FLOOR,
) -> float:
    """Population stability index of `actual` against `expected`.

    Parameters
    ----------
    expected : array-like, 1-D
        The reference sample: the training population. Numeric bin edges come from it, so the
        same training sample gives the same bins every night.
    actual : array-like, 1-D
        The sample to compare: tonight's population.
    bins : int, default 10
        Number of quantile bins of a numeric column (before ties collapse edges). Ten is the
        industry convention: each bin holds about 10% of the training rows. Ignored for
        categorical columns.
    column : str, optional
        Name used in error messages; defaults to the Series name of `expected`, else 'value'.
    floor : float, default FLOOR
        Smallest share a bin may take in the formula (see the module docstring for why).

    Returns
    -------
    float
        Sum over bins of (a - e) * ln(a / e), >= 0; exactly 0 when both samples have the same
        shares in every bin.

    Raises
    ------
    ValueError
        When either sample is empty or not 1-D, or `bins` or `floor` is out of range; the message
        names the column.

    See Also
    --------
    psi_bins : the per-bin counts, shares and terms this sum is made of.
    """
    table = psi_bins(expected, actual, bins, column=column, floor=floor)
    # fsum: exactly rounded, so the value does not depend on the order of the bins
    return math.fsum(table["term"].to_list())


def psi_bins(
    expected: Sequence | np.ndarray | pd.Series,
    actual: Sequence | np.ndarray | pd.Series,
    bins: int = 10,
    *,
    column: str | None = None,
    floor: float = FLOOR,
) -> pd.DataFrame:
    """The bins behind `psi`: one row per bin with its counts, shares and term.

    Parameters
    ----------
    expected, actual, bins, column, floor
        As in `psi`.

    Returns
    -------
    pandas.DataFrame
        Columns `bin` (label: an interval such as '(-inf, 2]' for a numeric column, the category
        as text for a categorical one, '<missing>' for missing values), `expected_count`,
        `actual_count`, `expected_share`, `actual_share` (the raw shares, before the floor) and
        `term` ((a - e) * ln(a / e) on the floored shares). Numeric bins are in increasing order,
        categories sorted by their text, the missing bin last. Worth logging next to the PSI:
        it shows *which* part of the distribution moved.

    Raises
    ------
    ValueError
        As in `psi`.
    """
    name = column if column is not None else (expected.name if isinstance(expected, pd.Series) else None)
    name = "value" if name is None else str(name)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"psi: column {name!r}: bins must be an integer >= 2, got {bins!r}")
    if not (0.0 < float(floor) < 1.0):
        raise ValueError(f"psi: column {name!r}: floor must lie strictly between 0 and 1, got {floor!r}")
    exp = _series(expected, "expected", name)
    act = _series(actual, "actual", name)

    exp_missing, act_missing = exp.isna().to_numpy(), act.isna().to_numpy()
    exp_values, act_values = exp[~exp_missing], act[~act_missing]
    kinds = {_kind(exp_values), _kind(act_values)} - {"empty"}
    if kinds <= {"numeric"}:
        labels, exp_counts, act_counts = _numeric_counts(_as_float(exp_values), _as_float(act_values), bins)
    else:
        labels, exp_counts, act_counts = _categorical_counts(exp_values, act_values)
    if exp_missing.any() or act_missing.any():
        labels.append(MISSING_BIN)
        exp_counts = np.append(exp_counts, int(exp_missing.sum()))
        act_counts = np.append(act_counts, int(act_missing.sum()))

    exp_share = exp_counts / len(exp)
    act_share = act_counts / len(act)
    e = np.maximum(exp_share, floor)
    a = np.maximum(act_share, floor)
    return pd.DataFrame(
        {
            "bin": labels,
            "expected_count": exp_counts.astype(np.int64),
            "actual_count": act_counts.astype(np.int64),
            "expected_share": exp_share,
            "actual_share": act_share,
            "term": (a - e) * np.log(a / e),
        }
    )


def drift_table(
    expected: pd.DataFrame,
    actual: pd.DataFrame,
    columns: Iterable[str],
    bins: int = 10,
) -> pd.DataFrame:
    """PSI of each column of `actual` against `expected`, worst first.

    Parameters
    ----------
    expected : pandas.DataFrame
        The training population (one row per scored row, one column per score or feature).
    actual : pandas.DataFrame
        Tonight's population.
    columns : iterable of str
        The columns to compare, typically every score and every model feature; repeated names
        are reported once.
    bins : int, default 10
        As in `psi`.

    Returns
    -------
    pandas.DataFrame
        One row per column with `column`, `psi`, `level` (see `level`), `expected_rows`,
        `actual_rows` (rows of each frame) and `missing_expected`, `missing_actual` (missing
        values of the column on each side), sorted by `psi` descending (ties in the order given).
        A column absent from either frame has `psi` NaN, `level` 'missing' and missing counts
        <NA> where it is absent, and sorts last: real extracts lose columns, and the nightly job
        should report that, not stop on it.

    Raises
    ------
    ValueError
        When a compared column is empty on either side (an empty frame), naming the column.
    """
    rows = []
    for name in dict.fromkeys(columns):
        in_exp, in_act = name in expected.columns, name in actual.columns
        value = psi(expected[name], actual[name], bins, column=name) if in_exp and in_act else math.nan
        rows.append(
            {
                "column": name,
                "psi": value,
                "level": level(value) if in_exp and in_act else "missing",
                "expected_rows": len(expected),
                "actual_rows": len(actual),
                "missing_expected": int(expected[name].isna().sum()) if in_exp else pd.NA,
                "missing_actual": int(actual[name].isna().sum()) if in_act else pd.NA,
            }
        )
    table = pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))
    table = table.astype(
        {
            "column": object,
            "psi": np.float64,
            "level": object,
            "expected_rows": np.int64,
            "actual_rows": np.int64,
            "missing_expected": "Int64",
            "missing_actual": "Int64",
        }
    )
    return table.sort_values("psi", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def _series(values: Sequence | np.ndarray | pd.Series, side: str, name: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"psi: column {name!r}: the {side} sample must be 1-D, got a DataFrame")
    if isinstance(values, pd.Series):
        series = values.reset_index(drop=True)
    else:
        array = np.asarray(values) if not isinstance(values, pd.api.extensions.ExtensionArray) else values
        if getattr(array, "ndim", 1) != 1:
            raise ValueError(f"psi: column {name!r}: the {side} sample must be 1-D, got shape {array.shape}")
        series = pd.Series(array)
    if len(series) == 0:
        raise ValueError(f"psi: column {name!r}: the {side} sample is empty")
    return series


def _kind(values: pd.Series) -> str:
    """'numeric', 'categorical' or 'empty' (no non-missing value: takes the other side's kind)."""
    if len(values) == 0:
        return "empty"
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "numeric"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"
    if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) in (
        "integer",
        "floating",
        "mixed-integer-float",
        "decimal",
    ):
        return "numeric"
    return "categorical"


def _as_float(values: pd.Series) -> np.ndarray:
    """Non-missing values as float64; datetimes (naive ones read as UTC) and durations as seconds."""
    dtype = values.dtype
    second = pd.Timedelta(seconds=1)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        values = pd.to_datetime(values, utc=True) - pd.Timestamp(0, tz="UTC")
        dtype = values.dtype
    if pd.api.types.is_timedelta64_dtype(dtype):
        return (values / second).to_numpy(dtype=np.float64)
    return pd.to_numeric(values).to_numpy(dtype=np.float64)


def _numeric_counts(exp: np.ndarray, act: np.ndarray, bins: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    if len(exp) == 0:
        # no training value to cut at: every non-missing value in one bin
        return ["(-inf, inf)"], np.array([0]), np.array([len(act)])
    # interior cut points only: the outer bins are open, so tonight's values beyond the training
    # range still fall in a bin (the first or the last), where their growth shows
    cuts = np.unique(np.quantile(exp, np.arange(1, bins) / bins, method="inverted_cdf"))
    # right-closed bins (c[i-1], c[i]], as pandas.cut: side='left' puts a value equal to a cut below it
    n_bins = len(cuts) + 1
    exp_counts = np.bincount(np.searchsorted(cuts, exp, side="left"), minlength=n_bins)
    act_counts = np.bincount(np.searchsorted(cuts, act, side="left"), minlength=n_bins)
    bounds = [-math.inf, *cuts.tolist(), math.inf]
    labels = [
        f"({_fmt(lo)}, {_fmt(hi)}{')' if math.isinf(hi) else ']'}"
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return labels, exp_counts, act_counts


def _fmt(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _categorical_counts(exp: pd.Series, act: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    exp_counts = exp.astype(object).value_counts(sort=False)
    act_counts = act.astype(object).value_counts(sort=False)
    keys = sorted(set(exp_counts.index) | set(act_counts.index), key=lambda v: (str(v), type(v).__name__))
    labels = [str(k) for k in keys]
    return (
        labels,
        exp_counts.reindex(keys, fill_value=0).to_numpy(np.int64),
        act_counts.reindex(keys, fill_value=0).to_numpy(np.int64),
    )
