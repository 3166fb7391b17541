"""Small simulated books shared by the simulator tests (cached per test process)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from core.params import Params, parse_params
from simulator import Simulation

SMALL = {"accounts": 1500, "cycles": 8, "burn_in_cycles": 2}


def small_params(seed: int = 7, **simulate: object) -> Params:
    return parse_params({"seeds": {"world": seed}, "simulate": {**SMALL, **simulate}})


@lru_cache(maxsize=4)
def small_world(seed: int = 7) -> Simulation:
    return Simulation.from_params(small_params(seed))


@lru_cache(maxsize=4)
def small_tables(seed: int = 7) -> dict[str, pd.DataFrame]:
    """The five tables of the small world under business as usual (do not mutate)."""
    return small_world(seed).run(record=True).tables()
