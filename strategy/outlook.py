"""Beyond tomorrow: what keeping an account from rolling to the next bucket is worth.

A contact that gets a payment this week may also stop the account from rolling on, and an account
that rolls on is worth less: later buckets pay back a smaller share of the balance. Following the
collections teams' flow-rate view (and the constrained-MDP framing of Abe et al., KDD 2010, where an
action's value includes the change in the account's future state), the strategy adds to each contact's
value

    horizon value = Δ P(pays) x roll_forward[b] x balance x max(collected_share[b] - collected_share[b + 1], 0)

where, from the lender's statements and payments:

* `roll_forward[b]`: the Markov roll rate, the share of statements in bucket b whose next statement is in a
  later bucket (models/roll_rate/markov.py; charge-off is absorbing: 0);
* `collected_share[b]`: the value per bucket, the share of a statement's balance paid within
  `strategy.horizon_days` after it, averaged over the statements in bucket b (capped at the balance), over
  the statements followed that long (a window past the book's last statement would undercount);
* Δ P(pays): the uplift model's change in the probability of any payment within its response horizon.

Assumptions (docs/strategy.md): a borrower moved to pay by the contact would otherwise have rolled at
the bucket's rate (the payers it adds are not the ones who pay anyway), and a roll avoided keeps the
account's future at its current bucket's value. The first days' collections are in both the response
and the bucket values; the horizon term counts only the difference between buckets, so that overlap
cancels to first order. `strategy.horizon_weight` scales the term: 0 gives the myopic policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.buckets import Buckets
from models.roll_rate.markov import transition_counts


@dataclass(frozen=True)
class Outlook:
    """Per bucket: the roll-forward rate and the share of the balance collected within `horizon_days`."""

    roll_forward: np.ndarray
    collected_share: np.ndarray
    statements: np.ndarray
    horizon_days: int

    def value(self, bucket: np.ndarray, balance: np.ndarray, delta_paid: np.ndarray) -> np.ndarray:
        """Horizon value of an action per row: `delta_paid` (n, ...) broadcast over the row's bucket and balance."""
        b = np.clip(np.asarray(bucket, dtype=np.int64), 0, len(self.roll_forward) - 1)
        nxt = np.minimum(b + 1, len(self.roll_forward) - 1)
        gap = np.maximum(self.collected_share[b] - self.collected_share[nxt], 0.0)
        per_row = self.roll_forward[b] * np.nan_to_num(np.asarray(balance, dtype=np.float64)).clip(0) * gap
        d = np.asarray(delta_paid, dtype=np.float64)
        return d * per_row.reshape((-1,) + (1,) * (d.ndim - 1))

    def as_dict(self) -> dict[str, object]:
        return {
            "roll_forward": [float(x) for x in self.roll_forward],
            "collected_share": [float(x) for x in self.collected_share],
            "statements": [int(x) for x in self.statements],
            "horizon_days": self.horizon_days,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Outlook:
        return cls(
            np.asarray(d["roll_forward"], float),
            np.asarray(d["collected_share"], float),
            np.asarray(d["statements"], np.int64),
            int(d["horizon_days"]),
        )


def _paid_within(statements: pd.DataFrame, payments: pd.DataFrame, days: int) -> np.ndarray:
    """Per statement, the account's payments in (cycle_date, cycle_date + days]."""
    if payments.empty:
        return np.zeros(len(statements))
    pay = payments[["account_id", "paid_at", "amount"]].dropna()
    t = pd.to_datetime(pay["paid_at"], utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    order = np.lexsort((t, pay["account_id"].to_numpy(np.int64)))
    acc, t = pay["account_id"].to_numpy(np.int64)[order], t[order]
    cum = np.concatenate([[0.0], np.cumsum(pay["amount"].to_numpy(np.float64)[order])])
    keys = np.rec.fromarrays([acc, t])

    def before(account: np.ndarray, when: np.ndarray) -> np.ndarray:
        return cum[np.searchsorted(keys, np.rec.fromarrays([account, when]), side="right")]

    s_acc = statements["account_id"].to_numpy(np.int64)
    start = pd.to_datetime(statements["cycle_date"]).to_numpy("datetime64[ns]").astype(np.int64)
    end = start + np.int64(days) * 86_400 * 10**9
    return before(s_acc, end) - before(s_acc, start)


@dataclass(frozen=True)
class OutlookCounts:
    """What the outlook is estimated from, as sums over statements, so that partitions of the accounts add up
    to the whole book's (the nightly job fits its context one partition at a time)."""

    transitions: np.ndarray  # (k, k): statements in bucket i whose next statement is in bucket j
    paid_share: np.ndarray  # (k,): per bucket, the sum of the shares of the balance paid within the horizon
    statements: np.ndarray  # (k,): per bucket, the statements followed that long, with a balance

    def __add__(self, other: OutlookCounts) -> OutlookCounts:
        return OutlookCounts(
            self.transitions + other.transitions, self.paid_share + other.paid_share, self.statements + other.statements
        )

    def outlook(self, buckets: Buckets, horizon_days: int) -> Outlook:
        k = len(buckets.names)
        rows = self.transitions.sum(axis=1)
        later = np.array([self.transitions[b, b + 1 :].sum() for b in range(k)])
        roll = np.where(rows > 0, later / np.maximum(rows, 1), 0.0)
        roll[buckets.charge_off] = 0.0
        n = self.statements
        collected = np.where(n > 0, self.paid_share / np.maximum(n, 1), 0.0)
        return Outlook(roll, collected, n.astype(np.int64), horizon_days)


def fit_outlook(
    statements: pd.DataFrame, payments: pd.DataFrame, buckets: Buckets, horizon_days: int, max_cycle_days: int
) -> Outlook:
    """Roll rates and value per bucket from the statements and payments (no statement after a gap is a transition)."""
    return outlook_counts(statements, payments, buckets, horizon_days, max_cycle_days).outlook(buckets, horizon_days)


def outlook_counts(
    statements: pd.DataFrame,
    payments: pd.DataFrame,
    buckets: Buckets,
    horizon_days: int,
    max_cycle_days: int,
    last_cycle: pd.Timestamp | None = None,
) -> OutlookCounts:
    """The outlook's sums over these statements. `last_cycle`: the book's latest statement with days past due
    (a window ending after it is censored, left out); None: these statements' latest (the whole book's)."""
    s = statements.sort_values(["account_id", "cycle_date"], kind="stable").reset_index(drop=True)
    s = s[s["days_past_due"].notna()].reset_index(drop=True)
    k = len(buckets.names)
    code = buckets.code(s["days_past_due"].to_numpy(np.int64)).astype(np.int64)
    same = s["account_id"].to_numpy()[1:] == s["account_id"].to_numpy()[:-1]
    gap = np.diff(pd.to_datetime(s["cycle_date"]).to_numpy("datetime64[D]").astype(np.int64)) <= max_cycle_days
    has_next = np.concatenate([same & gap, [False]])
    nxt = np.concatenate([code[1:], [0]])
    counts = transition_counts(code[has_next], nxt[has_next], k)
    balance = s["balance"].to_numpy(np.float64)
    cycle = pd.to_datetime(s["cycle_date"])
    last = cycle.max() if last_cycle is None else pd.Timestamp(last_cycle)
    followed = (cycle + pd.Timedelta(days=horizon_days) <= last).to_numpy()  # censored windows left out
    ok = np.isfinite(balance) & (balance > 0) & followed
    paid = _paid_within(s[ok], payments, horizon_days)
    share = np.clip(paid / balance[ok], 0.0, 1.0)
    total = np.bincount(code[ok], weights=share, minlength=k)
    n = np.bincount(code[ok], minlength=k)
    return OutlookCounts(counts, total, n.astype(np.int64))
