"""The public state frame as the rulebook sees it: a profile index and a `ContactState` per row.

Reads the columns of `simulator.observe.STATE_COLUMNS` (or a lender's equivalent): `region`,
`consent_<c>`, `opt_out_<c>`, one bool column per restriction kind, `charged_off`,
`days_since_call_conversation` and `contacts_7d`. The run date's counts are taken before any of its
contacts (zero) unless the frame carries them (`call_attempts_7d`, `call_conversations_today`,
`unanswered_calls_today`, `contacts_today`). Without `call_attempts_7d`, every contact of the last
7 days stands in for a call attempt: an upper bound, never an undercount (as the simulator does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import compliance as rulebook
from core.schema import CONSENT_CHANNELS, RESTRICTION_KINDS

#: Counts the frame may carry; missing ones are zero (the run date's morning) or an upper bound.
OPTIONAL_COUNTS = ("call_attempts_7d", "call_conversations_today", "unanswered_calls_today", "contacts_today")


def _bool(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].fillna(False).to_numpy(dtype=bool)


def _count(frame: pd.DataFrame, column: str, default: np.ndarray, missing: int = 0) -> np.ndarray:
    """An integer column; `default` when the frame lacks it, `missing` where a value is empty."""
    if column not in frame:
        return default
    return frame[column].fillna(missing).to_numpy(dtype=np.int64)


def contact_state(frame: pd.DataFrame, rules: rulebook.Rulebook) -> tuple[np.ndarray, rulebook.ContactState]:
    """(profile index per row, -1 = none; the rulebook's ContactState) of the frame's rows."""
    profile = rulebook.profile_for_regions(rules.params, frame["region"])
    opt_out = np.column_stack([_bool(frame, f"opt_out_{c}") for c in CONSENT_CHANNELS])
    restricted = np.column_stack(
        [opt_out.any(axis=1) if k == "channel_opt_out" else _bool(frame, k) for k in RESTRICTION_KINDS]
    )
    zeros = np.zeros(len(frame), dtype=np.int64)
    never = np.full(len(frame), 1_000_000, dtype=np.int64)
    state = rulebook.ContactState(
        consent=np.column_stack([_bool(frame, f"consent_{c}") for c in CONSENT_CHANNELS]),
        opt_out=opt_out,
        restricted=restricted,
        charged_off=_bool(frame, "charged_off"),
        days_since_call_conversation=_count(frame, "days_since_call_conversation", never, missing=1_000_000),
        call_attempts_7d=_count(frame, "call_attempts_7d", _count(frame, "contacts_7d", zeros)),
        call_conversations_today=_count(frame, "call_conversations_today", zeros),
        unanswered_calls_today=_count(frame, "unanswered_calls_today", zeros),
        contacts_today=_count(frame, "contacts_today", zeros),
    )
    return profile, state
