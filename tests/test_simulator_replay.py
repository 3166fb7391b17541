"""Replay: the same world under other policies, with common random numbers, and the world's rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from simulator_data import small_params, small_world

from core.schema import CHANNELS
from simulator import STATE_COLUMNS, Simulation, policies


@pytest.fixture(scope="module")
def outcomes():
    sim = small_world()
    return {
        p.name: sim.replay(p)
        for p in (sim.business_as_usual(), policies.NoContact(), policies.ContactEveryone(), policies.Oracle())
    }


def test_contact_everyone_recovers_more_than_no_contact_at_a_price(outcomes):
    """The documented direction: contact raises recovery and cuts charge-offs, and costs goodwill."""
    everyone, nobody = outcomes["contact_everyone"], outcomes["no_contact"]
    assert nobody.contacts_total == 0 and nobody.contact_cost == 0
    assert everyone.amount_recovered > nobody.amount_recovered * 1.02
    assert everyone.charged_off_balance < nobody.charged_off_balance
    assert everyone.charge_offs < nobody.charge_offs
    assert everyone.cease_requests > nobody.cease_requests == 0
    assert everyone.complaints > nobody.complaints == 0
    assert everyone.opt_outs > 0 and everyone.plans_started > 0


def test_targeting_beats_blanket_contact(outcomes):
    oracle, everyone, bau = outcomes["oracle"], outcomes["contact_everyone"], outcomes["business_as_usual"]
    assert oracle.contact_cost < everyone.contact_cost / 2
    assert oracle.cease_requests < everyone.cease_requests
    assert oracle.net_recovery > bau.net_recovery
    assert oracle.net_recovery > everyone.net_recovery


def test_common_random_numbers_only_the_policy_differs(outcomes):
    """Payments of accounts that never fall into arrears do not depend on the policy at all."""
    outside = {name: round(o.amount_paid - o.amount_recovered, 2) for name, o in outcomes.items()}
    assert len(set(outside.values())) == 1, outside


def test_replaying_business_as_usual_reproduces_the_logged_run(outcomes):
    sim = small_world()
    logged = sim.run(record=True)
    assert logged.outcome.as_dict() == outcomes["business_as_usual"].as_dict()
    contacts = logged.tables()["contacts"]
    assert len(contacts) == outcomes["business_as_usual"].contacts_total
    assert contacts["channel"].value_counts().to_dict() == {
        k: v for k, v in outcomes["business_as_usual"].contacts.items() if v
    }


class _Recorder:
    """A policy that records what it was shown and returns scripted actions."""

    def __init__(self, make):
        self.make = make
        self.seen: list[pd.DataFrame] = []

    def __call__(self, day, states):
        self.seen.append(states)
        return self.make(day, states)


def _sim(**kw) -> Simulation:
    return Simulation.from_params(small_params(seed=11, accounts=300, cycles=3, burn_in_cycles=1, **kw))


def test_policy_sees_public_state_of_accounts_in_arrears_only():
    spy = _Recorder(lambda day, s: None)
    _sim().replay(spy)
    frames = [f for f in spy.seen if len(f)]
    assert frames
    for f in frames[:5]:
        assert tuple(f.columns) == STATE_COLUMNS
        assert ((f["days_past_due"] > 0) | f["charged_off"]).all()
        assert not any(c.startswith("truth_") for c in f.columns)
    spy.wants_truth = True
    _sim().replay(spy)
    assert any(c.startswith("truth_") for c in spy.seen[-1].columns)


def test_non_compliant_actions_are_refused_and_counted():
    def reckless(day, s):
        n = len(s)
        ids = s["account_id"].to_numpy()
        return pd.DataFrame(
            {
                "account_id": np.concatenate([ids, ids, ids, [10**9]]),
                "channel": ["sms"] * n + ["pigeon"] * n + ["call"] * n + ["sms"],
                "hour": [10] * n + [10] * n + [22] * n + [10],
            }
        )

    spy = _Recorder(reckless)
    out = _sim().replay(spy)
    shown = [f for f in spy.seen if len(f)]
    may_text = [f[f["can_sms"]] for f in shown]
    assert out.refused["unknown_account"] == len(spy.seen)
    assert out.refused["unknown_channel"] == sum(len(f) for f in shown)
    assert out.refused["outside_hours"] == sum(len(f) for f in shown)
    assert out.refused["channel_not_allowed"] == sum(int((~f["can_sms"]).sum()) for f in shown) > 0
    texted = sum(f["borrower_id"].nunique() for f in may_text)
    assert out.contacts == {c: (texted if c == "sms" else 0) for c in CHANNELS}
    assert out.refused["duplicate_borrower"] == sum(len(f) for f in may_text) - texted


def test_policy_start_lets_business_as_usual_run_until_then():
    sim = _sim()
    start = date(2024, 3, 1)
    out = sim.replay(policies.NoContact(), policy_start=start)
    assert (out.by_cycle["cycle_date"] > pd.Timestamp(start)).all()
    assert out.contacts_total == 0
    full = sim.replay(policies.NoContact())
    assert len(full.by_cycle) > len(out.by_cycle)


def test_actions_frame_accepts_plain_strings():
    sim = _sim()
    coded = sim.replay(policies.ContactEveryone())

    def plain(day, s):
        a = policies.ContactEveryone()(day, s)
        return a.assign(channel=a["channel"].astype(str))

    assert sim.replay(plain).as_dict() | {"policy": "x"} == coded.as_dict() | {"policy": "x"}
    assert set(CHANNELS) >= set(coded.contacts)
