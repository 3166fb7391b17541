"""One run date's plan: value every allowed candidate of every account, share capacity, and say why.

The same code path serves the nightly `recommend` stage (state frame built from the lender's tables,
features/state_frame.py) and the evaluation harness (state frame from the held-out world, strategy/policy.py),
so the policy judged in the harness is the one that runs at night.

Steps: the rulebook's verdict on every action in every window (strategy/allowed.py), narrowed where the
state frame says a channel is not available (`can_<channel>`, when it has them) and to the rows the response
model can speak for (`models.uplift.greedy.eligible`: not a reminder row) and to the accounts rested
`strategy.rest_days` days since their last contact; the value of each candidate (strategy/values.py); one action per
borrower within capacity (strategy/allocation.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models.uplift.greedy import eligible
from models.uplift.reasons import reason_codes
from models.uplift.rows import state_features
from strategy.actions import CONTACT_ACTIONS
from strategy.allocation import Allocation, allocate
from strategy.allowed import ActionTable, action_table
from strategy.capacity import capacity_usage, share_of, with_contact_budget
from strategy.model import StrategyModel
from strategy.output import recommendations
from strategy.values import Valuation, candidate_arms, candidate_values, reminder_values


@dataclass(frozen=True)
class Plan:
    """The run date's candidates (`table`), their values, the allocation and the uplift arm of each candidate."""

    table: ActionTable
    valuation: Valuation
    allocation: Allocation
    arm_of_candidate: np.ndarray
    features: pd.DataFrame

    def chosen_arms(self) -> np.ndarray:
        """Per account, the uplift arm of the chosen candidate (0: no contact)."""
        c = self.allocation.choice
        return np.where(c >= 0, self.arm_of_candidate[np.maximum(c, 0)], 0)


def _world_gate(states: pd.DataFrame, n_windows: int) -> np.ndarray:
    """(n, K): the state frame's own `can_<channel>` where it carries them (True where it does not)."""
    cols = []
    for action in CONTACT_ACTIONS:
        col = f"can_{action.channel}"
        ok = states[col].to_numpy(bool) if col in states else np.ones(len(states), bool)
        cols.extend([ok] * n_windows)
    return np.column_stack(cols) if cols else np.zeros((len(states), 0), bool)


def horizon_per_paid(states: pd.DataFrame, model: StrategyModel, roll_forward: np.ndarray | None) -> np.ndarray:
    """Per row, the horizon value of one unit of probability of paying (strategy/outlook.py); `roll_forward`
    per row (the roll-rate model's scores) replaces the bucket's Markov rate where given and finite."""
    buckets = model.params.buckets.as_buckets()
    b = buckets.of_account(states["days_past_due"].to_numpy(np.float64), states["charged_off"].to_numpy(bool))
    ones = np.ones(len(states))
    base = model.context.outlook.value(b, states["balance"].to_numpy(np.float64), ones)
    if roll_forward is None:
        return base
    markov = model.context.outlook.roll_forward[b]
    r = np.asarray(roll_forward, dtype=np.float64)
    scale = np.where(np.isfinite(r) & (markov > 0), r / np.where(markov > 0, markov, 1.0), 1.0)
    return base * scale


def _on_rows(lift: dict[str, np.ndarray | float], rows: np.ndarray) -> dict[str, np.ndarray | float]:
    """Per-row lifts predicted for the `rows` (a mask) spread back over every row (0 elsewhere); figures kept."""
    out: dict[str, np.ndarray | float] = {}
    for channel, value in lift.items():
        if np.ndim(value) == 0:
            out[channel] = float(value)
        else:
            out[channel] = np.zeros(len(rows))
            out[channel][rows] = value
    return out


def _value_of_current(states: pd.DataFrame, model: StrategyModel) -> np.ndarray:
    """Per row: balance x (value of the current bucket - value of the first arrears bucket), strategy/outlook.py."""
    share = model.context.outlook.collected_share
    gap = max(float(share[0] - share[1]), 0.0) if len(share) > 1 else 0.0
    return np.nan_to_num(states["balance"].to_numpy(np.float64)).clip(0) * gap


def plan(
    states: pd.DataFrame,
    run_date: date,
    model: StrategyModel,
    horizon_weight: float | None = None,
    harm_scale: float | None = None,
    roll_forward: np.ndarray | None = None,
    capacity_share: float = 1.0,
) -> Plan:
    """Value, allocate: the plan for `states` (one row per account) on `run_date`.

    `capacity_share`: the share of the calls per hour and field visits per day this plan may use (a partition
    of the book gets its share of the accounts, so that the partitions' plans add up within capacity)."""
    sp = model.params.strategy
    table = action_table(states, run_date, sp.windows, model.rules)
    n_w = len(table.windows.names)
    features = state_features(states, model.params)
    mu = model.uplift.predict(features)
    paid = model.uplift.predict_paid(features)
    arm_of = candidate_arms(model.arms, sp.windows)
    supported = np.where(arm_of >= 0, model.uplift.supported[np.maximum(arm_of, 0)], False)
    allowed = table.allowed & _world_gate(states, n_w) & supported[None, :]
    rested = features["days_since_contact"].to_numpy() >= sp.rest_days
    pre = features["pre_delinquent"].to_numpy(bool)
    harm = model.harm_per_channel(sp.harm_scale if harm_scale is None else harm_scale)
    valuation = candidate_values(
        mu,
        np.nan_to_num(paid),
        model.arm_costs,
        harm,
        arm_of,
        horizon_per_paid(states, model, roll_forward),
        sp.horizon_weight if horizon_weight is None else horizon_weight,
        allowed & eligible(features, sp.rest_days)[:, None],
        model.arms,
    )
    reminders = reminder_values(
        _on_rows(model.reminder_lift(features[pre]), pre),
        _value_of_current(states, model),
        model.arm_costs,
        harm,
        arm_of,
        allowed & (pre & rested)[:, None],
        model.arms,
    )
    valuation = Valuation(np.where(pre[:, None], reminders, valuation.value), valuation.cash, valuation.horizon)
    usage = capacity_usage(table.windows, run_date, share_of(sp, capacity_share))
    budget = model.contact_budget(states)
    if budget is not None:
        usage = with_contact_budget(usage, np.floor(budget))
    group = pd.factorize(states["borrower_id"])[0]
    allocation = allocate(valuation.value, group, usage, sp.allocation)
    return Plan(table, valuation, allocation, arm_of, features)


def harness_actions(states: pd.DataFrame, p: Plan, model: StrategyModel) -> pd.DataFrame:
    """The plan as the evaluation harness's actions: account_id, channel, hour (the arm's local hour), offer."""
    rows = np.flatnonzero(p.allocation.choice >= 0)
    arm = p.chosen_arms()[rows]
    table = model.arms
    return pd.DataFrame(
        {
            "account_id": states["account_id"].to_numpy(np.int64)[rows],
            "channel": np.array([table[a].channel for a in arm], dtype=object),
            "hour": np.array([table[a].hour for a in arm], dtype=np.int64),
            "offer": np.array([table[a].offer for a in arm], dtype=object),
        }
    )


def recommend(
    states: pd.DataFrame,
    run_date: date,
    model: StrategyModel,
    scores: dict[str, np.ndarray] | None = None,
    model_versions: dict[str, str] | None = None,
    reasons: str = "shap",
    capacity_share: float = 1.0,
) -> tuple[pd.DataFrame, Plan]:
    """The recommendation table (strategy/output.py) of `states` on `run_date`, with its plan.

    `scores` (strategy.output.SCORES) are reported per row; `score_roll_forward`, where given, also sets the
    horizon term's roll rate (the roll-rate model's per-account score in place of the bucket's). Reason codes
    in plain words follow the allocation's reason: the SHAP contributions (`reasons`: "shap", or "path" for
    the faster path attribution, models/uplift/reasons.py) of the chosen arm's effect over no contact.
    `capacity_share`: as in `plan`.
    """
    scores = scores or {}
    p = plan(states, run_date, model, roll_forward=scores.get("score_roll_forward"), capacity_share=capacity_share)
    recs = recommendations(
        states, run_date, p.table, p.valuation.value, p.allocation, model.rules, scores, model_versions
    )
    why = reason_codes(model.uplift, p.features, p.chosen_arms(), params=model.params, method=reasons)
    words = why["reason_codes"].to_numpy(object)
    recs["reason_codes"] = recs["reason_codes"] + np.where(words != "", ": " + words.astype(str), "")
    return recs, p
