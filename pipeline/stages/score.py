"""The nightly job: `python -m pipeline score --run-date D` from the night's extract to that date's recommendations.

No retraining. Every model comes from the MLflow registry by the alias `champion` (roll-rate, propensity,
uplift), never from a path on disk. The extract (`--input`, the five tables and an optional decision log)
is validated with the `validate` stage's rules, features are built as of the run date, and the
`recommend` stage's code plans, explains and verifies (docs/scoring.md).

Safe to re-run: a lock refuses a second run for the same date while one is going; every output is
written beside its target and renamed into place, so a run killed at any moment leaves the previous good
output whole; the same extract and champions give byte-identical outputs. `--dry-run` validates and
reports without writing anything.

Exit codes: 0 ok; 2 a data error (named table, column, rows); 3 a parameter error; 5 another run for the
date holds the lock; 6 a champion is missing from the registry; 7 the verifier found a violation
(nothing written).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import typer
from mlflow.exceptions import MlflowException

from core.errors import DataError
from core.params import Params, load_params
from core.paths import PARAMS_FILE, PROJECT_ROOT, RAW_DIR
from models.common.drift import drift_table
from models.common.registry import CHAMPION
from models.common.tracking import configure, experiment_id
from pipeline.stages import features, recommend, validate

OUTPUT_DIR = Path("data/scoring")
EXIT_LOCKED = 5
EXIT_NO_CHAMPION = 6
EXIT_VERIFIER = 7
#: MLflow experiment of the scoring runs.
EXPERIMENT = "scoring"
#: The reference population of the drift check: feature rows at least this many days before the run date
#: (the history the champions learnt from, approximately; tonight's population is each account's latest row).
REFERENCE_DAYS = 90


class ScoreError(Exception):
    """A failure of the nightly job with its documented exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def date_lock(output_dir: Path, run_date: dt.date) -> Iterator[Path]:
    """Hold the run date's lock file (created exclusively, removed on exit), or refuse."""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    lock = Path(output_dir) / f".{run_date.isoformat()}.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise ScoreError(
            f"another scoring run for {run_date} holds {lock}; if none is running (a crashed run), delete the file",
            EXIT_LOCKED,
        ) from None
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def champion_uplift(params: Params, into: Path) -> Path:
    """The uplift champion's model files, downloaded from the registry (a clear error when there is none)."""
    configure()
    name = params.uplift.registered_model
    try:
        folder = mlflow.artifacts.download_artifacts(f"models:/{name}@{CHAMPION}", dst_path=str(into))
    except MlflowException as err:
        message = f"no `{CHAMPION}` for registered model {name!r}: train it first ({err})"
        raise ScoreError(message, EXIT_NO_CHAMPION) from None
    found = list(Path(folder).rglob("uplift.json"))
    if not found:
        raise ScoreError(f"the {name!r} champion holds no uplift.json model files", EXIT_NO_CHAMPION)
    return found[0].parent


def require_champions(params: Params) -> None:
    """Refuse early when the roll-rate or propensity champion is missing (their scores are in every row)."""
    client = configure()
    for name in (params.roll_rate.registered_model, params.propensity.registered_model):
        try:
            client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            raise ScoreError(
                f"no `{CHAMPION}` for registered model {name!r}: train it first", EXIT_NO_CHAMPION
            ) from None


def run(
    params: Params,
    run_date: dt.date,
    input_dir: Path = RAW_DIR,
    output_dir: Path = OUTPUT_DIR,
    dry_run: bool = False,
    gx_root: Path = PROJECT_ROOT,
) -> dict[str, object]:
    """Validate, build features, score and recommend for `run_date`; write `output_dir/<date>.*` unless `dry_run`."""
    params = params.model_copy(
        update={"strategy": params.strategy.model_copy(update={"run_date": run_date}), "run_date": run_date}
    )
    output_dir = Path(output_dir)
    with tempfile.TemporaryDirectory(prefix="dunning-score-") as tmp_name:
        tmp = Path(tmp_name)
        if not dry_run:
            require_champions(params)
        checked = validate.run(
            params,
            raw_dir=Path(input_dir),
            validated_dir=tmp / "validated",
            quarantine_dir=tmp / "quarantine",
            metrics_file=tmp / "validation.json",
            report_dir=tmp / "report",
            gx_root=gx_root,
        )
        if dry_run:
            return {"run_date": run_date.isoformat(), "dry_run": True, "validation": checked}
        with date_lock(output_dir, run_date):
            uplift_dir = champion_uplift(params, tmp / "uplift")
            features.run(params, tmp / "validated", tmp / "processed", tmp / "features.json")
            table = pd.read_parquet(tmp / "processed" / "features.parquet")
            latest = recommend.latest_rows(table, run_date)
            try:
                metrics, _ = recommend.run(
                    params,
                    in_dir=tmp / "validated",
                    features_file=tmp / "processed" / "features.parquet",
                    uplift_dir=uplift_dir,
                    strategy_dir=tmp / "strategy",
                    out_dir=output_dir,
                    metrics_file=output_dir / f"{run_date.isoformat()}.json",
                    latest=latest,
                )
            except DataError as err:
                if err.rule == "verifier":
                    raise ScoreError(str(err), EXIT_VERIFIER) from None
                raise
            drift = drift_report(table, latest, run_date)
    log_scoring_run(run_date, checked, metrics, drift)
    return {
        "run_date": run_date.isoformat(),
        "dry_run": False,
        "validation": checked,
        "recommend": metrics,
        "drift": drift,
    }


def drift_report(features: pd.DataFrame, latest: pd.DataFrame, run_date: dt.date) -> pd.DataFrame:
    """PSI of every feature: tonight's population (`latest`, each account's latest row before the run date)
    against the rows at least REFERENCE_DAYS older (models/common/drift.py; 0.10 watch, 0.25 act)."""
    reference = features[
        pd.to_datetime(features["as_of_date"]) < pd.Timestamp(run_date) - pd.Timedelta(days=REFERENCE_DAYS)
    ]
    columns = [c for c in features.columns if c not in ("account_id", "as_of_date")]
    if reference.empty or latest.empty:
        return pd.DataFrame({"column": columns, "psi": np.nan, "level": "missing"})
    return drift_table(reference, latest, columns)


def log_scoring_run(run_date: dt.date, checked: dict, metrics: dict, drift: pd.DataFrame) -> None:
    """One MLflow run (experiment `scoring`): counts, actions, expected value, PSI per feature, flags as tags."""
    configure()
    flagged = {k: drift.loc[drift["level"] == k, "column"].tolist() for k in ("watch", "act")}
    with mlflow.start_run(experiment_id=experiment_id(EXPERIMENT), run_name=f"score {run_date}"):
        mlflow.log_param("run_date", run_date.isoformat())
        figures = {
            "rows_in": float(checked.get("rows_in", 0)),
            "rows_quarantined": float(checked.get("rows_quarantined", 0)),
            "accounts": float(metrics["accounts"]),
            "contacts": float(metrics["contacts"]),
            "expected_net_value": float(metrics["expected_net_value"]),
            **{f"action.{k}": float(v) for k, v in metrics["actions"].items()},
            **{f"psi.{r.column}": float(r.psi) for r in drift.itertuples() if np.isfinite(r.psi)},
        }
        mlflow.log_metrics(figures)
        mlflow.set_tags({f"drift.{k}": ",".join(v) or "none" for k, v in flagged.items()})
        mlflow.log_text(drift.to_csv(index=False), "drift.csv")


def command(
    run_date: str = typer.Option(
        ..., "--run-date", help="The date to plan (YYYY-MM-DD), in the borrowers' local time."
    ),
    input_dir: Path = typer.Option(RAW_DIR, "--input", help="The night's extract: the tables (parquet or CSV)."),
    output_dir: Path = typer.Option(OUTPUT_DIR, "--output", help="Where <date>.parquet, .csv and .json go."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing."),
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file."),
) -> None:
    """Score tonight's extract with the champion models and write the run date's recommendations."""
    try:
        day = dt.date.fromisoformat(run_date)
    except ValueError:
        typer.echo(f"--run-date {run_date!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(3) from None
    try:
        out = run(load_params(params_file), day, input_dir, output_dir, dry_run)
    except ScoreError as err:
        typer.echo(f"score {day}: {err}", err=True)
        raise typer.Exit(err.code) from None
    checked = out["validation"]
    typer.echo(f"score {day}: validated, {checked.get('rows_quarantined', 0)} rows quarantined")
    if not dry_run:
        m = out["recommend"]
        typer.echo(f"  {m['accounts']:,} accounts, {m['contacts']:,} contacts, 0 violations -> {output_dir}")
        drift = out["drift"]
        for kind in ("act", "watch"):
            named = drift.loc[drift["level"] == kind, "column"].tolist()
            if named:
                typer.echo(f"  drift ({kind}, PSI {'>= 0.25' if kind == 'act' else '0.10-0.25'}): {', '.join(named)}")
