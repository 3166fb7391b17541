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

Thresholds (`WATCH`, `ACT`): below 0.10 stable, 0.10 to 0.25 watch, 0.25 and above act; `level`,
`drift_table` and `psi_from_profile` take others (the nightly job reads them from params `scoring:`).

**Reference profiles.** The training population is not at hand at night, so training stores what PSI
needs of it: `profile(frame, columns)` keeps, per column, the kind, the numeric cut points (or the
categories), the count in each bin, the missing count and the rows. That is all `psi_bins` uses of the
expected side, so `psi_from_profile(profile, actual)` gives the same numbers as `drift_table(frame,
actual)` on the same data (a test checks it). A profile is plain JSON (`profile_json`, `read_profile`):
never a pickle, small (about a dozen numbers per column), readable by any tool. `reference` wraps the
profiles of one model family (its features and its served scores, with the population they describe)
in the file `REFERENCE_FILE` that training logs beside the model; each profile names the rows it
describes (its `population`), so that the nightly job compares like with like.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

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

#: The `format` of a column profile set (`profile`) and of a family's reference file (`reference`).
PROFILE_FORMAT = "dunning.psi-profile/1"
REFERENCE_FORMAT = "dunning.drift-reference/1"
#: Name of the reference file a training run logs as an MLflow artifact (at the run's artifact root).
REFERENCE_FILE = "reference_profile.json"

#: Columns of `drift_table`, in order.
DRIFT_COLUMNS = ("column", "psi", "level", "expected_rows", "actual_rows", "missing_expected", "missing_actual")


def level(value: float, watch: float = WATCH, act: float = ACT) -> Level:
    """Credit-risk reading of a PSI value: 'stable' (< 0.10), 'watch' (0.10 to 0.25), 'act' (>= 0.25).

    Parameters
    ----------
    value : float
        A PSI, >= 0.
    watch, act : float, default WATCH, ACT
        The thresholds (0 <= watch <= act); the nightly job passes params `scoring.psi_watch`, `psi_act`.

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
    if not 0 <= watch <= act:
        raise ValueError(f"level: thresholds need 0 <= watch <= act, got watch={watch!r}, act={act!r}")
    if value >= act:
        return "act"
    if value >= watch:
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
    _check_bins(bins, name)
    _check_floor(floor, name)
    exp = _series(expected, "expected", name)
    act = _series(actual, "actual", name)

    exp_missing, act_missing = exp.isna().to_numpy(), act.isna().to_numpy()
    exp_values, act_values = exp[~exp_missing], act[~act_missing]
    kinds = {_kind(exp_values), _kind(act_values)} - {"empty"}
    if kinds <= {"numeric"}:
        labels, exp_counts, act_counts = _numeric_counts(_as_float(exp_values), _as_float(act_values), bins)
    else:
        labels, exp_counts, act_counts = _categorical_counts(exp_values, act_values)
    return _bin_table(
        labels, exp_counts, act_counts, (int(exp_missing.sum()), len(exp)), (int(act_missing.sum()), len(act)), floor
    )


def _bin_table(
    labels: list[str],
    exp_counts: np.ndarray,
    act_counts: np.ndarray,
    exp_rows: tuple[int, int],
    act_rows: tuple[int, int],
    floor: float,
) -> pd.DataFrame:
    """The per-bin table from the counts of the values' bins and (missing, rows) of each side: one code
    path for `psi_bins` and `psi_from_profile`, so that both give the same numbers from the same counts."""
    (exp_missing, exp_n), (act_missing, act_n) = exp_rows, act_rows
    labels = list(labels)
    exp_counts, act_counts = np.asarray(exp_counts, np.int64), np.asarray(act_counts, np.int64)
    if exp_missing or act_missing:
        labels.append(MISSING_BIN)
        exp_counts = np.append(exp_counts, exp_missing)
        act_counts = np.append(act_counts, act_missing)

    exp_share = exp_counts / exp_n
    act_share = act_counts / act_n
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
    *,
    watch: float = WATCH,
    act: float = ACT,
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
    watch, act : float, default WATCH, ACT
        The thresholds of `level`.

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
                "level": level(value, watch, act) if in_exp and in_act else "missing",
                "expected_rows": len(expected),
                "actual_rows": len(actual),
                "missing_expected": int(expected[name].isna().sum()) if in_exp else pd.NA,
                "missing_actual": int(actual[name].isna().sum()) if in_act else pd.NA,
            }
        )
    return _drift_frame(rows)


def _drift_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
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


def profile(
    frame: pd.DataFrame, columns: Iterable[str], bins: int = 10, population: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What PSI needs of a reference population, per column: a small JSON-ready dict.

    Parameters
    ----------
    frame : pandas.DataFrame
        The reference population (the training rows, or their scores).
    columns : iterable of str
        The columns to profile; repeated names once. Each must be in `frame`.
    bins : int, default 10
        As in `psi`: the numeric cut points are the quantiles `psi_bins` would take from `frame`.
    population : dict, optional
        Which rows `frame` holds, so that the nightly job compares like with like: `{"rows": "all"}`
        (the default) or `{"rows": "in_arrears", "charge_off_dpd": N}` (days past due in (0, N), not
        written off), with a `window` and a `description` for people. Stored as given.

    Returns
    -------
    dict
        `{"format": PROFILE_FORMAT, "population": population, "bins": bins, "rows": len(frame),
        "columns": {name: entry}}`, each
        entry holding `kind` ('numeric', 'categorical', or 'empty' for a column with no value),
        `missing`, and for a numeric column `cuts` (interior cut points; a non-finite one as the text
        'inf' / '-inf') and `counts` (rows per bin, the bins of `psi_bins`), for a categorical one
        `categories` ([text, type name] pairs, in `psi_bins` order) and `counts`.

    Raises
    ------
    ValueError
        When `frame` is empty or lacks a column, or `bins` is out of range, naming the column.
    """
    entries: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(columns):
        _check_bins(bins, name)
        if name not in frame.columns:
            raise ValueError(f"profile: column {name!r} is not in the frame")
        values = _series(frame[name], "reference", name)
        missing = values.isna().to_numpy()
        present = values[~missing]
        entry: dict[str, Any] = {"kind": _kind(present), "missing": int(missing.sum())}
        if entry["kind"] == "numeric":
            x = _as_float(present)
            cuts = _cuts(x, bins)
            entry["cuts"] = [float(c) if math.isfinite(c) else _fmt(c) for c in cuts.tolist()]
            entry["counts"] = _bin_counts(cuts, x).tolist()
        elif entry["kind"] == "categorical":
            counts = _category_counts(present)
            keys = sorted(counts)
            entry["categories"] = [list(k) for k in keys]
            entry["counts"] = [counts[k] for k in keys]
        entries[name] = entry
    return {
        "format": PROFILE_FORMAT,
        "population": dict(population or {"rows": "all"}),
        "bins": int(bins),
        "rows": int(len(frame)),
        "columns": entries,
    }


def psi_bins_from_profile(
    entry: Mapping[str, Any], rows: int, actual: Sequence | np.ndarray | pd.Series, *, column: str, floor: float = FLOOR
) -> pd.DataFrame:
    """`psi_bins` with the expected side given by one column's profile entry (of a profile of `rows` rows).

    Binning follows `psi_bins`: numeric when both sides are (an empty side takes the other's kind), by
    category otherwise. One case differs, because a profile keeps no categories of a numeric column: a
    column that was numeric in training and holds text tonight keeps its training bins, and each of
    tonight's categories is a bin of its own with an expected share of 0 (a type change reads as 'act').
    """
    _check_floor(floor, column)
    act = _series(actual, "actual", column)
    act_missing = act.isna().to_numpy()
    act_values = act[~act_missing]
    exp_kind, act_kind = str(entry["kind"]), _kind(act_values)
    exp_counts = np.asarray(entry.get("counts", []), np.int64)
    if {exp_kind, act_kind} - {"empty"} <= {"numeric"}:
        if exp_kind == "numeric":
            cuts = np.asarray([float(c) for c in entry["cuts"]], np.float64)
            labels, act_counts = _cut_labels(cuts), _bin_counts(cuts, _as_float(act_values))
        else:
            labels, exp_counts, act_counts = ["(-inf, inf)"], np.array([0]), np.array([len(act_values)])
    else:
        tonight = _category_counts(act_values)
        if exp_kind == "numeric":
            keys = sorted(tonight)
            cuts = np.asarray([float(c) for c in entry["cuts"]], np.float64)
            labels = _cut_labels(cuts) + [k[0] for k in keys]
            exp_counts = np.concatenate([exp_counts, np.zeros(len(keys), np.int64)])
            act_counts = np.concatenate([np.zeros(len(cuts) + 1, np.int64), [tonight[k] for k in keys]])
        else:
            trained = {tuple(k): int(c) for k, c in zip(entry.get("categories", []), exp_counts.tolist(), strict=True)}
            keys = sorted(set(trained) | set(tonight))
            labels = [k[0] for k in keys]
            exp_counts = np.asarray([trained.get(k, 0) for k in keys], np.int64)
            act_counts = np.asarray([tonight.get(k, 0) for k in keys], np.int64)
    return _bin_table(
        labels, exp_counts, act_counts, (int(entry["missing"]), int(rows)), (int(act_missing.sum()), len(act)), floor
    )


def psi_from_profile(
    reference: Mapping[str, Any],
    actual: pd.DataFrame,
    columns: Iterable[str] | None = None,
    *,
    watch: float = WATCH,
    act: float = ACT,
) -> pd.DataFrame:
    """`drift_table` with the expected side given by a profile (`profile`): the same table, the same numbers.

    Parameters
    ----------
    reference : dict
        A profile (`profile`, or `read_profile` of its JSON).
    actual : pandas.DataFrame
        Tonight's population.
    columns : iterable of str, optional
        The columns to compare; default every profiled column. A column absent from the profile or
        from `actual` is reported as 'missing', as in `drift_table`.
    watch, act : float, default WATCH, ACT
        The thresholds of `level`.

    Raises
    ------
    ValueError
        When the profile is not one (`format`), or a compared column of `actual` is empty.
    """
    _check_format(reference, PROFILE_FORMAT)
    entries, n = reference["columns"], int(reference["rows"])
    rows = []
    for name in dict.fromkeys(columns if columns is not None else entries):
        in_exp, in_act = name in entries, name in actual.columns
        value = (
            math.fsum(psi_bins_from_profile(entries[name], n, actual[name], column=name)["term"].to_list())
            if in_exp and in_act
            else math.nan
        )
        rows.append(
            {
                "column": name,
                "psi": value,
                "level": level(value, watch, act) if in_exp and in_act else "missing",
                "expected_rows": n,
                "actual_rows": len(actual),
                "missing_expected": int(entries[name]["missing"]) if in_exp else pd.NA,
                "missing_actual": int(actual[name].isna().sum()) if in_act else pd.NA,
            }
        )
    return _drift_frame(rows)


def reference(family: str, features: Mapping[str, Any], scores: Mapping[str, Any]) -> dict[str, Any]:
    """A model family's reference file: the profiles (`profile`) of its model features and of its served
    scores, each with the population of rows it describes."""
    for part in (features, scores):
        _check_format(part, PROFILE_FORMAT)
    return {"format": REFERENCE_FORMAT, "family": family, "features": dict(features), "scores": dict(scores)}


def profile_json(document: Mapping[str, Any]) -> str:
    """A profile or reference file as JSON text (sorted keys; strict JSON: no NaN or Infinity)."""
    return json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n"


def write_reference(document: Mapping[str, Any], folder: Path) -> Path:
    """Write a reference file (`reference`) as `folder/REFERENCE_FILE`."""
    _check_format(document, REFERENCE_FORMAT)
    target = Path(folder) / REFERENCE_FILE
    target.write_text(profile_json(document))
    return target


def read_reference(text: str) -> dict[str, Any]:
    """A reference file's JSON text back as a dict, checked to be one (ValueError otherwise)."""
    document = json.loads(text)
    _check_format(document, REFERENCE_FORMAT)
    for part in ("features", "scores"):
        _check_format(document.get(part), PROFILE_FORMAT)
    return document


def _check_format(document: object, expected: str) -> None:
    found = document.get("format") if isinstance(document, Mapping) else None
    if found != expected:
        raise ValueError(f"not a {expected} document (format {found!r})")


def _check_bins(bins: int, name: str) -> None:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"psi: column {name!r}: bins must be an integer >= 2, got {bins!r}")


def _check_floor(floor: float, name: str) -> None:
    if not (0.0 < float(floor) < 1.0):
        raise ValueError(f"psi: column {name!r}: floor must lie strictly between 0 and 1, got {floor!r}")


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
    cuts = _cuts(exp, bins)
    return _cut_labels(cuts), _bin_counts(cuts, exp), _bin_counts(cuts, act)


def _cuts(exp: np.ndarray, bins: int) -> np.ndarray:
    """Interior cut points: the outer bins are open, so tonight's values beyond the training range still
    fall in a bin (the first or the last), where their growth shows."""
    return np.unique(np.quantile(exp, np.arange(1, bins) / bins, method="inverted_cdf"))


def _bin_counts(cuts: np.ndarray, values: np.ndarray) -> np.ndarray:
    # right-closed bins (c[i-1], c[i]], as pandas.cut: side='left' puts a value equal to a cut below it
    return np.bincount(np.searchsorted(cuts, values, side="left"), minlength=len(cuts) + 1).astype(np.int64)


def _cut_labels(cuts: np.ndarray) -> list[str]:
    bounds = [-math.inf, *cuts.tolist(), math.inf]
    return [
        f"({_fmt(lo)}, {_fmt(hi)}{')' if math.isinf(hi) else ']'}"
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _fmt(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _category_key(value: object) -> tuple[str, str]:
    """How categories are told apart and ordered, on both sides and in a profile: (text, type name)."""
    return str(value), type(value).__name__


def _category_counts(values: pd.Series) -> dict[tuple[str, str], int]:
    counts = values.astype(object).value_counts(sort=False)
    out: dict[tuple[str, str], int] = {}
    for value, n in counts.items():
        key = _category_key(value)
        out[key] = out.get(key, 0) + int(n)
    return out


def _categorical_counts(exp: pd.Series, act: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    exp_counts, act_counts = _category_counts(exp), _category_counts(act)
    keys = sorted(set(exp_counts) | set(act_counts))
    return (
        [k[0] for k in keys],
        np.asarray([exp_counts.get(k, 0) for k in keys], np.int64),
        np.asarray([act_counts.get(k, 0) for k in keys], np.int64),
    )
