"""Net value: what a policy's outcomes are worth to the lender, at the prices of params.yaml `contact:`.

    collected  = collected_past_due                      (open accounts: the part of each payment that
                                                           settles dues already past due that day, and
                                                           every payment on a hardship plan)
               + rescued_by_reminder                     (bills a reminder before the due date kept from
                                                           being missed: they would have become past due)
               + recovered_after_charge_off              (every payment after charge-off)
    cost       = sum over channels of attempts x channel_cost
               + call conversations x talk_minutes x talk_cost_per_minute
               + contingency_share x recovered_after_charge_off   (the agency's share)
    harm       = complaints x complaint_price + cease requests x cease_price + opt-outs x opt_out_price
    net value  = collected - cost - harm

Everything counts over the evaluation horizon only (after `policy_start`). Instalments paid on
time, or ahead of their due date, are not collected: no collections policy earned them. The
balance written off at charge-off is reported beside net value, not inside it: a written-off
balance is not cash, and the recoveries on it are already in `collected`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.params import ContactParams
from core.schema import CHANNELS
from simulator.outcomes import Outcome


@dataclass(frozen=True)
class Priced:
    """One run's outcomes with their prices (currency units; counts over the horizon)."""

    policy: str
    net_value: float
    collected: float
    collected_past_due: float
    rescued_by_reminder: float
    recovered_after_charge_off: float
    cost: float
    attempt_cost: float
    talk_cost: float
    contingency_cost: float
    harm_cost: float
    contacts: int
    contacts_by_channel: dict[str, int]
    conversations_by_channel: dict[str, int]
    right_party_contacts: int
    complaints: int
    cease_requests: int
    opt_outs: int
    promises: int
    promises_kept: int
    charge_offs: int
    charged_off_balance: float
    #: contacts per 1,000 currency units collected (lower is leaner)
    contacts_per_1000_collected: float
    refused: dict[str, int]

    @property
    def call_rpc_rate(self) -> float:
        """Right-party conversations per call attempt."""
        calls = self.contacts_by_channel.get("call", 0)
        return self.conversations_by_channel.get("call", 0) / calls if calls else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["call_rpc_rate"] = round(self.call_rpc_rate, 4)
        return out


def price(outcome: Outcome, contact: ContactParams) -> Priced:
    """Net value and its parts for one run (see the module docstring for the definition)."""
    recovered = outcome.recovered_after_charge_off
    collected = outcome.collected_past_due + outcome.rescued_by_reminder + recovered  # ORACLE: + rescued
    attempts = sum(outcome.contacts[c] * contact.channel_cost[c] for c in CHANNELS)
    talk = outcome.conversations.get("call", 0) * contact.talk_minutes * contact.talk_cost_per_minute
    contingency = contact.contingency_share * recovered
    harm = (
        outcome.complaints * contact.complaint_price
        + outcome.cease_requests * contact.cease_price
        + outcome.opt_outs * contact.opt_out_price
    )
    cost = attempts + talk + contingency
    total = outcome.contacts_total
    return Priced(
        policy=outcome.policy,
        net_value=round(collected - cost - harm, 2),
        collected=round(collected, 2),
        collected_past_due=round(outcome.collected_past_due, 2),
        rescued_by_reminder=round(outcome.rescued_by_reminder, 2),
        recovered_after_charge_off=round(recovered, 2),
        cost=round(cost, 2),
        attempt_cost=round(attempts, 2),
        talk_cost=round(talk, 2),
        contingency_cost=round(contingency, 2),
        harm_cost=round(harm, 2),
        contacts=total,
        contacts_by_channel=dict(outcome.contacts),
        conversations_by_channel=dict(outcome.conversations),
        right_party_contacts=outcome.right_party_contacts,
        complaints=outcome.complaints,
        cease_requests=outcome.cease_requests,
        opt_outs=outcome.opt_outs,
        promises=outcome.promises,
        promises_kept=outcome.promises_kept,
        charge_offs=outcome.charge_offs,
        charged_off_balance=round(outcome.charged_off_balance, 2),
        contacts_per_1000_collected=round(1000 * total / collected, 3) if collected > 0 else 0.0,
        refused=dict(outcome.refused),
    )
