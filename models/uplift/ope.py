"""Off-policy value of a contact policy from the decision log: IPS, self-normalised IPS, doubly robust.

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
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


class UnsupportedActionWarning(UserWarning):
    """The target policy takes actions the logging policy never took, or took below the floor."""


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class OffPolicy:
    ips: Estimate
    snips: Estimate
    dr: Estimate
    rows: int
    unsupported_rows: int
    below_floor_rows: int
    effective_sample_size: float

    def as_dict(self) -> dict[str, object]:
        return {
            **{f"{k}": vars(getattr(self, k)) for k in ("ips", "snips", "dr")},
            "rows": self.rows,
            "unsupported_rows": self.unsupported_rows,
            "below_floor_rows": self.below_floor_rows,
            "effective_sample_size": self.effective_sample_size,
        }


def importance_weights(target_prob: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    """target / logged propensity, per decision (the logged propensity as written in the log)."""
    return np.asarray(target_prob, float) / np.asarray(propensity, float)


def _values(r, w, dm, mu):
    ips = np.mean(w * r)
    snips = np.sum(w * r) / max(np.sum(w), 1e-12)
    dr = np.mean(dm + w * (r - mu))
    return ips, snips, dr


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
) -> OffPolicy:
    """IPS, SNIPS and DR values with percentile bootstrap intervals (decisions resampled).

    `reward` is the logged response minus the logged action's cost; `dm` and `mu_logged` are net of cost too.
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
    point = _values(r, w, dm, mu)
    rng = np.random.default_rng(seed)
    draws = np.array(
        [_values(r[i], w[i], dm[i], mu[i]) for i in (rng.integers(0, len(r), len(r)) for _ in range(bootstrap))]
    )
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(draws, [alpha, 1 - alpha], axis=0)
    ess = float(np.sum(w) ** 2 / max(np.sum(w**2), 1e-12))
    est = [Estimate(float(v), float(a), float(b)) for v, a, b in zip(point, lo, hi, strict=True)]
    return OffPolicy(
        *est,
        rows=len(r),
        unsupported_rows=int((~ok).sum()) if supported is not None else 0,
        below_floor_rows=int(low_p.sum()),
        effective_sample_size=ess,
    )
