"""Budgeted targeting of one channel, by the uplift model's ranking or at random: the Qini's question put to the truth.

The Qini on the log's test window asks whether the model's ranking of who gains from a call (or an SMS) beats random
targeting, and on the default book's log it cannot tell (docs/uplift.md). `benchmarks/uplift.py --ranking-truth`
asks the held-out evaluation worlds instead: each policy here contacts, every day, the same share of the accounts
it may contact through `channel`, either the top of the model's ranking (the score the channel's Qini ranks by:
its bands' plain average predicted effect over no contact) or accounts drawn at random. The two differ only in
whom they contact: the same budget, the same eligibility (models/uplift/greedy.eligible: no reminder rows, no
contact in the last `uplift.min_days_between_contacts` days), the same hour rule (one of the channel's bands,
drawn per account and day). So their difference in the worlds' net value is what the ranking is worth there.

Repeated every day, the ranked policy comes back to the top of its ranking whenever the gap allows, where random
targeting spreads the same contacts over more borrowers, and the world's contact fatigue tells the two apart as well
as the ranking does. With `once`, each policy contacts an account at most once over the horizon (its own memory of
whom it contacted): the Qini's setting, one decision per account, and the same spread for both.

Run by the evaluation harness in its own process, as any policy (`benchmarks._targeting:build`): it sees the public
state frame only, and draws its randomness from a hash of the account and the day (no seed of the world's).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from models.uplift.arms import arms
from models.uplift.greedy import eligible
from models.uplift.policy import MODEL_DIR_ENV
from models.uplift.rows import state_features
from models.uplift.store import load
from models.uplift.train import channel_bands

RANKINGS = ("model", "random")


def _uniform(account: np.ndarray, day: pd.Timestamp, salt: int) -> np.ndarray:
    """A uniform draw in [0, 1) per account and day from a multiplicative hash (the same on every run)."""
    key = account.astype(np.uint64) * np.uint64(2654435761) + np.uint64(day.toordinal() * 40503 + salt * 7919)
    return ((key * np.uint64(11400714819323198485)) >> np.uint64(11)).astype(np.float64) / 2.0**53


def build(
    channel: str, ranking: str, share: float, model_dir: str | None = None, once: bool = False
) -> Callable[[pd.Timestamp, pd.DataFrame], pd.DataFrame | None]:
    """A policy contacting `share` of the day's eligible accounts through `channel` (one per borrower).

    Parameters
    ----------
    channel : str
        A channel with hour bands (`sms`, `email`, `call`).
    ranking : str
        `model`: the accounts the uplift model ranks highest; `random`: accounts drawn at random.
    share : float
        Share of the accounts the policy may contact through `channel` that day, in (0, 1].
    model_dir : str, optional
        Folder of the uplift model (models/uplift/store.py); default the `DUNNING_UPLIFT_MODEL` environment variable.
    once : bool, default False
        Contact an account at most once over the horizon: an account this policy has contacted is no longer eligible.
    """
    if ranking not in RANKINGS:
        raise ValueError(f"ranking is one of {RANKINGS}, not {ranking!r}")
    if not 0 < share <= 1:
        raise ValueError(f"share is in (0, 1], not {share}")
    model, _, params = load(Path(model_dir or os.environ[MODEL_DIR_ENV]))
    table = arms(params.uplift)
    bands = channel_bands(table, channel, set(np.flatnonzero(model.supported)))  # as the channel's Qini pools them
    if not bands:
        raise ValueError(f"the uplift model has no {channel} band to rank by")
    hours = np.array([table[a].hour for a in bands], dtype=np.int64)
    contacted: set[int] = set()

    def policy(day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame | None:
        if states.empty:
            return None
        features = state_features(states, params)
        ok = states[f"can_{channel}"].to_numpy(bool) & eligible(features, params.uplift.min_days_between_contacts)
        account = states["account_id"].to_numpy(np.int64)
        if once:
            ok &= ~np.isin(account, np.fromiter(contacted, np.int64, len(contacted)))
        idx = np.flatnonzero(ok)
        budget = int(round(share * len(idx)))
        if budget == 0:
            return None
        if ranking == "model":
            mu = model.predict(features.iloc[idx])
            score = mu[:, bands].mean(axis=1) - mu[:, 0]
        else:
            score = _uniform(account[idx], day, salt=1)
        ranked = pd.DataFrame({"borrower": states["borrower_id"].to_numpy()[idx], "row": idx})
        ranked = ranked.iloc[np.argsort(-score, kind="stable")].drop_duplicates("borrower")
        rows = np.sort(ranked["row"].to_numpy()[:budget])
        band = (_uniform(account[rows], day, salt=2) * len(bands)).astype(np.int64)
        if once:
            contacted.update(account[rows].tolist())
        return pd.DataFrame(
            {
                "account_id": account[rows],
                "channel": np.full(len(rows), channel, dtype=object),
                "hour": hours[band],
                "offer": np.full(len(rows), "none", dtype=object),
            }
        )

    return policy
