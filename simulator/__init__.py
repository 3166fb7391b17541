"""The seeded, causal collections world: default data and the replay engine for policy evaluation.

    from simulator import Simulation, SimConfig, policies
    sim = Simulation.from_params(load_params())
    sim.run(record=True).write(RAW_DIR)                 # the five canonical tables, business as usual
    sim.replay(policies.ContactEveryone())               # true outcomes under another policy

See docs/simulator.md for every mechanism and parameter.
"""

from core.state import STATE_COLUMNS
from simulator import policies
from simulator.config import Mechanics, SimConfig
from simulator.engine import Simulation, SimulationRun, replay, simulate_tables
from simulator.outcomes import Outcome
from simulator.policies import BusinessAsUsual, ContactEveryone, NoContact, Oracle, Policy

__all__ = [
    "BusinessAsUsual",
    "ContactEveryone",
    "Mechanics",
    "NoContact",
    "Oracle",
    "Outcome",
    "Policy",
    "STATE_COLUMNS",
    "SimConfig",
    "Simulation",
    "SimulationRun",
    "policies",
    "replay",
    "simulate_tables",
]
