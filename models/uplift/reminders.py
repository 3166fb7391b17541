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

**Rescued bills, for the off-policy estimates** (`rescue_credit`): the evaluation harness counts a bill a reminder
kept from being missed as collected. A reminder changes nothing else about whether a bill is paid on time, so its
lift in *paid by the end of the day after the due day* (`bills_paid_on_time`) is the share of bills it rescues,
measured per channel as above but day to the due date by day (a row left alone on one day may belong to a bill
reminded on another). Each reminder row is credited its bill times its channel's lift (benchmarks/uplift.py).

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
from core.schema import CHANNELS
from features.events import minutes, window_sum
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


def _ipw_lift(
    pre: pd.DataFrame, y: np.ndarray, channels: tuple[str, ...], strata: np.ndarray | None = None
) -> dict[str, float]:
    """Per channel with at least MIN_ROWS logged reminders: the self-normalised inverse-propensity mean of `y` on the
    reminder rows `pre` that took it, minus the same on the rows left alone ({} when fewer were left alone).

    `strata` (per row, optional): the difference is taken within each stratum that has MIN_ROWS rows left alone, and
    averaged over the channel's rows. A row left alone on one day may belong to a bill reminded on another: within a
    day to the due date, both sides share the log's reminders of the other days."""
    w = 1.0 / pre["propensity"].to_numpy(np.float64)
    group = np.zeros(len(pre), np.int64) if strata is None else np.asarray(strata)

    def mean(mask: np.ndarray) -> float:
        return float(np.sum(w[mask] * y[mask]) / np.sum(w[mask]))

    none = _took(pre, NO_REMINDER)
    if none.sum() < MIN_ROWS:
        return {}
    lift = {}
    for ch in channels:
        took = _took(pre, ch)
        if took.sum() < MIN_ROWS:
            continue
        parts = [
            (int((took & (group == g)).sum()), mean(took & (group == g)) - mean(none & (group == g)))
            for g in np.unique(group[took])
            if (none & (group == g)).sum() >= MIN_ROWS
        ]
        if parts:
            lift[ch] = sum(n * d for n, d in parts) / sum(n for n, _ in parts)
    return lift


def reminder_lift(rows: pd.DataFrame, statements: pd.DataFrame, channels: tuple[str, ...]) -> dict[str, float]:
    """Per channel: the change in P(not past due at the next statement) a reminder on the channel brings."""
    return _ipw_lift(*_reminder_rows(rows, statements), channels)


def bills_paid_on_time(rows: pd.DataFrame, tables: dict[str, pd.DataFrame], params: Params) -> tuple[np.ndarray, ...]:
    """Per decision row: the bill of a reminder row (its last statement's amount due; NaN elsewhere), whether it was
    paid by the end of the day after its due day (1/0; NaN: not a reminder row, no bill, or not known yet), and the
    days from the row to the due day (-1 off the reminder rows).

    The due day is the reminder rows' last (models/uplift/rows.py: a current account is shown
    `uplift.pre_delinquency_days` days before it, and on it); the day after counts too, because a reminder on the due
    day itself gets the bill paid the next day. Days are UTC days, a day of slack either way for the local ones."""
    pre = rows["pre_delinquent"].to_numpy(bool)
    bill, on_time = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    to_due = np.full(len(rows), -1, dtype=np.int64)
    if not pre.any():
        return bill, on_time, to_due
    q = pd.DataFrame(
        {
            "account_id": rows["account_id"].to_numpy(np.int64)[pre],
            "t": pd.to_datetime(rows["local_date"].to_numpy()[pre]).astype("datetime64[ns]"),
            "i": np.flatnonzero(pre),
        }
    )
    st = tables["statements"][["account_id", "cycle_date", "amount_due"]].dropna()
    st = st.assign(
        account_id=st["account_id"].astype(np.int64),
        cycle_date=pd.to_datetime(st["cycle_date"]).astype("datetime64[ns]"),
    )
    hit = pd.merge_asof(  # the last statement before the row's day (known from the day after its cycle date)
        q.sort_values("t"),
        st.sort_values("cycle_date"),
        left_on="t",
        right_on="cycle_date",
        by="account_id",
        direction="backward",
        allow_exact_matches=False,
    ).sort_values("i")
    due = hit.groupby(["account_id", "cycle_date"])["t"].transform("min") + pd.Timedelta(
        days=params.uplift.pre_delinquency_days
    )
    pay = tables["payments"]
    paid, _ = window_sum(
        pay["account_id"].to_numpy(np.int64),
        minutes(pay["paid_at"]),
        pay["amount"].to_numpy(np.float64),
        hit["account_id"].to_numpy(np.int64),
        minutes(hit["cycle_date"] + pd.Timedelta(days=1)),
        minutes(due + pd.Timedelta(days=2)),
    )
    amount = hit["amount_due"].to_numpy(np.float64)
    last = pd.Timestamp(pay["paid_at"].max()).tz_localize(None) if len(pay) else pd.Timestamp.min
    known = (amount > 0) & (due + pd.Timedelta(days=2) <= last).to_numpy()
    bill[pre] = np.where(amount > 0, amount, np.nan)
    on_time[pre] = np.where(known, (paid >= amount - 0.005).astype(np.float64), np.nan)
    to_due[pre] = (due - hit["t"]).dt.days.to_numpy(np.int64)
    return bill, on_time, to_due


def rescue_credit(
    rows: pd.DataFrame, tables: dict[str, pd.DataFrame], params: Params, channels: tuple[str, ...] = CHANNELS
) -> tuple[np.ndarray, dict[str, float]]:
    """Per decision row, the bill its logged action is expected to rescue (0 off the reminder rows), and the lift per
    channel it is priced at: what the off-policy estimates add to a reminder's collections (docs/uplift.md).

    The evaluation harness counts as collected a bill that a reminder kept from being missed; no table records which
    bills those were, but a lender can measure how many. A reminder changes nothing else about whether a bill is paid
    on time, so its lift in *paid by the day after the due day* (`bills_paid_on_time`) over no reminder is the share
    of bills it rescues: per channel, on the reminder rows with a known label, day to the due date by day
    (`_ipw_lift`). A channel with fewer than MIN_ROWS logged reminders gets no lift, and its reminders no credit. The
    credit is the bill times the lift of the logged channel (no offer): an expected value, so a fitted Q of each arm
    learns it with the day's collections."""
    bill, on_time, to_due = bills_paid_on_time(rows, tables, params)
    known = ~np.isnan(on_time)
    lift = _ipw_lift(rows[known], on_time[known], channels, to_due[known]) if known.any() else {}
    plain = rows["offer"].to_numpy(object) == "none"
    per_row = np.array([lift.get(a, 0.0) for a in rows["action"].to_numpy(object)]) * plain
    return np.nan_to_num(bill) * per_row, lift


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
    return _facts(rows, tables, params, *_reminder_rows(rows, tables["statements"]))


def learn_from_log(
    rows: pd.DataFrame, tables: dict[str, pd.DataFrame], params: Params
) -> tuple[dict[str, object], ReminderModel | None]:
    """`log_facts` and `fit_reminders` together, on one labelling of the reminder rows (each labels them from the
    statements; the uplift stage needs both)."""
    pre, y = _reminder_rows(rows, tables["statements"])
    return _facts(rows, tables, params, pre, y), _fit(pre, y, params)


def _facts(rows, tables, params: Params, pre: pd.DataFrame, y: np.ndarray) -> dict[str, object]:
    share = None if rows.empty else float((rows["action"].to_numpy(object) != "none").mean())
    by_bucket = contact_share_by_bucket(state_dated(rows, tables, params), params.buckets.as_buckets())
    return {
        "reminder_lift": _ipw_lift(pre, y, REMINDER_CHANNELS),
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
    return _fit(*_reminder_rows(rows, statements), params)


def _fit(pre: pd.DataFrame, y: np.ndarray, params: Params) -> ReminderModel | None:
    arms = [a for a in (NO_REMINDER, *REMINDER_CHANNELS) if _took(pre, a).sum() >= MIN_ROWS]
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
