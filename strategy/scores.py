"""The champion models' scores of tonight's accounts: roll forward (roll-rate model), pay in 7 and 30 days
(propensity model), on each account's latest feature row.

The models come in loaded (`Champion`: the registry's `champion` version, read by the caller), so that the
nightly job reads each model once and scores every partition of the book with it, in this process or on a
Spark executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.params import Params
from models.propensity.scoring import probability_column
from models.roll_rate.evaluation import roll_forward_score


@dataclass(frozen=True)
class Champion:
    """A registered model's `champion` version: its name, version and loaded pyfunc model."""

    name: str
    version: str
    model: Any  # mlflow.pyfunc.PyFuncModel


@dataclass
class Scores:
    """The champion models' scores per state row (strategy.output.SCORES names) and the versions used."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def get(self, name: str) -> np.ndarray | None:
        return self.values.get(name)


def latest_rows(features: pd.DataFrame, run_date: object) -> pd.DataFrame:
    """Each account's latest feature row as of the run date at the latest, indexed by account_id. A row as of
    date D holds what was known before D, so the row as of the run date itself (the night after a statement)
    is tonight's freshest, not a look ahead (features.build.build_latest builds just these rows)."""
    before = features[pd.to_datetime(features["as_of_date"]) <= pd.Timestamp(run_date)]
    return (
        before.sort_values("as_of_date", kind="stable")
        .drop_duplicates("account_id", keep="last")
        .set_index("account_id")
    )


def champion_scores(
    states: pd.DataFrame,
    latest: pd.DataFrame | None,
    champions: Mapping[str, Champion | None],
    params: Params,
) -> Scores:
    """Roll-forward and pay-7d/30d scores of each state row from its latest feature row (`latest`, indexed by
    account_id), with `champions` keyed by registered model name (None: the registry has none).

    Empty (NaN) where there is no champion, no feature table (`latest` None), or an account has no row; the
    notes say which."""
    out = Scores()
    if latest is None:
        out.notes.append("no feature table: scores left empty")
        return out
    ids = states["account_id"].to_numpy(np.int64)
    have = np.isin(ids, latest.index.to_numpy())
    frame = latest.loc[ids[have]].reset_index()
    for name in (params.roll_rate.registered_model, params.propensity.registered_model):
        found = champions.get(name)
        if found is None:
            out.notes.append(f"{name}: no champion in the registry: its scores are empty")
            continue
        out.versions[name] = found.version
        if frame.empty:
            continue
        schema = found.model.metadata.get_input_schema()
        predicted = found.model.predict(frame[schema.input_names()] if schema is not None else frame)
        if name == params.roll_rate.registered_model:
            values = {"score_roll_forward": roll_forward_score(predicted.to_numpy(), frame["bucket"].to_numpy())}
        else:
            values = {f"score_pay_{h}d": predicted[probability_column(h)].to_numpy() for h in (7, 30)}
        for key, v in values.items():
            full = np.full(len(states), np.nan)
            full[have] = np.asarray(v, dtype=np.float64)
            out.values[key] = full
    return out
