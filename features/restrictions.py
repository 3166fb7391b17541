"""Restrictions in force at the as-of date: what may not be done to this account on day D.

A restriction is in force at D when it started before D 00:00 UTC and has not ended by
then (no end, or an end after D). Borrower-wide rows were fanned out to the borrower's
accounts when the book was indexed. Knowing that a restriction will end after D is no
leak: at D it is simply still in force.

`contact_blocked` uses the compliance rulebook's blocking kinds (core.compliance.BLOCKING_KINDS,
the kinds both default jurisdiction profiles treat as stopping every collection contact), not the
profile of each account's region. A feature is a fact about the account's history for models, so
its meaning must not depend on where the borrower lives or on an edit of `compliance:` in
params.yaml (which would silently change the training data of a registered model). Whether an
account may be contacted today, under its own profile, is the rulebook's question, asked by the
simulator and the strategy directly.
"""

from __future__ import annotations

import numpy as np

from core.compliance import BLOCKING_KINDS
from core.params import FeaturesParams
from core.schema import CONSENT_CHANNELS, RESTRICTION_KINDS
from features.asof import Context, category_codes, to_seconds
from features.spec import Feature

SRC = "restrictions"


def specs(p: FeaturesParams) -> list[Feature]:
    out = [Feature(f"restricted_{k}", f"A `{k}` restriction is in force.", "as of D", SRC) for k in RESTRICTION_KINDS]
    out += [
        Feature(
            f"opt_out_{ch}",
            f"The borrower opted out of {ch} (channel_opt_out for {ch} or for every "
            "channel) and the opt-out is in force.",
            "as of D",
            SRC,
        )
        for ch in CONSENT_CHANNELS
    ]
    out += [
        Feature(
            "contact_blocked",
            "Any of " + ", ".join(BLOCKING_KINDS) + " is in force: no collection contact "
            "(the compliance rulebook's blocking restriction kinds).",
            "as of D",
            SRC,
        ),
        Feature("restrictions_total", "Restrictions that started before D, in force or not.", "all history", SRC),
    ]
    return out


def compute(ctx: Context) -> dict[str, np.ndarray]:
    res = ctx.book.restrictions
    idx = res.index
    start = idx.seconds
    # ended by D  <=>  ceil(end) <= D  <=>  ceil(end) - 1 < D; never before the start
    ended = np.maximum(to_seconds(res.frame["end_at"], ceil=True) - 1, start)
    kind = category_codes(res.frame["kind"], RESTRICTION_KINDS)
    channel = category_codes(res.frame["channel"], CONSENT_CHANNELS)
    is_opt_out = kind == RESTRICTION_KINDS.index("channel_opt_out")
    every_channel = res.frame["channel"].isna().to_numpy()
    n_kinds, n_ch = len(RESTRICTION_KINDS), len(CONSENT_CHANNELS)
    # labels: one per kind, then one per consent channel for opt-outs (every-channel rows count in each)
    rows = [np.flatnonzero(kind >= 0)]
    labels = [kind[rows[0]]]
    for c in range(n_ch):
        hit = np.flatnonzero(is_opt_out & ((channel == c) | every_channel))
        rows.append(hit)
        labels.append(np.full(len(hit), n_kinds + c))
    rows_all, labels_all = np.concatenate(rows), np.concatenate(labels)
    n_labels = n_kinds + n_ch
    spreader = ctx.spreader
    started_n = spreader.count(spreader.targets(idx.codes[rows_all], start[rows_all]), labels_all, n_labels)
    ended_n = spreader.count(spreader.targets(idx.codes[rows_all], ended[rows_all]), labels_all, n_labels)
    in_force = (started_n - ended_n) > 0
    out: dict[str, np.ndarray] = {f"restricted_{k}": in_force[:, i] for i, k in enumerate(RESTRICTION_KINDS)}
    for c, ch in enumerate(CONSENT_CHANNELS):
        out[f"opt_out_{ch}"] = in_force[:, n_kinds + c]
    out["contact_blocked"] = in_force[:, [RESTRICTION_KINDS.index(k) for k in BLOCKING_KINDS]].any(axis=1)
    out["restrictions_total"] = started_n[:, :n_kinds].sum(axis=1, dtype=np.int32)
    return out
