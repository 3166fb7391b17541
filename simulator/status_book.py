"""A generated monthly-status book with planted events: does validation read status-coded histories right?

Real books often report delinquency as a monthly status (`0` = 1-29 days late, `1` = 30-59, ...,
`5` = 150+ or written off, `C` = paid off, `X` = no balance: the public monthly-status card
book's coding, adapters.monthly_status). Mapped to days, some of the most important genuine events
look impossible to a rule that reads them as exact days; a few are impossible whatever the day of
the month. This book holds both, planted at known places among ordinary histories:

genuine (never to be quarantined)
    `february_roll`: 0 -> 1 from January to February (28 or 29 days for a 30-day band step);
    `skipped_bucket`: 0 -> 2 in one month (the 30-59 status never reported);
    `no_balance_to_30`: X -> 1 in one month (spent and missed the first due date);
    `write_off_after_skipped_status`: 3 -> 5 in one month (no 120-149 status before the write-off);
    `write_off_after_missing_month`: 2, a month not reported, then 5;
    `paid_off_after_arrears`: 2 -> C (the balance repaid in full);
    `reopened_after_paid_off`: C -> 0 (a card paid off and used again);
impossible (to be caught by `dpd_growth`)
    `no_balance_to_90`: X -> 3 in one month (no balance, then 90+ days late a month later);
    `three_bands_in_a_month`: 0 -> 4 in one month (1-29, then 120-149 days late).

Every other move is an ordinary one (a roll of one band, staying, a cure to C or 0, a write-off
from 4), so a correct reading of the book quarantines exactly the impossible events. The book has
statuses only: no amounts, payments or open dates (the source does not have them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Status codes in the coding's order of delinquency ("X", "C" owe nothing).
DELINQUENT = ("0", "1", "2", "3", "4", "5")
GENUINE = (
    "february_roll",
    "skipped_bucket",
    "no_balance_to_30",
    "write_off_after_skipped_status",
    "write_off_after_missing_month",
    "paid_off_after_arrears",
    "reopened_after_paid_off",
)
IMPOSSIBLE = ("no_balance_to_90", "three_bands_in_a_month")
#: (status before, status at the event) of each planted event; None: the month before is not reported.
_MOVES = {
    "february_roll": ("0", "1"),
    "skipped_bucket": ("0", "2"),
    "no_balance_to_30": ("X", "1"),
    "write_off_after_skipped_status": ("3", "5"),
    "write_off_after_missing_month": ("2", "5"),
    "paid_off_after_arrears": ("2", "C"),
    "reopened_after_paid_off": ("C", "0"),
    "no_balance_to_90": ("X", "3"),
    "three_bands_in_a_month": ("0", "4"),
}


@dataclass(frozen=True)
class PlantedBook:
    """`rows`: account, month (YYYY-MM), status; `events`: account, month, cycle_date, kind, genuine."""

    rows: pd.DataFrame
    events: pd.DataFrame


def _ordinary_step(code: str, u: float) -> str:
    """The next month's status after `code`, by an ordinary, always legal move."""
    if code in ("X", "C"):
        return "0" if u < 0.15 else ("C" if code == "C" and u < 0.6 else "X" if u < 0.9 else "C")
    k = DELINQUENT.index(code)
    if k == 5:
        return "5"  # written off: stays
    if u < 0.25:
        return DELINQUENT[min(k + 1, 5)] if k < 4 or u < 0.05 else code  # a roll of one band (4 -> 5 rarely)
    if u < 0.55:
        return code
    if u < 0.8:
        return "C" if k > 0 else "0"
    return "0" if k > 0 else "C"


def _forced(kind: str, at: int) -> dict[int, str | None]:
    """The statuses an event fixes, by month: a legal ramp up to its status before (one band a month),
    the event, and for an impossible one the status before again (only the jump is impossible)."""
    before, after = _MOVES[kind]
    gap = 1 if kind == "write_off_after_missing_month" else 0  # that month is not reported
    out: dict[int, str | None] = {at: after}
    if gap:
        out[at - 1] = None
    end = at - 1 - gap
    if before in DELINQUENT:
        k = DELINQUENT.index(before)
        out.update({end - i: DELINQUENT[k - i] for i in range(k + 1)})
    else:
        out[end] = before
    if kind in IMPOSSIBLE:
        out[at + 1] = before
    return out


def planted_status_book(accounts: int = 600, months: int = 26, seed: int = 0, start: str = "2022-07") -> PlantedBook:
    """A book of `accounts` monthly histories over `months` months from `start`; every third account holds
    one planted event (the kinds in turn), at a month drawn at random (`february_roll`: a February)."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range(start, periods=months, freq="M")
    februaries = np.flatnonzero((periods.month == 2) & (np.arange(months) >= 6) & (np.arange(months) < months - 2))
    if len(februaries) == 0:
        raise ValueError("the book needs a February at least six months after its start and two before its end")
    kinds = GENUINE + IMPOSSIBLE
    rows, events = [], []
    for account in range(1, accounts + 1):
        kind = kinds[(account // 3) % len(kinds)] if account % 3 == 0 else None
        at = int(rng.choice(februaries)) if kind == "february_roll" else int(rng.integers(6, months - 2))
        forced = _forced(kind, at) if kind is not None else {}
        code = "X" if rng.random() < 0.5 else "0"
        for m in range(months):
            u = rng.random()
            if m in forced:
                if forced[m] is None:
                    continue
                code = forced[m]
            elif m > 0:
                code = _ordinary_step(code, u)
            rows.append((account, str(periods[m]), code))
        if kind is not None:
            cycle = periods[at].to_timestamp(how="end").normalize()
            events.append((account, str(periods[at]), cycle, kind, kind in GENUINE))
    return PlantedBook(
        rows=pd.DataFrame(rows, columns=["account", "month", "status"]),
        events=pd.DataFrame(events, columns=["account", "month", "cycle_date", "kind", "genuine"]).astype(
            {"cycle_date": "datetime64[ns]"}
        ),
    )


def judged(book: PlantedBook, quarantined: pd.DataFrame) -> pd.DataFrame:
    """The planted events with `quarantined`: whether validation quarantined the event's statement
    (`quarantined` holds the quarantined statements: account_id, cycle_date)."""
    hit = quarantined[["account_id", "cycle_date"]].astype({"account_id": "int64", "cycle_date": "datetime64[ns]"})
    hit = hit.drop_duplicates().assign(quarantined=True)
    out = book.events.merge(hit, left_on=["account", "cycle_date"], right_on=["account_id", "cycle_date"], how="left")
    return out.drop(columns="account_id").assign(quarantined=out["quarantined"].fillna(False).astype(bool))
