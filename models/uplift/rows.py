"""Decision rows: one per logged decision, with the features a policy sees that morning and the response.

The greedy policy runs in the evaluation harness's policy process and sees only the public state
frame (simulator.observe.STATE_COLUMNS). The model therefore learns on the features both sides can
compute the same way: from the logged tables as of the decision's local morning (`decided_at`: nothing
of that day), and from the state frame at serving time (`state_features`). Where the tables know
less than the state frame, the approximation is named here and in docs/uplift.md:

* days past due: the last statement's days past due plus the days since its cycle end (an account
  current at the statement and shown now: half the days since, at least 1);
* past due amount: the last statement's, or its amount due when it was current then;
* charged off: the statement's status `written_off`, or days past due at or past the last bucket's
  lower edge (`buckets.min_dpd`);
* shown before the due date (a reminder row): the log does not say so; a row is taken as one when the
  account was current at its last statement and is within the first `uplift.pre_delinquency_days` + 1
  days it is shown after that statement (the lender shows current accounts that many days before the
  due date); its response counts only payments after the due day (before it, the bill is not past due);
* allowed channels: consent and charged-off status (opt-outs, cease requests and the call cap are
  not read from the log).

Response: payments of the account within `response_days` days of `decided_at`, capped at what was
due at the last statement less what was paid since (the harness credits only collections on
delinquent balances; the balance once charged off), times 1 - the agency's contingency share for
charged-off accounts; for a reminder row only payments after the due day count. `paid` is whether
anything was paid then. `reward_day` is the same on the decision's own day only: summed over the log
it is the book's collections (within 5% of the simulator's collected past due on a test book).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.params import Params
from features.events import keys as _keys
from features.events import last_before as _last_before
from features.events import minutes as _minutes
from features.events import window_sum as _window_sum
from models.uplift.arms import arm_codes

FEATURES = (
    "days_past_due",
    "charged_off",
    "past_due_amount",
    "balance",
    "instalment_amount",
    "product",
    "region_cn",
    "consent_sms",
    "consent_email",
    "consent_call",
    "months_on_book",
    "contacts_7d",
    "days_since_contact",
    "days_since_payment",
    "promise_pending",
    "pre_delinquent",
    "weekday_type",
)
NEVER = 9999
PRODUCTS = ("instalment", "revolving", "bnpl")


def weekday_type(weekday: np.ndarray, params: Params) -> np.ndarray:
    """Index of each weekday (0 = Monday) in `uplift.weekday_types`."""
    lookup = np.zeros(7, dtype=np.int64)
    for i, days in enumerate(params.uplift.weekday_types.values()):
        lookup[list(days)] = i
    return lookup[np.asarray(weekday, dtype=np.int64)]


def decision_rows(tables: dict[str, pd.DataFrame], params: Params) -> pd.DataFrame:
    """Features, arm, logged propensity and response of every logged decision (docs/uplift.md)."""
    d = tables["decisions"]
    acc = d["account_id"].to_numpy(np.int64)
    t = _minutes(d["decided_at"])
    local = d["local_date"].to_numpy("datetime64[D]")
    out = pd.DataFrame({"decision_id": d["decision_id"].to_numpy(), "account_id": acc, "local_date": local})
    out["arm"] = arm_codes(
        d["action"].to_numpy(object),
        d["local_hour"].to_numpy("float64", na_value=np.nan),
        d["offer"].to_numpy(object),
        params.uplift,
    )
    out["action"] = d["action"].to_numpy(object)
    out["local_hour"] = d["local_hour"].fillna(-1).to_numpy(np.int64)
    out["offer"] = d["offer"].to_numpy(object)
    out["propensity"] = d["propensity"].to_numpy(np.float64)

    # the last statement before the decision's local day
    s = tables["statements"].sort_values(["account_id", "cycle_date"])
    s_day = s["cycle_date"].to_numpy("datetime64[D]").astype(np.int64)
    q_day = local.astype(np.int64)
    pos = _last_before(s["account_id"].to_numpy(np.int64), s_day, acc, q_day)
    key = pd.MultiIndex.from_arrays([s["account_id"].to_numpy(np.int64), s_day])
    row = key.get_indexer(pd.MultiIndex.from_arrays([acc, pos]))
    has = row >= 0
    take = np.where(has, row, 0)

    def col(name: str, fill: float = np.nan) -> np.ndarray:
        v = s[name].to_numpy(np.float64, na_value=np.nan)[take] if name in s else np.full(len(acc), fill)
        return np.where(has, v, fill)

    elapsed = np.where(has, q_day - pos, 0)
    dpd = col("days_past_due", 0.0)
    status = s["status"].astype(object).to_numpy()[take] if "status" in s else np.full(len(acc), None)
    # charged off: written off, or past the charge-off bucket's edge (a source without statuses)
    charged = has & ((status == "written_off") | (dpd >= params.buckets.min_dpd[-1]))
    out["days_past_due"] = np.where(dpd > 0, dpd + elapsed, np.maximum(elapsed // 2, 1)).astype(np.float64)
    past_due = col("past_due_amount", 0.0)
    out["past_due_amount"] = np.where(past_due > 0, past_due, col("amount_due", 0.0))
    out["balance"] = col("balance")
    out["charged_off"] = charged
    out.loc[charged, "past_due_amount"] = out.loc[charged, "balance"]

    a = tables["accounts"].set_index("account_id").reindex(acc)
    out["instalment_amount"] = a["instalment_amount"].to_numpy(np.float64, na_value=np.nan)
    out["product"] = pd.Categorical(a["product"].astype(object), categories=PRODUCTS).codes.astype(np.int64)
    out["region_cn"] = a["region"].astype(str).str.startswith("CN").to_numpy()
    for ch in ("sms", "email", "call"):
        out[f"consent_{ch}"] = a[f"consent_{ch}"].to_numpy(bool)
    opened = a["open_date"].to_numpy("datetime64[D]").astype(np.int64) if "open_date" in a else np.full(len(acc), 0)
    out["months_on_book"] = np.floor((q_day - opened) / 30.4375).astype(np.float64)

    c = tables["contacts"]
    c_acc, c_min = c["account_id"].to_numpy(np.int64), _minutes(c["contacted_at"])
    _, n7 = _window_sum(c_acc, c_min, np.ones(len(c)), acc, t - 7 * 1440, t)
    out["contacts_7d"] = n7.astype(np.float64)
    last_c = _last_before(c_acc, c_min, acc, t)
    # calendar days between local days, as the state frame counts them (decided_at is the local midnight,
    # so a contact yesterday at any hour is 1 day ago): the ceiling of the elapsed days
    out["days_since_contact"] = np.where(last_c >= 0, -((last_c - t) // 1440), NEVER).astype(np.float64)

    pay = tables["payments"]
    p_acc, p_min = pay["account_id"].to_numpy(np.int64), _minutes(pay["paid_at"])
    last_p = _last_before(p_acc, p_min, acc, t)
    out["days_since_payment"] = np.where(last_p >= 0, -((last_p - t) // 1440), NEVER).astype(np.float64)
    promised = (c["outcome"] == "promise_to_pay").to_numpy() if "outcome" in c else np.zeros(len(c), bool)
    out["promise_pending"] = False
    if "promise_date" in c and promised.any():
        ptp = c.loc[promised].drop_duplicates(["account_id", "contacted_at"], keep="last")
        ptp_min = _minutes(ptp["contacted_at"])
        last_ptp = _last_before(ptp["account_id"].to_numpy(np.int64), ptp_min, acc, t)
        k = pd.MultiIndex.from_arrays([ptp["account_id"].to_numpy(np.int64), ptp_min])
        at = k.get_indexer(pd.MultiIndex.from_arrays([acc, last_ptp]))
        due = ptp["promise_date"].to_numpy("datetime64[D]").astype(np.int64)
        out["promise_pending"] = (at >= 0) & (np.where(at >= 0, due[np.maximum(at, 0)], -1) >= q_day)
    wd = (local.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3)
    out["weekday_type"] = weekday_type(wd, params)

    # shown before the due date (current at the statement, within the first `pre_delinquency_days` + 1 days the
    # account is shown after it): a payment then settles a bill not yet due; the response starts after the due day
    run = pd.Series(q_day).groupby(_keys(acc, np.where(has, pos, -1))).transform("min").to_numpy()
    pre_days = params.uplift.pre_delinquency_days
    pre = has & (dpd == 0) & ~charged & (q_day - run <= pre_days)
    out["pre_delinquent"] = pre
    horizon = params.uplift.response_days * 1440
    start = np.minimum(np.where(pre, t + (run + pre_days + 1 - q_day) * 1440, t), t + horizon)
    amount, _ = _window_sum(p_acc, p_min, pay["amount"].to_numpy(np.float64), acc, start, t + horizon)
    share = np.where(charged, 1.0 - params.contact.contingency_share, 1.0)
    # what may still be collected on delinquent dues: the statement's amount due (arrears and the bill that falls
    # due in the cycle; the balance once charged off) less what was paid since
    s_min = (pos.astype(np.int64) + 1) * 1440  # the day after the statement, 00:00 UTC
    paid_since, _ = _window_sum(p_acc, p_min, pay["amount"].to_numpy(np.float64), acc, np.where(has, s_min, t), t)
    owed = np.where(charged, out["balance"].to_numpy(np.float64), np.maximum(col("amount_due", 0.0), past_due))
    cap = np.maximum(np.nan_to_num(owed, nan=0.0) - paid_since, 0.0)
    out["paid"] = amount > 0
    out["reward"] = np.minimum(amount, cap) * share
    # the decision's own day: summed over the log it is the book's collections (the level of a policy's value)
    today, _ = _window_sum(p_acc, p_min, pay["amount"].to_numpy(np.float64), acc, np.minimum(start, t + 1440), t + 1440)
    out["reward_day"] = np.minimum(today, cap) * share
    # the response is observed only when the horizon ends before the last payment record could be written
    last_day = tables["statements"]["cycle_date"].max()
    out["observed"] = (t + horizon) <= _minutes(pd.Series([pd.Timestamp(last_day, tz="UTC") + pd.Timedelta(days=1)]))[0]
    return out


def state_features(states: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The model's features from the public state frame (simulator.observe.STATE_COLUMNS), as `decision_rows`."""
    out = pd.DataFrame(index=states.index)
    out["days_past_due"] = states["days_past_due"].to_numpy(np.float64)
    out["charged_off"] = states["charged_off"].to_numpy(bool)
    out["past_due_amount"] = states["past_due_amount"].to_numpy(np.float64)
    out["balance"] = states["balance"].to_numpy(np.float64)
    out["instalment_amount"] = states["instalment_amount"].to_numpy(np.float64)
    out["product"] = pd.Categorical(states["product"].astype(object), categories=PRODUCTS).codes.astype(np.int64)
    out["region_cn"] = states["region"].astype(str).str.startswith("CN").to_numpy()
    for ch in ("sms", "email", "call"):
        out[f"consent_{ch}"] = states[f"consent_{ch}"].to_numpy(bool)
    out["months_on_book"] = states["months_on_book"].to_numpy(np.float64)
    out["contacts_7d"] = states["contacts_7d"].to_numpy(np.float64)
    out["days_since_contact"] = np.minimum(states["days_since_contact"].to_numpy(np.float64), NEVER)
    out["days_since_payment"] = np.minimum(states["days_since_payment"].to_numpy(np.float64), NEVER)
    out["promise_pending"] = states["promise_pending"].to_numpy(bool)
    out["pre_delinquent"] = states["pre_delinquent"].to_numpy(bool) if "pre_delinquent" in states else False
    out["weekday_type"] = weekday_type(states["local_weekday"].to_numpy(np.int64), params)
    return out[list(FEATURES)]


def allowed_from_rows(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Channels a decision row allows, as far as the log tells (consent, charged off)."""
    co = rows["charged_off"].to_numpy(bool)
    return {
        "sms": rows["consent_sms"].to_numpy(bool) & ~co,
        "email": rows["consent_email"].to_numpy(bool) & ~co,
        "call": rows["consent_call"].to_numpy(bool) & ~co,
        "letter": ~co,
        "field_visit": ~co,
        "agency": co,
        "legal": co,
    }


def allowed_from_states(states: pd.DataFrame) -> dict[str, np.ndarray]:
    """Channels the world allows today (`can_<channel>` of the state frame)."""
    return {
        ch: states[f"can_{ch}"].to_numpy(bool)
        for ch in ("sms", "email", "call", "letter", "field_visit", "agency", "legal")
    }


def plan_collections(tables: dict[str, pd.DataFrame]) -> float:
    """Payments made under a hardship plan (a `hardship_plan` restriction in force) on days the account was
    not shown to the policy: agreeing a plan re-ages the arrears, so its instalments repay them, yet an
    account on a plan is current and has no decision rows. Added to the logged book's collections when a
    policy's value is put on the harness's scale (docs/uplift.md)."""
    r = tables.get("restrictions")
    pay = tables["payments"]
    if r is None or r.empty or pay.empty:
        return 0.0
    plans = r[r["kind"] == "hardship_plan"]
    if plans.empty:
        return 0.0
    far = pd.Timestamp.max.tz_localize("UTC")
    merged = pay.merge(plans[["account_id", "start_at", "end_at"]], on="account_id")
    end = merged["end_at"].fillna(far)
    merged = merged[(merged["paid_at"] >= merged["start_at"]) & (merged["paid_at"] < end)]
    merged = merged.drop_duplicates("payment_id") if "payment_id" in merged else merged
    d = tables["decisions"]
    tz = tables["accounts"].set_index("account_id")["timezone"]
    local = [
        ts.tz_convert(zone).tz_localize(None).normalize()
        for ts, zone in zip(merged["paid_at"], tz.reindex(merged["account_id"]).fillna("UTC"), strict=True)
    ]
    shown = pd.MultiIndex.from_arrays([d["account_id"].to_numpy(np.int64), d["local_date"].to_numpy("datetime64[ns]")])
    on_shown = shown.get_indexer(
        pd.MultiIndex.from_arrays([merged["account_id"].to_numpy(np.int64), np.array(local, dtype="datetime64[ns]")])
    )
    return float(merged["amount"].to_numpy(np.float64)[on_shown < 0].sum())
