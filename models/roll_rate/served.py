"""The registered roll-rate model's code, logged as an MLflow "model from code".

MLflow copies this file into the model folder (`served.py`) and runs it when the model is
loaded; it stores no Python objects. `load_context` rebuilds the scorer from the plain files
logged beside it (`artifacts/scorer/`: LightGBM text boosters and `scorer.json`) and reads the
bucket names from the model config in `MLmodel`, so nothing is unpickled. `predict` first runs
`RollRateScorer.check_input`, which refuses with a DataError whose first line names the problem
(missing feature columns, no rows, unknown categories or bucket codes, missing values where
training had none), then scores through `RollRateScorer.predict_proba`, the code that produced
the evaluated test probabilities.
Loading needs this project's `models` package importable, as the strategy stage and notebooks
have it.
"""

from __future__ import annotations

import mlflow
import pandas as pd

from models.roll_rate.pyfunc import BUCKET_NAMES, SCORER
from models.roll_rate.scoring import RollRateScorer


class RollRatePyfunc(mlflow.pyfunc.PythonModel):
    """predict -> DataFrame of next-bucket probabilities, one column per bucket name."""

    def load_context(self, context) -> None:
        self.scorer = RollRateScorer.load(context.artifacts[SCORER])
        self.bucket_names = tuple(context.model_config[BUCKET_NAMES])
        if len(self.bucket_names) != self.scorer.n_buckets:
            raise ValueError(f"{len(self.bucket_names)} bucket names for a {self.scorer.n_buckets}-bucket model")

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        self.scorer.check_input(frame)
        proba = self.scorer.predict_proba(frame)
        return pd.DataFrame(proba, columns=list(self.bucket_names), index=frame.index)


mlflow.models.set_model(RollRatePyfunc())
