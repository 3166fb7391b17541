"""Payment behaviour: how much, how often, how regularly and against what was due.

Two sources: the statements give, per cycle, what was paid against what the previous
statement asked for (paid in full / at least the amount due / partly / nothing); the
payments table gives day-accurate windows before D, recency, method, and the borrower's
inferred payday (dominant local day of month and weekday of past payments), which is what
timing decisions need.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.params import FeaturesParams
from features.asof import DAY, Context, cents, prefix_sum, take, utc_offsets
from features.cycles import ratio
from features.spec import Feature

#: Per cycle, what the payments did to what the previous statement asked for.
PAY_STATUSES = ("no_balance", "full", "minimum", "partial", "none")
#: Payments within this many currency units of a target count as meeting it (rounding).
TOLERANCE = 1.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


#: Statement columns the per-cycle payment features are computed from.
PAID, DUE, BALANCE = "statements.amount_paid", "statements.amount_due", "statements.balance"


def specs(p: FeaturesParams) -> list[Feature]:
    st, pay = "statements", "payments"
    status_needs = (PAID, DUE, BALANCE)
    out = [
        Feature("amount_paid_last", "Amount paid during the last cycle.", "last cycle", st, needs=(PAID,)),
        Feature(
            "pay_status_last",
            "Last cycle's payment against the previous statement: "
            + ", ".join(PAY_STATUSES)
            + " (no_balance: nothing was owed; minimum: at least the amount "
            "due but not the balance; empty when an amount is not reported).",
            "last cycle",
            st,
            needs=status_needs,
        ),
        Feature(
            "paid_to_due_last",
            "Paid in the last cycle / amount due at the statement before.",
            "last cycle",
            st,
            needs=(PAID, DUE),
        ),
        Feature(
            "paid_to_balance_last",
            "Paid in the last cycle / balance at the statement before.",
            "last cycle",
            st,
            needs=(PAID, BALANCE),
        ),
    ]
    for k in p.cycle_windows:
        w = f"last {k} cycles"
        out += [
            Feature(
                f"paid_to_due_{k}c",
                "Sum paid / sum of amounts due at the statements before (cycles with both reported).",
                w,
                st,
                needs=(PAID, DUE),
            ),
            Feature(
                f"paid_to_balance_{k}c",
                "Sum paid / sum of balances at the statements before (cycles with both reported).",
                w,
                st,
                needs=(PAID, BALANCE),
            ),
        ]
        out += [
            Feature(
                f"pay_{s}_share_{k}c",
                f"Share of cycles whose payment status was `{s}` (among those with one).",
                w,
                st,
                needs=status_needs,
            )
            for s in PAY_STATUSES
        ]
    out.append(
        Feature(
            "cycles_since_payment",
            "Cycles since the last cycle with a payment (0 = last cycle; empty when none).",
            "all history",
            st,
            needs=(PAID,),
        )
    )
    for w in p.payment_windows_days:
        out += [
            Feature(f"pay_count_{w}d", "Number of payments.", f"{w} days before D", pay),
            Feature(f"pay_amount_{w}d", "Sum of payments.", f"{w} days before D", pay),
        ]
    out += [
        Feature("pay_count_total", "Number of payments.", "all history", pay),
        Feature("days_since_payment", "Days from the last payment to D (empty when none).", "all history", pay),
        Feature("last_payment_amount", "Amount of the last payment.", "all history", pay),
        Feature(
            "paid_since_statement",
            "Paid after the last statement's cycle date and before D "
            "(what nightly scoring knows that the statement does not).",
            "since last statement",
            pay,
        ),
        Feature("direct_debit_share", "Share of payments made by direct debit.", "all history", pay),
        Feature(
            "payday_dom",
            "Inferred payday: local day of month (1-31) around which most payments fall (3-day window).",
            "all history",
            pay,
        ),
        Feature("payday_dom_share", "Share of payments within a day of `payday_dom` (regularity).", "all history", pay),
        Feature("payday_weekday", "Most frequent local weekday of payments (0 = Monday).", "all history", pay),
        Feature("payday_weekday_share", "Share of payments on `payday_weekday`.", "all history", pay),
        Feature(
            "days_until_payday_dom", "Days from D to the next `payday_dom` (clipped to month end).", "as of D", pay
        ),
        Feature("days_until_payday_weekday", "Days from D to the next `payday_weekday`.", "as of D", pay),
    ]
    return out


def pay_status(ctx: Context) -> np.ndarray:
    """Per statement row, the PAY_STATUSES code of its cycle (-1 for an account's first statement, or
    where the amount paid, the previous balance or the previous amount due is not reported)."""
    st, cyc = ctx.book.statements, ctx.cycles
    paid = st.col("amount_paid").astype(np.float64)
    prev_balance = cyc.lag(st.col("balance").astype(np.float64), 1)
    prev_due = cyc.lag(st.col("amount_due").astype(np.float64), 1)
    status = np.select(
        [
            np.isnan(prev_balance) | np.isnan(paid) | (np.isnan(prev_due) & (prev_balance >= TOLERANCE)),
            prev_balance < TOLERANCE,
            paid >= prev_balance - TOLERANCE,
            paid >= prev_due - TOLERANCE,
            paid > 0,
        ],
        [-1, 0, 1, 2, 3],
        default=4,
    )
    return status.astype(np.int8)


def compute(ctx: Context) -> dict[str, np.ndarray]:
    out = _cycle_features(ctx)
    out.update(_event_features(ctx))
    return out


def _cycle_features(ctx: Context) -> dict[str, np.ndarray]:
    st, cyc, at, f32 = ctx.book.statements, ctx.cycles, ctx.at_statement, np.float32
    paid = st.col("amount_paid").astype(np.float64)
    prev_due = cyc.lag(st.col("amount_due").astype(np.float64), 1)
    prev_balance = cyc.lag(st.col("balance").astype(np.float64), 1)
    status = pay_status(ctx)
    paid_after_prev = np.where(np.isnan(prev_balance), np.nan, paid)  # a first cycle has nothing to pay against
    last_status = at(status, -1).astype(np.int8)
    out: dict[str, np.ndarray] = {
        "amount_paid_last": at(paid).astype(f32),
        "pay_status_last": pd.Categorical.from_codes(last_status, categories=list(PAY_STATUSES)),
        "paid_to_due_last": at(ratio(paid_after_prev, prev_due)).astype(f32),
        "paid_to_balance_last": at(ratio(paid_after_prev, prev_balance)).astype(f32),
    }
    valid = status >= 0  # a first statement has nothing to pay against; an unreported amount, nothing known
    onehot = status[:, None] == np.arange(len(PAY_STATUSES))[None, :]
    # window ratios over the cycles where both amounts are reported (a missing one is never read as 0)
    has_prev = ~np.isnan(prev_balance)
    due_known = has_prev & ~np.isnan(paid) & ~np.isnan(prev_due)
    balance_known = has_prev & ~np.isnan(paid)
    money = cents(
        np.column_stack([paid, prev_due, prev_balance]), "statements", ("amount_paid", "amount_due", "balance")
    )
    series = np.column_stack(
        [money[:, 0] * due_known, money[:, 1] * due_known, money[:, 0] * balance_known, money[:, 2] * balance_known]
    )
    series = np.column_stack([series, valid, onehot])
    for k, total in cyc.sums(series, ctx.params.cycle_windows, ctx.last_statement).items():
        out[f"paid_to_due_{k}c"] = ratio(total[:, 0], total[:, 1]).astype(f32)
        out[f"paid_to_balance_{k}c"] = ratio(total[:, 2], total[:, 3]).astype(f32)
        for code, name in enumerate(PAY_STATUSES):
            out[f"pay_{name}_share_{k}c"] = ratio(total[:, 5 + code], total[:, 4]).astype(f32)
    out["cycles_since_payment"] = at(cyc.since_last(paid > 0)).astype(f32)
    return out


def _event_features(ctx: Context) -> dict[str, np.ndarray]:
    pay, sp, f32 = ctx.book.payments, ctx.spine, np.float32
    idx = pay.index
    codes, secs = sp.codes, sp.seconds
    amount = cents(pay.col("amount"), "payments", "amount")
    amount_cs = prefix_sum(amount)
    first = idx.first(codes)
    end = idx.before(codes, secs)
    out: dict[str, np.ndarray] = {}
    for w in ctx.params.payment_windows_days:
        start = idx.before(codes, secs - w * DAY)
        out[f"pay_count_{w}d"] = (end - start).astype(np.int32)
        out[f"pay_amount_{w}d"] = ((amount_cs[end] - amount_cs[start]) / 100).astype(f32)
    n_total = end - first
    last = np.where(end > first, end - 1, -1)
    out["pay_count_total"] = n_total.astype(np.int32)
    out["days_since_payment"] = ((secs - take(idx.seconds, last)) / DAY).astype(f32)
    out["last_payment_amount"] = take(pay.col("amount").astype(np.float64), last).astype(f32)
    # payments on a statement's cycle date belong to that statement: "since" starts the day after
    stmt_secs = ctx.at_statement(ctx.book.statements.index.seconds, -1)
    since = np.where(stmt_secs >= 0, idx.before(codes, stmt_secs + DAY), first)
    since = np.minimum(since, end)
    out["paid_since_statement"] = ((amount_cs[end] - amount_cs[since]) / 100).astype(f32)
    dd = prefix_sum(pay.frame["method"].isin(["direct_debit"]).to_numpy())
    out["direct_debit_share"] = ratio(dd[end] - dd[first], n_total).astype(f32)
    out.update(_payday(ctx, n_total))
    return out


def _payday(ctx: Context, n_total: np.ndarray) -> dict[str, np.ndarray]:
    """Dominant local day of month and weekday of past payments, and the days until the next one."""
    pay, sp = ctx.book.payments, ctx.spine
    idx = pay.index
    local_day = (idx.seconds + utc_offsets(ctx.book.accounts["timezone"], idx.codes, idx.seconds)) // DAY
    dates = np.datetime64("1900-01-01", "D") + local_day.astype("timedelta64[D]")
    dom = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)  # 0..30
    weekday = local_day % 7  # 1900-01-01 was a Monday
    has = n_total > 0
    total = np.where(has, n_total, 1).astype(np.float64)

    target = ctx.spreader.targets(idx.codes, idx.seconds)
    dom_counts = ctx.spreader.count(target, dom, 31)
    smooth = dom_counts + np.roll(dom_counts, 1, axis=1) + np.roll(dom_counts, -1, axis=1)
    # ties between neighbouring windows go to the day that itself holds more payments
    best_dom = (smooth + dom_counts / (n_total[:, None] + 1.0)).argmax(axis=1)
    dom_share = smooth[np.arange(len(best_dom)), best_dom] / total
    del dom_counts, smooth
    wd_counts = ctx.spreader.count(target, weekday, 7)
    best_wd = wd_counts.argmax(axis=1)
    wd_share = wd_counts[np.arange(len(best_wd)), best_wd] / total

    day = sp.as_of.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    this_start = month.astype("datetime64[D]")
    next_start = (month + 1).astype("datetime64[D]")
    after_start = (month + 2).astype("datetime64[D]")
    this_target = this_start + np.minimum(best_dom, (next_start - this_start).astype(np.int64) - 1)
    next_target = next_start + np.minimum(best_dom, (after_start - next_start).astype(np.int64) - 1)
    next_payday = np.where(this_target >= day, this_target, next_target)
    as_of_weekday = (sp.seconds // DAY) % 7
    nan = np.float32(np.nan)
    return {
        "payday_dom": np.where(has, best_dom + 1, nan).astype(np.float32),
        "payday_dom_share": np.where(has, dom_share, nan).astype(np.float32),
        "payday_weekday": np.where(has, best_wd, nan).astype(np.float32),
        "payday_weekday_share": np.where(has, wd_share, nan).astype(np.float32),
        "days_until_payday_dom": np.where(has, (next_payday - day).astype(np.int64), nan).astype(np.float32),
        "days_until_payday_weekday": np.where(has, (best_wd - as_of_weekday) % 7, nan).astype(np.float32),
    }
