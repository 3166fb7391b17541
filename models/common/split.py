"""Splits of the labelled rows: by time (the default) or by account (params `roll_rate.split`).

Out of time, by as-of month: train on earlier cycles, validate and test on the latest. A random
split across time would let the model see the test months' macro state (and each account's
neighbouring rows) in training and overstate what it will do next month. Months, not dates, are
the unit because billing cycles may close on different days for different accounts: every as-of
date of one calendar month belongs to the same cycle.

By account, for histories too short to hold months out (UCI: six months): grouped k-fold, every
row of an account in one fold, accounts dealt to folds at random (seeded). Each fold is
predicted by a model trained on the others, so every account gets an out-of-fold prediction and
no account is ever scored by a model that saw it. Months are shared between training and test
parts, which is what this split cannot rule out: the test figures do not measure a change of
conditions over time.
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


def months_label(months: tuple[int, ...]) -> str:
    """'2024-02..2025-06 (17 months)'; one month: '2005-09 (1 month)'."""
    first, last = month_label(min(months)), month_label(max(months))
    span = first if first == last else f"{first}..{last}"
    return f"{span} ({len(months)} month{'' if len(months) == 1 else 's'})"


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
            "method": "time",
            **{
                name: months_label(months)
                for name, months in (("train", self.train), ("valid", self.valid), ("test", self.test))
            },
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


def account_folds(account_ids: np.ndarray | pd.Series, folds: int, seed: int) -> np.ndarray:
    """Fold (0..folds-1, int64) of each row: all rows of an account share one; accounts are dealt
    round-robin in a random order (`seed`), so fold sizes differ by at most one account."""
    ids = np.asarray(account_ids)
    accounts, row_account = np.unique(ids, return_inverse=True)
    if len(accounts) < folds:
        raise DataError(
            "features",
            "enough_accounts",
            f"{len(accounts)} account(s); the account split needs at least {folds} (one per fold)",
        )
    order = np.random.default_rng(seed).permutation(len(accounts))
    fold_of_account = np.empty(len(accounts), dtype=np.int64)
    fold_of_account[order] = np.arange(len(accounts)) % folds
    return fold_of_account[row_account]


@dataclass(frozen=True)
class AccountSplit:
    """Grouped k-fold by account: which fold each labelled row is tested in."""

    folds: int
    inner_folds: int
    seed: int
    fold: np.ndarray  # per labelled row
    months: tuple[int, ...]  # as-of months of the labelled rows
    accounts: int

    def describe(self) -> dict[str, str]:
        span = months_label(self.months)
        return {
            "method": "account",
            "folds": str(self.folds),
            "inner_folds": str(self.inner_folds),
            "seed": str(self.seed),
            "accounts": str(self.accounts),
            "test": f"every account out of fold, as-of {span}",
        }


def account_split(
    account_ids: pd.Series | np.ndarray, as_of_dates: pd.Series | np.ndarray, folds: int, inner_folds: int, seed: int
) -> AccountSplit:
    """The grouped k-fold of the labelled rows (account ids and as-of dates of those rows)."""
    fold = account_folds(account_ids, folds, seed)
    months = tuple(int(m) for m in np.unique(cycle_index(as_of_dates)))
    return AccountSplit(folds, inner_folds, seed, fold, months, int(len(np.unique(np.asarray(account_ids)))))
