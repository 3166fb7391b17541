"""The true outcomes of running the world under a policy: what a replay returns.

Only events on days after the evaluation start (`policy_start`, by default start_date) count,
so the burn-in, which always runs business as usual, never blurs a comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.schema import CHANNELS

REFUSAL_REASONS = (
    "unknown_account",
    "not_in_states",
    "unknown_channel",
    "outside_hours",
    "channel_not_allowed",
    "duplicate_borrower",
)
_COUNTERS = (
    "right_party_contacts",
    "promises",
    "promises_kept",
    "complaints",
    "cease_requests",
    "opt_outs",
    "disputes",
    "plans_started",
    "plans_broken",
    "charge_offs",
)
_AMOUNTS = (
    "amount_recovered",
    "amount_paid",
    "collected_past_due",
    "rescued_by_reminder",  # ORACLE: bills a pre-delinquency reminder kept from being missed
    "recovered_after_charge_off",
    "contact_cost",
    "charged_off_balance",
)


class Tally:
    """Mutable accumulator filled by the simulation, one slot per cycle window."""

    def __init__(self, n_cycles: int, first_day: int) -> None:
        self.first_day = first_day
        self.amounts = {k: np.zeros(n_cycles) for k in _AMOUNTS}
        self.counts = {k: np.zeros(n_cycles, dtype=np.int64) for k in _COUNTERS}
        self.contacts = np.zeros((n_cycles, len(CHANNELS)), dtype=np.int64)
        #: right-party conversations per channel (voice channels only): talk time is priced per conversation
        self.conversations = np.zeros((n_cycles, len(CHANNELS)), dtype=np.int64)
        self.refused = dict.fromkeys(REFUSAL_REASONS, 0)

    def counts_on(self, day: int) -> bool:
        return day > self.first_day

    def add(self, name: str, cycle: int, value: float) -> None:
        if name in self.amounts:
            self.amounts[name][cycle] += value
        else:
            self.counts[name][cycle] += int(value)


@dataclass(frozen=True)
class Outcome:
    """True outcomes of one run. Amounts in currency units; counts over all accounts."""

    policy: str
    accounts: int
    #: payments received from accounts since they first fell into arrears (or were charged off) in the
    #: evaluation window: the delinquent cohort's cash, crediting cures and prevented roll-forward
    amount_recovered: float
    #: every payment received (current accounts included)
    amount_paid: float
    #: the part of each payment on an open account that settles dues already past due on the day it
    #: arrives, and every payment on a hardship plan (the plan re-aged the arrears it repays); instalments
    #: paid on time or ahead of their due date are not in it: the cash a collections policy can affect
    #: before charge-off (evaluation/pricing.py adds the recoveries)
    collected_past_due: float
    #: ORACLE: bills that a reminder before the due date kept from being missed (the bill, paid on time): without
    #: the reminder it would have become past due, collected later or never; net value credits it
    rescued_by_reminder: float
    recovered_after_charge_off: float
    contact_cost: float
    contacts: dict[str, int]
    #: right-party conversations by channel (call, field_visit, agency): what talk time is priced on
    conversations: dict[str, int]
    right_party_contacts: int
    promises: int
    promises_kept: int
    complaints: int
    cease_requests: int
    opt_outs: int
    disputes: int
    plans_started: int
    plans_broken: int
    charge_offs: int
    charged_off_balance: float
    refused: dict[str, int]
    by_cycle: pd.DataFrame = field(repr=False, compare=False)

    @property
    def contacts_total(self) -> int:
        return int(sum(self.contacts.values()))

    @property
    def net_recovery(self) -> float:
        """Recovered amount less contact cost: the headline figure for comparing policies."""
        return self.amount_recovered - self.contact_cost

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "by_cycle"}
        out["contacts_total"] = self.contacts_total
        out["net_recovery"] = self.net_recovery
        return out

    @classmethod
    def from_tally(
        cls, policy: str, accounts: int, tally: Tally, cycle_dates: pd.DatetimeIndex, cycle_days: np.ndarray
    ) -> Outcome:
        """Totals, and a per-cycle table of the cycles whose window ends inside the evaluation."""
        rows = np.flatnonzero(cycle_days > tally.first_day)
        by_cycle = pd.DataFrame({"cycle_date": cycle_dates[rows]})
        for k, v in {**tally.amounts, **tally.counts}.items():
            by_cycle[k] = v[rows]
        by_cycle["contacts"] = tally.contacts[rows].sum(axis=1)
        amounts = {k: float(round(v.sum(), 2)) for k, v in tally.amounts.items()}
        counts = {k: int(v.sum()) for k, v in tally.counts.items()}
        contacts = {c: int(n) for c, n in zip(CHANNELS, tally.contacts.sum(axis=0), strict=True)}
        conversations = {c: int(n) for c, n in zip(CHANNELS, tally.conversations.sum(axis=0), strict=True)}
        return cls(
            policy=policy,
            accounts=accounts,
            contacts=contacts,
            conversations=conversations,
            refused=dict(tally.refused),
            by_cycle=by_cycle,
            **amounts,
            **counts,
        )
