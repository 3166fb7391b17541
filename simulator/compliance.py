"""The contact rules the world enforces (US profile: CFPB Regulation F / FDCPA).

Every policy, the logging one included, is subject to the same check: an action on a channel
the borrower has not consented to or has opted out of, while a restriction is in force, outside
08:00-21:00 local time, a call within 7 days after a telephone conversation about the debt, or
a second contact to the same borrower on the same day is refused and counted, never executed.
At most one contact per borrower and day also keeps calls within 7 attempts in 7 days.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.schema import CHANNELS
from simulator.config import AGENCY, CALL, EMAIL, FIELD_VISIT, LETTER, SMS
from simulator.state import B_BLOCK_ALL, B_OPT_CALL, B_OPT_EMAIL, B_OPT_SMS, CHARGED_OFF

if TYPE_CHECKING:
    from simulator.engine import BlockWorld

FIRST_HOUR, LAST_HOUR = 8, 20  # a contact starts within [08:00, 21:00) local time
CALL_QUIET_DAYS = 7  # no call for 7 days after a telephone conversation (right-party call)
_CHANNEL_INDEX = pd.Index(list(CHANNELS), dtype=object)


def allowed_channels(w: "BlockWorld", t: int, idx: np.ndarray) -> np.ndarray:
    """Bool (len(idx), n_channels): may account idx be contacted on each channel today."""
    st, pop = w.st, w.pop
    b = pop.bor[idx]
    bits = st.bbits[b]
    blocked = ((bits & B_BLOCK_ALL) != 0) | (st.abits[idx] != 0)
    co = st.status[idx] == CHARGED_OFF
    live = ~blocked & ~co
    out = np.zeros((len(idx), len(CHANNELS)), dtype=bool)
    out[:, SMS] = live & pop.consent[b, 0] & ((bits & B_OPT_SMS) == 0)
    out[:, EMAIL] = live & pop.consent[b, 1] & ((bits & B_OPT_EMAIL) == 0)
    out[:, CALL] = (live & pop.consent[b, 2] & ((bits & B_OPT_CALL) == 0)
                    & (t - st.last_call_rpc[idx] > CALL_QUIET_DAYS))
    out[:, LETTER] = live
    out[:, FIELD_VISIT] = live
    out[:, AGENCY] = ~blocked & co
    return out


def check_actions(w: "BlockWorld", actions: pd.DataFrame | None, cand: np.ndarray, allowed: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Valid actions as (account index, channel code, local hour, propensity) and refusal counts."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int8), np.zeros(0))
    if actions is None or len(actions) == 0:
        return (*empty, {})
    ids = pd.to_numeric(actions["account_id"], errors="coerce").to_numpy(dtype=np.float64)
    loc = np.where(np.isfinite(ids), ids - 1 - w.pop.a0, -1).astype(np.int64)
    known = (loc >= 0) & (loc < w.pop.n_accounts) & (ids == np.round(ids))
    pos = np.full(len(ids), -1, dtype=np.int64)
    pos[known] = w.pos_of[loc[known]]
    in_states = known & (pos >= 0)
    channel = actions["channel"]
    if isinstance(channel.dtype, pd.CategoricalDtype) and list(channel.cat.categories) == list(CHANNELS):
        ch = channel.cat.codes.to_numpy().astype(np.int8)
    else:
        ch = _CHANNEL_INDEX.get_indexer(channel.astype(object)).astype(np.int8)
    hour_raw = pd.to_numeric(actions["hour"], errors="coerce").to_numpy(dtype=np.float64)
    hour_ok = np.isfinite(hour_raw) & (hour_raw == np.round(hour_raw)) & (hour_raw >= FIRST_HOUR) & (
        hour_raw <= LAST_HOUR)
    ok_channel = np.zeros(len(ids), dtype=bool)
    sel = in_states & (ch >= 0)
    ok_channel[sel] = allowed[pos[sel], ch[sel]]
    valid = in_states & (ch >= 0) & hour_ok & ok_channel
    # one contact per borrower per day: keep the first valid action of each borrower
    rows = np.flatnonzero(valid)
    borrower = w.pop.bor[loc[rows]]
    _, first = np.unique(borrower, return_index=True)
    keep = np.zeros(len(ids), dtype=bool)
    keep[rows[np.sort(first)]] = True
    refused = {
        "unknown_account": int((~known).sum()),
        "not_in_states": int((known & ~in_states).sum()),
        "unknown_channel": int((in_states & (ch < 0)).sum()),
        "outside_hours": int((in_states & (ch >= 0) & ~hour_ok).sum()),
        "channel_not_allowed": int((in_states & (ch >= 0) & hour_ok & ~ok_channel).sum()),
        "duplicate_borrower": int((valid & ~keep).sum()),
    }
    if "propensity" in actions.columns:
        prop = pd.to_numeric(actions["propensity"], errors="coerce").to_numpy(dtype=np.float64)
    else:
        prop = np.full(len(ids), np.nan)
    rows = np.flatnonzero(keep)
    return loc[rows], ch[rows], hour_raw[rows].astype(np.int8), prop[rows], refused
