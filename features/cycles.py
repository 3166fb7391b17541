"""Per-account windows over statement cycles, on arrays sorted by (account, cycle).

A value computed at statement row i may look only at rows i, i-1, ... of the same account;
the spine then takes row "last statement before D". Because every helper here looks
backwards only, statement-level features are point-in-time by construction.

Window sums are differences of cumulative sums over *integers* (counts, days, cents), so they
are exact and a row's result never depends on the other accounts sharing the arrays
(chunked == whole, bit for bit); window maxima take a few shifted copies (k <= 12 here).
"""

from __future__ import annotations

import numpy as np


class Cycles:
    """Positions of sorted statement rows within their account's history."""

    def __init__(self, codes: np.ndarray) -> None:
        n = len(codes)
        idx = np.arange(n)
        new = np.ones(n, dtype=bool)
        new[1:] = codes[1:] != codes[:-1]
        self.start = np.maximum.accumulate(np.where(new, idx, 0)) if n else idx
        self.pos = idx - self.start
        self.n = n

    def lag(self, values: np.ndarray, k: int, fill: float = np.nan) -> np.ndarray:
        """values (rows, or rows x series) k cycles earlier in the same account; `fill` before the history."""
        values = np.asarray(values, dtype=np.float64)
        if k == 0:
            return values.copy()
        out = np.full(values.shape, fill, dtype=np.float64)
        if k < self.n:
            out[k:] = values[:-k]
        out[self.pos < k] = fill
        return out

    def rows(self, k: int) -> np.ndarray:
        """How many cycles the last-k window holds at each row (fewer at the start of a history)."""
        return np.minimum(self.pos + 1, k)

    def sums(self, values: np.ndarray, ks: tuple[int, ...], at: np.ndarray) -> dict[int, np.ndarray]:
        """Exact sums of integer values (rows, or rows x series) over the last k cycles ending at rows `at`.

        Rows `at` = -1 (no statement yet) get 0. Only the requested rows are computed.
        """
        values = np.asarray(values, dtype=np.int64)
        prefix = np.zeros((self.n + 1,) + values.shape[1:], dtype=np.int64)
        np.cumsum(values, axis=0, out=prefix[1:])
        row = np.maximum(at, 0)
        start = self.start[row] if self.n else row
        end = prefix[np.where(at >= 0, row + 1, 0)]
        return {k: end - prefix[np.where(at >= 0, np.maximum(row - k + 1, start), 0)] for k in ks}

    def maxima(self, values: np.ndarray, ks: tuple[int, ...]) -> dict[int, np.ndarray]:
        """NaN-skipping max of a 1-D series over the last k cycles, for every k (NaN when all are)."""
        peak = np.asarray(values, dtype=np.float64).copy()
        out: dict[int, np.ndarray] = {1: peak.copy()} if 1 in ks else {}
        for j in range(1, max(ks)):
            np.fmax(peak, self.lag(values, j), out=peak)
            if j + 1 in ks:
                out[j + 1] = peak.copy()
        return out

    def cumulative(self, flags: np.ndarray) -> np.ndarray:
        """Running count of True within the account, up to and including each row."""
        cs = np.cumsum(flags, dtype=np.int64)
        if self.n == 0:
            return cs
        return cs - (cs[self.start] - np.asarray(flags, dtype=np.int64)[self.start])

    def since_last(self, flags: np.ndarray) -> np.ndarray:
        """Cycles since the last row where `flags` held (0 = this row), NaN when it never held."""
        idx = np.arange(self.n)
        last = np.maximum.accumulate(np.where(flags, idx, -1)) if self.n else idx
        out = (idx - last).astype(np.float64)
        out[last < self.start] = np.nan
        return out

    def streak(self, flags: np.ndarray) -> np.ndarray:
        """Consecutive rows ending here where `flags` held."""
        idx = np.arange(self.n)
        last_break = np.maximum.accumulate(np.where(flags, self.start - 1, idx)) if self.n else idx
        return idx - last_break

    def change(self, values: np.ndarray, k: int) -> np.ndarray:
        """values now minus k cycles ago (or the account's first cycle when the history is shorter)."""
        values = np.asarray(values, dtype=np.float64)
        back = np.maximum(np.arange(self.n) - k, self.start)
        return values - values[back] if self.n else values.copy()


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where den is 0 or missing (no silent infinities)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    ok = np.isfinite(den) & (den != 0)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=ok)
    return out
