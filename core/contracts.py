"""The key and label contract of the tables the features stage writes and the models read.

`features/` writes three tables into data/processed; `models/` (and later the strategy and the
nightly scoring) read them. Both sides import the column names from here, so that neither
knows them as string literals, and so that a label can never become a feature: whatever a
caller joins onto a feature frame, `is_label` recognises every label column any horizon of
`features:` in params.yaml can produce, and the models' feature selection drops it.

Tables (see docs/features.md):

- ``features.parquet``: keys `FEATURE_KEYS`, then the catalogued features (features/catalogue.py);
- ``labels.parquet``: keys `FEATURE_KEYS`, then `label_columns(...)`;
- ``contact_labels.parquet``: key `CONTACT_KEY`, descriptive columns `CONTACT_COLUMNS`, then
  `contact_label_columns(...)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Keys of one point-in-time row: the account and the as-of date D (records before D 00:00 UTC).
FEATURE_KEYS = ("account_id", "as_of_date")
#: Key of one contact-response row.
CONTACT_KEY = "contact_id"
#: Columns of contact_labels.parquet that describe the contact (neither key nor label).
CONTACT_COLUMNS = ("account_id", "contacted_at", "as_of_date", "channel", "outcome")
#: The roll-rate target: the bucket (code) of the next statement on or after D, when it is the next
#: cycle's: empty when there is none yet, or when a statement is missing (or was quarantined) between
#: the last statement before D and it (features.max_cycle_days), since it would describe a later cycle.
NEXT_BUCKET = "next_bucket"
#: Days past due of that next statement.
NEXT_DAYS_PAST_DUE = "next_days_past_due"
#: The account state (statements.status) at that next statement: one of core.schema.ACCOUNT_STATUSES,
#: empty when the source does not report it. `paid_off`, `closed` or `written_off` mean the account
#: left the book in that cycle (its `next_bucket` is then the bucket of that last statement).
NEXT_STATUS = "next_status"
#: The feature a roll-rate model conditions on: the bucket (code) at the latest statement before D.
SOURCE_BUCKET = "bucket"
#: Whether a promise made in a contact was kept.
PROMISE_KEPT = "promise_kept"


def paid_label(days: int) -> str:
    """Propensity-to-pay label: paid at least the minimum share of the past-due amount within `days`."""
    return f"paid_{days}d"


def paid_amount_label(days: int) -> str:
    """Amount paid in [D, D + days)."""
    return f"paid_amount_next_{days}d"


def response_label(days: int) -> str:
    """Contact-response label: any payment within `days` after the contact."""
    return f"paid_within_{days}d"


def response_amount_label(days: int) -> str:
    """Amount paid within `days` after the contact."""
    return f"paid_amount_within_{days}d"


def label_columns(ptp_horizons_days: Iterable[int]) -> list[str]:
    """Label columns of labels.parquet after the keys, in order."""
    out = [NEXT_BUCKET, NEXT_DAYS_PAST_DUE, NEXT_STATUS]
    for days in ptp_horizons_days:
        out += [paid_label(days), paid_amount_label(days)]
    return out


def contact_label_columns(contact_response_days: int) -> list[str]:
    """Label columns of contact_labels.parquet after the descriptive columns, in order."""
    return [response_label(contact_response_days), response_amount_label(contact_response_days), PROMISE_KEPT]


#: Every name a label column can take, whatever the horizons in params.yaml.
_LABEL_PATTERN = re.compile(
    rf"^(?:{NEXT_BUCKET}|{NEXT_DAYS_PAST_DUE}|{NEXT_STATUS}|{PROMISE_KEPT}|paid_\d+d|paid_amount_next_\d+d"
    r"|paid_within_\d+d|paid_amount_within_\d+d)$"
)


def is_label(column: str) -> bool:
    """Whether `column` is (or is named like) a label of any output table: never a feature."""
    return bool(_LABEL_PATTERN.match(column))
