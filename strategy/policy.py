"""The recommended strategy as a policy the evaluation harness can replay on held-out worlds.

    python -m pipeline evaluate --policy strategy.policy:build
    python -m pipeline evaluate --policy 'strategy.policy:build {"horizon_weight": 0}'   # the myopic variant

Each day it runs the `recommend` stage's own code (strategy/recommend.py) on the public state frame: the
rulebook, the values, the allocation within capacity. It loads everything from two folders, the uplift
model's (`$DUNNING_UPLIFT_MODEL`, default data/models/uplift) and the strategy's (`$DUNNING_STRATEGY_MODEL`,
default data/models/strategy), and sees nothing but the state frame and the date. The state frame carries no
roll-rate features, so the horizon term uses the bucket's Markov roll rate (the stage uses the roll-rate
model's per-account score where it has one).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from core.params import StrategyParams
from strategy.model import load_model
from strategy.recommend import harness_actions, plan

UPLIFT_DIR_ENV = "DUNNING_UPLIFT_MODEL"
STRATEGY_DIR_ENV = "DUNNING_STRATEGY_MODEL"


def build(
    uplift_dir: str | None = None, strategy_dir: str | None = None, **strategy: object
) -> Callable[[pd.Timestamp, pd.DataFrame], pd.DataFrame | None]:
    """The policy; keyword arguments override the saved `strategy:` values (e.g. `horizon_weight` 0: myopic;
    `harm_scale`; `contact_budget`), validated as params."""
    model = load_model(
        Path(uplift_dir or os.environ.get(UPLIFT_DIR_ENV, "data/models/uplift")),
        Path(strategy_dir or os.environ.get(STRATEGY_DIR_ENV, "data/models/strategy")),
    )
    if strategy:
        section = StrategyParams.model_validate({**model.params.strategy.model_dump(), **strategy})
        model = replace(model, params=model.params.model_copy(update={"strategy": section}))

    def policy(day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame | None:
        if states.empty:
            return None
        p = plan(states, day.date(), model)
        return harness_actions(states, p, model)

    return policy
