"""The actions the uplift model compares ("arms"): no contact, a channel at a local hour band, a plan offer.

A logged decision is (channel or none, local hour, offer). Its arm keeps what a policy can choose
and the log explores enough to learn: the channel, and for the time-sensitive channels (sms,
e-mail, call) the hour band of `uplift.hour_bands`; a call offering a hardship plan is the `plan`
arm; letters, field visits, the agency and legal action are one arm each (their hour matters
little: a letter is read when it arrives). Settlement and discount offers stay with their
channel's arm. The weekday type of the contact window is the decision day's, not a choice: it is
a feature (models/uplift/rows.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.params import ContactParams, UpliftParams

BANDED = ("sms", "email", "call")
SINGLE = ("letter", "field_visit", "agency", "legal")
#: Channels an arm stands for, and where the world allows them (simulator states' `can_<channel>`).
PLAN = "plan"
NONE = "none"


@dataclass(frozen=True)
class Arm:
    """One action of the uplift model: `channel` at `hour` (local) with `offer`."""

    name: str
    channel: str
    hour: int
    offer: str
    band: str | None


def band_hour(first: int, end: int) -> int:
    """The hour a policy contacts at in a band [first, end): its middle hour."""
    return first + (end - first - 1) // 2


def arms(p: UpliftParams) -> tuple[Arm, ...]:
    """Every arm, `none` first, in a fixed order (the columns of the model's predictions)."""
    out = [Arm(NONE, NONE, -1, "none", None)]
    for ch in BANDED:
        for band, (first, end) in p.hour_bands.items():
            out.append(Arm(f"{ch}_{band}", ch, band_hour(first, end), "none", band))
    evening = max(p.hour_bands.items(), key=lambda kv: kv[1][0])
    out.append(Arm(PLAN, "call", band_hour(*evening[1]), "plan", evening[0]))
    for ch in SINGLE:
        out.append(Arm(ch, ch, 10 if ch != "agency" else 12, "none", None))
    return tuple(out)


def band_of_hour(hours: np.ndarray, p: UpliftParams) -> np.ndarray:
    """Index of each hour's band in `p.hour_bands` (an hour outside every band goes to the nearest one)."""
    bands = list(p.hour_bands.values())
    centres = np.array([(a + b - 1) / 2 for a, b in bands])
    h = np.asarray(hours, dtype=np.float64)
    out = np.argmin(np.abs(h[:, None] - centres[None, :]), axis=1)
    for i, (a, b) in enumerate(bands):
        out = np.where((h >= a) & (h < b), i, out)
    return out


def arm_codes(action: np.ndarray, hour: np.ndarray, offer: np.ndarray, p: UpliftParams) -> np.ndarray:
    """Arm index (into `arms(p)`) of logged decisions (action, local hour, offer)."""
    table = arms(p)
    index = {a.name: i for i, a in enumerate(table)}
    action = np.asarray(action, dtype=object)
    offer = np.asarray(offer, dtype=object)
    h = np.nan_to_num(np.asarray(hour, dtype=np.float64), nan=12.0)
    band_names = np.array(list(p.hour_bands), dtype=object)[band_of_hour(h, p)]
    out = np.full(len(action), -1, dtype=np.int64)
    for ch in SINGLE + (NONE,):
        out[action == ch] = index[ch]
    for ch in BANDED:
        rows = np.flatnonzero(action == ch)
        out[rows] = [index[f"{ch}_{b}"] for b in band_names[rows]]
    out[(action == "call") & (offer == "plan")] = index[PLAN]
    if (out < 0).any():
        raise ValueError(f"unknown logged action(s): {sorted(set(action[out < 0]))}")
    return out


def arm_costs(p: UpliftParams, contact: ContactParams, conversation_rate: float = 0.0) -> np.ndarray:
    """Expected cost of each arm: the attempt, and for calls the talk minutes of a right-party
    conversation times the logged share of calls that reached the borrower."""
    talk = contact.talk_minutes * contact.talk_cost_per_minute * conversation_rate
    return np.array(
        [
            0.0 if a.channel == NONE else contact.channel_cost[a.channel] + (talk if a.channel == "call" else 0.0)
            for a in arms(p)
        ]
    )


def allowed_channels(a: tuple[Arm, ...], can: dict[str, np.ndarray]) -> np.ndarray:
    """(rows, arms) mask of the arms whose channel is allowed (`none` always is)."""
    n = len(next(iter(can.values())))
    return np.column_stack([np.ones(n, dtype=bool) if x.channel == NONE else can[x.channel] for x in a])
