"""Invariants of the simulated data: the rules validation enforces, and the causal bookkeeping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulator_data import small_tables

from core.schema import TABLES

BLOCKING = {
    "do_not_contact",
    "cease_communication",
    "dispute",
    "bankruptcy",
    "deceased",
    "third_party_only",
    "hardship_plan",
}
CONVERSATIONS = {"right_party_contact", "promise_to_pay", "refused", "dispute_raised", "cease_request"}


@pytest.fixture(scope="module")
def t() -> dict[str, pd.DataFrame]:
    return small_tables()


def _utc_date(values: pd.Series) -> pd.Series:
    return values.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()


def _local(contacts: pd.DataFrame, accounts: pd.DataFrame) -> pd.Series:
    """Local wall-clock time of each contact (naive)."""
    zone = contacts["account_id"].map(accounts.set_index("account_id")["timezone"])
    out = pd.Series(pd.NaT, index=contacts.index, dtype="datetime64[ns]")
    for z in zone.unique():
        rows = zone == z
        out[rows] = contacts.loc[rows, "contacted_at"].dt.tz_convert(z).dt.tz_localize(None)
    return out


def _cycle_windows(statements: pd.DataFrame) -> pd.DataFrame:
    s = statements.sort_values(["account_id", "cycle_date"]).reset_index(drop=True)
    s["prev_cycle"] = s.groupby("account_id")["cycle_date"].shift(1)
    s["prev_dpd"] = s.groupby("account_id")["days_past_due"].shift(1)
    return s


def _paid_in_window(s: pd.DataFrame, payments: pd.DataFrame) -> pd.Series:
    paid = pd.DataFrame(
        {"account_id": payments["account_id"], "day": _utc_date(payments["paid_at"]), "amount": payments["amount"]}
    ).sort_values("day")
    keys = s[["account_id", "cycle_date"]].assign(row=np.arange(len(s))).sort_values("cycle_date")
    matched = pd.merge_asof(paid, keys, left_on="day", right_on="cycle_date", by="account_id", direction="forward")
    sums = matched.dropna(subset=["row"]).groupby("row")["amount"].sum()
    return pd.Series(0.0, index=range(len(s))).add(sums.rename(index=int), fill_value=0.0)


def _charge_off_dates(statements: pd.DataFrame) -> pd.Series:
    return statements[statements["days_past_due"] >= 180].groupby("account_id")["cycle_date"].min()


def test_keys_unique_and_references_resolve(t):
    for name, spec in TABLES.items():
        assert not t[name].duplicated(list(spec.key)).any(), name
    ids = set(t["accounts"]["account_id"])
    for name in ("statements", "payments", "contacts"):
        assert set(t[name]["account_id"]) <= ids
    r = t["restrictions"]
    owner = r["account_id"].map(t["accounts"].set_index("account_id")["borrower_id"])
    assert (owner.isna() | (owner == r["borrower_id"])).all()
    assert set(r["borrower_id"]) <= set(t["accounts"]["borrower_id"])


def test_amounts_and_days_are_non_negative_and_consistent(t):
    s = t["statements"]
    for col in ("balance", "amount_due", "past_due_amount", "amount_paid", "days_past_due"):
        assert (s[col] >= 0).all(), col
    assert (s["past_due_amount"] <= s["balance"] + 0.01).all()
    assert (s["amount_due"] >= s["past_due_amount"] - 0.01).all()
    assert (t["payments"]["amount"] > 0).all()
    current = s["days_past_due"] == 0
    assert (s.loc[current, "past_due_amount"] <= 0.01).all()
    assert (s.loc[~current, "past_due_amount"] > 0).all()


def test_no_record_before_open_date(t):
    opened = t["accounts"].set_index("account_id")["open_date"]
    for name, col in (("statements", "cycle_date"), ("payments", "paid_at"), ("contacts", "contacted_at")):
        frame = t[name]
        when = frame[col] if col == "cycle_date" else _utc_date(frame[col])
        assert (when >= frame["account_id"].map(opened)).all(), name
    r = t["restrictions"]
    first_open = t["accounts"].groupby("borrower_id")["open_date"].min()
    assert (_utc_date(r["start_at"]) >= r["borrower_id"].map(first_open)).all()
    ended = r["end_at"].notna()
    assert (r.loc[ended, "end_at"] > r.loc[ended, "start_at"]).all()


def test_amount_paid_is_the_sum_of_the_cycle_payments(t):
    s = _cycle_windows(t["statements"])
    got = _paid_in_window(s, t["payments"])
    assert np.allclose(s["amount_paid"].to_numpy(), got.to_numpy(), atol=0.005)
    # every payment lands in some statement window
    assert abs(got.sum() - t["payments"]["amount"].sum()) < 0.01 * len(t["payments"])


def test_days_past_due_follow_the_payments(t):
    """DPD grows by exactly the days elapsed unless a payment (or a hardship re-ageing) came in."""
    s = _cycle_windows(t["statements"])
    paid = _paid_in_window(s, t["payments"]).to_numpy() > 0
    plans = t["restrictions"].query("kind == 'hardship_plan'")
    plan_day = pd.DataFrame({"account_id": plans["account_id"].astype("int64"), "day": _utc_date(plans["start_at"])})
    keys = s[["account_id", "cycle_date"]].assign(row=np.arange(len(s))).sort_values("cycle_date")
    hit = pd.merge_asof(
        plan_day.sort_values("day"), keys, left_on="day", right_on="cycle_date", by="account_id", direction="forward"
    ).dropna(subset=["row"])
    re_aged = np.zeros(len(s), dtype=bool)
    re_aged[hit["row"].astype(int).to_numpy()] = True
    gap = (s["cycle_date"] - s["prev_cycle"]).dt.days.to_numpy()
    prev, dpd = s["prev_dpd"].to_numpy(), s["days_past_due"].to_numpy()
    seen = ~np.isnan(prev)
    assert (dpd[seen] <= prev[seen] + gap[seen]).all()
    quiet = seen & (prev > 0) & ~paid & ~re_aged
    assert quiet.sum() > 50
    assert (dpd[quiet] == prev[quiet] + gap[quiet]).all()
    fell = seen & (dpd < prev)
    assert fell.sum() > 20
    assert (paid[fell] | re_aged[fell]).all()
    first = ~seen
    opened = s["account_id"].map(t["accounts"].set_index("account_id")["open_date"])
    assert (dpd[first] <= (s["cycle_date"] - opened).dt.days.to_numpy()[first]).all()


def test_charge_off_is_absorbing_and_only_the_agency_collects_after_it(t):
    s = _cycle_windows(t["statements"])
    co = _charge_off_dates(t["statements"])
    assert len(co) > 5
    after = s["cycle_date"] > s["account_id"].map(co)
    assert ((s.loc[after, "days_past_due"] >= 180) | (s.loc[after, "balance"] == 0)).all()
    p = t["payments"]
    late = _utc_date(p["paid_at"]) > p["account_id"].map(co)
    assert (p.loc[late, "method"] == "agency").all()
    assert (p.loc[~late, "method"] != "agency").all()


def test_contacts_only_on_allowed_channels_within_hours(t):
    c, a, r = t["contacts"], t["accounts"], t["restrictions"]
    local = _local(c, a)
    acc = a.set_index("account_id")
    # the profile of the borrower's region: US (Regulation F) 08:00-21:00, CN (GB/T 45251-2025) 08:00-22:00
    cn = c["account_id"].map(acc["region"]).str.startswith("CN")
    assert cn.any() and (~cn).any()  # the default book has both profiles
    assert local[~cn].dt.hour.between(8, 20).all() and local[cn].dt.hour.between(8, 21).all()
    for ch in ("sms", "email", "call"):
        assert acc.loc[c.loc[c["channel"] == ch, "account_id"], f"consent_{ch}"].all(), ch
    # no contact while a restriction covering it is in force
    c2 = c.assign(borrower_id=c["account_id"].map(acc["borrower_id"]))
    m = c2.merge(r, on="borrower_id", suffixes=("", "_r"))
    covers = m["account_id_r"].isna() | (m["account_id_r"] == m["account_id"])
    live = (m["start_at"] < m["contacted_at"]) & (m["end_at"].isna() | (m["end_at"] > m["contacted_at"]))
    blocks = m["kind"].isin(BLOCKING) | ((m["kind"] == "channel_opt_out") & (m["channel_r"] == m["channel"]))
    assert not (covers & live & blocks).any()
    assert (covers & ~live & blocks).any()  # restrictions do exist around contacts: the check has teeth
    # the agency works charged-off accounts only, the lender's channels the others
    # (accounts charged off inside the written window: a first statement already past 180 days hides the date)
    st = t["statements"]
    first_dpd = st.sort_values("cycle_date").groupby("account_id")["days_past_due"].first()
    co = c["account_id"].map(_charge_off_dates(st))
    known = c["account_id"].map(first_dpd < 180).fillna(True).astype(bool)
    after = local.dt.normalize() > co
    assert (c.loc[after & known, "channel"] == "agency").all()
    assert (c.loc[~after.fillna(False) & known, "channel"] != "agency").all()


def test_contact_frequency_rules(t):
    c, a = t["contacts"], t["accounts"]
    local_day = _local(c, a).dt.normalize()
    borrower = c["account_id"].map(a.set_index("account_id")["borrower_id"])
    assert not pd.DataFrame({"b": borrower, "d": local_day}).duplicated().any()
    us = c["account_id"].map(a.set_index("account_id")["region"]).str.startswith("US")
    # US only: no call within 7 days after a telephone conversation (12 CFR 1006.14(b)(2)); CN has no such rule
    calls = c.assign(day=local_day)[(c["channel"] == "call") & us].sort_values(["account_id", "contacted_at"])
    talked = calls["outcome"].isin(CONVERSATIONS)
    last_talk = calls["day"].where(talked).groupby(calls["account_id"]).shift(1)
    last_talk = last_talk.groupby(calls["account_id"]).ffill()
    assert ((calls["day"] - last_talk).dt.days.dropna() > 7).all()


def test_contact_outcomes_are_logged_with_their_consequences(t):
    c, r = t["contacts"], t["restrictions"]
    promised = c["outcome"] == "promise_to_pay"
    assert promised.any()
    assert c.loc[promised, ["promise_amount", "promise_date"]].notna().all().all()
    assert c.loc[~promised, ["promise_amount", "promise_date"]].isna().all().all()
    assert (
        c.loc[promised, "promise_date"] > c.loc[promised, "contacted_at"].dt.tz_localize(None) - pd.Timedelta(days=1)
    ).all()
    assert c["propensity"].between(0, 1, inclusive="right").all()
    borrower = c["account_id"].map(t["accounts"].set_index("account_id")["borrower_id"])
    for outcome, kind, by in (
        ("cease_request", "cease_communication", "borrower_id"),
        ("dispute_raised", "dispute", "account_id"),
    ):
        rows = c[c["outcome"] == outcome].assign(borrower_id=borrower)
        assert len(rows), outcome
        started = r[r["kind"] == kind]
        m = rows.merge(started, on=by, suffixes=("", "_r"))
        gap = (m["start_at"] - m["contacted_at"]).dt.total_seconds()
        assert set(rows["contact_id"]) == set(m.loc[gap.between(0, 120), "contact_id"]), outcome
