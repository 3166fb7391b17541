"""Contact windows on the run date in each borrower's own time zone, in local time and in UTC.

A window `[first, end)` (whole local hours) is the set of instants whose local wall-clock time on the
run date lies in it. Its UTC bounds are, for each bound, the **earliest instant whose wall time is at
or after it**:

- an ordinary time maps to one instant;
- an ambiguous time (the repeated hour when clocks go back) maps to its first occurrence, so a window
  that holds the repeated hour holds both occurrences (it is an hour longer that day);
- a time that does not exist (skipped when clocks go forward) maps to the instant of the change, so
  a window loses the skipped part, and a window inside the gap is empty: it does not exist that day
  (`exists` False) and nothing is proposed in it.

`hours` lists the local whole hours a window covers (every instant's wall-clock hour): the rulebook
checks each. Time zones are IANA names (zoneinfo); an unknown one has no window at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

#: Covered hours are sampled at this step (every UTC offset in use is a multiple of 15 minutes).
_STEP = timedelta(minutes=15)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def first_instant_at_or_after(tz: ZoneInfo, wall: datetime) -> datetime:
    """The earliest UTC instant whose wall-clock time in `tz` is at or after `wall` (naive), near `wall`."""
    u0 = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    u1 = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if u0 <= u1:  # ordinary (equal) or ambiguous (fold 0 is the first occurrence)
        return u0
    # in a gap: the change lies in (u1, u0], at a whole minute; bisect on minutes after u1
    lo, hi = 0, int((u0 - u1) / timedelta(minutes=1))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(u1 + timedelta(minutes=mid), tz) >= wall:
            hi = mid
        else:
            lo = mid
    return u1 + timedelta(minutes=hi)


@dataclass(frozen=True)
class ZoneWindow:
    """One window on one date in one zone."""

    start_utc: datetime
    end_utc: datetime
    start_local: datetime
    end_local: datetime
    hours: tuple[int, ...]

    @property
    def exists(self) -> bool:
        return self.end_utc > self.start_utc


@lru_cache(maxsize=4096)
def zone_window(zone: str, day: date, first: int, end: int) -> ZoneWindow | None:
    """The window [first, end) local hours of `day` in `zone`; None for an unknown zone."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    midnight = datetime.combine(day, time())
    start = first_instant_at_or_after(tz, midnight + timedelta(hours=first))
    stop = first_instant_at_or_after(tz, midnight + timedelta(hours=end))
    hours: set[int] = set()
    t = start
    while t < stop:
        hours.add(_wall(t, tz).hour)
        t += _STEP
    return ZoneWindow(start, stop, _wall(start, tz), _wall(stop, tz), tuple(sorted(hours)))


@dataclass(frozen=True)
class Windows:
    """Every row's windows: arrays (n, W) in the order of `names`."""

    names: tuple[str, ...]
    start_utc: np.ndarray  # datetime64[ns] (UTC, naive), NaT where the window does not exist
    end_utc: np.ndarray
    start_local: np.ndarray  # datetime64[ns] wall-clock time in the row's zone
    end_local: np.ndarray
    exists: np.ndarray  # bool
    known_zone: np.ndarray  # bool (n,)
    hours: np.ndarray  # int (n, W, H): local hours covered, padded with the first one (-1 if none)


def windows_for(zones: pd.Series | np.ndarray, run_date: date, bands: dict[str, tuple[int, int]]) -> Windows:
    """The windows `bands` (name -> [first, end) local hours) on `run_date` for each row's zone."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(zones, dtype=object)), use_na_sentinel=True)
    names = tuple(bands)
    table = [[zone_window(str(z), run_date, *bands[w]) for w in names] for z in uniques]
    width = max([len(zw.hours) for row in table for zw in row if zw is not None] + [1])
    u, n_w = len(uniques), len(names)
    nat = np.datetime64("NaT", "ns")
    start_u, end_u = np.full((u + 1, n_w), nat), np.full((u + 1, n_w), nat)
    start_l, end_l = np.full((u + 1, n_w), nat), np.full((u + 1, n_w), nat)
    exists = np.zeros((u + 1, n_w), dtype=bool)
    known = np.zeros(u + 1, dtype=bool)
    hours = np.full((u + 1, n_w, width), -1, dtype=np.int64)
    for i, row in enumerate(table):
        for j, zw in enumerate(row):
            if zw is None:
                continue
            known[i] = True
            if not zw.exists:
                continue
            exists[i, j] = True
            start_u[i, j] = np.datetime64(zw.start_utc.replace(tzinfo=None), "ns")
            end_u[i, j] = np.datetime64(zw.end_utc.replace(tzinfo=None), "ns")
            start_l[i, j] = np.datetime64(zw.start_local, "ns")
            end_l[i, j] = np.datetime64(zw.end_local, "ns")
            hours[i, j, :] = zw.hours[0]
            hours[i, j, : len(zw.hours)] = zw.hours
    # the last row stands for a missing zone (code -1): no window
    return Windows(
        names, start_u[codes], end_u[codes], start_l[codes], end_l[codes], exists[codes], known[codes], hours[codes]
    )
