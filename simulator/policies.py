"""Contact policies: functions from (day, states frame) to actions (account_id, channel, hour).

A policy is any callable `policy(day, states) -> DataFrame | None` where `day` is the local
calendar date (pd.Timestamp) and `states` has the columns of simulator.observe.STATE_COLUMNS
(one row per account in arrears or charged off). It returns one row per contact to make:
`account_id`, `channel` (a core.schema.CHANNELS value), `hour` (local, 8..20) and optionally
`propensity` (logged to contacts.propensity). Optional attributes: `name` (reports),
`wants_truth = True` (also receive the latent `truth_*` columns: only the oracle should),
`silent = True` (never contacts: the world skips building states).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from core.schema import CHANNELS
from simulator.rng import Stream

ACTION_COLUMNS = ("account_id", "channel", "hour", "propensity")
#: The channel column of actions may be plain strings or this categorical (faster to check).
CHANNEL_DTYPE = pd.CategoricalDtype(list(CHANNELS))
_ALLOWED_COLUMNS = [f"can_{c}" for c in CHANNELS]


class Policy(Protocol):
    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame | None: ...


def policy_name(policy: object) -> str:
    return str(getattr(policy, "name", None) or getattr(policy, "__name__", None) or type(policy).__name__)


def actions_frame(
    account_id: np.ndarray, channel: np.ndarray, hour: np.ndarray, propensity: np.ndarray | None = None
) -> pd.DataFrame:
    """Build an actions frame from channel codes (indices into CHANNELS)."""
    return pd.DataFrame(
        {
            "account_id": np.asarray(account_id, dtype=np.int64),
            "channel": pd.Categorical.from_codes(np.asarray(channel, dtype=np.int64), dtype=CHANNEL_DTYPE),
            "hour": np.asarray(hour, dtype=np.int64),
            "propensity": np.full(len(account_id), np.nan) if propensity is None else np.asarray(propensity, float),
        }
    )


def first_per_borrower(states: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
    """Rows of `mask` keeping the first account of each borrower (the world allows one contact a day)."""
    rows = np.flatnonzero(mask)
    _, first = np.unique(states["borrower_id"].to_numpy()[rows], return_index=True)
    return rows[np.sort(first)]


def _allowed(states: pd.DataFrame) -> np.ndarray:
    return np.column_stack([states[c].to_numpy(dtype=bool) for c in _ALLOWED_COLUMNS])


def _day_number(day: pd.Timestamp) -> int:
    return int(pd.Timestamp(day).value // (86_400 * 10**9))


class BusinessAsUsual:
    """The lender's logging policy: a bucket-driven cadence with randomised channel choice.

    Touch days: every 4th day past due in 1-29, every 2nd in 30-59, daily from 60 (never on
    Sunday, never while a promise is pending); weekly on weekdays for charged-off accounts
    (agency). On a touch day the action (no contact or a channel) is drawn from
    (1 - exploration) * rule weights + exploration * uniform, both over the allowed actions;
    the probability of the drawn channel is returned as `propensity` (field visits are never
    explored: only the rule sends them). A borrower with several accounts in arrears gets at
    most one contact a day (the first account in the states). The hour is drawn
    uniformly from the channel's window (HOURS), independently of the channel's propensity.
    """

    name = "business_as_usual"
    #: rule weights over (no contact, sms, email, call, letter, field_visit, agency, legal)
    RULES = np.array(
        [
            [0.05, 0.55, 0.15, 0.20, 0.05, 0.00, 0.00, 0.0],  # 1-29 days past due
            [0.05, 0.20, 0.05, 0.55, 0.15, 0.00, 0.00, 0.0],  # 30-59
            [0.05, 0.12, 0.05, 0.62, 0.13, 0.03, 0.00, 0.0],  # 60+
            [0.10, 0.00, 0.00, 0.00, 0.00, 0.00, 0.90, 0.0],  # charged off
        ]
    )
    CADENCE = np.array([4, 2, 1, 7])
    #: local hour windows (inclusive) per channel
    HOURS = np.array([(9, 12), (8, 20), (9, 19), (10, 10), (10, 17), (9, 19), (10, 10)])
    FIELD_VISIT_MIN_BALANCE = 1500.0

    def __init__(self, seed: int = 0, exploration: float = 0.1) -> None:
        self.stream = Stream(seed, "bau")
        self.exploration = exploration

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        n = len(states)
        if n == 0:
            return actions_frame(np.zeros(0), np.zeros(0), np.zeros(0))
        t = _day_number(day)
        ids = states["account_id"].to_numpy(dtype=np.int64)
        dpd = states["days_past_due"].to_numpy()
        co = states["charged_off"].to_numpy(dtype=bool)
        group = np.where(co, 3, np.where(dpd < 30, 0, np.where(dpd < 60, 1, 2)))
        weekday = states["local_weekday"].to_numpy()
        since = states["days_since_contact"].to_numpy()
        touch = np.where(
            co,
            (since >= self.CADENCE[3]) & (weekday < 5),
            ((dpd - 1) % self.CADENCE[group] == 0) & (weekday != 6) & ~states["promise_pending"].to_numpy(dtype=bool),
        )
        allowed = np.hstack([np.ones((n, 1), dtype=bool), _allowed(states)])
        allowed[:, 1 + CHANNELS.index("field_visit")] &= states["balance"].to_numpy() >= self.FIELD_VISIT_MIN_BALANCE
        rule = self.RULES[group] * allowed
        total = rule.sum(axis=1, keepdims=True)
        rule = np.where(total > 0, rule / np.where(total > 0, total, 1), np.eye(1, rule.shape[1])[0])
        explore = allowed.copy()
        explore[:, 1 + CHANNELS.index("field_visit")] = False  # too costly to try at random
        uniform = explore / explore.sum(axis=1, keepdims=True)
        probs = (1 - self.exploration) * rule + self.exploration * uniform
        u = self.stream.uniform(ids, t, 0)
        choice = np.minimum((u[:, None] > np.cumsum(probs, axis=1)).sum(axis=1), probs.shape[1] - 1)
        rows = first_per_borrower(states, touch & (choice > 0))
        ch = choice[rows] - 1
        lo, hi = self.HOURS[ch, 0], self.HOURS[ch, 1]
        hour = lo + np.floor(self.stream.uniform(ids[rows], t, 1) * (hi - lo + 1)).astype(np.int64)
        return actions_frame(ids[rows], ch, hour, probs[rows, choice[rows]])


class ContactEveryone:
    """Every account, every day, on the first allowed of call (18:00), sms, email, letter (10:00); agency if
    charged off. One account per borrower a day (the first in the states), as the world allows."""

    name = "contact_everyone"
    PRIORITY = (("call", 18), ("sms", 10), ("email", 10), ("letter", 10), ("agency", 12))

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        allowed = _allowed(states)
        channel = np.full(len(states), -1)
        hour = np.zeros(len(states), dtype=np.int64)
        for name, h in reversed(self.PRIORITY):
            k = CHANNELS.index(name)
            channel = np.where(allowed[:, k], k, channel)
            hour = np.where(allowed[:, k], h, hour)
        rows = first_per_borrower(states, channel >= 0)
        return actions_frame(states["account_id"].to_numpy()[rows], channel[rows], hour[rows])


class NoContact:
    """Never contacts anyone: the counterfactual baseline of what borrowers do on their own."""

    name = "no_contact"
    silent = True

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> None:
        return None


class Oracle:
    """Uses the latent truth to contact only where contact adds value.

    * self-cure borrowers pay anyway and won't-pay borrowers do not respond: never contacted;
    * hardship borrowers (by segment or income shock) need a conversation to agree a plan: a
      call at their best hour, else a field visit for larger balances every 10 days;
    * responsive borrowers: a call at their best hour when they answer often enough, else a
      text or an e-mail, at most every other day and only while not fatigued;
    * charged-off accounts of responsive or hardship borrowers: the agency, weekly.
    """

    name = "oracle"
    wants_truth = True
    MIN_ANSWER = 0.15
    MAX_FATIGUE = 4.0  # Mechanics.fatigue_free: contacts below it cost no willingness

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        n = len(states)
        allowed = _allowed(states)
        seg = states["truth_segment"].astype(str).to_numpy()
        shocked = states["truth_shocked"].to_numpy(dtype=bool)
        co = states["charged_off"].to_numpy(dtype=bool)
        hard = ((seg == "hardship") | (shocked & (seg != "wont_pay"))) & ~co
        responsive = (seg == "normal") & ~shocked
        since = states["days_since_contact"].to_numpy()
        fresh = states["truth_fatigue"].to_numpy() < self.MAX_FATIGUE
        best = states["truth_best_call_hour"].to_numpy().astype(np.int64)
        answers = states["truth_answer_rate"].to_numpy() >= self.MIN_ANSWER
        balance = states["balance"].to_numpy()
        c = {name: allowed[:, CHANNELS.index(name)] for name in CHANNELS}
        channel = np.full(n, -1)
        hour = np.full(n, 10, dtype=np.int64)

        def take(mask: np.ndarray, name: str, at: np.ndarray | int) -> None:
            sel = mask & (channel < 0) & c[name]
            channel[sel] = CHANNELS.index(name)
            hour[sel] = np.broadcast_to(at, (n,))[sel]

        take(hard, "call", best)
        take(hard & (balance >= 1000) & (since >= 10), "field_visit", 11)
        talk = responsive & ~co & fresh & (since >= 1)
        take(talk & answers, "call", best)
        take(talk, "sms", 10)
        take(talk, "email", 10)
        take(co & ((seg == "normal") | (seg == "hardship")) & (since >= 7), "agency", 12)
        rows = first_per_borrower(states, channel >= 0)
        return actions_frame(states["account_id"].to_numpy()[rows], channel[rows], hour[rows])


def business_as_usual(seed: int = 0, exploration: float = 0.1) -> BusinessAsUsual:
    return BusinessAsUsual(seed, exploration)


def contact_everyone() -> ContactEveryone:
    return ContactEveryone()


def no_contact() -> NoContact:
    return NoContact()


def oracle() -> Oracle:
    return Oracle()
