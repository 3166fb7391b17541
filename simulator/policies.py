"""Contact policies: functions from (day, states frame) to actions (account_id, channel, hour).

A policy is any callable `policy(day, states) -> DataFrame | None` where `day` is the local
calendar date (pd.Timestamp) and `states` has the columns of simulator.observe.STATE_COLUMNS
(one row per account in arrears or charged off). It returns one row per contact to make:
`account_id`, `channel` (a core.schema.CHANNELS value), `hour` (local, 8..20) and optionally
`propensity` (logged to contacts.propensity) and `offer` (a core.schema.OFFERS value, logged to
contacts.offer; missing or empty: "none"). Optional attributes: `name` (reports),
`wants_truth = True` (also receive the latent `truth_*` columns: only the oracle should),
`silent = True` (never contacts: the world skips building states), and
`decide(day, states) -> Decisions` (a logging policy: every decision, no contact included, with its
probability; a recorded run writes them to the `decisions` table and makes its contacts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from core.compliance import ComplianceParams, Rulebook, profile_for_regions
from core.params import ContactParams, SimulateParams
from core.schema import CHANNELS, OFFERS, OUTCOMES
from simulator import response as resp
from simulator.config import HARDSHIP, Mechanics, SimConfig
from simulator.rng import Stream

ACTION_COLUMNS = ("account_id", "channel", "hour", "propensity", "offer")
#: The channel column of actions may be plain strings or this categorical (faster to check).
CHANNEL_DTYPE = pd.CategoricalDtype(list(CHANNELS))
#: The offer column of actions (optional; missing means "none"): plain strings or this categorical.
OFFER_DTYPE = pd.CategoricalDtype(list(OFFERS))
_ALLOWED_COLUMNS = [f"can_{c}" for c in CHANNELS]


class Policy(Protocol):
    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame | None: ...


def policy_name(policy: object) -> str:
    return str(getattr(policy, "name", None) or getattr(policy, "__name__", None) or type(policy).__name__)


def actions_frame(
    account_id: np.ndarray,
    channel: np.ndarray,
    hour: np.ndarray,
    propensity: np.ndarray | None = None,
    offer: np.ndarray | None = None,
) -> pd.DataFrame:
    """Build an actions frame from channel codes (indices into CHANNELS) and offer codes (into OFFERS;
    None: every contact offers "none")."""
    n = len(account_id)
    return pd.DataFrame(
        {
            "account_id": np.asarray(account_id, dtype=np.int64),
            "channel": pd.Categorical.from_codes(np.asarray(channel, dtype=np.int64), dtype=CHANNEL_DTYPE),
            "hour": np.asarray(hour, dtype=np.int64),
            "propensity": np.full(n, np.nan) if propensity is None else np.asarray(propensity, float),
            "offer": pd.Categorical.from_codes(
                np.zeros(n, dtype=np.int64) if offer is None else np.asarray(offer, dtype=np.int64), dtype=OFFER_DTYPE
            ),
        }
    )


def first_per_borrower(states: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
    """Rows of `mask` keeping the first account of each borrower (the world allows one contact a day)."""
    rows = np.flatnonzero(mask)
    _, first = np.unique(states["borrower_id"].to_numpy()[rows], return_index=True)
    return rows[np.sort(first)]


def _allowed(states: pd.DataFrame) -> np.ndarray:
    return np.column_stack([states[c].to_numpy(dtype=bool) for c in _ALLOWED_COLUMNS])


def _day_number(day: pd.Timestamp) -> int:
    return int(pd.Timestamp(day).value // (86_400 * 10**9))


@dataclass(frozen=True)
class Decisions:
    """A logging policy's decisions for one day: one row per account shown, in the states' order.

    `channel` is a CHANNELS index or -1 (no contact), `hour` the local hour (-1 for none), `offer` an
    OFFERS index (0, "none", for no contact) and `propensity` the probability with which the policy took
    this account's logged action (see BusinessAsUsual).
    """

    account_id: np.ndarray
    channel: np.ndarray
    hour: np.ndarray
    offer: np.ndarray
    propensity: np.ndarray

    def actions(self) -> pd.DataFrame:
        """The contacts among the decisions, as an actions frame (what `Policy.__call__` returns)."""
        rows = np.flatnonzero(self.channel >= 0)
        return actions_frame(
            self.account_id[rows], self.channel[rows], self.hour[rows], self.propensity[rows], self.offer[rows]
        )


@dataclass(frozen=True)
class Distribution:
    """The exact probabilities of BusinessAsUsual's decisions on one day, factorised (one row per account).

    For a borrower b with shown accounts a (in the states' order), the policy takes at most one action:
    none, or (account a, channel c, hour h, offer o), with probability

        P(a, c, h, o) = (1 - lam_b) * contact_a * channel[a, c] * hour[a, c, h] * offer[a, o] + lam_b / n_b
        P(none)       = (1 - lam_b) * none_b + lam_b / n_b

    over the allowed combinations (`allowed[a, c] & hours_ok[a, h]`, every offer), `n_b` of them plus
    none; the rule part (`contact`, `channel`, `hour`, `offer`) is the lender's cadence, the uniform part
    (`lam`) the floor.
    """

    borrower: np.ndarray  # (n,) borrower id
    allowed: np.ndarray  # (n, C) bool: channels the policy may use
    hours_ok: np.ndarray  # (n, 24) bool: local hours allowed by the row's compliance profile
    contact: np.ndarray  # (n,) rule part: P(the borrower's contact goes to this account)
    channel: np.ndarray  # (n, C) rule part: P(channel | this account is contacted)
    offer: np.ndarray  # (n, O) rule part: P(offer | contacted)
    window: np.ndarray  # (n, C, 24) rule part: P(hour | channel)
    lam: np.ndarray  # (n,) the borrower's floor mixture weight
    n_actions: np.ndarray  # (n,) the borrower's number of allowed actions, none included
    contact_wish: np.ndarray  # (n,) rule part: P(the account wishes contact), before the one-per-borrower choice

    def joint(self, row: int) -> np.ndarray:
        """(C, 24, O): P(this account gets channel c at hour h with offer o)."""
        mask = self.allowed[row][:, None, None] & self.hours_ok[row][None, :, None]
        rule = self.contact[row] * self.channel[row][:, None, None] * self.window[row][:, :, None]
        rule = rule * self.offer[row][None, None, :]
        return np.where(mask, (1 - self.lam[row]) * rule + self.lam[row] / self.n_actions[row], 0.0)

    def none_of_borrower(self, row: int) -> float:
        """P(no contact for the borrower of `row`)."""
        same = np.flatnonzero(self.borrower == self.borrower[row])
        rule_none = float(np.prod(1 - self.contact_wish[same])) if len(same) else 1.0
        return (1 - self.lam[row]) * rule_none + self.lam[row] / self.n_actions[row]


class BusinessAsUsual:
    """The lender's logging policy: its cadence, randomised everywhere, with every decision logged.

    The cadence (the rule): touch days every 4th day past due in 1-29, every 2nd in 30-59, daily from
    60 (not on Sunday, not while a promise is pending); weekly on weekdays for charged-off accounts
    (agency). Each day every account shown *wishes* contact with probability
    `1 - ((1 - e) * rule_none + e / (k + 1))` on a touch day (as the lender's rule weights say, k
    allowed channels) and `e * OFF_CADENCE` on any other day (e = `bau_exploration`); a borrower with
    several accounts shown gets at most one contact, on the first wishing account in the states' order.
    The contacted account's channel is drawn from `(1 - e) * rule weights + e * uniform` over the allowed
    channels (field visits, which cost about 30 calls, only when nothing else is allowed: the floor explores
    them), its local hour from `(1 - e) * uniform over the channel's
    window + e * uniform over the hours the borrower's compliance profile allows`, its offer from
    `(1 - e) * OFFER_RULES + e * uniform`.

    The floor (`bau_floor`): with weight `lam = min(1, floor * n)` the borrower's action is drawn
    instead uniformly among its n allowed actions (none, and every allowed channel x hour x offer of
    every account shown), so every allowed action of every account-day shown, Sundays and days with a
    pending promise included, has probability at least `floor`.

    `decide` returns every decision, no contact included, with its exact probability (`Distribution`
    says how it is computed): for the contacted account the joint probability of channel, hour and
    offer; for an account not contacted the probability that it got no contact. Calling the policy
    returns only the contacts, as any policy does.
    """

    name = "business_as_usual"
    #: rule weights over (no contact, sms, email, call, letter, field_visit, agency, legal)
    RULES = np.array(
        [
            [0.05, 0.55, 0.15, 0.20, 0.05, 0.00, 0.00, 0.0],  # 1-29 days past due
            [0.05, 0.20, 0.05, 0.55, 0.15, 0.00, 0.00, 0.0],  # 30-59
            [0.05, 0.12, 0.05, 0.62, 0.13, 0.03, 0.00, 0.0],  # 60+
            [0.10, 0.00, 0.00, 0.00, 0.00, 0.00, 0.90, 0.0],  # charged off
            [0.05, 0.70, 0.25, 0.00, 0.00, 0.00, 0.00, 0.0],  # ORACLE: pre-delinquent (a bill due soon, unpaid)
        ]
    )
    CADENCE = np.array([4, 2, 1, 7, 1])
    #: local hour windows (inclusive) per channel
    HOURS = np.array([(9, 12), (8, 20), (9, 19), (10, 10), (10, 17), (9, 19), (10, 10)])
    FIELD_VISIT_MIN_BALANCE = 1500.0
    #: rule weights over OFFERS (none, plan, settlement, discount) per group as in RULES
    OFFER_RULES = np.array(
        [
            [0.90, 0.05, 0.00, 0.05],
            [0.70, 0.20, 0.00, 0.10],
            [0.55, 0.25, 0.10, 0.10],
            [0.40, 0.10, 0.40, 0.10],
            [1.00, 0.00, 0.00, 0.00],  # ORACLE: a reminder offers nothing
        ]
    )
    #: ORACLE: P(the account wishes a reminder) on the day before a bill falls due (pre-delinquent rows, not on
    #: Sunday); other days pre-delinquent rows get only the off-cadence exploration
    REMINDER = 0.5
    #: off the cadence, an account wishes contact with probability exploration * OFF_CADENCE a day
    OFF_CADENCE = 0.25

    def __init__(
        self,
        seed: int = 0,
        exploration: float = 0.1,
        floor: float = 2e-5,
        compliance: ComplianceParams | None = None,
    ) -> None:
        self.stream = Stream(seed, "bau")
        self.exploration = exploration
        self.floor = floor
        self.rules = Rulebook.from_params(compliance)
        self._profiles: dict[tuple[str, ...], np.ndarray] = {}

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        return self.decide(day, states).actions()

    # --- the distribution ----------------------------------------------------------------------
    def _hours(self, states: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(first, end) per row: a contact may start at the local hours [first, end) of the row's compliance
        profile (the public `region` selects it); first = end = 0 without a profile."""
        region = states["region"]
        if isinstance(region.dtype, pd.CategoricalDtype):  # one look-up per category, cached, not per row
            names = tuple(region.cat.categories) + (None,)
            if names not in self._profiles:
                self._profiles[names] = profile_for_regions(self.rules.params, list(names))
            profile = self._profiles[names][region.cat.codes.to_numpy()]  # code -1 (missing) takes the last
        else:
            profile = profile_for_regions(self.rules.params, region)
        ok = profile >= 0
        return np.where(ok, self.rules.first_hour[profile], 0), np.where(ok, self.rules.end_hour[profile], 0)

    def _factors(self, states: pd.DataFrame) -> dict[str, np.ndarray]:
        n = len(states)
        e = self.exploration
        dpd = states["days_past_due"].to_numpy()
        co = states["charged_off"].to_numpy(dtype=bool)
        pre = states["pre_delinquent"].to_numpy(dtype=bool)  # ORACLE: reminders before the due date
        group = np.where(co, 3, np.where(pre, 4, np.where(dpd < 30, 0, np.where(dpd < 60, 1, 2))))
        weekday = states["local_weekday"].to_numpy()
        since = states["days_since_contact"].to_numpy()
        touch = np.where(
            co,
            (since >= self.CADENCE[3]) & (weekday < 5),
            ((dpd - 1) % self.CADENCE[group] == 0) & (weekday != 6) & ~states["promise_pending"].to_numpy(dtype=bool),
        )
        remind = pre & (states["days_to_due"].to_numpy() == 1) & (weekday != 6)  # ORACLE
        touch = np.where(pre, remind, touch)
        first, end = self._hours(states)
        allowed = _allowed(states) & (end > first)[:, None]
        k = allowed.sum(axis=1)
        rule = self.RULES[group] * np.hstack([np.ones((n, 1), dtype=bool), allowed])
        rule[:, 1 + CHANNELS.index("field_visit")] *= states["balance"].to_numpy() >= self.FIELD_VISIT_MIN_BALANCE
        total = rule.sum(axis=1)
        none_share = (1 - e) * rule[:, 0] / np.where(total > 0, total, 1) + e / (k + 1)
        wish = np.where(k > 0, np.where(touch, np.where(pre, self.REMINDER, 1 - none_share), e * self.OFF_CADENCE), 0.0)
        ch_rule = rule[:, 1:]
        ch_total = ch_rule.sum(axis=1, keepdims=True)
        # exploration over the allowed channels but field visits, which are costly: the floor explores them
        cheap = allowed & (np.arange(len(CHANNELS)) != CHANNELS.index("field_visit"))
        cheap = np.where(cheap.any(axis=1, keepdims=True), cheap, allowed)
        uniform = cheap / np.maximum(cheap.sum(axis=1), 1)[:, None]
        ch_rule = np.where(ch_total > 0, ch_rule / np.where(ch_total > 0, ch_total, 1), uniform)
        channel = (1 - e) * ch_rule + e * uniform
        offer = (1 - e) * self.OFFER_RULES[group] + e / len(OFFERS)
        return {
            "group": group,
            "allowed": allowed,
            "first": first,
            "end": end,
            "wish": wish,
            "channel": channel,
            "offer": offer,
        }

    def _window(self, first: np.ndarray, end: np.ndarray, ch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The channel's hour window within the allowed hours, as inclusive (lo, hi); empty when lo > hi."""
        return np.maximum(self.HOURS[ch, 0], first), np.minimum(self.HOURS[ch, 1], end - 1)

    def _hour_probability(self, first: np.ndarray, end: np.ndarray, ch: np.ndarray, hour: np.ndarray) -> np.ndarray:
        """P(hour | channel) per row: (1 - e) uniform over the channel's window within the allowed hours (all
        allowed hours when they do not meet), + e uniform over the allowed hours [first, end)."""
        lo, hi = self._window(first, end, ch)
        n_ok, n_win = np.maximum(end - first, 0), np.maximum(hi - lo + 1, 0)
        in_ok = (hour >= first) & (hour < end)
        in_win = (hour >= lo) & (hour <= hi)
        e = self.exploration
        rule = np.where(n_win > 0, in_win / np.maximum(n_win, 1), in_ok / np.maximum(n_ok, 1))
        return (1 - e) * rule + e * in_ok / np.maximum(n_ok, 1)

    def distribution(self, states: pd.DataFrame) -> Distribution:
        """The exact probabilities of today's decisions for `states` (tests, diagnostics)."""
        f = self._factors(states)
        borrower = states["borrower_id"].to_numpy(dtype=np.int64)
        contact, _, lam, n_actions = self._borrower_terms(borrower, f)
        n = len(states)
        window = np.zeros((n, len(CHANNELS), 24))
        for c in range(len(CHANNELS)):
            for h in range(24):
                window[:, c, h] = self._hour_probability(f["first"], f["end"], np.full(n, c), np.full(n, h))
        hours = np.arange(24)
        return Distribution(
            borrower=borrower,
            allowed=f["allowed"],
            hours_ok=(hours[None, :] >= f["first"][:, None]) & (hours[None, :] < f["end"][:, None]),
            contact=contact,
            channel=f["channel"],
            offer=f["offer"],
            window=window,
            lam=lam,
            n_actions=n_actions,
            contact_wish=f["wish"],
        )

    def _borrower_terms(
        self, borrower: np.ndarray, f: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per row: the rule's P(the borrower's contact goes to this account), the row's position among
        its borrower's rows, the borrower's floor weight lam and number of allowed actions (none included)."""
        n = len(borrower)
        order = np.argsort(borrower, kind="stable")
        b = borrower[order]
        new = np.ones(n, dtype=bool)
        new[1:] = b[1:] != b[:-1]
        start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
        rank_sorted = np.arange(n) - start
        wish = f["wish"][order]
        before = np.ones(n)  # P(no earlier account of the borrower wished contact)
        for r in range(1, int(rank_sorted.max(initial=0)) + 1):
            at = np.flatnonzero(rank_sorted == r)
            before[at] = before[at - 1] * (1 - wish[at - 1])
        joint = f["allowed"].sum(axis=1) * (f["end"] - f["first"]) * len(OFFERS)
        group_id = np.cumsum(new) - 1
        n_actions = 1 + np.bincount(group_id, weights=joint[order])[group_id]
        lam = np.minimum(1.0, self.floor * n_actions)
        out = [np.empty(n), np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)]
        for arr, values in zip(out, (wish * before, rank_sorted, lam, n_actions), strict=True):
            arr[order] = values
        return out[0], out[1], out[2], out[3]

    # --- the draws -------------------------------------------------------------------------------
    def decide(self, day: pd.Timestamp, states: pd.DataFrame) -> Decisions:
        """Every decision of the day, one per account shown (in the states' order), with its probability."""
        n = len(states)
        ids = states["account_id"].to_numpy(dtype=np.int64)
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Decisions(ids, empty, empty, empty, np.zeros(0))
        t = _day_number(day)
        f = self._factors(states)
        borrower = states["borrower_id"].to_numpy(dtype=np.int64)
        contact, _, lam, n_actions = self._borrower_terms(borrower, f)
        allowed, first, end = f["allowed"], f["first"], f["end"]
        n_hours = end - first
        channel = np.full(n, -1, dtype=np.int64)
        hour = np.full(n, -1, dtype=np.int64)
        offer = np.zeros(n, dtype=np.int64)

        # which component draws each borrower's action: the floor's uniform, or the cadence
        explore = self.stream.uniform(borrower, t, 10) < lam

        # the cadence: the first wishing account of the borrower; channel, hour and offer by the rule
        wishing = (self.stream.uniform(ids, t, 0) < f["wish"]) & ~explore
        rows = first_per_borrower(states, wishing)
        channel[rows] = _draw(f["channel"][rows], self.stream.uniform(ids[rows], t, 2))
        hour[rows] = self._draw_hour(first[rows], end[rows], channel[rows], ids[rows], t)
        offer[rows] = _draw(f["offer"][rows], self.stream.uniform(ids[rows], t, 3))

        # the floor: one of the borrower's n allowed actions, uniformly (index 0: none)
        if explore.any():
            self._draw_uniform(explore, allowed, first, n_hours, n_actions, channel, hour, offer, borrower, t)

        contacted = channel >= 0
        rows = np.flatnonzero(contacted)
        rule = (
            contact[rows]
            * f["channel"][rows, channel[rows]]
            * self._hour_probability(first[rows], end[rows], channel[rows], hour[rows])
            * f["offer"][rows, offer[rows]]
        )
        joint = allowed.sum(axis=1) * n_hours * len(OFFERS)
        p_contacted = (1 - lam) * contact + lam * joint / n_actions
        propensity = 1 - p_contacted
        propensity[rows] = (1 - lam[rows]) * rule + lam[rows] / n_actions[rows]
        return Decisions(ids, channel, hour, offer, propensity)

    def _draw_hour(self, first: np.ndarray, end: np.ndarray, ch: np.ndarray, ids: np.ndarray, t: int) -> np.ndarray:
        """A local hour by `_hour_probability`: the channel's window with probability 1 - e (when it meets the
        allowed hours), else any allowed hour, uniformly."""
        lo, hi = self._window(first, end, ch)
        use_window = (hi >= lo) & (self.stream.uniform(ids, t, 4) >= self.exploration)
        lo, hi = np.where(use_window, lo, first), np.where(use_window, hi, end - 1)
        return lo + np.floor(self.stream.uniform(ids, t, 1) * (hi - lo + 1)).astype(np.int64)

    def _draw_uniform(
        self,
        explore: np.ndarray,
        allowed: np.ndarray,
        first: np.ndarray,
        n_hours: np.ndarray,
        n_actions: np.ndarray,
        channel: np.ndarray,
        hour: np.ndarray,
        offer: np.ndarray,
        borrower: np.ndarray,
        t: int,
    ) -> None:
        """For borrowers drawn to the floor: pick action k of n uniformly (0: none; then account by account,
        in the states' order, channel x hour x offer) and write it into channel/hour/offer."""
        rows = np.flatnonzero(explore)
        per_account = allowed[rows].sum(axis=1) * n_hours[rows] * len(OFFERS)
        order = np.argsort(borrower[rows], kind="stable")
        rows, per_account = rows[order], per_account[order]
        b = borrower[rows]
        new = np.ones(len(rows), dtype=bool)
        new[1:] = b[1:] != b[:-1]
        cum = np.cumsum(per_account)
        start = np.maximum.accumulate(np.where(new, np.arange(len(rows)), 0))
        before = cum - per_account - (cum[start] - per_account[start])  # actions of earlier accounts of b
        k = np.floor(self.stream.uniform(b, t, 11) * n_actions[rows]).astype(np.int64)  # same k for all of b
        k = np.minimum(k, n_actions[rows].astype(np.int64) - 1) - 1  # -1: none
        mine = (k >= before) & (k < before + per_account)
        sel, r = rows[mine], (k - before)[mine]
        if len(sel) == 0:
            return
        per_channel = n_hours[sel] * len(OFFERS)
        j = r // per_channel  # the j-th allowed channel of the account
        rest = r % per_channel
        channel[sel] = np.argmax(np.cumsum(allowed[sel], axis=1) > j[:, None], axis=1)
        hour[sel] = first[sel] + rest // len(OFFERS)
        offer[sel] = rest % len(OFFERS)


def _draw(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise index drawn with the given weights (each row sums to 1, or is a mask normalised here)."""
    cum = np.cumsum(weights, axis=1)
    return np.minimum((u[:, None] * cum[:, -1:] > cum).sum(axis=1), weights.shape[1] - 1)


class ContactEveryone:
    """Every account, every day, on the first allowed of call (18:00), sms, email, letter (10:00); agency if
    charged off. One account per borrower a day (the first in the states), as the world allows. "Everyone"
    includes the pre-delinquent rows (a bill due within Mechanics.pre_delinquency_days, unpaid): they are called
    too."""

    name = "contact_everyone"
    PRIORITY = (("call", 18), ("sms", 10), ("email", 10), ("letter", 10), ("agency", 12))

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        allowed = _allowed(states)
        channel = np.full(len(states), -1)
        hour = np.zeros(len(states), dtype=np.int64)
        for name, h in reversed(self.PRIORITY):
            k = CHANNELS.index(name)
            channel = np.where(allowed[:, k], k, channel)
            hour = np.where(allowed[:, k], h, hour)
        rows = first_per_borrower(states, channel >= 0)
        return actions_frame(states["account_id"].to_numpy()[rows], channel[rows], hour[rows])


class NoContact:
    """Never contacts anyone: the counterfactual baseline of what borrowers do on their own."""

    name = "no_contact"
    silent = True

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> None:
        return None


class Oracle:
    """Truth-greedy reference: each day, per account, the action with the best expected net value.

    It reads the hidden truth (`wants_truth`: the `truth_*` columns of simulator/observe.py, given to no other
    policy) and prices every candidate action (sms, e-mail, letter, a call, a field visit or the agency, each
    at the hour the borrower is likeliest to answer or read within the hours the row's compliance profile
    allows, calls, visits and the agency with each offer of core.schema.OFFERS; legal action, to which the
    world attributes no payment, is never chosen) with the world's own response model (simulator/response.py):

        value = P(no payment before charge-off without the contact, at the truth's hazard rate)
                x [ P(the engagement it adds brings a payment: the hazard's lift over the next HORIZON_DAYS)
                    x what a payment settles of the arrears
                  + P(conversation) x P(promise) x P(kept) x what the promise settles ]
              + P(conversation) x P(plan) x (PLAN_MONTHS plan instalments x P(paid) - what the arrears would
                have brought in anyway)
              + for a bill not yet due: P(the bill is going to be missed) x P(the reminder rescues it) x the bill
              - the attempt's price and expected talk time - expected complaint, cease and opt-out prices
                (params `contact:`; after charge-off cash is net of the agency's contingency share)

    and takes, per borrower, the account and action with the best positive value, at most BUDGET contacts per
    account shown a day (business as usual's rate in the logged book: a public figure), the best first.

    A reference, not a bound: it is greedy day by day and ignores what a contact does later (fatigue's drag on
    future payments and on later contacts' risk, a cease or do-not-contact closing the channel, disputes), the
    payday weight of the coming days (it averages them) and the order in which a sequence of contacts works.
    A policy that sees only the public state may beat it.
    """

    name = "oracle"
    wants_truth = True
    #: contacts per account shown per day: business as usual's in the logged book (simulate defaults, seeds.world;
    #: tests/test_simulator_references.py measures it again)
    BUDGET = 0.225
    HORIZON_DAYS = 18  # engagement decays with engagement_decay_days (6): three of them
    PROMISE_DAYS = 7  # the shortest window left before charge-off that the oracle considers
    RECOVERY_DAYS = 180  # after charge-off: the window in which a recovery counts
    PLAN_MONTHS = 3
    #: share of an instalment a partial payment settles (simulator/dynamics.delinquent_amount: 0.7 x 1 + 0.3 x 2;
    #: hardship: the mid-point of hardship_payment_share)
    PARTIAL_SHARE = 1.3

    def __init__(
        self,
        mechanics: Mechanics | None = None,
        contact: ContactParams | None = None,
        compliance: ComplianceParams | None = None,
        plan_fraction: float | None = None,
        budget: float | None = None,
        charge_off_dpd: int = 180,
    ) -> None:
        self.m = mechanics if mechanics is not None else Mechanics()
        self.prices = contact if contact is not None else ContactParams()
        self.rules = Rulebook.from_params(compliance)
        self.plan_fraction = plan_fraction if plan_fraction is not None else SimulateParams().hardship_plan_fraction
        self.budget = self.BUDGET if budget is None else budget
        self.charge_off_dpd = charge_off_dpd
        self._profiles: dict[tuple[str, ...], np.ndarray] = {}
        m = self.m
        self.cost = np.array([self.prices.channel_cost[c] for c in CHANNELS])
        decay = np.exp(-np.arange(1, self.HORIZON_DAYS + 1) / m.engagement_decay_days)
        self.decay = decay[None, None, :].astype(np.float32)  # the (rows, actions, days) grid in float32: speed
        names = ("sms", "email", "letter") + ("call",) * 4 + ("field_visit",) * 4 + ("agency",) * 4
        self.cand_channel = np.array([CHANNELS.index(c) for c in names])
        self.cand_offer = np.array([0, 0, 0] + list(range(len(OFFERS))) * 3)

    @classmethod
    def for_config(cls, config: SimConfig) -> Oracle:
        """The oracle of a world configuration: its mechanics, prices and rules."""
        return cls(
            config.mechanics,
            config.contact,
            config.compliance,
            config.params.hardship_plan_fraction,
            charge_off_dpd=config.charge_off_dpd,
        )

    def _hours_ok(self, states: pd.DataFrame) -> np.ndarray:
        """(n, 24): the local hours a contact may start at under the row's compliance profile."""
        region = states["region"]
        if isinstance(region.dtype, pd.CategoricalDtype):
            names = tuple(region.cat.categories) + (None,)
            if names not in self._profiles:
                self._profiles[names] = profile_for_regions(self.rules.params, list(names))
            profile = self._profiles[names][region.cat.codes.to_numpy()]
        else:
            profile = profile_for_regions(self.rules.params, region)
        ok = profile >= 0
        first = np.where(ok, self.rules.first_hour[np.maximum(profile, 0)], 0)[:, None]
        end = np.where(ok, self.rules.end_hour[np.maximum(profile, 0)], 0)[:, None]
        hours = np.arange(24)[None, :]
        return (hours >= first) & (hours < end)

    def values(self, states: pd.DataFrame, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(value, channel, hour) per row (of `rows`, default all) and candidate action (n, K); -inf where not
        allowed."""
        m, prices = self.m, self.prices
        take = slice(None) if rows is None else rows

        def column(name: str) -> np.ndarray:
            return states[name].to_numpy()[take]

        def col(name: str, dtype: type = float) -> np.ndarray:
            return column(name).astype(dtype, copy=False)[:, None]

        n = len(column("account_id"))

        ch, offer = self.cand_channel[None, :], self.cand_offer[None, :]
        seg = states["truth_behaves_as"].cat.codes.to_numpy()[take][:, None]
        reach_type = column("truth_reach_type")[:, None]
        weekday = int(states["local_weekday"].iloc[0])
        hours_ok = self._hours_ok(states)[take]
        # the hour: the borrower's best answer hour for voice, the best reading hour for messages, 10:00 for letters
        answer_profile = np.where(hours_ok, np.asarray(m.call_hour_profile)[reach_type[:, 0]], -1.0)
        read_profile = np.where(hours_ok, np.asarray(m.digital_hour_profile)[None, :], -1.0)
        door = np.where(hours_ok, np.where((np.arange(24) >= 9) & (np.arange(24) <= 19), 1.0, 0.6), -1.0)
        letter = np.where(hours_ok, -np.abs(np.arange(24) - 10.0), -99.0)
        best = {
            "sms": read_profile.argmax(axis=1),
            "email": read_profile.argmax(axis=1),
            "letter": letter.argmax(axis=1),
            "call": answer_profile.argmax(axis=1),
            "field_visit": door.argmax(axis=1),
            "agency": answer_profile.argmax(axis=1),
        }
        hour = np.column_stack([best[CHANNELS[c]] for c in self.cand_channel])
        can = {c: column(f"can_{CHANNELS[c]}").astype(bool) for c in set(self.cand_channel.tolist())}
        allowed = np.column_stack([can[c] for c in self.cand_channel])
        allowed &= hours_ok.any(axis=1)[:, None]

        # reach
        voice, digital = resp.VOICE[ch], resp.DIGITAL[ch]
        pu = resp.p_undelivered(m, ch, col("truth_bad_sms", bool), col("truth_bad_email", bool))
        pa = resp.p_answer(m, ch, hour, weekday, reach_type, col("truth_answer_rate"))
        pw = resp.p_wrong_party(ch, col("truth_wrong_number", bool))
        read_when = resp.read_timing(m, ch, hour, weekday)
        p_read = resp.p_read(ch, col("truth_sms_click"), col("truth_email_open"), read_when)
        rpc, wrong, missed = pa * (1 - pw), pa * pw, voice * (1 - pa)
        opened = digital * (1 - pu) * p_read
        delivered = ~voice * (1 - pu) - opened

        # conversation
        fatigue = col("truth_fatigue")
        excess, risk = resp.contact_risk(m, fatigue, seg)
        co = col("charged_off", bool)
        dpd = col("days_past_due")
        can_plan = (
            ~col("hardship_plan", bool)
            & ~co
            & (dpd >= m.plan_min_dpd)
            & (col("truth_days_since_plan") > m.plan_min_gap_days)
        )
        za, zw = col("truth_ability_z"), col("truth_willingness_z")
        probs = resp.conversation_probabilities(m, ch, seg, zw, excess, risk, offer, can_plan)
        s_cease, s_dispute, s_plan, s_ptp, s_refuse, s_none = resp.conversation_shares(probs)
        eng = resp.outcome_engagement(m)
        out = {name: eng[OUTCOMES.index(name)] for name in OUTCOMES}
        expected = (
            delivered * out["delivered"] * (1 - (ch == CHANNELS.index("letter")) * probs[1])
            + opened * out["opened"]
            + missed * out["no_answer"]
            + wrong * out["wrong_party"]
            + rpc
            * (
                s_cease * out["cease_request"]
                + s_dispute * out["dispute_raised"]
                + (s_plan + s_ptp) * out["promise_to_pay"]
                + s_refuse * out["refused"]
                + s_none * out["right_party_contact"]
            )
        )
        sens = resp.sensitivity(m, ch, seg, col("truth_sens_call"), col("truth_sens_digital"))
        gain = resp.engagement_gain(m, expected, ch, read_when, col("truth_days_to_payday")) * sens

        # what a payment brings: the arrears it settles (after charge-off: what the agency leaves)
        past_due, balance = col("past_due_amount"), col("balance")
        instalment = col("instalment_amount")
        share = np.where(seg == HARDSHIP, np.mean(m.hardship_payment_share), self.PARTIAL_SHARE)
        full = col("truth_full_payment")
        net = 1 - prices.contingency_share
        payment = np.where(
            co,
            (0.4 * np.mean(m.settlement_share) * balance + 0.6 * np.minimum(balance, instalment)) * net,
            full * past_due + (1 - full) * np.minimum(past_due, instalment * share),
        )
        rate = col("truth_pay_rate")
        e0 = col("truth_engagement", np.float32)[:, :, None]
        grid = (e0 + gain.astype(np.float32)[:, :, None]) * self.decay
        lift = resp.engagement_lift(m, grid) - resp.engagement_lift(m, e0 * self.decay)
        # the contact's extra hazard raises P(a payment before charge-off) only where it was not coming anyway
        window = np.where(co, self.RECOVERY_DAYS, np.maximum(self.charge_off_dpd - dpd, self.PROMISE_DAYS))
        unpaid = np.exp(-rate * window)  # P(no payment before charge-off without the contact)
        value = payment * unpaid * -np.expm1(-rate * lift.sum(axis=2))

        # a promise, kept, settles what it promised unless the borrower would have paid anyway
        owed = np.where(co, balance, past_due)
        promised = np.where(co, 0.5 * balance, 0.7 * owed + 0.3 * np.minimum(owed, instalment))
        settlement, discount = OFFERS.index("settlement"), OFFERS.index("discount")
        promised = np.where(offer == settlement, owed * m.settlement_offer[0], promised)
        promised = np.where(offer == discount, np.minimum(promised, owed * m.discount_offer[0]), promised)
        credited = np.where(co, promised * net, np.minimum(promised, past_due))
        value += rpc * s_ptp * resp.p_keep(m, seg, za, zw, excess) * credited * unpaid

        # a hardship plan: its instalments count in full, the arrears would have paid meanwhile
        keep_plan = 1 / (1 + np.exp(-(m.plan_keep_intercept + 0.3 * col("truth_ability_z_before_shock"))))
        months = self.PLAN_MONTHS
        plan = months * instalment * self.plan_fraction * keep_plan
        plan -= (1 - unpaid) * payment
        value += rpc * s_plan * plan

        # a reminder before the due date: a bill going to be missed is paid on time
        reach = (opened + rpc) * resp.REMINDER_REACH["read"]
        reach = (
            reach
            + delivered * resp.REMINDER_REACH["delivered"]
            + (missed + wrong) * resp.REMINDER_REACH["voice_missed"]
        )
        rescue = np.asarray(m.reminder_rescue)[seg] * reach * np.minimum(instalment, balance)
        value += np.where(col("truth_will_miss", bool), rescue, 0.0)

        # prices
        talk = (ch == CHANNELS.index("call")) * rpc * prices.talk_minutes * prices.talk_cost_per_minute
        reached = np.where(voice, pa, 1 - pu)
        harm = (
            reached * resp.p_complaint(m, ch, risk) * prices.complaint_price
            + rpc * s_cease * prices.cease_price
            + digital * (1 - pu) * resp.p_opt_out(m, ch, risk) * prices.opt_out_price
        )
        value = value - self.cost[ch] - talk - harm
        value = np.where(allowed, value, -np.inf)
        return value, np.broadcast_to(ch, (n, len(self.cand_channel))), hour

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        n = len(states)
        if n == 0:
            return actions_frame(np.zeros(0), np.zeros(0), np.zeros(0))
        budget = int(np.floor(self.budget * n + 0.5))  # of all the rows shown
        # a bill not yet due that will be paid on time: no action has value there (skipped, for speed)
        worth = ~states["pre_delinquent"].to_numpy(dtype=bool) | states["truth_will_miss"].to_numpy(dtype=bool)
        rows = np.flatnonzero(worth)
        n = len(rows)
        if n == 0:
            return actions_frame(np.zeros(0), np.zeros(0), np.zeros(0))
        value, channel, hour = self.values(states, rows)
        k = value.argmax(axis=1)
        best = value[np.arange(n), k]
        # one contact per borrower: its best account; then the budget, best first
        borrower = states["borrower_id"].to_numpy()[rows]
        order = np.lexsort((-best, borrower))
        first = np.ones(n, dtype=bool)
        borrower = borrower[order]
        first[1:] = borrower[1:] != borrower[:-1]
        keep = order[first & (best[order] > 0)]
        keep = np.sort(keep[np.argsort(-best[keep], kind="stable")][:budget])
        return actions_frame(
            states["account_id"].to_numpy()[rows[keep]],
            channel[keep, k[keep]],
            hour[keep, k[keep]],
            offer=self.cand_offer[k[keep]],
        )


def business_as_usual(
    seed: int = 0, exploration: float = 0.1, floor: float = 2e-5, compliance: ComplianceParams | None = None
) -> BusinessAsUsual:
    return BusinessAsUsual(seed, exploration, floor, compliance)


def contact_everyone() -> ContactEveryone:
    return ContactEveryone()


def no_contact() -> NoContact:
    return NoContact()


def oracle(budget: float | None = None) -> Oracle:
    return Oracle(budget=budget)
