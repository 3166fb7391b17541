"""The CN segment of the simulated book is held to the CN profile by the world, and its records order correctly.

Asia/Shanghai is UTC+8: a local day's contacts (08:00-22:00) fall on 00:00-14:00 UTC, so restriction
changes are stamped in the night before (14:00-23:59 UTC of the previous date) and payments on their UTC
date after the previous local day's contacts (core.compliance.clock).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulator_data import small_params

from core.compliance.clock import ClockError, zone_clock
from core.params import ParamsError, parse_params
from simulator import Simulation
from simulator.policies import actions_frame

SHANGHAI = "Asia/Shanghai"


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    params = small_params(seed=5, accounts=1200, cycles=6, timezone_mix={"America/Chicago": 0.5, SHANGHAI: 0.5})
    return Simulation.from_params(params).run(record=True).tables()


def _local(instants: pd.Series, zone: str) -> pd.Series:
    return instants.dt.tz_convert(zone).dt.tz_localize(None)


def _cn(book: dict[str, pd.DataFrame]) -> pd.DataFrame:
    a = book["accounts"]
    return a[a["timezone"] == SHANGHAI]


def test_the_default_book_has_a_cn_segment_on_beijing_time():
    params = parse_params({})
    assert params.simulate.timezone_mix.get(SHANGHAI, 0) > 0
    a = Simulation.from_params(params, accounts=400, cycles=3, burn_in_cycles=0).run(record=True).tables()["accounts"]
    cn = a["region"].str.startswith("CN-")
    assert cn.any() and (~cn).any()
    assert (a.loc[cn, "timezone"] == SHANGHAI).all() and (a.loc[~cn, "region"].str.startswith("US")).all()


def test_no_cn_contact_between_22_and_08_local(book):
    cn = _cn(book)
    c = book["contacts"]
    c = c[c["account_id"].isin(cn["account_id"])]
    assert len(c) > 100
    hour = _local(c["contacted_at"], SHANGHAI).dt.hour
    assert hour.between(8, 21).all()


class _Hammer:
    """Proposes, for every shown account, five calls at 21:00 and one at 22:00 and 07:00 (local)."""

    name = "hammer"

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        ids = states.loc[states["can_call"], "account_id"].to_numpy()
        rep = np.repeat(ids, 7)
        hour = np.tile([21, 21, 21, 21, 21, 22, 7], len(ids))
        return actions_frame(rep, np.full(len(rep), 2), hour)


def test_the_world_refuses_what_the_cn_profile_forbids():
    params = small_params(seed=3, accounts=400, cycles=3, burn_in_cycles=1, timezone_mix={SHANGHAI: 1.0})
    sim = Simulation.from_params(params)
    out = sim.replay(_Hammer())
    calls = out.contacts["call"]
    assert calls > 0
    # 22:00 and 07:00 are outside 08:00-22:00; beyond the first call a day, the house rule (one contact per
    # borrower a day) refuses before the CN caps of 3 conversations and 6 unanswered calls could bind
    assert out.refused["outside_hours"] >= 2 * calls
    assert out.refused["duplicate_borrower"] >= 4 * calls


def test_cn_restrictions_are_stamped_between_local_days_or_just_after_their_contact(book):
    cn = _cn(book)
    r = book["restrictions"]
    r = r[r["borrower_id"].isin(cn["borrower_id"])]
    assert len(r) > 0
    c = book["contacts"].merge(book["accounts"][["account_id", "borrower_id"]], on="account_id")
    after_contact = set(zip(c["borrower_id"], c["contacted_at"] + pd.Timedelta(minutes=1), strict=True))
    for column in ("start_at", "end_at"):
        stamps = r[["borrower_id", column]].dropna()
        stamps = stamps[stamps[column] > c["contacted_at"].min()]  # burn-in contacts are not written
        hour = _local(stamps[column], SHANGHAI).dt.hour
        daytime = hour.between(8, 21)
        # overnight (22:00-07:59 local): binds the next local day's contacts and none of the previous day's
        caused = [(b, s) in after_contact for b, s in zip(stamps["borrower_id"], stamps[column], strict=True)]
        assert (~daytime | np.array(caused, dtype=bool)).all(), column
    starts = _local(r["start_at"], SHANGHAI).dt.hour
    assert (~starts.between(8, 21)).any()  # exogenous starts and ends exist and sit overnight


def test_cn_payments_fall_on_their_utc_date_by_day_and_after_the_contact_that_caused_them(book):
    cn = _cn(book)
    p = book["payments"]
    p = p[p["account_id"].isin(cn["account_id"])]
    assert len(p) > 100
    local = _local(p["paid_at"], SHANGHAI)
    assert local.dt.hour.between(8, 21).all()  # the UTC date's first 14 hours: daytime in Beijing
    c = book["contacts"]
    promised = c[(c["outcome"] == "promise_to_pay") & c["account_id"].isin(cn["account_id"])]
    m = promised.merge(p, on="account_id")
    due = m["paid_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize() == m["promise_date"]
    assert due.any()
    assert (m.loc[due, "paid_at"] > m.loc[due, "contacted_at"]).all()


def test_zone_clock_for_shanghai_and_new_york():
    sh, ny = zone_clock(SHANGHAI, 8, 22), zone_clock("America/New_York", 8, 22)
    assert (sh.restrict_lo, sh.restrict_hi, sh.pay_lo, sh.pay_hi) == (-600, 0, 0, 840)
    assert (ny.restrict_lo, ny.restrict_hi) == (180, 720)  # 22:00 EST the day before .. 08:00 EDT


def test_zones_where_the_ordering_cannot_hold_are_refused():
    with pytest.raises(ClockError):
        zone_clock(SHANGHAI, 0, 24)  # contacts all day: no night left to stamp restriction changes
    profiles = {name: {"first_hour": 0, "end_hour": 24} for name in ("US", "CN")}
    with pytest.raises(ParamsError, match="timezone_mix"):
        parse_params({"compliance": {"profiles": _profiles(profiles)}})
    with pytest.raises(ParamsError, match="timezone_mix"):
        parse_params({"simulate": {"timezone_mix": {"Mars/Olympus": 1.0}}})


def _profiles(changes: dict[str, dict[str, int]]) -> dict[str, dict[str, object]]:
    from core.compliance import ComplianceParams

    base = ComplianceParams().profiles
    return {name: {**base[name].model_dump(), **changes.get(name, {})} for name in base}
