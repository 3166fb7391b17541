"""Registered models as MLflow pyfuncs logged *from code*: no pickles, plain files only.

Every model family logs the same way: a small `served.py` of the family's own (copied into the
model folder and run at load time) plus the fitted model as plain files (LightGBM text, JSON)
under `artifacts/<name>/`, a signature and input example, and pinned requirements. The folder
then reads

    model/MLmodel                  flavor, signature, model_config
    model/served.py                the PythonModel; its load_context rebuilds the scorer from files
    model/artifacts/<name>/        the fitted model as files a person can read and diff
    model/input_example.json, serving_input_example.json, requirements.txt, python_env.yaml, conda.yaml

Loading executes the project's own code and parses JSON and LightGBM text; it deserialises no
Python objects, and the files stay readable across library versions.

The input signature is derived from the feature table's dtypes (`input_schema`), so that
`model.predict(pd.read_parquet("data/processed/features.parquet"))` is accepted as read, with no
casting. MLflow 3.17 enforces it before the model's own code runs (mlflow/models/utils.py
`_enforce_mlflow_datatype`), which shaped three choices:

- each numeric column is declared with the *widest* MLflow type of its kind: integers (int8 to
  int64) as `long`, floats (float32, float64) as `double`. MLflow upcasts narrower dtypes exactly
  but refuses to narrow: an int64 column declared `integer`, or float64 declared `float`, is
  refused ("Can not safely convert int64 to int32"), and an int64 column declared `double` is
  converted only when every value is 0 or 1 (the cause of issue 11's 9-of-290 batches). The
  model casts every number to float32 itself, as in training, so the wider type loses nothing.
- category columns are declared `Any`: MLflow refuses a pandas Categorical under every DataType
  (boolean, integer, long, float, double, string, binary, datetime: "Can not safely convert
  category to <U0"), and passes it through only as `AnyType` (values become strings, missing
  stays missing). The model then checks the values against its training levels itself.
- every column is declared optional (`required=False`): a required column missing from the
  input makes MLflow raise "Failed to enforce schema of data '<the whole frame printed>' with
  schema '<every column>'. Error: Model is missing inputs [...]", the column named only at the
  end of some 8,000 characters. Optional columns reach the model's own check, which names every
  missing column on its first line and refuses: all columns are needed.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, DataType, Schema

#: Pinned from the installed versions, so logging does not spend seconds resolving them.
REQUIREMENTS = ("mlflow", "lightgbm", "scikit-learn", "scipy", "pandas", "numpy", "pydantic")


def pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in REQUIREMENTS]


def column_type(dtype: str) -> DataType | AnyType:
    """The MLflow type declared for a feature column the table stores as `dtype` (see the module
    docstring): bool -> boolean, any integer up to 64 bits -> long, any float -> double,
    category -> Any."""
    if dtype == "category":
        return AnyType()
    if dtype in ("bool", "boolean"):
        return DataType.boolean
    kind = pd.api.types.pandas_dtype(dtype)
    if kind.kind == "i" or (kind.kind == "u" and kind.itemsize < 8):
        return DataType.long
    if kind.kind == "f":
        return DataType.double
    raise ValueError(f"no MLflow column type accepts dtype {dtype!r} without altering values")


def input_schema(dtypes: dict[str, str]) -> Schema:
    """Optional columns (see the module docstring), in order, typed by `column_type`."""
    return Schema([ColSpec(column_type(dtype), name, required=False) for name, dtype in dtypes.items()])


def log_code_model(
    code: Path,
    artifacts: dict[str, Path],
    model_config: dict[str, object],
    example_input: pd.DataFrame,
    example_output: pd.DataFrame,
    dtypes: dict[str, str],
    name: str = "model",
):
    """Log a models-from-code pyfunc into the active run; return MLflow's ModelInfo.

    `code` is the family's served.py, `artifacts` the folders of fitted-model files it loads,
    `example_input` a few rows of the feature table as written, `dtypes` its feature columns in
    order with the dtype each had in training (the input signature), `example_output` what the
    model returns for the example (the output signature is inferred from it).
    """
    signature = ModelSignature(input_schema(dtypes), infer_signature(None, example_output).outputs)
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=str(code),
        artifacts={key: str(path) for key, path in artifacts.items()},
        model_config=model_config,
        signature=signature,
        input_example=example_input,
        pip_requirements=pip_requirements(),
    )


def logged_from_code(model_uri: str) -> bool:
    """Whether the model at `model_uri` is a models-from-code pyfunc (reads only its MLmodel).

    Models this project logged before it stopped pickling hold a cloudpickled Python object;
    callers check this first so that such a model is never unpickled.
    """
    flavor = mlflow.models.get_model_info(model_uri).flavors.get("python_function", {})
    return "model_code_path" in flavor


def served_inputs(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a loaded pyfunc's signature names, from `frame`, category columns as plain values
    (what MLflow passes through as `Any`): how a champion is re-scored on a new run's test rows."""
    inputs = frame[model.metadata.get_input_schema().input_names()].copy()
    for column in inputs.columns:
        if isinstance(inputs[column].dtype, pd.CategoricalDtype):
            inputs[column] = inputs[column].astype(object)
    return inputs
