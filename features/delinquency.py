"""Delinquency state: where the account stands and how it got there, from the statements.

Everything is computed once per statement row (looking back only) and read at the last
statement before the as-of date; an account with no statement yet is current (bucket 0,
0 days past due) with no history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.params import FeaturesParams
from core.schema import ACCOUNT_STATUSES
from features.asof import DAY, Context, category_codes
from features.cycles import ratio
from features.spec import Feature

SRC = "statements"
#: Statement columns a source may not report (core.schema), which some features need.
STATUS, BALANCE = "statements.status", "statements.balance"
DUE, PAST_DUE = "statements.amount_due", "statements.past_due_amount"


def specs(p: FeaturesParams) -> list[Feature]:
    last = "last statement before D"
    out = [
        Feature("days_past_due", "Days past due at the last statement (0 when there is none yet).", last, SRC),
        Feature("bucket", "Delinquency bucket code (params `buckets`) of `days_past_due`; 0 = current.", last, SRC),
        Feature(
            "account_status",
            "Account state at the last statement (category: " + ", ".join(ACCOUNT_STATUSES) + "; empty when "
            "the source does not report it). No row follows paid_off, closed or written_off: the account left the "
            "book.",
            last,
            SRC,
            needs=(STATUS,),
        ),
        Feature("past_due_amount", "Amount past due at the last statement.", last, SRC, needs=(PAST_DUE,)),
        Feature("balance", "Outstanding balance at the last statement.", last, SRC, needs=(BALANCE,)),
        Feature("amount_due", "Total amount due at the last statement, arrears included.", last, SRC, needs=(DUE,)),
        Feature("past_due_share", "past_due_amount / balance.", last, SRC, needs=(PAST_DUE, BALANCE)),
        Feature(
            "due_share",
            "amount_due / balance: how much of the balance the lender asks for now (nothing, a minimum, everything).",
            last,
            SRC,
            needs=(DUE, BALANCE),
        ),
        Feature("days_since_statement", "Days from the last statement's cycle date to D.", last, SRC),
        Feature("cycles_on_book", "Number of statements before D.", "all history", SRC),
        Feature("dpd_change_1c", "days_past_due minus its value one cycle earlier.", "last 2 cycles", SRC),
        Feature(
            "bucket_change_1c",
            "Bucket code minus its value one cycle earlier (>0 rolled forward).",
            "last 2 cycles",
            SRC,
        ),
    ]
    for k in p.cycle_windows:
        w = f"last {k} cycles"
        out += [
            Feature(f"worst_bucket_{k}c", "Highest bucket code reached.", w, SRC),
            Feature(f"max_dpd_{k}c", "Highest days past due.", w, SRC),
            Feature(f"mean_dpd_{k}c", "Mean days past due.", w, SRC),
            Feature(f"delinquent_cycles_{k}c", "Cycles with days past due > 0.", w, SRC),
            Feature(f"cures_{k}c", "Cycles that returned to current from a delinquent bucket.", w, SRC),
            Feature(f"roll_forwards_{k}c", "Cycles whose bucket rose from the cycle before.", w, SRC),
        ]
    out += [
        Feature(
            "consecutive_delinquent_cycles",
            "Current run of consecutive cycles with days past due > 0.",
            "all history",
            SRC,
        ),
        Feature(
            "cycles_since_delinquent",
            "Cycles since the last delinquent statement (0 = delinquent now; empty when never delinquent).",
            "all history",
            SRC,
        ),
        Feature("delinquent_cycles_total", "Statements with days past due > 0.", "all history", SRC),
        Feature("cycles_30plus_total", "Statements with days past due >= 30.", "all history", SRC),
        Feature("cures_total", "Returns to current from a delinquent bucket.", "all history", SRC),
        Feature("roll_forwards_total", "Cycles whose bucket rose from the cycle before.", "all history", SRC),
    ]
    return out


def compute(ctx: Context) -> dict[str, np.ndarray]:
    st = ctx.book.statements
    cyc = ctx.cycles
    dpd = st.col("days_past_due").astype(np.float64)
    bucket = ctx.bucket_codes.astype(np.float64)
    delinquent = dpd > 0
    prev_bucket = cyc.lag(bucket, 1)
    cure = (prev_bucket > 0) & (bucket == 0)
    roll = prev_bucket < bucket  # False where there is no previous cycle (NaN compares False)
    at = ctx.at_statement
    f32 = np.float32
    balance = st.col("balance").astype(np.float64)
    past_due = st.col("past_due_amount").astype(np.float64)
    stmt_secs = st.index.seconds
    out: dict[str, np.ndarray] = {
        "days_past_due": at(dpd, 0).astype(np.int32),
        "bucket": at(bucket, 0).astype(np.int8),
        "account_status": pd.Categorical.from_codes(
            at(category_codes(st.frame["status"], ACCOUNT_STATUSES), -1).astype(np.int64),
            categories=list(ACCOUNT_STATUSES),
        ),
        "past_due_amount": at(past_due).astype(f32),
        "balance": at(balance).astype(f32),
        "amount_due": at(st.col("amount_due").astype(np.float64)).astype(f32),
        "past_due_share": at(ratio(past_due, balance)).astype(f32),
        "due_share": at(ratio(st.col("amount_due"), balance)).astype(f32),
        "days_since_statement": ((ctx.spine.seconds - at(stmt_secs.astype(np.float64))) / DAY).astype(f32),
        "cycles_on_book": at(cyc.pos + 1.0, 0).astype(np.int16),
        "dpd_change_1c": at(dpd - cyc.lag(dpd, 1)).astype(f32),
        "bucket_change_1c": at(bucket - prev_bucket).astype(f32),
    }
    ks = ctx.params.cycle_windows
    counts = cyc.sums(np.column_stack([dpd, delinquent, cure, roll]), ks, ctx.last_statement)
    peaks = cyc.maxima(dpd, ks)
    for k in ks:
        total = counts[k]
        max_dpd = at(peaks[k], 0)
        out[f"worst_bucket_{k}c"] = ctx.buckets.code(max_dpd)  # buckets rise with days past due
        out[f"max_dpd_{k}c"] = max_dpd.astype(np.int32)
        out[f"mean_dpd_{k}c"] = ratio(total[:, 0], at(cyc.rows(k))).astype(f32)
        out[f"delinquent_cycles_{k}c"] = total[:, 1].astype(np.int16)
        out[f"cures_{k}c"] = total[:, 2].astype(np.int16)
        out[f"roll_forwards_{k}c"] = total[:, 3].astype(np.int16)
    out.update(
        {
            "consecutive_delinquent_cycles": at(cyc.streak(delinquent), 0).astype(np.int16),
            "cycles_since_delinquent": at(cyc.since_last(delinquent)).astype(f32),
            "delinquent_cycles_total": at(cyc.cumulative(delinquent), 0).astype(np.int16),
            "cycles_30plus_total": at(cyc.cumulative(dpd >= 30), 0).astype(np.int16),
            "cures_total": at(cyc.cumulative(cure), 0).astype(np.int16),
            "roll_forwards_total": at(cyc.cumulative(roll), 0).astype(np.int16),
        }
    )
    return out
