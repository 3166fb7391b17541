"""The flow-rate portfolio forecast: today's balances per bucket rolled through a transition matrix.

This is the analysts' view of the book: the balance-weighted transition matrix at the start of
the test window (from the model's per-account probabilities, or the baseline's), applied
repeatedly to the balances per bucket, forecasts the balance in each bucket and the amount that
rolls into charge-off for the next cycles. Holding the matrix fixed beyond the first cycle is
the flow-rate assumption analysts make; balances are conserved (no payments or new spend), so
the comparison with what happened is about where the money goes, not how much there is.

Where a source has no balances (a status-only book), the forecast never reads a missing balance
as zero: with no balance known at the origin it counts accounts instead (`unit` = accounts, and
the charge-off row is `charge_off_accounts`); with some unknown, those accounts are left out of
both the forecast and the actual path, and their number is reported (`balance_unknown`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.common.split import cycle_index


def flow_matrix(proba: np.ndarray, source: np.ndarray, weight: np.ndarray, n_buckets: int) -> np.ndarray:
    """Weight-averaged predicted transition rows per source bucket (rows with no weight stay put)."""
    source = np.asarray(source, dtype=np.int64)
    weight = np.clip(np.nan_to_num(np.asarray(weight, dtype=np.float64)), 0.0, None)
    out = np.eye(n_buckets)
    for s in range(n_buckets):
        rows = source == s
        total = weight[rows].sum()
        if total > 0:
            out[s] = (proba[rows] * weight[rows, None]).sum(axis=0) / total
    return out


def roll_forward_balances(start: np.ndarray, matrix: np.ndarray, horizons: int) -> np.ndarray:
    """(horizons + 1, K) balances per bucket: row 0 is `start`, row h is after h cycles."""
    path = [np.asarray(start, dtype=np.float64)]
    for _ in range(horizons):
        path.append(path[-1] @ matrix)
    return np.vstack(path)


def charge_offs(path: np.ndarray, charge_off: int) -> np.ndarray:
    """Amount newly in charge-off at each step (row h minus row h - 1 of the charge-off column)."""
    return np.diff(path[:, charge_off])


def actual_balances(
    frame: pd.DataFrame,
    accounts: np.ndarray,
    origin_cycle: int,
    horizons: int,
    n_buckets: int,
    balance: str = "balance",
    bucket: str = "bucket",
) -> np.ndarray:
    """(horizons + 1, K) where the cohort's origin balances actually went, cycle by cycle.

    Each account of `accounts` carries its balance at `origin_cycle` unchanged into the bucket it
    is in at each later cycle, as the forecast does: the comparison is about where the money
    goes, and a balance that shrank by payments before a charge-off must not read as a forecast
    error. An account without a row in a later cycle (charged off, closed, paid off) stays in the
    bucket of its last row.
    """
    cycles = cycle_index(frame["as_of_date"])
    cohort = pd.Index(np.unique(accounts))
    in_cohort = frame["account_id"].isin(cohort).to_numpy()
    state_bucket = np.full(len(cohort), -1)
    weight = np.zeros(len(cohort))
    path = np.zeros((horizons + 1, n_buckets))
    for h in range(horizons + 1):
        part = frame.loc[(cycles == origin_cycle + h) & in_cohort, ["account_id", bucket, balance]]
        part = part.drop_duplicates("account_id", keep="last")
        pos = cohort.get_indexer(part["account_id"])
        state_bucket[pos] = part[bucket].to_numpy(np.int64)
        if h == 0:
            weight[pos] = np.nan_to_num(part[balance].to_numpy(np.float64))
        known = state_bucket >= 0
        path[h] = np.bincount(state_bucket[known], weights=weight[known], minlength=n_buckets)
    return path


def forecast_table(
    frame: pd.DataFrame,
    predictions: dict[str, np.ndarray],
    origin_cycle: int,
    horizons: int,
    bucket_names: tuple[str, ...],
    balance: str = "balance",
) -> pd.DataFrame:
    """Balances per bucket and charge-off amounts, forecast (per prediction set) vs actual.

    `frame` holds every as-of row (all cycles) with keys, `bucket` and `balance`; `predictions`
    are probabilities for the rows of `frame` in `origin_cycle` (in their order).
    """
    k = len(bucket_names)
    cycles = cycle_index(frame["as_of_date"])
    at_origin = cycles == origin_cycle
    origin = frame[at_origin]
    known = origin[balance].notna().to_numpy() if balance in origin else np.zeros(len(origin), dtype=bool)
    unit = "balance" if known.any() else "accounts"
    if unit == "accounts":  # no balance at all: count accounts rather than invent amounts
        frame = frame.assign(**{balance: 1.0})
        origin = frame[at_origin]
        known = np.ones(len(origin), dtype=bool)
    kept = origin[known]
    predictions = {name: np.asarray(proba)[known] for name, proba in predictions.items()}
    weight = kept[balance].to_numpy(np.float64)
    source = kept["bucket"].to_numpy(np.int64)
    start = np.bincount(source, weights=weight, minlength=k)
    last_cycle = int(cycles.max())
    steps = max(0, min(horizons, last_cycle - origin_cycle))
    paths = {"actual": actual_balances(frame, kept["account_id"].to_numpy(), origin_cycle, steps, k, balance=balance)}
    for name, proba in predictions.items():
        paths[name] = roll_forward_balances(start, flow_matrix(proba, source, weight, k), steps)
    charge_off_row = "charge_off_amount" if unit == "balance" else "charge_off_accounts"
    rows = []
    for h in range(1, steps + 1):
        for code, bucket in enumerate(bucket_names):
            rows.append({"horizon": h, "bucket": bucket, **{name: float(p[h, code]) for name, p in paths.items()}})
        rows.append(
            {
                "horizon": h,
                "bucket": charge_off_row,
                **{name: float(charge_offs(p, k - 1)[h - 1]) for name, p in paths.items()},
            }
        )
    table = pd.DataFrame(rows, columns=["horizon", "bucket", *paths])
    return table.assign(unit=unit, balance_unknown=int((~known).sum()))
