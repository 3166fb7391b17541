"""The registered uplift model's code, logged as an MLflow "model from code".

MLflow copies this file into the model folder and runs it at load time; `load_context` rebuilds the
model from the plain files beside it (LightGBM text boosters and `uplift.json`), so nothing is
unpickled. `predict` takes decision rows with the columns of models.uplift.rows.FEATURES and returns
per arm the expected response (`expected_<arm>`), its effect over no contact (`effect_<arm>`), its
net effect after the arm's cost (`net_<arm>`) and the probability of any payment (`p_paid_<arm>`).
"""

from __future__ import annotations

import mlflow
import pandas as pd

from models.uplift.pyfunc import MODEL, predict_frame
from models.uplift.store import load


class UpliftPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.model, self.costs, self.params = load(context.artifacts[MODEL])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return predict_frame(self.model, self.costs, self.params, frame)


mlflow.models.set_model(UpliftPyfunc())
