"""Champion/challenger: whether a registered challenger takes the alias `champion`, and rollback.

Training registers a new version of each family and measures the current champion on the same test
window (models/common/registry.py); this module decides. The challenger is promoted when there is no
champion, or when its score (lower is better) beats the champion's on that window by more than
`margin`, a share of the champion's score: `champion - challenger > margin * |champion|`. So a model
retrained on the same data (equal score) never replaces the champion, and noise below the margin
does not churn the alias. The comparison stands only for the champion it was measured against: when
the alias has moved since the challenger was scored, promotion is refused (retrain to compare again).

Every decision is written as tags on the challenger's model version and on its run (`promotion.*`:
decision, reason, margin, both scores, the champion compared with and the one it replaced), so the
registry says why each version holds the alias or not. `promotion.previous_champion` on a promoted
version is the history rollback follows: `rollback` moves the alias back to it and tags both versions
(`rollback.*`); a rolled-back version is never promoted again from its old registration record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from core.errors import DataError
from models.common.registry import CHAMPION
from models.common.tracking import configure

PROMOTED, KEPT, REFUSED, ALREADY, UNTRACKED = "promoted", "kept", "refused", "already_champion", "untracked"
#: Version tag of a promoted version: the champion it replaced ("none": there was none).
PREVIOUS = "promotion.previous_champion"
#: Version tag of a version that rollback took the alias from.
DEMOTED = "rollback.demoted"
NONE = "none"


class RollbackError(Exception):
    """Rollback cannot proceed: no such model, no champion, or no previous champion recorded."""


@dataclass(frozen=True)
class Decision:
    """What `promote` did with one family's registration record (a row of data/models/promotion.json)."""

    family: str
    name: str
    challenger: str | None
    decision: str
    reason: str
    score_name: str | None = None
    challenger_score: float | None = None
    champion_score: float | None = None
    #: The champion version the challenger was scored against at training (None: there was none).
    compared_with: str | None = None
    #: The alias before and after this decision.
    champion_before: str | None = None
    champion_after: str | None = None
    #: (champion - challenger) / |champion|: positive when the challenger is better (None: no champion score).
    relative_improvement: float | None = None
    margin: float | None = None

    def line(self) -> str:
        """One line for the stage's output."""
        who = f"{self.name} version {self.challenger}" if self.challenger else self.family
        return f"{who}: {self.decision} ({self.reason}); champion {self.champion_after or NONE}"


def relative_improvement(challenger: float, champion: float) -> float | None:
    """How much lower the challenger's score is, as a share of the champion's (None when that is 0)."""
    return None if champion == 0 else (champion - challenger) / abs(champion)


def beats(challenger: float, champion: float, margin: float) -> bool:
    """The promotion rule on lower-is-better scores: better than the champion by more than `margin` of it."""
    return champion - challenger > margin * abs(champion)


def decide(
    challenger: str,
    score: float,
    compared_with: str | None,
    champion_score: float | None,
    current: str | None,
    margin: float,
    demoted: bool = False,
    legacy: bool = False,
) -> tuple[str, str]:
    """The decision and its reason, from the registration record and the registry's state (pure).

    `current` is the alias now; `demoted`, whether rollback took the alias from this challenger once;
    `legacy`, a record written before this step existed (it does not say which champion it was scored against).
    """
    if current == challenger:
        return ALREADY, f"version {challenger} already holds `{CHAMPION}`"
    if demoted:
        return REFUSED, f"version {challenger} was rolled back once; register a new version to challenge again"
    if current is None:
        return PROMOTED, "no champion"
    if legacy:
        return REFUSED, "the record predates the promote step (no champion version compared): retrain"
    if compared_with != current:
        return REFUSED, (
            f"the champion moved since the challenger was scored (compared with version "
            f"{compared_with or NONE}, champion now {current}): retrain to compare on the same window"
        )
    if champion_score is None:
        return REFUSED, f"champion version {current} has no score on this window to compare with"
    gain = relative_improvement(score, champion_score)
    shown = "n/a" if gain is None else f"{gain:+.4%}"
    if beats(score, champion_score, margin):
        return PROMOTED, f"beats champion version {current} by {shown} (margin {margin:.4%})"
    return KEPT, f"does not beat champion version {current} by more than the margin ({shown}, margin {margin:.4%})"


def _alias(client: MlflowClient, name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def _tags(decision: Decision) -> dict[str, str]:
    tags = {
        "promotion.decision": decision.decision,
        "promotion.reason": decision.reason,
        "promotion.margin": repr(decision.margin),
        "promotion.score_name": str(decision.score_name),
        "promotion.challenger_score": f"{decision.challenger_score:.6f}",
        "promotion.compared_with": decision.compared_with or NONE,
        "promotion.champion_before": decision.champion_before or NONE,
    }
    if decision.champion_score is not None:
        tags["promotion.champion_score"] = f"{decision.champion_score:.6f}"
    if decision.relative_improvement is not None:
        tags["promotion.relative_improvement"] = f"{decision.relative_improvement:.6f}"
    if decision.decision == PROMOTED:
        tags[PREVIOUS] = decision.champion_before or NONE
    return tags


def promote(record: Mapping[str, object], margin: float, family: str = "") -> Decision:
    """Apply the rule to one registration record: move `champion` when the challenger wins, and tag why
    on its model version and its run (nothing is tagged when it already holds the alias)."""
    family = str(record.get("family") or family)
    if record.get("tracked") is False:
        return Decision(family, "", None, UNTRACKED, "the training run was not tracked (--no-track)")
    try:
        name, version, run_id = str(record["name"]), str(record["version"]), str(record["run_id"])
        score, score_name = float(record["score"]), str(record["score_name"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            "registration", "required_fields", f"the {family or 'registration'} record lacks {exc}"
        ) from None
    champion_score = None if record.get("champion_score") is None else float(record["champion_score"])
    compared_with = None if record.get("champion_version") is None else str(record["champion_version"])
    client = configure()
    try:
        tags = client.get_model_version(name, version).tags
    except MlflowException:
        raise DataError(
            "registration",
            "in_registry",
            f"{name} version {version} is not in the registry at {client.tracking_uri} (another MLflow store?)",
        ) from None
    current = _alias(client, name)
    demoted, legacy = tags.get(DEMOTED) == "true", "champion_version" not in record
    verdict, reason = decide(version, score, compared_with, champion_score, current, margin, demoted, legacy)
    decision = Decision(
        family=family,
        name=name,
        challenger=version,
        decision=verdict,
        reason=reason,
        score_name=score_name,
        challenger_score=score,
        champion_score=champion_score,
        compared_with=compared_with,
        champion_before=current,
        champion_after=version if verdict == PROMOTED else current,
        relative_improvement=None if champion_score is None else relative_improvement(score, champion_score),
        margin=margin,
    )
    if verdict == ALREADY:
        return decision
    if verdict == PROMOTED:
        client.set_registered_model_alias(name, CHAMPION, version)
    for key, value in _tags(decision).items():
        client.set_model_version_tag(name, version, key, value)
        client.set_tag(run_id, key, value)
    return decision


@dataclass(frozen=True)
class Rollback:
    name: str
    demoted: str
    restored: str
    reason: str

    def line(self) -> str:
        return f"{self.name}: `{CHAMPION}` moved back from version {self.demoted} to {self.restored} ({self.reason})"


def rollback(name: str, reason: str) -> Rollback:
    """Move `champion` back to the version the current champion replaced (its `promotion.previous_champion`),
    and tag both versions with why; RollbackError when there is nothing to roll back to."""
    client = configure()
    try:
        client.get_registered_model(name)
    except MlflowException:
        raise RollbackError(f"no registered model {name!r} in the registry at {client.tracking_uri}") from None
    current = _alias(client, name)
    if current is None:
        raise RollbackError(f"{name} has no `{CHAMPION}`: nothing to roll back")
    previous = client.get_model_version(name, current).tags.get(PREVIOUS, NONE)
    if previous == NONE:
        raise RollbackError(
            f"{name} version {current} replaced no champion (or was not promoted by `promote`): nothing to roll "
            f"back to; set the alias to a chosen version by hand if needed"
        )
    try:
        client.get_model_version(name, previous)
    except MlflowException:
        raise RollbackError(f"{name}: the previous champion, version {previous}, no longer exists") from None
    client.set_registered_model_alias(name, CHAMPION, previous)
    for key, value in {DEMOTED: "true", "rollback.restored": previous, "rollback.reason": reason}.items():
        client.set_model_version_tag(name, current, key, value)
    client.set_model_version_tag(name, previous, "rollback.restored_from", current)
    client.set_model_version_tag(name, previous, "rollback.reason", reason)
    return Rollback(name, current, previous, reason)
