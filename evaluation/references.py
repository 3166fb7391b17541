"""The reference policies by name: what each is, and how the harness builds it.

Every reference but the oracle is named by an import spec and runs in the policy process like any
policy under evaluation. The oracle is the one exception: a built-in reference that reads the
hidden truth (`wants_truth`), run inside the world process and labelled as such in every report.
It is a reference, not a bound: it is greedy day by day (the best expected net value of each day's
action under the world's response model, simulator.policies.Oracle) and blind to a contact's later
effects, so a policy that plans ahead may beat it, even one that knows the public state only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORACLE = "oracle"
ORACLE_LABEL = "oracle (reference, knows hidden truth)"


@dataclass(frozen=True)
class Reference:
    name: str
    spec: str
    label: str
    kwargs: dict[str, Any] = field(default_factory=dict)


REFERENCES: dict[str, Reference] = {
    r.name: r
    for r in (
        Reference("business_as_usual", "simulator.policies:business_as_usual", "business as usual (logging policy)"),
        Reference("no_contact", "simulator.policies:no_contact", "no contact"),
        Reference("contact_everyone", "simulator.policies:contact_everyone", "contact everyone, every day"),
        Reference("random_budget", "simulator.references:random_budget", "random accounts at BAU's budget"),
        Reference("simple_rule", "simulator.references:simple_rule", "simple observable rule"),
        Reference(ORACLE, "simulator.policies:oracle", ORACLE_LABEL),
    )
}


def resolve(name_or_spec: str) -> Reference:
    """A reference by name, or a policy given as "package.module:factory" (labelled by its spec)."""
    if name_or_spec in REFERENCES:
        return REFERENCES[name_or_spec]
    if ":" not in name_or_spec:
        raise ValueError(f"unknown policy {name_or_spec!r}: a reference ({', '.join(REFERENCES)}) or 'module:factory'")
    return Reference(name_or_spec, name_or_spec, name_or_spec)
