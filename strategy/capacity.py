"""What each candidate uses of the scarce capacity: the call centre's UTC hours and the field agents' day.

A call (or plan offer) in a window is placed by a dialer that spreads the window's calls evenly over
it, so it uses each UTC hour the window overlaps in proportion to the minutes of overlap (a 4-hour
window uses a quarter of a call in each of its hours). A field visit uses one visit of the run date.
The other channels use nothing that is scarce. Usage is stored as patterns (one per distinct window
in UTC, plus the field visit), since every borrower in a zone shares its window's pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from core.params import StrategyParams
from strategy.actions import CALLS, CONTACT_ACTIONS, FIELD_VISITS
from strategy.windows import Windows

_HOUR = np.timedelta64(1, "h")


@dataclass(frozen=True)
class Usage:
    """`pattern` (n, K) int: the usage pattern of each candidate, -1 = uses nothing scarce;
    `amounts` (P, R): what a pattern uses of each resource; `capacity` (R,); `resources` (R,) names."""

    pattern: np.ndarray
    amounts: np.ndarray
    capacity: np.ndarray
    resources: tuple[str, ...]


def capacity_usage(windows: Windows, run_date: date, p: StrategyParams) -> Usage:
    """Usage of every candidate (action x window, as strategy.actions orders them) of every row."""
    n, n_w = windows.exists.shape
    start = windows.start_utc.astype("datetime64[ns]")
    end = windows.end_utc.astype("datetime64[ns]")
    ok = windows.exists
    pairs = np.stack([start[ok].astype(np.int64), end[ok].astype(np.int64)], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True) if len(pairs) else (np.zeros((0, 2), np.int64), [])
    window_pattern = np.full((n, n_w), -1, dtype=np.int64)
    window_pattern[ok] = np.asarray(inverse).reshape(-1)
    if len(uniq):
        first = np.datetime64(int(uniq[:, 0].min()), "ns").astype("datetime64[h]")
        last = (np.datetime64(int(uniq[:, 1].max()), "ns") - np.timedelta64(1, "ns")).astype("datetime64[h]")
        slots = np.arange(first, last + np.timedelta64(1, "h"), np.timedelta64(1, "h"))
    else:
        slots = np.zeros(0, dtype="datetime64[h]")
    lo = slots.astype("datetime64[ns]").astype(np.int64)
    hi = lo + _HOUR.astype("timedelta64[ns]").astype(np.int64)
    overlap = np.clip(np.minimum(uniq[:, 1:2], hi[None, :]) - np.maximum(uniq[:, 0:1], lo[None, :]), 0, None)
    call_amounts = overlap / np.maximum(uniq[:, 1:2] - uniq[:, 0:1], 1)
    r = len(slots)
    amounts = np.zeros((len(uniq) + 1, r + 1))
    amounts[: len(uniq), :r] = call_amounts
    amounts[len(uniq), r] = 1.0  # the field visit pattern
    pattern = np.full((n, len(CONTACT_ACTIONS) * n_w), -1, dtype=np.int64)
    for a, action in enumerate(CONTACT_ACTIONS):
        cols = slice(a * n_w, (a + 1) * n_w)
        if action.resource == CALLS:
            pattern[:, cols] = window_pattern
        elif action.resource == FIELD_VISITS:
            pattern[:, cols] = np.where(ok, len(uniq), -1)
    capacity = np.array([p.calls_per_hour] * r + [p.field_visits_per_day], dtype=np.float64)
    names = tuple(f"calls {np.datetime_as_string(s, unit='h')}Z" for s in slots) + (f"field_visits {run_date}",)
    return Usage(pattern, amounts, capacity, names)


def share_of(params: StrategyParams, share: float) -> StrategyParams:
    """The strategy params with `share` of the calls per hour and field visits per day (what a partition's
    plan may use, and what the verifier holds it to)."""
    if share == 1.0:
        return params
    return params.model_copy(
        update={
            "calls_per_hour": params.calls_per_hour * share,
            "field_visits_per_day": params.field_visits_per_day * share,
        }
    )


def with_contact_budget(usage: Usage, budget: float) -> Usage:
    """`usage` plus one more resource, the run date's contacts: every contact candidate uses one, at most
    `budget` in all (the lender's contact volume, e.g. the same as business as usual's)."""
    n_patterns, n_resources = usage.amounts.shape
    amounts = np.zeros((n_patterns + 1, n_resources + 1))
    amounts[:n_patterns, :n_resources] = usage.amounts
    amounts[:, n_resources] = 1.0  # every pattern, and the new one for candidates that used nothing scarce
    pattern = np.where(usage.pattern < 0, n_patterns, usage.pattern)
    capacity = np.append(usage.capacity, float(budget))
    return Usage(pattern, amounts, capacity, (*usage.resources, "contacts"))
