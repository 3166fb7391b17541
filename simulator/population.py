"""Borrowers and their accounts: observable contract terms and the latent truth behind them.

Every attribute is a hash of the global borrower or account id (see rng.py), so a block of
accounts can be generated on its own and comes out the same however the book is split.
Borrowers hold 1-3 accounts; all borrower-level latents (segment, ability, willingness, pay
cycle, reachability, channel sensitivities) are shared by the borrower's accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.schema import CONSENT_CHANNELS
from simulator.calendar import Calendar
from simulator.config import BNPL, INSTALMENT, PROD, REVOLVING, SEGMENTS, ZONE_REGIONS, Mechanics, SimConfig
from simulator.rng import Streams, sigmoid

#: Every region code the simulator can draw, in a fixed order (index = region code).
REGIONS: tuple[str, ...] = tuple(sorted({r for rs in ZONE_REGIONS.values() for r in rs} | {"US"}))
#: Preferred manual payment methods (bank_transfer, card, cash) and their shares.
MANUAL_METHODS = ("bank_transfer", "card", "cash")
MANUAL_METHOD_WEIGHTS = (0.55, 0.40, 0.05)


@dataclass(frozen=True)
class Layout:
    """Which borrower owns each account, and the blocks of whole borrowers simulated together."""

    borrower_of_account: np.ndarray  # int32 global borrower index per global account index
    n_borrowers: int
    blocks: tuple[tuple[int, int, int, int], ...]  # (first account, end account, first borrower, end borrower)

    @classmethod
    def build(cls, config: SimConfig, streams: Streams) -> Layout:
        n = config.params.accounts
        counts = 1 + streams.borrower.choice(np.arange(n), np.array(config.mechanics.accounts_per_borrower), 0)
        counts = counts.astype(np.int64)
        cum = np.cumsum(counts)
        nb = int(np.searchsorted(cum, n) + 1)
        counts = counts[:nb]
        counts[-1] -= int(cum[nb - 1] - n)
        owner = np.repeat(np.arange(nb, dtype=np.int32), counts)
        first_account = np.concatenate([[0], np.cumsum(counts)[:-1]])
        size = config.params.block_accounts
        cuts = [0]
        while n - cuts[-1] > size:
            b = int(np.searchsorted(first_account, cuts[-1] + size, side="right") - 1)
            nxt = int(first_account[b]) if first_account[b] > cuts[-1] else int(first_account[b] + counts[b])
            cuts.append(nxt)
        cuts.append(n)
        blocks = tuple(
            (a0, a1, int(owner[a0]), int(owner[a1 - 1]) + 1)
            for a0, a1 in zip(cuts[:-1], cuts[1:], strict=True)
            if a1 > a0
        )
        return cls(borrower_of_account=owner, n_borrowers=nb, blocks=blocks)


@dataclass
class Population:
    """One block's borrowers (index b) and accounts (index a); `bor[a]` is the account's borrower."""

    a0: int
    b0: int
    # borrowers
    seg: np.ndarray
    za: np.ndarray
    zw: np.ndarray
    tz: np.ndarray
    region: np.ndarray
    consent: np.ndarray  # bool (n_borrowers, 3) in CONSENT_CHANNELS order
    pay_schedule: np.ndarray
    reach_type: np.ndarray
    answer: np.ndarray
    wrong_number: np.ndarray
    bad_sms: np.ndarray
    bad_email: np.ndarray
    sms_click: np.ndarray
    email_open: np.ndarray
    sens_call: np.ndarray
    sens_digital: np.ndarray
    transactor: np.ndarray
    method_pref: np.ndarray  # index into MANUAL_METHODS
    min_open_day: np.ndarray
    # accounts
    bor: np.ndarray
    product: np.ndarray
    open_day: np.ndarray
    principal: np.ndarray
    credit_limit: np.ndarray
    term: np.ndarray
    annual_rate: np.ndarray
    instalment: np.ndarray
    origination_score: np.ndarray
    due_offset: np.ndarray
    autopay: np.ndarray
    first_cycle: np.ndarray
    init_balance: np.ndarray
    init_arrears: np.ndarray

    @property
    def n_accounts(self) -> int:
        return len(self.bor)

    @property
    def n_borrowers(self) -> int:
        return len(self.seg)

    @property
    def account_gid(self) -> np.ndarray:
        return np.arange(self.a0, self.a0 + self.n_accounts, dtype=np.int64)

    @property
    def borrower_gid(self) -> np.ndarray:
        return np.arange(self.b0, self.b0 + self.n_borrowers, dtype=np.int64)


def miss_logit(m: Mechanics, seg: np.ndarray, za: np.ndarray, zw: np.ndarray) -> np.ndarray:
    """Logit of missing a due in ordinary times (no income shock, no plan) as a bureau sees the borrower's risk:
    without forgetting (`forgetful_miss`), which the bureau does not see."""
    return np.asarray(m.miss_intercept)[seg] - m.miss_ability * za - m.miss_willingness * zw


def origination_score(m: Mechanics, seg: np.ndarray, za: np.ndarray, zw: np.ndarray, error: np.ndarray) -> np.ndarray:
    """The credit score a lender would buy at origination: the borrower's risk as the bureau sees it.

    A bureau knows the borrower's record elsewhere, not the latents, so its view of the risk
    carries a persistent error per borrower; the score is that view on the usual scale where
    `pdo` points double the odds (whole points, clipped to 300-850 like common bureau scores).
    """
    centre, pdo, centre_logit = m.origination_score_scale
    seen = miss_logit(m, seg, za, zw) + m.origination_score_error * error
    return np.clip(np.round(centre - pdo / np.log(2) * (seen - centre_logit)), 300, 850)


def generate(config: SimConfig, cal: Calendar, layout: Layout, block: int, streams: Streams) -> Population:
    a0, a1, b0, b1 = layout.blocks[block]
    m = config.mechanics
    gb = np.arange(b0, b1, dtype=np.int64)
    ga = np.arange(a0, a1, dtype=np.int64)
    sb, sa = streams.borrower, streams.account

    seg = sb.choice(gb, config.mix("segment_mix", SEGMENTS), 1).astype(np.int8)
    za = (np.asarray(m.ability_mean)[seg] + sb.normal(gb, 2)).astype(np.float32)
    zw = (np.asarray(m.willingness_mean)[seg] + sb.normal(gb, 3)).astype(np.float32)
    zones = config.zones
    tz = sb.choice(gb, config.mix("timezone_mix", zones), 4).astype(np.int8)
    region_lists = [tuple(REGIONS.index(r) for r in ZONE_REGIONS.get(z, ("US",))) for z in zones]
    n_reg = np.array([len(r) for r in region_lists])[tz]
    pick = np.floor(sb.uniform(gb, 5) * n_reg).astype(np.int64)
    table = np.full((len(zones), max(len(r) for r in region_lists)), -1, dtype=np.int16)
    for i, r in enumerate(region_lists):
        table[i, : len(r)] = r
    region = table[tz, pick]
    consent = np.stack(
        [sb.uniform(gb, 6, k) < config.params.consent[c] for k, c in enumerate(CONSENT_CHANNELS)], axis=1
    )
    pay_schedule = sb.choice(gb, np.array(m.pay_schedule_weights), 7).astype(np.int8)
    reach_type = sb.choice(gb, np.array(m.reach_type_weights), 8).astype(np.int8)
    wrong_number = sb.uniform(gb, 10) < m.wrong_number_share
    bad_sms = sb.uniform(gb, 11) < m.bad_sms_share
    bad_email = sb.uniform(gb, 12) < m.bad_email_share
    sens_call = np.exp(m.sensitivity_logsd * sb.normal(gb, 15)).astype(np.float32)
    sens_digital = np.exp(m.sensitivity_logsd * sb.normal(gb, 16) - 0.2).astype(np.float32)
    transactor = sb.uniform(gb, 17) < m.transactor_share * 2 * sigmoid(za)
    method_pref = sb.choice(gb, np.array(MANUAL_METHOD_WEIGHTS), 18).astype(np.int8)
    score = origination_score(m, seg, za, zw, sb.normal(gb, 19))

    bor = (layout.borrower_of_account[a0:a1] - b0).astype(np.int32)
    product = sa.choice(ga, config.mix("product_mix", tuple(PROD)), 1).astype(np.int8)
    is_new = sa.uniform(ga, 2) < config.params.new_account_share
    term = np.zeros(len(ga), dtype=np.int16)
    inst_terms, bnpl_terms = np.array(m.instalment_terms), np.array(m.bnpl_terms)
    term = np.where(
        product == INSTALMENT,
        inst_terms[sa.choice(ga, np.ones(len(inst_terms)), 3)],
        np.where(product == BNPL, bnpl_terms[sa.choice(ga, np.ones(len(bnpl_terms)), 4)], 0),
    ).astype(np.int16)
    zab = za[bor].astype(np.float64)
    principal = np.where(
        product == INSTALMENT,
        np.round(
            np.clip(
                m.instalment_principal[0] * np.exp(m.instalment_principal[1] * sa.normal(ga, 5) + 0.15 * zab),
                1000,
                50_000,
            ),
            -2,
        ),
        np.round(m.bnpl_principal[0] + (m.bnpl_principal[1] - m.bnpl_principal[0]) * sa.uniform(ga, 5), -1),
    )
    limit = np.round(
        np.clip(m.credit_limit[0] * np.exp(m.credit_limit[1] * sa.normal(ga, 6) + 0.2 * zab), 500, 30_000), -2
    )
    rate = np.where(
        product == INSTALMENT,
        np.clip(0.14 - 0.04 * zab + 0.04 * sa.normal(ga, 7), 0.05, 0.36),
        np.where(product == REVOLVING, np.clip(0.24 - 0.02 * zab + 0.03 * sa.normal(ga, 7), 0.12, 0.36), 0.0),
    )
    rate = np.round(rate, 4)
    i = rate / 12.0
    n_term = np.maximum(term, 1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(i > 0, principal * i / (1 - (1 + i) ** -n_term), principal / n_term)
    min_pay = np.maximum(25.0, m.min_payment_share * limit)
    instalment = np.round(np.where(product == REVOLVING, min_pay, annuity), 2)
    due_offset = sa.integers(ga, m.due_offset_days[0], m.due_offset_days[1], 8).astype(np.int16)
    autopay = sa.uniform(ga, 9) < m.autopay_share

    # seasoned accounts: months on book at loop start, arrears already carried
    loop_day = cal.loop_start_day
    max_mob = np.where(product == REVOLVING, 96, np.maximum(term - 1, 1))
    mob = 1 + np.floor(sa.uniform(ga, 10) * max_mob).astype(np.int64)
    in_arrears = sa.uniform(ga, 11) < np.asarray(m.initial_arrears)[seg[bor]]
    depth_probs = np.asarray(m.initial_depth)
    depth = (
        1 + np.array([sa.choice(ga, depth_probs[s], 12) for s in range(len(SEGMENTS))])[seg[bor], np.arange(len(ga))]
    )
    arrears = np.where(in_arrears & ~is_new, np.minimum(depth, mob - 1), 0).astype(np.int8)
    paid_months = (mob - arrears).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        grown = (1 + i) ** paid_months
        amortised = np.where(i > 0, principal * grown - annuity * (grown - 1) / i, principal - annuity * paid_months)
    util = sigmoid(-0.3 - 0.4 * zab + 0.8 * sa.normal(ga, 13))
    seasoned_balance = np.where(product == REVOLVING, limit * util, np.maximum(amortised, 0.0))
    new_balance = np.where(product == REVOLVING, 0.5 * limit * util, principal)
    init_balance = np.round(np.where(is_new, new_balance, seasoned_balance + arrears * instalment), 2)
    init_balance = np.where(product == REVOLVING, np.minimum(init_balance, limit), init_balance)

    seasoned_open = loop_day - np.round(mob * 30.44).astype(np.int64) - sa.integers(ga, 0, 20, 14)
    last_open = int(cal.cycle_day[-2])
    new_open = sa.integers(ga, loop_day + 1, last_open, 15)
    open_day = np.where(is_new, new_open, seasoned_open).astype(np.int32)
    first_cycle = np.where(is_new, np.searchsorted(cal.cycle_day, open_day, side="right"), cal.first_loop_cycle).astype(
        np.int32
    )
    min_open_day = np.full(len(gb), np.iinfo(np.int32).max, dtype=np.int32)
    np.minimum.at(min_open_day, bor, open_day)

    # reachability and reading habits shift with what the lender can see: the first account's product and tenure
    _, first = np.unique(bor, return_index=True)
    main_product = product[first]
    years = np.where(is_new, 0.0, mob / 12.0)[first]
    answer = sigmoid(
        m.answer_logit[0] + np.asarray(m.answer_by_product)[main_product] + m.answer_logit[1] * sb.normal(gb, 9)
    ).astype(np.float32)
    digital = np.asarray(m.digital_by_product)[main_product] + m.digital_per_year_on_book * years
    sms_click = sigmoid(m.sms_click_logit[0] + digital + m.sms_click_logit[1] * sb.normal(gb, 13)).astype(np.float32)
    email_open = sigmoid(m.email_open_logit[0] + digital + m.email_open_logit[1] * sb.normal(gb, 14)).astype(np.float32)

    return Population(
        a0=a0,
        b0=b0,
        seg=seg,
        za=za,
        zw=zw,
        tz=tz,
        region=region,
        consent=consent,
        pay_schedule=pay_schedule,
        reach_type=reach_type,
        answer=answer,
        wrong_number=wrong_number,
        bad_sms=bad_sms,
        bad_email=bad_email,
        sms_click=sms_click,
        email_open=email_open,
        sens_call=sens_call,
        sens_digital=sens_digital,
        transactor=transactor,
        method_pref=method_pref,
        min_open_day=min_open_day,
        bor=bor,
        product=product,
        open_day=open_day,
        principal=np.where(product == REVOLVING, np.nan, principal),
        credit_limit=np.where(product == REVOLVING, limit, np.nan),
        term=term,
        annual_rate=rate,
        instalment=instalment,
        origination_score=score[bor],
        due_offset=due_offset,
        autopay=autopay,
        first_cycle=first_cycle,
        init_balance=init_balance,
        init_arrears=arrears,
    )
