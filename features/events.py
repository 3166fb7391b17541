"""Per-account event look-ups on sorted integer keys: sums and counts in a window, the last event before an instant.

Shared by the uplift decision rows (models/uplift/rows.py) and the public state frame of a run date
(features/state_frame.py). Events and queries are (account, time) pairs with time an integer (minutes
or days); one sort of the events and a binary search per query, no per-account Python loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NS_PER_MINUTE = 60 * 10**9
#: account * BIG + time is the sort key: times must stay below 2**40 (minutes since 1970: until year 3060)
BIG = np.int64(1) << 40


def keys(account: np.ndarray, time: np.ndarray) -> np.ndarray:
    return np.asarray(account, dtype=np.int64) * BIG + np.asarray(time, dtype=np.int64)


def minutes(ts: pd.Series) -> np.ndarray:
    """UTC timestamps as whole minutes since 1970 (int64)."""
    return ts.to_numpy("datetime64[ns]").astype(np.int64) // NS_PER_MINUTE


def window_sum(event_acc, event_time, values, acc, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the sum and count of events of the same account with time in [lo, hi)."""
    k = keys(event_acc, event_time)
    order = np.argsort(k, kind="stable")
    k, vals = k[order], np.asarray(values, dtype=np.float64)[order]
    cs = np.concatenate([[0.0], np.cumsum(vals)])
    start = np.searchsorted(k, keys(acc, lo), "left")
    end = np.searchsorted(k, keys(acc, hi), "left")
    return cs[end] - cs[start], (end - start).astype(np.int64)


def last_before(event_acc, event_time, acc, t) -> np.ndarray:
    """Per query, the time of the account's last event strictly before t (-1: none)."""
    k = np.sort(keys(event_acc, event_time), kind="stable")
    if len(k) == 0:  # no such event in the source (an empty optional table)
        return np.full(len(acc), -1, dtype=np.int64)
    pos = np.searchsorted(k, keys(acc, t), "left") - 1
    ok = pos >= 0
    found = np.where(ok, k[np.maximum(pos, 0)], 0)
    same = ok & (found // BIG == np.asarray(acc, dtype=np.int64))
    return np.where(same, found % BIG, -1)


def first_at_or_after(event_acc, event_time, acc, t) -> np.ndarray:
    """Per query, the time of the account's first event at or after t (-1: none)."""
    k = np.sort(keys(event_acc, event_time), kind="stable")
    if len(k) == 0:
        return np.full(len(acc), -1, dtype=np.int64)
    pos = np.searchsorted(k, keys(acc, t), "left")
    ok = pos < len(k)
    found = np.where(ok, k[np.minimum(pos, len(k) - 1)], 0)
    same = ok & (found // BIG == np.asarray(acc, dtype=np.int64))
    return np.where(same, found % BIG, -1)
