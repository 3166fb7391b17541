"""The compliance rulebook: who may be contacted, on which channel, at what local hour.

One rulebook for every executor of contacts: the simulator enforces it on every policy, the
features read its blocking restriction kinds, and the contact strategy and an independent
verifier will apply the same functions. It is data plus pure functions:

- data (`profiles`): a `Profile` of rules per jurisdiction, selected by `accounts.region`, with
  the defaults in params.yaml's `compliance:` section (`ComplianceParams`);
- functions (`rules`): numpy arrays in and out over a `ContactState` (consents, opt-outs,
  restrictions, charge-off, recent calls and contacts), a proposed channel and a local hour,
  returning whether each action is allowed and, if not, the first rule that refused it.

    rules = Rulebook.from_params(params.compliance)
    profile = profile_for_regions(params.compliance, accounts["region"])
    verdict = admit(rules, profile[rows], state, channel, local_hour, group=borrower)
"""

from core.compliance.profiles import (
    BLOCKING_KINDS,
    CN_PROFILE,
    IN_HOUSE_CHANNELS,
    US_PROFILE,
    ComplianceParams,
    Profile,
)
from core.compliance.rules import (
    CALL,
    REASONS,
    ContactState,
    Rulebook,
    Verdict,
    admit,
    allowed_channels,
    channel_reasons,
    check,
    hour_allowed,
    match_region,
    profile_for_regions,
    rank_in_group,
)

__all__ = [
    "BLOCKING_KINDS",
    "CALL",
    "CN_PROFILE",
    "IN_HOUSE_CHANNELS",
    "REASONS",
    "US_PROFILE",
    "ComplianceParams",
    "ContactState",
    "Profile",
    "Rulebook",
    "Verdict",
    "admit",
    "allowed_channels",
    "channel_reasons",
    "check",
    "hour_allowed",
    "match_region",
    "profile_for_regions",
    "rank_in_group",
]
