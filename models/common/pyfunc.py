"""The registered model: an MLflow pyfunc whose `predict` returns next-bucket probabilities.

Consumers (the strategy stage, a notebook, a serving endpoint) load it with
`mlflow.pyfunc.load_model("models:/<name>@champion")` and get a DataFrame with one column per
bucket name, rows summing to 1, without knowing about LightGBM, calibration or per-bucket
sub-models. Inputs are the feature columns with categories as plain strings (as in the logged
signature and input example).

No pickles: the model is logged "from code" (`models/served.py`, copied into the model folder)
with the fitted scorer as plain files, so the folder reads

    model/MLmodel                  flavor, signature, model_config: {"bucket_names": [...]}
    model/served.py                the PythonModel; its load_context rebuilds the scorer
    model/artifacts/scorer/        scorer.json (layout, sub-models, calibration, charge-off rule)
                                   booster_multiclass.txt | booster_source_<code>.txt (LightGBM text)
    model/input_example.json, serving_input_example.json, requirements.txt, python_env.yaml, conda.yaml

Loading executes `served.py` (the project's own code) and parses JSON and LightGBM text; it
deserialises no Python objects, and the files stay readable across library versions.
"""
from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from models.roll_rate import RollRateModel

#: Pinned from the installed versions, so logging does not spend seconds resolving them.
REQUIREMENTS = ("mlflow", "lightgbm", "scikit-learn", "scipy", "pandas", "numpy", "pydantic")
#: The models-from-code file MLflow stores and runs at load time (not imported here: running it
#: registers its model with `mlflow.models.set_model`).
CODE = Path(__file__).with_name("served.py")
#: `artifacts` key of the scorer folder and `model_config` key of the output column names.
SCORER = "scorer"
BUCKET_NAMES = "bucket_names"


def pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in REQUIREMENTS]


def log_pyfunc(model: RollRateModel, bucket_names: tuple[str, ...], example: pd.DataFrame,
               name: str = "model"):
    """Log the fitted model's scorer as files, with signature and input example, into the active run."""
    names = [str(n) for n in bucket_names]
    if len(names) != model.n_buckets:
        raise ValueError(f"{len(names)} bucket names for a {model.n_buckets}-bucket model")
    example_input = model.layout_.example_input(example).reset_index(drop=True)
    output = pd.DataFrame(model.predict_proba(example_input), columns=names)
    signature = infer_signature(example_input, output)
    with tempfile.TemporaryDirectory() as tmp:
        scorer_dir = Path(tmp) / SCORER
        model.scorer_.save(scorer_dir)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(CODE),
            artifacts={SCORER: str(scorer_dir)},
            model_config={BUCKET_NAMES: names},
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
