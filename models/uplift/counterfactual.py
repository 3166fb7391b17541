"""A target policy's actions on the logged decision rows, made rulebook-aware on its OWN history.

An off-policy estimate prices the target's action on every logged decision. Taken literally, a
policy that contacts every account every day is priced for a call on each row, while in the world
the rulebook refuses much of it for the policy's own history: no call within `call_quiet_days` of a
telephone conversation its own calls had, at most `max_call_attempts_7d` calls in 7 days, opt-outs
and cease requests its own contacts set off, one contact per borrower a day. This module replays
the target over the log's rows, day by day and per account, through `core.compliance.admit` with a
counterfactual contact history that only the target's own admitted contacts write:

* what the replay reads from the log (a lender holds all of it): each row's day, account, borrower,
  region (profile), consents and charge-off; the restrictions in force then that the lender's
  contacts did not set off (bankruptcy, a plan, an opt-out before any contact ...);
* what it draws, with a fixed seed, for each contact the target makes: a conversation (a call's
  share of conversations in the log, per channel), and the restrictions a contact sets off in the
  log (`CAUSED_KINDS`: cease, opt-out of the contact's channel, do-not-contact, dispute), each at
  its logged rate per attempt of the channel, lasting its median logged duration. A restriction
  counts as set off by a contact when it starts within `LINK_MINUTES` after a contact of the
  borrower (of the same channel, for an opt-out); the logged ones are left out of the standing
  restrictions, since the target's own contacts redraw them.

The rates are the logging policy's per attempt: a policy that contacts more tires borrowers more,
and the log's rates are then too low (stated in docs/uplift.md). Events are drawn independently of
one another, at constant rates; a borrower's own answering habit is not modelled.

`expected_harm` prices a contact's expected restrictions at params `contact:` (cease requests and
opt-outs); complaints are not in the lender's tables, so they are left out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.compliance import ContactState, Rulebook, admit, allowed_channels
from core.params import ContactParams
from core.schema import CHANNELS, CONSENT_CHANNELS, RESTRICTION_KINDS
from models.uplift.arms import NONE, Arm
from models.uplift.rows import NEVER

#: Restriction kinds a contact sets off in the log (redrawn for the target's own contacts).
CAUSED_KINDS: tuple[str, ...] = ("cease_communication", "channel_opt_out", "do_not_contact", "dispute")
#: A restriction starting at most this many minutes after a contact of the borrower was set off by it.
LINK_MINUTES = 2
#: Outcomes of a call that are a telephone conversation with the borrower (the quiet period's trigger).
CONVERSATIONS = ("right_party_contact", "promise_to_pay", "refused", "cease_request", "dispute_raised")
FOREVER = 1 << 40
_NEVER = -(1 << 30)
_DAY_NS = 86_400 * 10**9

#: A target policy, per day: (rows of the day, their allowed channels (n, len(CHANNELS)), the target's own
#: history for them: contacts in the 7 days before, days since its last contact) -> (channel index or -1, hour).
Choose = Callable[[np.ndarray, np.ndarray, dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class EventRates:
    """Per attempt of each channel (CHANNELS order), estimated from the log's contacts and restrictions."""

    conversation: np.ndarray
    """share of attempts that were a conversation with the borrower"""
    caused: dict[str, np.ndarray]
    """kind (CAUSED_KINDS) -> share of attempts that set off such a restriction (an opt-out: of its own channel)"""
    days: dict[str, int]
    """kind -> median logged duration in days (FOREVER when the median one never lapses)"""

    def harm(self, contact: ContactParams) -> np.ndarray:
        """Expected harm price per attempt of each channel: cease requests and opt-outs (no complaints)."""
        cease, opt = self.caused["cease_communication"], self.caused["channel_opt_out"]
        return cease * contact.cease_price + opt * contact.opt_out_price


def harm_per_arm(rates: EventRates, table: tuple[Arm, ...], contact: ContactParams) -> np.ndarray:
    """Expected harm price of each arm (models.uplift.arms.arms order): its channel's, 0 for no contact."""
    per_channel = rates.harm(contact)
    return np.array([0.0 if a.channel == NONE else per_channel[CHANNELS.index(a.channel)] for a in table])


def _minutes(ts: pd.Series) -> np.ndarray:
    return ts.to_numpy("datetime64[ns]").astype(np.int64) // (60 * 10**9)


def caused_by_contacts(tables: dict[str, pd.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
    """Per logged restriction: set off by a contact (CAUSED_KINDS only), and that contact's CHANNELS index (-1)."""
    r = tables.get("restrictions")
    c = tables.get("contacts")
    if r is None or r.empty:
        return np.zeros(0, bool), np.zeros(0, np.int64)
    if c is None or c.empty:
        return np.zeros(len(r), bool), np.full(len(r), -1, np.int64)
    borrower = tables["accounts"].set_index("account_id")["borrower_id"]
    cb = borrower.reindex(c["account_id"]).to_numpy(np.int64)
    cm = _minutes(c["contacted_at"])
    cch = pd.Categorical(c["channel"].astype(object), categories=CHANNELS).codes.astype(np.int64)
    rb, rm = r["borrower_id"].to_numpy(np.int64), _minutes(r["start_at"])
    rch = pd.Categorical(r["channel"].astype(object), categories=CHANNELS).codes.astype(np.int64)
    kind = r["kind"].astype(object).to_numpy()
    caused = np.zeros(len(r), bool)
    channel = np.full(len(r), -1, np.int64)
    # for an opt-out, the latest contact of its own channel; for the others, the latest contact of any channel
    for opt in (False, True):
        rows = np.flatnonzero(np.isin(kind, CAUSED_KINDS) & ((kind == "channel_opt_out") == opt))
        if not len(rows):
            continue
        group_c = cb * 16 + (cch if opt else 0)
        group_r = rb[rows] * 16 + (rch[rows] if opt else 0)
        order = np.lexsort((cm, group_c))
        gc, mc, chc = group_c[order], cm[order], cch[order]
        key_c = gc.astype(np.float64) * 1e12 + mc
        key_r = group_r.astype(np.float64) * 1e12 + rm[rows]
        pos = np.searchsorted(key_c, key_r, "right") - 1
        ok = pos >= 0
        p = np.maximum(pos, 0)
        ok &= (gc[p] == group_r) & (rm[rows] - mc[p] <= LINK_MINUTES) & (rm[rows] >= mc[p])
        caused[rows[ok]] = True
        channel[rows[ok]] = chc[p[ok]]
    return caused, channel


def event_rates(tables: dict[str, pd.DataFrame]) -> EventRates:
    """Conversation share and set-off restriction rates per attempt, by channel, over the whole log."""
    c = tables["contacts"]
    attempts = np.bincount(
        pd.Categorical(c["channel"].astype(object), categories=CHANNELS).codes.clip(0), minlength=len(CHANNELS)
    ).astype(np.float64)
    conv = c["outcome"].isin(CONVERSATIONS).to_numpy()
    conv_n = np.bincount(
        pd.Categorical(c.loc[conv, "channel"].astype(object), categories=CHANNELS).codes.clip(0),
        minlength=len(CHANNELS),
    ).astype(np.float64)
    per = np.maximum(attempts, 1.0)
    caused, channel = caused_by_contacts(tables)
    r = tables.get("restrictions")
    rates, days = {}, {}
    for kind in CAUSED_KINDS:
        rows = caused & (r["kind"].astype(object).to_numpy() == kind) if r is not None and len(r) else caused
        rates[kind] = np.bincount(channel[rows], minlength=len(CHANNELS)).astype(np.float64) / per
        if rows.any():
            span = (r["end_at"] - r["start_at"])[rows]
            lapsed = span.notna()
            median = span[lapsed].median() if lapsed.mean() > 0.5 else None
            days[kind] = FOREVER if median is None else max(int(median / pd.Timedelta(days=1)), 1)
        else:
            days[kind] = FOREVER
    return EventRates(conversation=conv_n / per, caused=rates, days=days)


@dataclass(frozen=True)
class Book:
    """The replay's per-row inputs, read from the log (one row per logged decision)."""

    day: np.ndarray
    account: np.ndarray
    borrower: np.ndarray
    profile: np.ndarray
    consent: np.ndarray
    opt_out: np.ndarray
    restricted: np.ndarray
    charged_off: np.ndarray

    def __len__(self) -> int:
        return len(self.day)


def standing_restrictions(
    account: np.ndarray, borrower: np.ndarray, minute: np.ndarray, tables: dict[str, pd.DataFrame]
) -> tuple[np.ndarray, np.ndarray]:
    """Per row (account, borrower, minute of its local morning in UTC): restrictions (RESTRICTION_KINDS) and
    opt-outs (CONSENT_CHANNELS) in force then that no logged contact set off (the target's own contacts redraw
    those)."""
    n = len(account)
    restricted = np.zeros((n, len(RESTRICTION_KINDS)), bool)
    opt_out = np.zeros((n, len(CONSENT_CHANNELS)), bool)
    r = tables.get("restrictions")
    if r is None or r.empty:
        return restricted, opt_out
    caused, _ = caused_by_contacts(tables)
    r = r.loc[~caused]
    start = _minutes(r["start_at"])
    end = np.where(r["end_at"].isna(), np.iinfo(np.int64).max, _minutes(r["end_at"].fillna(r["start_at"])))
    acc = r["account_id"].to_numpy("float64", na_value=np.nan)
    q = pd.DataFrame({"row": np.arange(n), "borrower_id": np.asarray(borrower, np.int64)})
    tab = pd.DataFrame(
        {
            "borrower_id": r["borrower_id"].to_numpy(np.int64),
            "r_acc": acc,
            "start": start,
            "end": end,
            "kind": r["kind"].astype(object).to_numpy(),
            "channel": r["channel"].astype(object).to_numpy(),
        }
    )
    m = q.merge(tab, on="borrower_id")
    if m.empty:
        return restricted, opt_out
    row = m["row"].to_numpy()
    t = np.asarray(minute)[row]
    own = np.isnan(m["r_acc"].to_numpy()) | (m["r_acc"].to_numpy() == np.asarray(account)[row])
    live = own & (m["start"].to_numpy() <= t) & (t < m["end"].to_numpy())
    kind, channel = m["kind"].to_numpy(object), m["channel"].to_numpy(object)
    for k, name in enumerate(RESTRICTION_KINDS):
        hit = live & (kind == name)
        if name == "channel_opt_out":
            for j, ch in enumerate(CONSENT_CHANNELS):
                opt_out[row[hit & ((channel == ch) | pd.isna(channel))], j] = True
        restricted[row[hit], k] = True
    return restricted, opt_out


def book_from_rows(rows: pd.DataFrame, tables: dict[str, pd.DataFrame], rules: Rulebook) -> Book:
    """The replay's inputs for decision rows (models.uplift.rows.decision_rows), in their order."""
    accounts = tables["accounts"].set_index("account_id")
    acc = rows["account_id"].to_numpy(np.int64)
    borrower = accounts["borrower_id"].reindex(acc).to_numpy(np.int64)
    decided = tables["decisions"].set_index("decision_id")["decided_at"].reindex(rows["decision_id"].to_numpy())
    restricted, opt_out = standing_restrictions(acc, borrower, _minutes(decided), tables)
    return Book(
        day=rows["local_date"].to_numpy("datetime64[D]").astype(np.int64),
        account=acc,
        borrower=borrower,
        profile=rules.profile_for_regions(accounts["region"].reindex(acc).astype(object).to_numpy()),
        consent=np.column_stack([rows[f"consent_{ch}"].to_numpy(bool) for ch in CONSENT_CHANNELS]),
        opt_out=opt_out,
        restricted=restricted,
        charged_off=rows["charged_off"].to_numpy(bool),
    )


@dataclass(frozen=True)
class Replayed:
    """Per row of the book: the target's admitted action and the history it met."""

    channel: np.ndarray
    """CHANNELS index the target contacted on, -1: none (it chose none, or the rulebook refused)"""
    hour: np.ndarray
    proposed: np.ndarray
    """CHANNELS index the target proposed (-1: none)"""
    contacts_7d: np.ndarray
    """the target's contacts of the account in the 7 days before the row's day"""
    days_since_contact: np.ndarray
    """days from the target's last contact of the account to the row's day (the state frame's count: 1 for
    yesterday; models.uplift.rows counts whole days from the local midnight to the contact's time: 0)"""
    talked: np.ndarray
    """bool: the target's contact on the row was a conversation (drawn)"""
    set_off: np.ndarray
    """bool (n, len(CAUSED_KINDS)): restrictions the target's contact on the row set off (drawn)"""


def replay(book: Book, choose: Choose, rules: Rulebook, rates: EventRates, seed: int) -> Replayed:
    """Run the target over the book's days in order; only its own admitted contacts write its history.

    Within a day the rows keep the book's order (the rulebook's one contact per borrower admits the first).
    """
    n = len(book)
    acc_i, _ = pd.factorize(book.account)
    bor_i, bor_u = pd.factorize(book.borrower)
    n_acc, n_bor = int(acc_i.max(initial=-1)) + 1, len(bor_u)
    last_conv = np.full(n_acc, _NEVER, np.int64)
    last_contact = np.full(n_acc, _NEVER, np.int64)
    call_ring = np.full((n_acc, 7), _NEVER, np.int64)  # slot day % 7: the day of a call (one a day at most)
    contact_ring = np.full((n_acc, 8), _NEVER, np.int64)
    opt_until = np.full((n_bor, len(CONSENT_CHANNELS)), _NEVER, np.int64)
    kinds = [k for k in CAUSED_KINDS if k != "channel_opt_out"]
    kind_col = np.array([RESTRICTION_KINDS.index(k) for k in kinds])
    restr_until = np.full((n_bor, len(kinds)), _NEVER, np.int64)
    draws = np.random.default_rng(seed).random((n, 1 + len(CAUSED_KINDS)))
    out_ch = np.full(n, -1, np.int64)
    out_hour = np.full(n, -1, np.int64)
    proposed = np.full(n, -1, np.int64)
    c7 = np.zeros(n, np.int64)
    since = np.zeros(n, np.int64)
    talked_out = np.zeros(n, bool)
    set_off = np.zeros((n, len(CAUSED_KINDS)), bool)
    order = np.argsort(book.day, kind="stable")
    days, starts = np.unique(book.day[order], return_index=True)
    bounds = np.append(starts, n)
    consent_col = {ch: CHANNELS.index(ch) for ch in CONSENT_CHANNELS}
    call = CHANNELS.index("call")
    for i, day in enumerate(days):
        idx = order[bounds[i] : bounds[i + 1]]
        a, b = acc_i[idx], bor_i[idx]
        restricted = book.restricted[idx].copy()
        restricted[:, kind_col] |= restr_until[b] > day
        attempts = (call_ring[a] > day - 7).sum(axis=1)
        state = ContactState.new(
            len(idx),
            consent=book.consent[idx],
            opt_out=book.opt_out[idx] | (opt_until[b] > day),
            restricted=restricted,
            charged_off=book.charged_off[idx],
            days_since_call_conversation=day - last_conv[a],
            call_attempts_7d=attempts,
        )
        profile = book.profile[idx]
        allowed = allowed_channels(rules, profile, state)
        history = {
            "contacts_7d": ((contact_ring[a] >= day - 7) & (contact_ring[a] < day)).sum(axis=1),
            "days_since_contact": day - last_contact[a],
        }
        c7[idx], since[idx] = history["contacts_7d"], history["days_since_contact"]
        ch, hour = choose(idx, allowed, history)
        ch, hour = np.asarray(ch, np.int64), np.asarray(hour, np.int64)
        proposed[idx] = ch
        want = ch >= 0
        verdict = admit(rules, profile[want], state.take(np.flatnonzero(want)), ch[want], hour[want], b[want])
        done = np.flatnonzero(want)[verdict.allowed]
        if not len(done):
            continue
        rows, da, db, dch = idx[done], a[done], b[done], ch[done]
        out_ch[rows], out_hour[rows] = dch, hour[done]
        last_contact[da] = day
        contact_ring[da, day % 8] = day
        is_call = dch == call
        call_ring[da[is_call], day % 7] = day
        u = draws[rows]
        talked = is_call & (u[:, 0] < rates.conversation[dch])
        last_conv[da[talked]] = day
        talked_out[rows] = talked
        for k, kind in enumerate(CAUSED_KINDS):
            hit = u[:, 1 + k] < rates.caused[kind][dch]
            set_off[rows[hit], k] = True
            if not hit.any():
                continue
            until = day + rates.days[kind]
            if kind == "channel_opt_out":
                for j, name in enumerate(CONSENT_CHANNELS):
                    sel = hit & (dch == consent_col[name])
                    opt_until[db[sel], j] = np.maximum(opt_until[db[sel], j], until)
            else:
                j = kinds.index(kind)
                restr_until[db[hit], j] = np.maximum(restr_until[db[hit], j], until)
    return Replayed(
        channel=out_ch,
        hour=out_hour,
        proposed=proposed,
        contacts_7d=c7,
        days_since_contact=since,
        talked=talked_out,
        set_off=set_off,
    )


def first_allowed(priority: tuple[tuple[str, int], ...]) -> Choose:
    """A target that takes, per row, the first channel of `priority` the rulebook allows, at its hour
    (simulator.policies.ContactEveryone's rule: `contact_everyone_priority`)."""

    def choose(idx: np.ndarray, allowed: np.ndarray, history: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        ch, hour = np.full(len(idx), -1, np.int64), np.full(len(idx), -1, np.int64)
        for name, h in reversed(priority):
            k = CHANNELS.index(name)
            ch, hour = np.where(allowed[:, k], k, ch), np.where(allowed[:, k], h, hour)
        return ch, hour

    return choose


def with_history(features: pd.DataFrame, contacts_7d: np.ndarray, days_since_contact: np.ndarray) -> pd.DataFrame:
    """Decision rows' features with the contact-history features the target's own contacts wrote
    (`contacts_7d`, `days_since_contact`, capped as models.uplift.rows writes it): what a target that decides
    from its state (the greedy policy) sees of its own contacts. Off-policy values are still priced on the
    logged features (the DR's correction term is the model's error there)."""
    out = features.copy()
    out["contacts_7d"] = np.asarray(contacts_7d, np.float64)
    out["days_since_contact"] = np.minimum(np.asarray(days_since_contact), NEVER).astype(np.float64)
    return out


def logged_actions(channel: np.ndarray, hour: np.ndarray, offer: np.ndarray | None = None) -> pd.DataFrame:
    """Actions (channel index into `CHANNELS`, -1 for none; local hour) as the decision log writes them: action,
    local_hour, offer. Takes arrays, so a replay's admitted actions (`Replayed.channel`, `.hour`) and a policy's
    plain choices read the same way."""
    channel = np.asarray(channel)
    names = np.array([*CHANNELS, "none"], dtype=object)
    offers = np.full(len(channel), "none", dtype=object) if offer is None else np.asarray(offer, dtype=object)
    none = channel < 0
    return pd.DataFrame(
        {
            "action": names[channel],
            "local_hour": np.where(none, -1, np.asarray(hour)),
            "offer": np.where(none, "none", offers),
        }
    )
