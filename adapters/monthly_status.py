"""A generic adapter for monthly-status books: one row per account and month, with a status code.

Many books, and most public data, report delinquency as a monthly status rather than exact days
past due: "0" for 1-29 days late, "1" for 30-59, ..., "C" for paid off, "X" for no balance. This
adapter maps such a book into the canonical tables with a documented coding (`StatusCoding`,
the adapter's params) and invents nothing:

- input columns `account` (integer id), `month` (`YYYY-MM`, a date in the month, or an integer
  offset from `StatusCoding.reference_month`: 0 that month, -1 the month before) and `status`
  (the code, read as text: `0` and `00` differ);
- statements: one per account and month, `cycle_date` = the month's last day. A delinquency code
  gives `days_past_due` = the lower edge of its band (`band_edges`: the band runs to the next
  edge minus one day, the last one open-ended); a code of `current_codes` gives 0 days. `status`
  is the account state each code stands for (`active` for the delinquency codes unless
  `delinquent_status` says otherwise, `written_off` for `written_off_codes`), empty where the
  coding says the source does not report it. Amounts are empty (not in the source);
- accounts: one per account, `product` and `region` as declared, `timezone` as declared (the
  source gives none), no consent on record, every other column empty (open date, limit,
  principal, rate, instalment, score: not in the source);
- no payments, contacts or restrictions: the source has none (optional tables, left out).

Validation needs the same bands and the month-level timing: declare `validate.dpd_bands` =
`StatusCoding.validate_bands()` and `validate.dpd_timing_days` (30: a month's status is taken on
an unknown day of the month) in the source's params (docs/schema.md, status-coded books). A code
the coding does not know is a DataError naming it and its rows, never a guess.

The defaults are the public monthly-status card book's coding (45,985 accounts, 1,048,575
account-months): 0 = 1-29 days past due, 1 = 30-59, 2 = 60-89, 3 = 90-119, 4 = 120-149,
5 = 150 days and more or written off, C = paid off that month, X = no loan that month.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.errors import DataError
from core.io import conform
from core.schema import ACCOUNT_STATUSES, PRODUCTS, TABLES

SOURCE = "monthly_status"
COLUMNS = ("account", "month", "status")


class StatusCoding(BaseModel):
    """How a book's status codes map to days past due bands and account states (the adapter's params)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Delinquency codes in band order, and the lower edge of each one's band in days (> 0).
    delinquent_codes: tuple[str, ...] = ("0", "1", "2", "3", "4", "5")
    band_edges: tuple[int, ...] = (1, 30, 60, 90, 120, 150)
    #: Account state of the delinquency codes (null: the source does not report one).
    delinquent_status: str | None = "active"
    #: Delinquency codes that also mean the lender wrote the balance off.
    written_off_codes: tuple[str, ...] = ("5",)
    #: Codes of no delinquency (0 days past due) and the account state each stands for (null: not reported).
    current_codes: dict[str, str | None] = {"C": "paid_off", "X": "inactive"}
    #: The month an integer `month` offset counts from (`YYYY-MM`); null: months are written as months or dates.
    reference_month: str | None = None
    #: What the source does not say, declared: the product, the jurisdiction (selects the compliance
    #: profile; `ZZ` matches none, so nobody is contacted) and the time zone of every account.
    product: str = "revolving"
    region: str = Field("ZZ", min_length=1)
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _consistent(self) -> StatusCoding:
        codes = list(self.delinquent_codes) + list(self.current_codes)
        if len(set(codes)) != len(codes):
            raise ValueError("a status code is listed twice")
        edges = list(self.band_edges)
        if len(edges) != len(self.delinquent_codes) or not edges or edges[0] < 1 or edges != sorted(set(edges)):
            raise ValueError("band_edges needs one strictly increasing lower edge >= 1 per delinquency code")
        unknown = set(self.written_off_codes) - set(self.delinquent_codes)
        if unknown:
            raise ValueError(f"written_off_codes {sorted(unknown)} are not delinquency codes")
        states = [self.delinquent_status, *self.current_codes.values()]
        if any(s is not None and s not in ACCOUNT_STATUSES for s in states):
            raise ValueError(f"account states must be one of {list(ACCOUNT_STATUSES)} or null")
        if self.product not in PRODUCTS:
            raise ValueError(f"product must be one of {list(PRODUCTS)}")
        return self

    def validate_bands(self) -> tuple[int, ...]:
        """The bands to declare as validate.dpd_bands: current (0), then each delinquency band's lower edge."""
        return (0, *self.band_edges)

    def band(self, code: str) -> tuple[int, int | None]:
        """(lowest, highest) days past due a code stands for; highest None: open-ended."""
        if code in self.current_codes:
            return 0, 0
        k = self.delinquent_codes.index(code)
        return self.band_edges[k], self.band_edges[k + 1] - 1 if k + 1 < len(self.band_edges) else None


def read_book(path: Path) -> pd.DataFrame:
    """The book's CSV as text (a status `0` stays `0`), checked for the three columns."""
    try:
        frame = pd.read_csv(path, dtype="str", keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise DataError(SOURCE, "readable", f"cannot read {path}: {exc}") from exc
    return _checked(frame)


def _checked(frame: pd.DataFrame) -> pd.DataFrame:
    return require_complete(frame, SOURCE, COLUMNS)


def require_complete(frame: pd.DataFrame, source: str, columns) -> pd.DataFrame:
    """`frame` if it has every one of `columns` with no empty value; else a DataError naming them."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(source, "required_columns", f"missing column(s) {missing}", column=missing[0])
    empty = frame[list(columns)].isna().any(axis=1)
    if empty.any():
        raise DataError(source, "not_null", f"{int(empty.sum())} row(s) with empty values", rows=frame[empty])
    return frame


def cycle_dates(month: pd.Series, reference_month: str | None = None) -> pd.Series:
    """The last day of each row's month: `YYYY-MM`, a date, or an integer offset from `reference_month`."""
    text = month.astype("str").str.strip()
    offsets = text.str.fullmatch(r"[+-]?[0-9]+").fillna(False).to_numpy(dtype=bool)
    periods = pd.Series(pd.NaT, index=month.index, dtype="datetime64[ns]")
    if offsets.any():
        if reference_month is None:
            raise DataError(
                SOURCE, "dtype", "month is an integer offset: declare StatusCoding.reference_month", column="month"
            )
        start = pd.Period(reference_month, freq="M")
        shift = text[offsets].astype("int64").to_numpy()
        periods[offsets] = [(start + int(k)).to_timestamp(how="end").normalize() for k in shift]
    if (~offsets).any():
        written = pd.to_datetime(text[~offsets], format="ISO8601", errors="coerce")
        periods[~offsets] = (written.dt.to_period("M").dt.to_timestamp(how="end").dt.normalize()).to_numpy()
    bad = periods.isna().to_numpy()
    if bad.any():
        raise DataError(SOURCE, "dtype", f"{int(bad.sum())} month(s) not YYYY-MM, a date or an offset", column="month")
    return periods.astype("datetime64[ns]")


def statements(frame: pd.DataFrame, coding: StatusCoding) -> pd.DataFrame:
    """Canonical statements (amounts empty) for rows of `account`, `month`, `status`, sorted by account and month."""
    frame = _checked(frame)
    code = frame["status"].astype("str").str.strip()
    known = list(coding.delinquent_codes) + list(coding.current_codes)
    unknown = ~code.isin(known)
    if unknown.any():
        raise DataError(
            SOURCE,
            "allowed_values",
            f"status code(s) {sorted(code[unknown].unique())[:10]} are not in the coding {known}",
            column="status",
            rows=frame[unknown],
        )
    ids = pd.to_numeric(frame["account"], errors="coerce")
    bad = ids.isna() | (ids != np.floor(ids))
    if bad.any():
        raise DataError(SOURCE, "dtype", "account ids must be integers", column="account", rows=frame[bad])
    lower = {c: coding.band(c)[0] for c in known}
    state = dict.fromkeys(coding.delinquent_codes, coding.delinquent_status)
    state.update(dict.fromkeys(coding.written_off_codes, "written_off"))
    state.update(coding.current_codes)
    out = pd.DataFrame(
        {
            "account_id": ids.astype("int64").to_numpy(),
            "cycle_date": cycle_dates(frame["month"], coding.reference_month).to_numpy(),
            "days_past_due": code.map(lower).astype("int64").to_numpy(),
            "status": code.map(state).astype("str").to_numpy(),
        }
    )
    return out.sort_values(["account_id", "cycle_date"], kind="stable").reset_index(drop=True)


def accounts(account_ids: np.ndarray, coding: StatusCoding) -> pd.DataFrame:
    """One account per id with only what the coding declares; everything the source lacks is empty."""
    ids = np.unique(np.asarray(account_ids, dtype=np.int64))
    return pd.DataFrame(
        {
            "account_id": ids,
            "borrower_id": ids,  # one borrower per account: the source does not link them
            "product": coding.product,
            "timezone": coding.timezone,
            "region": coding.region,
            "consent_sms": False,  # no consent on record
            "consent_email": False,
            "consent_call": False,
        }
    )


def to_canonical(frame: pd.DataFrame, coding: StatusCoding | None = None) -> dict[str, pd.DataFrame]:
    """accounts and statements, conformed to core.schema; the source has no payments, contacts or restrictions."""
    coding = coding or StatusCoding()
    st = statements(frame, coding)
    return {
        "accounts": conform(accounts(st["account_id"].to_numpy(), coding), TABLES["accounts"]),
        "statements": conform(st, TABLES["statements"]),
    }


def load(path: Path, coding: StatusCoding | None = None) -> dict[str, pd.DataFrame]:
    """The canonical tables of the book in the CSV at `path`."""
    return to_canonical(read_book(Path(path)), coding)
