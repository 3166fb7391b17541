"""Product and account attributes, and how the balance moves against the account's size.

Contract terms come from `accounts` (known from the open date on); utilisation and spend
use the statements, scaled by the exposure (credit limit for revolving accounts, principal
otherwise) so that accounts of different sizes compare.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.params import FeaturesParams
from core.schema import PRODUCTS
from features.asof import DAY, Context, category_codes, cents, to_seconds, utc_offsets
from features.cycles import ratio
from features.spec import Feature

ACC, ST = "accounts", "accounts, statements"
DAYS_PER_MONTH = 30.4375


#: Account and statement columns these features are computed from.
EXPOSURE = "accounts.credit_limit|accounts.principal"
RATE, TERM, INSTALMENT = "accounts.annual_rate", "accounts.term_months", "accounts.instalment_amount"
OPENED, SCORE = "accounts.open_date", "accounts.origination_score"
BALANCE, PAID = "statements.balance", "statements.amount_paid"


def specs(p: FeaturesParams) -> list[Feature]:
    out = [
        Feature("product", "Product type (category: " + ", ".join(PRODUCTS) + ").", "-", ACC),
        Feature("exposure", "Credit limit (revolving) or principal (instalment, bnpl).", "-", ACC, needs=(EXPOSURE,)),
        Feature("annual_rate", "Nominal annual interest rate.", "-", ACC, needs=(RATE,)),
        Feature("term_months", "Contractual term in months (empty for revolving).", "-", ACC, needs=(TERM,)),
        Feature(
            "instalment_amount",
            "Contractual payment due each cycle (minimum payment for revolving).",
            "-",
            ACC,
            needs=(INSTALMENT,),
        ),
        Feature("instalment_to_exposure", "instalment_amount / exposure.", "-", ACC, needs=(INSTALMENT, EXPOSURE)),
        Feature(
            "origination_score",
            "Borrower's credit score at origination (empty where the source has none).",
            "-",
            ACC,
            needs=(SCORE,),
        ),
        Feature("months_on_book", "Months from the open date to D.", "as of D", ACC, needs=(OPENED,)),
        Feature("term_elapsed_share", "months_on_book / term_months.", "as of D", ACC, needs=(OPENED, TERM)),
        Feature("consent_sms", "Borrower consented to collection text messages.", "-", ACC),
        Feature("consent_email", "Borrower consented to collection e-mail.", "-", ACC),
        Feature("consent_call", "Borrower consented to collection calls.", "-", ACC),
        Feature(
            "utc_offset_hours", "Borrower's local time minus UTC at D, from the account's time zone.", "as of D", ACC
        ),
        Feature(
            "utilisation",
            "Balance / exposure at the last statement.",
            "last statement before D",
            ST,
            needs=(BALANCE, EXPOSURE),
        ),
        Feature(
            "spend_last",
            "New charges and interest in the last cycle (balance change + amount paid) / exposure.",
            "last cycle",
            ST,
            needs=(BALANCE, PAID, EXPOSURE),
        ),
    ]
    for k in p.cycle_windows:
        w = f"last {k} cycles"
        out += [
            Feature(
                f"utilisation_mean_{k}c",
                "Mean utilisation (of the cycles with a balance).",
                w,
                ST,
                needs=(BALANCE, EXPOSURE),
            ),
            Feature(f"utilisation_max_{k}c", "Highest utilisation.", w, ST, needs=(BALANCE, EXPOSURE)),
            Feature(
                f"utilisation_change_{k}c",
                f"Utilisation now minus {k} cycles ago (or at the first statement when the history is shorter).",
                w,
                ST,
                needs=(BALANCE, EXPOSURE),
            ),
            Feature(
                f"spend_mean_{k}c",
                "Mean of spend_last (of the cycles where it is known).",
                w,
                ST,
                needs=(BALANCE, PAID, EXPOSURE),
            ),
        ]
    return out


def compute(ctx: Context) -> dict[str, np.ndarray]:
    acc, sp, f32 = ctx.book.accounts, ctx.spine, np.float32
    codes = sp.codes
    limit = acc["credit_limit"].to_numpy(dtype=np.float64, na_value=np.nan)
    principal = acc["principal"].to_numpy(dtype=np.float64, na_value=np.nan)
    exposure_acc = np.where(np.isnan(limit), principal, limit)
    exposure = exposure_acc[codes]
    term = acc["term_months"].to_numpy(dtype=np.float64, na_value=np.nan)[codes]
    instalment = acc["instalment_amount"].to_numpy(dtype=np.float64, na_value=np.nan)[codes]
    months = (sp.seconds - to_seconds(acc["open_date"])[codes]) / DAY / DAYS_PER_MONTH
    offset = utc_offsets(acc["timezone"], codes, sp.seconds)
    out: dict[str, np.ndarray] = {
        "product": pd.Categorical.from_codes(
            category_codes(acc["product"], PRODUCTS)[codes], categories=list(PRODUCTS)
        ),
        "exposure": exposure.astype(f32),
        "annual_rate": acc["annual_rate"].to_numpy(dtype=np.float64, na_value=np.nan)[codes].astype(f32),
        "term_months": term.astype(f32),
        "instalment_amount": instalment.astype(f32),
        "instalment_to_exposure": ratio(instalment, exposure).astype(f32),
        "origination_score": acc["origination_score"].to_numpy(dtype=np.float64, na_value=np.nan)[codes].astype(f32),
        "months_on_book": months.astype(f32),
        "term_elapsed_share": ratio(months, term).astype(f32),
        "consent_sms": acc["consent_sms"].to_numpy(dtype=bool)[codes],
        "consent_email": acc["consent_email"].to_numpy(dtype=bool)[codes],
        "consent_call": acc["consent_call"].to_numpy(dtype=bool)[codes],
        "utc_offset_hours": (offset / 3600).astype(f32),
    }
    st, cyc, at = ctx.book.statements, ctx.cycles, ctx.at_statement
    stmt_exposure = exposure_acc[st.index.codes] if len(st.index) else np.zeros(0)
    raw_balance = st.col("balance").astype(np.float64)
    raw_paid = st.col("amount_paid").astype(np.float64)
    has_balance = ~np.isnan(raw_balance)
    balance = cents(raw_balance, "statements", "balance")
    # spend: what the balance gained besides payments (charges, interest); none for a first statement,
    # nor where a balance or the amount paid is not reported
    has_spend = (cyc.pos > 0) & has_balance & (cyc.lag(has_balance, 1, fill=0) > 0) & ~np.isnan(raw_paid)
    spend = (
        balance - cyc.lag(balance, 1, fill=0).astype(np.int64) + cents(raw_paid, "statements", "amount_paid")
    ) * has_spend
    util = np.where(has_balance, ratio(balance / 100, stmt_exposure), np.nan)
    out["utilisation"] = at(util).astype(f32)
    out["spend_last"] = at(np.where(has_spend, ratio(spend / 100, stmt_exposure), np.nan)).astype(f32)
    ks = ctx.params.cycle_windows
    # the exposure is fixed per account, so window means and maxima of ratios are ratios of cents
    totals = cyc.sums(np.column_stack([balance * has_balance, spend, has_spend, has_balance]), ks, ctx.last_statement)
    peaks = cyc.maxima(np.where(has_balance, balance, np.nan), ks)
    scale = at(stmt_exposure) * 100
    for k in ks:
        total = totals[k]
        out[f"utilisation_mean_{k}c"] = ratio(total[:, 0], total[:, 3] * scale).astype(f32)
        out[f"utilisation_max_{k}c"] = ratio(at(peaks[k]), scale).astype(f32)
        out[f"utilisation_change_{k}c"] = at(cyc.change(util, k)).astype(f32)
        out[f"spend_mean_{k}c"] = ratio(total[:, 1], total[:, 2] * scale).astype(f32)
    return out
