"""The decision log (an optional table): how often the contact policy decided about the account, and how
often it chose not to contact.

Only a lender that logs every decision of its contact policy, "no contact" included, has this table
(core.schema `decisions`); without it these features are empty, never zero. A decision is dated by
`decided_at`, the start of the borrower's local day it was made for, so a row as of D counts the
decisions made before D 00:00 UTC: what was decided, never what came of it (outcomes are the contacts').
"""

from __future__ import annotations

import numpy as np

from core.params import FeaturesParams
from core.schema import NO_CONTACT
from features.asof import DAY, Context
from features.spec import Feature

SRC = "decisions"
#: The window of the decision features, in days before D.
WINDOW_DAYS = 30


def specs(p: FeaturesParams) -> list[Feature]:
    window = f"{WINDOW_DAYS} days before D"
    return [
        Feature(
            f"decisions_{WINDOW_DAYS}d",
            "Decisions the contact policy logged for the account (contacts and decisions not to contact): "
            "the days it was in arrears or charged off and shown to the policy.",
            window,
            SRC,
        ),
        Feature(
            f"decisions_none_share_{WINDOW_DAYS}d",
            "Share of those decisions that were not to contact (empty when none was logged).",
            window,
            SRC,
        ),
    ]


def compute(ctx: Context) -> dict[str, np.ndarray]:
    d = ctx.book.decisions
    idx = d.index
    none = (d.frame["action"] == NO_CONTACT).to_numpy(dtype=bool).astype(np.int64)
    spreader = ctx.spreader
    before = spreader.count(spreader.targets(idx.codes, idx.seconds), none, 2)
    older = spreader.count(spreader.targets(idx.codes, idx.seconds + WINDOW_DAYS * DAY), none, 2)
    window = before - older
    total = window.sum(axis=1)
    share = np.where(total > 0, window[:, 1] / np.maximum(total, 1), np.nan)
    return {
        f"decisions_{WINDOW_DAYS}d": total.astype(np.int32),
        f"decisions_none_share_{WINDOW_DAYS}d": share.astype(np.float32),
    }
