"""The catalogue of validation rules and the record of a rule failing on some rows.

Every check in this package reports through a `Finding` named after a rule listed here, so the
quarantine `reason`, the metrics in validation.json, the HTML report and the fatal messages all
speak the same names, and the severities in params.yaml (`validate.severity`) have exactly one
place to be checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    #: Structural rules cannot be satisfied by dropping rows, so they are always fatal.
    structural: bool = False
    #: Cell rules condemn one value; later cross-row rules treat that value as missing rather
    #: than reasoning from it (a negative DPD must not also break the next cycle's DPD growth).
    cell: bool = False


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule("file_present", "NAME.parquet or NAME.csv exists, exactly one of them", structural=True),
        Rule("readable", "the file can be read (parquet, or UTF-8 comma-separated CSV)", structural=True),
        Rule(
            "not_empty",
            "a required table (accounts, statements) has rows; the optional ones may be left out or empty",
            structural=True,
        ),
        Rule(
            "required_columns",
            "every column of the schema is present (optional columns may be left out)",
            structural=True,
        ),
        Rule("extra_columns", "no column the schema does not know (validate.extra_columns)", structural=True),
        Rule(
            "max_quarantine_share", "no more than validate.max_quarantine_share of a table quarantined", structural=True
        ),
        Rule("dtype", "the value can be read as the column's logical type", cell=True),
        Rule("unambiguous_timestamp", "a timestamp carries a UTC offset when others in its column do", cell=True),
        Rule("not_null", "a required column has a value", cell=True),
        Rule("allowed_values", "the value is one of the schema's allowed values", cell=True),
        Rule(
            "min_value",
            "the value is at least the schema's minimum (amounts >= 0, ...), or above it where the schema excludes "
            "it (decisions.propensity > 0)",
            cell=True,
        ),
        Rule(
            "max_value", "the value is at most the schema's maximum (amounts <= 10^12, propensity <= 1, ...)", cell=True
        ),
        Rule("unique_key", "the table's key identifies one row"),
        Rule("valid_timezone", "the time zone is an IANA name (e.g. America/Chicago)", cell=True),
        Rule("not_after_as_of", "the record is not dated after the run's as-of date", cell=True),
        Rule("end_after_start", "a period does not end before it starts"),
        Rule("reference", "the referenced account or borrower exists in accounts (a decision's contact in contacts)"),
        Rule(
            "orphan_of_quarantined_account",
            "the referenced account (or every account of the borrower, or a decision's contact) was not itself "
            "quarantined",
        ),
        Rule("account_of_borrower", "the referenced account belongs to the referenced borrower"),
        Rule("not_before_open_date", "the record is not dated before its account's open_date"),
        Rule(
            "dpd_band",
            "with declared bands (validate.dpd_bands), days past due are the lower end of one of them",
            cell=True,
        ),
        Rule(
            "status_owes_nothing",
            "an inactive, paid_off or closed statement has 0 days past due and, where given, no balance, "
            "amount due or past-due amount",
        ),
        Rule(
            "dpd_growth",
            "days past due grow by at most the days elapsed since the previous cycle kept (or since open_date "
            "at the first cycle), plus validate.dpd_timing_days; with bands, from the top of the earlier band; "
            "a write-off is the lender's decision and not judged",
        ),
        Rule(
            "dpd_cure",
            "days past due fall only with a payment in the cycle (amount_paid > 0, or unknown), a pay-off or a "
            "hardship plan starting in it (or up to validate.dpd_timing_days before the earlier statement)",
        ),
        Rule(
            "decision_consistent",
            "a decision's columns agree with its action: a contact has a local hour, `none` has none and offers "
            "`none`; only a contact is linked to a contact_id or names a refusal, never both",
        ),
        Rule(
            "decision_matches_contact",
            "a decision's contact (contact_id) is of the decision's account, channel and offer, made on its local date "
            "in the account's time zone",
        ),
        Rule(
            "amount_paid_matches_payments",
            "amount_paid equals the sum of the payments posted in the cycle, within validate.amount_paid_tolerance "
            "(covers at least them where the window opens before validate.extract_start)",
        ),
    )
}

#: Rules whose severity params.yaml configures (validate.severity.<rule>).
ROW_RULES: tuple[str, ...] = tuple(name for name, rule in RULES.items() if not rule.structural)


@dataclass(frozen=True)
class Finding:
    """Rule `rule` failed on column `column` of `table` at these 0-based input row positions."""

    table: str
    rule: str
    column: str
    rows: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise KeyError(f"unknown rule '{self.rule}'")
        object.__setattr__(self, "rows", np.unique(np.asarray(self.rows, dtype=np.int64)))

    @property
    def reason(self) -> str:
        """What the quarantine file's `reason` column says: `rule:column`."""
        return f"{self.rule}:{self.column}"

    @property
    def count(self) -> int:
        return int(self.rows.size)


def finding(table: str, rule: str, column: str, mask) -> Finding | None:
    """A Finding for the True positions of a boolean mask, or None when nothing failed."""
    if isinstance(mask, pd.Series):
        mask = mask.fillna(False).to_numpy(dtype=bool)
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    return Finding(table, rule, column, rows) if rows.size else None


def rules_markdown(severity) -> str:
    """The rule catalogue as a markdown table with each rule's severity (docs/validation.md, kept true by a test).

    `severity` is a core.params.ValidateSeverity; structural rules are always fatal.
    """
    lines = ["| rule | default severity | what it checks |", "|---|---|---|"]
    for name, rule in RULES.items():
        level = "fatal (always)" if rule.structural else getattr(severity, name)
        lines.append(f"| `{name}` | {level} | {rule.description} |")
    return "\n".join(lines)
