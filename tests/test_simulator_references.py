"""The reference policies: the truth-greedy oracle's model is the world's, its budget is business as usual's,
and every reference handles the pre-delinquent rows (a bill due within Mechanics.pre_delinquency_days) as
documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulator_data import small_params

from core.schema import CHANNELS
from simulator import Simulation, policies, response
from simulator.config import SimConfig
from simulator.references import SimpleRule


def _sim(accounts: int = 1500, cycles: int = 4, seed: int = 21) -> Simulation:
    return Simulation.from_params(small_params(seed=seed, accounts=accounts, cycles=cycles, burn_in_cycles=1))


class _Spy:
    """Wraps a policy: keeps what it was shown and what it answered."""

    def __init__(self, policy):
        self.policy = policy
        self.name = policies.policy_name(policy)
        self.wants_truth = getattr(policy, "wants_truth", False)
        self.days: list[tuple[pd.DataFrame, pd.DataFrame]] = []

    def __call__(self, day, states):
        actions = self.policy(day, states)
        self.days.append((states, actions))
        return actions


@pytest.fixture(scope="module")
def oracle_days():
    sim = _sim()
    spy = _Spy(policies.Oracle.for_config(sim.config))
    outcome = sim.replay(spy)
    return spy.days, outcome


def test_oracle_budget_is_business_as_usual_contact_rate():
    """BUDGET (contacts per account shown a day) is BAU's rate on the logged book's world (seeds.world, the default
    24 cycles; 0.226 on the default 40,000 accounts): measured again on a smaller book."""
    sim = Simulation.from_params(small_params(seed=0, accounts=2000, cycles=24, burn_in_cycles=3))
    bau = sim.business_as_usual()
    shown = contacted = 0

    def counted(day, states):
        nonlocal shown, contacted
        actions = bau(day, states)
        shown += len(states)
        contacted += len(actions)
        return actions

    sim.replay(counted)
    rate = contacted / shown
    assert abs(rate - policies.Oracle.BUDGET) < 0.1 * policies.Oracle.BUDGET, rate


def test_oracle_stays_within_budget_and_the_rules(oracle_days):
    days, outcome = oracle_days
    assert sum(len(a) for _, a in days) > 100
    for states, actions in days:
        assert len(actions) <= np.floor(policies.Oracle.BUDGET * len(states) + 0.5)
        shown = states.set_index("account_id")
        assert shown.loc[actions["account_id"], "borrower_id"].is_unique  # one contact per borrower
        for c in CHANNELS:
            mine = actions.loc[actions["channel"] == c, "account_id"]
            assert shown.loc[mine, f"can_{c}"].all()
    assert sum(outcome.refused.values()) == 0
    assert outcome.contacts["legal"] == 0


def test_oracle_reminds_only_bills_that_would_be_missed(oracle_days):
    """On a bill not yet due the only value is a rescued miss: the oracle reminds only where the truth says the
    bill is going to be missed (and not all of them: a reminder must be worth its price)."""
    days, _ = oracle_days
    reminded = missed = 0
    for states, actions in days:
        s = states.set_index("account_id").loc[actions["account_id"]]
        pre = s["pre_delinquent"].to_numpy()
        assert s["truth_will_miss"].to_numpy()[pre].all()
        reminded += int(pre.sum())
        missed += int(states["truth_will_miss"].sum())
    assert 0 < reminded <= missed


def test_oracle_prices_with_the_world_probabilities():
    """The response model the oracle prices with is the one the world draws from: calls at the borrower's best
    hour reach the right party as often as response.p_answer x (1 - p_wrong_party) predicts (within 4 sd)."""
    sim = _sim(accounts=3000, cycles=3)
    m = sim.config.mechanics
    predicted: list[float] = []

    def call_all(day, states):
        rows = policies.first_per_borrower(states, states["can_call"].to_numpy(dtype=bool))
        s = states.iloc[rows]
        hour = s["truth_best_call_hour"].to_numpy().astype(np.int64).clip(8, 20)
        ch = np.full(len(s), CHANNELS.index("call"))
        p = response.p_answer(
            m, ch, hour, int(s["local_weekday"].iloc[0]), s["truth_reach_type"].to_numpy(), s["truth_answer_rate"]
        )
        p = p * (1 - response.p_wrong_party(ch, s["truth_wrong_number"].to_numpy()))
        predicted.extend(np.asarray(p).tolist())
        return policies.actions_frame(s["account_id"].to_numpy(), ch, hour)

    call_all.wants_truth = True
    out = sim.replay(call_all)
    p = np.array(predicted)
    assert out.contacts["call"] == len(p) > 2000
    sd = np.sqrt((p * (1 - p)).sum())
    assert abs(out.conversations["call"] - p.sum()) < 4 * sd, (out.conversations["call"], p.sum())


def test_references_handle_pre_delinquent_rows():
    """Contact everyone reminds every bill due soon; the simple rule sends one SMS (else e-mail) the day before
    the due date; business as usual reminds the day before with its documented probability."""
    sim = _sim(accounts=1000, cycles=3)
    spies = {p.name: _Spy(p) for p in (policies.ContactEveryone(), SimpleRule(), sim.business_as_usual())}
    for spy in spies.values():
        sim.replay(spy)
    for name, spy in spies.items():
        pre_rows = pre_contacts = 0
        for states, actions in spy.days:
            pre = states.set_index("account_id")["pre_delinquent"]
            hit = pre.loc[actions["account_id"]].to_numpy()
            pre_rows += int(pre.sum())
            pre_contacts += int(hit.sum())
            if name == "simple_rule":
                s = states.set_index("account_id").loc[actions["account_id"][hit]]
                assert (s["days_to_due"] == 1).all()
                assert set(actions["channel"][hit].astype(str)) <= {"sms", "email"}
                assert (actions["hour"][hit] == 10).all()
        assert pre_rows > 100 and pre_contacts > 0, name
        if name == "contact_everyone":
            assert pre_contacts > 0.8 * pre_rows  # all but the second account of a borrower, or no channel


def test_business_as_usual_reminder_probability():
    """A pre-delinquent account the day before its due date (not Sunday) wishes a reminder with probability
    REMINDER; on the other days only the off-cadence exploration touches it."""
    bau = policies.BusinessAsUsual(exploration=0.1)
    states = pd.DataFrame(
        {
            "account_id": [1, 2],
            "borrower_id": [1, 2],
            "region": pd.Categorical(["US-NY", "US-NY"]),
            "days_past_due": [0, 0],
            "charged_off": [False, False],
            "local_weekday": [2, 2],
            "days_since_contact": [30, 30],
            "promise_pending": [False, False],
            "pre_delinquent": [True, True],
            "days_to_due": [1, 2],
            "balance": [1000.0, 1000.0],
            **{f"can_{c}": [c in ("sms", "email"), c in ("sms", "email")] for c in CHANNELS},
        }
    )
    wish = bau._factors(states)["wish"]
    assert wish[0] == policies.BusinessAsUsual.REMINDER
    assert wish[1] == pytest.approx(0.1 * policies.BusinessAsUsual.OFF_CADENCE)


def test_oracle_built_from_a_config_uses_its_prices():
    sim = _sim(accounts=300, cycles=3)
    cheap = sim.config.contact.model_copy(update={"channel_cost": dict.fromkeys(CHANNELS, 0.0)})
    dear = sim.config.contact.model_copy(update={"channel_cost": dict.fromkeys(CHANNELS, 1e6)})
    states = []

    def keep(day, s):
        states.append(s)

    keep.wants_truth = True
    sim.replay(keep)
    frame = next(s for s in states if len(s) > 20)
    for contact, expect_contacts in ((cheap, True), (dear, False)):
        config = SimConfig(sim.config.seed, sim.config.params, sim.config.buckets, contact, sim.config.mechanics)
        actions = policies.Oracle.for_config(config)(pd.Timestamp("2024-02-01"), frame)
        assert (len(actions) > 0) == expect_contacts
