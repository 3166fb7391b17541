"""Reference policies for evaluation, beside business as usual, no contact, contact everyone and the oracle.

* `RandomAtBudget`: each day as many contacts, on the same channels at the same hours, as business
  as usual would make, sent to accounts drawn at random among those the channel is allowed for
  (pre-delinquent rows included: they are drawn like any other, within the same budget).
  What BAU's targeting is worth: BAU minus this is the value of choosing whom to contact.
* `SimpleRule`: one fixed rule on observable columns only, written down before any evaluation and
  never tuned: a reminder the day before a bill falls due (SMS at 10:00, e-mail where SMS is not
  allowed), early reminders (SMS at 10:00 every third day before 30 days past due,
  e-mail where SMS is not allowed), evening calls (18:00 every second day from 30 days past due,
  else SMS, e-mail, letter), the agency weekly on weekdays after charge-off; nobody with a promise
  pending. If a rule this plain gets most of the oracle's gain, the world leaves little to learn.

Both take only the public state (they run in the evaluation's policy process like any policy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.schema import CHANNELS
from simulator.policies import BusinessAsUsual, _allowed, _day_number, actions_frame, first_per_borrower


class RandomAtBudget:
    """BAU's daily contacts (count, channels, hours) sent to random eligible accounts."""

    name = "random_budget"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.bau = BusinessAsUsual(seed=seed)

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        planned = self.bau(day, states)
        n = len(states)
        if len(planned) == 0 or n == 0:
            return planned
        rng = np.random.default_rng([self.seed, _day_number(day)])
        order = rng.permutation(n)
        allowed = _allowed(states)
        borrower = states["borrower_id"].to_numpy()
        free = np.ones(n, dtype=bool)
        ids, chans, hours = [], [], []
        codes = planned["channel"].cat.codes.to_numpy()
        for c in np.unique(codes):
            want = planned["hour"].to_numpy()[codes == c]
            cand = order[allowed[order, c] & free[order]]
            _, first = np.unique(borrower[cand], return_index=True)
            cand = cand[np.sort(first)][: len(want)]
            free[np.isin(borrower, borrower[cand])] = False
            ids.append(states["account_id"].to_numpy()[cand])
            chans.append(np.full(len(cand), c))
            hours.append(want[: len(cand)])
        return actions_frame(np.concatenate(ids), np.concatenate(chans), np.concatenate(hours))


class SimpleRule:
    """A reminder the day before the due date, early SMS reminders, evening calls from 30 days past due, the
    agency after charge-off."""

    name = "simple_rule"

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        n = len(states)
        allowed = _allowed(states)
        can = {c: allowed[:, CHANNELS.index(c)] for c in CHANNELS}
        dpd = states["days_past_due"].to_numpy()
        since = states["days_since_contact"].to_numpy()
        co = states["charged_off"].to_numpy(dtype=bool)
        quiet = states["promise_pending"].to_numpy(dtype=bool)
        weekday = states["local_weekday"].to_numpy()
        channel = np.full(n, -1)
        hour = np.full(n, 10, dtype=np.int64)

        def take(mask: np.ndarray, name: str, at: int) -> None:
            sel = mask & (channel < 0) & can[name]
            channel[sel] = CHANNELS.index(name)
            hour[sel] = at

        pre = states["pre_delinquent"].to_numpy(dtype=bool)
        remind = pre & (states["days_to_due"].to_numpy() == 1)
        early = ~co & ~quiet & ~pre & (dpd < 30) & (since >= 3)
        late = ~co & ~quiet & (dpd >= 30) & (since >= 2)
        take(remind, "sms", 10)
        take(remind, "email", 10)
        take(early, "sms", 10)
        take(early, "email", 10)
        take(late, "call", 18)
        for name in ("sms", "email", "letter"):
            take(late, name, 10)
        take(co & (since >= 7) & (weekday < 5), "agency", 12)
        rows = first_per_borrower(states, channel >= 0)
        return actions_frame(states["account_id"].to_numpy()[rows], channel[rows], hour[rows])


def random_budget(seed: int = 0) -> RandomAtBudget:
    return RandomAtBudget(seed)


def simple_rule() -> SimpleRule:
    return SimpleRule()
