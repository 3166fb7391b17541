"""Out-of-fold default prediction (the UCI protocol) on a synthetic book with a learnable signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from core.params import LightGBMParams
from models.roll_rate.default_cv import out_of_fold


def test_model_beats_the_bucket_rate_out_of_fold():
    rng = np.random.default_rng(0)
    n = 3000
    bucket = rng.choice([0, 1, 2], size=n, p=[0.8, 0.15, 0.05]).astype(np.int8)
    score = rng.normal(size=n)
    logit = -2.0 + 1.2 * bucket + 1.5 * score
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    features = pd.DataFrame(
        {
            "account_id": np.arange(n),
            "as_of_date": pd.Timestamp("2005-10-01"),
            "bucket": bucket,
            "score": score.astype(np.float32),
            "product": pd.Categorical(["revolving"] * n),
        }
    )
    lgbm = LightGBMParams(
        learning_rate=0.1, num_leaves=7, min_child_samples=30, n_estimators=200, early_stopping_rounds=20, num_threads=1
    )
    model, base, reports = out_of_fold(features, y, lgbm, n_buckets=3, inner_folds=2)
    assert len(reports) == 5 and all(r.calibration in ("none", "platt", "isotonic") for r in reports)
    assert ((model > 0) & (model < 1)).all()
    assert roc_auc_score(y, model) > roc_auc_score(y, base) + 0.1
    assert log_loss(y, model) < log_loss(y, base)
    # the baseline is the training folds' default rate of the bucket
    assert abs(base[bucket == 2].mean() - y[bucket == 2].mean()) < 0.05
