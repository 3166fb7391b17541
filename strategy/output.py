"""The recommendation table: one row per account on the run date, what to do, when, and why not otherwise.

Columns (`RECOMMENDATION_COLUMNS`; one row per account_id and run_date):

- account_id, borrower_id, run_date, bucket, region, timezone: who, and which rules and clock apply;
- score_roll_forward, score_pay_7d, score_pay_30d: the models' scores (empty until the stage wires them);
- action (`strategy.actions.ACTION_NAMES`), channel, offer, window: what to do ("none": no contact);
- window_start_local, window_end_local (wall-clock time in `timezone`), window_start_utc, window_end_utc:
  when, empty for no contact;
- expected_net_value (0 for no contact), priority_rank (1 = most valuable contact, empty for no contact);
- reason_codes: why, in plain words; rules_checked: the profile and the rules applied;
- blocked_actions: every action (or action in a window) that could not be taken, with the rule that blocked
  it (`action: rule` when every window is blocked alike, else `action@window: rule`);
- model_versions: the models used, as JSON.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd

from core import compliance as rulebook
from core.schema import NO_CONTACT
from strategy.actions import CONTACT_ACTIONS
from strategy.allocation import Allocation
from strategy.allowed import BLOCK_REASONS, ActionTable

RECOMMENDATION_COLUMNS: tuple[str, ...] = (
    "account_id",
    "borrower_id",
    "run_date",
    "bucket",
    "region",
    "timezone",
    "score_roll_forward",
    "score_pay_7d",
    "score_pay_30d",
    "action",
    "channel",
    "offer",
    "window",
    "window_start_local",
    "window_end_local",
    "window_start_utc",
    "window_end_utc",
    "expected_net_value",
    "priority_rank",
    "reason_codes",
    "rules_checked",
    "blocked_actions",
    "model_versions",
)
SCORES = ("score_roll_forward", "score_pay_7d", "score_pay_30d")


def blocked_text(table: ActionTable) -> np.ndarray:
    """Per account, the blocked actions and their rules in words (empty string when nothing is blocked)."""
    n_w = len(table.windows.names)
    words = np.asarray(BLOCK_REASONS, dtype=object)
    parts = []
    for a, action in enumerate(CONTACT_ACTIONS):
        codes = table.reason[:, a * n_w : (a + 1) * n_w]
        alike = (codes == codes[:, :1]).all(axis=1) & (codes[:, 0] != 0)
        parts.append(np.where(alike, action.name + ": " + words[codes[:, 0]], ""))
        for w, window in enumerate(table.windows.names):
            part = f"{action.name}@{window}: " + words[codes[:, w]]
            parts.append(np.where(~alike & (codes[:, w] != 0), part, ""))
    return np.array(["; ".join(p for p in row if p) for row in zip(*parts, strict=True)], dtype=object)


def recommendations(
    frame: pd.DataFrame,
    run_date: date,
    table: ActionTable,
    value: np.ndarray,
    allocation: Allocation,
    rules: rulebook.Rulebook,
    scores: dict[str, np.ndarray] | None = None,
    model_versions: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The recommendation table of `frame`'s accounts from their candidates, values and the allocation."""
    n, n_w = len(frame), len(table.windows.names)
    choice = allocation.choice
    chosen = choice >= 0
    k = np.where(chosen, choice, 0)
    rows = np.arange(n)
    a_idx, w_idx = k // n_w, k % n_w
    actions = np.asarray([x.name for x in CONTACT_ACTIONS], dtype=object)
    channels = np.asarray([x.channel for x in CONTACT_ACTIONS], dtype=object)
    offers = np.asarray([x.offer for x in CONTACT_ACTIONS], dtype=object)
    windows = np.asarray(table.windows.names, dtype=object)
    nat = np.datetime64("NaT", "ns")

    def when(arr: np.ndarray) -> np.ndarray:
        return np.where(chosen, arr[rows, w_idx], nat)

    v = np.asarray(value, dtype=np.float64)
    net = np.where(chosen, v[rows, k], 0.0)
    rank = pd.Series(net).where(chosen).rank(ascending=False, method="first").astype("Int64")
    allowed_any = table.allowed.any(axis=1)
    worth = (np.where(table.allowed, np.nan_to_num(v, nan=-np.inf), -np.inf) > 0).any(axis=1)
    reason = np.select(
        [chosen, ~allowed_any, ~worth],
        [
            "highest expected net value within capacity",
            "every action blocked (see blocked_actions)",
            "no allowed action is worth more than no contact",
        ],
        "capacity, or another account of the borrower was chosen",
    )
    names = np.asarray([*rules.names, "none"], dtype=object)
    checked = "profile " + names[table.profile] + ": " + ", ".join(rulebook.REASONS[1:])
    scores = scores or {}
    out = pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy(),
            "borrower_id": frame["borrower_id"].to_numpy(),
            "run_date": pd.Timestamp(run_date),
            "bucket": frame["bucket"].to_numpy() if "bucket" in frame else pd.NA,
            "region": frame["region"].to_numpy(),
            "timezone": frame["timezone"].to_numpy(),
            **{s: np.asarray(scores.get(s, np.full(n, np.nan)), dtype=np.float64) for s in SCORES},
            "action": np.where(chosen, actions[a_idx], NO_CONTACT),
            "channel": np.where(chosen, channels[a_idx], NO_CONTACT),
            "offer": np.where(chosen, offers[a_idx], "none"),
            "window": np.where(chosen, windows[w_idx], None),
            "window_start_local": when(table.windows.start_local),
            "window_end_local": when(table.windows.end_local),
            "window_start_utc": pd.to_datetime(when(table.windows.start_utc)).tz_localize("UTC"),
            "window_end_utc": pd.to_datetime(when(table.windows.end_utc)).tz_localize("UTC"),
            "expected_net_value": net,
            "priority_rank": rank.array,
            "reason_codes": reason,
            "rules_checked": checked,
            "blocked_actions": blocked_text(table),
            "model_versions": json.dumps(model_versions or {}, sort_keys=True),
        }
    )
    return out[list(RECOMMENDATION_COLUMNS)]
