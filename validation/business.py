"""Business rules that a column-by-column suite cannot express, vectorised in pandas.

They run on the *clean* frames: values already condemned by a cell rule (unreadable, null,
negative...) are missing there, so one bad value is reported once, by the rule it broke, and
does not also break the rules that reason from it. Rules that follow the schema's declarations
(record dates, references) apply to any table that declares them; the DPD and amount-paid
rules are about the statements and payments tables by nature.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from zoneinfo import available_timezones

import numpy as np
import pandas as pd

from core.schema import TABLES, Table
from validation.rules import Finding, finding

ACCOUNTS = "accounts"
STATEMENTS = "statements"
PAYMENTS = "payments"


def record_date_columns(spec: Table) -> list[str]:
    """The columns that date the record itself: its event_time, or every date column of an undated table.

    Not promise_date or end_at: those lie in the future legitimately (a promise, a planned end).
    """
    if spec.event_time:
        return [spec.event_time]
    return [c.name for c in spec.columns if c.type in ("date", "timestamp")]


def calendar_date(values: pd.Series) -> pd.Series:
    """The calendar date as a naive midnight (the UTC date for instants), as used by every date rule."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.dt.normalize().astype("datetime64[ns]")


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_timezone(spec: Table, frame: pd.DataFrame) -> list[Finding]:
    """Every `timezone` column holds IANA names (contact hours are computed in them)."""
    out = []
    for col in spec.columns:
        if col.name == "timezone":
            values = frame[col.name]
            out.append(finding(spec.name, "valid_timezone", col.name, values.notna() & ~values.isin(_iana_zones())))
    return [f for f in out if f]


def not_after_as_of(spec: Table, frame: pd.DataFrame, as_of: pd.Timestamp) -> list[Finding]:
    out = [
        finding(spec.name, "not_after_as_of", name, calendar_date(frame[name]) > as_of)
        for name in record_date_columns(spec)
    ]
    return [f for f in out if f]


def end_after_start(spec: Table, frame: pd.DataFrame) -> list[Finding]:
    """A period (start_at, end_at) must not end before it starts; an open end is fine."""
    if not {"start_at", "end_at"} <= set(spec.column_names):
        return []
    found = finding(spec.name, "end_after_start", "end_at", frame["end_at"] < frame["start_at"])
    return [found] if found else []


def references(
    spec: Table, frame: pd.DataFrame, clean: Mapping[str, pd.DataFrame], kept: Mapping[str, np.ndarray]
) -> list[Finding]:
    """Every reference resolves: to a row of the target table (`reference`) that was kept
    (`orphan_of_quarantined_account`). `kept[table]` is the boolean mask of the target's good rows.
    """
    out = []
    for ref in spec.references:
        values = frame[ref.column]
        target = clean[ref.table][ref.target_column]
        known = values.isin(target.dropna().unique())
        good = values.isin(target[kept[ref.table]].dropna().unique())
        present = values.notna()
        out.append(finding(spec.name, "reference", ref.column, present & ~known))
        out.append(finding(spec.name, "orphan_of_quarantined_account", ref.column, present & known & ~good))
    return [f for f in out if f]


def account_of_borrower(spec: Table, frame: pd.DataFrame, accounts: pd.DataFrame) -> list[Finding]:
    """A record naming both an account and a borrower names the account's own borrower."""
    if not {"account_id", "borrower_id"} <= set(spec.column_names) or spec.name == ACCOUNTS:
        return []
    owner = frame["account_id"].map(_by_account(accounts, "borrower_id"))
    found = finding(
        spec.name,
        "account_of_borrower",
        "account_id",
        owner.notna() & frame["borrower_id"].notna() & (owner != frame["borrower_id"]),
    )
    return [found] if found else []


def not_before_open_date(spec: Table, frame: pd.DataFrame, accounts: pd.DataFrame) -> list[Finding]:
    """No record of an account is dated before the account was opened."""
    if spec.name == ACCOUNTS or "account_id" not in spec.column_names or not spec.event_time:
        return []
    opened = frame["account_id"].map(_by_account(accounts, "open_date"))
    found = finding(spec.name, "not_before_open_date", spec.event_time, calendar_date(frame[spec.event_time]) < opened)
    return [found] if found else []


def dpd_growth(statements: pd.DataFrame, accounts: pd.DataFrame) -> list[Finding]:
    """Days past due can grow by at most the days elapsed: since the previous cycle, or since
    open_date at an account's first cycle. Falling (a payment) is always possible.
    """
    s = statements[["account_id", "cycle_date", "days_past_due"]].dropna()
    s = s.sort_values(["account_id", "cycle_date"], kind="stable")
    account = s["account_id"].to_numpy(dtype="int64")
    cycle = s["cycle_date"].to_numpy(dtype="datetime64[D]").astype("int64")
    dpd = s["days_past_due"].to_numpy(dtype="int64")
    opened = s["account_id"].map(_by_account(accounts, "open_date")).astype("datetime64[ns]")
    since_open = (cycle - opened.to_numpy(dtype="datetime64[D]").astype("int64")).astype("float64")
    since_open[opened.isna().to_numpy()] = np.inf
    same = np.zeros(len(s), dtype=bool)
    same[1:] = account[1:] == account[:-1]
    limit = since_open
    limit[1:] = np.where(same[1:], dpd[:-1] + (cycle[1:] - cycle[:-1]), limit[1:])
    bad = pd.Series(dpd > limit, index=s.index).reindex(statements.index, fill_value=False)
    found = finding(STATEMENTS, "dpd_growth", "days_past_due", bad)
    return [found] if found else []


def amount_paid_matches_payments(
    statements: pd.DataFrame, payments: pd.DataFrame, accounts: pd.DataFrame, tolerance: float
) -> list[Finding]:
    """amount_paid equals the payments whose UTC date falls in the cycle: previous cycle_date < date <= cycle_date.

    The first cycle's window opens at the account's open_date: a payment dated earlier is
    reported by not_before_open_date and must not also spoil the first statement. Payments dated
    after an account's last cycle belong to no statement yet and are not compared.
    """
    cycles = statements[["account_id", "cycle_date"]].dropna()
    cycles = cycles.assign(row=cycles.index.to_numpy(), cycle_date=cycles["cycle_date"].astype("datetime64[ns]"))
    cycles = cycles.sort_values("cycle_date", kind="stable")
    paid = payments[["account_id", "paid_at", "amount"]].dropna()
    paid = pd.DataFrame(
        {"account_id": paid["account_id"], "paid_on": calendar_date(paid["paid_at"]), "amount": paid["amount"]}
    )
    paid = paid[~(paid["paid_on"] < paid["account_id"].map(_by_account(accounts, "open_date")))]
    paid = paid.sort_values("paid_on", kind="stable")
    matched = pd.merge_asof(
        paid,
        cycles,
        left_on="paid_on",
        right_on="cycle_date",
        by="account_id",
        direction="forward",
        allow_exact_matches=True,
    )
    matched = matched.dropna(subset=["row"])
    expected = np.bincount(
        matched["row"].to_numpy(dtype=np.int64), weights=matched["amount"].to_numpy(), minlength=len(statements)
    )
    comparable = np.zeros(len(statements), dtype=bool)
    comparable[cycles["row"].to_numpy()] = True
    gap = statements["amount_paid"].to_numpy(dtype="float64", na_value=np.nan) - expected
    gap = pd.Series(np.where(comparable, np.abs(gap), np.nan), index=statements.index)
    found = finding(STATEMENTS, "amount_paid_matches_payments", "amount_paid", gap > tolerance + 1e-9)
    return [found] if found else []


def _by_account(accounts: pd.DataFrame, column: str) -> pd.Series:
    """`column` of accounts indexed by account_id (first row of a duplicated id)."""
    first = accounts.dropna(subset=["account_id"]).drop_duplicates("account_id")
    return first.set_index("account_id")[column]


def reference_order() -> list[str]:
    """Tables ordered so that every table comes after the tables it references."""
    order: list[str] = []
    pending = dict(TABLES)
    while pending:
        ready = [n for n, t in pending.items() if all(r.table in order or r.table == n for r in t.references)]
        if not ready:
            raise ValueError(f"the schema's references form a cycle among {sorted(pending)}")
        for name in ready:
            order.append(name)
            del pending[name]
    return order
