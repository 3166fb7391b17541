"""The UCI "default of credit card clients" data set (Taiwan, 2005) as canonical tables.

The CSV holds one row per card account: a credit limit, six monthly repayment statuses
(PAY_0 = September ... PAY_6 = April 2005), six statement balances and six payments, and the
target DEFAULT (the October 2005 payment was missed). See ../shared/data/uci-credit-default/
PROVENANCE.md. It is a monthly-status book, so it goes through the generic adapter
(adapters.monthly_status) with the coding `CODING`, and adds the amounts the source has:

- accounts: one revolving account per row (borrower = account), credit_limit = LIMIT_BAL,
  time zone Asia/Taipei, region TW, no contact consent on record. Not in the source, so empty:
  open_date, annual_rate, instalment_amount, origination_score.
- statements: one per account and month (cycle_date = month end, April..September), from the
  status code (`status_to_dpd`, `CODING`): -2, -1, 0 are current (0 days); k >= 1 months late is
  the band [30(k - 1), 30k - 1] (k = 1: 1-29 days) and days_past_due its lower end, 9 ("nine
  months and more") the open-ended band from 240; so the common April-August jump 0 -> 2 is a
  legal 30-day step. September alone uses code 1 (PROVENANCE quirks): it lands in the 1-29
  bucket, which therefore only exists in the latest month -- a property of the coding, not of
  borrowers. The source reports no account state, with one exception the codes imply: -2 "no
  consumption" with a zero bill is `inactive` (open, no balance, nothing due: the schema's
  meaning); every other `status` is empty. Without it the three current codes with a zero bill map
  to the same statement, although a -2 client rolls to "one month late" in September 55% of the
  time and a -1 or 0 client with a zero bill never does (docs/uci.md). Validation declares the
  bands and a 30-day timing (configs/uci/params.yaml): a month's status is taken on an unknown
  day of the month, and PAY_AMT of a month pays the previous month's bill.
  balance = BILL_AMT clipped at 0 (a credit balance owes nothing); amount_paid = PAY_AMT of the
  same month (paid during the month, the window (previous month end, month end]).
  The three current codes stay distinguishable through amount_due (`MIN_PAYMENT_RATE` = r):
  -2 "no consumption" owes nothing (0), -1 "paid in full" owes the whole balance, 0 "revolving"
  owes the minimum r * balance; k months late owes the minimum plus k missed minimums
  (past_due_amount = min(balance, k * r * balance)). These two are the adapter's documented
  reading of the status code, not figures from the source.
- payments: one per account and month with PAY_AMT > 0, on the 15th at 12:00 UTC, method
  bank_transfer (the source does not say).
- contacts, restrictions: empty (the source has none).

Protected attributes (SEX, EDUCATION, MARRIAGE, AGE) are deliberately not mapped: the canonical
schema has no place for them, so no model or strategy can depend on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from adapters import monthly_status
from core.errors import DataError
from core.io import conform
from core.paths import UCI_CREDIT_DEFAULT_CSV
from core.schema import TABLES

SOURCE = "uci_credit_default"
#: Month order of the source columns, oldest first: (status, bill, payment) per month.
MONTHS = (
    ("2005-04-30", "PAY_6", "BILL_AMT6", "PAY_AMT6"),
    ("2005-05-31", "PAY_5", "BILL_AMT5", "PAY_AMT5"),
    ("2005-06-30", "PAY_4", "BILL_AMT4", "PAY_AMT4"),
    ("2005-07-31", "PAY_3", "BILL_AMT3", "PAY_AMT3"),
    ("2005-08-31", "PAY_2", "BILL_AMT2", "PAY_AMT2"),
    ("2005-09-30", "PAY_0", "BILL_AMT1", "PAY_AMT1"),
)
#: The DEFAULT target is the October payment: predicted the morning after the September cycle.
TARGET_AS_OF = pd.Timestamp("2005-10-01")
#: The repayment status codes: 1..9 months late in 30-day bands (9: nine months and more), and three
#: current codes; the source reports no account state.
CODING = monthly_status.StatusCoding(
    delinquent_codes=tuple(str(k) for k in range(1, 10)),
    band_edges=(1, *(30 * k for k in range(1, 9))),
    delinquent_status=None,
    written_off_codes=(),
    current_codes={"-2": None, "-1": None, "0": None},
    product="revolving",
    region="TW",
    timezone="Asia/Taipei",
)
MIN_PAYMENT_RATE = 0.05
PROTECTED = ("SEX", "EDUCATION", "MARRIAGE", "AGE")
REQUIRED = ("ID", "LIMIT_BAL", "DEFAULT") + tuple(c for month in MONTHS for c in month[1:])


def read_csv(path: Path = UCI_CREDIT_DEFAULT_CSV) -> pd.DataFrame:
    """The source CSV as it is, checked for the columns the mapping needs."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(SOURCE, "readable", f"cannot read {path}: {exc}") from exc
    return monthly_status.require_complete(frame, SOURCE, REQUIRED)


def status_to_dpd(status: np.ndarray | pd.Series) -> np.ndarray:
    """Days past due (the lower end of the status's band) for UCI repayment status codes."""
    k = np.asarray(status, dtype=np.int64)
    return np.where(k <= 0, 0, np.where(k == 1, 1, 30 * (k - 1))).astype(np.int64)


def _long(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per account and month, oldest month first within each account."""
    parts = [
        pd.DataFrame(
            {
                "account": frame["ID"].to_numpy(np.int64),
                "month": cycle,
                "status": frame[status].astype("int64").astype("str").to_numpy(),
                "bill": frame[bill].to_numpy(np.float64),
                "paid": frame[paid].to_numpy(np.float64),
            }
        )
        for cycle, status, bill, paid in MONTHS
    ]
    return pd.concat(parts, ignore_index=True).sort_values(["account", "month"], kind="stable", ignore_index=True)


def _accounts(frame: pd.DataFrame) -> pd.DataFrame:
    out = monthly_status.accounts(frame["ID"].to_numpy(np.int64), CODING)
    limit = frame.set_index("ID")["LIMIT_BAL"].astype("float64")
    return out.assign(credit_limit=out["account_id"].map(limit).to_numpy())


def _statements(long: pd.DataFrame) -> pd.DataFrame:
    out = monthly_status.statements(long[["account", "month", "status"]], CODING)
    status = long["status"].astype("int64").to_numpy()
    balance = np.clip(long["bill"].to_numpy(), 0.0, None)
    minimum = MIN_PAYMENT_RATE * balance
    late = np.clip(status, 0, None)
    past_due = np.minimum(balance, late * minimum)
    due = np.select([status == -2, status == -1], [0.0, balance], default=np.minimum(balance, minimum + past_due))
    state = out["status"].where(~((status == -2) & (balance == 0.0)), "inactive")
    return out.assign(
        balance=balance, amount_due=due, past_due_amount=past_due, amount_paid=long["paid"].to_numpy(), status=state
    )


def _payments(long: pd.DataFrame) -> pd.DataFrame:
    paid = long[long["paid"] > 0]
    cycle = pd.DatetimeIndex(pd.to_datetime(paid["month"]))
    paid_at = (cycle.to_period("M").to_timestamp() + pd.Timedelta(days=14, hours=12)).tz_localize("UTC")
    return pd.DataFrame(
        {
            "payment_id": np.arange(1, len(paid) + 1, dtype=np.int64),
            "account_id": paid["account"].to_numpy(),
            "paid_at": paid_at,
            "amount": paid["paid"].to_numpy(),
            "method": "bank_transfer",
        }
    )


def to_canonical(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The five canonical tables, conformed to core.schema (protected attributes dropped)."""
    long = _long(frame)
    tables = {
        "accounts": _accounts(frame),
        "statements": _statements(long),
        "payments": _payments(long),
        "contacts": TABLES["contacts"].empty_frame(),
        "restrictions": TABLES["restrictions"].empty_frame(),
    }
    return {name: conform(t, TABLES[name]) for name, t in tables.items()}


def default_target(frame: pd.DataFrame) -> pd.DataFrame:
    """The source's own target, keyed like the feature table: (account_id, as_of_date, default)."""
    return pd.DataFrame(
        {
            "account_id": frame["ID"].to_numpy(np.int64),
            "as_of_date": pd.Series(TARGET_AS_OF, index=frame.index).astype("datetime64[ns]").to_numpy(),
            "default": frame["DEFAULT"].to_numpy(np.int8),
        }
    )


def load(path: Path = UCI_CREDIT_DEFAULT_CSV) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Canonical tables and the default target, from the CSV at `path`."""
    frame = read_csv(path)
    return to_canonical(frame), default_target(frame)
