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

from core.io import write_table
from core.params import Params
from simulator import compliance, dynamics, events
from simulator.calendar import Calendar, standard_offset_minutes
from simulator.config import HARDSHIP, SEGMENTS, WONT_PAY, SimConfig
from simulator.contacts import make_contacts
from simulator.observe import observe
from simulator.outcomes import Outcome, Tally
from simulator.policies import BusinessAsUsual, Policy, policy_name
from simulator.population import Layout, Population, generate
from simulator.records import Recorder, accounts_frame, table_frames
from simulator.rng import Streams
from simulator.state import A_PLAN, CHARGED_OFF, OPEN, State


class BlockWorld:
    """One block of borrowers and their accounts, stepping through the calendar."""

    def __init__(self, config: SimConfig, cal: Calendar, streams: Streams, pop: Population, policy: Policy,
                 bau: Policy, policy_start_day: int, tally: Tally, rec: Recorder) -> None:
        self.config, self.mech, self.cal, self.streams = config, config.mechanics, cal, streams
        self.buckets, self.zones = config.buckets, config.zones
        self.pop, self.policy, self.bau = pop, policy, bau
        self.policy_start_day, self.tally, self.rec = policy_start_day, tally, rec
        self.st = State.initial(pop, config, cal)
        self.pos_of = np.full(pop.n_accounts, -1, dtype=np.int64)
        self.std_offset = standard_offset_minutes(self.zones)
        window = np.minimum(self.mech.payday_window_days * cal.paydays_per_month, 30.44)
        self.payday_norm = (window * self.mech.payday_multiplier + 30.44 - window)
        self.events: tuple[np.ndarray, ...] = (np.zeros(0, np.int32),) * 3
        self.fatigue_decay = 1.0 / self.mech.fatigue_decay_days
        self.engage_decay = 1.0 / self.mech.engagement_decay_days
        self.cost = config.channel_cost
        self.zone_dtype = pd.CategoricalDtype(list(self.zones))

    # --- small helpers used by the mechanism modules -------------------------------------------
    def response_segment(self, b: np.ndarray) -> np.ndarray:
        """Segment as behaviour: a borrower hit by an income shock behaves as hardship (unless won't-pay)."""
        seg = self.pop.seg[b]
        return np.where(self.st.shocked[b] & (seg != WONT_PAY), HARDSHIP, seg)

    def fatigue_now(self, t: int, idx: np.ndarray) -> np.ndarray:
        return self.st.fatigue[idx] * np.exp(-(t - self.st.fatigue_day[idx]) * self.fatigue_decay)

    def engagement_now(self, t: int, idx: np.ndarray) -> np.ndarray:
        return self.st.engage[idx] * np.exp(-(t - self.st.engage_day[idx]) * self.engage_decay)

    def engagement_lift(self, t: int, idx: np.ndarray) -> np.ndarray:
        """Relative rise of the payment hazard from recent engagement, saturating at engagement_cap."""
        e = self.engagement_now(t, idx)
        cap = self.mech.engagement_cap
        return cap * e / (cap + e)

    def _cycle(self, t: int) -> int:
        return int(self.cal.cycle_of_day[t])

    def tally_add(self, t: int, name: str, value: float) -> None:
        if self.tally.counts_on(t):
            self.tally.add(name, self._cycle(t), value)

    def tally_payments(self, t: int, amount: np.ndarray, arrears: np.ndarray, co: np.ndarray) -> None:
        if self.tally.counts_on(t):
            j = self._cycle(t)
            self.tally.add("amount_paid", j, float(amount.sum()))
            self.tally.add("amount_recovered", j, float(amount[arrears].sum()))
            self.tally.add("recovered_after_charge_off", j, float(amount[co].sum()))

    def tally_contacts(self, t: int, ch: np.ndarray, rpc: np.ndarray, cease: np.ndarray, dispute: np.ndarray,
                       opt_out: np.ndarray) -> None:
        if self.tally.counts_on(t):
            j = self._cycle(t)
            self.tally.contacts[j] += np.bincount(ch, minlength=self.tally.contacts.shape[1])
            self.tally.add("contact_cost", j, float(self.cost[ch].sum()))
            self.tally.add("right_party_contacts", j, int(rpc.sum()))
            self.tally.add("opt_outs", j, int(opt_out.sum()))

    def restrict_borrower(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - thin delegation
        events.restrict_borrower(self, *args, **kwargs)

    def start_disputes(self, *args) -> None:  # noqa: ANN002
        events.start_disputes(self, *args)

    def start_plans(self, t: int, a: np.ndarray, minute: np.ndarray) -> np.ndarray:
        return events.start_plans(self, t, a, minute)

    # --- the loop -------------------------------------------------------------------------------
    def run(self) -> None:
        cal = self.cal
        dynamics.close_cycle(self, cal.first_loop_cycle)
        events.draw_events(self, cal.first_loop_cycle)
        for t in range(cal.loop_start_day + 1, cal.n_days):
            self.step(t)
            j = self._cycle(t)
            if t == cal.cycle_day[j]:
                dynamics.close_cycle(self, j)
                events.draw_events(self, j)
        if self.rec.enabled:
            self.rec.accounts.append(accounts_frame(self.pop, cal, self.zones))

    def step(self, t: int) -> None:
        st = self.st
        events.apply_events(self, t)
        events.end_restrictions(self, t)
        delinquent = np.flatnonzero((st.status == OPEN) & (st.oldest_due < t))
        broken = delinquent[(st.abits[delinquent] & A_PLAN) != 0]
        if len(broken):
            events.end_plans(self, t, broken, broken=True)
        p_delinquent = dynamics.delinquent_hazard(self, t, delinquent)
        charged_off = np.flatnonzero((st.status == CHARGED_OFF) & (st.balance > 0.005))
        p_charged_off = dynamics.recovery_hazard(self, t, charged_off)
        if self.tally.counts_on(t):
            st.in_cohort[delinquent] = True
            st.in_cohort[charged_off] = True
        self.contact(t, np.concatenate([delinquent, charged_off]))
        dynamics.daily_payments(self, t, delinquent, p_delinquent, charged_off, p_charged_off)

    def contact(self, t: int, cand: np.ndarray) -> None:
        policy = self.policy if t > self.policy_start_day else self.bau
        if getattr(policy, "silent", False) or len(cand) == 0:
            return
        allowed = compliance.allowed_channels(self, t, cand)
        states = observe(self, t, cand, allowed, truth=bool(getattr(policy, "wants_truth", False)))
        actions = policy(self.cal.date_of(t), states)
        self.pos_of[cand] = np.arange(len(cand))
        idx, ch, hour, prop, refused = compliance.check_actions(self, actions, cand, allowed)
        self.pos_of[cand] = -1
        if self.tally.counts_on(t):
            for reason, n in refused.items():
                self.tally.refused[reason] += n
        make_contacts(self, t, idx, ch, hour, prop)


@dataclass
class SimulationRun:
    """A finished run: its true outcomes and, when recorded, the event logs behind the tables."""

    outcome: Outcome
    recorder: Recorder
    calendar: Calendar
    zones: tuple[str, ...]
    seconds: float

    def tables(self) -> dict[str, pd.DataFrame]:
        """The five canonical tables (consumes the logs: call once)."""
        return dict(table_frames(self.recorder, self.calendar, self.zones))

    def write(self, out_dir: Path) -> list[Path]:
        """Write the five tables atomically, one at a time (memory holds one table at most)."""
        return [write_table(frame, out_dir, name) for name, frame in table_frames(self.recorder, self.calendar,
                                                                                   self.zones)]


class Simulation:
    """The simulated world for one configuration; `run` it under any policy, as often as needed."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        p = config.params
        self.calendar = Calendar.build(p.start_date, p.cycles, p.burn_in_cycles)
        self.streams = Streams(config.seed)
        self.layout = Layout.build(config, self.streams)

    @classmethod
    def from_params(cls, params: Params, **overrides: object) -> "Simulation":
        return cls(SimConfig.from_params(params, **overrides))

    def business_as_usual(self) -> BusinessAsUsual:
        return BusinessAsUsual(seed=self.config.seed, exploration=self.config.params.bau_exploration)

    def run(self, policy: Policy | None = None, record: bool = False, policy_start: date | None = None,
            progress: Callable[[str], None] | None = None) -> SimulationRun:
        """Run the world with `policy` from `policy_start` (default start_date; business as usual before).

        record=True keeps what the five tables need (use for the logging policy); a replay only
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
            BlockWorld(self.config, cal, self.streams, pop, policy, bau, start_day, tally, rec).run()
            if progress:
                a0, a1, _, _ = self.layout.blocks[k]
                progress(f"block {k + 1}/{len(self.layout.blocks)}: accounts {a0 + 1}-{a1} simulated")
        cycle_dates = cal.origin + pd.to_timedelta(cal.cycle_day, unit="D")
        outcome = Outcome.from_tally(policy_name(policy), self.config.params.accounts, tally,
                                     pd.DatetimeIndex(cycle_dates), cal.cycle_day)
        return SimulationRun(outcome=outcome, recorder=rec, calendar=cal, zones=self.config.zones,
                             seconds=time.perf_counter() - began)

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
            parts.append(pd.DataFrame({
                "account_id": pop.account_gid + 1,
                "segment": pd.Categorical.from_codes(pop.seg[b], categories=list(SEGMENTS)),
                "ability_z": pop.za[b],
                "willingness_z": pop.zw[b],
            }))
        return pd.concat(parts, ignore_index=True)

    def replay(self, policy: Policy, policy_start: date | None = None) -> Outcome:
        """True outcomes of running this world under `policy` (same seed, same borrowers, same shocks)."""
        return self.run(policy, record=False, policy_start=policy_start).outcome


def simulate_tables(params: Params, **overrides: object) -> dict[str, pd.DataFrame]:
    """The five canonical tables of the default book under business as usual (for tests and notebooks)."""
    return Simulation.from_params(params, **overrides).run(record=True).tables()


def replay(params: Params, policy: Policy, policy_start: date | None = None, **overrides: object) -> Outcome:
    """Replay the simulated world of `params` under `policy` and return its true outcomes."""
    return Simulation.from_params(params, **overrides).replay(policy, policy_start)
