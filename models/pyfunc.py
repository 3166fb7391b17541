"""The registered model: an MLflow pyfunc whose `predict` returns next-bucket probabilities.

Consumers (the strategy stage, a notebook, a serving endpoint) load it with
`mlflow.pyfunc.load_model("models:/<name>@champion")` and get a DataFrame with one column per
bucket name, rows summing to 1, without knowing about LightGBM, calibration or per-bucket
sub-models. Inputs are the feature columns with categories as plain strings (as in the logged
signature and input example).
"""
from __future__ import annotations

from importlib.metadata import version

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from models.roll_rate import RollRateModel

#: Pinned from the installed versions, so logging does not spend seconds resolving them.
REQUIREMENTS = ("mlflow", "lightgbm", "scikit-learn", "pandas", "numpy", "pydantic", "cloudpickle")


def pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in REQUIREMENTS]


class RollRatePyfunc(mlflow.pyfunc.PythonModel):
    """Wraps a fitted RollRateModel; predict -> DataFrame of probabilities named by bucket."""

    def __init__(self, model: RollRateModel, bucket_names: tuple[str, ...]) -> None:
        self.model = model
        self.bucket_names = tuple(bucket_names)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ARG002
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        proba = self.model.predict_proba(frame)
        return pd.DataFrame(proba, columns=list(self.bucket_names), index=frame.index)


def log_pyfunc(model: RollRateModel, bucket_names: tuple[str, ...], example: pd.DataFrame,
               name: str = "model"):
    """Log the wrapped model with signature and input example into the active run."""
    wrapper = RollRatePyfunc(model, bucket_names)
    example_input = model.layout_.example_input(example).reset_index(drop=True)
    output = wrapper.predict(None, example_input)
    signature = infer_signature(example_input, output)
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=wrapper,
        signature=signature,
        input_example=example_input,
        pip_requirements=pip_requirements(),
    )
