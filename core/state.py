"""The public state frame: the columns a contact policy sees each morning, one row per account it may act on.

A contract between the world that shows the frame (simulator/observe.py, in the evaluation harness) and the
lender's own tables (features/state_frame.py, in the nightly stage), so that a policy judged in the harness
runs unchanged at night. Column meanings: docs/simulator.md ("states") and docs/features.md ("State frame
of a run date").
"""

from __future__ import annotations

from core.schema import CHANNELS

STATE_COLUMNS: tuple[str, ...] = (
    "account_id",
    "borrower_id",
    "product",
    "timezone",
    "region",
    "local_weekday",
    "days_past_due",
    "bucket",
    "charged_off",
    "balance",
    "past_due_amount",
    "instalment_amount",
    "consent_sms",
    "consent_email",
    "consent_call",
    "do_not_contact",
    "cease_communication",
    "dispute",
    "bankruptcy",
    "deceased",
    "third_party_only",
    "hardship_plan",
    "opt_out_sms",
    "opt_out_email",
    "opt_out_call",
    "contacts_7d",
    "days_since_contact",
    "days_since_call_conversation",
    "days_since_payment",
    "promise_pending",
    "promises_made",
    "pre_delinquent",
    "days_to_due",
    "months_on_book",
    "emails_opened_90d",
    "sms_replies_90d",
    "last_answer_hour",
    *(f"can_{c}" for c in CHANNELS),
)
