"""The simulation loop and the public entry points: simulate the book, or replay it under a policy.

A run walks the days of the calendar once per block of accounts (blocks hold whole
borrowers and never interact). Each day: restrictions start and end, the accounts in arrears
or charged off are shown to the policy, its actions are checked and executed, payments
arrive, and at a cycle end the cycle is closed (charge-off, billing, statements). The
burn-in before start_date always runs business as usual; the policy under evaluation takes
over from `policy_start`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from core import compliance as rulebook
from core import progress
from core.io import write_table
from core.params import Params
from simulator import compliance, dynamics, events
from simulator.calendar import Calendar
from simulator.config import SEGMENTS, SimConfig
from simulator.contacts import make_contacts
from simulator.observe import observe
from simulator.outcomes import Outcome, Tally
from simulator.policies import BusinessAsUsual, Decisions, Policy, policy_name
from simulator.population import Layout, generate
from simulator.records import Recorder, accounts_frame, table_frames
from simulator.rng import Streams
from simulator.state import A_PLAN, CHARGED_OFF, OPEN
from simulator.world import BlockWorld


def run_block(w: BlockWorld, description: str = "simulate") -> None:
    """Walk one block through the calendar: each day, then each cycle end."""
    cal = w.cal
    dynamics.close_cycle(w, cal.first_loop_cycle)
    events.draw_events(w, cal.first_loop_cycle)
    for t in progress.track(range(cal.loop_start_day + 1, cal.n_days), description, unit="days"):
        step(w, t)
        j = int(cal.cycle_of_day[t])
        if t == cal.cycle_day[j]:
            dynamics.close_cycle(w, j)
            events.draw_events(w, j)
    if w.rec.enabled:
        w.rec.accounts.append(accounts_frame(w.pop, cal, w.zones))


def step(w: BlockWorld, t: int) -> None:
    """One day: restrictions start and end, contacts are checked and made, payments arrive."""
    st = w.st
    events.apply_events(w, t)
    events.end_restrictions(w, t)
    delinquent = np.flatnonzero((st.status == OPEN) & (st.oldest_due < t))
    broken = delinquent[(st.abits[delinquent] & A_PLAN) != 0]
    if len(broken):
        events.end_plans(w, t, broken, broken=True)
    p_delinquent = dynamics.delinquent_hazard(w, t, delinquent)
    charged_off = np.flatnonzero((st.status == CHARGED_OFF) & (st.balance > 0.005))
    p_charged_off = dynamics.recovery_hazard(w, t, charged_off)
    if w.tally.counts_on(t):
        st.in_cohort[delinquent] = True
        st.in_cohort[charged_off] = True
    # WORLD: current accounts with an unpaid bill due within Mechanics.pre_delinquency_days are shown too
    due_soon = (st.oldest_due >= t) & (st.oldest_due <= t + w.mech.pre_delinquency_days)
    pre = np.flatnonzero((st.status == OPEN) & due_soon)
    contact(w, t, np.concatenate([delinquent, charged_off, pre]))
    dynamics.daily_payments(w, t, delinquent, p_delinquent, charged_off, p_charged_off)


def contact(w: BlockWorld, t: int, cand: np.ndarray) -> None:
    """Show the candidates to the policy, check its actions against the rulebook and make the valid ones.

    A logging policy (one with `decide`) gives every decision, no contact included; its contacts are
    the decisions' actions, and a recorded run logs every decision (`record_decisions`).
    """
    policy = w.policy if t > w.policy_start_day else w.bau
    if getattr(policy, "silent", False) or len(cand) == 0:
        return
    state = compliance.contact_state(w, t, cand)
    reasons = compliance.channel_reasons(w, cand, state)
    states = observe(
        w, t, cand, compliance.allowed_channels(reasons), truth=bool(getattr(policy, "wants_truth", False))
    )
    decide = getattr(policy, "decide", None)
    decisions = decide(w.cal.date_of(t), states) if decide is not None else None
    actions = decisions.actions() if decisions is not None else policy(w.cal.date_of(t), states)
    w.pos_of[cand] = np.arange(len(cand))
    idx, ch, hour, prop, offer, refused = compliance.check_actions(w, actions, cand, state, reasons)
    w.pos_of[cand] = -1
    if w.tally.counts_on(t):
        for reason, n in refused.items():
            w.tally.refused[reason] += n
    make_contacts(w, t, idx, ch, hour, prop, offer)
    if decisions is not None and w.rec.enabled and t > w.cal.start_day:
        record_decisions(w, t, cand, decisions, idx, state, reasons, policy_name(policy))


def record_decisions(
    w: BlockWorld,
    t: int,
    cand: np.ndarray,
    decisions: Decisions,
    executed: np.ndarray,
    state: rulebook.ContactState,
    reasons: np.ndarray,
    policy: str,
) -> None:
    """Log one row per account shown (decisions are in the candidates' order): the action, its probability,
    and for a contact the rulebook refused, the rule that refused it (its propensity stays what the policy
    meant; the contact was not made)."""
    if len(decisions.account_id) != len(cand) or not np.array_equal(decisions.account_id, w.pop.a0 + cand + 1):
        raise ValueError("a logging policy's decisions must have one row per account shown, in the states' order")
    channel = decisions.channel.astype(np.int8)
    refusal = np.zeros(len(cand), dtype=np.int8)
    wanted = np.flatnonzero(channel >= 0)
    made = np.isin(cand[wanted], executed)
    if not made.all():  # the same batch check_actions judged, for the reasons of the refused ones
        b = w.pop.bor[cand[wanted]]
        verdict = rulebook.admit(
            w.rules,
            w.profile[b],
            state.take(wanted),
            channel[wanted],
            decisions.hour[wanted].astype(np.float64),
            group=b,
            available=compliance.CAPABLE,
            reasons=reasons[wanted],
        )
        if (verdict.reason[~made] == 0).any():
            raise RuntimeError("a contact was neither made nor refused by the rulebook")
        refusal[wanted[~made]] = verdict.reason[~made]
    w.rec.add_decisions(
        policy,
        account=(w.pop.a0 + cand).astype(np.int32),
        day=np.full(len(cand), t, np.int32),
        tz=w.pop.tz[w.pop.bor[cand]],
        channel=channel,
        hour=decisions.hour.astype(np.int8),
        offer=decisions.offer.astype(np.int8),
        propensity=decisions.propensity.astype(np.float64),
        refusal=refusal,
    )


@dataclass
class SimulationRun:
    """A finished run: its true outcomes and, when recorded, the event logs behind the tables."""

    outcome: Outcome
    recorder: Recorder
    calendar: Calendar
    zones: tuple[str, ...]
    seconds: float

    def tables(self) -> dict[str, pd.DataFrame]:
        """The canonical tables, the decision log included (consumes the logs: call once)."""
        return dict(table_frames(self.recorder, self.calendar, self.zones))

    def write(self, out_dir: Path) -> list[Path]:
        """Write the tables atomically, one at a time (memory holds one table at most)."""
        return [
            write_table(frame, out_dir, name) for name, frame in table_frames(self.recorder, self.calendar, self.zones)
        ]


class Simulation:
    """The simulated world for one configuration; `run` it under any policy, as often as needed."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        p = config.params
        self.calendar = Calendar.build(p.start_date, p.cycles, p.burn_in_cycles)
        self.streams = Streams(config.seed)
        self.layout = Layout.build(config, self.streams)

    @classmethod
    def from_params(cls, params: Params, **overrides: object) -> Simulation:
        return cls(SimConfig.from_params(params, **overrides))

    def business_as_usual(self) -> BusinessAsUsual:
        p = self.config.params
        return BusinessAsUsual(
            seed=self.config.seed, exploration=p.bau_exploration, floor=p.bau_floor, compliance=self.config.compliance
        )

    def run(
        self,
        policy: Policy | None = None,
        record: bool = False,
        policy_start: date | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> SimulationRun:
        """Run the world with `policy` from `policy_start` (default start_date; business as usual before).

        record=True keeps what the tables need (use for the logging policy); a replay only
        needs the outcome and runs lighter without it.
        """
        began = time.perf_counter()
        cal = self.calendar
        bau = self.business_as_usual()
        policy = policy if policy is not None else bau
        start_day = cal.start_day if policy_start is None else max(cal.day_of(policy_start), cal.start_day)
        tally = Tally(len(cal.cycle_day), start_day)
        rec = Recorder(enabled=record)
        for k in range(len(self.layout.blocks)):
            pop = generate(self.config, cal, self.layout, k, self.streams)
            world = BlockWorld(self.config, cal, self.streams, pop, policy, bau, start_day, tally, rec)
            run_block(world, f"simulate: block {k + 1}/{len(self.layout.blocks)}")
            if progress:
                a0, a1, _, _ = self.layout.blocks[k]
                progress(f"block {k + 1}/{len(self.layout.blocks)}: accounts {a0 + 1}-{a1} simulated")
        cycle_dates = cal.origin + pd.to_timedelta(cal.cycle_day, unit="D")
        outcome = Outcome.from_tally(
            policy_name(policy), self.config.params.accounts, tally, pd.DatetimeIndex(cycle_dates), cal.cycle_day
        )
        return SimulationRun(
            outcome=outcome, recorder=rec, calendar=cal, zones=self.config.zones, seconds=time.perf_counter() - began
        )

    def latent_traits(self) -> pd.DataFrame:
        """Per account, the borrower's hidden truth: segment, latent ability and willingness (z scale).

        No table carries these (a lender never sees them). They exist for diagnostics: how much a
        model that knew them would gain bounds what any model of the observable history can
        gain (benchmarks/roll_rate.py --latent-ceiling). Pure function of the seed, like the book.
        """
        parts = []
        for k in range(len(self.layout.blocks)):
            pop = generate(self.config, self.calendar, self.layout, k, self.streams)
            b = pop.bor
            parts.append(
                pd.DataFrame(
                    {
                        "account_id": pop.account_gid + 1,
                        "segment": pd.Categorical.from_codes(pop.seg[b], categories=list(SEGMENTS)),
                        "ability_z": pop.za[b],
                        "willingness_z": pop.zw[b],
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def replay(self, policy: Policy, policy_start: date | None = None) -> Outcome:
        """True outcomes of running this world under `policy` (same seed, same borrowers, same shocks)."""
        return self.run(policy, record=False, policy_start=policy_start).outcome


def simulate_tables(params: Params, **overrides: object) -> dict[str, pd.DataFrame]:
    """The canonical tables of the default book under business as usual (for tests and notebooks)."""
    return Simulation.from_params(params, **overrides).run(record=True).tables()


def replay(params: Params, policy: Policy, policy_start: date | None = None, **overrides: object) -> Outcome:
    """Replay the simulated world of `params` under `policy` and return its true outcomes."""
    return Simulation.from_params(params, **overrides).replay(policy, policy_start)
