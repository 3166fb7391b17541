"""Out-of-time split by as-of month: train on earlier cycles, validate and test on the latest.

A random split across time would let the model see the test months' macro state (and each
account's neighbouring rows) in training and overstate what it will do next month. Months,
not dates, are the unit because billing cycles may close on different days for different
accounts: every as-of date of one calendar month belongs to the same cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import DataError


def cycle_index(as_of_dates: pd.Series | np.ndarray) -> np.ndarray:
    """Months since year 0 (int64) of each as-of date: the cycle an as-of row belongs to."""
    dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(as_of_dates)))
    return dates.year.to_numpy(np.int64) * 12 + dates.month.to_numpy(np.int64) - 1


def month_label(cycle: int) -> str:
    return f"{cycle // 12:04d}-{cycle % 12 + 1:02d}"


@dataclass(frozen=True)
class OutOfTimeSplit:
    """Which as-of months are train, validation and test (ascending, disjoint, in that order)."""

    train: tuple[int, ...]
    valid: tuple[int, ...]
    test: tuple[int, ...]

    def __post_init__(self) -> None:
        if not (self.train and self.valid and self.test):
            raise ValueError("every window needs at least one month")
        if not max(self.train) < min(self.valid) <= max(self.valid) < min(self.test):
            raise ValueError("windows must be ordered in time: train < valid < test")

    def window(self, as_of_dates: pd.Series | np.ndarray) -> np.ndarray:
        """Per row: 'train', 'valid', 'test', or '' for rows outside every window."""
        cycles = cycle_index(as_of_dates)
        out = np.full(len(cycles), "", dtype=object)
        for name in ("train", "valid", "test"):
            out[np.isin(cycles, getattr(self, name))] = name
        return out

    def describe(self) -> dict[str, str]:
        return {
            name: f"{month_label(min(months))}..{month_label(max(months))} ({len(months)} months)"
            for name, months in (("train", self.train), ("valid", self.valid), ("test", self.test))
        }


def out_of_time_split(
    as_of_dates: pd.Series | np.ndarray, valid_cycles: int, test_cycles: int, max_train_cycles: int | None = None
) -> OutOfTimeSplit:
    """The latest `test_cycles` months test, the `valid_cycles` before validate, earlier ones train.

    Pass the as-of dates of labelled rows only: an as-of month whose next cycle is not observed
    yet has nothing to evaluate.
    """
    months = np.unique(cycle_index(as_of_dates))
    need = valid_cycles + test_cycles + 1
    if len(months) < need:
        raise DataError(
            "features",
            "enough_history",
            f"{len(months)} labelled as-of month(s); the out-of-time split needs at least {need} "
            f"({test_cycles} test + {valid_cycles} validation + 1 training)",
        )
    test = months[-test_cycles:]
    valid = months[-(test_cycles + valid_cycles) : -test_cycles]
    train = months[: -(test_cycles + valid_cycles)]
    if max_train_cycles is not None:
        train = train[-max_train_cycles:]
    return OutOfTimeSplit(tuple(int(m) for m in train), tuple(int(m) for m in valid), tuple(int(m) for m in test))
