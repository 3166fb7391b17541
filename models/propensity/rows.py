"""Which rows the propensity models are about: the accounts in arrears at the as-of date.

An account is in arrears at D when its last statement before D shows days past due above 0 and
below the charge-off bucket's lower edge (`buckets.min_dpd[-1]`, 180 by default), and the account
was not written off (`account_status`, where the source reports it). Current accounts owe nothing
past due, so "paying the amount past due" means nothing for them; charged-off accounts are
recoveries, a different business with its own agencies and rules. The label is also empty where
nothing was past due (`past_due_amount` 0 with positive days past due), or where the horizon is not
observed yet: those rows are in arrears but unlabelled, and only scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import DataError

DAYS_PAST_DUE = "days_past_due"
STATUS = "account_status"
WRITTEN_OFF = "written_off"


def in_arrears(frame: pd.DataFrame, charge_off_dpd: int) -> np.ndarray:
    """Per row: days past due in (0, charge_off_dpd) and not written off (bool array)."""
    if DAYS_PAST_DUE not in frame.columns:
        raise DataError("features", "required_columns", f"missing column {DAYS_PAST_DUE!r}", column=DAYS_PAST_DUE)
    dpd = pd.to_numeric(frame[DAYS_PAST_DUE], errors="coerce").to_numpy(np.float64)
    keep = (dpd > 0) & (dpd < charge_off_dpd)
    if STATUS in frame.columns:
        keep &= (frame[STATUS].astype(object) != WRITTEN_OFF).to_numpy()
    return keep
