"""The rulebook's functions: pure, vectorised checks of proposed contacts against the profiles.

Everything here is numpy arrays in and out, one row per account (or proposed action), so the
simulator can check millions of account-days and the strategy a whole book at once. Nothing
reads files or clocks: the caller passes the borrower's state and the action's local hour.

A row's profile is an index into `Rulebook.names` (see `profile_for_regions`); -1 means no
profile claims the account, and then nothing is allowed (reason `no_profile`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from core.compliance.profiles import ComplianceParams
from core.schema import CHANNELS, CONSENT_CHANNELS, RESTRICTION_KINDS

#: Why a check refused, in the order the rules are checked (the first failing rule is reported).
#: "allowed" (0) means no rule blocks. `outside_hours` and the batch rules (`contacts_today`, and the call caps
#: counted within one batch) need the proposed action; the others are known from the state alone.
REASONS: tuple[str, ...] = (
    "allowed",
    "no_profile",  # no profile claims the region and there is no fallback
    "unknown_channel",  # not one of core.schema.CHANNELS
    "outside_hours",  # not a whole local hour in [first_hour, end_hour)
    "unavailable",  # the executor cannot use the channel (a capability, not a rule: e.g. the simulator and legal)
    "restricted",  # a blocking restriction is in force
    "already_charged_off",  # channel used only before charge-off
    "not_yet_charged_off",  # channel used only after charge-off
    "no_consent",
    "opted_out",
    "call_quiet_period",  # a telephone conversation at most call_quiet_days days ago (same day: 0)
    "call_attempts_7d",
    "call_conversations_today",
    "unanswered_calls_today",
    "contacts_today",
)
R = {name: np.int8(i) for i, name in enumerate(REASONS)}
CALL = CHANNELS.index("call")
_CONSENT_COLUMNS = np.array([CHANNELS.index(c) for c in CONSENT_CHANNELS])
_NO_CAP = np.iinfo(np.int64).max


@dataclass(frozen=True)
class ContactState:
    """What the rules need to know about each row's borrower and account, as of the check.

    Counts are before the proposed action(s); "today" is the borrower's local day. A caller that
    does not track a count passes an upper bound of it (never an undercount).
    """

    consent: np.ndarray
    """bool (n, len(CONSENT_CHANNELS)): consent on record per consent channel."""
    opt_out: np.ndarray
    """bool (n, len(CONSENT_CHANNELS)): an opt-out in force per consent channel (every-channel opt-outs in each)."""
    restricted: np.ndarray
    """bool (n, len(RESTRICTION_KINDS)): a restriction of each kind in force."""
    charged_off: np.ndarray
    """bool (n,): the account is charged off."""
    days_since_call_conversation: np.ndarray
    """int (n,): days since the last telephone conversation about the debt (a large number when never)."""
    call_attempts_7d: np.ndarray
    """int (n,): call attempts in the 6 days before today and earlier today (the 7-day window ending today)."""
    call_conversations_today: np.ndarray
    """int (n,): effective voice conversations with the debtor today."""
    unanswered_calls_today: np.ndarray
    """int (n,): unanswered call attempts to the contact number today."""
    contacts_today: np.ndarray
    """int (n,): collection contacts with the borrower today, any channel."""

    def __post_init__(self) -> None:
        n = len(self.charged_off)
        shapes = {
            "consent": (n, len(CONSENT_CHANNELS)),
            "opt_out": (n, len(CONSENT_CHANNELS)),
            "restricted": (n, len(RESTRICTION_KINDS)),
        }
        for f in fields(self):
            value = np.asarray(getattr(self, f.name))
            expected = shapes.get(f.name, (n,))
            if value.shape != expected:
                raise ValueError(f"ContactState.{f.name} has shape {value.shape}, expected {expected}")
            object.__setattr__(self, f.name, value)

    @classmethod
    def new(cls, n: int, **arrays: np.ndarray) -> ContactState:
        """n rows with no consent, opt-out, restriction or contact history, then `arrays` on top."""
        blank = {
            "consent": np.zeros((n, len(CONSENT_CHANNELS)), dtype=bool),
            "opt_out": np.zeros((n, len(CONSENT_CHANNELS)), dtype=bool),
            "restricted": np.zeros((n, len(RESTRICTION_KINDS)), dtype=bool),
            "charged_off": np.zeros(n, dtype=bool),
            "days_since_call_conversation": np.full(n, 1_000_000, dtype=np.int64),
            "call_attempts_7d": np.zeros(n, dtype=np.int64),
            "call_conversations_today": np.zeros(n, dtype=np.int64),
            "unanswered_calls_today": np.zeros(n, dtype=np.int64),
            "contacts_today": np.zeros(n, dtype=np.int64),
        }
        return cls(**{**blank, **arrays})

    def __len__(self) -> int:
        return len(self.charged_off)

    def take(self, rows: np.ndarray) -> ContactState:
        """The state of `rows` (e.g. the account of each proposed action)."""
        return ContactState(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


@dataclass(frozen=True, eq=False)
class Rulebook:
    """`ComplianceParams` compiled into arrays, one row per profile plus a last row for "no profile".

    Index the arrays with a profile index array: -1 picks the last row, whose values never matter
    because every check refuses rows without a profile first.
    """

    params: ComplianceParams
    names: tuple[str, ...]
    first_hour: np.ndarray  # (P+1,)
    end_hour: np.ndarray  # (P+1,)
    needs_consent: np.ndarray  # (P+1, len(CHANNELS))
    honours_opt_out: np.ndarray  # (P+1, len(CHANNELS))
    blocking: np.ndarray  # (P+1, len(RESTRICTION_KINDS))
    before_charge_off_only: np.ndarray  # (P+1, len(CHANNELS))
    after_charge_off_only: np.ndarray  # (P+1, len(CHANNELS))
    max_call_attempts_7d: np.ndarray  # (P+1,), no cap = int64 max
    call_quiet_days: np.ndarray  # (P+1,), no quiet period = -1
    max_call_conversations_per_day: np.ndarray
    max_unanswered_calls_per_day: np.ndarray
    max_contacts_per_day: np.ndarray

    @classmethod
    def from_params(cls, params: ComplianceParams | None = None) -> Rulebook:
        params = params if params is not None else ComplianceParams()
        profiles = [*params.profiles.values(), None]

        def flags(attr: str, universe: tuple[str, ...]) -> np.ndarray:
            return np.array([[p is not None and v in getattr(p, attr) for v in universe] for p in profiles])

        def number(attr: str, none: int) -> np.ndarray:
            values = [getattr(p, attr) if p is not None else None for p in profiles]
            return np.array([none if v is None else v for v in values], dtype=np.int64)

        return cls(
            params=params,
            names=tuple(params.profiles),
            first_hour=number("first_hour", 0),
            end_hour=number("end_hour", 0),
            needs_consent=flags("consent_channels", CHANNELS),
            honours_opt_out=flags("opt_out_channels", CHANNELS),
            blocking=flags("blocking_kinds", RESTRICTION_KINDS),
            before_charge_off_only=flags("before_charge_off_only", CHANNELS),
            after_charge_off_only=flags("after_charge_off_only", CHANNELS),
            max_call_attempts_7d=number("max_call_attempts_7d", _NO_CAP),
            call_quiet_days=number("call_quiet_days", -1),
            max_call_conversations_per_day=number("max_call_conversations_per_day", _NO_CAP),
            max_unanswered_calls_per_day=number("max_unanswered_calls_per_day", _NO_CAP),
            max_contacts_per_day=number("max_contacts_per_day", _NO_CAP),
        )

    def profile_for_regions(self, regions: Sequence[str | None] | np.ndarray | pd.Series) -> np.ndarray:
        return profile_for_regions(self.params, regions)


@dataclass(frozen=True)
class Verdict:
    """Per proposed action: allowed, and the code of the first rule that refused it (REASONS)."""

    allowed: np.ndarray
    reason: np.ndarray

    @property
    def reason_names(self) -> np.ndarray:
        return np.asarray(REASONS, dtype=object)[self.reason]

    def counts(self) -> dict[str, int]:
        """Refusals per rule (every reason, zeros included; "allowed" counts the admitted)."""
        return dict(zip(REASONS, np.bincount(self.reason, minlength=len(REASONS)).tolist(), strict=True))


def match_region(params: ComplianceParams, region: str | None) -> int:
    """Index of the profile that governs `region`: the longest matching code, else the fallback, else -1."""
    best, best_len = -1, -1
    if isinstance(region, str):
        for i, profile in enumerate(params.profiles.values()):
            for code in profile.regions:
                if (region == code or region.startswith(code + "-")) and len(code) > best_len:
                    best, best_len = i, len(code)
    if best < 0 and params.fallback_profile is not None:
        best = list(params.profiles).index(params.fallback_profile)
    return best


def profile_for_regions(params: ComplianceParams, regions: Sequence[str | None] | np.ndarray | pd.Series) -> np.ndarray:
    """Profile index (int64) per region code; -1 where none applies. Missing regions get the fallback."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(regions, dtype=object), dtype=object))
    lookup = np.array([match_region(params, u) for u in uniques] + [match_region(params, None)], dtype=np.int64)
    return lookup[codes]  # code -1 (missing) takes the last entry


def hour_allowed(rules: Rulebook, profile: np.ndarray, local_hour: np.ndarray) -> np.ndarray:
    """May a contact start at this whole local hour under the row's profile (False without a profile)."""
    p = np.asarray(profile)
    h = np.asarray(local_hour, dtype=np.float64)
    whole = np.isfinite(h) & (h == np.round(h))
    return whole & (h >= rules.first_hour[p]) & (h < rules.end_hour[p]) & (p >= 0)


def channel_reasons(rules: Rulebook, profile: np.ndarray, state: ContactState) -> np.ndarray:
    """int8 (n, len(CHANNELS)): per row and channel, the first rule that blocks a contact today (0: none).

    Covers every rule that the state decides alone: not the hour, and not the other actions of a batch.
    Rules are written from the last to the first, so the first failing one is what remains.
    """
    p = np.asarray(profile)
    out = np.zeros((len(state), len(CHANNELS)), dtype=np.int8)
    out[state.contacts_today >= rules.max_contacts_per_day[p]] = R["contacts_today"]
    call = out[:, CALL]  # a view: the call caps write into `out`
    call[state.unanswered_calls_today >= rules.max_unanswered_calls_per_day[p]] = R["unanswered_calls_today"]
    call[state.call_conversations_today >= rules.max_call_conversations_per_day[p]] = R["call_conversations_today"]
    call[state.call_attempts_7d >= rules.max_call_attempts_7d[p]] = R["call_attempts_7d"]
    call[state.days_since_call_conversation <= rules.call_quiet_days[p]] = R["call_quiet_period"]
    sub = out[:, _CONSENT_COLUMNS]
    sub[state.opt_out & rules.honours_opt_out[p][:, _CONSENT_COLUMNS]] = R["opted_out"]
    sub[~state.consent & rules.needs_consent[p][:, _CONSENT_COLUMNS]] = R["no_consent"]
    out[:, _CONSENT_COLUMNS] = sub
    co = state.charged_off[:, None]
    out[~co & rules.after_charge_off_only[p]] = R["not_yet_charged_off"]
    out[co & rules.before_charge_off_only[p]] = R["already_charged_off"]
    out[(state.restricted & rules.blocking[p]).any(axis=1)] = R["restricted"]
    out[p < 0] = R["no_profile"]
    return out


def allowed_channels(rules: Rulebook, profile: np.ndarray, state: ContactState) -> np.ndarray:
    """bool (n, len(CHANNELS)): may each row be contacted on each channel today (at an allowed hour)."""
    return channel_reasons(rules, profile, state) == R["allowed"]


def check(
    rules: Rulebook,
    profile: np.ndarray,
    state: ContactState,
    channel: np.ndarray,
    local_hour: np.ndarray,
    available: np.ndarray | None = None,
    reasons: np.ndarray | None = None,
) -> Verdict:
    """Judge each proposed action (row i: channel code `channel[i]`, a CHANNELS index, -1 unknown) on its own.

    `available` (bool, len(CHANNELS)) is what the executor can do at all; a channel it lacks is refused
    as `unavailable`. `reasons` is `channel_reasons` of these rows when the caller has it already (the
    simulator computes it once a day for what it shows the policy). Batch rules (several actions for one
    borrower) are `admit`'s job.
    """
    p = np.asarray(profile)
    ch = np.asarray(channel, dtype=np.int64)
    known = (ch >= 0) & (ch < len(CHANNELS))
    safe = np.where(known, ch, 0)
    if reasons is None:
        reasons = channel_reasons(rules, p, state)
    reason = reasons[np.arange(len(ch)), safe]
    if available is not None:
        reason[~np.asarray(available, dtype=bool)[safe]] = R["unavailable"]
    reason[~hour_allowed(rules, p, local_hour)] = R["outside_hours"]
    reason[~known] = R["unknown_channel"]
    reason[p < 0] = R["no_profile"]
    return Verdict(allowed=reason == R["allowed"], reason=reason)


def rank_in_group(group: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For rows in `mask`, how many earlier masked rows (in row order) share the row's group; 0 elsewhere."""
    rows = np.flatnonzero(mask)
    order = np.argsort(np.asarray(group)[rows], kind="stable")
    g = np.asarray(group)[rows][order]
    pos = np.arange(len(g))
    new = np.ones(len(g), dtype=bool)
    new[1:] = g[1:] != g[:-1]
    starts = np.maximum.accumulate(np.where(new, pos, 0))
    rank = np.zeros(len(mask), dtype=np.int64)
    rank[rows[order]] = pos - starts
    return rank


def admit(
    rules: Rulebook,
    profile: np.ndarray,
    state: ContactState,
    channel: np.ndarray,
    local_hour: np.ndarray,
    group: np.ndarray,
    available: np.ndarray | None = None,
    reasons: np.ndarray | None = None,
) -> Verdict:
    """Judge a day's batch of proposed actions, earlier rows first; `group` identifies the borrower.

    After `check`, each borrower keeps its first actions up to the daily contact cap. Calls still
    admitted then count against the call caps as if every earlier call of the borrower in the batch
    had been an attempt, a conversation and unanswered all at once (the outcome is unknown when the
    batch is decided): conservative, so a batch never breaks a cap whatever the calls' outcomes.
    """
    p = np.asarray(profile)
    ch = np.asarray(channel, dtype=np.int64)
    verdict = check(rules, p, state, ch, local_hour, available, reasons)
    ok, reason = verdict.allowed.copy(), verdict.reason.copy()
    over = ok & (state.contacts_today + rank_in_group(group, ok) >= rules.max_contacts_per_day[p])
    reason[over], ok[over] = R["contacts_today"], False
    calls = ok & (ch == CALL)
    earlier = rank_in_group(group, calls)
    batch_caps = (  # checked in REASONS order, so the first failing cap is reported
        ("call_quiet_period", earlier > 0, rules.call_quiet_days[p] >= 0),
        ("call_attempts_7d", state.call_attempts_7d + earlier >= rules.max_call_attempts_7d[p], True),
        (
            "call_conversations_today",
            state.call_conversations_today + earlier >= rules.max_call_conversations_per_day[p],
            True,
        ),
        (
            "unanswered_calls_today",
            state.unanswered_calls_today + earlier >= rules.max_unanswered_calls_per_day[p],
            True,
        ),
    )
    for name, breaks, applies in batch_caps:
        over = calls & ok & breaks & applies
        reason[over], ok[over] = R[name], False
    return Verdict(allowed=ok, reason=reason)
