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
from core.schema import CHANNELS, OFFERS
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
        ]
    )
    CADENCE = np.array([4, 2, 1, 7])
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
        ]
    )
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
        group = np.where(co, 3, np.where(dpd < 30, 0, np.where(dpd < 60, 1, 2)))
        weekday = states["local_weekday"].to_numpy()
        since = states["days_since_contact"].to_numpy()
        touch = np.where(
            co,
            (since >= self.CADENCE[3]) & (weekday < 5),
            ((dpd - 1) % self.CADENCE[group] == 0) & (weekday != 6) & ~states["promise_pending"].to_numpy(dtype=bool),
        )
        first, end = self._hours(states)
        allowed = _allowed(states) & (end > first)[:, None]
        k = allowed.sum(axis=1)
        rule = self.RULES[group] * np.hstack([np.ones((n, 1), dtype=bool), allowed])
        rule[:, 1 + CHANNELS.index("field_visit")] *= states["balance"].to_numpy() >= self.FIELD_VISIT_MIN_BALANCE
        total = rule.sum(axis=1)
        none_share = (1 - e) * rule[:, 0] / np.where(total > 0, total, 1) + e / (k + 1)
        wish = np.where(k > 0, np.where(touch, 1 - none_share, e * self.OFF_CADENCE), 0.0)
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
    charged off. One account per borrower a day (the first in the states), as the world allows."""

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
    """Uses the latent truth to contact only where contact adds value.

    * self-cure borrowers pay anyway and won't-pay borrowers do not respond: never contacted;
    * hardship borrowers (by segment or income shock) need a conversation to agree a plan: a
      call at their best hour, else a field visit for larger balances every 10 days;
    * responsive borrowers: a call at their best hour when they answer often enough, else a
      text or an e-mail, at most every other day and only while not fatigued;
    * charged-off accounts of responsive or hardship borrowers: the agency, weekly.
    """

    name = "oracle"
    wants_truth = True
    MIN_ANSWER = 0.15
    MAX_FATIGUE = 4.0  # Mechanics.fatigue_free: contacts below it cost no willingness

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> pd.DataFrame:
        n = len(states)
        allowed = _allowed(states)
        seg = states["truth_segment"].astype(str).to_numpy()
        shocked = states["truth_shocked"].to_numpy(dtype=bool)
        co = states["charged_off"].to_numpy(dtype=bool)
        hard = ((seg == "hardship") | (shocked & (seg != "wont_pay"))) & ~co
        responsive = (seg == "normal") & ~shocked
        since = states["days_since_contact"].to_numpy()
        fresh = states["truth_fatigue"].to_numpy() < self.MAX_FATIGUE
        best = states["truth_best_call_hour"].to_numpy().astype(np.int64)
        answers = states["truth_answer_rate"].to_numpy() >= self.MIN_ANSWER
        balance = states["balance"].to_numpy()
        c = {name: allowed[:, CHANNELS.index(name)] for name in CHANNELS}
        channel = np.full(n, -1)
        hour = np.full(n, 10, dtype=np.int64)

        def take(mask: np.ndarray, name: str, at: np.ndarray | int) -> None:
            sel = mask & (channel < 0) & c[name]
            channel[sel] = CHANNELS.index(name)
            hour[sel] = np.broadcast_to(at, (n,))[sel]

        take(hard, "call", best)
        take(hard & (balance >= 1000) & (since >= 10), "field_visit", 11)
        talk = responsive & ~co & fresh & (since >= 1)
        take(talk & answers, "call", best)
        take(talk, "sms", 10)
        take(talk, "email", 10)
        take(co & ((seg == "normal") | (seg == "hardship")) & (since >= 7), "agency", 12)
        rows = first_per_borrower(states, channel >= 0)
        return actions_frame(states["account_id"].to_numpy()[rows], channel[rows], hour[rows])


def business_as_usual(
    seed: int = 0, exploration: float = 0.1, floor: float = 2e-5, compliance: ComplianceParams | None = None
) -> BusinessAsUsual:
    return BusinessAsUsual(seed, exploration, floor, compliance)


def contact_everyone() -> ContactEveryone:
    return ContactEveryone()


def no_contact() -> NoContact:
    return NoContact()


def oracle() -> Oracle:
    return Oracle()
