"""One block of borrowers and their accounts: the state every mechanism module reads and changes.

`BlockWorld` holds a block's population, its mutable state, the calendar, the random streams,
the contact rulebook and the tallies, plus small helpers the mechanisms share. The daily loop
that drives it lives in simulator/engine.py; the mechanisms (compliance, contacts, dynamics,
events, observe) take a `BlockWorld` and import it from here, so no module imports the engine
that imports them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.compliance import Rulebook, profile_for_regions
from core.compliance.clock import zone_clock
from simulator.calendar import Calendar
from simulator.config import HARDSHIP, WONT_PAY, SimConfig
from simulator.outcomes import Tally
from simulator.policies import Policy
from simulator.population import REGIONS, Population
from simulator.records import Recorder
from simulator.rng import Streams
from simulator.state import State


class BlockWorld:
    """One block of borrowers and their accounts, stepping through the calendar."""

    def __init__(
        self,
        config: SimConfig,
        cal: Calendar,
        streams: Streams,
        pop: Population,
        policy: Policy,
        bau: Policy,
        policy_start_day: int,
        tally: Tally,
        rec: Recorder,
    ) -> None:
        self.config, self.mech, self.cal, self.streams = config, config.mechanics, cal, streams
        self.buckets, self.zones = config.buckets, config.zones
        self.pop, self.policy, self.bau = pop, policy, bau
        self.policy_start_day, self.tally, self.rec = policy_start_day, tally, rec
        self.st = State.initial(pop, config, cal)
        self.pos_of = np.full(pop.n_accounts, -1, dtype=np.int64)
        hours = [(p.first_hour, p.end_hour) for p in config.compliance.profiles.values()]
        clocks = [zone_clock(z, min(h[0] for h in hours), max(h[1] for h in hours)) for z in self.zones]
        #: Per zone: minutes to add to a local (standard) time to get UTC, and the windows (minutes from 00:00
        #: UTC of the day) where restriction changes and payments are stamped (core.compliance.clock).
        self.std_offset = np.array([c.standard for c in clocks], dtype=np.int32)
        self.restrict_window = np.array([(c.restrict_lo, c.restrict_hi) for c in clocks], dtype=np.int32)
        self.pay_window = np.array([(c.pay_lo, c.pay_hi) for c in clocks], dtype=np.int32)
        window = np.minimum(self.mech.payday_window_days * cal.paydays_per_month, 30.44)
        self.payday_norm = window * self.mech.payday_multiplier + 30.44 - window
        self.events: tuple[np.ndarray, ...] = (np.zeros(0, np.int32),) * 3
        self.fatigue_decay = 1.0 / self.mech.fatigue_decay_days
        self.engage_decay = 1.0 / self.mech.engagement_decay_days
        self.cost = config.channel_cost
        self.zone_dtype = pd.CategoricalDtype(list(self.zones))
        #: The contact rulebook and each borrower's profile index in it (-1: no profile, never contacted).
        self.rules = Rulebook.from_params(config.compliance)
        self.profile = profile_for_regions(config.compliance, REGIONS)[pop.region]

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

    def tally_contacts(
        self, t: int, ch: np.ndarray, rpc: np.ndarray, cease: np.ndarray, dispute: np.ndarray, opt_out: np.ndarray
    ) -> None:
        if self.tally.counts_on(t):
            j = self._cycle(t)
            self.tally.contacts[j] += np.bincount(ch, minlength=self.tally.contacts.shape[1])
            self.tally.conversations[j] += np.bincount(ch[rpc], minlength=self.tally.conversations.shape[1])  # EVAL
            self.tally.add("contact_cost", j, float(self.cost[ch].sum()))
            self.tally.add("right_party_contacts", j, int(rpc.sum()))
            self.tally.add("opt_outs", j, int(opt_out.sum()))
