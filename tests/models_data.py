"""Synthetic feature/label frames with the agreed column contract, for the models tests.

`planted_history` simulates accounts moving between buckets month by month, where the chance
of rolling forward depends on a per-account `risk_score` the model can see and the Markov
baseline cannot (it only knows the current bucket and product): a learnable signal.
`markov_history` draws from a known transition matrix with no signal at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.buckets import Buckets

BUCKETS = Buckets(
    names=("current", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_119", "dpd_120_179", "charge_off"),
    min_dpd=(0, 1, 30, 60, 90, 120, 180),
)
START = pd.Timestamp("2023-01-01")


def _frames(
    bucket_path: np.ndarray, extra: dict[str, np.ndarray], products: np.ndarray, balance_path: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and labels frames from (cycles + 1, accounts) bucket paths; the last cycle is unlabelled."""
    cycles = bucket_path.shape[0] - 1
    n = bucket_path.shape[1]
    rows = []
    for t in range(cycles + 1):
        frame = pd.DataFrame(
            {
                "account_id": np.arange(1, n + 1, dtype=np.int64),
                "as_of_date": START + pd.DateOffset(months=t),
                "bucket": bucket_path[t].astype(np.int8),
                "days_past_due": (np.asarray(BUCKETS.min_dpd)[bucket_path[t]] + 5 * (bucket_path[t] > 0)).astype(
                    np.int32
                ),
                "balance": balance_path[t].astype(np.float32),
                "product": pd.Categorical(products, categories=["instalment", "revolving", "bnpl"]),
                **{k: v[t] if v.ndim == 2 else v for k, v in extra.items()},
                "next_bucket": pd.array(bucket_path[t + 1] if t < cycles else [pd.NA] * n, dtype="Int8"),
            }
        )
        rows.append(frame)
    data = pd.concat(rows, ignore_index=True)
    data["as_of_date"] = data["as_of_date"].astype("datetime64[ns]")
    labels = data[["account_id", "as_of_date", "next_bucket"]].copy()
    features = data.drop(columns="next_bucket")
    return features, labels


def planted_history(
    accounts: int = 3000, cycles: int = 12, seed: int = 0, signal: float = 1.5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bucket paths whose roll-forward odds rise with `risk_score` (coefficient `signal`)."""
    rng = np.random.default_rng(seed)
    k = len(BUCKETS.names)
    risk = rng.normal(size=accounts).astype(np.float32)
    noise = rng.normal(size=(cycles + 1, accounts)).astype(np.float32)
    products = rng.choice(["instalment", "revolving"], size=accounts)
    base_roll = np.array([-3.0, -0.8, -0.3, 0.2, 0.6, 1.0])
    base_cure = np.array([0.0, -0.5, -1.5, -2.0, -2.5, -3.0])
    path = np.zeros((cycles + 1, accounts), dtype=np.int64)
    for t in range(cycles):
        b = path[t]
        live = b < k - 1
        logit_roll = base_roll[np.minimum(b, k - 2)] + signal * risk
        logit_cure = base_cure[np.minimum(b, k - 2)] - signal * risk
        p_roll = 1 / (1 + np.exp(-logit_roll))
        p_cure = np.where(b > 0, (1 - p_roll) / (1 + np.exp(-logit_cure)), 0.0)
        u = rng.random(accounts)
        nxt = np.where(u < p_roll, b + 1, np.where(u < p_roll + p_cure, 0, b))
        path[t + 1] = np.where(live, nxt, b)
    balance = (1000 + 200 * path + rng.gamma(2.0, 100.0, size=path.shape)).astype(np.float32)
    autopay = rng.random(accounts) < 0.3  # a bool feature: MLflow signatures must keep it bool
    return _frames(path, {"risk_score": risk, "noise": noise, "autopay": autopay}, products, balance)


def markov_history(
    matrix: np.ndarray, accounts: int = 4000, cycles: int = 10, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bucket paths drawn from `matrix` (rows: bucket now); no feature carries any signal."""
    rng = np.random.default_rng(seed)
    k = matrix.shape[0]
    path = np.zeros((cycles + 1, accounts), dtype=np.int64)
    path[0] = rng.integers(0, k - 1, size=accounts)
    cumulative = np.cumsum(matrix, axis=1)
    for t in range(cycles):
        u = rng.random(accounts)[:, None]
        path[t + 1] = np.minimum((u > cumulative[path[t]]).sum(axis=1), k - 1)
    products = rng.choice(["instalment", "revolving"], size=accounts)
    balance = np.full(path.shape, 1000.0)
    return _frames(path, {"noise": rng.normal(size=(cycles + 1, accounts)).astype(np.float32)}, products, balance)


def planted_arrears(
    accounts: int = 1500, cycles: int = 10, seed: int = 0, signal: float = 1.5, horizons: tuple[int, ...] = (7, 30)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly rows of accounts current, in arrears or charged off, with propensity-to-pay labels.

    The chance of paying rises with a persistent per-account `engagement` the LightGBM model can
    see and the logistic baseline (days past due, past-due amount, paid_to_due_3c,
    days_since_payment) cannot: a learnable signal. Amounts come first and the labels follow from
    them (paid at least half the amount past due), so labels and amounts agree as in
    features/labels.py; the longest horizon's amount is drawn and shorter horizons pay a part of
    it. Current rows (nothing past due) and the last cycle (horizon not observed) are unlabelled.
    """
    rng = np.random.default_rng(seed)
    engagement = rng.normal(size=accounts).astype(np.float32)
    products = rng.choice(["instalment", "revolving"], size=accounts)
    frames, label_frames = [], []
    for t in range(cycles + 1):
        state = rng.choice(3, size=accounts, p=[0.45, 0.5, 0.05])  # current, arrears, charged off
        dpd = np.where(
            state == 0, 0, np.where(state == 1, rng.integers(1, 170, accounts), rng.integers(180, 400, accounts))
        )
        past_due = np.where(dpd > 0, rng.gamma(2.0, 60.0, accounts) * (1 + dpd / 60), 0.0).astype(np.float32)
        paid_to_due = np.where(rng.random(accounts) < 0.05, np.nan, rng.uniform(0, 1.2, accounts)).astype(np.float32)
        since = np.where(rng.random(accounts) < 0.15, np.nan, rng.exponential(40, accounts)).astype(np.float32)
        logit = -0.7 + signal * engagement + 0.8 * (np.nan_to_num(paid_to_due, nan=0.3) - 0.6) - 0.006 * dpd
        pays = rng.random(accounts) < 1 / (1 + np.exp(-logit))
        partial = ~pays & (rng.random(accounts) < 0.2)
        longest = np.where(pays, rng.uniform(0.5, 1.5, accounts), np.where(partial, rng.uniform(0, 0.45, accounts), 0))
        longest = longest * past_due
        fast = rng.random(accounts) < 1 / (1 + np.exp(-(-0.3 + 0.7 * engagement)))
        as_of = START + pd.DateOffset(months=t)
        frames.append(
            pd.DataFrame(
                {
                    "account_id": np.arange(1, accounts + 1, dtype=np.int64),
                    "as_of_date": as_of,
                    "days_past_due": dpd.astype(np.int32),
                    "bucket": BUCKETS.code(dpd),
                    "past_due_amount": past_due,
                    "paid_to_due_3c": paid_to_due,
                    "days_since_payment": since,
                    "engagement": engagement + rng.normal(scale=0.3, size=accounts).astype(np.float32),
                    "noise": rng.normal(size=accounts).astype(np.float32),
                    "days_past_due_lag1": dpd.astype(np.float32),  # a raw column: what the plain model reads
                    "product": pd.Categorical(products, categories=["instalment", "revolving", "bnpl"]),
                }
            )
        )
        labels = pd.DataFrame({"account_id": np.arange(1, accounts + 1, dtype=np.int64), "as_of_date": as_of})
        unlabelled = (dpd == 0) | (t == cycles)
        for h in horizons:
            amount = longest if h == max(horizons) else longest * np.where(fast, 1.0, rng.uniform(0, 0.4, accounts))
            hit = pd.array(amount >= 0.5 * past_due, dtype="boolean")
            hit[unlabelled] = pd.NA
            labels[f"paid_{h}d"] = hit
            labels[f"paid_amount_next_{h}d"] = np.where(t == cycles, np.nan, amount).astype(np.float32)
        label_frames.append(labels)
    features = pd.concat(frames, ignore_index=True)
    labels = pd.concat(label_frames, ignore_index=True)
    for frame in (features, labels):
        frame["as_of_date"] = frame["as_of_date"].astype("datetime64[ns]")
    return features, labels
