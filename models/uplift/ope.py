"""Off-policy value of a contact policy from the decision log: IPS, self-normalised IPS, doubly robust,
and a doubly robust estimator with switched or shrunk weights tuned from the log.

The value is the mean per logged decision of `reward - cost of the action`. A target policy is
given per logged decision by the probability `target_prob` it gives the logged action (channel,
hour and offer exactly: 1 or 0 for a deterministic policy), its direct-method value `dm` (the model's
expected reward minus cost under the target's action), and `mu_logged` (the same for the logged
action). The importance weight is `target_prob / propensity` with the *logged* propensity, never a
re-estimated one.

No silent extrapolation: rows where the target takes an action the log never took (`supported`
False) are left out of every estimator, and an `UnsupportedActionWarning` says how many; a target
that puts weight on logged actions whose propensity is below the floor gets a warning too (its
weights are then huge and the interval means little).

**Switch and shrinkage** (`shrinkage`). A deterministic target matches a logged decision only where
the logging policy took its exact action, sometimes with probability 1 in thousands: the DR's
correction term `w (r - mu)` of a few such decisions then carries the estimate. Two estimators trade
that variance for some bias, per decision, with the weight `w` replaced by `w_hat`:

* ``"switch"`` (SWITCH-DR, Wang, Agarwal and Dudik 2017, "Optimal and adaptive off-policy evaluation in
  contextual bandits"): `w_hat = w 1{w <= tau}`; where the weight exceeds `tau` the decision is priced by
  the model alone. For a deterministic target the weight of a matching decision is 1 / the logging
  propensity of the target's own action in that context, so dropping the correction of matching rows with
  `w > tau` is the paper's switch to the model in exactly those contexts;
* ``"optimistic"`` (DR with optimistic shrinkage, Su, Dimakopoulou, Krishnamurthy and Dudik 2020, "Doubly
  robust off-policy evaluation with shrinkage"): `w_hat = lambda w / (w**2 + lambda)`, smooth, every
  decision keeps part of its correction.

The threshold / shrinkage is chosen from the log alone, by the estimated mean squared error
`variance + bias**2` over a grid built from the log's own weights (plain DR, `tau = lambda = inf`, is
always on it): the variance is the per-decision terms' sample variance / n, the bias the correction the
switch or shrinkage leaves out, `mean((w - w_hat)(r - mu))`, taken by default at its empirical-Bernstein
high-probability upper bound (Maurer and Pontil 2009; as the Open Bandit Pipeline's tuning does, Saito et
al. 2021): a bias estimate from the few heavy decisions it is about is itself noisy, and the bound keeps the
criterion from trusting it. Nothing about the held-out truth enters the choice.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

#: How the tuned estimator replaces the importance weights (module docstring).
Shrinkage = Literal["switch", "optimistic"]
#: How the tuning criterion takes the bias: its plug-in estimate, or its high-probability upper bound.
BiasMode = Literal["estimate", "upper_bound"]
#: The shrinkage grid reaches lambda = this x the largest weight squared (`candidate_thresholds`).
SHRINK_REACH = 1e4


class UnsupportedActionWarning(UserWarning):
    """The target policy takes actions the logging policy never took, or took below the floor."""


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Tuned:
    """The switch or shrinkage DR: its estimate and what the log-only tuning chose."""

    kind: str
    estimate: Estimate
    threshold: float
    """tau (switch) or lambda (optimistic); inf: plain DR"""
    mse: float
    """estimated mean squared error of the chosen estimator (per-decision units)"""
    bias: float
    """the bias term the criterion used (plug-in or upper bound)"""
    variance: float
    switched_rows: int
    """matching decisions whose weight was switched off (w > tau) or shrunk by more than half"""

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            **vars(self.estimate),
            "threshold": self.threshold,
            "mse": self.mse,
            "bias": self.bias,
            "variance": self.variance,
            "switched_rows": self.switched_rows,
        }


@dataclass(frozen=True)
class OffPolicy:
    ips: Estimate
    snips: Estimate
    dr: Estimate
    rows: int
    unsupported_rows: int
    below_floor_rows: int
    effective_sample_size: float
    tuned: Tuned | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            **{f"{k}": vars(getattr(self, k)) for k in ("ips", "snips", "dr")},
            "rows": self.rows,
            "unsupported_rows": self.unsupported_rows,
            "below_floor_rows": self.below_floor_rows,
            "effective_sample_size": self.effective_sample_size,
        }
        if self.tuned is not None:
            out["tuned"] = self.tuned.as_dict()
        return out


def importance_weights(target_prob: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    """target / logged propensity, per decision (the logged propensity as written in the log)."""
    return np.asarray(target_prob, float) / np.asarray(propensity, float)


def shrink_weights(w: np.ndarray, kind: Shrinkage, threshold: float) -> np.ndarray:
    """The weights the switch or shrinkage DR uses in its correction term.

    Parameters
    ----------
    w : numpy.ndarray
        Importance weights (target probability / logged propensity), >= 0.
    kind : {"switch", "optimistic"}
        ``"switch"``: ``w`` where ``w <= threshold``, else 0 (the decision is priced by the model alone).
        ``"optimistic"``: ``threshold * w / (w**2 + threshold)``.
    threshold : float
        tau of the switch or lambda of the shrinkage, > 0; ``inf`` returns ``w`` (plain DR).
    """
    w = np.asarray(w, float)
    if np.isinf(threshold):
        return w.copy()
    if kind == "switch":
        return np.where(w <= threshold, w, 0.0)
    if kind == "optimistic":
        return threshold * w / (w**2 + threshold)
    raise ValueError(f"unknown shrinkage {kind!r}")


def candidate_thresholds(w: np.ndarray, kind: Shrinkage, grid: int) -> np.ndarray:
    """The tuning grid, from the log's weights only, and inf (plain DR) always on it.

    Switch: `grid` quantiles of the matching decisions' weights (tau at or above the largest weight switches
    nothing, the same as inf). Shrinkage: lambda on a geometric grid from the smallest weight squared to
    `SHRINK_REACH` times the largest squared: lambda = w**2 halves a weight w, and a lambda far above every
    w**2 shrinks each weight by about w**2 / lambda, the region where a little shrinkage removes variance
    at first order and adds bias only at second order (Su et al. 2020)."""
    pos = np.unique(np.asarray(w, float)[np.asarray(w) > 0])
    if not len(pos):
        return np.array([np.inf])
    if kind == "switch":
        taus = np.unique(np.quantile(pos, np.linspace(0.0, 1.0, max(grid, 2))))
        return np.append(taus[taus < pos.max()], np.inf)
    if pos.max() == pos.min() == 1.0:  # on-policy (every weight 1): nothing to shrink
        return np.array([np.inf])
    return np.append(np.geomspace(pos.min() ** 2, SHRINK_REACH * pos.max() ** 2, max(grid, 2)), np.inf)


def _bernstein_bound(x: np.ndarray, delta: float) -> float:
    """|mean(x)| plus its empirical-Bernstein deviation at confidence 1 - delta (Maurer and Pontil 2009)."""
    n = len(x)
    if n < 2:
        return float(abs(x.mean())) if n else 0.0
    log_term = np.log(2.0 / delta)
    spread = np.abs(x).max()
    return float(abs(x.mean()) + np.sqrt(2.0 * x.var(ddof=1) * log_term / n) + 7.0 * spread * log_term / (3 * (n - 1)))


def estimated_mse(
    r: np.ndarray,
    w: np.ndarray,
    dm: np.ndarray,
    mu: np.ndarray,
    kind: Shrinkage,
    threshold: float,
    bias: BiasMode = "upper_bound",
    delta: float = 0.05,
) -> tuple[float, float, float]:
    """Estimated MSE of the switch / shrinkage DR at one threshold, from the log alone.

    Parameters
    ----------
    r, w, dm, mu : numpy.ndarray
        Per decision: logged value (reward minus price), importance weight, the model's value of the
        target's action and of the logged action.
    kind : {"switch", "optimistic"}
        See `shrink_weights`.
    threshold : float
        tau or lambda (inf: plain DR, whose bias term is 0).
    bias : {"upper_bound", "estimate"}
        The bias term: ``"estimate"`` the plug-in ``mean((w - w_hat)(r - mu))``; ``"upper_bound"`` (default)
        its empirical-Bernstein upper bound at confidence ``1 - delta``.
    delta : float
        Confidence of the bias bound.

    Returns
    -------
    (mse, bias, variance)
        ``variance + bias**2``, the bias term used, and the per-decision terms' sample variance / n.
    """
    w_hat = shrink_weights(w, kind, threshold)
    terms = dm + w_hat * (r - mu)
    n = max(len(terms), 1)
    variance = float(terms.var(ddof=1) / n) if len(terms) > 1 else 0.0
    left_out = (w - w_hat) * (r - mu)
    if np.isinf(threshold) or not left_out.any():
        b = 0.0
    elif bias == "upper_bound":
        b = _bernstein_bound(left_out, delta)
    else:
        b = float(abs(left_out.mean()))
    return variance + b**2, b, variance


def tune(
    r: np.ndarray,
    w: np.ndarray,
    dm: np.ndarray,
    mu: np.ndarray,
    kind: Shrinkage,
    *,
    grid: int = 30,
    bias: BiasMode = "upper_bound",
    delta: float = 0.05,
) -> tuple[float, float, float, float]:
    """The threshold of least estimated MSE on the log (`candidate_thresholds`, `estimated_mse`).

    Returns (threshold, mse, bias, variance); ties go to the larger threshold (less departure from DR).
    """
    best = None
    for t in candidate_thresholds(w, kind, grid)[::-1]:
        mse, b, v = estimated_mse(r, w, dm, mu, kind, t, bias, delta)
        if best is None or mse < best[1]:
            best = (float(t), mse, b, v)
    assert best is not None
    return best


def _values(r, w, dm, mu, w_hat=None):
    ips = np.mean(w * r)
    snips = np.sum(w * r) / max(np.sum(w), 1e-12)
    dr = np.mean(dm + w * (r - mu))
    if w_hat is None:
        return ips, snips, dr
    return ips, snips, dr, np.mean(dm + w_hat * (r - mu))


def estimate(
    reward: np.ndarray,
    propensity: np.ndarray,
    target_prob: np.ndarray,
    dm: np.ndarray,
    mu_logged: np.ndarray,
    supported: np.ndarray | None = None,
    *,
    floor: float,
    bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    name: str = "policy",
    shrinkage: Shrinkage | None = None,
    threshold: float | None = None,
    grid: int = 30,
    bias: BiasMode = "upper_bound",
    delta: float = 0.05,
) -> OffPolicy:
    """IPS, SNIPS and DR values with percentile bootstrap intervals (decisions resampled).

    `reward` is the logged response minus the logged action's cost; `dm` and `mu_logged` are net of cost too.

    Parameters
    ----------
    shrinkage : {"switch", "optimistic"}, optional
        Also compute the switch or shrinkage DR (module docstring) as `OffPolicy.tuned`; None: not.
    threshold : float, optional
        Its tau / lambda, fixed; None (default): chosen by `tune` on the supported decisions (log only).
    grid, bias, delta
        The tuning's grid size, bias term and confidence (`tune`, `estimated_mse`).

    The tuned estimator's interval resamples the decisions at the chosen threshold (the tuning's own
    variability is not in it).
    """
    r, p, tp = (np.asarray(a, float) for a in (reward, propensity, target_prob))
    dm, mu = np.asarray(dm, float), np.asarray(mu_logged, float)
    ok = np.ones(len(r), bool) if supported is None else np.asarray(supported, bool)
    if not ok.all():
        warnings.warn(
            f"{name}: {int((~ok).sum())} of {len(r)} decisions take an action the log never took; "
            "they are left out of every estimate (no extrapolation)",
            UnsupportedActionWarning,
            stacklevel=2,
        )
    low_p = ok & (tp > 0) & (p < floor)
    if low_p.any():
        warnings.warn(
            f"{name}: {int(low_p.sum())} decisions weigh logged actions with propensity below the floor {floor}",
            UnsupportedActionWarning,
            stacklevel=2,
        )
    r, p, tp, dm, mu = r[ok], p[ok], tp[ok], dm[ok], mu[ok]
    w = importance_weights(tp, p)
    w_hat, chosen = None, None
    if shrinkage is not None:
        if threshold is None:
            chosen = tune(r, w, dm, mu, shrinkage, grid=grid, bias=bias, delta=delta)
        else:
            chosen = (float(threshold), *estimated_mse(r, w, dm, mu, shrinkage, threshold, bias, delta))
        w_hat = shrink_weights(w, shrinkage, chosen[0])
    point = _values(r, w, dm, mu, w_hat)
    rng = np.random.default_rng(seed)
    draws = np.array(
        [
            _values(r[i], w[i], dm[i], mu[i], None if w_hat is None else w_hat[i])
            for i in (rng.integers(0, len(r), len(r)) for _ in range(bootstrap))
        ]
    )
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(draws, [alpha, 1 - alpha], axis=0)
    ess = float(np.sum(w) ** 2 / max(np.sum(w**2), 1e-12))
    est = [Estimate(float(v), float(a), float(b)) for v, a, b in zip(point, lo, hi, strict=True)]
    tuned = None
    if shrinkage is not None and chosen is not None and w_hat is not None:
        t, mse, b, v = chosen
        tuned = Tuned(
            kind=shrinkage,
            estimate=est[3],
            threshold=t,
            mse=float(mse),
            bias=float(b),
            variance=float(v),
            switched_rows=int(((w > 0) & (w_hat < 0.5 * w)).sum()),
        )
    return OffPolicy(
        *est[:3],
        rows=len(r),
        unsupported_rows=int((~ok).sum()) if supported is not None else 0,
        below_floor_rows=int(low_p.sum()),
        effective_sample_size=ess,
        tuned=tuned,
    )
