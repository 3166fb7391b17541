"""Train and validate the uplift learners out of time, and score the chosen one on the test window.

Windows by decision date (`uplift.valid_days`, `uplift.test_days`), only decisions whose response
horizon is observed; a training or validation decision whose horizon runs into the next window is
dropped (embargo). No-contact decisions are subsampled for training (`uplift.none_sample`), and
every arm to at most about `uplift.max_rows_per_arm` rows (a deterministic hash of the decision id),
weighted back. An arm is compared with no contact only
on the rows where its channel was allowed (models/uplift/rows.py), never where it could not be taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.params import Params
from models.uplift.arms import BANDED, Arm, allowed_channels, arm_costs, arms
from models.uplift.learners import UpliftModel, arm_propensity, fit_arm_propensity, fit_dr, fit_t
from models.uplift.qini import Qini, coefficient, dr_qini, qini
from models.uplift.rows import allowed_from_rows

CONVERSATIONS = ("right_party_contact", "promise_to_pay", "refused", "cease_request", "dispute_raised")
#: Least treated rows of an arm in a window for its Qini to be computed.
MIN_TREATED = 30


@dataclass
class UpliftResult:
    model: UpliftModel
    arms: tuple[Arm, ...]
    costs: np.ndarray
    conversation_rate: float
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    mu_test: np.ndarray
    #: Per test row: inverse estimated propensity of its own arm (the Qini weight), and whether it is kept
    #: (the no-contact subsample) for the Qini.
    weights_test: np.ndarray
    keep_test: np.ndarray
    validation: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)
    qini: dict[str, Qini] = field(default_factory=dict)
    #: Per banded channel (sms, email, call): its bands pooled against no contact (`channel_qini_inputs`).
    qini_channel: dict[str, Qini] = field(default_factory=dict)
    #: The same from doubly robust scores on every decision where the channel was allowed (`channel_dr_inputs`).
    qini_channel_dr: dict[str, Qini] = field(default_factory=dict)
    #: The same on whether anything was paid (`paid`, the T-learner's `paid` models): the Qini's own reading on
    #: responders, whose outcome is bounded where the payments' amounts are not.
    qini_channel_dr_paid: dict[str, Qini] = field(default_factory=dict)
    #: Per scored arm: decisions where it was allowed, and its treated rows' inverse propensities summed over
    #: them, clipped at `uplift.propensity_clip` (the Qini weights) and at `uplift.min_propensity` (`weight_balance`).
    weight_balance: dict[str, dict[str, float]] = field(default_factory=dict)


def conversation_rate(contacts: pd.DataFrame) -> float:
    """Share of logged calls that reached the borrower (a right-party conversation is talk time)."""
    calls = contacts[contacts["channel"] == "call"]
    return float(calls["outcome"].isin(CONVERSATIONS).mean()) if len(calls) else 0.0


def sample(rows: pd.DataFrame, none_share: float, max_per_arm: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic subsample (a hash of the decision id): no-contact decisions at `none_share`, and at most
    about `max_per_arm` rows of any arm; returns the rows kept and their weights (1 / probability kept)."""
    arm = rows["arm"].to_numpy()
    counts = np.bincount(arm, minlength=arm.max(initial=0) + 1).astype(np.float64)
    share = np.minimum(1.0, max_per_arm / np.maximum(counts, 1.0))
    share[0] = min(share[0], none_share)
    h = (rows["decision_id"].to_numpy(np.int64) * 2654435761) % 2**32 / 2**32
    keep = h < share[arm]
    return keep, 1.0 / share[arm]


def keep_none(rows: pd.DataFrame, share: float) -> np.ndarray:
    """Deterministic subsample of no-contact decisions (all contacts kept)."""
    h = (rows["decision_id"].to_numpy(np.int64) * 2654435761) % 2**32 / 2**32
    return (rows["arm"].to_numpy() != 0) | (h < share)


def split(rows: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    p = params.uplift
    obs = rows[rows["observed"].to_numpy(bool)]
    day = obs["local_date"].to_numpy("datetime64[D]")
    end = day.max()
    test_start = end - np.timedelta64(p.test_days - 1, "D")
    valid_start = test_start - np.timedelta64(p.valid_days, "D")
    gap = np.timedelta64(p.response_days, "D")
    test = obs[day >= test_start]
    valid = obs[(day >= valid_start) & (day + gap <= test_start)]
    train = obs[day + gap <= valid_start]
    return train, valid, test


def qini_rows(frame: pd.DataFrame, table: tuple[Arm, ...], a: int, keep: np.ndarray) -> np.ndarray:
    """Rows that took arm `a` or no contact, where `a`'s channel was allowed."""
    allowed = allowed_channels(table, allowed_from_rows(frame))[:, a]
    return keep & allowed & np.isin(frame["arm"].to_numpy(), [0, a])


def qini_inputs(frame, table, mu, weight, a, keep):
    """Score (predicted effect), response, treated and weight of the rows `qini_rows` picks.

    The no-contact subsample needs no weight of its own: the Qini divides by the total control weight."""
    rows = qini_rows(frame, table, a, keep)
    arm = frame["arm"].to_numpy()[rows]
    return mu[rows, a] - mu[rows, 0], frame["reward"].to_numpy()[rows], arm == a, weight[rows]


def channel_bands(table: tuple[Arm, ...], channel: str, scored: set[int]) -> list[int]:
    """The arms of `channel` at an hour band with no offer (a plan offer is its own action), among `scored`."""
    return [
        a for a, arm in enumerate(table) if arm.channel == channel and arm.band and arm.offer == "none" and a in scored
    ]


def channel_qini_inputs(frame, table, mu, weight, bands: list[int], keep):
    """`qini_inputs` for a channel, its bands pooled: the issue's "call and SMS actions" are channels.

    Rows that took one of `bands` are treated, no-contact rows where the channel was allowed are the
    control. Each treated row weighs 1 / the estimated propensity of its own band, so the treated mean is
    the bands' plain average response; the score is therefore the bands' plain average predicted effect,
    the same for treated and control rows (a ranking that depended on the arm taken would show the
    logging policy's choice as uplift). Pooling gives the channel all its logged contacts, where a single
    band has a third of them."""
    allowed = allowed_channels(table, allowed_from_rows(frame))[:, bands[0]]
    arm = frame["arm"].to_numpy()
    rows = keep & allowed & np.isin(arm, [0, *bands])
    effect = mu[rows][:, bands].mean(axis=1) - mu[rows, 0]
    return effect, frame["reward"].to_numpy()[rows], arm[rows] != 0, weight[rows]


def channel_dr_inputs(frame, table, mu, e, bands: list[int], outcome: str = "reward"):
    """Score, doubly robust score and treated of a channel's bands pooled against no contact, on every decision
    where the channel was allowed (models/uplift/qini.py, `dr_qini`).

    The score is the bands' plain average predicted effect (as `channel_qini_inputs`); the doubly robust score
    adds to it each row's residual over the propensity of what it took: `(y - mu_b) / e_b / len(bands)` on a
    row that took band b, `-(y - mu_0) / e_0` on one left alone, nothing on one that took another action.
    `e`: (rows, arms) estimated arm propensities, clipped only at the logging floor (`weight_balance` says
    why). `outcome`: the column of `frame` that `mu` predicts (`reward`, or `paid` with the `paid` models)."""
    allowed = allowed_channels(table, allowed_from_rows(frame))[:, bands[0]]
    arm, y = frame["arm"].to_numpy()[allowed], frame[outcome].to_numpy(np.float64)[allowed]
    m, p = mu[allowed], e[allowed]
    score = m[:, bands].mean(axis=1) - m[:, 0]
    residual = sum(np.where(arm == b, (y - m[:, b]) / p[:, b], 0.0) for b in bands) / len(bands)
    gamma = score + residual - np.where(arm == 0, (y - m[:, 0]) / p[:, 0], 0.0)
    return score, gamma, np.isin(arm, bands)


def weight_balance(frame, table, e: np.ndarray, a: int, clip: float, floor: float) -> dict[str, float]:
    """Arm `a`'s inverse-propensity weights against the decisions they stand for, a check from the log alone.

    Summed over the rows that took `a`, 1 / its estimated propensity estimates the number of decisions where `a`
    could be taken; a ratio well below 1 says the clip removes weight (the rows the log seldom treats count for
    less, so the weighted treated rows no longer stand for the population)."""
    allowed = allowed_channels(table, allowed_from_rows(frame))[:, a]
    took = frame["arm"].to_numpy() == a
    n = int(allowed.sum())
    return {
        "allowed": n,
        "clipped": float(np.sum(1.0 / np.maximum(e[took, a], clip))) / max(n, 1),
        "floor": float(np.sum(1.0 / np.maximum(e[took, a], floor))) / max(n, 1),
    }


def _own_weight(e: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """1 / each row's propensity `e` (rows, arms) of the arm it took."""
    return 1.0 / e[np.arange(len(frame)), frame["arm"].to_numpy()]


def train_uplift(rows: pd.DataFrame, contacts: pd.DataFrame, params: Params) -> UpliftResult:
    """Fit every learner of `uplift.learners`, keep the best by mean validation Qini, score it on test."""
    p, seed = params.uplift, params.seeds.training
    table = arms(p)
    n = len(table)
    train, valid, test = split(rows, params)
    keep, weight = sample(train, p.none_sample, p.max_rows_per_arm)
    train = train[keep].assign(weight=weight[keep])
    keep, weight = sample(valid, p.none_sample, p.max_rows_per_arm)
    valid = valid[keep].assign(weight=weight[keep])
    test_keep = keep_none(test, p.none_sample)
    prop = fit_arm_propensity(train, valid, n, p.lightgbm, seed, p.none_sample)
    w_valid = _own_weight(arm_propensity(prop, valid, p.propensity_clip), valid)
    e_test = arm_propensity(prop, test, p.min_propensity)  # predicted once: both Qini readings' propensities
    w_test = _own_weight(np.maximum(e_test, p.propensity_clip), test)
    all_valid = np.ones(len(valid), bool)
    models, scores = {}, {}
    for learner in p.learners:
        if learner == "t":
            m = fit_t(train, valid, n, p.lightgbm, seed, p.none_sample)
        else:
            m = fit_dr(train, valid, n, p.lightgbm, seed, p.none_sample, p.propensity_clip, t_model=models.get("t"))
        mu = m.predict(valid)
        per_arm = [
            coefficient(*qini_inputs(valid, table, mu, w_valid, a, all_valid))
            for a in range(1, n)
            if m.supported[a] and (valid["arm"].to_numpy() == a).sum() >= MIN_TREATED
        ]
        models[learner], scores[learner] = m, float(np.mean(per_arm)) if per_arm else -np.inf
    best = max(scores, key=lambda k: scores[k])
    model = models[best]
    mu_test = model.predict(test)
    rate = conversation_rate(contacts)
    result = UpliftResult(
        model=model,
        arms=table,
        costs=arm_costs(p, params.contact, rate),
        conversation_rate=rate,
        train=train,
        valid=valid,
        test=test,
        mu_test=mu_test,
        weights_test=w_test,
        keep_test=test_keep,
        validation={f"qini_valid_{k}": v for k, v in scores.items()},
    )
    for a in range(1, n):
        if not model.supported[a] or (test["arm"].to_numpy() == a).sum() < MIN_TREATED:
            continue
        s, y, t, w = qini_inputs(test, table, mu_test, w_test, a, test_keep)
        result.qini[table[a].name] = qini(s, y, t, w, bootstrap=p.bootstrap, confidence=p.confidence, seed=seed + a)
        result.weight_balance[table[a].name] = weight_balance(
            test, table, e_test, a, p.propensity_clip, p.min_propensity
        )
    scored = {i for i, arm in enumerate(table) if arm.name in result.qini}
    paid_test = model.predict_paid(test)
    for c, channel in enumerate(BANDED):
        bands = channel_bands(table, channel, scored)
        if bands:
            s, y, t, w = channel_qini_inputs(test, table, mu_test, w_test, bands, test_keep)
            result.qini_channel[channel] = qini(
                s, y, t, w, bootstrap=p.bootstrap, confidence=p.confidence, seed=seed + n + c
            )
            s, gamma, t = channel_dr_inputs(test, table, mu_test, e_test, bands)
            result.qini_channel_dr[channel] = dr_qini(
                s, gamma, t, bootstrap=p.bootstrap, confidence=p.confidence, seed=seed + n + c
            )
            if all(b in model.paid for b in (0, *bands)):
                s, gamma, t = channel_dr_inputs(test, table, paid_test, e_test, bands, outcome="paid")
                result.qini_channel_dr_paid[channel] = dr_qini(
                    s, gamma, t, bootstrap=p.bootstrap, confidence=p.confidence, seed=seed + n + c
                )
    return result


def mean_qini(result: UpliftResult, mu: np.ndarray) -> float:
    """Mean Qini coefficient, over the arms scored on the test window, of predictions `mu` of its rows
    (no bootstrap): how a champion is re-scored on a new run's test window (higher is better)."""
    index = {a.name: i for i, a in enumerate(result.arms)}
    values = [
        coefficient(*qini_inputs(result.test, result.arms, mu, result.weights_test, index[name], result.keep_test))
        for name in result.qini
    ]
    return float(np.mean(values)) if values else float("nan")
