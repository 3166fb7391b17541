"""The strategy's foundations: windows across clock changes, allowed actions, allocation and the verifier.

Property tests run `STRATEGY_EXAMPLES` examples each (default 40, fast); the 10,000-case run is
`STRATEGY_EXAMPLES=10000 python -m pytest tests/test_strategy_core.py` (docs/strategy.md).
"""

from __future__ import annotations

import os
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import compliance as rulebook
from core.params import StrategyParams
from core.schema import CONSENT_CHANNELS, RESTRICTION_KINDS
from strategy.allocation import allocate
from strategy.allowed import action_table
from strategy.capacity import capacity_usage
from strategy.output import RECOMMENDATION_COLUMNS, recommendations
from strategy.verify import verify
from strategy.windows import zone_window

EXAMPLES = int(os.environ.get("STRATEGY_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULES = rulebook.Rulebook.from_params()
ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Asia/Shanghai",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
    "Not/AZone",
)
#: Days of clock changes in the zones above (2024), and ordinary days.
DAYS = (
    date(2024, 3, 10),
    date(2024, 11, 3),
    date(2024, 3, 31),
    date(2024, 10, 27),
    date(2024, 10, 6),
    date(2024, 4, 7),
    date(2024, 9, 7),
    date(2024, 9, 8),
    date(2024, 6, 15),
    date(2024, 1, 2),
)
BANDS = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda t: t[0] < t[1]),
    min_size=1,
    max_size=4,
)


@st.composite
def books(draw):
    n = draw(st.integers(1, 40))
    b = lambda: st.lists(st.booleans(), min_size=n, max_size=n)  # noqa: E731
    ints = lambda lo, hi: st.lists(st.integers(lo, hi), min_size=n, max_size=n)  # noqa: E731
    frame = pd.DataFrame(
        {
            "account_id": np.arange(n) + 1,
            "borrower_id": draw(ints(0, max(n // 2, 1))),
            "bucket": 1,
            "region": draw(
                st.lists(st.sampled_from(["US", "US-TX", "CN", "CN-31", "XX", None]), min_size=n, max_size=n)
            ),
            "timezone": draw(st.lists(st.sampled_from(ZONES), min_size=n, max_size=n)),
            "charged_off": draw(b()),
            # counts near every cap: US 7 attempts / 7 quiet days, CN 3 conversations / 6 unanswered, 1 a day
            "call_attempts_7d": draw(ints(5, 8)),
            "days_since_call_conversation": draw(ints(0, 9)),
            "call_conversations_today": draw(ints(1, 4)),
            "unanswered_calls_today": draw(ints(4, 7)),
            "contacts_today": draw(ints(0, 1)),
        }
    )
    for c in CONSENT_CHANNELS:
        frame[f"consent_{c}"] = draw(b())
        frame[f"opt_out_{c}"] = draw(
            st.lists(st.booleans().map(lambda x: x and draw(st.booleans())), min_size=n, max_size=n)
        )
    for k in RESTRICTION_KINDS:
        if k != "channel_opt_out":
            frame[k] = draw(st.lists(st.integers(0, 9).map(lambda x: x == 0), min_size=n, max_size=n))
    return frame


def _run(frame, day, bands, p, method, seed):
    table = action_table(frame, day, bands, RULES)
    usage = capacity_usage(table.windows, day, p)
    rng = np.random.default_rng(seed)
    value = rng.normal(1.0, 3.0, table.reason.shape)
    value[~table.allowed] = np.nan
    alloc = allocate(value, frame["borrower_id"].to_numpy(), usage, method)
    recs = recommendations(frame, day, table, value, alloc, RULES)
    return table, usage, value, alloc, recs


@SETTINGS
@given(
    frame=books(),
    day=st.sampled_from(DAYS),
    bands=BANDS,
    calls=st.floats(0, 5),
    visits=st.integers(0, 3),
    method=st.sampled_from(["greedy", "lp"]),
    seed=st.integers(0, 2**16),
)
def test_no_recommendation_breaks_a_rule_or_capacity(frame, day, bands, calls, visits, method, seed):
    p = StrategyParams(windows=bands, calls_per_hour=calls, field_visits_per_day=visits)
    table, _, _, _, recs = _run(frame, day, bands, p, method, seed)
    assert list(recs.columns) == list(RECOMMENDATION_COLUMNS)
    violations = verify(recs, frame, day, RULES, p)
    assert violations.empty, violations.to_string()
    blocked = ~table.allowed.any(axis=1)
    assert (recs["action"][blocked] == "none").all()
    assert recs["reason_codes"][blocked].str.startswith("every action blocked").all()
    assert (recs["blocked_actions"][blocked] != "").all()  # each names its rule


@SETTINGS
@given(frame=books(), day=st.sampled_from(DAYS), seed=st.integers(0, 2**16), method=st.sampled_from(["greedy", "lp"]))
def test_ample_capacity_gives_every_borrower_its_best_action(frame, day, seed, method):
    p = StrategyParams(calls_per_hour=1e6, field_visits_per_day=1e6)
    _, _, value, alloc, recs = _run(frame, day, p.windows, p, method, seed)
    best = pd.Series(np.nan_to_num(np.nanmax(np.where(np.isnan(value), -np.inf, value), axis=1), neginf=0.0))
    per_borrower = best.clip(lower=0).groupby(frame["borrower_id"].to_numpy()).max()
    assert alloc.value == pytest.approx(per_borrower.sum())
    assert recs["expected_net_value"].sum() == pytest.approx(per_borrower.sum())
    assert (recs[recs["action"] != "none"]["expected_net_value"] > 0).all()


@SETTINGS
@given(
    gains=st.lists(st.floats(0.01, 100), min_size=1, max_size=60),
    free=st.lists(st.floats(-5, 5), min_size=60, max_size=60),
    capacity=st.integers(0, 30),
)
def test_lp_and_greedy_agree_where_greedy_is_optimal(gains, free, capacity):
    # one resource, one unit each, one capacity-using candidate per borrower: the top gains are optimal
    from strategy.capacity import Usage

    n = len(gains)
    value = np.column_stack([np.array(free[:n]), np.array(free[:n]) + np.array(gains)])
    usage = Usage(
        np.column_stack([np.full(n, -1), np.zeros(n, dtype=np.int64)]),
        np.ones((1, 1)),
        np.array([capacity * 1.0]),
        ("x",),
    )
    g, lp = allocate(value, np.arange(n), usage, "greedy"), allocate(value, np.arange(n), usage, "lp")
    assert g.value == pytest.approx(lp.value)
    assert lp.bound == pytest.approx(lp.value)
    assert ((g.choice == 1).sum(), (lp.choice == 1).sum()) <= (capacity, capacity)
    assert (np.where(g.choice >= 0, value[np.arange(n), np.maximum(g.choice, 0)], 0) >= 0).all()


def test_no_contact_wins_when_every_value_is_not_positive():
    frame = pd.DataFrame(
        {
            "account_id": [1, 2],
            "borrower_id": [1, 2],
            "region": "US",
            "timezone": "America/Chicago",
            "consent_sms": True,
            "consent_email": True,
            "consent_call": True,
            "bucket": 2,
        }
    )
    p, day = StrategyParams(), date(2024, 6, 3)
    table = action_table(frame, day, p.windows, RULES)
    value = np.where(table.allowed, -1.0, np.nan)
    value[1, 0] = 0.0
    alloc = allocate(value, frame["borrower_id"].to_numpy(), capacity_usage(table.windows, day, p))
    assert (alloc.choice == -1).all() and alloc.value == 0.0


@pytest.mark.parametrize(
    ("zone", "day", "band", "exists", "utc", "hours"),
    [
        # clocks go forward 02:00 -> 03:00: a window inside the gap does not exist, one across it is shorter
        ("America/New_York", date(2024, 3, 10), (2, 3), False, None, ()),
        ("America/New_York", date(2024, 3, 10), (1, 4), True, ("06:00", "08:00"), (1, 3)),
        # clocks go back 02:00 -> 01:00: the repeated hour is in the window twice
        ("America/New_York", date(2024, 11, 3), (1, 2), True, ("05:00", "07:00"), (1,)),
        ("America/New_York", date(2024, 11, 3), (0, 1), True, ("04:00", "05:00"), (0,)),
        # a half-hour change (Lord Howe) and a midnight one (Havana)
        ("Australia/Lord_Howe", date(2024, 10, 6), (2, 3), True, ("15:30", "16:00"), (2,)),
        ("America/Havana", date(2024, 3, 10), (0, 2), True, ("05:00", "06:00"), (1,)),
        # China keeps one offset all year (UTC+8)
        ("Asia/Shanghai", date(2024, 3, 10), (8, 12), True, ("00:00", "04:00"), (8, 9, 10, 11)),
        ("Asia/Shanghai", date(2024, 11, 3), (21, 22), True, ("13:00", "14:00"), (21,)),
    ],
)
def test_windows_across_clock_changes(zone, day, band, exists, utc, hours):
    w = zone_window(zone, day, *band)
    assert w.exists is exists
    assert w.hours == hours
    if utc is not None:
        assert (f"{w.start_utc:%H:%M}", f"{w.end_utc:%H:%M}") == utc


def test_the_verifier_catches_a_call_outside_hours_and_a_quiet_period():
    frame = pd.DataFrame(
        {
            "account_id": [1, 2],
            "borrower_id": [1, 2],
            "region": ["US", "CN"],
            "timezone": ["America/New_York", "Asia/Shanghai"],
            "consent_sms": True,
            "consent_email": True,
            "consent_call": True,
            "bucket": 1,
            "days_since_call_conversation": [3, 3],
        }
    )
    p, day = StrategyParams(), date(2024, 3, 10)
    table = action_table(frame, day, p.windows, RULES)
    late = table.names.index("call@late")
    assert table.reason_names()[0, late] == "outside_hours"  # US: until 21:00 (the first rule in REASONS order)
    assert table.reason_names()[0, table.names.index("call@morning")] == "call_quiet_period"
    assert table.reason_names()[1, late] == "allowed"  # CN: no quiet period, contact until 22:00
    value = np.where(table.allowed, 1.0, np.nan)
    value[1, late] = 5.0
    recs = recommendations(
        frame,
        day,
        table,
        value,
        allocate(value, frame["borrower_id"].to_numpy(), capacity_usage(table.windows, day, p)),
        RULES,
    )
    assert verify(recs, frame, day, RULES, p).empty
    assert recs.loc[1, "action"] == "call" and recs.loc[1, "window"] == "late"
    bad = recs.copy()
    bad.loc[1, "borrower_id"] = 1  # two contacts for one borrower
    bad.loc[0, ["action", "channel", "window"]] = ["call", "call", "morning"]  # a call 3 days after a conversation
    bad.loc[0, "window_start_utc"] = pd.Timestamp("2024-03-10 12:00", tz="UTC")  # 08:00 EDT
    bad.loc[0, "window_end_utc"] = pd.Timestamp("2024-03-10 16:00", tz="UTC")
    bad.loc[0, "window_start_local"] = pd.Timestamp("2024-03-10 08:00")
    bad.loc[0, "window_end_local"] = pd.Timestamp("2024-03-10 12:00")
    found = verify(bad, frame, day, RULES, p)
    assert {"call_quiet_period", "one_contact_per_borrower"} <= set(found["detail"]) | set(found["rule"])
    late = recs.copy()
    late.loc[1, "window_end_utc"] = pd.Timestamp("2024-03-10 15:00", tz="UTC")  # 23:00 in Shanghai
    late.loc[1, "window_end_local"] = pd.Timestamp("2024-03-10 23:00")
    assert set(verify(late, frame, day, RULES, p)["detail"]) == {"outside_hours"}


def test_a_vanishing_capacity_costs_infinitely_without_a_warning():
    """Hypothesis found it (calls = 2.2e-309 an hour): the shares overflowed in the sum, outside the guard."""
    import warnings

    from strategy.allocation import _Problem, _unit_cost
    from strategy.capacity import Usage

    usage = Usage(
        pattern=np.zeros((1, 1), dtype=np.int64),
        amounts=np.array([[1.0, 1.0]]),
        capacity=np.array([1e-308, 1e-308]),  # each share finite (1e308), their sum not
        resources=("call@08", "call@09"),
    )
    empty = np.zeros(1, dtype=np.int64)
    problem = _Problem(empty, empty, empty, np.ones(1), empty, empty, empty, np.zeros(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(_unit_cost(problem, usage)).all()
