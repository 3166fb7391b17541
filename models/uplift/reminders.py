"""Reminders before the due date: what a message the day before changes, from the decision log.

The uplift model's response counts payments of what is past due, so it cannot see the point of a
reminder: a bill paid on time is never past due. A reminder's effect is instead measured on its own
label, **the account was not past due at its next statement**, on the log's reminder rows
(`pre_delinquent` decision rows, models/uplift/rows.py), per channel, with the logged propensities:
the self-normalised inverse-propensity mean of the label among the rows that took the channel, minus
the same among the rows left alone. The logging policy reminds about half of the rows and leaves the
rest, so both sides are well explored. A channel with fewer than `MIN_ROWS` logged reminders gets no
estimate (and is never proposed as a reminder).

**Per borrower** (`fit_reminders`, `ReminderModel`): a reminder matters only to a borrower who was going
to miss the bill, and only to one it reaches and moves, so its lift differs from row to row. A T-learner
learns it on the same rows and label: per arm (no contact, and each reminder channel with at least
`MIN_ROWS` logged reminders), a LightGBM classifier of the label on the uplift model's features, weighted
by the inverse logged propensity (the logging policy's choice depends on the days to the due date, which
the features do not hold; the weights balance it as the average lift's estimator does), early-stopped on
a fifth of the accounts held out. The lift of a channel for a row is its prediction minus no contact's.
The average lift above stays: the fallback for a model saved without the per-borrower one, and the
figure reported.

The strategy values a reminder as lift x balance x (value of the current bucket - value of the first
arrears bucket) (strategy/outlook.py: the share of the balance each collects over the horizon) less
its cost and harm prices.

The facts the strategy takes from the decision log, this lift and the log's contact share per bucket
(its contact budget: what business as usual would spend on the night's accounts), are measured by the
`uplift` stage, which builds the decision rows anyway, and saved with the uplift model (`log_facts`,
models/uplift/store.py): the `recommend` stage and the nightly job read them from the model instead of
rebuilding every decision row of the log (36 s per 100,000 accounts of a 24-month extract).
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.buckets import Buckets
from core.params import Params
from features.events import minutes
from features.state_frame import days_past_due_at
from models.common.boosting import booster_params, fit_booster
from models.uplift.rows import FEATURES

#: Least logged reminders on a channel for its lift to be estimated.
MIN_ROWS = 1000
#: Channels a reminder before the due date may use (cheap messages; the log's reminders).
REMINDER_CHANNELS = ("sms", "email")
#: The per-borrower model's arm for no reminder.
NO_REMINDER = "none"
#: One account in this many is held out to early-stop the per-borrower model (by account: no account on both sides).
HOLD_OUT_EVERY = 5


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


def _reminder_rows(rows: pd.DataFrame, statements: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The log's reminder rows whose label is known, and the label."""
    pre = rows[rows["pre_delinquent"].to_numpy(bool)]
    if pre.empty:
        return pre, np.zeros(0)
    y = _label(pre, statements)
    known = ~np.isnan(y)
    return pre[known], y[known]


def _took(pre: pd.DataFrame, arm: str) -> np.ndarray:
    return (pre["action"].to_numpy(object) == arm) & (pre["offer"].to_numpy(object) == "none")


def reminder_lift(rows: pd.DataFrame, statements: pd.DataFrame, channels: tuple[str, ...]) -> dict[str, float]:
    """Per channel: the change in P(not past due at the next statement) a reminder on the channel brings."""
    pre, y = _reminder_rows(rows, statements)
    if pre.empty:
        return {}
    w = 1.0 / pre["propensity"].to_numpy(np.float64)

    def mean(mask: np.ndarray) -> float:
        return float(np.sum(w[mask] * y[mask]) / np.sum(w[mask]))

    none = _took(pre, NO_REMINDER)
    if none.sum() < MIN_ROWS:
        return {}
    base = mean(none)
    return {ch: mean(_took(pre, ch)) - base for ch in channels if _took(pre, ch).sum() >= MIN_ROWS}


def budget_bucket(frame: pd.DataFrame, buckets: Buckets) -> np.ndarray:
    """Per row of decision rows or of a state frame, the bucket its contact rate is counted in: the first for a
    reminder row (the decision rows date its days past due from the last statement, the state frame says 0),
    charge-off for a written-off account, else its days past due's."""
    code = buckets.of_account(frame["days_past_due"].to_numpy(np.float64), frame["charged_off"].to_numpy(bool))
    pre = frame["pre_delinquent"].to_numpy(bool) if "pre_delinquent" in frame else np.zeros(len(frame), bool)
    return np.where(pre, 0, code)


def state_dated(rows: pd.DataFrame, tables: dict[str, pd.DataFrame], params: Params) -> pd.DataFrame:
    """The decision rows with days past due as the state frame dates them that morning
    (features.state_frame.days_past_due_at); NaN where no statement precedes the row, so its bucket is unknown.

    The rows' own days past due (the features the uplift model learns on, models/uplift/rows.py) count on
    from the last statement, ignoring the payments since, and put a decision before the account's first
    statement at 1 day past due, whatever its arrears. Read on that dating, the first arrears bucket took in
    the log's first month of late accounts, which business as usual contacts far more: its rate read 25.0%
    on the default book, against 23.65% for business as usual's own accounts of that bucket in the same world
    and 23.64% on this dating."""
    d = tables["decisions"].set_index("decision_id").reindex(rows["decision_id"].to_numpy())
    dated = days_past_due_at(
        tables,
        rows["account_id"].to_numpy(np.int64),
        rows["local_date"].to_numpy("datetime64[D]").astype(np.int64),
        minutes(d["decided_at"]),
        params,
    )
    return rows.assign(days_past_due=dated)


def contact_share_by_bucket(rows: pd.DataFrame, buckets: Buckets) -> list[float | None]:
    """Per bucket (`budget_bucket`), the share of the log's decisions that contacted: business as usual's contact
    rate for such an account (None: none logged). `rows`: decision rows on the state frame's dates
    (`state_dated`), so that the rate is the one of the state frame's buckets."""
    rows = rows[~np.isnan(rows["days_past_due"].to_numpy(np.float64))]
    contacted = (rows["action"].to_numpy(object) != "none").astype(np.float64)
    code = budget_bucket(rows, buckets)
    k = len(buckets.names)
    n = np.bincount(code, minlength=k)
    hits = np.bincount(code, weights=contacted, minlength=k)
    return [float(hits[b] / n[b]) if n[b] else None for b in range(k)]


def log_facts(rows: pd.DataFrame, tables: dict[str, pd.DataFrame], params: Params) -> dict[str, object]:
    """What the strategy takes from the decision log (`rows`, of the validated `tables`): each reminder
    channel's lift, the share of logged decisions that contacted (business as usual's volume; None for an
    empty log) and the same per bucket of the state frame's dating."""
    share = None if rows.empty else float((rows["action"].to_numpy(object) != "none").mean())
    by_bucket = contact_share_by_bucket(state_dated(rows, tables, params), params.buckets.as_buckets())
    return {
        "reminder_lift": reminder_lift(rows, tables["statements"], REMINDER_CHANNELS),
        "logged_contact_share": share,
        "logged_contact_share_by_bucket": by_bucket,
    }


@dataclass(frozen=True)
class ReminderModel:
    """Per arm (NO_REMINDER and the reminder channels it learnt), a classifier of P(not past due at the next
    statement) on the uplift model's features (models/uplift/rows.FEATURES)."""

    boosters: dict[str, lgb.Booster]

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(ch for ch in self.boosters if ch != NO_REMINDER)

    def lift(self, features: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per channel, each row's change in P(not past due at the next statement) if reminded on it."""
        X = features[list(FEATURES)].to_numpy(np.float64)
        if not len(X):
            return {ch: np.zeros(0) for ch in self.channels}
        base = self.boosters[NO_REMINDER].predict(X)
        return {ch: self.boosters[ch].predict(X) - base for ch in self.channels}


def fit_reminders(rows: pd.DataFrame, statements: pd.DataFrame, params: Params) -> ReminderModel | None:
    """The per-borrower reminder model (module docstring) from the log's reminder rows; None when no channel (or
    no-reminder side) has `MIN_ROWS` logged rows."""
    pre, y = _reminder_rows(rows, statements)
    arms = [a for a in (NO_REMINDER, *REMINDER_CHANNELS) if _took(pre, a).sum() >= MIN_ROWS] if len(pre) else []
    if NO_REMINDER not in arms or len(arms) < 2:
        return None
    lgbm = params.uplift.lightgbm
    config = booster_params(lgbm, params.seeds.training, 2)
    X = pre[list(FEATURES)].to_numpy(np.float64)
    w = 1.0 / pre["propensity"].to_numpy(np.float64)
    held = pre["account_id"].to_numpy(np.int64) % HOLD_OUT_EVERY == 0
    boosters = {}
    for arm in arms:
        fit, valid = _took(pre, arm) & ~held, _took(pre, arm) & held
        train = lgb.Dataset(X[fit], label=y[fit], weight=w[fit] / w[fit].mean(), free_raw_data=True)
        boosters[arm] = fit_booster(config, lgbm, train, X[valid], y[valid])
    return ReminderModel(boosters)
