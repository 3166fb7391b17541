"""The recommended strategy: action values, the reminders' lift, harm rates, the outlook per bucket, the
`recommend` stage on a small simulated book (verified, all or nothing) and the policy the harness replays."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from core.errors import DataError
from core.io import read_tables
from core.params import parse_params
from evaluation.harness import world_config
from models.uplift.arms import arms
from models.uplift.harm import harm_rates
from models.uplift.reminders import fit_reminders, log_facts, reminder_lift
from models.uplift.rows import decision_rows
from models.uplift.store import load_facts, load_reminders
from pipeline.stages import recommend, simulate, uplift
from simulator.engine import Simulation
from strategy import model as strategy_model
from strategy import verify as verifier
from strategy.actions import CONTACT_ACTIONS
from strategy.model import load_model
from strategy.outlook import fit_outlook
from strategy.output import RECOMMENDATION_COLUMNS
from strategy.policy import build
from strategy.recommend import harness_actions, plan
from strategy.values import candidate_arms, candidate_values
from strategy.verify import verify

FAST = {"num_leaves": 7, "min_child_samples": 40, "n_estimators": 40, "early_stopping_rounds": 10, "num_threads": 1}


def _params():
    return parse_params(
        {
            "simulate": {"accounts": 1200, "cycles": 8},
            "uplift": {"valid_days": 30, "test_days": 30, "bootstrap": 20, "lightgbm": FAST},
            "strategy": {"horizon_days": 90},
        }
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small simulated book, its uplift model and the recommend stage's outputs."""
    root = tmp_path_factory.mktemp("strategy")
    params = _params()
    simulate.run(params, root / "raw", metrics_file=None)
    uplift.run(
        params,
        root / "raw",
        metrics_file=root / "metrics" / "uplift.json",
        plots_dir=root / "plots",
        model_dir=root / "models" / "uplift",
        track=False,
        registration_file=root / "models" / "uplift.json",
    )
    out = {
        "in_dir": root / "raw",
        "features_file": None,
        "uplift_dir": root / "models" / "uplift",
        "strategy_dir": root / "models" / "strategy",
        "out_dir": root / "recommendations",
        "metrics_file": root / "metrics" / "recommend.json",
    }
    metrics, recs = recommend.run(params, **out, scores=False)
    return params, out, metrics, recs


# --- the stage -------------------------------------------------------------------------------------------


def test_stage_writes_verified_recommendations_for_the_day_after_the_book(trained):
    params, out, metrics, recs = trained
    name = metrics["run_date"]
    written = pd.read_parquet(out["out_dir"] / f"{name}.parquet")
    assert list(written.columns) == list(RECOMMENDATION_COLUMNS)
    assert len(written) == metrics["accounts"] > 0 and (out["out_dir"] / f"{name}.csv").exists()
    latest = pd.to_datetime(pd.read_parquet(out["in_dir"] / "statements.parquet")["cycle_date"]).max().date()
    assert dt.date.fromisoformat(name) > latest
    assert metrics["violations"] == 0 and metrics["contacts"] == int((written["action"] != "none").sum())
    contact = written[written["action"] != "none"]
    assert len(contact) and (contact["expected_net_value"] > 0).all()
    assert contact["window_start_utc"].notna().all() and (contact["window_start_utc"] < contact["window_end_utc"]).all()
    assert (contact["priority_rank"].sort_values().to_numpy() == np.arange(1, len(contact) + 1)).all()
    assert written["reason_codes"].str.len().gt(0).all()
    assert (written["borrower_id"][written["action"] != "none"].value_counts() <= 1).all()
    assert (out["strategy_dir"] / "strategy.json").exists()


def test_stage_fails_on_a_verifier_violation_and_writes_nothing(trained, tmp_path, monkeypatch):
    params, out, _, _ = trained

    def one_violation(recs, *args, **kwargs):
        return pd.DataFrame({"row": [0], "account_id": [recs["account_id"].iloc[0]], "rule": ["x"], "detail": ["y"]})

    monkeypatch.setattr(verifier, "verify", one_violation)
    target = {
        **out,
        "out_dir": tmp_path / "recs",
        "strategy_dir": tmp_path / "strategy",
        "metrics_file": tmp_path / "m",
    }
    with pytest.raises(DataError, match="break a rule"):
        recommend.run(params, **target, scores=False)
    assert not (tmp_path / "recs").exists() or not any((tmp_path / "recs").iterdir())
    assert not (tmp_path / "strategy").exists() and not (tmp_path / "m").exists()


def test_the_log_facts_come_with_the_uplift_model_and_equal_the_ones_measured_on_the_decision_rows(
    trained, tmp_path, monkeypatch
):
    params, out, metrics, recs = trained
    facts = load_facts(out["uplift_dir"])
    tables = read_tables(out["in_dir"])
    rows = decision_rows(tables, params)
    assert facts == json.loads(json.dumps(log_facts(rows, tables, params)))
    # the stage labels the reminder rows once for both (learn_from_log): the saved model is fit_reminders' own
    saved, refit = load_reminders(out["uplift_dir"]), fit_reminders(rows, tables["statements"], params)
    assert (saved is None) == (refit is None)
    if refit is not None:
        for channel, lift in refit.lift(rows).items():
            np.testing.assert_allclose(saved.lift(rows)[channel], lift)
    assert facts["logged_contact_share"] > 0 and metrics["reminder_lift"] == {
        k: round(v, 6) for k, v in facts["reminder_lift"].items()
    }

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the stage rebuilt the decision rows although the uplift model holds the facts")

    monkeypatch.setattr(strategy_model, "decision_rows", no_rebuild)
    again, recs_again = recommend.run(
        params,
        **{**out, "out_dir": tmp_path / "r", "strategy_dir": tmp_path / "s", "metrics_file": tmp_path / "m"},
        scores=False,
    )
    assert again == metrics
    pd.testing.assert_frame_equal(recs_again, recs)


# --- the policy in the harness ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world_states(trained):
    params = trained[0]
    frames = []

    def capture(day, states):
        if len(frames) < 40:
            frames.append((day, states.copy()))

    Simulation(world_config(params, 101, 800, 3)).replay(capture)
    return frames[-10:]


def test_the_harness_policy_takes_only_allowed_actions_at_allowed_hours(trained, world_states, monkeypatch):
    _, out, _, _ = trained
    policy = build(str(out["uplift_dir"]), str(out["strategy_dir"]))
    model = load_model(out["uplift_dir"], out["strategy_dir"])
    first, end = model.rules.first_hour, model.rules.end_hour
    acted = 0
    for day, states in world_states:
        actions = policy(day, states)
        if actions is None or actions.empty:
            continue
        acted += len(actions)
        rows = states.set_index("account_id").loc[actions["account_id"]]
        assert all(rows[f"can_{c}"].iloc[i] for i, c in enumerate(actions["channel"]))
        profile = np.where(rows["region"].astype(str).str.startswith("CN"), 1, 0)
        assert ((actions["hour"].to_numpy() >= first[profile]) & (actions["hour"].to_numpy() < end[profile])).all()
        assert rows["borrower_id"].is_unique
    assert acted > 0


def test_the_plan_passes_the_independent_verifier_on_the_world_state_frame(trained, world_states):
    _, out, _, _ = trained
    model = load_model(out["uplift_dir"], out["strategy_dir"])
    from strategy.output import recommendations

    for day, states in world_states[-3:]:
        p = plan(states, day.date(), model)
        recs = recommendations(states, day.date(), p.table, p.valuation.value, p.allocation, model.rules)
        assert verify(recs, states, day.date(), model.rules, model.params.strategy).empty
        assert len(harness_actions(states, p, model)) == int((p.allocation.choice >= 0).sum())


def test_myopic_values_are_cash_less_cost_and_harm_and_the_horizon_only_adds_to_contacts(trained, world_states):
    _, out, _, _ = trained
    model = load_model(out["uplift_dir"], out["strategy_dir"])
    day, states = world_states[-1]
    myopic = plan(states, day.date(), model, horizon_weight=0.0)
    full = plan(states, day.date(), model, horizon_weight=1.0)
    pre = states["pre_delinquent"].to_numpy(bool)
    v0, v1 = myopic.valuation.value[~pre], full.valuation.value[~pre]
    both = np.isfinite(v0) & np.isfinite(v1)
    assert both.any()
    horizon = full.valuation.horizon[~pre]
    assert np.allclose(v1[both] - v0[both], horizon[both])


# --- the parts -------------------------------------------------------------------------------------------


def test_candidates_map_to_the_arms_the_log_has_and_nothing_else():
    params = _params()
    table = arms(params.uplift)
    windows = {"morning": (8, 12), "afternoon": (12, 17), "evening": (17, 21), "late": (21, 22)}
    arm_of = candidate_arms(table, windows)
    names = {f"{a.name}@{w}": arm_of[i * 4 + j] for i, a in enumerate(CONTACT_ACTIONS) for j, w in enumerate(windows)}
    assert table[names["sms@morning"]].name == "sms_morning" and table[names["call@evening"]].name == "call_evening"
    assert names["sms@late"] == -1 and names["call@late"] == -1
    assert table[names["plan@evening"]].name == "plan" and names["plan@morning"] == -1
    assert table[names["letter@morning"]].name == "letter" and names["letter@evening"] == -1
    for k, arm in enumerate(arm_of):
        if arm >= 0:  # the arm's own hour lies in the candidate's window
            first, end = list(windows.values())[k % 4]
            assert first <= table[arm].hour < end


def test_candidate_values_add_up_and_respect_what_is_not_allowed():
    table = arms(_params().uplift)
    a = len(table)
    mu = np.tile(np.linspace(1.0, 2.0, a), (2, 1))
    paid = np.tile(np.linspace(0.1, 0.3, a), (2, 1))
    costs = np.full(a, 0.5)
    harm = np.full(7, 0.25)
    arm_of = np.array([1, -1, 2])
    allowed = np.array([[True, True, True], [False, True, True]])
    v = candidate_values(mu, paid, costs, harm, arm_of, np.array([10.0, 0.0]), 2.0, allowed, table)
    expect = (mu[0, 1] - mu[0, 0]) - 0.5 - 0.25 + 2.0 * (paid[0, 1] - paid[0, 0]) * 10.0
    assert v.value[0, 0] == pytest.approx(expect)
    assert np.isnan(v.value[:, 1]).all() and np.isnan(v.value[1, 0])


def test_outlook_counts_rolls_and_collected_shares_by_bucket():
    buckets = _params().buckets.as_buckets()
    day = pd.Timestamp("2025-01-31")
    statements = pd.DataFrame(
        {
            "account_id": [1, 1, 1, 2, 2, 2],
            "cycle_date": [day, day + pd.Timedelta(days=30), day + pd.Timedelta(days=400)] * 2,
            "days_past_due": [0, 5, 35, 5, 0, 0],
            "balance": [100.0, 100.0, 100.0, 200.0, 200.0, 200.0],
        }
    )
    paid_at = [pd.Timestamp("2025-02-05", tz="UTC"), pd.Timestamp("2025-02-10", tz="UTC")]
    payments = pd.DataFrame({"account_id": [1, 2], "paid_at": paid_at, "amount": [80.0, 50.0]})
    o = fit_outlook(statements, payments, buckets, horizon_days=60, max_cycle_days=45)
    assert o.roll_forward[0] == pytest.approx(1.0)  # account 1: current -> 1-29 (the 400-day gap is no transition)
    assert o.roll_forward[1] == pytest.approx(0.0)  # account 2: 1-29 -> current
    assert o.collected_share[1] == pytest.approx(0.25 / 2)  # 1-29 statements: account 2 paid 50 of 200, account 1 0
    assert o.collected_share[0] == pytest.approx(0.8 / 2)  # current: account 1 paid 80 of 100; the last ones censored
    assert o.value(np.array([0]), np.array([1000.0]), np.array([0.5]))[0] == pytest.approx(0.5 * 1.0 * 1000 * 0.275)


def test_harm_rates_attribute_restrictions_to_the_last_contact_within_two_days():
    at = pd.Timestamp("2025-03-01 10:00", tz="UTC")
    tables = {
        "accounts": pd.DataFrame({"account_id": [1, 2, 3], "borrower_id": [10, 20, 30]}),
        "contacts": pd.DataFrame(
            {
                "account_id": [1, 1, 2, 3],
                "contacted_at": [at, at + pd.Timedelta(hours=1), at, at],
                "channel": ["sms", "call", "sms", "email"],
            }
        ),
        "restrictions": pd.DataFrame(
            {
                "borrower_id": [10, 20, 30],
                "kind": ["cease_communication", "channel_opt_out", "cease_communication"],
                "channel": [None, "sms", None],
                "start_at": [at + pd.Timedelta(days=1), at + pd.Timedelta(hours=2), at + pd.Timedelta(days=5)],
            }
        ),
    }
    r = harm_rates(tables)
    assert r.cease["call"] == 1.0 and r.cease["sms"] == 0.0  # borrower 10's last contact was the call
    assert r.cease["email"] == 0.0  # borrower 30's cease came 5 days later: not attributed
    assert r.opt_out["sms"] == 0.5 and r.contacts["sms"] == 2


def test_reminder_lift_recovers_a_planted_effect_with_the_logged_propensities():
    rng = np.random.default_rng(3)
    n = 40_000
    p_sms = np.where(rng.random(n) < 0.5, 0.8, 0.2)  # the logging policy favours sms on half the rows
    took = rng.random(n) < p_sms
    late = rng.random(n) < np.where(took, 0.05, 0.15)  # the reminder cuts misses from 15% to 5%
    day = pd.Timestamp("2025-01-01")
    rows = pd.DataFrame(
        {
            "account_id": np.arange(n),
            "local_date": day,
            "pre_delinquent": True,
            "action": np.where(took, "sms", "none"),
            "offer": "none",
            "propensity": np.where(took, p_sms, 1 - p_sms),
        }
    )
    statements = pd.DataFrame(
        {"account_id": np.arange(n), "cycle_date": day + pd.Timedelta(days=10), "days_past_due": np.where(late, 3, 0)}
    )
    lift = reminder_lift(rows, statements, ("sms", "email"))
    assert lift["sms"] == pytest.approx(0.10, abs=0.01) and "email" not in lift


def test_a_contact_budget_keeps_the_most_valuable_contacts_and_no_more():
    from strategy.allocation import allocate
    from strategy.capacity import Usage, with_contact_budget

    rng = np.random.default_rng(5)
    value = rng.normal(1.0, 1.0, size=(50, 3))
    value[:, 0] = np.abs(value[:, 0])  # every borrower has something worth contacting for
    free = Usage(np.full((50, 3), -1), np.zeros((0, 0)), np.zeros(0), ())
    unlimited = allocate(value, np.arange(50), free, "lp")
    limited = allocate(value, np.arange(50), with_contact_budget(free, 10), "lp")
    best = value.max(axis=1)
    assert (unlimited.choice >= 0).sum() == 50
    chosen = limited.choice >= 0
    assert chosen.sum() == 10
    assert np.sort(value[chosen, limited.choice[chosen]]) == pytest.approx(np.sort(best)[-10:])


def test_policy_keyword_arguments_override_the_saved_strategy_and_are_validated(trained, world_states):
    _, out, _, _ = trained
    day, states = world_states[-1]
    none = build(str(out["uplift_dir"]), str(out["strategy_dir"]), contact_budget=0.0)(day, states)
    assert none is None or none.empty
    with pytest.raises(ValueError, match="contact_budget"):
        build(str(out["uplift_dir"]), str(out["strategy_dir"]), contact_budget=2.0)


def test_the_strategy_contacts_an_account_again_only_after_its_rest_days(trained, world_states):
    from dataclasses import replace

    _, out, _, _ = trained
    model = load_model(out["uplift_dir"], out["strategy_dir"])
    valued = {}
    for rest in (1, 3):
        section = model.params.strategy.model_copy(update={"rest_days": rest, "contact_budget": None})
        rested = replace(model, params=model.params.model_copy(update={"strategy": section}))
        recent, chosen_since = [], []
        for day, shown in world_states:  # half the accounts touched one or two days ago
            states = shown.assign(
                days_since_contact=np.where(
                    np.arange(len(shown)) % 2 == 0, 1 + np.arange(len(shown)) % 4 // 2, shown["days_since_contact"]
                )
            )
            p = plan(states, day.date(), rested)
            since = states["days_since_contact"].to_numpy()
            recent.append(np.isfinite(p.valuation.value[since < 3]).any(axis=1))
            chosen_since.append(since[p.allocation.choice >= 0])
        valued[rest] = np.concatenate(recent)
        if rest == 3:
            assert np.concatenate(chosen_since).min() >= 3
    assert valued[1].size and not valued[3].any()
    assert valued[1].any()  # the shorter cadence values contacts to accounts touched one or two days ago


def _planted_reminder_log(n: int = 30_000, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reminder rows where an sms cuts misses from 30% to 5% for new accounts (months_on_book 1) and does nothing
    for the others (10% either way); e-mail is never logged; the logging policy favours sms on half the rows."""
    from models.uplift.rows import FEATURES

    rng = np.random.default_rng(seed)
    new = rng.random(n) < 0.5
    p_sms = np.where(rng.random(n) < 0.5, 0.7, 0.3)
    took = rng.random(n) < p_sms
    late = rng.random(n) < np.where(new, np.where(took, 0.05, 0.30), 0.10)
    day = pd.Timestamp("2025-01-01")
    rows = pd.DataFrame({c: np.zeros(n) for c in FEATURES})
    rows = rows.assign(
        months_on_book=np.where(new, 1.0, 30.0),
        pre_delinquent=True,
        account_id=np.arange(n),
        local_date=day,
        action=np.where(took, "sms", "none"),
        offer="none",
        propensity=np.where(took, p_sms, 1 - p_sms),
    )
    statements = pd.DataFrame(
        {"account_id": np.arange(n), "cycle_date": day + pd.Timedelta(days=10), "days_past_due": np.where(late, 3, 0)}
    )
    return rows, statements


def test_the_per_borrower_reminder_model_finds_who_a_reminder_helps_and_survives_a_save(tmp_path):
    from models.uplift.store import save

    rows, statements = _planted_reminder_log()
    params = parse_params({})
    model = fit_reminders(rows, statements, params)
    assert model is not None and model.channels == ("sms",)  # e-mail was never logged: no model for it
    lift = model.lift(rows)["sms"]
    new = rows["months_on_book"].to_numpy() == 1.0
    assert lift[new].mean() == pytest.approx(0.25, abs=0.04)
    assert lift[~new].mean() == pytest.approx(0.0, abs=0.03)

    trained_model = fit_reminders(rows, statements, params)  # the same log gives the same model
    assert np.array_equal(trained_model.lift(rows)["sms"], lift)
    from models.uplift.learners import UpliftModel

    save(UpliftModel("t", 1), np.zeros(1), params, tmp_path, {"reminder_lift": {}}, model)
    back = load_reminders(tmp_path)
    assert back is not None and np.array_equal(back.lift(rows)["sms"], lift)
    assert np.array_equal(back.lift(rows.head(0))["sms"], np.zeros(0))
    save(UpliftModel("t", 1), np.zeros(1), params, tmp_path / "without")
    assert load_reminders(tmp_path / "without") is None


def test_too_few_logged_reminders_give_no_per_borrower_model():
    rows, statements = _planted_reminder_log(n=1500)
    assert fit_reminders(rows, statements, parse_params({})) is None  # fewer than MIN_ROWS on either side


def test_the_strategy_reminds_the_rows_its_reminder_model_says_a_reminder_helps(trained, world_states):
    """The plan's reminder values follow the per-borrower lift: a row with no lift is never reminded."""
    from dataclasses import replace

    from models.uplift.reminders import ReminderModel

    _, out, _, _ = trained
    model = load_model(out["uplift_dir"], out["strategy_dir"])

    class HalfHelped(ReminderModel):
        def lift(self, features):
            helped = np.arange(len(features)) % 2 == 0
            return {ch: np.where(helped, 0.5, 0.0) for ch in ("sms", "email")}

    halved = replace(model, reminders=HalfHelped({}))
    reminded = 0
    for day, states in world_states:
        p = plan(states, day.date(), halved)
        pre = states["pre_delinquent"].to_numpy(bool)
        helped = np.zeros(len(states), bool)
        helped[np.flatnonzero(pre)[::2]] = True
        chosen = p.allocation.choice >= 0
        assert not (chosen & pre & ~helped).any()
        reminded += int((chosen & helped).sum())
    assert reminded > 0


def test_the_log_budget_is_what_business_as_usual_would_spend_on_the_accounts_shown(trained, world_states):
    """Each account counts at the log's contact rate for its bucket; a reminder row at the first bucket's."""
    from dataclasses import replace

    from models.uplift.reminders import budget_bucket

    params, out, _, _ = trained
    model = load_model(out["uplift_dir"], out["strategy_dir"])
    buckets = params.buckets.as_buckets()
    assert len(model.context.logged_contact_share_by_bucket) == len(buckets.names)
    rates = tuple(0.05 * (b + 1) for b in range(len(buckets.names)))
    priced = replace(
        model, context=replace(model.context, logged_contact_share=0.5, logged_contact_share_by_bucket=rates)
    )
    _, states = world_states[-1]
    code = budget_bucket(states, buckets)
    pre = states["pre_delinquent"].to_numpy(bool)
    assert (
        pre.any()
        and (code[pre] == 0).all()
        and (code[states["charged_off"].to_numpy(bool) & ~pre] == buckets.charge_off).all()
    )
    margin = params.strategy.log_budget_margin
    assert 0 < margin < 0.05
    assert priced.contact_budget(states) == pytest.approx((1 - margin) * sum(0.05 * (c + 1) for c in code))
    old = replace(model, context=replace(model.context, logged_contact_share=0.5, logged_contact_share_by_bucket=()))
    assert old.contact_budget(states) == pytest.approx((1 - margin) * 0.5 * len(states))  # saved before the buckets
    numbered = replace(
        priced,
        params=priced.params.model_copy(
            update={"strategy": priced.params.strategy.model_copy(update={"contact_budget": 0.1})}
        ),
    )
    assert numbered.contact_budget(states) == pytest.approx(0.1 * len(states))  # a share: no margin
