"""Fitted-Q evaluation of a target policy on the decision log: its own action values, for off-policy estimates.

Why: the per-decision estimators (models/uplift/ope.py) price each decision's 7-day response with the
*logging* policy's follow-up: a contact today, then whatever the lender did on the next six days. A target
that contacts every day changes those days too, and the borrower it meets tomorrow is one it contacted
yesterday (docs/uplift.md, "Where the error comes from"). The performance-difference identity (Kakade and
Langford 2002) in the direction that needs only the log's states,

    V(target) - V(log) = sum over logged decisions of  Q_target(s, target(s)) - Q_target(s, logged a),

holds when Q is the target's own action value: its action now, then the target's own actions. Fitted-Q
evaluation (Le, Voloshin and Yue 2019; Munos and Szepesvari 2008) learns that Q from the log's own
transitions, day by day, by backward induction over the response horizon H (`uplift.response_days`):

    Q_1(s, a) = E[ r | s, a ],      Q_k(s, a) = E[ r + V_{k-1}(s') | s, a ],      V_k(s') = Q_k(s', target(s'))

with r the decision day's collections (`reward_day`) less the action's price, and s' the account's decision
row on the next local day (the log shows every account in arrears every day; an account not shown then has
cured or left, and adds nothing more within the horizon). Each Q_k is one LightGBM regression per arm on the
rows that took it (the T-learner's rows, sampling and weights: models/uplift/train.py), early-stopped on the
validation window. The regression follows the log's own transition from (s, a): a logged contact today shows
up in tomorrow's `contacts_7d` and `days_since_contact`, so a target that contacts every day meets, through
V, the borrowers its contacts tired.

The target's action at a logged state is the one it would take there: on that row's features and with the
channels the rulebook allows on the *log's* history (`log_allowed`: the log's own actions replayed through
`core.compliance.admit`, models/uplift/counterfactual.py), since the state is the log's.

**Support check** (`support`, optional): a target's action at a follow-up state the log has hardly ever taken there
is priced by the regression's extrapolation, and over many backward steps each step's extrapolation feeds the next.
With a check, a follow-up state where the target's arm is not supported (for the caller: its estimated logging
propensity there below `uplift.propensity_clip`) is valued by the log's own continuation instead, the sampled
`r + V(s'')` of the action the log took there. What is evaluated is then the target where the log supports it and
the logging policy elsewhere (no silent extrapolation, at every step); `FittedQ.supported` says where the
evaluated rows' own action is supported, `followed_log` how often the follow-up fell back. With
`continuation="fitted"` the log's continuation at such a state is the step's own regression of the action the
log took there, Q(s', logged a), instead of its sampled return: the same expectation (the logged action is a
draw of the logging policy), without the noise of the payments that followed (an agency's lumpy recovery).

Limits (docs/uplift.md): the horizon truncates effects that outlast it (a cease request priced by its harm
only); the one-contact-per-borrower rule is not applied between a borrower's accounts at the log's states; the
replay that gives the rulebook's state draws conversations and restrictions at the log's rates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from core import progress
from core.compliance import Rulebook
from core.params import UpliftParams
from core.schema import CHANNELS
from models.common.boosting import fit_booster
from models.uplift.arms import arm_codes
from models.uplift.counterfactual import Book, EventRates, replay
from models.uplift.learners import MIN_ARM_ROWS, _regression
from models.uplift.rows import FEATURES


def next_day_rows(rows: pd.DataFrame) -> np.ndarray:
    """Position of each decision row's account's row on the next local day; -1 where it was not shown then."""
    acc = rows["account_id"].to_numpy(np.int64)
    day = rows["local_date"].to_numpy("datetime64[D]").astype(np.int64)
    index = pd.MultiIndex.from_arrays([acc, day])
    if not index.is_unique:
        raise ValueError("decision rows: more than one row per account and local day")
    return index.get_indexer(pd.MultiIndex.from_arrays([acc, day + 1]))


def log_allowed(book: Book, rows: pd.DataFrame, rules: Rulebook, rates: EventRates, seed: int) -> np.ndarray:
    """(rows, len(CHANNELS)) channels the rulebook allows on each row given the log's own contact history: the
    logged actions replayed through the rulebook, recording what it allowed before each day's choice."""
    names = rows["action"].to_numpy(object)
    code = {ch: i for i, ch in enumerate(CHANNELS)}
    channel = np.array([code.get(a, -1) for a in names], dtype=np.int64)
    hour = rows["local_hour"].to_numpy(np.int64)
    allowed = np.zeros((len(rows), len(CHANNELS)), dtype=bool)

    def logged(idx: np.ndarray, can: np.ndarray, history: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        allowed[idx] = can
        return channel[idx], hour[idx]

    replay(book, logged, rules, rates, seed)
    return allowed


@dataclass
class FittedQ:
    """The target's H-day action values at the evaluated rows, and the one-step targets that test them."""

    q: np.ndarray
    """(evaluated rows, arms): Q_H(s, a), net of prices; NaN for arms with too few logged rows"""
    target: np.ndarray
    """(evaluated rows,): r + V_{H-1}(s'), the logged action's sampled value under the target's follow-up; NaN where
    the target's follow-up takes an arm with too few logged rows to model (such rows are left out of training too)"""
    actions: pd.DataFrame
    """the target's action (action, local_hour, offer) at each evaluated row"""
    seconds_per_step: float
    supported: np.ndarray
    """(evaluated rows,): whether the support check passes the target's own arm there (all True without a check)"""
    followed_log: float
    """share of the follow-up states valued by the log's own continuation (0 without a check)"""


def fitted_q(
    rows: pd.DataFrame,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    evaluated: np.ndarray,
    target: Callable[[np.ndarray], pd.DataFrame],
    price: np.ndarray,
    uplift: UpliftParams,
    seed: int,
    support: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    continuation: Literal["sampled", "fitted"] = "sampled",
) -> FittedQ:
    """Fitted-Q evaluation of the target over `uplift.response_days` days (module docstring).

    Parameters
    ----------
    rows
        Every decision row (models.uplift.rows.decision_rows), positions 0..n-1.
    train, valid
        The T-learner's sampled training and validation rows (their index: positions in `rows`), with `weight`.
    evaluated
        Positions of the rows to return Q at (the test window).
    target
        The target's actions (action, local_hour, offer, as the decision log writes them) at the logged states of
        the given positions of `rows`.
    price
        Per arm, its cost and expected harm (what the off-policy values are net of).
    uplift
        `uplift.response_days` is the horizon H; `uplift.lightgbm` the regressions' settings.
    seed
        The regressions' seed.
    support
        Given positions in `rows` and the target's arm at each, whether the log supports that arm there (module
        docstring). None: everywhere.
    continuation
        Where the check falls back: "sampled", the logged action's sampled return r + V(s''); "fitted", the step's
        regression of the logged action at that state (its sampled return where the arm has no model).
    """
    if continuation not in ("sampled", "fitted"):
        raise ValueError(f"continuation: 'sampled' or 'fitted', not {continuation!r}")
    nxt = next_day_rows(rows)
    arm = rows["arm"].to_numpy()
    net_day = rows["reward_day"].to_numpy(np.float64) - price[arm]
    X = rows[list(FEATURES)]
    pos = {"train": train.index.to_numpy(), "valid": valid.index.to_numpy(), "eval": np.asarray(evaluated)}

    def arms_of(acts: pd.DataFrame) -> np.ndarray:
        return arm_codes(acts["action"].to_numpy(object), acts["local_hour"].to_numpy(float), acts["offer"], uplift)

    def checked(idx: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        return np.ones(len(idx), bool) if support is None else np.asarray(support(idx, chosen), bool)

    follow = np.unique(np.concatenate([nxt[p] for p in pos.values()]))
    follow = follow[follow >= 0]
    chosen = arms_of(target(follow))
    backed = checked(follow, chosen)
    followed_log = float(1.0 - backed.mean()) if len(follow) else 0.0
    # a state valued by the log's continuation needs the value of its own next day, and so on along the log
    frontier = follow[~backed]
    for _ in range(uplift.response_days):
        ahead = np.setdiff1d(nxt[frontier], follow)
        ahead = ahead[ahead >= 0]
        if not len(ahead):
            break
        ahead_chosen = arms_of(target(ahead))
        ahead_backed = checked(ahead, ahead_chosen)
        follow, chosen = np.concatenate([follow, ahead]), np.concatenate([chosen, ahead_chosen])
        backed, frontier = np.concatenate([backed, ahead_backed]), ahead[~ahead_backed]
    actions = target(pos["eval"]).reset_index(drop=True)
    supported = checked(pos["eval"], arms_of(actions))
    # the features never change between steps, only the labels: one matrix per set, built once
    matrix = {k: X.iloc[p].to_numpy(np.float64) for k, p in pos.items()}
    X_follow = X.iloc[follow].to_numpy(np.float64)
    arm_of = {k: arm[p] for k, p in pos.items()}
    weight = train["weight"].to_numpy(np.float64)
    lgbm = uplift.lightgbm
    params = _regression(lgbm, seed, "regression")  # net values: negative where the price exceeds what is collected
    value = np.zeros(len(rows))  # V_0 = 0: nothing after the horizon
    unbacked, logged_at_follow = follow[~backed], arm[follow]  # fixed over the steps
    started = time.perf_counter()
    for step in progress.track(range(1, uplift.response_days + 1), "uplift: fitted-Q evaluation", unit="days"):
        # every row's sampled value of its logged action: r + V_{k-1}(s'), the log's continuation where unsupported
        sampled = net_day + np.where(nxt >= 0, value[np.maximum(nxt, 0)], 0.0)
        y = {k: sampled[p] for k, p in pos.items()}
        boosters: dict[int, lgb.Booster] = {}
        for a in range(len(price)):
            tr = (arm_of["train"] == a) & np.isfinite(y["train"])
            if tr.sum() < MIN_ARM_ROWS:
                continue
            va = (arm_of["valid"] == a) & np.isfinite(y["valid"])
            data = lgb.Dataset(matrix["train"][tr], label=y["train"][tr], weight=weight[tr], free_raw_data=True)
            boosters[a] = fit_booster(params, lgbm, data, matrix["valid"][va], y["valid"][va])
        if step < uplift.response_days:
            value = np.zeros(len(rows))
            value[follow] = np.nan  # an arm with too few logged rows has no model: no value, no extrapolation
            for a in np.unique(chosen):
                if a in boosters:
                    at = (chosen == a) & backed
                    if at.any():
                        value[follow[at]] = boosters[a].predict(X_follow[at])
            value[unbacked] = sampled[unbacked]
            if continuation == "fitted":
                for a, b in boosters.items():
                    at = ~backed & (logged_at_follow == a)
                    if at.any():
                        value[follow[at]] = b.predict(X_follow[at])
    q = np.full((len(pos["eval"]), len(price)), np.nan)
    for a, b in boosters.items():
        q[:, a] = b.predict(matrix["eval"])
    per_step = (time.perf_counter() - started) / uplift.response_days
    return FittedQ(
        q=q,
        target=y["eval"],
        actions=actions,
        seconds_per_step=per_step,
        supported=supported,
        followed_log=followed_log,
    )
