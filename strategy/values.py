"""The expected net value of every candidate (action x window) of every account, from the response models.

    value = incremental cash (uplift: expected response under the arm - under no contact)
            - the arm's cost (attempt, and for calls the talk time of the conversations it reaches)
            - the prices of the harm it risks (cease requests, opt-outs, complaints: `contact:` prices)
            + horizon_weight x the value of keeping the account from rolling on (strategy/outlook.py)

No contact is worth 0. A candidate is valued only where the uplift model has an arm for it, learnt
from logged decisions (no extrapolation): sms, e-mail and calls in the windows that match the model's
hour bands (`uplift.hour_bands`; a window the log never contacted in, e.g. the CN `late` band 21-22,
gets no value and is not proposed); letters, field visits, the agency and the plan offer in the window
holding the hour the log used for them. Legal action has no arm the log supports (the world attributes
no payment to it) and is never proposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.schema import CHANNELS
from models.uplift.arms import NONE, Arm
from strategy.actions import CONTACT_ACTIONS


def candidate_arms(table: tuple[Arm, ...], windows: dict[str, tuple[int, int]]) -> np.ndarray:
    """Per candidate column (strategy.actions order: action-major, then window), the uplift arm index or -1."""
    names = list(windows)
    out = np.full(len(CONTACT_ACTIONS) * len(names), -1, dtype=np.int64)
    for a, action in enumerate(CONTACT_ACTIONS):
        for w, window in enumerate(names):
            first, end = windows[window]
            for i, arm in enumerate(table):
                if arm.channel == NONE or arm.channel != action.channel or arm.offer != action.offer:
                    continue
                banded = arm.band is not None and arm.offer == "none"
                if first <= arm.hour < end and (not banded or arm.band == window):
                    out[a * len(names) + w] = i
    return out


@dataclass(frozen=True)
class Valuation:
    """`value` (n, K): expected net value per candidate, NaN where not valued or not allowed; `parts` for reports."""

    value: np.ndarray
    cash: np.ndarray
    horizon: np.ndarray


def candidate_values(
    mu: np.ndarray,
    paid: np.ndarray,
    arm_costs: np.ndarray,
    harm_per_channel: np.ndarray,
    arm_of_candidate: np.ndarray,
    horizon_per_paid: np.ndarray,
    horizon_weight: float,
    allowed: np.ndarray,
    table: tuple[Arm, ...],
) -> Valuation:
    """Value matrix of the candidates.

    `mu`, `paid` (n, A): expected response and P(any payment) per arm; `arm_costs` (A,); `harm_per_channel`
    (len(CHANNELS),) expected harm cost of one contact; `horizon_per_paid` (n,): the horizon value of one
    unit of probability of paying (strategy.outlook.Outlook.value with delta 1); `allowed` (n, K).
    """
    arm = arm_of_candidate
    valued = arm >= 0
    a = np.where(valued, arm, 0)
    cash = mu[:, a] - mu[:, [0]]
    channel = np.array([CHANNELS.index(table[i].channel) if table[i].channel != NONE else 0 for i in a])
    cost = arm_costs[a] + harm_per_channel[channel]
    horizon = (paid[:, a] - paid[:, [0]]) * np.asarray(horizon_per_paid, dtype=np.float64)[:, None]
    value = cash - cost[None, :] + horizon_weight * horizon
    value = np.where(valued[None, :] & allowed & np.isfinite(value), value, np.nan)
    return Valuation(value, cash, horizon)


def reminder_values(
    lift: dict[str, np.ndarray | float],
    value_of_current: np.ndarray,
    arm_costs: np.ndarray,
    harm_per_channel: np.ndarray,
    arm_of_candidate: np.ndarray,
    allowed: np.ndarray,
    table: tuple[Arm, ...],
) -> np.ndarray:
    """(n, K) value of a reminder before the due date (models/uplift/reminders.py): lift (per row, or one figure
    per channel) x the row's `value_of_current` (balance x (value of the current bucket - of the first arrears
    bucket)) less cost and harm, on the candidates of a channel with a measured lift; NaN elsewhere."""
    n, k = allowed.shape
    out = np.full((n, k), np.nan)
    for col, arm in enumerate(arm_of_candidate):
        if arm < 0 or table[arm].offer != "none" or table[arm].channel not in lift:
            continue
        ch = table[arm].channel
        v = lift[ch] * value_of_current - arm_costs[arm] - harm_per_channel[CHANNELS.index(ch)]
        out[:, col] = np.where(allowed[:, col], v, np.nan)
    return out
