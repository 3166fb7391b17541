"""The harm a contact risks, per channel, from the lender's own tables: cease requests and opt-outs per contact.

A contact can make a borrower ask the lender to stop (a `cease_communication` restriction) or opt out
of the channel (a `channel_opt_out` restriction); the strategy prices both (`contact.cease_price`,
`contact.opt_out_price`). The lender's tables say when each restriction started, not which contact
caused it, so a restriction is attributed to the borrower's **last contact before it started**, if that
contact was at most `ATTRIBUTION_DAYS` days earlier (for an opt-out, only a contact on the opted-out
channel); a restriction with no such contact is not counted (the borrower acted on their own). The rate of
a channel is the attributed restrictions over its contacts.

Complaints are not in the schema's tables (a lender keeps them in a complaints register): their rate
per contact is a parameter, `strategy.complaints_per_contact`, never estimated here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.schema import CHANNELS

#: A restriction is attributed to the borrower's last contact if it started within this many days of it.
ATTRIBUTION_DAYS = 2


@dataclass(frozen=True)
class HarmRates:
    """Per channel (core.schema.CHANNELS order): cease requests and opt-outs per contact, and the contacts counted."""

    cease: dict[str, float]
    opt_out: dict[str, float]
    contacts: dict[str, int]

    def as_dict(self) -> dict[str, dict[str, float] | dict[str, int]]:
        return {"cease": self.cease, "opt_out": self.opt_out, "contacts": self.contacts}

    @classmethod
    def from_dict(cls, d: dict) -> HarmRates:
        return cls(
            {k: float(v) for k, v in d["cease"].items()},
            {k: float(v) for k, v in d["opt_out"].items()},
            {k: int(v) for k, v in d["contacts"].items()},
        )

    def price(self, cease_price: float, opt_out_price: float, complaint_price: float, complaints: float) -> np.ndarray:
        """Expected harm cost of one contact per channel (CHANNELS order)."""
        return np.array(
            [
                cease_price * self.cease.get(c, 0.0)
                + opt_out_price * self.opt_out.get(c, 0.0)
                + complaint_price * complaints
                for c in CHANNELS
            ]
        )


def _attributed(contacts: pd.DataFrame, restrictions: pd.DataFrame, by_channel: bool) -> pd.Series:
    """Channel of the last contact before each restriction (within ATTRIBUTION_DAYS), or missing."""
    if restrictions.empty or contacts.empty:
        return pd.Series([], dtype=object)
    c = contacts[["borrower_id", "contacted_at", "channel"]].dropna()
    r = restrictions[["borrower_id", "start_at", "channel"]].dropna(subset=["borrower_id", "start_at"])
    c = c.assign(t=pd.to_datetime(c["contacted_at"], utc=True), channel=c["channel"].astype(str))
    r = r.assign(t=pd.to_datetime(r["start_at"], utc=True), wanted=r["channel"].astype(object))
    keys = ["borrower_id"] + (["channel"] if by_channel else [])
    if by_channel:
        r = r.dropna(subset=["wanted"]).assign(channel=lambda x: x["wanted"].astype(str))
    hit = pd.merge_asof(
        r.sort_values("t")[["t", *keys]],
        c.sort_values("t").assign(last_channel=lambda x: x["channel"])[["t", *keys, "last_channel"]],
        on="t",
        by=keys,
        direction="backward",
        allow_exact_matches=True,
        tolerance=pd.Timedelta(days=ATTRIBUTION_DAYS),
    )
    return hit["last_channel"]


def harm_rates(tables: dict[str, pd.DataFrame]) -> HarmRates:
    """Cease requests and opt-outs per contact, per channel, from `contacts`, `restrictions` and `accounts`."""
    contacts = tables.get("contacts", pd.DataFrame(columns=["account_id", "contacted_at", "channel"]))
    restrictions = tables.get("restrictions", pd.DataFrame(columns=["borrower_id", "kind", "channel", "start_at"]))
    borrower = tables["accounts"].drop_duplicates("account_id").set_index("account_id")["borrower_id"]
    contacts = contacts.assign(borrower_id=contacts["account_id"].map(borrower))
    counts = contacts["channel"].astype(str).value_counts()
    kind = restrictions["kind"].astype(str)
    cease = _attributed(contacts, restrictions[kind == "cease_communication"], by_channel=False).value_counts()
    opt = _attributed(contacts, restrictions[kind == "channel_opt_out"], by_channel=True).value_counts()
    n = {c: int(counts.get(c, 0)) for c in CHANNELS}
    rate = lambda s, c: float(s.get(c, 0)) / n[c] if n[c] else 0.0  # noqa: E731
    return HarmRates({c: rate(cease, c) for c in CHANNELS}, {c: rate(opt, c) for c in CHANNELS}, n)
