"""Contact history: how often each channel was tried, what reached the borrower, and promises.

Counts "before D" are accumulated per spine row (`asof.Spreader`), so memory grows with rows x
labels, not with contacts. Promises are judged only once their promise date has passed
before D: a promise is kept when the payments from the contact to the end of the promise
date reach the promised amount; until then it is "open".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.params import FeaturesParams
from core.schema import CHANNELS
from features.asof import (
    DAY,
    NEVER,
    Book,
    Context,
    EventIndex,
    category_codes,
    cents,
    prefix_sum,
    take,
    to_seconds,
    utc_offsets,
)
from features.cycles import ratio
from features.payments import TOLERANCE, WEEKDAYS
from features.spec import Feature

#: Outcomes where the message or call reached someone (calls: somebody answered).
REACHED = (
    "delivered",
    "opened",
    "wrong_party",
    "right_party_contact",
    "promise_to_pay",
    "refused",
    "dispute_raised",
    "cease_request",
)
#: Outcomes where the borrower themself was reached (right-party contact).
RIGHT_PARTY = ("right_party_contact", "promise_to_pay", "refused", "dispute_raised", "cease_request")
SRC = "contacts"


def hour_bands(p: FeaturesParams) -> list[str]:
    e = p.hour_band_edges
    return [f"{a:02d}_{b:02d}h" for a, b in zip(e[:-1], e[1:], strict=True)]


def specs(p: FeaturesParams) -> list[Feature]:
    out: list[Feature] = []
    for ch in CHANNELS:
        out += [
            Feature(f"{ch}_attempts_{w}d", f"{ch} contact attempts.", f"{w} days before D", SRC)
            for w in p.contact_windows_days
        ]
        out += [
            Feature(f"{ch}_attempts_total", f"{ch} contact attempts.", "all history", SRC),
            Feature(
                f"{ch}_reach_rate",
                f"Share of {ch} attempts that reached someone (delivered, opened or answered).",
                "all history",
                SRC,
            ),
            Feature(
                f"{ch}_rpc_rate",
                f"Share of {ch} attempts that reached the borrower (right-party contact).",
                "all history",
                SRC,
            ),
        ]
    out += [
        Feature(f"contacts_{w}d", "Contact attempts, all channels.", f"{w} days before D", SRC)
        for w in p.contact_windows_days
    ]
    out += [
        Feature("contacts_total", "Contact attempts, all channels.", "all history", SRC),
        Feature("days_since_contact", "Days from the last attempt to D.", "all history", SRC),
        Feature("days_since_rpc", "Days from the last right-party contact to D.", "all history", SRC),
        Feature(
            "days_since_call_conversation",
            "Days from the last call that reached the borrower to D "
            "(Regulation F: 7 days after a telephone conversation).",
            "all history",
            SRC,
        ),
    ]
    out += [
        Feature(
            f"call_answer_rate_{band}",
            f"Share of calls answered, placed {band[:2]}:00-{band[3:5]}:00 borrower local time.",
            "all history",
            SRC,
        )
        for band in hour_bands(p)
    ]
    out += [
        Feature(f"call_answer_rate_{day}", f"Share of calls answered, placed on a {day} (local).", "all history", SRC)
        for day in WEEKDAYS
    ]
    src = "contacts, payments"
    out += [
        Feature("ptp_total", "Promises to pay made.", "all history", SRC),
        Feature(
            "ptp_kept_total",
            "Promises whose date passed before D with the promised amount paid from the "
            "contact to the end of the promise date.",
            "all history",
            src,
        ),
        Feature(
            "ptp_broken_total",
            "Promises whose date passed before D without the promised amount paid.",
            "all history",
            src,
        ),
        Feature("ptp_kept_ratio", "ptp_kept_total / (kept + broken).", "all history", src),
        Feature(
            "days_since_broken_ptp", "Days from the promise date of the last broken promise to D.", "all history", src
        ),
        Feature("open_ptp_count", "Promises made before D whose promise date is D or later.", "as of D", SRC),
        Feature("open_ptp_amount", "Amount of the open promises.", "as of D", SRC),
        Feature(
            "last_ptp_days_to_date",
            "Promise date of the last promise minus D, in days (negative: passed).",
            "all history",
            SRC,
        ),
        Feature("refusals_total", "Contacts where the borrower refused to pay.", "all history", SRC),
    ]
    return out


def compute(ctx: Context) -> dict[str, np.ndarray]:
    con, p, spreader = ctx.book.contacts, ctx.params, ctx.spreader
    idx = con.index
    codes, secs = idx.codes, idx.seconds
    channel = category_codes(con.frame["channel"], CHANNELS)
    known = channel >= 0  # validation quarantines unknown channels; never count them here
    channel = np.maximum(channel, 0)
    outcome = con.frame["outcome"]
    reached = outcome.isin(REACHED).to_numpy() & known
    rpc = outcome.isin(RIGHT_PARTY).to_numpy() & known
    n_ch = len(CHANNELS)
    target = spreader.targets(codes, secs)
    # one pass for all channels x {not reached, reached someone, reached the borrower}
    reach_level = reached.astype(np.int64) + rpc
    by_level = spreader.count(target, channel * 3 + reach_level, n_ch * 3, known).reshape(-1, n_ch, 3)
    attempts = by_level.sum(axis=2)
    reached_n = by_level[:, :, 1] + by_level[:, :, 2]
    rpc_n = by_level[:, :, 2]
    windows = {
        w: attempts - spreader.count(spreader.targets(codes, secs + w * DAY), channel, n_ch, known)
        for w in p.contact_windows_days
    }

    out: dict[str, np.ndarray] = {}
    f32 = np.float32
    for c, ch in enumerate(CHANNELS):
        for w in p.contact_windows_days:
            out[f"{ch}_attempts_{w}d"] = windows[w][:, c].astype(np.int16)
        out[f"{ch}_attempts_total"] = attempts[:, c]
        out[f"{ch}_reach_rate"] = ratio(reached_n[:, c], attempts[:, c]).astype(f32)
        out[f"{ch}_rpc_rate"] = ratio(rpc_n[:, c], attempts[:, c]).astype(f32)
    for w in p.contact_windows_days:
        out[f"contacts_{w}d"] = windows[w].sum(axis=1, dtype=np.int32)
    out["contacts_total"] = attempts.sum(axis=1, dtype=np.int32)
    is_call = known & (channel == CHANNELS.index("call"))
    out["days_since_contact"] = _days_since(ctx, known)
    out["days_since_rpc"] = _days_since(ctx, rpc)
    out["days_since_call_conversation"] = _days_since(ctx, rpc & is_call)

    local = secs + utc_offsets(ctx.book.accounts["timezone"], codes, secs)
    hour = (local % DAY) // 3600
    edges = np.asarray(p.hour_band_edges)
    band = np.searchsorted(edges, hour, side="right") - 1
    in_band = is_call & (hour >= edges[0]) & (hour < edges[-1])
    n_band = len(edges) - 1
    by_band = spreader.count(target, np.maximum(band, 0) * 2 + reached, n_band * 2, in_band).reshape(-1, n_band, 2)
    for b, name in enumerate(hour_bands(p)):
        out[f"call_answer_rate_{name}"] = ratio(by_band[:, b, 1], by_band[:, b].sum(axis=1)).astype(f32)
    weekday = (local // DAY) % 7
    by_day = spreader.count(target, weekday * 2 + reached, 14, is_call).reshape(-1, 7, 2)
    for d, name in enumerate(WEEKDAYS):
        out[f"call_answer_rate_{name}"] = ratio(by_day[:, d, 1], by_day[:, d].sum(axis=1)).astype(f32)
    out.update(_promises(ctx, outcome.isin(["promise_to_pay"]).to_numpy()))
    out["refusals_total"] = spreader.count(
        target, np.zeros(len(codes), np.int64), 1, outcome.isin(["refused"]).to_numpy()
    )[:, 0]
    return out


def _days_since(ctx: Context, rows: np.ndarray) -> np.ndarray:
    idx = ctx.book.contacts.index
    sub = EventIndex(idx.codes[rows], idx.seconds[rows])
    last = sub.last_before(ctx.spine.codes, ctx.spine.seconds)
    return ctx.spine.days_since(take(sub.seconds, last, NEVER))


@dataclass(frozen=True)
class Promises:
    """Promises to pay with a promise date, in contact order, and how each one ended."""

    rows: np.ndarray  # positions in the sorted contacts table
    codes: np.ndarray
    made: np.ndarray  # seconds of the contact
    resolved_at: np.ndarray  # last second of the promise date (never before the contact)
    promise_seconds: np.ndarray
    promised: np.ndarray  # cents
    kept: np.ndarray  # payments from the contact to the end of the promise date reached the amount


def judge_promises(book: Book) -> Promises:
    """Whether each dated promise was kept, from the payments between the contact and its promise date."""
    con, pay = book.contacts, book.payments
    idx = con.index
    promise_secs = to_seconds(con.frame["promise_date"])
    is_ptp = con.frame["outcome"].isin(["promise_to_pay"]).to_numpy()
    rows = np.flatnonzero(is_ptp & (promise_secs < NEVER))
    codes, made = idx.codes[rows], idx.seconds[rows]
    resolved_at = np.maximum(promise_secs[rows] + DAY - 1, made)
    promised = cents(con.col("promise_amount")[rows], "contacts", "promise_amount")
    pay_cs = prefix_sum(cents(pay.col("amount"), "payments", "amount"))
    lo = pay.index.before(codes, made)
    hi = np.maximum(pay.index.before(codes, resolved_at + 1), lo)
    kept = (pay_cs[hi] - pay_cs[lo]) >= promised - round(TOLERANCE * 100)
    return Promises(rows, codes, made, resolved_at, promise_secs[rows], promised, kept)


def _promises(ctx: Context, is_ptp: np.ndarray) -> dict[str, np.ndarray]:
    sp, idx = ctx.spine, ctx.book.contacts.index
    pr = judge_promises(ctx.book)
    codes, made, resolved_at, promised, kept = pr.codes, pr.made, pr.resolved_at, pr.promised, pr.kept
    order = np.lexsort((resolved_at, codes))
    res = EventIndex(codes[order], resolved_at[order])
    kept_sorted = kept[order]
    res_end = res.before(sp.codes, sp.seconds)
    res_first = res.first(sp.codes)
    kept_cs = prefix_sum(kept_sorted)
    n_resolved = res_end - res_first
    n_kept = kept_cs[res_end] - kept_cs[res_first]
    broken = EventIndex(res.codes[~kept_sorted], res.seconds[~kept_sorted])
    last_broken = broken.last_before(sp.codes, sp.seconds)

    made_idx = EventIndex(codes, made)  # contacts are already sorted by (code, time)
    made_end = made_idx.before(sp.codes, sp.seconds)
    made_first = made_idx.first(sp.codes)
    amount_made = prefix_sum(promised)
    amount_resolved = prefix_sum(promised[order])
    ptp_idx = EventIndex(idx.codes[is_ptp], idx.seconds[is_ptp])
    last_dated = made_idx.last_before(sp.codes, sp.seconds)
    open_amount = (amount_made[made_end] - amount_made[made_first]) - (
        amount_resolved[res_end] - amount_resolved[res_first]
    )
    f32 = np.float32
    return {
        "ptp_total": (ptp_idx.before(sp.codes, sp.seconds) - ptp_idx.first(sp.codes)).astype(np.int32),
        "ptp_kept_total": n_kept.astype(np.int32),
        "ptp_broken_total": (n_resolved - n_kept).astype(np.int32),
        "ptp_kept_ratio": ratio(n_kept, n_resolved).astype(f32),
        "days_since_broken_ptp": sp.days_since(take(broken.seconds - (DAY - 1), last_broken, NEVER)),
        "open_ptp_count": ((made_end - made_first) - n_resolved).astype(np.int32),
        "open_ptp_amount": (open_amount / 100).astype(f32),
        "last_ptp_days_to_date": ((take(pr.promise_seconds.astype(np.float64), last_dated) - sp.seconds) / DAY).astype(
            f32
        ),
    }
