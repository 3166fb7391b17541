"""Replay: the same world under other policies, with common random numbers, and the world's rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from simulator_data import small_params, small_world

from core.schema import CHANNELS
from simulator import STATE_COLUMNS, Simulation, policies


class _Shown:
    """Wraps a policy and remembers every account it was shown."""

    def __init__(self, policy):
        self.policy = policy
        self.name = policies.policy_name(policy)
        self.wants_truth = getattr(policy, "wants_truth", False)
        self.silent = getattr(policy, "silent", False)
        self.ids: set[int] = set()

    def __call__(self, day, states):
        self.ids.update(states["account_id"].tolist())
        return self.policy(day, states)


@pytest.fixture(scope="module")
def runs():
    """Recorded runs of the small world under four policies, with the accounts each was shown."""
    sim = small_world()
    out = {}
    for p in (sim.business_as_usual(), policies.NoContact(), policies.ContactEveryone(), policies.Oracle()):
        spy = _Shown(p)
        run = sim.run(spy, record=True)
        out[spy.name] = (run.outcome, run.tables()["payments"], spy.ids)
    return out


@pytest.fixture(scope="module")
def outcomes(runs):
    return {name: outcome for name, (outcome, _, _) in runs.items()}


def _collected(o) -> float:
    """What net value credits (evaluation/pricing.py): arrears settled, bills a reminder rescued, recoveries."""
    return o.collected_past_due + o.rescued_by_reminder + o.recovered_after_charge_off


def test_contact_everyone_recovers_more_than_no_contact_at_a_price(outcomes):
    """The documented direction: contact raises what is collected and cuts charge-offs, and costs goodwill."""
    everyone, nobody = outcomes["contact_everyone"], outcomes["no_contact"]
    assert nobody.contacts_total == 0 and nobody.contact_cost == 0 and nobody.rescued_by_reminder == 0
    assert _collected(everyone) > _collected(nobody) * 1.02
    assert everyone.amount_paid > nobody.amount_paid
    assert everyone.rescued_by_reminder > 0  # "everyone" includes the bills about to fall due
    assert everyone.charged_off_balance < nobody.charged_off_balance
    assert everyone.charge_offs < nobody.charge_offs
    assert everyone.cease_requests > nobody.cease_requests == 0
    assert everyone.complaints > nobody.complaints == 0
    assert everyone.opt_outs > 0 and everyone.plans_started > 0


def test_targeting_beats_blanket_contact(outcomes):
    oracle, everyone, bau = outcomes["oracle"], outcomes["contact_everyone"], outcomes["business_as_usual"]
    net = {name: _collected(o) - o.contact_cost for name, o in outcomes.items()}
    assert oracle.contact_cost < everyone.contact_cost / 2
    assert oracle.cease_requests < everyone.cease_requests
    assert net["oracle"] > net["business_as_usual"]
    assert net["oracle"] > net["contact_everyone"]
    assert oracle.contacts_total < bau.contacts_total  # within business as usual's budget


def test_common_random_numbers_only_the_policy_differs(runs):
    """Payments of accounts never shown to a policy are identical under every policy (a reminder before the
    due date is a contact too, so accounts that were only ever current can differ once shown)."""
    shown = set().union(*(ids for _, _, ids in runs.values()))
    kept = {}
    for name, (_, payments, _) in runs.items():
        rows = payments[~payments["account_id"].isin(shown)].drop(columns="payment_id")
        rows = rows.sort_values(["account_id", "paid_at"])
        kept[name] = rows.reset_index(drop=True)
    assert len(kept["no_contact"]) > 100  # autopay accounts mostly: bills paid before they are ever due soon
    for name, frame in kept.items():
        pd.testing.assert_frame_equal(frame, kept["no_contact"], obj=name)


def test_replaying_business_as_usual_reproduces_the_logged_run(outcomes):
    sim = small_world()
    logged = sim.run(record=True)
    replayed = sim.replay(sim.business_as_usual())
    assert logged.outcome.as_dict() == replayed.as_dict()
    assert logged.outcome.as_dict() | {"policy": "x"} == outcomes["business_as_usual"].as_dict() | {"policy": "x"}
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


def test_policy_sees_public_state_of_accounts_in_arrears_or_about_to_be_only():
    spy = _Recorder(lambda day, s: None)
    _sim().replay(spy)
    frames = [f for f in spy.seen if len(f)]
    assert frames
    for f in frames[:5]:
        assert tuple(f.columns) == STATE_COLUMNS
        pre = f["pre_delinquent"]
        assert ((f["days_past_due"] > 0) | f["charged_off"] | pre).all()
        assert (f.loc[pre, "days_past_due"] == 0).all() and f.loc[pre, "days_to_due"].between(0, 2).all()
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
