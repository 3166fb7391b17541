"""Qini curves and coefficients of an arm against no contact, with bootstrap intervals.

Rows are the decisions that took the arm or no contact. They are sorted by the predicted effect
(highest first); at each cut the Qini value is the weighted response of the treated rows above it
over all treated weight, minus the same for the untreated rows: the incremental response per
decision gained by treating the top of the list. Weights are inverse estimated arm propensities
(the logging policy is not a uniform experiment: without them, whom it chose to treat would show as
uplift). The coefficient is the mean gap between the curve and the straight line of random targeting
(same end point), over `points` equally spaced cuts: above 0 when the ranking beats random targeting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Qini:
    coefficient: float
    low: float
    high: float
    rows: int
    treated: int
    curve: tuple[tuple[float, float, float], ...]  # (share targeted, qini value, random targeting)


def _curve(score, y, treated, w, points: int, presorted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if presorted:
        t = treated
    else:
        order = np.argsort(-score, kind="stable")
        y, t, w = y[order], treated[order], w[order]
    yt, yc = np.cumsum(np.where(t, w * y, 0.0)), np.cumsum(np.where(t, 0.0, w * y))
    nt, nc = max(np.sum(np.where(t, w, 0.0)), 1e-12), max(np.sum(np.where(t, 0.0, w)), 1e-12)
    cuts = np.linspace(0, len(y), points + 1).astype(np.int64)[1:] - 1
    q = np.concatenate([[0.0], yt[cuts] / nt - yc[cuts] / nc])
    return np.linspace(0, 1, points + 1), q


def coefficient(score, y, treated, w, points: int = 50) -> float:
    x, q = _curve(score, y, treated, w, points)
    return float(np.mean(q - x * q[-1]))


def qini(
    score: np.ndarray,
    y: np.ndarray,
    treated: np.ndarray,
    w: np.ndarray,
    *,
    bootstrap: int,
    confidence: float,
    seed: int,
    points: int = 50,
) -> Qini:
    """Qini coefficient with a percentile bootstrap interval.

    The bootstrap is the Poisson one (each row drawn Poisson(1) times, Hanley & MacGibbon 2006): the
    rows stay in their sorted order, so a resample costs one pass instead of a sort."""
    score, y = np.asarray(score, float), np.asarray(y, float)
    treated, w = np.asarray(treated, bool), np.asarray(w, float)
    order = np.argsort(-score, kind="stable")
    score, y, treated, w = score[order], y[order], treated[order], w[order]
    x, q = _curve(score, y, treated, w, points, presorted=True)
    rng = np.random.default_rng(seed)
    draws = [
        float(np.mean(c - x * c[-1]))
        for c in (
            _curve(score, y, treated, w * rng.poisson(1.0, len(y)), points, presorted=True)[1] for _ in range(bootstrap)
        )
    ]
    alpha = (1 - confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha]) if draws else (np.nan, np.nan)
    return Qini(
        coefficient=float(np.mean(q - x * q[-1])),
        low=float(low),
        high=float(high),
        rows=len(y),
        treated=int(treated.sum()),
        curve=tuple((float(a), float(b), float(a * q[-1])) for a, b in zip(x, q, strict=True)),
    )
