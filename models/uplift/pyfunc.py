"""The registered uplift model: a pyfunc logged from code (served.py) with the model as plain files."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DataError
from core.params import Params
from models.common.pyfunc import log_code_model
from models.uplift.arms import arms
from models.uplift.learners import UpliftModel
from models.uplift.reminders import ReminderModel
from models.uplift.rows import FEATURES
from models.uplift.store import save

CODE = Path(__file__).with_name("served.py")
MODEL = "uplift"


def predict_frame(model: UpliftModel, costs: np.ndarray, params: Params, frame: pd.DataFrame) -> pd.DataFrame:
    """expected_<arm>, effect_<arm>, net_<arm> and p_paid_<arm> per row (empty for arms the log does not support)."""
    missing = [c for c in FEATURES if c not in frame.columns]
    if missing:
        raise DataError("uplift input", "required_columns", f"missing column(s) {missing}", column=missing[0])
    X = frame[list(FEATURES)].astype(np.float64)
    mu, paid = model.predict(X), model.predict_paid(X)
    out = {}
    for i, a in enumerate(arms(params.uplift)):
        out[f"expected_{a.name}"] = mu[:, i]
        out[f"effect_{a.name}"] = mu[:, i] - mu[:, 0]
        out[f"net_{a.name}"] = mu[:, i] - mu[:, 0] - costs[i]
        out[f"p_paid_{a.name}"] = paid[:, i]
    return pd.DataFrame(out, index=frame.index)


def log_pyfunc(
    model: UpliftModel,
    costs: np.ndarray,
    params: Params,
    example: pd.DataFrame,
    name: str = "model",
    facts: dict[str, object] | None = None,
    reminders: ReminderModel | None = None,
):
    """Log the model as files, with signature and input example (the first rows of `example`); `facts`: the
    decision log's facts the strategy reads with the model (models/uplift/store.save), so that the nightly
    job, which has the registered model only, need not measure them on the log again; `reminders`: the
    per-borrower reminder model, saved beside (models/uplift/store.py)."""
    example_input = example[list(FEATURES)].astype(np.float64).reset_index(drop=True)
    output = predict_frame(model, costs, params, example_input)
    dtypes = dict.fromkeys(FEATURES, "float64")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / MODEL
        save(model, costs, params, folder, facts, reminders)
        return log_code_model(CODE, {MODEL: folder}, {}, example_input, output, dtypes, name)
