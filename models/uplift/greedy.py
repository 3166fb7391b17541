"""The greedy policy the uplift model implies: per account, the arm of highest expected response
minus its cost, over no contact; contact only when that net effect is positive.

Shared by the served policy (models/uplift/policy.py, on the state frame) and the off-policy
estimates (on the logged decision rows), so both evaluate the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.schema import CHANNELS
from models.uplift.arms import NONE, Arm, allowed_channels
from models.uplift.counterfactual import with_history

if TYPE_CHECKING:
    from models.uplift.learners import UpliftModel

#: simulator.policies.ContactEveryone's order of channels and their local hours (the first allowed is taken).
CONTACT_EVERYONE_PRIORITY = (("call", 18), ("sms", 10), ("email", 10), ("letter", 10), ("agency", 12))


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


def greedy_choose(
    model: UpliftModel,
    features: pd.DataFrame,
    costs: np.ndarray,
    table: tuple[Arm, ...],
    min_gap: int,
    own_history: bool = True,
) -> tuple[Callable, np.ndarray]:
    """The greedy policy as a target of models.uplift.counterfactual.replay: per day, on the rows' features with
    its own contact history (counted as the state frame counts it: what the served policy sees), the best allowed
    arm (the rulebook's allowed channels). Returns the chooser and
    the array (one per row of `features`, -1 until decided) it writes each row's chosen arm into.
    `own_history` False: it decides on the rows' features as logged (the logging policy's contact history)."""
    chosen = np.full(len(features), -1, dtype=np.int64)
    channel = np.array([CHANNELS.index(a.channel) if a.channel != NONE else -1 for a in table])
    hours = np.array([a.hour for a in table])

    def choose(idx: np.ndarray, allowed: np.ndarray, history: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        X = features.iloc[idx]
        if own_history:
            X = with_history(X, history["contacts_7d"], history["days_since_contact"])
        can = {ch: allowed[:, CHANNELS.index(ch)] for ch in CHANNELS}
        ok = allowed_channels(table, can) & model.supported[None, :] & eligible(X, min_gap)[:, None]
        best, _ = greedy_arms(model.predict(X), costs, ok)
        chosen[idx] = best
        return channel[best], np.where(best > 0, hours[best], -1)

    return choose, chosen


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
    for ch, h in reversed(CONTACT_EVERYONE_PRIORITY):
        action, hour = np.where(can[ch], ch, action), np.where(can[ch], h, hour)
    return pd.DataFrame({"action": action, "local_hour": hour, "offer": np.full(n, "none", dtype=object)})


__all__ = [
    "CONTACT_EVERYONE_PRIORITY",
    "NONE",
    "actions_of",
    "allowed_channels",
    "contact_everyone_actions",
    "eligible",
    "greedy_arms",
    "greedy_choose",
]
