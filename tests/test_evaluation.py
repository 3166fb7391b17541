"""The evaluation harness: priced outcomes, the actions contract, the policy process, held-out seeds."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.errors import ParamsError
from core.params import ContactParams, parse_params
from core.schema import CHANNELS
from evaluation import PolicyError, RemotePolicy, evaluate, price, wire
from evaluation.actions import ActionsError, validate_actions
from evaluation.harness import held_out_seeds, t_interval, world_config
from evaluation.references import ORACLE_LABEL, REFERENCES
from simulator import STATE_COLUMNS, Simulation
from simulator.outcomes import Outcome, Tally
from simulator.policies import CHANNEL_DTYPE

SMALL = {"simulate": {"accounts": 300, "cycles": 3}, "evaluate": {"seeds": [101, 102]}}


def _outcome() -> Outcome:
    tally = Tally(2, first_day=0)
    tally.amounts["collected_past_due"][1] = 1000.0
    tally.amounts["recovered_after_charge_off"][1] = 200.0
    tally.contacts[1, CHANNELS.index("call")] = 10
    tally.contacts[1, CHANNELS.index("sms")] = 50
    tally.conversations[1, CHANNELS.index("call")] = 3
    for name, n in (("complaints", 1), ("cease_requests", 2), ("opt_outs", 4), ("charge_offs", 1)):
        tally.counts[name][1] = n
    return Outcome.from_tally("p", 10, tally, pd.DatetimeIndex(["2024-01-31", "2024-02-29"]), np.array([0, 30]))


def test_net_value_is_collected_less_outcome_dependent_costs_and_harm():
    contact = ContactParams(
        talk_minutes=4.0,
        talk_cost_per_minute=0.5,
        contingency_share=0.3,
        complaint_price=100.0,
        cease_price=10.0,
        opt_out_price=1.0,
    )
    p = price(_outcome(), contact)
    attempts = 10 * contact.channel_cost["call"] + 50 * contact.channel_cost["sms"]
    talk = 3 * 4.0 * 0.5
    assert p.collected == pytest.approx(1200.0)
    assert p.cost == pytest.approx(attempts + talk + 0.3 * 200.0)
    assert p.harm_cost == pytest.approx(100 + 2 * 10 + 4 * 1)
    assert p.net_value == pytest.approx(1200.0 - attempts - talk - 60.0 - 124.0)
    assert p.contacts == 60 and p.call_rpc_rate == pytest.approx(0.3)
    assert p.contacts_per_1000_collected == pytest.approx(50.0)


def test_collected_counts_only_payments_of_dues_already_past_due():
    """Not the diluted cohort cash: on-time and early instalments are left out, recoveries are separate."""
    sim = Simulation.from_params(parse_params(SMALL))
    o = sim.replay(sim.business_as_usual())
    assert 0 < o.collected_past_due <= o.amount_recovered - o.recovered_after_charge_off + 0.01
    assert o.collected_past_due < 0.5 * o.amount_paid
    assert sum(o.conversations.values()) == o.right_party_contacts
    assert o.conversations["sms"] == o.conversations["email"] == 0


def test_actions_contract_accepts_plain_and_categorical_channels():
    plain = pd.DataFrame({"account_id": [3, 4], "channel": ["call", "sms"], "hour": [18, 10]})
    checked = validate_actions(plain)
    assert checked["channel"].dtype == CHANNEL_DTYPE and checked["propensity"].isna().all()
    cat = plain.assign(channel=pd.Categorical(["call", "sms"]), propensity=[0.5, 1.0])
    assert validate_actions(cat)["channel"].tolist() == ["call", "sms"]
    assert len(validate_actions(None)) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="hour"), "missing"),
        (lambda f: f.assign(truth_segment="normal"), "unknown"),
        (lambda f: f.astype({"account_id": float}), "integers"),
        (lambda f: f.assign(channel=["call", "fax"]), "outside"),
        (lambda f: f.assign(channel=[1, 2]), "strings"),
        (lambda f: f.assign(hour=[18, 25]), "0..23"),
        (lambda f: f.assign(propensity=[0.5, 1.5]), "probability"),
        (lambda f: f.assign(offer=["none", "free_money"]), "outside"),
    ],
)
def test_actions_contract_refuses_what_is_not_an_actions_frame(change, message):
    frame = pd.DataFrame({"account_id": [3, 4], "channel": ["call", "sms"], "hour": [18, 10]})
    with pytest.raises(ActionsError, match=message):
        validate_actions(change(frame))


def test_world_side_never_unpickles_what_the_policy_sends():
    frame = pd.DataFrame({"account_id": [1, 2], "channel": ["call", "sms"], "hour": [9, 10]})
    buffer = io.BytesIO()
    wire.send(buffer, {"ok": True}, frame, trusted=True)  # a pickle body, as only the world may send
    buffer.seek(0)
    with pytest.raises(wire.WireError, match="refused"):
        wire.receive(buffer)
    buffer = io.BytesIO()
    wire.send(buffer, {"ok": True}, frame)
    buffer.seek(0)
    header, back = wire.receive(buffer)
    assert header == {"ok": True} and back.to_dict("list") == frame.to_dict("list")


def test_policy_process_gets_the_public_state_and_the_date_only(tmp_path):
    report = tmp_path / "seen.json"
    sim = Simulation.from_params(parse_params(SMALL))
    with RemotePolicy("tests.evaluation_policies:recorder", {"report": str(report)}) as policy:
        outcome = sim.replay(policy)
    seen = json.loads(report.read_text())
    assert seen["columns"] == list(STATE_COLUMNS)
    assert seen["day"] == "Timestamp" and seen["states"] == "DataFrame"
    assert outcome.contacts_total == 0  # and its prints did not corrupt the protocol


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tests.evaluation_policies:unknown_column", "unknown \\['secret'\\]"),
        ("tests.evaluation_policies:float_ids", "integers"),
        ("tests.evaluation_policies:bad_channel", "carrier_pigeon"),
        ("tests.evaluation_policies:raises", "broke on purpose"),
        ("tests.evaluation_policies:not_a_frame", "DataFrame or None"),
        ("tests.evaluation_policies:no_such_factory", "no_such_factory"),
        ("evaluation.exploits:truth_seeker", "wants_truth"),
    ],
)
def test_policy_out_of_contract_stops_the_evaluation_with_a_clear_error(spec, message):
    sim = Simulation.from_params(parse_params(SMALL))
    with pytest.raises(PolicyError, match=message), RemotePolicy(spec) as policy:
        sim.replay(policy)


def test_a_policy_that_does_not_answer_ends_the_evaluation():
    sim = Simulation.from_params(parse_params(SMALL))
    policy = RemotePolicy("tests.evaluation_policies:sleeps")  # building may take seconds on a loaded machine
    policy.timeout_s = 1.0  # ... but a day's answer may not
    with pytest.raises(PolicyError, match="did not answer within 1 s"), policy:
        sim.replay(policy)


def test_evaluation_worlds_are_held_out():
    with pytest.raises(ParamsError, match="held out"):
        parse_params({"seeds": {"world": 7}, "evaluate": {"seeds": [5, 7]}})
    params = parse_params(SMALL)
    with pytest.raises(PolicyError, match="seeds.world"):
        held_out_seeds(params, (params.seeds.world,))
    assert world_config(params, 101).seed == 101
    a = Simulation(world_config(params, 101)).latent_traits()
    b = Simulation.from_params(params).latent_traits()
    assert not a["segment"].equals(b["segment"]), "new borrowers"


def test_t_interval_over_seeds():
    i = t_interval([1.0, 2.0, 3.0], 0.95)
    half = stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)
    assert (i.mean, i.low, i.high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert t_interval([5.0], 0.95).low == 5.0


def test_evaluate_reports_every_policy_per_seed_the_same_with_one_worker_or_two():
    params = parse_params(SMALL)
    names = ["business_as_usual", "no_contact", "oracle"]
    one = evaluate(params, names, workers=1)
    two = evaluate(params, names, workers=2)
    for name in names:
        assert one.runs[name] == two.runs[name]
    report = one.as_dict()
    assert report["seeds"] == [101, 102]
    assert report["policies"]["oracle"]["label"] == ORACLE_LABEL == REFERENCES["oracle"].label
    assert report["policies"]["business_as_usual"]["gain_vs_bau"]["mean"] == 0.0
    nobody = report["policies"]["no_contact"]
    assert nobody["contacts"] == 0 and nobody["complaints"] == 0
    for figures in report["policies"].values():
        iv = figures["intervals"]["net_value"]
        assert iv["low"] <= iv["mean"] <= iv["high"]
    assert any(ORACLE_LABEL in line for line in one.lines())


def test_stage_writes_its_metrics_and_refuses_the_training_seed(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.stages import evaluate as stage

    metrics, lines = stage.run(parse_params(SMALL), tmp_path / "evaluate.json", policies=["no_contact"], seeds=(5,))
    written = json.loads((tmp_path / "evaluate.json").read_text())
    assert set(written["policies"]) == {"business_as_usual", "no_contact"} == set(metrics["policies"])
    assert "seconds" not in json.dumps(written), "no timings: a forced re-run gives identical metrics"
    assert len(lines) == 4
    import mlflow

    logged = mlflow.search_runs(experiment_names=[stage.EXPERIMENT]).iloc[0]
    assert logged["metrics.no_contact.net_value"] == pytest.approx(metrics["policies"]["no_contact"]["net_value"])
    assert logged["metrics.no_contact.gain_vs_bau"] == pytest.approx(
        metrics["policies"]["no_contact"]["gain_vs_bau"]["mean"]
    )
    assert logged["tags.seeds"] == "5"
    done = CliRunner().invoke(app, ["evaluate", "--seeds", "0", "--metrics-file", str(tmp_path / "x.json")])
    assert done.exit_code == stage.EXIT_POLICY_ERROR and not (tmp_path / "x.json").exists()
