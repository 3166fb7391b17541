"""DVC stage `propensity`: calibrated propensity-to-pay models vs two baselines, out of time, tracked in MLflow.

Reads data/processed (features.parquet; labels.parquet's propensity labels, `features.ptp_horizons_days`),
writes data/metrics/propensity.json, the plot data under data/plots/propensity/ (calibration/ and
lift/, one CSV per horizon and model) and the registration record data/models/propensity.json, logs
one MLflow run (experiment `propensity.experiment`) and registers the model
(`propensity.registered_model`) as a challenger, the champion re-scored on the same test rows
(models/common/registry.py); the `promote` stage decides whether `champion` moves.

All or nothing (docs/development.md): everything is computed, and the run logged and registered,
before any output is touched; then the plot folder is swapped in whole and the two JSON files are
renamed over theirs, under one `lifecycle.publishing` guard. A failure before that leaves every
previous output as it was.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import pyarrow.parquet as pq
import typer

from core.contracts import FEATURE_KEYS, paid_amount_label, paid_label
from core.errors import DataError
from core.io import atomic_path, json_text
from core.params import Params, load_params
from core.paths import METRICS_DIR, MODELS_DIR, PARAMS_FILE, PLOTS_DIR, PROCESSED_DIR
from models.common.dataset import read_frame
from models.common.registry import track as track_and_register
from models.propensity.family import PropensityFamily
from models.propensity.train import PropensityResult, train_propensity
from validation.publish import staged_dirs

METRICS_FILE = METRICS_DIR / "propensity.json"
PLOTS = PLOTS_DIR / "propensity"
REGISTRATION_FILE = MODELS_DIR / "propensity.json"


def write_plot_data(result: PropensityResult, folder: Path) -> list[Path]:
    """CSV series for `dvc plots`: calibration/<label>_<model>.csv (x predicted, y observed) and
    lift/<label>_<model>.csv (x decile, y lift)."""
    written = []
    for kind, table, columns in (
        ("calibration", result.calibration, ["bin", "rows", "predicted", "observed"]),
        ("lift", result.lift, ["decile", "rows", "predicted", "observed", "lift", "cumulative_capture"]),
    ):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for (label, model), part in table.groupby(["bucket", "model"], sort=False):
            path = folder / kind / f"{label}_{model}.csv"
            part[columns].to_csv(path, index=False, float_format="%.6g")
            written.append(path)
    return written


def run(
    params: Params,
    processed_dir: Path = PROCESSED_DIR,
    metrics_file: Path = METRICS_FILE,
    plots_dir: Path = PLOTS,
    track: bool = True,
    registration_file: Path = REGISTRATION_FILE,
) -> dict[str, object]:
    """Train, evaluate; with `track`, log to MLflow and register; then publish every output at once."""
    processed_dir = Path(processed_dir)
    horizons = tuple(params.features.ptp_horizons_days)
    targets = [c for d in horizons for c in (paid_label(d), paid_amount_label(d))]
    present = pq.read_schema(processed_dir / "labels.parquet").names
    missing = [c for c in (*FEATURE_KEYS, *targets) if c not in present]
    if missing:  # labels built for other horizons (features.ptp_horizons_days) or by an older features stage
        raise DataError("labels", "required_columns", f"missing column(s) {missing}", column=missing[0])
    features = read_frame(processed_dir / "features.parquet")
    labels = read_frame(processed_dir / "labels.parquet", [*FEATURE_KEYS, *targets])
    result = train_propensity(
        features, labels, params.propensity, params.buckets.as_buckets(), horizons, params.seeds.training
    )
    summary: dict[str, object] = {"metrics": result.metrics, "result": result}
    if track:
        inputs = {"features": processed_dir / "features.parquet", "labels": processed_dir / "labels.parquet"}
        # a run that DVC left behind registers nothing (core/lifecycle.py)
        summary["registration"] = track_and_register(PropensityFamily(result, params), inputs, result.timings)
    record = asdict(summary["registration"]) if track else {"tracked": False}
    Path(plots_dir).parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        # exits in reverse order: the JSON files are renamed, then the plot folder is swapped in
        (plots_stage,) = stack.enter_context(staged_dirs([Path(plots_dir)]))
        write_plot_data(result, plots_stage)
        for payload, target in ((record, registration_file), (result.metrics, metrics_file)):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(atomic_path(Path(target))).write_text(json_text(payload))
    return summary


def command(
    params_file: Path = typer.Option(
        PARAMS_FILE, help="Parameters file (`propensity`, `features`, `buckets`, `seeds`)."
    ),
    processed_dir: Path = typer.Option(PROCESSED_DIR, help="Directory with features.parquet and labels.parquet."),
    metrics_file: Path = typer.Option(METRICS_FILE, help="Metrics JSON (models vs baselines on the test window)."),
    plots_dir: Path = typer.Option(PLOTS, help="Directory for the plot data (CSV) read by `dvc plots`."),
    track: bool = typer.Option(True, help="Log the run to MLflow and register the model."),
    registration_file: Path = typer.Option(
        REGISTRATION_FILE, help="Registration record (JSON): run, model URI, version, scores (read by `promote`)."
    ),
) -> None:
    """Train the propensity-to-pay models against a logistic and a plain LightGBM baseline, out of time."""
    params = load_params(params_file)
    summary = run(params, processed_dir, metrics_file, plots_dir, track, registration_file)
    m = summary["metrics"]
    for d in params.features.ptp_horizons_days:
        h = m[f"{d}d"]
        typer.echo(
            f"P(paid within {d}d) on the test window: AUC {h['model']['auc']:.3f} vs baseline "
            f"{h['baseline']['auc']:.3f} (plain LightGBM {h['plain_lgbm']['auc']:.3f}); Brier "
            f"{h['model']['brier']:.4f} vs {h['baseline']['brier']:.4f}; "
            f"top-decile lift {h['model']['lift_top_decile']:.2f}"
        )
    reg = summary.get("registration")
    if reg is not None:
        typer.echo(reg.verdict())
