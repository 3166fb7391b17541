"""The greedy contact policy the uplift model implies, as a factory the evaluation harness can run.

    python -m pipeline evaluate --policy 'models.uplift.policy:build {"model_dir": "data/models/uplift"}'

It loads the model from files and sees only the public state frame: each day, per account shown
(not the pre-delinquent reminders, nor an account contacted in the last
`uplift.min_days_between_contacts` days: models/uplift/greedy.py says why), the arm of highest expected
response minus cost over no contact, among the channels the world allows (`can_<channel>`), when
that net effect is positive; one contact per borrower (its best account), at the arm's hour.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from models.uplift.arms import allowed_channels, arms
from models.uplift.greedy import actions_of, eligible, greedy_arms
from models.uplift.rows import allowed_from_states, state_features
from models.uplift.store import load

#: Environment variable naming the model folder when the factory gets no `model_dir` (the harness passes none).
MODEL_DIR_ENV = "DUNNING_UPLIFT_MODEL"


def build(model_dir: str | None = None) -> Callable[[pd.Timestamp, pd.DataFrame], pd.DataFrame | None]:
    model, costs, params = load(Path(model_dir or os.environ.get(MODEL_DIR_ENV, "data/models/uplift")))
    table = arms(params.uplift)
    supported = model.supported

    def policy(day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame | None:
        if states.empty:
            return None
        features = state_features(states, params)
        mu = model.predict(features)
        allowed = allowed_channels(table, allowed_from_states(states)) & supported[None, :]
        allowed &= eligible(features, params.uplift.min_days_between_contacts)[:, None]
        best, net = greedy_arms(mu, costs, allowed)
        pick = pd.DataFrame({"borrower": states["borrower_id"].to_numpy(), "net": net, "row": np.arange(len(states))})
        pick = pick[best > 0].sort_values(["borrower", "net"], ascending=[True, False]).drop_duplicates("borrower")
        rows = np.sort(pick["row"].to_numpy())
        acts = actions_of(best[rows], table)
        return pd.DataFrame(
            {
                "account_id": states["account_id"].to_numpy(np.int64)[rows],
                "channel": acts["action"].to_numpy(object),
                "hour": acts["local_hour"].to_numpy(np.int64),
                "offer": acts["offer"].to_numpy(object),
            }
        )

    return policy
