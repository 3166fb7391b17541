"""LightGBM booster parameters shared by every model family (roll rate, propensity).

Regularised knobs from a family's `lightgbm:` params section, the seed from `seeds.training`, and
LightGBM's deterministic mode with a fixed thread count, so that `dvc repro` reproduces a model
byte for byte. The objective follows the number of classes; a family training a regression
replaces `objective` (e.g. `tweedie`).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.params import LightGBMParams


def booster_params(p: LightGBMParams, seed: int, n_classes: int) -> dict[str, object]:
    objective = {"objective": "binary"} if n_classes == 2 else {"objective": "multiclass", "num_class": n_classes}
    return {
        **objective,
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_data_in_leaf": p.min_child_samples,
        "feature_fraction": p.feature_fraction,
        "bagging_fraction": p.bagging_fraction,
        "bagging_freq": p.bagging_freq,
        "lambda_l2": p.lambda_l2,
        "max_bin": p.max_bin,
        "num_threads": p.num_threads,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def fit_booster(
    params: dict[str, object],
    lgbm: LightGBMParams,
    train: lgb.Dataset,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
) -> lgb.Booster:
    """Train on `train` for at most `lgbm.n_estimators` rounds, early-stopped on (X_valid, y_valid)
    after `lgbm.early_stopping_rounds` rounds without progress (no validation rows: 100 rounds at most)."""
    if len(y_valid) == 0:
        return lgb.train(params, train, num_boost_round=min(lgbm.n_estimators, 100))
    valid = lgb.Dataset(X_valid, label=y_valid, reference=train)
    return lgb.train(
        params,
        train,
        num_boost_round=lgbm.n_estimators,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(lgbm.early_stopping_rounds, verbose=False)],
    )
