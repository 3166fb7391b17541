"""The rulebook-aware counterfactual of a target policy (models/uplift/counterfactual.py): its replayed contacts
obey the rulebook on the target's own history, it reduces to the plain target where no rule binds, and the
event rates and standing restrictions are read from the log as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.compliance import US_PROFILE, ComplianceParams, Rulebook
from core.params import ContactParams, load_params
from core.schema import CHANNELS, CONSENT_CHANNELS, RESTRICTION_KINDS
from models.uplift.arms import arms
from models.uplift.counterfactual import (
    CAUSED_KINDS,
    FOREVER,
    Book,
    EventRates,
    caused_by_contacts,
    event_rates,
    first_allowed,
    harm_per_arm,
    logged_actions,
    replay,
    standing_restrictions,
    with_history,
)
from models.uplift.greedy import CONTACT_EVERYONE_PRIORITY, contact_everyone_actions, greedy_choose
from models.uplift.rows import FEATURES, allowed_from_rows

RULES = Rulebook.from_params(ComplianceParams())
CALL, SMS = CHANNELS.index("call"), CHANNELS.index("sms")
EVERYONE = first_allowed(CONTACT_EVERYONE_PRIORITY)


def _rates(conversation: float, event: float, days: int = FOREVER) -> EventRates:
    conv = np.zeros(len(CHANNELS))
    conv[CALL] = conversation
    caused = {k: np.full(len(CHANNELS), event) for k in CAUSED_KINDS}
    return EventRates(conversation=conv, caused=caused, days=dict.fromkeys(CAUSED_KINDS, days))


def _book(seed: int, accounts: int, days: int, share_borrowers: bool, region: str = "US") -> Book:
    """Every account shown every day (random consents, some charged off), optionally two accounts a borrower."""
    rng = np.random.default_rng(seed)
    acc = np.tile(np.arange(accounts), days)
    day = np.repeat(np.arange(days), accounts) + 20_000
    borrower = acc // 2 if share_borrowers else acc
    consent = rng.random((accounts, len(CONSENT_CHANNELS))) < 0.7
    co = rng.random(accounts) < 0.2
    profile = RULES.profile_for_regions(np.full(len(acc), region, dtype=object))
    return Book(
        day=day,
        account=acc,
        borrower=borrower,
        profile=profile,
        consent=consent[acc],
        opt_out=np.zeros((len(acc), len(CONSENT_CHANNELS)), bool),
        restricted=np.zeros((len(acc), len(RESTRICTION_KINDS)), bool),
        charged_off=co[acc],
    )


def _violations(book: Book, out, rates: EventRates) -> list[str]:
    """An independent walk through the replayed contacts, in day order: every rule of the US profile the
    target's own history can break (rates of events that never lapse: FOREVER)."""
    bad = []
    quiet, cap = US_PROFILE.call_quiet_days, US_PROFILE.max_call_attempts_7d
    calls: dict[int, list[int]] = {}
    talks: dict[int, list[int]] = {}
    blocked: dict[int, int] = {}  # borrower -> first day a cease/dnc/dispute is in force
    opted: dict[tuple[int, int], int] = {}
    per_borrower_day: set[tuple[int, int]] = set()
    for i in np.lexsort((np.arange(len(book)), book.day)):
        ch, d, a, b = int(out.channel[i]), int(book.day[i]), int(book.account[i]), int(book.borrower[i])
        if ch < 0:
            continue
        name = CHANNELS[ch]
        if (b, d) in per_borrower_day:
            bad.append(f"two contacts of borrower {b} on day {d}")
        per_borrower_day.add((b, d))
        if blocked.get(b, FOREVER) <= d:
            bad.append(f"contact of borrower {b} on day {d} after its own cease/dnc/dispute")
        if name in CONSENT_CHANNELS:
            k = CONSENT_CHANNELS.index(name)
            if not book.consent[i, k]:
                bad.append(f"{name} without consent")
            if opted.get((b, k), FOREVER) <= d:
                bad.append(f"{name} to borrower {b} on day {d} after its own opt-out")
        if book.charged_off[i] != (name == "agency"):
            bad.append(f"{name} on a row charged off={book.charged_off[i]}")
        if name == "call":
            if any(0 <= d - t <= quiet for t in talks.get(a, [])):
                bad.append(f"call of account {a} on day {d} within the quiet days of its own conversation")
            if sum(d - 6 <= t < d for t in calls.get(a, [])) >= cap:
                bad.append(f"call of account {a} on day {d} over the 7-day cap")
            calls.setdefault(a, []).append(d)
            if out.talked[i]:
                talks.setdefault(a, []).append(d)
        for k, kind in enumerate(CAUSED_KINDS):
            if out.set_off[i, k]:
                if kind == "channel_opt_out" and name in CONSENT_CHANNELS:
                    key = (b, CONSENT_CHANNELS.index(name))
                    opted[key] = min(opted.get(key, FOREVER), d + 1)
                elif kind != "channel_opt_out":
                    blocked[b] = min(blocked.get(b, FOREVER), d + 1)
    assert rates.days == dict.fromkeys(CAUSED_KINDS, FOREVER)
    return bad


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    conversation=st.sampled_from([0.0, 0.3, 0.9]),
    event=st.sampled_from([0.0, 0.02, 0.2]),
    share=st.booleans(),
)
def test_replayed_contact_everyone_never_takes_an_action_the_rulebook_refuses_for_its_own_history(
    seed, conversation, event, share
):
    book = _book(seed, accounts=12, days=30, share_borrowers=share)
    rates = _rates(conversation, event)
    out = replay(book, EVERYONE, RULES, rates, seed)
    assert _violations(book, out, rates) == []
    # it proposed what the rulebook allowed at its own history and was never refused for it, except the
    # second account of a borrower on a day (one contact per borrower)
    refused = (out.proposed >= 0) & (out.channel < 0)
    if not share:
        assert not refused.any()


def test_the_rules_bind_on_the_targets_own_history():
    """With conversations on every call, a US account is called once, then not for the quiet days: it gets its
    next channel instead; a cease it sets off stops every later contact of the borrower."""
    book = _book(0, accounts=1, days=10, share_borrowers=False)
    book = Book(**{**vars(book), "consent": np.ones_like(book.consent), "charged_off": np.zeros(10, bool)})
    out = replay(book, EVERYONE, RULES, _rates(1.0, 0.0), seed=0)
    quiet = US_PROFILE.call_quiet_days
    expected, last_talk = [], -(10**6)
    for d in range(10):  # every call talks: called, then the quiet days on sms, then called again
        expected.append("call" if d - last_talk > quiet else "sms")
        last_talk = d if expected[-1] == "call" else last_talk
    assert [CHANNELS[c] for c in out.channel] == expected
    assert expected.count("call") == 2
    rates = _rates(0.0, 0.0)
    rates.caused["cease_communication"][CALL] = 1.0
    out = replay(book, EVERYONE, RULES, rates, seed=0)
    assert [CHANNELS[c] if c >= 0 else "none" for c in out.channel] == ["call"] + ["none"] * 9


def test_events_that_lapse_lift_their_restriction():
    book = _book(0, accounts=1, days=8, share_borrowers=False)
    book = Book(**{**vars(book), "consent": np.ones_like(book.consent), "charged_off": np.zeros(8, bool)})
    rates = _rates(0.0, 0.0, days=3)
    rates.caused["dispute"][CALL] = 1.0
    out = replay(book, EVERYONE, RULES, rates, seed=0)
    # a dispute on day 0 lasting 3 days: no contact on days 1 and 2, a call on day 3 (and again a dispute)
    assert [CHANNELS[c] if c >= 0 else "none" for c in out.channel] == ["call", "none", "none"] * 2 + ["call", "none"]


@pytest.mark.parametrize("region", ["US", "CN"])
def test_reduces_to_the_plain_target_where_no_rule_binds(region):
    """No conversations, no events, one account a borrower: every row gets contact-everyone's plain choice."""
    book = _book(3, accounts=15, days=20, share_borrowers=False, region=region)
    out = replay(book, EVERYONE, RULES, _rates(0.0, 0.0), seed=1)
    frame = pd.DataFrame(
        {
            **{f"consent_{ch}": book.consent[:, k] for k, ch in enumerate(CONSENT_CHANNELS)},
            "charged_off": book.charged_off,
        }
    )
    plain = contact_everyone_actions(allowed_from_rows(frame))
    pd.testing.assert_frame_equal(logged_actions(out.channel, out.hour), plain)
    # its own history: every account contacted every day
    assert (out.days_since_contact[book.day > book.day.min()] == 1).all()
    assert (out.contacts_7d[book.day >= book.day.min() + 7] == 7).all()


class _Model:
    """A stand-in for UpliftModel: every contact arm is worth more than its cost."""

    def __init__(self, n_arms: int):
        self.n_arms = n_arms
        self.supported = np.ones(n_arms, bool)
        self.seen_gaps: list[np.ndarray] = []

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        self.seen_gaps.append(X["days_since_contact"].to_numpy())
        out = np.full((len(X), self.n_arms), 10.0)
        out[:, 0] = 0.0
        return out


def test_greedy_target_waits_its_gap_on_its_own_history():
    params = load_params()
    table = arms(params.uplift)
    book = _book(5, accounts=6, days=15, share_borrowers=False)
    features = pd.DataFrame(0.0, index=range(len(book)), columns=list(FEATURES))
    features["pre_delinquent"] = False
    features["days_since_contact"] = 9999.0  # the log's history: never contacted (the target's own differs)
    model = _Model(len(table))
    costs = np.zeros(len(table))
    choose, chosen = greedy_choose(model, features, costs, table, min_gap=3)
    out = replay(book, choose, RULES, _rates(0.0, 0.0), seed=0)
    assert (chosen >= 0).all()
    for a in range(6):
        days = book.day[(book.account == a) & (out.channel >= 0)]
        assert len(days) and (np.diff(days) == 3).all()


def _tables() -> dict[str, pd.DataFrame]:
    ts = pd.Timestamp("2025-03-01 10:00", tz="UTC")
    accounts = pd.DataFrame({"account_id": [1, 2, 3], "borrower_id": [10, 20, 30], "region": ["US"] * 3})
    contacts = pd.DataFrame(
        {
            "account_id": [1, 1, 2, 3],
            "contacted_at": [ts, ts + pd.Timedelta(days=1), ts, ts],
            "channel": ["call", "sms", "call", "email"],
            "outcome": ["right_party_contact", "delivered", "no_answer", "delivered"],
        }
    )
    m = pd.Timedelta(minutes=1)
    restrictions = pd.DataFrame(
        {
            "restriction_id": [1, 2, 3, 4, 5],
            "borrower_id": [10, 10, 20, 30, 30],
            "account_id": pd.array([None, None, None, None, 3], dtype="Int64"),
            "kind": ["cease_communication", "channel_opt_out", "cease_communication", "channel_opt_out", "bankruptcy"],
            "channel": [None, "sms", None, "sms", None],
            # 1: a minute after the call; 2: a minute after the sms; 3: ten minutes after the call (not its doing);
            # 4: an sms opt-out a minute after an e-mail (another channel: not its doing); 5: not a caused kind
            "start_at": [ts + m, ts + pd.Timedelta(days=1) + m, ts + 10 * m, ts + m, ts - pd.Timedelta(days=5)],
            "end_at": pd.to_datetime([None, None, None, None, ts + pd.Timedelta(days=2)], utc=True),
        }
    )
    return {"accounts": accounts, "contacts": contacts, "restrictions": restrictions}


def test_restrictions_set_off_by_contacts_are_linked_within_minutes_and_by_channel():
    tables = _tables()
    caused, channel = caused_by_contacts(tables)
    assert caused.tolist() == [True, True, False, False, False]
    assert channel.tolist() == [CALL, SMS, -1, -1, -1]
    rates = event_rates(tables)
    assert rates.conversation[CALL] == pytest.approx(0.5)  # one of two calls talked
    assert rates.caused["cease_communication"][CALL] == pytest.approx(0.5)
    assert rates.caused["channel_opt_out"][SMS] == pytest.approx(1.0)
    assert rates.caused["channel_opt_out"][CHANNELS.index("email")] == 0.0
    contact = ContactParams()
    harm = harm_per_arm(rates, arms(load_params().uplift), contact)
    table = arms(load_params().uplift)
    price = dict(zip([a.name for a in table], harm, strict=True))
    assert price["none"] == 0.0 and price["letter"] == 0.0
    assert price["call_evening"] == pytest.approx(0.5 * contact.cease_price)
    assert price["sms_morning"] == pytest.approx(contact.opt_out_price)


def test_standing_restrictions_leave_out_the_logged_contacts_own_and_keep_the_rest_in_their_interval():
    tables = _tables()
    t = pd.Timestamp("2025-03-02 00:00", tz="UTC").value // 60 // 10**9
    later = pd.Timestamp("2025-03-04 00:00", tz="UTC").value // 60 // 10**9
    account, borrower = np.array([1, 2, 3, 3]), np.array([10, 20, 30, 30])
    restricted, opt_out = standing_restrictions(account, borrower, np.array([t, t, t, later]), tables)
    cease, bankrupt = RESTRICTION_KINDS.index("cease_communication"), RESTRICTION_KINDS.index("bankruptcy")
    assert restricted[:, cease].tolist() == [False, True, False, False]  # borrower 10's was the call's doing
    assert restricted[:, bankrupt].tolist() == [False, False, True, False]  # lapsed by the last row
    assert opt_out[:, CONSENT_CHANNELS.index("sms")].tolist() == [False, False, True, True]


def test_with_history_overrides_only_the_contact_history_features():
    frame = pd.DataFrame(1.0, index=[3, 4], columns=list(FEATURES))
    out = with_history(frame, np.array([2, 0]), np.array([5, 10**9]))
    assert out["contacts_7d"].tolist() == [2.0, 0.0]
    assert out["days_since_contact"].tolist() == [5.0, 9999.0]
    assert out.drop(columns=["contacts_7d", "days_since_contact"]).equals(
        frame.drop(columns=["contacts_7d", "days_since_contact"])
    )
