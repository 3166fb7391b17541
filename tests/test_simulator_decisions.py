"""The decision log of the logging policy: every decision, its exact probability, and exploration everywhere."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from simulator_data import small_params

from core.schema import CHANNELS, OFFERS
from simulator import Simulation
from simulator.policies import BusinessAsUsual, Decisions

FLOOR = 2e-5


class Spy(BusinessAsUsual):
    """Business as usual that keeps what it was shown and what it decided (the engine's view of it)."""

    def __init__(self, sim: Simulation) -> None:
        p = sim.config.params
        super().__init__(sim.config.seed, p.bau_exploration, p.bau_floor, sim.config.compliance)
        self.shown: list[pd.DataFrame] = []
        self.sample: list[pd.DataFrame] = []  # a few days' whole states, for the distribution tests

    def decide(self, day: pd.Timestamp, states: pd.DataFrame) -> Decisions:
        decisions = super().decide(day, states)
        keep = ["account_id", "borrower_id", "days_past_due", "balance", "promise_pending", "local_weekday"]
        self.shown.append(
            states[keep].assign(
                local_date=pd.Timestamp(day), channel=decisions.channel, propensity=decisions.propensity
            )
        )
        if len(self.sample) < 4 and len(states) > 40 and pd.Timestamp(day).day in (3, 10, 17, 24):
            self.sample.append(states.copy())
        return decisions


@lru_cache(maxsize=1)
def _run() -> tuple[Spy, dict[str, pd.DataFrame]]:
    sim = Simulation.from_params(small_params(seed=11, accounts=900, cycles=5, burn_in_cycles=1))
    spy = Spy(sim)
    tables = sim.run(spy, record=True).tables()
    return spy, tables


def _shown() -> pd.DataFrame:
    spy, _ = _run()
    return pd.concat(spy.shown, ignore_index=True)


def test_every_account_shown_each_day_has_one_decision_with_its_logged_probability():
    spy, tables = _run()
    decisions = tables["decisions"]
    shown = _shown()
    logged = decisions.set_index(["account_id", "local_date"]).sort_index()
    assert logged.index.is_unique
    assert len(decisions) == len(shown) > 5_000
    expected = shown.set_index(["account_id", "local_date"]).sort_index()
    assert logged.index.equals(expected.index)
    np.testing.assert_allclose(logged["propensity"].to_numpy(), expected["propensity"].to_numpy())
    action = np.where(expected["channel"] >= 0, np.asarray(CHANNELS, dtype=object)[expected["channel"]], "none")
    assert (logged["action"].to_numpy() == action).all()
    assert set(decisions["policy"]) == {"business_as_usual"}


def test_made_decisions_are_the_contacts_and_carry_their_offer():
    _, tables = _run()
    decisions, contacts = tables["decisions"], tables["contacts"]
    made = decisions[decisions["contact_id"].notna()]
    assert len(made) == len(contacts) == (decisions["action"] != "none").sum()
    assert decisions["refusal"].isna().all()  # business as usual knows the hours: nothing refused
    joined = made.merge(contacts, on="contact_id", suffixes=("", "_c"))
    assert (joined["account_id"] == joined["account_id_c"]).all()
    assert (joined["action"] == joined["channel"]).all() and (joined["offer"] == joined["offer_c"]).all()
    np.testing.assert_allclose(joined["propensity"], joined["propensity_c"])
    assert decisions.loc[decisions["action"] == "none", "local_hour"].isna().all()
    assert set(contacts["offer"]) == set(OFFERS)


def test_propensities_sum_to_one_over_each_borrowers_actions_and_match_the_distribution():
    spy, _ = _run()
    for states in spy.sample:
        dist = spy.distribution(states)
        for b in np.unique(dist.borrower)[:150]:
            rows = np.flatnonzero(dist.borrower == b)
            total = sum(dist.joint(r).sum() for r in rows) + dist.none_of_borrower(rows[0])
            assert total == pytest.approx(1.0, abs=1e-9)
        decided = spy.decide(pd.Timestamp("2024-03-03"), states)  # any day: the draws differ, not the law
        for r in range(0, len(states), 7):
            joint = dist.joint(r)
            c = decided.channel[r]
            expected = 1 - joint.sum() if c < 0 else joint[c, decided.hour[r], decided.offer[r]]
            assert decided.propensity[r] == pytest.approx(expected, rel=1e-9)
            allowed = joint[dist.allowed[r]][:, dist.hours_ok[r]]
            if allowed.size:
                assert allowed.min() >= FLOOR * (1 - 1e-9)  # the floor, for every allowed combination


def test_empirical_action_frequencies_match_the_logged_probabilities():
    """Redraw one day's decisions under 300 seeds: the counts of each channel, hour and offer, and of no
    contact, agree with the sums of the exact probabilities (5 binomial standard deviations)."""
    spy, _ = _run()
    states = spy.sample[0]
    dist = spy.distribution(states)
    n_seeds = 300
    seen_channel, seen_hour, seen_offer = np.zeros(len(CHANNELS) + 1), np.zeros(24), np.zeros(len(OFFERS))
    for seed in range(n_seeds):
        d = BusinessAsUsual(seed, spy.exploration, spy.floor, spy.rules.params).decide(
            pd.Timestamp("2024-03-03"), states
        )
        seen_channel += np.bincount(d.channel + 1, minlength=len(CHANNELS) + 1)
        seen_hour += np.bincount(d.hour[d.channel >= 0], minlength=24)
        seen_offer += np.bincount(d.offer[d.channel >= 0], minlength=len(OFFERS))
    joints = np.stack([dist.joint(r) for r in range(len(states))])  # (n, C, 24, O)
    expected_channel = n_seeds * np.concatenate([[len(states) - joints.sum()], joints.sum(axis=(0, 2, 3))])
    expected_hour = n_seeds * joints.sum(axis=(0, 1, 3))
    expected_offer = n_seeds * joints.sum(axis=(0, 1, 2))
    for seen, expected in ((seen_channel, expected_channel), (seen_hour, expected_hour), (seen_offer, expected_offer)):
        assert np.all(np.abs(seen - expected) <= 5 * np.sqrt(expected) + 3), (seen, expected)
    assert seen_channel[1 + CHANNELS.index("field_visit")] > 0


def test_every_logged_propensity_is_at_least_the_floor():
    _, tables = _run()
    assert tables["decisions"]["propensity"].min() >= FLOOR * (1 - 1e-9)
    assert (tables["decisions"]["propensity"] <= 1).all()


def test_exploration_reaches_sundays_pending_promises_and_field_visits_outside_the_rule():
    shown = _shown()
    contact = shown["channel"] >= 0
    assert (contact & (shown["local_weekday"] == 6)).sum() > 0
    assert (contact & shown["promise_pending"]).sum() > 0
    visit = shown["channel"] == CHANNELS.index("field_visit")
    outside_rule = (shown["days_past_due"] < 60) | (shown["balance"] < BusinessAsUsual.FIELD_VISIT_MIN_BALANCE)
    assert (visit & outside_rule).sum() > 0
    hours = _run()[1]["decisions"].dropna(subset=["local_hour"]).groupby("action")["local_hour"].nunique()
    assert hours["sms"] >= 10 and hours["letter"] >= 10  # not only the lender's windows (09-12, 10:00)


def test_a_contact_the_rulebook_refuses_is_logged_with_its_reason_and_makes_no_contact():
    class AtNight(BusinessAsUsual):
        def decide(self, day: pd.Timestamp, states: pd.DataFrame) -> Decisions:
            d = super().decide(day, states)
            return Decisions(d.account_id, d.channel, np.where(d.channel >= 0, 3, -1), d.offer, d.propensity)

    sim = Simulation.from_params(small_params(seed=5, accounts=300, cycles=3, burn_in_cycles=1))
    tables = sim.run(AtNight(sim.config.seed), record=True).tables()
    decisions = tables["decisions"]
    wanted = decisions["action"] != "none"
    assert wanted.sum() > 0 and len(tables["contacts"]) == 0
    assert (decisions.loc[wanted, "refusal"] == "outside_hours").all()
    assert decisions["contact_id"].isna().all() and decisions.loc[~wanted, "refusal"].isna().all()


def test_a_replay_builds_no_decision_log():
    sim = Simulation.from_params(small_params(seed=5, accounts=300, cycles=3, burn_in_cycles=1))
    run = sim.run(record=False)
    assert len(run.recorder.decisions) == 0
