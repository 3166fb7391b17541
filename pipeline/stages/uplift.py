"""DVC stage `uplift`: contact-response (uplift) learners on the decision log, out of time, tracked in MLflow.

Reads the validated tables (data/validated: decisions, accounts, statements, payments, contacts),
writes data/metrics/uplift.json (learner chosen, validation Qini per learner, test Qini per arm with
bootstrap intervals), the Qini curves data/plots/uplift/qini/<arm>.csv, the model files the greedy
policy loads (data/models/uplift/: LightGBM text and uplift.json) and the registration record
data/models/uplift.json; logs one MLflow run (experiment `uplift.experiment`) and registers the model
(`uplift.registered_model`) as a challenger; the `promote` stage decides whether `champion` moves.

All or nothing, as the propensity stage: everything is computed (and the run logged) before any
output is touched, then the folders are swapped in whole and the JSON files renamed.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import typer

from core.errors import DataError
from core.io import atomic_path, json_text, read_tables
from core.params import Params, load_params
from core.paths import METRICS_DIR, MODELS_DIR, PARAMS_FILE, PLOTS_DIR, VALIDATED_DIR
from models.common.registry import track as track_and_register
from models.uplift.family import UpliftFamily, metrics, qini_table
from models.uplift.reminders import learn_from_log
from models.uplift.rows import decision_rows
from models.uplift.store import save
from models.uplift.train import train_uplift
from validation.publish import staged_dirs

METRICS_FILE = METRICS_DIR / "uplift.json"
PLOTS = PLOTS_DIR / "uplift"
MODEL_DIR = MODELS_DIR / "uplift"
REGISTRATION_FILE = MODELS_DIR / "uplift.json"


def run(
    params: Params,
    in_dir: Path = VALIDATED_DIR,
    metrics_file: Path = METRICS_FILE,
    plots_dir: Path = PLOTS,
    model_dir: Path = MODEL_DIR,
    track: bool = True,
    registration_file: Path = REGISTRATION_FILE,
) -> dict[str, object]:
    """Train, evaluate; with `track`, log to MLflow and register; then publish every output at once."""
    tables = read_tables(Path(in_dir))
    if tables["decisions"].empty:
        raise DataError("decisions", "not_empty", "the uplift stage needs a decision log (docs/schema.md)")
    rows = decision_rows(tables, params)
    result = train_uplift(rows, tables["contacts"], params)
    # the strategy's facts and per-borrower reminder model, learnt once here (models/uplift/reminders.py)
    facts, reminders = learn_from_log(rows, tables, params)
    summary: dict[str, object] = {"metrics": metrics(result), "result": result}
    if track:
        inputs = {name: Path(in_dir) / f"{name}.parquet" for name in ("decisions", "payments", "contacts")}
        summary["registration"] = track_and_register(UpliftFamily(result, params, facts, reminders), inputs)
    record = asdict(summary["registration"]) if track else {"tracked": False}
    for folder in (Path(plots_dir), Path(model_dir)):
        folder.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        plots_stage, model_stage = stack.enter_context(staged_dirs([Path(plots_dir), Path(model_dir)]))
        (plots_stage / "qini").mkdir(parents=True, exist_ok=True)
        for arm, part in qini_table(result).groupby("arm", sort=False):
            part[["targeted", "qini", "random"]].to_csv(
                plots_stage / "qini" / f"{arm}.csv", index=False, float_format="%.6g"
            )
        save(result.model, result.costs, params, model_stage, facts, reminders)
        for payload, target in ((record, registration_file), (summary["metrics"], metrics_file)):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(atomic_path(Path(target))).write_text(json_text(payload))
    return summary


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file (`uplift`, `contact`, `buckets`, `seeds`)."),
    in_dir: Path = typer.Option(VALIDATED_DIR, help="Directory with the validated tables (decisions included)."),
    metrics_file: Path = typer.Option(METRICS_FILE, help="Metrics JSON (Qini per arm on the test window)."),
    plots_dir: Path = typer.Option(PLOTS, help="Directory for the Qini curves (CSV) read by `dvc plots`."),
    model_dir: Path = typer.Option(MODEL_DIR, help="Folder of the model files the greedy policy loads."),
    track: bool = typer.Option(True, help="Log the run to MLflow and register the model."),
    registration_file: Path = typer.Option(REGISTRATION_FILE, help="Registration record (JSON)."),
) -> None:
    """Train the contact-response (uplift) learners on the decision log and score their Qini out of time."""
    params = load_params(params_file)
    summary = run(params, in_dir, metrics_file, plots_dir, model_dir, track, registration_file)
    m = summary["metrics"]
    typer.echo(f"uplift: learner {m['learner']} (validation mean Qini {m['validation']})")
    for key, label, digits in (
        ("qini", "", 3),
        ("qini_channel", " (its bands pooled)", 3),
        ("qini_channel_dr", " (doubly robust)", 3),
        ("qini_channel_dr_paid", " (doubly robust, on whether anything was paid)", 4),
    ):
        for name, q in m[key].items():
            low, coefficient, high = (f"{q[k]:+.{digits}f}" for k in ("low", "coefficient", "high"))
            typer.echo(f"  Qini {name}{label}: {coefficient} [{low}, {high}]")
    reg = summary.get("registration")
    if reg is not None:
        typer.echo(reg.verdict())
