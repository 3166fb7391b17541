"""No leakage: changing, adding or deleting any record dated on or after the as-of date D changes no feature for D.

"Dated" is each table's event time (accounts: open_date). Restrictions that started before D
may also have their end moved anywhere after D: at D they are in force either way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from features_data import TIMEZONES, random_book
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.io import conform
from core.schema import TABLES, table
from features import build_features

DATED_BY = {"accounts": "open_date", **{name: t.event_time for name, t in TABLES.items() if t.event_time}}
ID_COLUMNS = {
    "accounts": "account_id",
    "payments": "payment_id",
    "contacts": "contact_id",
    "restrictions": "restriction_id",
    "decisions": "decision_id",
}


def _random_values(column, n: int, rng: np.random.Generator, as_of: pd.Timestamp) -> list:
    """New values for a non-key column: anything the schema allows; dates and times on or after D."""
    missing = (rng.random(n) < 0.2) if column.nullable else np.zeros(n, dtype=bool)
    kind = column.type
    if column.allowed:
        values = list(rng.choice(column.allowed, n))
    elif column.name == "timezone":
        values = list(rng.choice(TIMEZONES, n))
    elif column.name == "region":
        values = list(rng.choice(["US-CA", "TW"], n))
    elif column.name in ("policy", "refusal"):
        values = list(rng.choice(["business_as_usual", "outside_hours"], n))
    elif kind == "float":
        values = list(np.round(rng.uniform(0, 3000, n), 2))
    elif kind in ("int", "nullable_int", "nullable_id"):
        values = list(rng.integers(1, 400, n))
    elif kind == "bool":
        values = list(rng.random(n) < 0.5)
    elif kind in ("date", "timestamp"):
        # a quarter land exactly on D 00:00, the boundary an off-by-one would leak
        shift = pd.to_timedelta(np.where(rng.random(n) < 0.25, 0, rng.integers(0, 90 * 86_400, n)), unit="s")
        stamps = as_of + shift
        values = list(stamps.normalize() if kind == "date" else stamps.tz_localize("UTC"))
    else:
        raise AssertionError(f"no generator for {column.name}")
    return [None if m else v for v, m in zip(values, missing, strict=True)]


def _mutate_after(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    out = {}
    cut_utc = as_of.tz_localize("UTC")
    for name, original in tables.items():
        spec = table(name)
        time_col = DATED_BY[name]
        cut = as_of if spec.column(time_col).type == "date" else cut_utc
        late = (original[time_col] >= cut).to_numpy()
        frame = original.astype(object).reset_index(drop=True)  # values of any kind; conform() restores dtypes
        # modify some late rows: every column but the keys and the account/borrower they belong to
        change = frame.index[late & (rng.random(len(frame)) < 0.5)]
        fixed = set(spec.key) | {"account_id", "borrower_id"}
        for col in spec.columns:
            if col.name not in fixed and len(change):
                values = _random_values(col, len(change), rng, as_of)
                if col.name == "end_at":  # after the (late) start, or none
                    values = [
                        None if v is None else start + pd.Timedelta(hours=1 + i)
                        for i, (v, start) in enumerate(zip(values, frame.loc[change, "start_at"], strict=True))
                    ]
                if col.name == time_col:  # still dated on or after D: an unknown open_date would make it scored
                    values = [as_of if v is None else v for v in values]
                frame.loc[change, col.name] = pd.Series(values, index=change, dtype=object)
        if name == "restrictions":
            # restrictions in force at D: their end may move to any time after D (or vanish)
            end = original["end_at"]
            in_force = ((original["start_at"] < cut_utc) & (end.isna() | (end > cut_utc))).to_numpy()
            moved = frame.index[in_force & (rng.random(len(frame)) < 0.5)]
            new_end = [
                None if rng.random() < 0.3 else cut_utc + pd.Timedelta(seconds=int(rng.integers(1, 10**7)))
                for _ in moved
            ]
            frame.loc[moved, "end_at"] = pd.Series(new_end, index=moved, dtype=object)
        # delete some late rows
        frame = frame[~(late & (rng.random(len(frame)) < 0.3))]
        # add late rows: copies of existing rows with new ids, dated on or after D
        n_new = int(rng.integers(0, 4)) if len(frame) else 0
        if n_new:
            extra = frame.iloc[rng.integers(0, len(frame), n_new)].reset_index(drop=True)
            extra[time_col] = pd.Series(
                _random_values(
                    spec.column(time_col).__class__(time_col, spec.column(time_col).type, ""), n_new, rng, as_of
                ),
                dtype=object,
            )
            if name in ID_COLUMNS:
                first = int(original[ID_COLUMNS[name]].max()) + 1000 if len(original) else 1
                extra[ID_COLUMNS[name]] = list(range(first, first + n_new))
            if name == "restrictions":
                extra["end_at"] = None
            frame = pd.concat([frame, extra], ignore_index=True)
        out[name] = conform(frame, spec)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    n_accounts=st.integers(1, 8),
    n_cycles=st.integers(1, 6),
    day=st.integers(-60, 200),
    mutation_seed=st.integers(0, 2**16),
)
def test_records_dated_on_or_after_the_as_of_date_never_change_its_features(
    seed, n_accounts, n_cycles, day, mutation_seed
):
    book = random_book(n_accounts, n_cycles, seed)
    as_of = pd.Timestamp("2024-01-31") + pd.Timedelta(days=day)
    mutated = _mutate_after(book, as_of, np.random.default_rng(mutation_seed))

    # nightly scoring rows for D
    before = build_features(book, as_of)
    after = build_features(mutated, as_of)
    pd.testing.assert_frame_equal(before, after)

    # training rows dated D or earlier
    train_before = build_features(book)
    train_after = build_features(mutated)
    keep = lambda f: f[f["as_of_date"] <= as_of].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(keep(train_before), keep(train_after))


def test_the_mutation_reaches_every_table():
    """Guard for the property above: the mutation really changes records after D in all five tables."""
    book = random_book(30, 6, 3)
    as_of = pd.Timestamp("2024-03-15")
    mutated = _mutate_after(book, as_of, np.random.default_rng(0))
    for name in TABLES:
        assert not book[name].equals(mutated[name]), name
        early_before = book[name][
            book[name][DATED_BY[name]] < (as_of if name in ("accounts", "statements") else as_of.tz_localize("UTC"))
        ]
        assert len(early_before) <= len(mutated[name])


def test_a_record_dated_before_the_as_of_date_does_change_features():
    """The property is not vacuous: the same kind of edit one second before D is seen."""
    book = random_book(5, 4, 1)
    as_of = pd.Timestamp("2024-03-15")
    payments = book["payments"]
    extra = payments.iloc[[0]].assign(payment_id=10**6, paid_at=as_of.tz_localize("UTC") - pd.Timedelta(seconds=1))
    changed = dict(book, payments=pd.concat([payments, extra], ignore_index=True))
    a = build_features(book, as_of).set_index("account_id")
    b = build_features(changed, as_of).set_index("account_id")
    account = int(extra["account_id"].iloc[0])
    assert b.loc[account, "pay_count_7d"] == a.loc[account, "pay_count_7d"] + 1
