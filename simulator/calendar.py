"""The simulation clock: integer days, monthly cycles, weekdays and every borrower's paydays.

Day 0 is `pre_cycles` months before the burn-in starts: the pre-cycles are never simulated,
they only give seasoned accounts' earlier due dates a place on the grid. Cycle j ends on
day `cycle_day[j]`; its window is (cycle_day[j-1], cycle_day[j]]. A simulated day is a UTC
date for payments and a local date for contacts (see docs/simulator.md, "Clock").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

#: Pay schedules a borrower can have: (kind, parameter). Weekly/biweekly paydays are on the
#: given weekday (Mon=0) / Friday of even or odd weeks; monthly ones on a day of the month
#: (31 = last day), moved back to Friday when they fall on a weekend.
PAY_SCHEDULES: tuple[tuple[str, object], ...] = (
    ("weekly", 4),
    ("weekly", 3),
    ("biweekly", 0),
    ("biweekly", 1),
    ("semimonthly", (1, 15)),
    ("semimonthly", (15, 31)),
    ("monthly", 1),
    ("monthly", 15),
    ("monthly", 25),
    ("monthly", 31),
)
_FAR = 10_000


@dataclass(frozen=True)
class Calendar:
    origin: pd.Timestamp
    cycle_day: np.ndarray  # int32, day index of each cycle end
    first_loop_cycle: int  # the simulation starts the day after this cycle ends
    start_cycle: int  # this cycle ends on start_date: the first written cycle is the next one
    weekday: np.ndarray  # int8 per day, Mon=0
    cycle_of_day: np.ndarray  # int32 per day: the cycle whose window holds the day
    is_payday: np.ndarray  # bool (schedules, days)
    last_payday: np.ndarray  # int32 (schedules, days): latest payday <= day
    next_payday: np.ndarray  # int32 (schedules, days): earliest payday >= day
    paydays_per_month: np.ndarray  # float per schedule

    @classmethod
    def build(cls, start_date: date, cycles: int, burn_in: int, pre_cycles: int = 8) -> Calendar:
        start_cycle = pre_cycles + burn_in
        last = start_cycle + cycles
        start = pd.Timestamp(start_date)
        dates = pd.DatetimeIndex([start + pd.DateOffset(months=j - start_cycle) for j in range(last + 1)])
        origin = dates[0]
        cycle_day = np.asarray((dates - origin).days, dtype=np.int32)
        n_days = int(cycle_day[-1]) + 1
        days = origin + pd.to_timedelta(np.arange(n_days), unit="D")
        weekday = np.asarray(days.day_of_week, dtype=np.int8)
        cycle_of_day = np.searchsorted(cycle_day, np.arange(n_days), side="left").astype(np.int32)
        is_payday = np.stack([_paydays(kind, arg, days) for kind, arg in PAY_SCHEDULES])
        idx = np.arange(n_days, dtype=np.int32)
        last_payday = np.maximum.accumulate(np.where(is_payday, idx, -_FAR), axis=1).astype(np.int32)
        nxt = np.where(is_payday, idx, n_days + _FAR)[:, ::-1]
        next_payday = np.minimum.accumulate(nxt, axis=1)[:, ::-1].astype(np.int32)
        per_month = np.array(
            [{"weekly": 52 / 12, "biweekly": 26 / 12, "semimonthly": 2.0, "monthly": 1.0}[k] for k, _ in PAY_SCHEDULES]
        )
        return cls(
            origin=origin,
            cycle_day=cycle_day,
            first_loop_cycle=pre_cycles,
            start_cycle=start_cycle,
            weekday=weekday,
            cycle_of_day=cycle_of_day,
            is_payday=is_payday,
            last_payday=last_payday,
            next_payday=next_payday,
            paydays_per_month=per_month,
        )

    @property
    def n_days(self) -> int:
        return len(self.weekday)

    @property
    def last_cycle(self) -> int:
        return len(self.cycle_day) - 1

    @property
    def start_day(self) -> int:
        """Day index of start_date: records on later days are written."""
        return int(self.cycle_day[self.start_cycle])

    @property
    def loop_start_day(self) -> int:
        return int(self.cycle_day[self.first_loop_cycle])

    def date_of(self, day: int) -> pd.Timestamp:
        return self.origin + pd.Timedelta(days=int(day))

    def day_of(self, when: date | pd.Timestamp) -> int:
        return int((pd.Timestamp(when) - self.origin).days)

    def written_cycles(self) -> range:
        return range(self.start_cycle + 1, self.last_cycle + 1)


def _paydays(kind: str, arg: object, days: pd.DatetimeIndex) -> np.ndarray:
    weekday = np.asarray(days.day_of_week)
    if kind == "weekly":
        return weekday == arg
    if kind == "biweekly":
        fridays = weekday == 4
        week = (np.arange(len(days)) - int(np.argmax(fridays))) // 7
        return fridays & (week % 2 == arg)
    doms = arg if isinstance(arg, tuple) else (arg,)
    dom = np.asarray(days.day)
    dim = np.asarray(days.days_in_month)
    nominal = np.zeros(len(days), dtype=bool)
    for d in doms:
        nominal |= dom == np.minimum(d, dim)
    # a payday on a weekend is paid on the Friday before
    shift = np.where(weekday == 5, 1, np.where(weekday == 6, 2, 0))
    out = np.zeros(len(days), dtype=bool)
    idx = np.flatnonzero(nominal) - shift[nominal]
    out[idx[idx >= 0]] = True
    return out
