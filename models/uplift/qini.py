"""Qini curves and coefficients of an arm against no contact, with bootstrap intervals.

Rows are the decisions that took the arm or no contact. They are sorted by the predicted effect
(highest first); at each cut the Qini value is the weighted response of the treated rows above it
over all treated weight, minus the same for the untreated rows: the incremental response per
decision gained by treating the top of the list. Weights are inverse estimated arm propensities
(the logging policy is not a uniform experiment: without them, whom it chose to treat would show as
uplift). The coefficient is the mean gap between the curve and the straight line of random targeting
(same end point), over `points` equally spaced cuts: above 0 when the ranking beats random targeting.

`dr_qini` is the same curve from doubly robust (AIPW) scores, one per decision of the population, whatever it
took: the model's predicted effect plus each row's inverse-propensity-weighted residual (Yadlowsky, Fleming,
Shah, Brunskill and Wager 2024, "Evaluating treatment prioritization rules via rank-weighted average treatment
effects", the scores grf's `rank_average_treatment_effect` takes). Unbiased when the propensities are right,
whatever the outcome model; the residuals carry less of the payments' own noise than the responses do.
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


def _cuts(rows: int, points: int) -> np.ndarray:
    """Index of the last row above each of `points` equally spaced cuts."""
    return np.linspace(0, rows, points + 1).astype(np.int64)[1:] - 1


def _curve(score, y, treated, w, points: int, presorted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if presorted:
        t = treated
    else:
        order = np.argsort(-score, kind="stable")
        y, t, w = y[order], treated[order], w[order]
    yt, yc = np.cumsum(np.where(t, w * y, 0.0)), np.cumsum(np.where(t, 0.0, w * y))
    nt, nc = max(np.sum(np.where(t, w, 0.0)), 1e-12), max(np.sum(np.where(t, 0.0, w)), 1e-12)
    cuts = _cuts(len(y), points)
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
    y, treated, w = y[order], treated[order], w[order]
    return _bootstrapped(
        lambda draw: _curve(None, y, treated, w * draw, points, presorted=True),
        len(y),
        int(treated.sum()),
        bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
    )


def _dr_curve(gamma: np.ndarray, w: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Curve of presorted doubly robust scores: at each cut, the weighted sum of the scores above it over the
    total weight (the gain per decision of treating the top of the list)."""
    gain = np.cumsum(w * gamma) / max(float(np.sum(w)), 1e-12)
    return np.linspace(0, 1, points + 1), np.concatenate([[0.0], gain[_cuts(len(gamma), points)]])


def dr_qini(
    score: np.ndarray,
    gamma: np.ndarray,
    treated: np.ndarray,
    *,
    bootstrap: int,
    confidence: float,
    seed: int,
    points: int = 50,
) -> Qini:
    """Qini coefficient of the ranking `score` from doubly robust scores `gamma` (module docstring), with the
    same Poisson-bootstrap interval as `qini`.

    Parameters
    ----------
    score : numpy.ndarray
        Per decision of the population: the predicted effect that ranks it (highest first).
    gamma : numpy.ndarray
        Per decision: its doubly robust score of the effect, `mu_1 - mu_0 + 1{treated}(y - mu_1)/e_1 -
        1{control}(y - mu_0)/e_0` (models/uplift/train.py, `channel_dr_inputs`); rows that took neither side
        keep the model's part alone.
    treated : numpy.ndarray
        Per decision: whether it took the treatment (reported as `treated`; the curve does not use it).
    """
    score, gamma = np.asarray(score, float), np.asarray(gamma, float)
    order = np.argsort(-score, kind="stable")
    gamma = gamma[order]
    return _bootstrapped(
        lambda draw: _dr_curve(gamma, draw, points),
        len(gamma),
        int(np.asarray(treated, bool).sum()),
        bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
    )


def _bootstrapped(curve, rows: int, treated: int, *, bootstrap: int, confidence: float, seed: int) -> Qini:
    """`curve(draw)` -> (x, q) of presorted rows each counted `draw` times: the coefficient at draw 1 and its
    percentile interval over Poisson(1) draws (Hanley & MacGibbon 2006: the order is kept, a resample costs one
    pass instead of a sort)."""
    x, q = curve(np.ones(rows))
    rng = np.random.default_rng(seed)
    draws = [float(np.mean(c - x * c[-1])) for c in (curve(rng.poisson(1.0, rows))[1] for _ in range(bootstrap))]
    alpha = (1 - confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha]) if draws else (np.nan, np.nan)
    return Qini(
        coefficient=float(np.mean(q - x * q[-1])),
        low=float(low),
        high=float(high),
        rows=rows,
        treated=treated,
        curve=tuple((float(a), float(b), float(a * q[-1])) for a, b in zip(x, q, strict=True)),
    )
