"""Train and validate the uplift learners out of time, and score the chosen one on the test window.

Windows by decision date (`uplift.valid_days`, `uplift.test_days`), only decisions whose response
horizon is observed; a training or validation decision whose horizon runs into the next window is
dropped (embargo). No-contact decisions are subsampled for training (`uplift.none_sample`,
a deterministic hash of the decision id) and weighted back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.params import Params
from models.uplift.arms import arm_costs, arms
from models.uplift.learners import UpliftModel, arm_propensity, fit_arm_propensity, fit_dr, fit_t
from models.uplift.qini import Qini, coefficient, qini

CONVERSATIONS = ("right_party_contact", "promise_to_pay", "refused", "cease_request", "dispute_raised")


@dataclass
class UpliftResult:
    model: UpliftModel
    costs: np.ndarray
    conversation_rate: float
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    mu_test: np.ndarray
    weights_test: np.ndarray
    validation: dict[str, float]
    qini: dict[str, Qini] = field(default_factory=dict)


def conversation_rate(contacts: pd.DataFrame) -> float:
    """Share of logged calls that reached the borrower (a right-party conversation is talk time)."""
    calls = contacts[contacts["channel"] == "call"]
    return float(calls["outcome"].isin(CONVERSATIONS).mean()) if len(calls) else 0.0


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


def _qini_inputs(frame, mu, e, a, keep):
    rows = keep & np.isin(frame["arm"].to_numpy(), [0, a])
    arm = frame["arm"].to_numpy()[rows]
    w = 1.0 / e[rows, arm]
    return mu[rows, a] - mu[rows, 0], frame["reward"].to_numpy()[rows], arm == a, w


def train_uplift(rows: pd.DataFrame, contacts: pd.DataFrame, params: Params) -> UpliftResult:
    """Fit every learner of `uplift.learners`, keep the best by mean validation Qini, score it on test."""
    p, seed = params.uplift, params.seeds.training
    table = arms(p)
    n = len(table)
    train, valid, test = split(rows, params)
    train = train[keep_none(train, p.none_sample)]
    valid_s = valid[keep_none(valid, p.none_sample)]
    test_keep = keep_none(test, p.none_sample)
    prop = fit_arm_propensity(train, valid_s, n, p.lightgbm, seed, p.none_sample)
    e_valid = arm_propensity(prop, valid_s, p.propensity_clip)
    e_test = arm_propensity(prop, test, p.propensity_clip)
    models, scores = {}, {}
    for learner in p.learners:
        if learner == "t":
            m = fit_t(train, valid_s, n, p.lightgbm, seed, p.none_sample)
        else:
            m = fit_dr(train, valid_s, n, p.lightgbm, seed, p.none_sample, p.propensity_clip)
        mu = m.predict(valid_s)
        per_arm = []
        for a in range(1, n):
            if not m.supported[a] or (valid_s["arm"].to_numpy() == a).sum() < 100:
                continue
            s, y, t, w = _qini_inputs(valid_s, mu, e_valid, a, np.ones(len(valid_s), bool))
            per_arm.append(coefficient(s, y, t, w))
        models[learner], scores[learner] = m, float(np.mean(per_arm)) if per_arm else -np.inf
    best = max(scores, key=lambda k: scores[k])
    model = models[best]
    mu_test = model.predict(test)
    w_test = np.where(test["arm"].to_numpy() == 0, 1 / p.none_sample, 1.0)
    rate = conversation_rate(contacts)
    result = UpliftResult(
        model,
        arm_costs(p, params.contact, rate),
        rate,
        train,
        valid,
        test,
        mu_test,
        w_test,
        {f"qini_valid_{k}": v for k, v in scores.items()},
    )
    for a in range(1, n):
        treated = (test["arm"].to_numpy() == a).sum()
        if not model.supported[a] or treated < 30:
            continue
        s, y, t, w = _qini_inputs(test, mu_test, e_test, a, test_keep)
        # the no-contact subsample needs no weight: the Qini divides by the total control weight
        result.qini[table[a].name] = qini(s, y, t, w, bootstrap=p.bootstrap, confidence=p.confidence, seed=seed + a)
    return result
