"""The registered propensity model's code, logged as an MLflow "model from code".

MLflow copies this file into the model folder and runs it at load time; `load_context` rebuilds
the scorer from the plain files beside it (LightGBM text boosters and `scorer.json`), so nothing
is unpickled. `predict` first runs `PropensityScorer.check_input` (a DataError naming the problem
on its first line), then scores through `PropensityScorer.predict`, the code that produced the
evaluated test predictions.
"""

from __future__ import annotations

import mlflow
import pandas as pd

from models.propensity.pyfunc import SCORER
from models.propensity.scoring import PropensityScorer


class PropensityPyfunc(mlflow.pyfunc.PythonModel):
    """predict -> DataFrame: p_pay_{h}d and expected_paid_{h}d per horizon."""

    def load_context(self, context) -> None:
        self.scorer = PropensityScorer.load(context.artifacts[SCORER])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        self.scorer.check_input(frame)
        return self.scorer.predict(frame)


mlflow.models.set_model(PropensityPyfunc())
