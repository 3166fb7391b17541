"""Status-coded histories (issue 12): bands, the source's timing and account states in the DPD rules.

Genuine events of monthly-status books (a roll across February, a skipped bucket, no balance to
30+ days late, a write-off after a skipped status, a cure paid the month before) pass; impossible
ones (DPD growing faster than time with exact days, several bands in one month) are still caught.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adapters import monthly_status
from core.params import parse_params
from core.schema import LEFT_BOOK_STATUSES
from simulator.status_book import GENUINE, IMPOSSIBLE, judged, planted_status_book
from tests.validation_fixtures import shared_gx_root  # noqa: F401 (a fixture)
from validation import business
from validation.engine import validate_tables

BANDS = (0, 1, 30, 60, 90, 120, 150)  # the public monthly-status card book: 0 = 1-29, ..., 5 = 150+


def _flagged(findings) -> dict[str, list[int]]:
    return {f.rule: f.rows.tolist() for f in findings}


def _months(statuses: list[str], start: str = "2024-01", paid: list[float] | None = None) -> pd.DataFrame:
    """One account's statements from card-book status codes, month ends from `start`."""
    rows = pd.DataFrame(
        {
            "account": 1,
            "month": [str(p) for p in pd.period_range(start, periods=len(statuses), freq="M")],
            "status": statuses,
        }
    )
    out = monthly_status.statements(rows, monthly_status.StatusCoding())
    return out.assign(amount_paid=np.nan if paid is None else paid)


ACCOUNTS = pd.DataFrame({"account_id": [1], "borrower_id": [1], "open_date": [pd.NaT], "timezone": ["UTC"]})


def _rules(statements: pd.DataFrame, bands=BANDS, timing: int = 30, accounts=ACCOUNTS) -> dict[str, list[int]]:
    return _flagged(business.dpd_rules(statements, accounts, None, bands, timing))


@pytest.mark.parametrize(
    ("name", "statuses", "start"),
    [
        ("one-bucket roll across February (28 days)", ["0", "1"], "2023-01"),
        ("one-bucket roll across a leap February", ["0", "1"], "2024-01"),
        ("skipped bucket across February", ["0", "2"], "2023-01"),
        ("no balance to 30+ days late across February", ["X", "1"], "2023-01"),
        ("paid off to 30+ days late", ["C", "1"], "2023-03"),
        ("write-off after a skipped status", ["3", "5"], "2023-01"),
        ("cured by paying off", ["3", "C"], "2023-05"),
    ],
)
def test_genuine_status_events_pass(name, statuses, start):
    assert _rules(_months(statuses, start)) == {}, name


def test_the_same_events_read_as_exact_days_were_quarantined():
    """Without the declared bands and timing, lower ends of bands read as exact days break dpd_growth."""
    assert _rules(_months(["0", "1"], "2023-01"), bands=None, timing=0) == {"dpd_growth": [1]}
    assert _rules(_months(["X", "1"], "2023-01"), bands=None, timing=0) == {"dpd_growth": [1]}
    assert _rules(_months(["0", "2"], "2023-07"), bands=None, timing=0) == {"dpd_growth": [1]}


@pytest.mark.parametrize(
    ("statuses", "row"),
    [
        (["X", "3", "X"], 1),  # no balance, then 90-119 days late a month later
        (["0", "4", "0"], 1),  # 1-29, then 120-149 days late: three bands in one month
        (["C", "C", "3"], 2),
    ],
)
def test_several_bands_in_one_month_are_caught(statuses, row):
    assert _rules(_months(statuses, "2023-06")) == {"dpd_growth": [row]}


def test_exact_days_growing_faster_than_time_are_caught():
    st = pd.DataFrame(
        {
            "account_id": 1,
            "cycle_date": pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"]),
            "days_past_due": [10, 40, 72],  # +30 in 29 days, then +32 in 31 days
            "amount_paid": 0.0,
        }
    )
    assert _rules(st, bands=None, timing=0) == {"dpd_growth": [1, 2]}
    st.loc[1, "days_past_due"] = 39
    assert _rules(st, bands=None, timing=0) == {"dpd_growth": [2]}


def test_a_cure_paid_the_month_before_a_monthly_status_passes():
    """UCI: PAY_AMT of a month pays the previous bill, and the status shows it a month later."""
    st = _months(["0", "1", "0"], "2005-05", paid=[0.0, 500.0, 0.0])  # paid in June, back to 1-29 in July
    assert _rules(st, timing=0) == {"dpd_cure": [2]}
    assert _rules(st, timing=30) == {}
    st["amount_paid"] = 0.0  # no payment at all: still a fall without a cause
    assert _rules(st, timing=30) == {"dpd_cure": [2]}


def test_a_fall_to_a_lower_band_needs_a_cause():
    st = _months(["2", "1"], "2024-03", paid=[0.0, 0.0])  # 60-89, then 30-59 days late: certainly fell
    assert _rules(st) == {"dpd_cure": [1]}
    st.loc[0, "amount_paid"] = 80.0  # a payment in the earlier cycle, after its status may have been taken
    assert _rules(st) == {}
    assert _rules(_months(["5", "5", "5"], "2024-03", paid=[0.0] * 3)) == {}, "an open-ended band never falls to itself"


def test_band_tops():
    tops = business.band_top(np.array([0, 1, 30, 150, 400, np.nan]), BANDS)
    np.testing.assert_array_equal(tops, [0, 29, 59, np.inf, np.inf, np.nan])
    np.testing.assert_array_equal(business.band_top(np.array([3.0, 45.0]), None), [3.0, 45.0])


def test_dpd_off_the_declared_bands_is_quarantined():
    from core.schema import TABLES

    st = pd.DataFrame({"days_past_due": pd.array([0, 15, 30, None], dtype="Int64")})
    [found] = business.dpd_band(TABLES["statements"], st, BANDS)
    assert found.rows.tolist() == [1] and found.reason == "dpd_band:days_past_due"
    assert business.dpd_band(TABLES["statements"], st, None) == []


def test_a_quiet_status_owes_nothing():
    st = pd.DataFrame(
        {
            "status": ["inactive", "paid_off", "closed", "active", None, "paid_off", "written_off"],
            "days_past_due": [0, 0, 30, 30, 30, 0, 200],
            "balance": [0.0, np.nan, 0.0, 10.0, 10.0, 12.0, 50.0],
            "amount_due": 0.0,
            "past_due_amount": 0.0,
        }
    )
    [found] = business.status_owes_nothing(st)
    assert found.rows.tolist() == [2, 5] and found.reason == "status_owes_nothing:status"


def _book(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return monthly_status.to_canonical(rows)


def test_the_planted_status_book_loses_no_genuine_event_and_catches_every_impossible_one(shared_gx_root):
    book = planted_status_book(accounts=300)
    coding = monthly_status.StatusCoding()
    params = parse_params({"validate": {"dpd_bands": list(coding.validate_bands()), "dpd_timing_days": 30}})
    out = validate_tables(_book(book.rows), params.validate_, shared_gx_root)
    quarantined = out.quarantined["statements"]
    assert set(quarantined["reason"]) == {"dpd_growth:days_past_due"}
    events = judged(book, quarantined)
    assert set(events["kind"]) == set(GENUINE) | set(IMPOSSIBLE)
    genuine = events["genuine"].to_numpy()
    assert not events.loc[genuine, "quarantined"].any(), "a genuine event was quarantined"
    assert events.loc[~genuine, "quarantined"].all(), "an impossible event went through"
    assert len(quarantined) == (~genuine).sum(), "nothing but the impossible events is quarantined"


# ------------------------------------------------------------------ the walk against the rules, row by row


def _rules_by_hand(statements, accounts, bands, tol) -> dict[str, list[int]]:
    """dpd_growth and dpd_cure as their docs say, one row at a time (bands, timing, statuses)."""
    top = dict(zip(bands, [*(b - 1 for b in bands[1:]), np.inf], strict=True)) if bands else None
    opened = accounts.set_index("account_id")["open_date"]
    grew, fell = [], []
    for account, rows in statements.sort_values(["account_id", "cycle_date"], kind="stable").groupby("account_id"):
        kept = None
        for i, row in rows.iterrows():
            hi = top[row.days_past_due] if top else row.days_past_due
            if kept is None:
                since = (row.cycle_date - opened[account]).days if pd.notna(opened[account]) else np.inf
                bad_growth = row.days_past_due > since + tol
                bad_cure = False
            else:
                ref = rows.loc[kept]
                ref_hi = top[ref.days_past_due] if top else ref.days_past_due
                bad_growth = row.days_past_due > ref_hi + (row.cycle_date - ref.cycle_date).days + tol
                window = rows[(rows["cycle_date"] > ref.cycle_date - pd.Timedelta(days=tol))].loc[:i]
                caused = (~(window["amount_paid"] <= 0)).any() or (window["status"] == "paid_off").any()
                bad_cure = hi < ref.days_past_due and not caused
            bad_growth = bad_growth and row.status != "written_off"
            if bad_growth:
                grew.append(i)
            if bad_cure:
                fell.append(i)
            if not (bad_growth or bad_cure):
                kept = i
    return {rule: sorted(rows) for rule, rows in (("dpd_growth", grew), ("dpd_cure", fell)) if rows}


@pytest.mark.parametrize(("seed", "bands", "tol"), [(0, BANDS, 30), (1, BANDS, 0), (2, None, 30), (3, None, 0)])
def test_the_vectorised_walk_equals_the_rules_row_by_row(seed, bands, tol, monkeypatch):
    rng = np.random.default_rng(seed)
    lengths = np.r_[rng.integers(1, 20, 80), 300]
    ids = np.arange(len(lengths)) + 1
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "borrower_id": ids,
            "open_date": pd.Series(pd.Timestamp("2019-06-01"), index=ids).where(rng.random(len(ids)) < 0.5).values,
            "timezone": "UTC",
        }
    )
    account = np.repeat(ids, lengths)
    month = np.concatenate([np.cumsum(1 + (rng.random(n) < 0.15)) for n in lengths])  # monthly, a few gaps
    values = np.asarray(bands if bands else (0, 1, 15, 30, 45, 60, 90, 120, 150, 200))
    status = rng.choice(["active", "written_off", "paid_off", None, None], len(account), p=[0.3, 0.1, 0.1, 0.3, 0.2])
    statements = (
        pd.DataFrame(
            {
                "account_id": account,
                "cycle_date": pd.period_range("2020-01", periods=800, freq="M")[month]
                .to_timestamp(how="end")
                .normalize(),
                "amount_paid": rng.choice([0.0, 10.0, np.nan], len(account), p=[0.75, 0.2, 0.05]),
                "days_past_due": values[np.minimum(rng.geometric(0.3, len(account)) - 1, len(values) - 1)],
                "status": status,
            }
        )
        .sample(frac=1, random_state=seed)
        .reset_index(drop=True)
    )
    expected = _rules_by_hand(statements, accounts, bands, tol)
    assert len(expected.get("dpd_growth", [])) > 20 and len(expected.get("dpd_cure", [])) > 20
    got = _flagged(business.dpd_rules(statements, accounts, None, bands, tol))
    assert got == expected
    for few in (0, 10**9):  # the walk all in numpy, all in plain Python
        monkeypatch.setattr(business, "_FEW_ACCOUNTS", few)
        assert _flagged(business.dpd_rules(statements, accounts, None, bands, tol)) == expected


def test_left_book_statuses_are_the_closures():
    assert set(LEFT_BOOK_STATUSES) == {"paid_off", "closed", "written_off"}
