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
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature

#: Pinned from the installed versions, so logging does not spend seconds resolving them.
REQUIREMENTS = ("mlflow", "lightgbm", "scikit-learn", "scipy", "pandas", "numpy", "pydantic")


def pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in REQUIREMENTS]


def log_code_model(
    code: Path,
    artifacts: dict[str, Path],
    model_config: dict[str, object],
    example_input: pd.DataFrame,
    example_output: pd.DataFrame,
    name: str = "model",
):
    """Log a models-from-code pyfunc into the active run; return MLflow's ModelInfo.

    `code` is the family's served.py, `artifacts` the folders of fitted-model files it loads,
    `example_input` a few rows exactly as consumers pass them (the signature is inferred from it
    and from `example_output`).
    """
    signature = infer_signature(example_input, example_output)
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
