"""The simulator as an executor of the compliance rulebook (core.compliance): its state in, verdicts out.

Every policy, the logging one included, is held to the same rulebook the strategy will use: the
profile of the borrower's region (params.yaml `compliance:`) decides hours, consents, opt-outs,
blocking restrictions, charge-off preconditions, call caps and the daily contact cap. An action
that breaks a rule is refused and counted, never executed. This module only translates the
simulator's state into the rulebook's `ContactState` and the verdicts into its refusal counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import compliance as rulebook
from core.schema import CHANNELS, CONSENT_CHANNELS, OFFERS, RESTRICTION_KINDS
from simulator.state import (
    A_DISPUTE,
    A_PLAN,
    B_BANKRUPT,
    B_CEASE,
    B_DECEASED,
    B_DNC,
    B_OPT_CALL,
    B_OPT_EMAIL,
    B_OPT_SMS,
    B_THIRD,
    CHARGED_OFF,
)
from simulator.world import BlockWorld

#: What the simulator can execute at all: it does not model legal action. A capability of this
#: executor, not a legal rule, so it lives here and not in the rulebook.
CAPABLE = np.array([c != "legal" for c in CHANNELS])
_CHANNEL_INDEX = pd.Index(list(CHANNELS), dtype=object)
_OFFER_INDEX = pd.Index(list(OFFERS), dtype=object)
#: Restriction bits of the state, by the restriction kind they record.
_BORROWER_BITS = {
    "do_not_contact": B_DNC,
    "cease_communication": B_CEASE,
    "bankruptcy": B_BANKRUPT,
    "deceased": B_DECEASED,
    "third_party_only": B_THIRD,
}
_ACCOUNT_BITS = {"dispute": A_DISPUTE, "hardship_plan": A_PLAN}
_OPT_OUT_BITS = {"sms": B_OPT_SMS, "email": B_OPT_EMAIL, "call": B_OPT_CALL}


def _bit_table(bits: dict[str, int], kinds: tuple[str, ...], width: int) -> np.ndarray:
    """Bool (2**width, len(kinds)): for every value of a bit field, which kinds its bits record."""
    values = np.arange(2**width)[:, None]
    return np.stack(
        [(values[:, 0] & bits[k]) != 0 if k in bits else np.zeros(len(values), dtype=bool) for k in kinds], axis=1
    )


# Lookup tables turn the bit fields into the rulebook's arrays with one gather each (hot path).
_B_WIDTH = max(*_BORROWER_BITS.values(), *_OPT_OUT_BITS.values()).bit_length()
_A_WIDTH = max(_ACCOUNT_BITS.values()).bit_length()
_OPT_OUT = _bit_table(_OPT_OUT_BITS, CONSENT_CHANNELS, _B_WIDTH)
_RESTRICTED_B = _bit_table(
    {**_BORROWER_BITS, "channel_opt_out": B_OPT_SMS | B_OPT_EMAIL | B_OPT_CALL}, RESTRICTION_KINDS, _B_WIDTH
)
_RESTRICTED_A = _bit_table(_ACCOUNT_BITS, RESTRICTION_KINDS, _A_WIDTH)
#: The rulebook's reasons as the simulator's refusal counts (simulator.outcomes.REFUSAL_REASONS).
_REFUSAL = {"outside_hours": "outside_hours", "contacts_today": "duplicate_borrower"}


def contact_state(w: BlockWorld, t: int, idx: np.ndarray) -> rulebook.ContactState:
    """The rulebook's view of accounts `idx` on local day t, before the day's contacts.

    The day's actions are checked in one batch before any is made, so today's counts are zero.
    The state keeps the days of each account's last 7 contacts, not their channels, so contacts
    of the six days before today stand in for call attempts: an upper bound, never an undercount.
    """
    st, pop = w.st, w.pop
    b = pop.bor[idx]
    bits, abits = st.bbits[b] & (2**_B_WIDTH - 1), st.abits[idx] & (2**_A_WIDTH - 1)
    zeros = np.zeros(len(idx), dtype=np.int64)
    return rulebook.ContactState(
        consent=pop.consent[b],
        opt_out=_OPT_OUT[bits],
        restricted=_RESTRICTED_B[bits] | _RESTRICTED_A[abits],
        charged_off=st.status[idx] == CHARGED_OFF,
        days_since_call_conversation=t - st.last_call_rpc[idx].astype(np.int64),
        call_attempts_7d=(st.contact_ring[idx] >= t - 6).sum(axis=1),
        call_conversations_today=zeros,
        unanswered_calls_today=zeros,
        contacts_today=zeros,
    )


def channel_reasons(w: BlockWorld, idx: np.ndarray, state: rulebook.ContactState) -> np.ndarray:
    """int8 (len(idx), n_channels): the first rule that blocks each channel today (0: none; rulebook.REASONS)."""
    return rulebook.channel_reasons(w.rules, w.profile[w.pop.bor[idx]], state)


def allowed_channels(reasons: np.ndarray) -> np.ndarray:
    """Bool (n, n_channels): allowed by the rulebook and executable by the simulator (the policy's `can_*`)."""
    return (reasons == 0) & CAPABLE


def check_actions(
    w: BlockWorld, actions: pd.DataFrame | None, cand: np.ndarray, state: rulebook.ContactState, reasons: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Valid actions as (account index, channel code, local hour, propensity, offer code) and refusal counts.

    `state` and `reasons` are `contact_state` and `channel_reasons` of the candidates `cand`;
    `w.pos_of` maps an account to its row there.
    Actions for unknown accounts, accounts not shown today or unknown channels are refused here;
    the rest go to the rulebook as one batch (`admit`), earlier rows first.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int8), np.zeros(0), np.zeros(0, np.int8))
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
    # LOG (offer contract): the optional offer column, as OFFERS codes; missing or empty is "none", an
    # unknown offer makes the action unknown (refused and counted with the unknown channels)
    offer = _offer_codes(actions)
    ch = np.where(offer >= 0, ch, -1).astype(np.int8)
    # end LOG
    sel = np.flatnonzero(in_states & (ch >= 0))
    borrower = w.pop.bor[loc[sel]]
    verdict = rulebook.admit(
        w.rules,
        w.profile[borrower],
        state.take(pos[sel]),
        ch[sel],
        hour_raw[sel],
        group=borrower,
        available=CAPABLE,
        reasons=reasons[pos[sel]],
    )
    refused = {
        "unknown_account": int((~known).sum()),
        "not_in_states": int((known & ~in_states).sum()),
        "unknown_channel": int((in_states & (ch < 0)).sum()),
        "outside_hours": 0,
        "channel_not_allowed": 0,
        "duplicate_borrower": 0,
    }
    counts = np.bincount(verdict.reason, minlength=len(rulebook.REASONS))
    for reason, n in zip(rulebook.REASONS[1:], counts[1:].tolist(), strict=True):
        refused[_REFUSAL.get(reason, "channel_not_allowed")] += n  # every other rule refuses the channel
    if "propensity" in actions.columns:
        prop = pd.to_numeric(actions["propensity"], errors="coerce").to_numpy(dtype=np.float64)
    else:
        prop = np.full(len(ids), np.nan)
    rows = sel[verdict.allowed]
    return loc[rows], ch[rows], hour_raw[rows].astype(np.int8), prop[rows], offer[rows], refused


def _offer_codes(actions: pd.DataFrame) -> np.ndarray:
    """int8 OFFERS code of each action: 0 ("none") where the column is absent or empty, -1 if unknown (LOG)."""
    if "offer" not in actions.columns:
        return np.zeros(len(actions), dtype=np.int8)
    offer = actions["offer"]
    if isinstance(offer.dtype, pd.CategoricalDtype) and list(offer.cat.categories) == list(OFFERS):
        codes = offer.cat.codes.to_numpy().astype(np.int8)
        return np.where(codes < 0, 0, codes).astype(np.int8)
    values = offer.astype(object)
    codes = _OFFER_INDEX.get_indexer(values).astype(np.int8)
    return np.where(values.isna().to_numpy(), 0, codes).astype(np.int8)
