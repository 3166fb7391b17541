"""The compliance rulebook (core.compliance): every verdict equals an independent reading of the rules.

Property tests draw random borrower states, proposed actions, local hours and profiles (the
defaults and random ones) and compare the vectorised checks with a plain-Python oracle written
from the profile's fields; the named properties (hours, blocking restrictions, consent, opt-outs,
the US and CN call caps) are spelled out on their own as well. Executor loops then call the
rulebook day after day, several batches a day, and check that the recorded calls never break a
cap whatever the calls' outcomes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from core.compliance import (
    BLOCKING_KINDS,
    CALL,
    CN_PROFILE,
    REASONS,
    US_PROFILE,
    ComplianceParams,
    ContactState,
    Profile,
    Rulebook,
    admit,
    allowed_channels,
    check,
    hour_allowed,
    profile_for_regions,
    rank_in_group,
)
from core.params import load_params
from core.paths import PARAMS_FILE
from core.schema import CHANNELS, CONSENT_CHANNELS, RESTRICTION_KINDS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEFAULT = ComplianceParams()
RULES = Rulebook.from_params(DEFAULT)
US, CN = list(DEFAULT.profiles).index("US"), list(DEFAULT.profiles).index("CN")
HOURS = st.one_of(st.integers(-2, 26).map(float), st.sampled_from([7.5, 20.5, 21.99, math.nan, math.inf]))


# --- strategies ------------------------------------------------------------------------------------------------
def _subset(values: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), unique=True).map(tuple) if values else st.just(())


@st.composite
def profiles(draw: st.DrawFn, code: str) -> Profile:
    first = draw(st.integers(0, 22))
    before = draw(_subset(CHANNELS))
    cap = st.one_of(st.none(), st.integers(0, 8))
    return Profile(
        regions=(code,),
        first_hour=first,
        end_hour=draw(st.integers(first + 1, 24)),
        consent_channels=draw(_subset(CONSENT_CHANNELS)),
        opt_out_channels=draw(_subset(CONSENT_CHANNELS)),
        blocking_kinds=draw(_subset(tuple(k for k in RESTRICTION_KINDS if k != "channel_opt_out"))),
        before_charge_off_only=before,
        after_charge_off_only=draw(_subset(tuple(c for c in CHANNELS if c not in before))),
        max_call_attempts_7d=draw(cap),
        call_quiet_days=draw(cap),
        max_call_conversations_per_day=draw(cap),
        max_unanswered_calls_per_day=draw(cap),
        max_contacts_per_day=draw(cap),
        third_party_disclosure=False,
    )


params_strategy = st.one_of(
    st.just(DEFAULT),
    st.builds(
        lambda a, b: ComplianceParams(profiles={"US": US_PROFILE, "XA": a, "XB": b}), profiles("XA"), profiles("XB")
    ),
)


@st.composite
def batches(draw: st.DrawFn, n_profiles: int) -> tuple[np.ndarray, ContactState, np.ndarray, np.ndarray]:
    """(profile index, state, channel code, local hour) of n proposed actions."""
    n = draw(st.integers(1, 20))

    def flags(*shape: int) -> np.ndarray:
        return draw(arrays(bool, shape))

    def counts(hi: int) -> np.ndarray:
        return draw(arrays(np.int64, n, elements=st.integers(0, hi)))

    state = ContactState(
        consent=flags(n, len(CONSENT_CHANNELS)),
        opt_out=flags(n, len(CONSENT_CHANNELS)),
        # sparse restrictions, so that rows without one are common
        restricted=draw(arrays(np.float64, (n, len(RESTRICTION_KINDS)), elements=st.floats(0, 1))) < 0.2,
        charged_off=flags(n),
        days_since_call_conversation=counts(12),
        call_attempts_7d=counts(9),
        call_conversations_today=counts(5),
        unanswered_calls_today=counts(8),
        contacts_today=counts(2),
    )
    profile = draw(arrays(np.int64, n, elements=st.integers(-1, n_profiles - 1)))
    channel = draw(arrays(np.int64, n, elements=st.integers(-1, len(CHANNELS))))
    hour = draw(arrays(np.float64, n, elements=HOURS))
    return profile, state, channel, hour


# --- an independent reading of the rules --------------------------------------------------------------------------
def oracle(
    p: Profile | None, state: ContactState, i: int, ch: int, hour: float, available: np.ndarray | None = None
) -> str:
    """The first rule that refuses action i, read off the profile's fields one by one."""
    if p is None:
        return "no_profile"
    if not 0 <= ch < len(CHANNELS):
        return "unknown_channel"
    if not (math.isfinite(hour) and hour == int(hour) and p.first_hour <= hour < p.end_hour):
        return "outside_hours"
    name = CHANNELS[ch]
    if available is not None and not available[ch]:
        return "unavailable"
    if any(state.restricted[i, RESTRICTION_KINDS.index(k)] for k in p.blocking_kinds):
        return "restricted"
    if state.charged_off[i] and name in p.before_charge_off_only:
        return "already_charged_off"
    if not state.charged_off[i] and name in p.after_charge_off_only:
        return "not_yet_charged_off"
    if name in p.consent_channels and not state.consent[i, CONSENT_CHANNELS.index(name)]:
        return "no_consent"
    if name in p.opt_out_channels and state.opt_out[i, CONSENT_CHANNELS.index(name)]:
        return "opted_out"
    if name == "call":
        if p.call_quiet_days is not None and state.days_since_call_conversation[i] <= p.call_quiet_days:
            return "call_quiet_period"
        if p.max_call_attempts_7d is not None and state.call_attempts_7d[i] >= p.max_call_attempts_7d:
            return "call_attempts_7d"
        if (
            p.max_call_conversations_per_day is not None
            and state.call_conversations_today[i] >= p.max_call_conversations_per_day
        ):
            return "call_conversations_today"
        if (
            p.max_unanswered_calls_per_day is not None
            and state.unanswered_calls_today[i] >= p.max_unanswered_calls_per_day
        ):
            return "unanswered_calls_today"
    if p.max_contacts_per_day is not None and state.contacts_today[i] >= p.max_contacts_per_day:
        return "contacts_today"
    return "allowed"


def _profile(params: ComplianceParams, index: int) -> Profile | None:
    return list(params.profiles.values())[index] if index >= 0 else None


@SETTINGS
@given(data=st.data(), params=params_strategy, capable=arrays(bool, len(CHANNELS)))
def test_every_verdict_is_the_first_rule_the_oracle_finds(data, params, capable):
    profile, state, channel, hour = data.draw(batches(len(params.profiles)))
    rules = Rulebook.from_params(params)
    for available in (None, capable):
        verdict = check(rules, profile, state, channel, hour, available)
        expected = [
            oracle(_profile(params, int(profile[i])), state, i, int(channel[i]), float(hour[i]), available)
            for i in range(len(state))
        ]
        assert list(verdict.reason_names) == expected
        assert (verdict.allowed == (verdict.reason == 0)).all()
    # allowed_channels is check at an allowed hour, channel by channel
    matrix = allowed_channels(rules, profile, state)
    for c in range(len(CHANNELS)):
        first = np.array([_profile(params, int(p)).first_hour if p >= 0 else 0 for p in profile], dtype=float)
        at_opening = check(rules, profile, state, np.full(len(state), c), first)
        assert (matrix[:, c] == at_opening.allowed).all()


# --- the named properties, on the default profiles --------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_no_allowed_action_falls_outside_the_profiles_hours(data):
    profile, state, channel, hour = data.draw(batches(2))
    ok = check(RULES, profile, state, channel, hour).allowed
    first = np.where(profile == CN, CN_PROFILE.first_hour, US_PROFILE.first_hour)
    end = np.where(profile == CN, CN_PROFILE.end_hour, US_PROFILE.end_hour)
    assert (hour[ok] == np.round(hour[ok])).all()
    assert ((hour[ok] >= first[ok]) & (hour[ok] < end[ok])).all()
    assert (hour_allowed(RULES, profile, hour) >= ok).all()


def test_profile_hours_at_the_edges():
    profile = np.array([US, US, US, US, CN, CN, CN, -1])
    hour = np.array([7, 8, 20, 21, 8, 21, 22, 12])
    assert hour_allowed(RULES, profile, hour).tolist() == [False, True, True, False, True, True, False, False]


@SETTINGS
@given(data=st.data())
def test_a_blocking_restriction_blocks_every_channel(data):
    profile, state, channel, hour = data.draw(batches(2))
    blocking = np.isin(RESTRICTION_KINDS, BLOCKING_KINDS)
    blocked = (state.restricted & blocking).any(axis=1)
    assert not allowed_channels(RULES, profile, state)[blocked].any()
    assert not check(RULES, profile, state, channel, hour).allowed[blocked].any()


@SETTINGS
@given(data=st.data())
def test_consent_and_opt_outs(data):
    profile, state, channel, hour = data.draw(batches(2))
    ok = check(RULES, profile, state, channel, hour).allowed
    for k, name in enumerate(CONSENT_CHANNELS):
        on = ok & (channel == CHANNELS.index(name))
        assert state.consent[on, k].all(), f"{name} without consent"
        assert not state.opt_out[on, k].any(), f"{name} despite an opt-out"


@SETTINGS
@given(data=st.data())
def test_call_caps_of_each_profile(data):
    profile, state, channel, hour = data.draw(batches(2))
    ok = check(RULES, profile, state, channel, hour).allowed & (channel == CALL)
    us, cn = ok & (profile == US), ok & (profile == CN)
    assert (state.call_attempts_7d[us] < 7).all()  # the proposed call is at most the 7th in 7 days
    assert (state.days_since_call_conversation[us] > 7).all()
    assert (state.call_conversations_today[cn] < 3).all()
    assert (state.unanswered_calls_today[cn] < 6).all()
    assert (state.contacts_today[ok] < 1).all()


def test_agency_only_after_charge_off_and_the_lenders_channels_only_before():
    state = ContactState.new(2, consent=np.ones((2, 3), bool), charged_off=np.array([False, True]))
    allowed = allowed_channels(RULES, np.array([US, US]), state)
    names = np.array(CHANNELS)
    assert list(names[allowed[0]]) == ["sms", "email", "call", "letter", "field_visit", "legal"]
    assert list(names[allowed[1]]) == ["agency", "legal"]


# --- batches and executors ------------------------------------------------------------------------------------
def test_one_contact_per_borrower_and_day():
    state = ContactState.new(4, consent=np.ones((4, 3), bool))
    letter = np.full(4, CHANNELS.index("letter"))
    verdict = admit(RULES, np.full(4, US), state, letter, np.full(4, 10), group=np.array([7, 7, 8, 7]))
    assert verdict.allowed.tolist() == [True, False, True, False]
    assert verdict.counts()["contacts_today"] == 2


def test_rank_in_group_counts_earlier_rows_of_the_group():
    group = np.array([3, 1, 3, 3, 1, 2])
    mask = np.array([True, True, False, True, True, True])
    assert rank_in_group(group, mask).tolist() == [0, 0, 0, 1, 1, 0]


OUTCOMES = st.sampled_from(["conversation", "unanswered", "wrong_party"])
SCHEDULES = st.lists(st.lists(st.lists(OUTCOMES, max_size=4), min_size=1, max_size=3), min_size=1, max_size=20)


def _call_executor(profile: Profile, schedule: list[list[list[str]]]) -> list[tuple[int, str]]:
    """Ask the rulebook before every batch of calls to one borrower; returns the (day, outcome) of calls made.

    Each inner list is a batch of proposed calls; the outcome of a call is known only after its batch.
    """
    params = ComplianceParams(profiles={"P": profile})
    rules = Rulebook.from_params(params)
    made: list[tuple[int, str]] = []
    for day, day_batches in enumerate(schedule):
        for batch in day_batches:
            n = len(batch)
            if n == 0:
                continue
            talks = [d for d, o in made if o == "conversation"]
            today = [o for d, o in made if d == day]
            state = ContactState.new(
                n,
                consent=np.ones((n, 3), bool),
                days_since_call_conversation=np.full(n, day - max(talks) if talks else 10**6),
                call_attempts_7d=np.full(n, sum(day - 6 <= d <= day for d, _ in made)),
                call_conversations_today=np.full(n, today.count("conversation")),
                unanswered_calls_today=np.full(n, today.count("unanswered")),
                contacts_today=np.full(n, len(today)),
            )
            hour = np.full(n, profile.first_hour)
            verdict = admit(rules, np.zeros(n, np.int64), state, np.full(n, CALL), hour, group=np.zeros(n))
            made += [(day, batch[i]) for i in np.flatnonzero(verdict.allowed)]
    return made


def _assert_caps_kept(p: Profile, made: list[tuple[int, str]]) -> None:
    """No cap of the profile is broken by the calls made, whatever their outcomes."""
    days = np.array([d for d, _ in made], dtype=np.int64)
    for day in set(days.tolist()):
        today = [o for d, o in made if d == day]
        if p.max_call_attempts_7d is not None:
            assert ((days >= day - 6) & (days <= day)).sum() <= p.max_call_attempts_7d
        if p.max_call_conversations_per_day is not None:
            assert today.count("conversation") <= p.max_call_conversations_per_day
        if p.max_unanswered_calls_per_day is not None:
            assert today.count("unanswered") <= p.max_unanswered_calls_per_day
        if p.max_contacts_per_day is not None:
            assert len(today) <= p.max_contacts_per_day
    if p.call_quiet_days is not None:
        for j, (day, _) in enumerate(made):
            assert not any(o == "conversation" and day - p.call_quiet_days <= d for d, o in made[:j]), made


# the daily contact cap (a house rule) is lifted too, so that the legal caps themselves are what binds
@SETTINGS
@given(schedule=SCHEDULES)
def test_us_never_an_8th_call_in_7_days_nor_a_call_within_7_days_after_a_conversation(schedule):
    for profile in (US_PROFILE, US_PROFILE.model_copy(update={"max_contacts_per_day": None})):
        made = _call_executor(profile, schedule)
        days = np.array([d for d, _ in made])
        for d in set(days.tolist()):
            assert ((days >= d - 6) & (days <= d)).sum() <= 7
        for j, (day, _) in enumerate(made):
            assert not any(o == "conversation" and day - 7 <= d for d, o in made[:j]), made


@SETTINGS
@given(schedule=SCHEDULES)
def test_cn_never_a_4th_conversation_or_a_7th_unanswered_call_in_a_day(schedule):
    for profile in (CN_PROFILE, CN_PROFILE.model_copy(update={"max_contacts_per_day": None})):
        made = _call_executor(profile, schedule)
        for day in {d for d, _ in made}:
            outcomes = [o for d, o in made if d == day]
            assert outcomes.count("conversation") <= 3
            assert outcomes.count("unanswered") <= 6


@SETTINGS
@given(profile=profiles("P"), schedule=SCHEDULES)
def test_no_profile_cap_is_ever_broken_by_a_batch(profile, schedule):
    # also without the caps that most often bind first, so that each of the others gets its turn
    lifted = profile.model_copy(
        update={"max_contacts_per_day": None, "call_quiet_days": None, "after_charge_off_only": ()}
    )
    for p in (profile, lifted):
        _assert_caps_kept(p, _call_executor(p, schedule))


def test_cn_allows_calls_up_to_the_caps_in_one_day():
    relaxed = CN_PROFILE.model_copy(update={"max_contacts_per_day": None})
    made = _call_executor(relaxed, [[["unanswered"]] * 10])
    assert len(made) == 6
    made = _call_executor(relaxed, [[["conversation"]] * 10])
    assert len(made) == 3
    made = _call_executor(relaxed, [[["unanswered"] * 10]])  # one batch: its calls might all be conversations
    assert len(made) == 3


# --- profiles by region, params ------------------------------------------------------------------------------
def test_region_selects_the_profile():
    regions = ["US-TX", "US", "CN", "CN-11", "TW", "USA", None]
    assert profile_for_regions(DEFAULT, regions).tolist() == [US, US, CN, CN, -1, -1, -1]
    with_fallback = DEFAULT.model_copy(update={"fallback_profile": "US"})
    assert profile_for_regions(with_fallback, regions).tolist() == [US, US, CN, CN, US, US, US]


def test_the_most_specific_region_code_wins():
    texas = US_PROFILE.model_copy(update={"regions": ("US-TX",), "end_hour": 20})
    params = ComplianceParams(profiles={"US": US_PROFILE, "TX": texas})
    assert profile_for_regions(params, ["US-TX", "US-CA", "US-TXX"]).tolist() == [1, 0, 0]


def test_an_account_without_a_profile_is_never_contacted():
    profile = profile_for_regions(DEFAULT, ["TW"] * 3)
    state = ContactState.new(3, consent=np.ones((3, 3), bool), charged_off=np.array([False, True, False]))
    assert not allowed_channels(RULES, profile, state).any()
    verdict = check(RULES, profile, state, np.array([0, 5, 3]), np.array([10, 10, 10]))
    assert list(verdict.reason_names) == ["no_profile"] * 3


def test_params_round_trip_and_yaml_defaults():
    dumped = DEFAULT.model_dump(mode="json")
    assert ComplianceParams.model_validate(yaml.safe_load(yaml.safe_dump(dumped))) == DEFAULT
    assert load_params(PARAMS_FILE).compliance == DEFAULT
    assert set(US_PROFILE.blocking_kinds) == set(CN_PROFILE.blocking_kinds) == set(BLOCKING_KINDS)
    assert not US_PROFILE.third_party_disclosure and not CN_PROFILE.third_party_disclosure
    assert REASONS[0] == "allowed" and len(set(REASONS)) == len(REASONS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"profiles": {"A": US_PROFILE, "B": US_PROFILE}}, "claimed by profiles"),
        ({"fallback_profile": "XX"}, "fallback_profile"),
        ({"profiles": {"US": {**US_PROFILE.model_dump(), "first_hour": 21}}}, "must come before"),
        ({"profiles": {"US": {**US_PROFILE.model_dump(), "consent_channels": ["letter"]}}}, "consent_channels"),
        ({"profiles": {"US": {**US_PROFILE.model_dump(), "blocking_kinds": ["channel_opt_out"]}}}, "blocking_kinds"),
        ({"profiles": {"US": {**US_PROFILE.model_dump(), "after_charge_off_only": ["sms"]}}}, "both"),
        ({"profiles": {"US": {k: v for k, v in US_PROFILE.model_dump().items() if k != "end_hour"}}}, "end_hour"),
        ({"profiles": {"US": {**US_PROFILE.model_dump(), "max_call_attempts_7d": -1}}}, "max_call_attempts_7d"),
    ],
)
def test_invalid_params_are_rejected(change, message):
    with pytest.raises(ValidationError, match=message):
        ComplianceParams.model_validate({**DEFAULT.model_dump(), **change})
