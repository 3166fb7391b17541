"""The registered propensity model: a pyfunc whose `predict` returns P(paid) and the expected amount per horizon.

Consumers load `models:/<name>@champion` and pass rows of the feature table as the features stage
writes them (any slice, no casting; the signature comes from the training table's dtypes,
models/common/pyfunc.py). The output has `p_pay_{h}d` and `expected_paid_{h}d` per horizon;
rows not in arrears (models/propensity/rows.py) get empty values. The model is logged from code:
the scorer as files under `artifacts/scorer/` and this package's `served.py`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from models.common.pyfunc import log_code_model
from models.propensity.scoring import PropensityScorer

CODE = Path(__file__).with_name("served.py")
SCORER = "scorer"


def log_pyfunc(scorer: PropensityScorer, example: pd.DataFrame, name: str = "model"):
    """Log the scorer as files, with signature and input example (the first rows of `example`)."""
    example_input = example[list(scorer.layout.columns)].reset_index(drop=True)
    scorer.check_input(example_input)
    output = scorer.predict(example_input)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / SCORER
        scorer.save(folder)
        return log_code_model(CODE, {SCORER: folder}, {}, example_input, output, dict(scorer.layout.dtypes), name)
