"""The greedy policy the uplift model implies: per account, the arm of highest expected response
minus its cost, over no contact; contact only when that net effect is positive.

Shared by the served policy (models/uplift/policy.py, on the state frame) and the off-policy
estimates (on the logged decision rows), so both evaluate the same rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.uplift.arms import NONE, Arm, allowed_channels


def greedy_arms(mu: np.ndarray, costs: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best arm per row (0: none) and its net effect over no contact (expected response - none's - cost)."""
    net = mu - mu[:, [0]] - costs[None, :]
    net = np.where(allowed & ~np.isnan(net), net, -np.inf)
    net[:, 0] = 0.0
    best = np.argmax(net, axis=1)
    return best, net[np.arange(len(net)), best]


def eligible(features: pd.DataFrame, min_gap: int) -> np.ndarray:
    """Rows the greedy policy may contact: not a reminder row (the log barely explores them), and no
    contact in the last `min_gap` days (the per-decision effects are learnt on the logging policy's
    cadence; contacting daily would take the policy where the log says nothing about fatigue)."""
    return ~features["pre_delinquent"].to_numpy(bool) & (features["days_since_contact"].to_numpy() >= min_gap)


def actions_of(best: np.ndarray, table: tuple[Arm, ...]) -> pd.DataFrame:
    """The concrete (action, local_hour, offer) of each row's arm, as the decision log writes them."""
    return pd.DataFrame(
        {
            "action": np.array([table[a].channel for a in best], dtype=object),
            "local_hour": np.array([table[a].hour for a in best], dtype=np.int64),
            "offer": np.array([table[a].offer for a in best], dtype=object),
        }
    )


def contact_everyone_actions(can: dict[str, np.ndarray]) -> pd.DataFrame:
    """simulator.policies.ContactEveryone's choice: the first allowed of call (18:00), sms, e-mail,
    letter (10:00), agency (12:00); none when nothing is allowed."""
    n = len(next(iter(can.values())))
    action, hour = np.full(n, NONE, dtype=object), np.full(n, -1, dtype=np.int64)
    for ch, h in reversed((("call", 18), ("sms", 10), ("email", 10), ("letter", 10), ("agency", 12))):
        action, hour = np.where(can[ch], ch, action), np.where(can[ch], h, hour)
    return pd.DataFrame({"action": action, "local_hour": hour, "offer": np.full(n, "none", dtype=object)})


__all__ = ["NONE", "actions_of", "allowed_channels", "contact_everyone_actions", "eligible", "greedy_arms"]
