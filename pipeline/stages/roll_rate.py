"""DVC stage `roll_rate`: Markov baseline vs calibrated LightGBM, out of time, tracked in MLflow.

Reads data/processed (features.parquet, labels.parquet), writes data/metrics/roll_rate.json,
the plot data under data/plots/roll_rate/ and the registration record data/models/roll_rate.json
(run id, model URI, version, its test score and the champion's on the same window: the DVC output
that stands for the model, so that a clone without it retrains and registers instead of skipping the
stage), logs one MLflow run (experiment `roll_rate.experiment`) and registers the model
(`roll_rate.registered_model`) as a challenger: the current champion is re-scored on this run's test
window here (the run, the model and the comparison belong together); the `promote` stage decides
whether the alias `champion` moves (pipeline/stages/promote.py).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd
import typer

from core.contracts import FEATURE_KEYS, NEXT_BUCKET
from core.io import atomic_path, write_json
from core.params import Params, load_params
from core.paths import METRICS_DIR, MODELS_DIR, PARAMS_FILE, PLOTS_DIR, PROCESSED_DIR
from models.common.dataset import read_frame
from models.common.registry import track as track_and_register
from models.roll_rate.evaluation import ALL
from models.roll_rate.family import RollRateFamily
from models.roll_rate.train import RollRateResult, train_roll_rate

METRICS_FILE = METRICS_DIR / "roll_rate.json"
PLOTS = PLOTS_DIR / "roll_rate"
REGISTRATION_FILE = MODELS_DIR / "roll_rate.json"


def _write_csv(frame: pd.DataFrame, target: Path) -> None:
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def write_plot_data(result: RollRateResult, plots_dir: Path) -> list[Path]:
    """CSV series for `dvc plots`: pooled ROC and calibration per model, transitions, forecast."""
    written = []
    for name in result.predictions:
        roc = result.roc[(result.roc["bucket"] == ALL) & (result.roc["model"] == name)]
        cal = result.calibration[(result.calibration["bucket"] == ALL) & (result.calibration["model"] == name)]
        for stem, table in (
            (f"roc_{name}", roc[["fpr", "tpr"]]),
            (f"calibration_{name}", cal[["bin", "rows", "predicted", "observed"]]),
        ):
            _write_csv(table, plots_dir / f"{stem}.csv")
            written.append(plots_dir / f"{stem}.csv")
    transitions = result.transitions.assign(transition=lambda t: t["from"] + " -> " + t["to"])
    _write_csv(transitions[transitions["rows"] > 0], plots_dir / "transitions.csv")
    _write_csv(result.forecast, plots_dir / "forecast.csv")
    return [*written, plots_dir / "transitions.csv", plots_dir / "forecast.csv"]


def run(
    params: Params,
    processed_dir: Path = PROCESSED_DIR,
    metrics_file: Path = METRICS_FILE,
    plots_dir: Path = PLOTS,
    track: bool = True,
    registration_file: Path = REGISTRATION_FILE,
) -> dict[str, object]:
    """Train, evaluate, write metrics and plot data; with `track`, log to MLflow, register, and
    record the registration (without it, the record says the run was not tracked)."""
    processed_dir = Path(processed_dir)
    # the labels' keys and the roll-rate target only; both read without a second copy in memory
    features = read_frame(processed_dir / "features.parquet")
    labels = read_frame(processed_dir / "labels.parquet", [*FEATURE_KEYS, NEXT_BUCKET])
    catalogue_file = processed_dir / "feature_catalogue.md"
    catalogue_markdown = catalogue_file.read_text(encoding="utf-8") if catalogue_file.exists() else None
    result = train_roll_rate(features, labels, params.roll_rate, params.buckets.as_buckets(), params.seeds.training)
    write_plot_data(result, Path(plots_dir))
    summary: dict[str, object] = {"metrics": result.metrics}
    if track:
        # tagged with the md5 that dvc.lock records for each input file
        inputs = {"features": processed_dir / "features.parquet", "labels": processed_dir / "labels.parquet"}
        # a run that DVC left behind registers nothing (core/lifecycle.py)
        summary["registration"] = track_and_register(
            RollRateFamily(result, params, catalogue_markdown), inputs, result.timings
        )
    record = asdict(summary["registration"]) if track else {"tracked": False}
    write_json(record, Path(registration_file))
    write_json(result.metrics, Path(metrics_file))  # last: a failed run leaves the previous metrics
    return summary


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file (sections `roll_rate`, `buckets`, `seeds`)."),
    processed_dir: Path = typer.Option(PROCESSED_DIR, help="Directory with features.parquet and labels.parquet."),
    metrics_file: Path = typer.Option(METRICS_FILE, help="Metrics JSON (model vs baseline on the test window)."),
    plots_dir: Path = typer.Option(PLOTS, help="Directory for the plot data (CSV) read by `dvc plots`."),
    track: bool = typer.Option(True, help="Log the run to MLflow and register the model."),
    registration_file: Path = typer.Option(
        REGISTRATION_FILE, help="Registration record (JSON): run, model URI, version, scores (read by `promote`)."
    ),
) -> None:
    """Train the roll-rate model against the Markov baseline, out of time; track and register it."""
    summary = run(load_params(params_file), processed_dir, metrics_file, plots_dir, track, registration_file)
    m = summary["metrics"]
    typer.echo(
        f"roll-rate test log loss: model {m['model']['logloss']:.4f} vs baseline "
        f"{m['baseline']['logloss']:.4f} ({m['logloss_reduction']:.1%} lower), roll-forward AUC "
        f"{m['model']['roll_forward_auc']:.3f}; {m['training']['model_form']}, {m['training']['calibration']}"
    )
    reg = summary.get("registration")
    if reg is not None:
        typer.echo(reg.verdict())
