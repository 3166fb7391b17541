"""Targets, built from the future side of each as-of date and kept out of the feature table.

- roll rate: `next_bucket`, the bucket of the first statement on or after D when it is the next
  cycle's (empty across a gap: a statement missing or quarantined, `max_cycle_days`), and
  `next_status`, the account state at that statement (left the book: paid_off, closed, written_off);
- propensity to pay: `paid_{h}d`, payments in [D, D + h days) reached `ptp_min_share` of the
  amount past due at D (empty when nothing was past due or the horizon is not fully observed);
- contact response (one row per contact): a payment within N days after the contact, and
  whether a promise made in it was kept.

"Fully observed" means the horizon ends no later than `observed_until`, the end of the
data: by default the day after the latest statement, which the partitioned stage computes
once over the whole book so that every partition uses the same end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import contracts
from core.params import FeaturesParams
from core.schema import ACCOUNT_STATUSES, CHANNELS, OUTCOMES
from features.asof import DAY, Book, Context, category_codes, cents, prefix_sum, take, to_seconds
from features.contacts import judge_promises


def label_columns(p: FeaturesParams) -> list[str]:
    """Label columns of labels.parquet (besides the keys); none may ever appear among the features."""
    return contracts.label_columns(p.ptp_horizons_days)


def contact_label_columns(p: FeaturesParams) -> list[str]:
    return contracts.contact_label_columns(p.contact_response_days)


def observation_end(statements: pd.DataFrame) -> np.int64:
    """Seconds (since asof.BASE) of the day after the latest cycle date: data before it is complete."""
    if len(statements) == 0:
        return np.int64(0)
    return np.int64(to_seconds(statements["cycle_date"]).max() + DAY)


def roll_and_pay_labels(ctx: Context, observed_until: np.int64) -> dict[str, object]:
    """Label columns for the spine rows of `ctx`, in `label_columns` order."""
    book, sp, p = ctx.book, ctx.spine, ctx.params
    st = book.statements
    nxt = st.index.before(sp.codes, sp.seconds)
    has_next = nxt < len(st.index)
    has_next[has_next] = st.index.codes[nxt[has_next]] == sp.codes[has_next]
    # the next statement must be the next cycle's: not further than max_cycle_days after the last one
    last = ctx.last_statement
    seen = has_next & (last >= 0)
    gap = np.zeros(len(has_next), dtype=bool)
    gap[seen] = st.index.seconds[nxt[seen]] - st.index.seconds[last[seen]] > p.max_cycle_days * DAY
    has_next &= ~gap
    nxt = np.where(has_next, nxt, -1)
    dpd = st.col("days_past_due")
    status = category_codes(st.frame["status"], ACCOUNT_STATUSES)
    out: dict[str, object] = {
        contracts.NEXT_BUCKET: pd.array(np.where(has_next, take(ctx.bucket_codes, nxt, 0), 0), dtype="Int8"),
        contracts.NEXT_DAYS_PAST_DUE: pd.array(take(dpd, nxt, 0).astype(np.int64), dtype="Int32"),
        contracts.NEXT_STATUS: pd.Categorical.from_codes(
            take(status, nxt, -1).astype(np.int64), categories=list(ACCOUNT_STATUSES)
        ),
    }
    out[contracts.NEXT_BUCKET][~has_next] = pd.NA
    out[contracts.NEXT_DAYS_PAST_DUE][~has_next] = pd.NA
    past_due = cents(ctx.at_statement(st.col("past_due_amount").astype(np.float64), 0), "statements", "past_due_amount")
    pay = book.payments
    pay_cs = prefix_sum(cents(pay.col("amount"), "payments", "amount"))
    start = pay.index.before(sp.codes, sp.seconds)
    for h in p.ptp_horizons_days:
        end = pay.index.before(sp.codes, sp.seconds + h * DAY)
        paid = pay_cs[end] - pay_cs[start]
        observed = sp.seconds + h * DAY <= observed_until
        hit = pd.array(paid >= p.ptp_min_share * past_due, dtype="boolean")
        hit[~observed | (past_due <= 0)] = pd.NA
        amount = np.where(observed, paid / 100, np.nan).astype(np.float32)
        if "payments" in ctx.inputs.absent_tables:  # no payment records: what was paid is unknown
            hit[:] = pd.NA
            amount[:] = np.nan
        out[contracts.paid_label(h)] = hit
        out[contracts.paid_amount_label(h)] = amount
    return out


def contact_labels(
    book: Book, p: FeaturesParams, observed_until: np.int64, payments_known: bool = True
) -> pd.DataFrame:
    """One row per contact: payment within N days after it and, for dated promises, whether it was kept
    (all empty when the source has no payment records: `payments_known` False)."""
    con, pay = book.contacts, book.payments
    idx = con.index
    n = p.contact_response_days
    pay_cs = prefix_sum(cents(pay.col("amount"), "payments", "amount"))
    lo = pay.index.before(idx.codes, idx.seconds)
    hi = pay.index.before(idx.codes, idx.seconds + n * DAY)
    amount = pay_cs[hi] - pay_cs[lo]
    observed = (idx.seconds + n * DAY <= observed_until) & payments_known
    paid = pd.array(amount > 0, dtype="boolean")
    paid[~observed] = pd.NA
    kept = pd.array(np.zeros(len(idx), dtype=bool), dtype="boolean")
    kept[:] = pd.NA
    pr = judge_promises(book)
    resolved = (pr.resolved_at + 1 <= observed_until) & payments_known
    kept[pr.rows[resolved]] = pr.kept[resolved]
    out = pd.DataFrame(
        {
            "contact_id": con.col("contact_id").astype(np.int64),
            "account_id": book.account_ids[idx.codes] if len(idx) else np.zeros(0, np.int64),
            "contacted_at": con.frame["contacted_at"].astype("datetime64[ns, UTC]"),
            "as_of_date": con.frame["contacted_at"]
            .dt.tz_convert("UTC")
            .dt.tz_localize(None)
            .dt.normalize()
            .astype("datetime64[ns]"),
            "channel": pd.Categorical.from_codes(category_codes(con.frame["channel"], CHANNELS), list(CHANNELS)),
            "outcome": pd.Categorical.from_codes(category_codes(con.frame["outcome"], OUTCOMES), list(OUTCOMES)),
            contracts.response_label(n): paid,
            contracts.response_amount_label(n): np.where(observed, amount / 100, np.nan).astype(np.float32),
            contracts.PROMISE_KEPT: kept,
        }
    )
    return out.sort_values("contact_id", kind="stable").reset_index(drop=True)
