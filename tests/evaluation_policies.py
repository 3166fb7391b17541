"""Policies for tests/test_evaluation.py, built in the evaluation's policy process by import spec."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


class Recorder:
    """Writes the columns and dtypes of the first state frame it sees, and its argument types; never contacts."""

    def __init__(self, report: str) -> None:
        self.report = Path(report)

    def __call__(self, day: pd.Timestamp, states: pd.DataFrame) -> None:
        if not self.report.exists():
            found = {"columns": list(states.columns), "day": type(day).__name__, "states": type(states).__name__}
            self.report.write_text(json.dumps(found))
        print("a policy that prints must not break the protocol")
        return None


def recorder(report: str) -> Recorder:
    return Recorder(report)


def _first_call(states: pd.DataFrame) -> pd.DataFrame:
    rows = np.flatnonzero(states["can_call"].to_numpy(dtype=bool))[:1]
    return pd.DataFrame({"account_id": states["account_id"].to_numpy()[rows], "channel": "call", "hour": 18})


def unknown_column():
    return lambda day, states: _first_call(states).assign(secret=1)


def float_ids():
    return lambda day, states: _first_call(states).astype({"account_id": float})


def bad_channel():
    return lambda day, states: _first_call(states).assign(channel="carrier_pigeon")


def raises():
    def policy(day, states):
        raise RuntimeError("the policy broke on purpose")

    return policy


def not_a_frame():
    return lambda day, states: [1, 2, 3]


def sleeps():
    import time

    def policy(day, states):
        time.sleep(30)

    return policy
