"""Raw source values: the last statements as the source wrote them, and the account's own columns.

The other families summarise the history (windows, shares, streaks); this one passes the source's
values through unchanged, point in time, so that a model sees what the raw columns hold even where
a summary misses it, and so that a plain model on the raw columns (the roll-rate stage's second
baseline, models/common/plain.py) can be trained on the same rows as the project's model.

For each (account, as-of date D) row: lag 1 is the last statement with cycle_date < D, lag i the
i-th last; a lag the history does not reach is empty. For the UCI card data, as of 2005-09-01,
lags 1..5 are August..April: the statuses (as days past due and amounts due, and `status` where
the adapter reports an account state), bills and payments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from core.params import FeaturesParams
from core.schema import ACCOUNT_STATUSES
from features.asof import Context, category_codes, take
from features.spec import Feature

#: Statement columns passed through per lag, with what each holds (numbers, then the account state).
STATEMENT_COLUMNS = {
    "days_past_due": "Days past due",
    "balance": "Balance",
    "amount_due": "Amount due",
    "past_due_amount": "Amount past due",
    "amount_paid": "Amount paid during the cycle",
    "status": "Account state (category: " + ", ".join(ACCOUNT_STATUSES) + "; empty when not reported)",
}
STATUS = "status"
#: Account columns passed through here (the account family gives their combination, `exposure`).
ACCOUNT_COLUMNS = {
    "credit_limit": "Credit limit as the source gives it (empty for instalment and bnpl, or when not reported).",
    "principal": "Amount lent as the source gives it (empty for revolving accounts, or when not reported).",
}
#: Account columns the account family already passes through unchanged: raw columns too.
ACCOUNT_FAMILY_RAW = ("product", "instalment_amount", "annual_rate", "term_months", "origination_score")
_LAG = re.compile(rf"^(?:{'|'.join(STATEMENT_COLUMNS)})_lag\d+$")


def lag_name(column: str, lag: int) -> str:
    return f"{column}_lag{lag}"


def is_raw_column(name: str) -> bool:
    """Whether a feature column holds a source value unchanged (this family's, or the account family's)."""
    return bool(_LAG.match(name)) or name in ACCOUNT_COLUMNS or name in ACCOUNT_FAMILY_RAW


def raw_columns(columns: Iterable[str]) -> list[str]:
    """The raw source columns among `columns`, in their order: what the plain baseline model reads."""
    return [c for c in columns if is_raw_column(str(c))]


def specs(p: FeaturesParams) -> list[Feature]:
    out = []
    for lag in range(1, p.raw_lags + 1):
        where = "the last statement before D" if lag == 1 else f"statement {lag} back from D (lag 1 = the last)"
        out += [
            Feature(
                lag_name(c, lag), f"{text} at {where}; empty when the history is shorter.", f"lag {lag}", "statements"
            )
            for c, text in STATEMENT_COLUMNS.items()
        ]
    out += [Feature(name, text, "-", "accounts") for name, text in ACCOUNT_COLUMNS.items()]
    return out


def compute(ctx: Context) -> dict[str, object]:
    st, cyc, last = ctx.book.statements, ctx.cycles, ctx.last_statement
    first = cyc.start[np.maximum(last, 0)] if cyc.n else np.zeros(len(last), dtype=np.int64)
    values = {c: st.col(c).astype(np.float32) for c in STATEMENT_COLUMNS if c != STATUS}
    status = category_codes(st.frame[STATUS], ACCOUNT_STATUSES)
    out: dict[str, object] = {}
    for lag in range(1, ctx.params.raw_lags + 1):
        # the statement lag - 1 rows before the last one before D, in the same account, or none
        row = last - (lag - 1)
        row = np.where((last >= 0) & (row >= first), row, -1)
        for c in STATEMENT_COLUMNS:
            if c == STATUS:
                codes = take(status, row, fill=-1).astype(np.int64)
                out[lag_name(c, lag)] = pd.Categorical.from_codes(codes, categories=list(ACCOUNT_STATUSES))
            else:
                out[lag_name(c, lag)] = take(values[c], row).astype(np.float32)
    acc, codes = ctx.book.accounts, ctx.spine.codes
    for name in ACCOUNT_COLUMNS:
        out[name] = acc[name].to_numpy(dtype=np.float64, na_value=np.nan)[codes].astype(np.float32)
    return out
