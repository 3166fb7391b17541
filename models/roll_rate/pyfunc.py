"""The registered roll-rate model: a pyfunc whose `predict` returns next-bucket probabilities.

Consumers (the strategy stage, a notebook, a serving endpoint) load it with
`mlflow.pyfunc.load_model("models:/<name>@champion")` and get a DataFrame with one column per
bucket name, rows summing to 1, without knowing about LightGBM, calibration or per-bucket
sub-models. Inputs are rows of the feature table as the features stage writes them
(`pd.read_parquet("data/processed/features.parquet")`, or any slice of it), with no casting: the
signature is derived from the training table's dtypes (models/common/pyfunc.py says how), and
the model refuses, naming column and rows, what it cannot score (models/roll_rate/served.py).
Extra columns (the keys) are ignored. The model is logged from code (models/common/pyfunc.py): the
scorer as files under `artifacts/scorer/` (scorer.json and LightGBM text boosters) and
`served.py` of this package.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from models.common.pyfunc import log_code_model
from models.roll_rate.model import RollRateModel

#: The models-from-code file MLflow stores and runs at load time (not imported here: running it
#: registers its model with `mlflow.models.set_model`).
CODE = Path(__file__).with_name("served.py")
#: `artifacts` key of the scorer folder and `model_config` key of the output column names.
SCORER = "scorer"
BUCKET_NAMES = "bucket_names"


def log_pyfunc(model: RollRateModel, bucket_names: tuple[str, ...], example: pd.DataFrame, name: str = "model"):
    """Log the fitted model's scorer as files, with signature and input example (the first rows of
    `example`, as the feature table holds them), into the active run."""
    names = [str(n) for n in bucket_names]
    if len(names) != model.n_buckets:
        raise ValueError(f"{len(names)} bucket names for a {model.n_buckets}-bucket model")
    layout = model.layout_
    example_input = example[list(layout.columns)].reset_index(drop=True)  # as the feature table holds them
    model.scorer_.check_input(example_input)
    output = pd.DataFrame(model.predict_proba(example_input), columns=names)
    with tempfile.TemporaryDirectory() as tmp:
        scorer_dir = Path(tmp) / SCORER
        model.scorer_.save(scorer_dir)
        return log_code_model(
            CODE, {SCORER: scorer_dir}, {BUCKET_NAMES: names}, example_input, output, dict(layout.dtypes), name
        )
