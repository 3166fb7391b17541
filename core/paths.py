"""One place that knows where things live, resolved from the project root.

Stages and tests take paths from here (or from arguments defaulting to these) so that
nobody builds paths from the current working directory by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("DUNNING_ROOT", Path(__file__).resolve().parents[1]))

PARAMS_FILE = PROJECT_ROOT / "params.yaml"
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
VALIDATED_DIR = DATA_DIR / "validated"
QUARANTINE_DIR = DATA_DIR / "quarantine"
INTERIM_DIR = DATA_DIR / "interim"
PROCESSED_DIR = DATA_DIR / "processed"
METRICS_DIR = DATA_DIR / "metrics"
PLOTS_DIR = DATA_DIR / "plots"
REPORTS_DIR = DATA_DIR / "reports"
MODELS_DIR = DATA_DIR / "models"
SHARED_DIR = PROJECT_ROOT.parent / "shared"
UCI_CREDIT_DEFAULT_CSV = SHARED_DIR / "data" / "uci-credit-default" / "UCI_Credit_Card.csv"
MLFLOW_DB = PROJECT_ROOT / "mlflow.db"
MLFLOW_ARTIFACTS = PROJECT_ROOT / "mlartifacts"
