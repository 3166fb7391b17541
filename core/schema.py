"""The canonical repayment-history schema: the data contract of the whole pipeline.

Every input table, its columns, logical types, keys, references and allowed values are
declared here once. The simulator writes these tables, adapters map public data sets into
them, validation derives its expectations from them and docs/schema.md documents them from
them, so adding a column here is the only change needed to carry it everywhere.

Real sources lack some of it, so the schema says what may be missing and what that means:
a column whose `null_meaning` says so may be empty, an `optional` column may be left out of
the file (then it is empty throughout), and an `optional` table may be left out or have no rows.
Nothing is ever invented in its place.

Delinquency buckets are *not* stored: they are derived from days past due with the edges
configured in params.yaml (see core.buckets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

LogicalType = Literal["id", "nullable_id", "int", "nullable_int", "float", "bool", "string", "date", "timestamp"]

#: pandas dtype for each logical type. Dates are midnight timestamps without a time zone;
#: timestamps are instants in UTC. Strings use pandas' default string dtype.
PANDAS_DTYPES: dict[str, str] = {
    "id": "int64",
    "nullable_id": "Int64",
    "int": "int64",
    "nullable_int": "Int64",
    "float": "float64",
    "bool": "bool",
    "string": "str",
    "date": "datetime64[ns]",
    "timestamp": "datetime64[ns, UTC]",
}

#: The largest amount any money column may hold, in currency units (inclusive): 10^12.
#: Far above any consumer credit in any currency still in use (a million-dollar mortgage is about
#: 2.5 * 10^10 Vietnamese dong), so only a broken value exceeds it. The bound is set by the
#: features stage's arithmetic: it sums money as integer cents (exact, order-independent), and
#: 10^12 units = 10^14 cents keeps every amount exact in float64 (up to 2^53, about 9 * 10^15,
#: so ninety such amounts still sum exactly) and leaves int64 room (about 9.2 * 10^18) for sums
#: of 92,000 maximal amounts over one history. Beyond it a value is quarantined (`max_value`).
MAX_AMOUNT = 1e12
#: The largest annual_rate (a fraction): 100 = 10,000% a year, beyond any lending rate; a larger
#: value is a unit error (basis points) or a broken value, not a price.
MAX_ANNUAL_RATE = 100.0

PRODUCTS = ("instalment", "revolving", "bnpl")
CHANNELS = ("sms", "email", "call", "letter", "field_visit", "agency", "legal")
#: Channels a borrower can consent to or opt out of individually.
CONSENT_CHANNELS = ("sms", "email", "call")
OUTCOMES = (
    "delivered",  # message delivered (sms, email, letter); nobody spoke
    "not_delivered",  # bounced, invalid number or address
    "opened",  # e-mail opened / sms link clicked
    "no_answer",  # call not answered or voicemail
    "wrong_party",  # someone other than the borrower answered
    "right_party_contact",  # spoke with the borrower, no promise
    "promise_to_pay",  # borrower promised an amount by a date
    "refused",  # borrower refused to pay
    "dispute_raised",  # borrower disputes the debt (a restriction follows)
    "cease_request",  # borrower asked to stop contact (a restriction follows)
)
#: The account's state at a statement (statements.status). Empty: the source does not report it.
ACCOUNT_STATUSES = (
    "active",  # open, with a balance or an amount due
    "inactive",  # open, no balance and nothing due (a card not used that cycle)
    "paid_off",  # repaid in full: nothing owed, the account left the book
    "closed",  # closed with nothing owed (by the borrower or the lender)
    "written_off",  # the lender wrote the balance off (charge-off); recoveries may follow
)
#: Statuses of an account that has left the book: no longer at risk of rolling (the features'
#: spine leaves it out after such a statement, until a later statement of another status).
LEFT_BOOK_STATUSES = ("paid_off", "closed", "written_off")
#: Statuses that owe nothing: 0 days past due and, where reported, no balance, due or past-due amount.
OWES_NOTHING_STATUSES = ("inactive", "paid_off", "closed")
#: What a contact offers the borrower (contacts.offer, decisions.offer): nothing beyond the reminder, a
#: repayment plan, a settlement of the balance for less, or a discount (e.g. waived fees or interest).
OFFERS = ("none", "plan", "settlement", "discount")
#: The action column of the decision log: a channel, or no contact.
NO_CONTACT = "none"
DECISION_ACTIONS = (NO_CONTACT, *CHANNELS)
PAYMENT_METHODS = ("direct_debit", "bank_transfer", "card", "cash", "agency")
RESTRICTION_KINDS = (
    "do_not_contact",
    "cease_communication",
    "channel_opt_out",
    "dispute",
    "bankruptcy",
    "deceased",
    "third_party_only",
    "hardship_plan",
)


@dataclass(frozen=True)
class Column:
    """One column of a table: its logical type, meaning and the values it may take."""

    name: str
    type: LogicalType
    description: str
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    #: The minimum itself is not allowed (a probability of a logged action is > 0, not >= 0).
    min_exclusive: bool = False
    #: Inclusive upper bound (MAX_AMOUNT for money columns).
    max_value: float | None = None
    #: Only for nullable types: when is a missing value legitimate.
    null_meaning: str | None = None
    #: The column may be left out of the file (a source that does not have it): it is then empty
    #: throughout, with `null_meaning`'s reading. Only for nullable columns.
    optional: bool = False

    def __post_init__(self) -> None:
        if self.optional and not self.nullable:
            raise ValueError(f"column '{self.name}' is optional but not nullable: say what empty means")

    @property
    def dtype(self) -> str:
        return PANDAS_DTYPES[self.type]

    @property
    def nullable(self) -> bool:
        return self.type.startswith("nullable") or self.null_meaning is not None


@dataclass(frozen=True)
class Reference:
    """A foreign key: every non-null value of `column` must exist in `table.target_column`."""

    column: str
    table: str
    target_column: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = field(default_factory=tuple)
    #: The column that dates a record, used for point-in-time cuts and "not in the future" rules.
    event_time: str | None = None
    #: What it means when a source has no such table (file left out, or no rows); None: the
    #: table is required and must have rows.
    absent_meaning: str | None = None

    @property
    def optional(self) -> bool:
        """A source may lack the table: its file may be left out or hold no rows."""
        return self.absent_meaning is not None

    @property
    def required_columns(self) -> list[str]:
        """Columns the file must have (every column but the optional ones)."""
        return [c.name for c in self.columns if not c.optional]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table '{self.name}' has no column '{name}'")

    @property
    def dtypes(self) -> dict[str, str]:
        return {c.name: c.dtype for c in self.columns}

    def empty_frame(self) -> pd.DataFrame:
        """A zero-row frame with the canonical columns and dtypes (for tables a source lacks)."""
        return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in self.columns})


_NOT_REPORTED = "the source does not report it (features that need it are empty, never guessed)"

ACCOUNTS = Table(
    name="accounts",
    description="One row per credit account (loan, card or buy-now-pay-later plan).",
    key=("account_id",),
    columns=(
        Column("account_id", "id", "Unique account identifier."),
        Column("borrower_id", "id", "The borrower who owns the account; one borrower may hold several accounts."),
        Column("product", "string", "Product type.", allowed=PRODUCTS),
        Column(
            "open_date",
            "date",
            "Date the account was opened; no record of the account may be older.",
            null_meaning="the source does not say (nothing is checked against it; months on book are unknown)",
            optional=True,
        ),
        Column(
            "principal",
            "float",
            "Amount lent (instalment and bnpl).",
            min_value=0.0,
            max_value=MAX_AMOUNT,
            null_meaning="revolving accounts have a credit limit instead, or the source does not report it",
            optional=True,
        ),
        Column(
            "credit_limit",
            "float",
            "Credit limit (revolving).",
            min_value=0.0,
            max_value=MAX_AMOUNT,
            null_meaning="instalment and bnpl accounts have a principal instead, or the source does not report it",
            optional=True,
        ),
        Column(
            "term_months",
            "nullable_int",
            "Contractual term in months.",
            min_value=1,
            null_meaning="revolving accounts have no term, or the source does not report it",
            optional=True,
        ),
        Column(
            "annual_rate",
            "float",
            "Nominal annual interest rate as a fraction (0.24 = 24%).",
            min_value=0.0,
            max_value=MAX_ANNUAL_RATE,
            null_meaning=_NOT_REPORTED,
            optional=True,
        ),
        Column(
            "instalment_amount",
            "float",
            "Contractual payment due each cycle (minimum payment for revolving).",
            min_value=0.0,
            max_value=MAX_AMOUNT,
            null_meaning=_NOT_REPORTED,
            optional=True,
        ),
        Column(
            "origination_score",
            "float",
            "Borrower's credit score when the account was opened (bureau or application score, higher is "
            "safer; the lender's own scale). Fixed at origination.",
            null_meaning="not recorded (the source has no score)",
            optional=True,
        ),
        Column("timezone", "string", "Borrower's IANA time zone (e.g. America/Chicago); contact hours are local."),
        Column("region", "string", "Jurisdiction code (e.g. US-TX, TW); selects the compliance profile."),
        Column("consent_sms", "bool", "Borrower consented to collection text messages."),
        Column("consent_email", "bool", "Borrower consented to collection e-mail."),
        Column("consent_call", "bool", "Borrower consented to collection calls (incl. autodialled)."),
    ),
)

STATEMENTS = Table(
    name="statements",
    description="The repayment history: one row per account per billing cycle, as at cycle end.",
    key=("account_id", "cycle_date"),
    event_time="cycle_date",
    references=(Reference("account_id", "accounts", "account_id"),),
    columns=(
        Column("account_id", "id", "Account the statement belongs to."),
        Column("cycle_date", "date", "Cycle end (statement) date."),
        Column(
            "balance",
            "float",
            "Outstanding balance at cycle end.",
            min_value=0.0,
            max_value=MAX_AMOUNT,
            null_meaning=_NOT_REPORTED,
            optional=True,
        ),
        Column(
            "amount_due",
            "float",
            "Total amount due for the cycle, arrears included.",
            min_value=0.0,
            max_value=MAX_AMOUNT,
            null_meaning=_NOT_REPORTED,
            optional=True,
        ),
        Column(
            "past_due_amount",
            "float",
            "Part of the balance that was due at an earlier cycle and is still unpaid.",
            min_value=0.0,
            max_value=MAX_AMOUNT,
            null_meaning=_NOT_REPORTED,
            optional=True,
        ),
        Column(
            "amount_paid",
            "float",
            "Sum of payments received during the cycle (previous cycle end, this cycle end].",
            min_value=0.0,
            max_value=MAX_AMOUNT,
            null_meaning="the source does not report it (a fall in days past due then gets the benefit of the doubt)",
            optional=True,
        ),
        Column(
            "days_past_due",
            "int",
            "Days since the oldest unpaid due date, at cycle end (0 = current). A status-coded source gives "
            "the lower end of the status's band and declares the bands (validate.dpd_bands).",
            min_value=0,
        ),
        Column(
            "status",
            "string",
            "The account's state at the statement: `active` (a balance or an amount due), `inactive` (open, no "
            "balance, nothing due), `paid_off` (repaid in full, left the book), `closed` (closed with nothing "
            "owed), `written_off` (the lender wrote the balance off). After `paid_off`, `closed` or "
            "`written_off` the account is off the book until a statement of another status reopens it.",
            allowed=ACCOUNT_STATUSES,
            null_meaning="the source does not report it (the account counts as on the book)",
            optional=True,
        ),
    ),
)

PAYMENTS = Table(
    name="payments",
    description="Every payment received.",
    key=("payment_id",),
    absent_meaning="the source has no payment records: statements.amount_paid is not reconciled with payments, "
    "and features from payments are empty",
    event_time="paid_at",
    references=(Reference("account_id", "accounts", "account_id"),),
    columns=(
        Column("payment_id", "id", "Unique payment identifier."),
        Column("account_id", "id", "Account credited."),
        Column("paid_at", "timestamp", "When the payment was received (UTC)."),
        Column("amount", "float", "Amount paid.", min_value=0.0, max_value=MAX_AMOUNT),
        Column("method", "string", "How it was paid.", allowed=PAYMENT_METHODS),
    ),
)

CONTACTS = Table(
    name="contacts",
    description="Every collection contact attempt and its outcome.",
    key=("contact_id",),
    absent_meaning="the source has no contact history: features from contacts are empty",
    event_time="contacted_at",
    references=(Reference("account_id", "accounts", "account_id"),),
    columns=(
        Column("contact_id", "id", "Unique contact attempt identifier."),
        Column("account_id", "id", "Account the contact was about."),
        Column("contacted_at", "timestamp", "When the attempt was made (UTC)."),
        Column("channel", "string", "Channel used.", allowed=CHANNELS),
        Column("outcome", "string", "What happened.", allowed=OUTCOMES),
        Column(
            "promise_amount",
            "float",
            "Amount promised.",
            min_value=0.0,
            max_value=MAX_AMOUNT,
            null_meaning="no promise to pay was made",
        ),
        Column(
            "promise_date",
            "date",
            "Date by which the promised amount is due.",
            null_meaning="no promise to pay was made",
        ),
        Column(
            "propensity",
            "float",
            "Probability with which the logging policy chose this action (for off-policy evaluation).",
            min_value=0.0,
            max_value=1.0,
            null_meaning="the logging policy was not randomised or did not record it",
        ),
        Column(
            "offer",
            "string",
            "What the contact offered the borrower: nothing beyond the reminder (`none`), a repayment plan, a "
            "settlement of the balance for less, or a discount (waived fees or interest).",
            allowed=OFFERS,
            null_meaning="the source does not record offers (unknown, which is not `none`)",
            optional=True,
        ),
    ),
)

RESTRICTIONS = Table(
    name="restrictions",
    description="Rules that limit contact: requests, legal states and opt-outs, each over a period.",
    key=("restriction_id",),
    absent_meaning="the source has no record of restrictions: features from restrictions are empty (unknown, "
    "not 'none in force'), and no hardship plan explains a fall in days past due",
    event_time="start_at",
    references=(
        Reference("borrower_id", "accounts", "borrower_id"),
        Reference("account_id", "accounts", "account_id"),
    ),
    columns=(
        Column("restriction_id", "id", "Unique restriction identifier."),
        Column("borrower_id", "id", "Borrower the restriction protects."),
        Column(
            "account_id",
            "nullable_id",
            "Account it applies to.",
            null_meaning="the restriction covers every account of the borrower",
        ),
        Column("kind", "string", "What is restricted.", allowed=RESTRICTION_KINDS),
        Column(
            "channel",
            "string",
            "Channel concerned (channel_opt_out).",
            allowed=CHANNELS,
            null_meaning="the restriction covers every channel",
        ),
        Column("start_at", "timestamp", "When the restriction took effect (UTC)."),
        Column("end_at", "timestamp", "When it lapsed (UTC).", null_meaning="still in force"),
    ),
)

DECISIONS = Table(
    name="decisions",
    description="The contact policy's decision log, for off-policy learning and evaluation: one row per account "
    "shown to the policy per local day (every account in arrears or charged off), including the decision not to "
    "contact, with the probability with which the policy took it.",
    key=("decision_id",),
    absent_meaning="the source has no decision log (only the contacts made): features from decisions are empty, "
    "and off-policy estimates cannot be computed from it",
    event_time="decided_at",
    references=(
        Reference("account_id", "accounts", "account_id"),
        Reference("borrower_id", "accounts", "borrower_id"),
        Reference("contact_id", "contacts", "contact_id"),
    ),
    columns=(
        Column("decision_id", "id", "Unique decision identifier."),
        Column("account_id", "id", "Account decided about."),
        Column("borrower_id", "id", "The account's borrower (at most one contact per borrower a day)."),
        Column(
            "decided_at",
            "timestamp",
            "When the decision was made (UTC): the start (00:00) of the borrower's local day it was made for. "
            "It was made from what was known then: nothing of that local day.",
        ),
        Column("local_date", "date", "The borrower's local calendar day the decision is for."),
        Column(
            "action", "string", "The channel chosen for this account, or `none` (no contact).", allowed=DECISION_ACTIONS
        ),
        Column(
            "local_hour",
            "nullable_int",
            "Local hour at which the contact was to start.",
            min_value=0,
            max_value=23,
            null_meaning="the action is `none`",
        ),
        Column(
            "offer",
            "string",
            "What the contact was to offer (`none` also when the action is `none`).",
            allowed=OFFERS,
        ),
        Column(
            "propensity",
            "float",
            "Probability with which the policy took this account's logged action on that day: the joint probability "
            "of channel, hour and offer (of no contact for `none`), given the state shown to it, with the "
            "one-contact-per-borrower selection included (for a borrower with several accounts in arrears, the "
            "probability that this account got this action).",
            min_value=0.0,
            min_exclusive=True,
            max_value=1.0,
        ),
        Column("policy", "string", "Name of the policy that decided (e.g. business_as_usual)."),
        Column(
            "contact_id",
            "nullable_id",
            "The contact the decision made.",
            null_meaning="the action is `none`, the contact was refused, or the source does not link decisions to "
            "contacts",
            optional=True,
        ),
        Column(
            "refusal",
            "string",
            "The rule that refused the contact (core.compliance.REASONS, e.g. `outside_hours`): a refused decision "
            "is still logged, with its propensity, and made no contact.",
            null_meaning="the contact was made, or the action is `none`",
            optional=True,
        ),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (ACCOUNTS, STATEMENTS, PAYMENTS, CONTACTS, RESTRICTIONS, DECISIONS)}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table '{name}'; the schema has {', '.join(TABLE_NAMES)}") from None


def schema_markdown() -> str:
    """The schema as markdown tables, for docs/schema.md (kept true by a test)."""
    parts: list[str] = []
    for tbl in TABLES.values():
        parts.append(f"#### `{tbl.name}`\n\n{tbl.description} Key: `{', '.join(tbl.key)}`.\n")
        if tbl.optional:
            parts.append(f"Optional table: the file may be left out or have no rows when {tbl.absent_meaning}.\n")
        else:
            parts.append("Required: the file must be present and have rows.\n")
        parts.append("| column | type | meaning |\n|---|---|---|")
        for col in tbl.columns:
            meaning = col.description
            if col.allowed:
                meaning += " One of: " + ", ".join(f"`{v}`" for v in col.allowed) + "."
            if col.min_value is not None or col.max_value is not None:
                meaning += " " + _range_text(col) + "."
            if col.null_meaning:
                meaning += f" Empty when {col.null_meaning}."
            if col.optional:
                meaning += " *Optional column* (may be left out of the file)."
            parts.append(f"| `{col.name}` | {col.type} | {meaning} |")
        parts.append("")
    return "\n".join(parts)


def _range_text(col: Column) -> str:
    """`At least 0, at most 1,000,000,000,000` (the bounds validation enforces)."""
    fmt = lambda v: f"{v:,.0f}" if float(v).is_integer() else f"{v:g}"  # noqa: E731
    parts = []
    if col.min_value is not None:
        parts.append(f"{'more than' if col.min_exclusive else 'at least'} {fmt(col.min_value)}")
    if col.max_value is not None:
        parts.append(f"at most {fmt(col.max_value)}")
    return ", ".join(parts).capitalize()
