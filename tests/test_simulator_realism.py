"""The simulated book has the shapes of a real one (DOMAIN.md): roll rates, cures, paydays, history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulator_data import small_params
from sklearn.metrics import roc_auc_score

from core.params import BucketParams
from simulator import Simulation


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    return Simulation.from_params(small_params(seed=21, accounts=3000, cycles=12)).run(record=True).tables()


@pytest.fixture(scope="module")
def transitions(book) -> pd.DataFrame:
    buckets = BucketParams().as_buckets()
    s = book["statements"].sort_values(["account_id", "cycle_date"]).reset_index(drop=True)
    s["bucket"] = buckets.code(s["days_past_due"])
    s["next_bucket"] = s.groupby("account_id")["bucket"].shift(-1)
    s["worst_before"] = s.groupby("account_id")["bucket"].transform(lambda b: b.shift(1).rolling(6, 1).max())
    return s[s["next_bucket"].notna()]


def _roll(t: pd.DataFrame, bucket: int) -> float:
    rows = t[t["bucket"] == bucket]
    return float((rows["next_bucket"] > bucket).mean())


def test_roll_rates_rise_with_the_bucket(transitions):
    rolls = [_roll(transitions, b) for b in range(5)]
    assert 0.01 <= rolls[0] <= 0.08  # a minority of current accounts miss a payment
    assert rolls[1] < rolls[2] < rolls[3] < rolls[4]
    assert rolls[3] > 0.5  # 60+ mostly keep rolling


def test_early_arrears_often_cure(transitions):
    early = transitions[transitions["bucket"] == 1]
    assert (early["next_bucket"] == 0).mean() > 0.35


def test_charge_offs_are_plausible(book):
    charged = book["statements"].query("days_past_due >= 180")["account_id"].nunique()
    assert 0.005 < charged / len(book["accounts"]) < 0.15


def test_history_predicts_beyond_the_current_bucket(transitions):
    """Among current accounts, those delinquent in the last six cycles roll far more often (not Markov)."""
    current = transitions[transitions["bucket"] == 0]
    was_late = current["worst_before"].fillna(0) > 0
    late = (current.loc[was_late, "next_bucket"] > 0).mean()
    clean = (current.loc[~was_late, "next_bucket"] > 0).mean()
    assert late > 2.5 * clean


def test_origination_score_ranks_risk_like_an_application_score(book):
    """Lower scores go 60+ days late more often, with the partial power of a real score (not the truth)."""
    acc = book["accounts"].set_index("account_id")
    score = acc["origination_score"]
    assert score.notna().all() and score.between(300, 850).all() and (score == score.round()).all()
    s = book["statements"].sort_values(["account_id", "cycle_date"])
    clean_start = s.groupby("account_id")["days_past_due"].first() == 0
    bad = (s.groupby("account_id")["days_past_due"].max() >= 60)[clean_start]
    gini = 2 * roc_auc_score(bad, -score.loc[bad.index]) - 1
    assert 0.3 < gini < 0.65


def test_payments_cluster_just_after_paydays(book):
    """Most paydays are Fridays (weekly, bi-weekly) or fixed days of the month; manual payments follow them."""
    p = book["payments"]
    manual = p[p["method"].isin(["bank_transfer", "card", "cash"])]
    weekday = manual["paid_at"].dt.day_of_week.value_counts(normalize=True)
    assert weekday[[4, 5, 6]].sum() > 0.5  # Friday to Sunday
    debit = p[p["method"] == "direct_debit"]["paid_at"].dt.day_of_week.value_counts(normalize=True)
    assert debit.max() < 0.2  # direct debits fall on due dates, any weekday
    day = manual["paid_at"].dt.day.value_counts(normalize=True)
    assert day[15] > 2 / 31  # the mid-month payday


def test_contact_outcomes_have_realistic_rates(book):
    c = book["contacts"]
    calls = c[c["channel"] == "call"]["outcome"].value_counts(normalize=True)
    spoke = (
        calls.reindex(["right_party_contact", "promise_to_pay", "refused", "dispute_raised", "cease_request"])
        .fillna(0)
        .sum()
    )
    assert 0.05 < spoke < 0.4  # calls reach the right party a small fraction of the time
    sms = c[c["channel"] == "sms"]["outcome"].value_counts(normalize=True)
    assert sms.get("not_delivered", 0) < 0.15


# --- issue 13: the rates operations report, and the mechanisms behind them ------------------------------------

CONVERSATIONS = ["right_party_contact", "promise_to_pay", "refused", "dispute_raised", "cease_request"]


@pytest.fixture(scope="module")
def default_book() -> tuple[dict[str, pd.DataFrame], Simulation]:
    """A small book of the default shape (default mixes and mechanics, 2,500 accounts, 8 cycles)."""
    from core.params import parse_params

    sim = Simulation.from_params(parse_params({"simulate": {"accounts": 2500, "cycles": 8, "burn_in_cycles": 2}}))
    return sim.run(record=True).tables(), sim


def _local_hour(contacts: pd.DataFrame, accounts: pd.DataFrame) -> pd.Series:
    zone = contacts["account_id"].map(accounts.set_index("account_id")["timezone"])
    hour = pd.Series(-1, index=contacts.index)
    for z in zone.unique():
        rows = zone == z
        hour[rows] = contacts.loc[rows, "contacted_at"].dt.tz_convert(z).dt.hour
    return hour


def test_right_party_contacts_per_call_attempt_are_in_the_operations_range(default_book):
    """Single digits to low teens in percent per attempt, higher in the evening (17:00-20:59) than by day."""
    t, _ = default_book
    calls = t["contacts"][t["contacts"]["channel"] == "call"]
    rpc = calls["outcome"].isin(CONVERSATIONS)
    hour = _local_hour(calls, t["accounts"])
    assert 0.05 <= rpc.mean() <= 0.14
    assert rpc[hour.between(17, 20)].mean() > 1.3 * rpc[hour.between(9, 16)].mean()


def test_promises_are_kept_30_to_60_percent(default_book):
    """A promise is kept when the account pays at least the promised amount by the promised date."""
    t, _ = default_book
    c, p = t["contacts"], t["payments"]
    prom = c[(c["outcome"] == "promise_to_pay") & (c["channel"] != "agency")]
    prom = prom[prom["promise_date"] < p["paid_at"].max().tz_localize(None).normalize()]
    m = prom[["contact_id", "account_id", "contacted_at", "promise_date", "promise_amount"]].merge(p, on="account_id")
    day = m["paid_at"].dt.tz_localize(None).dt.normalize()
    m = m[(m["paid_at"] > m["contacted_at"]) & (day <= m["promise_date"])]
    paid = m.groupby("contact_id")["amount"].sum().reindex(prom["contact_id"], fill_value=0.0)
    kept = paid.to_numpy() >= prom["promise_amount"].to_numpy() - 0.01
    assert len(prom) > 100
    assert 0.30 <= kept.mean() <= 0.60


def test_early_delinquency_mostly_self_cures(default_book):
    """Of accounts 1-29 days past due at a cycle end, 50-80% are current at the next one."""
    t, _ = default_book
    s = t["statements"].sort_values(["account_id", "cycle_date"])
    nxt = s.groupby("account_id")["days_past_due"].shift(-1)
    early = s["days_past_due"].between(1, 29) & nxt.notna()
    assert 0.50 <= (nxt[early] == 0).mean() <= 0.80


def test_self_cure_borrowers_do_not_have_the_lowest_scores(default_book):
    """Able but forgetful: the bureau's score ranks them above hardship and won't-pay borrowers."""
    t, sim = default_book
    traits = sim.latent_traits().set_index("account_id")
    score = t["accounts"].set_index("account_id")["origination_score"]
    by_segment = score.groupby(traits["segment"], observed=True).mean()
    assert by_segment["self_cure"] > by_segment["hardship"] and by_segment["self_cure"] > by_segment["wont_pay"]
    assert by_segment["self_cure"] >= by_segment["normal"] - 10


class _Send:
    """Contacts every shown account it may on one channel at one local hour, with an offer; optionally only
    pre-delinquent or only delinquent accounts; records the states it saw."""

    def __init__(self, channel: str, hour: int, offer: str = "none", rows: str = "delinquent") -> None:
        self.channel, self.hour, self.offer, self.rows, self.name = channel, hour, offer, rows, f"{channel}@{hour}"
        self.seen: list[pd.DataFrame] = []
        self.days: list[pd.Timestamp] = []

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        from simulator.policies import first_per_borrower

        self.seen.append(states)
        self.days.append(pd.Timestamp(day))
        pre = states["pre_delinquent"].to_numpy(dtype=bool)
        mask = states[f"can_{self.channel}"].to_numpy(dtype=bool) & (pre if self.rows == "pre" else ~pre)
        mask &= self.rows != "none"
        rows = first_per_borrower(states, mask)
        return pd.DataFrame(
            {
                "account_id": states["account_id"].to_numpy()[rows],
                "channel": self.channel,
                "hour": self.hour,
                "offer": self.offer,
            }
        )


def _world(seed: int = 4, accounts: int = 800, **mix: object) -> Simulation:
    return Simulation.from_params(small_params(seed=seed, accounts=accounts, cycles=4, burn_in_cycles=1, **mix))


def test_the_hour_an_sms_arrives_changes_whether_it_is_read():
    sim = _world()
    early = sim.run(_Send("sms", 8), record=True).tables()["contacts"]
    late = sim.run(_Send("sms", 20), record=True).tables()["contacts"]
    read = [(c.loc[c["channel"] == "sms", "outcome"] == "opened").mean() for c in (early, late)]
    assert read[0] > 1.4 * read[1]  # read before work vs. buried under the night's messages


def test_contact_just_before_payday_works_better_than_mid_cycle():
    import dataclasses

    from simulator.config import Mechanics, SimConfig

    params = small_params(seed=4, accounts=800, cycles=4, burn_in_cycles=1)
    flat = dataclasses.replace(Mechanics(), payday_contact_gain=1.0)
    with_payday = Simulation(SimConfig.from_params(params)).replay(_Send("sms", 9))
    without = Simulation(SimConfig.from_params(params, mechanics=flat)).replay(_Send("sms", 9))
    assert with_payday.amount_recovered > without.amount_recovered


def test_wont_pay_borrowers_move_with_escalation_not_reminders():
    sim = _world(segment_mix={"wont_pay": 1.0})
    base = sim.replay(_Send("sms", 9, rows="none"))
    sms, letter = sim.replay(_Send("sms", 9)), sim.replay(_Send("letter", 10))
    assert letter.amount_recovered - base.amount_recovered > 3 * abs(sms.amount_recovered - base.amount_recovered)


def test_hardship_borrowers_take_plans_when_offered():
    sim = _world(segment_mix={"hardship": 1.0})
    offered, not_offered = sim.replay(_Send("call", 18, offer="plan")), sim.replay(_Send("call", 18))
    assert offered.plans_started > 1.2 * not_offered.plans_started  # plans need 15+ days past due, once a year


def test_a_settlement_trades_amount_for_probability():
    sim = _world(segment_mix={"normal": 1.0})
    plain = sim.run(_Send("call", 18), record=True).tables()["contacts"]
    settle = sim.run(_Send("call", 18, offer="settlement"), record=True).tables()["contacts"]
    rpc = [c[c["outcome"].isin(CONVERSATIONS)] for c in (plain, settle)]
    rate = [(r["outcome"] == "promise_to_pay").mean() for r in rpc]
    amount = [r["promise_amount"].mean() for r in rpc]
    assert rate[1] > rate[0] and amount[1] < amount[0]


def test_reminders_before_the_due_date_prevent_forgotten_misses():
    import dataclasses

    from simulator.config import Mechanics, SimConfig

    params = small_params(seed=4, accounts=800, cycles=4, burn_in_cycles=1, segment_mix={"self_cure": 1.0})
    on = dataclasses.replace(Mechanics(), pre_delinquency_days=2)
    sim = Simulation(SimConfig.from_params(params, mechanics=on))
    policy = _Send("sms", 9, rows="pre")
    reminded = sim.run(policy, record=True).tables()["statements"]
    silent = sim.run(_Send("sms", 9, rows="none"), record=True).tables()["statements"]
    assert any(s["pre_delinquent"].any() for s in policy.seen)
    late = [(s["days_past_due"] > 0).mean() for s in (reminded, silent)]
    assert late[0] < 0.85 * late[1]


def _seen_and_logged(channel: str, hour: int) -> tuple[pd.DataFrame, pd.Timestamp, pd.DataFrame, pd.DataFrame]:
    policy = _Send(channel, hour)
    t = _world(accounts=600).run(policy, record=True).tables()
    c = t["contacts"].merge(t["accounts"][["account_id", "timezone"]], on="account_id")
    local = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns]")
    for z in c["timezone"].unique():
        rows = c["timezone"] == z
        local[rows] = c.loc[rows, "contacted_at"].dt.tz_convert(z).dt.tz_localize(None)
    return policy.seen[-1], policy.days[-1].normalize(), c.assign(day=local.dt.normalize(), hour=local.dt.hour), t


def test_observable_engagement_columns_agree_with_the_contacts_table():
    """emails_opened_90d, last_answer_hour and months_on_book are what the tables say."""
    states, day, c, t = _seen_and_logged("email", 8)
    window = c[(c["day"] < day) & (c["day"] > day - pd.Timedelta(days=90))]
    opened = window[(window["outcome"] == "opened") & (window["channel"] == "email")].groupby("account_id").size()
    expected = opened.reindex(states["account_id"], fill_value=0).clip(upper=6).to_numpy()
    assert (states["emails_opened_90d"].to_numpy() == expected).all()
    assert expected.sum() > 0
    opened_on = t["accounts"].set_index("account_id")["open_date"].reindex(states["account_id"])
    months = ((day - opened_on).dt.days.clip(lower=0) / 30.44).astype(int).to_numpy()
    assert (states["months_on_book"].to_numpy() == months).all()
    states, day, c, _ = _seen_and_logged("call", 19)
    talks = c[(c["day"] < day) & (c["channel"] == "call") & c["outcome"].isin(CONVERSATIONS)]
    last = talks.sort_values("contacted_at").groupby("account_id")["hour"].last()
    logged = last.reindex(states["account_id"]).to_numpy()
    has = ~np.isnan(logged)  # the others talked last during the burn-in (not written) or never
    assert has.any() and (states["last_answer_hour"].to_numpy()[has] == logged[has]).all()
