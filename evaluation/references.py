"""The reference policies by name: what each is, and how the harness builds it.

Every reference but the oracle is named by an import spec and runs in the policy process like any
policy under evaluation. The oracle is the one exception: a built-in reference that reads the
hidden truth (`wants_truth`), run inside the world process and labelled as such in every report.
It is a reference, not a bound: it is greedy day by day (the best expected net value of each day's
action under the world's response model, simulator.policies.Oracle) and blind to a contact's later
effects, so a policy that plans ahead may beat it, even one that knows the public state only.
"""

from __future__ import annotations

import json
import re
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
    """A reference by name, or a policy given as `[name=]package.module:factory[ {json keyword arguments}]`.

    The name (default: the whole text) keys the reports; the JSON object is passed to the factory, e.g.
    `myopic=strategy.policy:build {"horizon_weight": 0}`.
    """
    if name_or_spec in REFERENCES:
        return REFERENCES[name_or_spec]
    text = name_or_spec.strip()
    name, _, rest = text.partition("=") if re.match(r"^[A-Za-z_][\w-]*=", text) else ("", "", text)
    spec, _, raw = rest.strip().partition(" ")
    if ":" not in spec:
        raise ValueError(f"unknown policy {name_or_spec!r}: a reference ({', '.join(REFERENCES)}) or 'module:factory'")
    try:
        kwargs = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as err:
        raise ValueError(f"policy {name_or_spec!r}: the keyword arguments are not a JSON object ({err})") from None
    if not isinstance(kwargs, dict):
        raise ValueError(f"policy {name_or_spec!r}: the keyword arguments must be a JSON object")
    return Reference(name or text, spec, name or text, kwargs)
