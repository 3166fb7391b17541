"""The simulator and the features block contact for the same restriction kinds: both read the rulebook.

The simulator's side is read from the outside: a block of simulated borrowers is given random
restriction states, and what the world would show a policy (`observe`: the restrictions in force
and the `can_<channel>` flags) says which kinds close every channel. Random states are needed
because a simulated hardship plan never shows up among the accounts a policy sees (a plan
re-ages the arrears). The features' side is `contact_blocked` on a tiny book holding one
restriction of each kind in turn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features_data import tiny_book
from simulator_data import small_params

from core.compliance import BLOCKING_KINDS, ComplianceParams
from core.schema import CHANNELS, RESTRICTION_KINDS
from features import build_features
from simulator import BusinessAsUsual, Simulation, compliance
from simulator.observe import observe
from simulator.outcomes import Tally
from simulator.population import generate
from simulator.records import Recorder
from simulator.state import CHARGED_OFF, OPEN
from simulator.world import BlockWorld

_CAN = [f"can_{c}" for c in CHANNELS]


def _kinds_that_block(flags: pd.DataFrame, blocked: np.ndarray) -> set[str]:
    """Kinds k such that every row with k in force is blocked; every kind must occur in `flags`."""
    out = set()
    for kind in RESTRICTION_KINDS:
        rows = flags[kind].to_numpy(dtype=bool)
        assert rows.any(), f"{kind} never occurred: the check would have no teeth"
        if blocked[rows].all():
            out.add(kind)
    return out


@pytest.fixture(scope="module")
def simulator_blocks() -> set[str]:
    sim = Simulation.from_params(small_params(seed=11, accounts=400, cycles=4, burn_in_cycles=1))
    cal = sim.calendar
    pop = generate(sim.config, cal, sim.layout, 0, sim.streams)
    bau = BusinessAsUsual()
    w = BlockWorld(
        sim.config,
        cal,
        sim.streams,
        pop,
        bau,
        bau,
        cal.start_day,
        Tally(len(cal.cycle_day), 0),
        Recorder(enabled=False),
    )
    rng = np.random.default_rng(0)
    # every bit of the restriction fields set with probability 0.15, independently
    w.st.bbits[:] = (rng.random((pop.n_borrowers, 16)) < 0.15) @ (1 << np.arange(16))
    w.st.abits[:] = (rng.random((pop.n_accounts, 8)) < 0.15) @ (1 << np.arange(8))
    w.st.status[:] = np.where(rng.random(pop.n_accounts) < 0.2, CHARGED_OFF, OPEN)
    t, idx = cal.start_day + 30, np.arange(pop.n_accounts)
    state = compliance.contact_state(w, t, idx)
    seen = observe(w, t, idx, compliance.allowed_channels(compliance.channel_reasons(w, idx, state)))
    flags = seen.assign(channel_opt_out=seen[["opt_out_sms", "opt_out_email", "opt_out_call"]].any(axis=1))
    return _kinds_that_block(flags, ~seen[_CAN].to_numpy().any(axis=1))


@pytest.fixture(scope="module")
def features_block() -> set[str]:
    rows = []
    for kind in RESTRICTION_KINDS:
        book = tiny_book()
        book["restrictions"] = book["restrictions"].iloc[[3]].assign(kind=kind, channel=None, end_at=pd.NaT)
        feats = build_features(book, "2024-03-10").set_index("account_id").loc[20]
        rows.append(
            {"kind": kind, "in_force": bool(feats[f"restricted_{kind}"]), "blocked": bool(feats["contact_blocked"])}
        )
    frame = pd.DataFrame(rows).set_index("kind")
    flags = pd.DataFrame(np.diag(frame["in_force"].to_numpy()), columns=list(RESTRICTION_KINDS))
    return _kinds_that_block(flags, frame["blocked"].to_numpy())


def test_simulator_and_features_block_the_same_kinds(simulator_blocks, features_block):
    assert simulator_blocks == features_block == set(BLOCKING_KINDS)
    assert "channel_opt_out" not in simulator_blocks  # an opt-out closes its channel only


def test_both_default_profiles_block_the_kinds_the_features_use():
    for name, profile in ComplianceParams().profiles.items():
        assert set(profile.blocking_kinds) == set(BLOCKING_KINDS), name
