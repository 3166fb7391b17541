"""Reminders before the due date: what a message the day before changes, from the decision log.

The uplift model's response counts payments of what is past due, so it cannot see the point of a
reminder: a bill paid on time is never past due. A reminder's effect is instead measured on its own
label, **the account was not past due at its next statement**, on the log's reminder rows
(`pre_delinquent` decision rows, models/uplift/rows.py), per channel, with the logged propensities:
the self-normalised inverse-propensity mean of the label among the rows that took the channel, minus
the same among the rows left alone. The logging policy reminds about half of the rows and leaves the
rest, so both sides are well explored. A channel with fewer than `MIN_ROWS` logged reminders gets no
estimate (and is never proposed as a reminder).

The strategy values a reminder as lift x balance x (value of the current bucket - value of the first
arrears bucket) (strategy/outlook.py: the share of the balance each collects over the horizon) less
its cost and harm prices.

Both facts the strategy takes from the decision log, this lift and the log's contact share (its
contact budget), are measured by the `uplift` stage, which builds the decision rows anyway, and saved
with the uplift model (`log_facts`, models/uplift/store.py): the `recommend` stage and the nightly job
read them from the model instead of rebuilding every decision row of the log (36 s per 100,000
accounts of a 24-month extract).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Least logged reminders on a channel for its lift to be estimated.
MIN_ROWS = 1000
#: Channels a reminder before the due date may use (cheap messages; the log's reminders).
REMINDER_CHANNELS = ("sms", "email")


def _label(rows: pd.DataFrame, statements: pd.DataFrame) -> np.ndarray:
    """Per row, 1.0 when the account's next statement after the decision day is not past due (NaN: none yet)."""
    st = statements[["account_id", "cycle_date", "days_past_due"]].dropna()
    st = st.assign(t=pd.to_datetime(st["cycle_date"]).astype("datetime64[ns]"))
    q = pd.DataFrame(
        {
            "account_id": rows["account_id"].to_numpy(np.int64),
            "t": (pd.to_datetime(rows["local_date"]) + pd.Timedelta(days=1)).astype("datetime64[ns]").to_numpy(),
            "i": np.arange(len(rows)),
        }
    )
    hit = pd.merge_asof(
        q.sort_values("t"),
        st[["account_id", "t", "days_past_due"]].astype({"account_id": np.int64}).sort_values("t"),
        on="t",
        by="account_id",
        direction="forward",
    ).sort_values("i")
    dpd = hit["days_past_due"].to_numpy(np.float64)
    return np.where(np.isnan(dpd), np.nan, (dpd == 0).astype(np.float64))


def reminder_lift(rows: pd.DataFrame, statements: pd.DataFrame, channels: tuple[str, ...]) -> dict[str, float]:
    """Per channel: the change in P(not past due at the next statement) a reminder on the channel brings."""
    pre = rows[rows["pre_delinquent"].to_numpy(bool)]
    if pre.empty:
        return {}
    y = _label(pre, statements)
    known = ~np.isnan(y)
    action = pre["action"].to_numpy(object)[known]
    offer = pre["offer"].to_numpy(object)[known]
    w = 1.0 / pre["propensity"].to_numpy(np.float64)[known]
    y = y[known]

    def mean(mask: np.ndarray) -> float:
        return float(np.sum(w[mask] * y[mask]) / np.sum(w[mask]))

    none = action == "none"
    if none.sum() < MIN_ROWS:
        return {}
    base = mean(none)
    out = {}
    for ch in channels:
        took = (action == ch) & (offer == "none")
        if took.sum() >= MIN_ROWS:
            out[ch] = mean(took) - base
    return out


def log_facts(rows: pd.DataFrame, statements: pd.DataFrame) -> dict[str, object]:
    """What the strategy takes from the decision log: each reminder channel's lift and the share of logged
    decisions that contacted (business as usual's volume; None for an empty log)."""
    share = None if rows.empty else float((rows["action"].to_numpy(object) != "none").mean())
    return {"reminder_lift": reminder_lift(rows, statements, REMINDER_CHANNELS), "logged_contact_share": share}
