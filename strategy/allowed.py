"""Every contact action in every window, for every account: allowed, or the rule that blocks it.

The rules are the shared rulebook's (`core.compliance.check`), never restated here: each action is
checked at every local hour its window covers, and the window is allowed only if every hour is. When
several hours are refused, the first rule in the rulebook's order (`REASONS`) is reported. Two
reasons are the strategy's own, because they are about time, not law: the borrower's time zone is
unknown (no local hour can be known, so nothing is proposed), and the window does not exist on the run
date (it falls inside a clock change, strategy/windows.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from core import compliance as rulebook
from core.schema import CHANNELS
from strategy.actions import CONTACT_ACTIONS, candidate_names
from strategy.state import contact_state
from strategy.windows import Windows, windows_for

#: Why a candidate is blocked: the rulebook's REASONS (0 = allowed), then the strategy's two time reasons.
BLOCK_REASONS: tuple[str, ...] = (*rulebook.REASONS, "unknown_timezone", "window_not_on_date")
UNKNOWN_TIMEZONE = np.int8(BLOCK_REASONS.index("unknown_timezone"))
WINDOW_NOT_ON_DATE = np.int8(BLOCK_REASONS.index("window_not_on_date"))


@dataclass(frozen=True)
class ActionTable:
    """The candidates of each account: `reason` (n, K) int8 codes into BLOCK_REASONS, 0 = allowed."""

    names: list[str]
    reason: np.ndarray
    windows: Windows
    profile: np.ndarray

    @property
    def allowed(self) -> np.ndarray:
        return self.reason == 0

    def reason_names(self) -> np.ndarray:
        return np.asarray(BLOCK_REASONS, dtype=object)[self.reason]


def action_table(
    frame: pd.DataFrame, run_date: date, bands: dict[str, tuple[int, int]], rules: rulebook.Rulebook
) -> ActionTable:
    """Allowed candidates (action x window) of the accounts in `frame` on `run_date`.

    `frame` holds `region`, `timezone` and the state columns `strategy.state.contact_state` reads.
    """
    profile, state = contact_state(frame, rules)
    win = windows_for(frame["timezone"], run_date, bands)
    n, n_w = len(frame), len(win.names)
    by_channel = rulebook.channel_reasons(rules, profile, state)  # the state's part, computed once
    reason = np.zeros((n, len(CONTACT_ACTIONS) * n_w), dtype=np.int8)
    for a, action in enumerate(CONTACT_ACTIONS):
        channel = np.full(n, CHANNELS.index(action.channel), dtype=np.int64)
        for w in range(n_w):
            worst = np.zeros(n, dtype=np.int8)
            for h in range(win.hours.shape[2]):
                hour = win.hours[:, w, h].astype(np.float64)
                hour[hour < 0] = np.nan  # no covered hour: refused as outside_hours, then overridden below
                r = rulebook.check(rules, profile, state, channel, hour, reasons=by_channel).reason
                worst = np.where((worst == 0) | ((r != 0) & (r < worst)), r, worst)
            worst[~win.exists[:, w]] = WINDOW_NOT_ON_DATE
            worst[~win.known_zone] = UNKNOWN_TIMEZONE
            worst[profile < 0] = rulebook.REASONS.index("no_profile")
            reason[:, a * n_w + w] = worst
    return ActionTable(candidate_names(win.names), reason, win, profile)
