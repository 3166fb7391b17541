"""LightGBM booster parameters shared by every model family (roll rate, propensity).

Regularised knobs from a family's `lightgbm:` params section, the seed from `seeds.training`, and
LightGBM's deterministic mode with a fixed thread count, so that `dvc repro` reproduces a model
byte for byte. The objective follows the number of classes; a family training a regression
replaces `objective` (e.g. `tweedie`).
"""

from __future__ import annotations

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
