"""One partition of the nightly plan: the function the `score` job maps over the book's partitions.

A partition is a set of whole borrowers (core.partitions.borrower_partitions): a borrower's accounts share
one contact a day and the borrower-wide restrictions, so they are planned together. For its tables the
function builds the state frame of the run date, each account's latest feature row (features.build.
build_latest), the champion models' scores, the plan with the partition's share of the call and field
capacity (its share of the book's accounts, so the partitions' plans add up within capacity), reason codes,
and runs the independent verifier on its rows against that share. It reads and writes nothing: the caller
(pipeline/stages/score.py, or the Spark engine on an executor) reads the partition and appends the frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from core.params import Params
from features.build import build_latest
from features.spec import Inputs
from features.state_frame import state_frame
from strategy.capacity import share_of
from strategy.model import StrategyModel
from strategy.recommend import recommend
from strategy.scores import Champion, champion_scores
from strategy.verify import require_none


@dataclass(frozen=True)
class Night:
    """What every partition of one night shares: the run date, the params, the strategy model (uplift model,
    costs, the context fitted on the whole book), the loaded champions, what the whole book lacks (so every
    partition computes the same features) and the book's number of accounts (capacity shares)."""

    run_date: date
    params: Params
    model: StrategyModel
    champions: Mapping[str, Champion | None]
    inputs: Inputs
    total_accounts: int

    def share(self, accounts: int) -> float:
        """The capacity share of a partition of `accounts` accounts."""
        return accounts / self.total_accounts if self.total_accounts else 1.0

    def versions(self) -> dict[str, str]:
        """The champions' versions by registered model name."""
        return {name: c.version for name, c in self.champions.items() if c is not None}


def plan_partition(tables: dict[str, pd.DataFrame], night: Night) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The recommendations (strategy/output.py) and the latest feature rows of one partition's accounts.

    Raises DataError (rule `verifier`, the rows and rules named) when the verifier finds a violation."""
    params, run_date = night.params, night.run_date
    states = state_frame(tables, run_date, params)
    latest = build_latest(tables, run_date, params, inputs=night.inputs)
    scores = champion_scores(states, latest.set_index("account_id"), night.champions, params)
    share = night.share(int(tables["accounts"]["account_id"].nunique()))
    recs, _ = recommend(states, run_date, night.model, scores.values, night.versions(), capacity_share=share)
    require_none(recs, states, run_date, night.model.rules, share_of(params.strategy, share))
    return recs, latest


def priority_ranks(values: list[np.ndarray]) -> list[pd.array]:
    """The book-wide `priority_rank` (1 = most valuable contact, empty for no contact) of partitions whose
    rows' expected net values are `values` (NaN for no contact), in partition then row order: the ranks
    `strategy.output.recommendations` gives the whole book at once."""
    sizes = [len(v) for v in values]
    whole = pd.Series(np.concatenate(values) if values else np.zeros(0), dtype=np.float64)
    rank = whole.rank(ascending=False, method="first").astype("Int64").array
    ends = np.cumsum(sizes)
    return [rank[end - size : end] for size, end in zip(sizes, ends, strict=True)]
