"""The actions the strategy chooses from, and the action-window pairs it values and allocates.

An action is a channel with an offer: the channels of `core.schema.CHANNELS`, plus the plan offer
(a call that offers a hardship plan, as the uplift model's `plan` arm), plus no contact. Every
contact action is proposed in every contact window (`strategy.windows`); no contact needs none.
A candidate (column of the value matrix) is `k = action_index * n_windows + window_index` over
`CONTACT_ACTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.schema import CHANNELS, NO_CONTACT

#: Capacity a candidate uses: outbound calls (per UTC hour) or field visits (per run date); None: no limit.
CALLS = "calls"
FIELD_VISITS = "field_visits"


@dataclass(frozen=True)
class Action:
    """One action: `channel` (a CHANNELS value) with `offer` (a core.schema.OFFERS value)."""

    name: str
    channel: str
    offer: str
    #: The capacity it uses (CALLS, FIELD_VISITS) or None.
    resource: str | None


def _resource(channel: str) -> str | None:
    return {"call": CALLS, "field_visit": FIELD_VISITS}.get(channel)


#: Every contact action, in a fixed order: the channels, then the plan offer (a call).
CONTACT_ACTIONS: tuple[Action, ...] = (
    *(Action(c, c, "none", _resource(c)) for c in CHANNELS),
    Action("plan", "call", "plan", CALLS),
)
#: Action names, no contact first.
ACTION_NAMES: tuple[str, ...] = (NO_CONTACT, *(a.name for a in CONTACT_ACTIONS))


def candidate_names(windows: tuple[str, ...] | list[str]) -> list[str]:
    """Column names of the value matrix: `<action>@<window>`, action-major."""
    return [f"{a.name}@{w}" for a in CONTACT_ACTIONS for w in windows]


def split_candidate(k: int, n_windows: int) -> tuple[Action, int]:
    """The action and window index of candidate column `k`."""
    return CONTACT_ACTIONS[k // n_windows], k % n_windows
