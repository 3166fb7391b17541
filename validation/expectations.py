"""Great Expectations suites generated from core.schema: the schema is the only source of truth.

The table must have exactly the schema's columns; each column yields its expectations from what
the schema says about it (not null unless nullable; in the allowed set; at least the minimum; at
most the maximum); the table key yields a uniqueness expectation. Adding a column, an allowed
value or a bound to core/schema.py therefore changes the suite with no edit here. Every expectation carries
`meta.rule` and `meta.column` so its failures map back to the rule names used by quarantine,
metrics and messages.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from core.schema import Table


def expectation_specs(spec: Table) -> list[tuple[str, dict[str, Any], str, str]]:
    """(GX expectation class name, kwargs, rule, column) for every expectation of the table.

    Kept free of Great Expectations objects so the rules can be listed (docs/validation.md, report, tests)
    without importing GX, which takes seconds.
    """
    specs: list[tuple[str, dict[str, Any], str, str]] = [
        # One table-level expectation rather than one per column: GX's cost is per expectation.
        (
            "ExpectTableColumnsToMatchSet",
            {"column_set": spec.column_names, "exact_match": True},
            "required_columns",
            "(all columns)",
        ),
    ]
    for col in spec.columns:
        if not col.nullable:
            specs.append(("ExpectColumnValuesToNotBeNull", {"column": col.name}, "not_null", col.name))
        if col.allowed:
            specs.append(
                (
                    "ExpectColumnValuesToBeInSet",
                    {"column": col.name, "value_set": list(col.allowed)},
                    "allowed_values",
                    col.name,
                )
            )
        if col.min_value is not None:
            specs.append(
                (
                    "ExpectColumnValuesToBeBetween",
                    {
                        "column": col.name,
                        "min_value": col.min_value,
                        **({"strict_min": True} if col.min_exclusive else {}),
                    },
                    "min_value",
                    col.name,
                )
            )
        if col.max_value is not None:
            specs.append(
                (
                    "ExpectColumnValuesToBeBetween",
                    {"column": col.name, "max_value": col.max_value},
                    "max_value",
                    col.name,
                )
            )
    key = list(spec.key)
    if len(key) == 1:
        specs.append(("ExpectColumnValuesToBeUnique", {"column": key[0]}, "unique_key", key[0]))
    else:
        specs.append(("ExpectCompoundColumnsToBeUnique", {"column_list": key}, "unique_key", key_label(spec)))
    return specs


def key_label(spec: Table) -> str:
    """How a (possibly compound) key is named as a column in reasons and messages."""
    return "+".join(spec.key)


def build_suite(spec: Table):
    """The table's gx.ExpectationSuite, named after the table."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    specs = expectation_specs(spec)
    # Expectations go in through the constructor: add_expectation() on a suite whose name is
    # already stored writes the store once per expectation.
    return gx.ExpectationSuite(
        name=spec.name,
        expectations=[
            getattr(gxe, class_name)(**kwargs, meta={"rule": rule, "column": column})
            for class_name, kwargs, rule, column in specs
        ],
        meta={"generated_from": "core/schema.py", "fingerprint": fingerprint(specs)},
    )


def fingerprint(specs: list[tuple[str, dict[str, Any], str, str]]) -> str:
    """A digest of the expectation list: equal digests mean an identical suite."""
    return hashlib.sha256(json.dumps(specs, sort_keys=True, default=str).encode()).hexdigest()[:16]
