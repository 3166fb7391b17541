"""The nightly job: `python -m pipeline score --run-date D` from the night's extract to that date's recommendations.

No retraining. Every model comes from the MLflow registry by the alias `champion` (roll-rate, propensity,
uplift), never from a path on disk. The extract (`--input`, the five tables and an optional decision log)
is validated with the `validate` stage's rules, features are built as of the run date, and the
`recommend` stage's code plans, explains and verifies (docs/scoring.md).

Safe to re-run: a lock refuses a second run for the same date while one is going; every output is
written beside its target and renamed into place, so a run killed at any moment leaves the previous good
output whole; the same extract and champions give byte-identical outputs. `--dry-run` validates and
reports without writing anything.

Monitoring: each run is an MLflow run (experiment `scoring`) with the counts and the population stability
index (PSI) of every champion score and model feature against the champions' training population, the
reference profile each training run logged (models/common/drift.py); a champion logged before profiles
existed falls back to the extract's own older rows, and the run says so. PSI at params `scoring.psi_watch`
/ `psi_act` is flagged; with `scoring.block_on_drift` a column at `act` stops the run (exit code 8).

Exit codes: 0 ok; 2 a data error (named table, column, rows); 3 a parameter error; 5 another run for the
date holds the lock; 6 a champion is missing from the registry; 7 the verifier found a violation
(nothing written); 8 a drift alarm configured to block (nothing written, the MLflow run logged).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from shutil import copyfile

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import typer
from mlflow.exceptions import MlflowException

from core.errors import DataError
from core.io import atomic_path, write_json
from core.params import Params, load_params
from core.partitions import PartitionedBook
from core.paths import PARAMS_FILE, PROJECT_ROOT, RAW_DIR
from features.build import build_latest
from models.common.drift import DRIFT_COLUMNS, REFERENCE_FILE, drift_table, psi_from_profile, read_reference
from models.common.registry import CHAMPION
from models.common.tracking import configure, experiment_id, run_name, run_tags
from models.propensity.rows import in_arrears
from pipeline import nightly
from pipeline.stages import recommend
from strategy.output import SCORES
from validation.partitioned import validate_book

OUTPUT_DIR = Path("data/scoring")
EXIT_LOCKED = 5
EXIT_NO_CHAMPION = 6
EXIT_VERIFIER = 7
EXIT_DRIFT = 8
#: MLflow experiment of the scoring runs.
EXPERIMENT = "scoring"
#: The fallback reference of the drift check, for a champion that logged no reference profile: feature rows
#: at least this many days before the run date (the history the champions learnt from, approximately).
REFERENCE_DAYS = 90
#: The model families whose champions' training populations are the drift check's reference, in the order
#: their profiles claim a feature (a feature both models use is compared with the roll-rate population).
FAMILIES = ("roll_rate", "propensity")


class Reference:
    """A champion's reference profile (`drift.reference`), or None with the reason, and where it came from."""

    def __init__(self, family: str, name: str, version: str, run_id: str | None, document: dict | None, why: str):
        self.family, self.name, self.version, self.run_id = family, name, version, run_id
        self.document, self.why = document, why

    def describe(self) -> str:
        if self.document is not None:
            return f"training profile of {self.name} version {self.version} (run {self.run_id})"
        return f"extract rows >= {REFERENCE_DAYS} days old: {self.name} version {self.version} {self.why}"


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


def champion_references(params: Params, into: Path) -> dict[str, Reference]:
    """Each family's champion's reference profile, downloaded from the champion version's run artifacts
    (`drift.REFERENCE_FILE`); a version logged before profiles existed has none (the reason says so)."""
    client = configure()
    out: dict[str, Reference] = {}
    for family in FAMILIES:
        name = getattr(params, family).registered_model
        version = client.get_model_version_by_alias(name, CHAMPION)
        run_id = version.run_id
        document, why = None, ""
        if not run_id:
            why = "has no run"
        else:
            try:
                path = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=REFERENCE_FILE, dst_path=str(Path(into) / family)
                )
                document = read_reference(Path(path).read_text())
            except (MlflowException, OSError):
                why = f"logged no {REFERENCE_FILE} (trained before reference profiles)"
            except ValueError as err:
                why = f"holds an unreadable {REFERENCE_FILE} ({err})"
        out[family] = Reference(family, name, str(version.version), run_id, document, why)
    return out


def run(
    params: Params,
    run_date: dt.date,
    input_dir: Path = RAW_DIR,
    output_dir: Path = OUTPUT_DIR,
    dry_run: bool = False,
    gx_root: Path = PROJECT_ROOT,
    plan_book=None,  # SPARK: the engine mapping plan_partition over the partitions (default nightly.plan_book)
) -> dict[str, object]:
    """Validate, build features, score and recommend for `run_date`; write `output_dir/<date>.*` unless `dry_run`.

    `plan_book`: what maps the nightly plan over the book's partitions, with `nightly.plan_book`'s signature
    and outputs (pipeline/spark/score.py runs it on Spark)."""
    params = params.model_copy(
        update={"strategy": params.strategy.model_copy(update={"run_date": run_date}), "run_date": run_date}
    )
    output_dir = Path(output_dir)
    with tempfile.TemporaryDirectory(prefix="dunning-score-") as tmp_name:
        tmp = Path(tmp_name)
        if not dry_run:
            require_champions(params)
        checked = validate_book(
            Path(input_dir),
            params.validate_,
            gx_root,
            run_date,
            params.scoring.partition_accounts,
            validated_dir=tmp / "validated",
            quarantine_dir=tmp / "quarantine",
            workers=params.scoring.workers,
        )
        if dry_run:
            return {"run_date": run_date.isoformat(), "dry_run": True, "validation": checked}
        with date_lock(output_dir, run_date):
            uplift_dir = champion_uplift(params, tmp / "uplift")
            references = champion_references(params, tmp / "references")
            night = nightly.prepare(params, tmp / "validated", uplift_dir, run_date, recommend.load_champions(params))
            staged = tmp / "outputs"  # published into output_dir only once the drift check lets it
            staged.mkdir()
            size = params.scoring.partition_accounts
            try:
                planner = plan_book or functools.partial(nightly.plan_book, workers=params.scoring.workers)
                planner(night, tmp / "validated", tmp / "draft.parquet", tmp / "latest.parquet", size)
            except DataError as err:
                if err.rule == "verifier":
                    raise ScoreError(str(err), EXIT_VERIFIER) from None
                raise
            nightly.finish(tmp / "draft.parquet", staged, run_date)
            recs = nightly.summary_frame(staged / f"{run_date.isoformat()}.parquet")
            metrics = recommend.summary(recs, run_date, night.model, night.versions())
            write_json(metrics, staged / f"{run_date.isoformat()}.json")
            profiled = all(r.document is not None for r in references.values())
            latest = tonight_rows(tmp / "latest.parquet", references if profiled else None)
            older = None if profiled else older_rows(night, tmp / "validated", size)
            drift = drift_report(params, older, latest, recs, references, run_date)
            acting = drift.loc[drift["level"] == "act", "column"].tolist()
            blocked = bool(params.scoring.block_on_drift and acting)
            if not blocked:
                publish(staged, output_dir, run_date)
    log_scoring_run(run_date, checked, metrics, drift, recs, references, params, blocked, Path(input_dir))
    if blocked:
        raise ScoreError(
            f"drift alarm: PSI >= {params.scoring.psi_act} (act) for {_listed(acting, ', ', 600)}; "
            "scoring.block_on_drift is true, so nothing was written (the MLflow run holds the drift table)",
            EXIT_DRIFT,
        )
    return {
        "run_date": run_date.isoformat(),
        "dry_run": False,
        "validation": checked,
        "recommend": metrics,
        "drift": drift,
        "references": {f: r.describe() for f, r in references.items()},
    }


def older_rows(night: nightly.Night, validated_dir: Path, size: int) -> pd.DataFrame:
    """The drift check's fallback reference, for a champion that logged no training profile: each account's
    latest feature row at least REFERENCE_DAYS before the run date (what the champions learnt from,
    approximately), one partition at a time."""
    day = night.run_date - dt.timedelta(days=REFERENCE_DAYS)
    book = PartitionedBook(Path(validated_dir))
    parts = [
        build_latest(book.read_accounts(ids), day, night.params, inputs=night.inputs)
        for ids in nightly.partitions(book, size)
    ]
    return pd.concat(parts, ignore_index=True)


def tonight_rows(latest_file: Path, references: dict[str, Reference] | None) -> pd.DataFrame:
    """Tonight's latest feature rows (by account) that the drift check compares: with every champion's profile
    (`references`), only the rows in the profiles' populations (accounts in arrears, a tenth of a book or so),
    read one partition's row group at a time, so memory never holds a feature row per account of the book;
    else (None: the fallback compares every row) all of them."""
    populations = (
        []
        if references is None
        else [r.document[k]["population"] for r in references.values() for k in ("features", "scores")]
    )
    if not populations or any(p.get("rows") != "in_arrears" for p in populations):
        return pd.read_parquet(latest_file).set_index("account_id")
    source, kept = pq.ParquetFile(latest_file), []
    for group in range(source.num_row_groups):
        rows = source.read_row_group(group).to_pandas()
        keep = np.zeros(len(rows), dtype=bool)
        for population in populations:  # the union: drift_report takes each profile's own population from it
            keep |= _in_population(rows, population)
        kept.append(rows[keep])
    frame = pd.concat(kept, ignore_index=True) if kept else pd.read_parquet(latest_file)
    return frame.set_index("account_id")


def publish(staged: Path, output_dir: Path, run_date: dt.date) -> None:
    """Copy the staged `<date>.parquet`, `.csv` and `.json` into `output_dir`, each written beside its target
    and renamed into place only when all three are copied (a run killed meanwhile leaves the previous ones)."""
    with ExitStack() as stack:
        for suffix in (".parquet", ".csv", ".json"):
            name = f"{run_date.isoformat()}{suffix}"
            copyfile(Path(staged) / name, stack.enter_context(atomic_path(Path(output_dir) / name)))


def drift_report(
    params: Params,
    older: pd.DataFrame | None,
    latest: pd.DataFrame,
    recs: pd.DataFrame,
    references: dict[str, Reference],
    run_date: dt.date,
) -> pd.DataFrame:
    """PSI of every champion score and model feature against the champions' training populations.

    Tonight's features are each account's latest row as of the run date (`latest`), tonight's scores the
    recommendation rows' (strategy.output.SCORES) that the champion scored; each restricted to the rows its
    profile describes (`population`: the accounts in arrears, as training profiled its test window, so
    closed, charged-off and pre-delinquent accounts do not read as drift). A feature
    is compared once, with the first family's profile that holds it (FAMILIES order). Without a profile (an
    older champion), the feature columns no profile covers are compared with `older` (`older_rows`: each
    account's latest row at least REFERENCE_DAYS before the run date), and that champion's scores are not
    compared (the extract holds none).

    Returns the drift table (models/common/drift.py) with `kind` ('feature' or 'score') and `reference`
    (where the expected side came from), worst first; thresholds from params `scoring:`.
    """
    watch, act = params.scoring.psi_watch, params.scoring.psi_act
    parts, covered = [], set()
    for family, ref in references.items():
        if ref.document is None:
            continue
        source = f"training:{family}"
        features_profile, scores_profile = ref.document["features"], ref.document["scores"]
        columns = [c for c in features_profile["columns"] if c not in covered]
        covered.update(columns)
        tonight = _population(latest, features_profile["population"])
        parts.append(_compare(features_profile, tonight, columns, "feature", source, watch, act))
        accounts = _population(latest, scores_profile["population"]).index
        for name in (s for s in SCORES if s in scores_profile["columns"]):
            rows = recs["account_id"].isin(accounts) if "account_id" in recs.columns else np.zeros(len(recs), bool)
            scored = recs.loc[rows, [name]].dropna() if name in recs.columns else pd.DataFrame({name: []})
            parts.append(_compare(scores_profile, scored, [name], "score", source, watch, act))
    if any(ref.document is None for ref in references.values()) or not references:
        old = older if older is not None else latest.iloc[:0]
        columns = [c for c in latest.columns if c not in ("account_id", "as_of_date") and c not in covered]
        if old.empty or latest.empty:
            table = _missing(columns)
        else:
            table = drift_table(old, latest, columns, watch=watch, act=act)
        parts.append(table.assign(kind="feature", reference="extract"))
    parts = [p for p in parts if len(p)] or [_missing([]).assign(kind="feature", reference="none")]
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values("psi", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def _listed(names: list[str], sep: str, limit: int) -> str:
    """`names` joined, cut to about `limit` characters with a count of the rest (MLflow caps a tag's length;
    the drift table artifact holds every column)."""
    if not names:
        return "none"
    text = sep.join(names)
    if len(text) <= limit:
        return text
    kept = text[:limit].rsplit(sep, 1)[0]
    rest = len(names) - len(kept.split(sep))
    return f"{kept}{sep}... (+{rest} more in drift.csv)"


def _population(latest: pd.DataFrame, population: dict) -> pd.DataFrame:
    """Tonight's rows (`latest`, by account) that match a profile's `population`: every row, or the rows
    in arrears (days past due in (0, charge_off_dpd), not written off) as the propensity models see them."""
    return latest[_in_population(latest, population)] if len(latest) else latest


def _in_population(rows: pd.DataFrame, population: dict) -> np.ndarray:
    if population.get("rows") == "in_arrears" and len(rows):
        return in_arrears(rows, int(population["charge_off_dpd"]))
    return np.ones(len(rows), dtype=bool)


def _compare(
    profile: dict, tonight: pd.DataFrame, columns: list[str], kind: str, source: str, watch: float, act: float
) -> pd.DataFrame:
    """`psi_from_profile` of `columns`, or every one 'missing' when tonight has no row to compare."""
    table = _missing(columns) if tonight.empty else psi_from_profile(profile, tonight, columns, watch=watch, act=act)
    return table.assign(kind=kind, reference=source)


def _missing(columns: list[str]) -> pd.DataFrame:
    """A drift table reporting every column as 'missing' (nothing tonight, or no reference, to compare)."""
    n = len(columns)
    return pd.DataFrame(
        {
            "column": pd.Series(columns, dtype=object),
            "psi": np.full(n, np.nan),
            "level": pd.Series(["missing"] * n, dtype=object),
            "expected_rows": np.zeros(n, np.int64),
            "actual_rows": np.zeros(n, np.int64),
            "missing_expected": pd.array([pd.NA] * n, dtype="Int64"),
            "missing_actual": pd.array([pd.NA] * n, dtype="Int64"),
        },
        columns=list(DRIFT_COLUMNS),
    )


def log_scoring_run(
    run_date: dt.date,
    checked: dict,
    metrics: dict,
    drift: pd.DataFrame,
    recs: pd.DataFrame,
    references: dict[str, Reference],
    params: Params,
    blocked: bool,
    input_dir: Path,
) -> None:
    """One MLflow run (experiment `scoring`, tagged as every run: tracking.run_tags): counts, actions, score
    distributions, PSI per score (`psi.score.<name>`) and feature (`psi.<column>`), flags and the alarm as
    tags, the drift table."""
    configure()
    flagged = {k: drift.loc[drift["level"] == k, "column"].tolist() for k in ("watch", "act")}
    sources = {r.document is not None for r in references.values()}
    tags = run_tags({"extract": input_dir}, "score", params)
    name = f"{run_name('score', tags['git_commit'])} for {run_date}"
    with mlflow.start_run(experiment_id=experiment_id(EXPERIMENT), run_name=name):
        mlflow.set_tags(tags)
        mlflow.log_params(
            {
                "run_date": run_date.isoformat(),
                "scoring.psi_watch": params.scoring.psi_watch,
                "scoring.psi_act": params.scoring.psi_act,
                "scoring.block_on_drift": params.scoring.block_on_drift,
            }
        )
        total = max(int(metrics["accounts"]), 1)
        scores = {}
        for name in (s for s in SCORES if s in recs.columns):
            values = recs[name].dropna().to_numpy(np.float64)
            scores[f"score.{name}.scored"] = float(len(values))
            if len(values):
                scores[f"score.{name}.mean"] = float(values.mean())
                for q in (10, 50, 90):
                    scores[f"score.{name}.p{q}"] = float(np.percentile(values, q))
        figures = {
            "rows_in": float(checked.get("rows_in", 0)),
            "rows_quarantined": float(checked.get("rows_quarantined", 0)),
            "accounts": float(metrics["accounts"]),
            "contacts": float(metrics["contacts"]),
            "expected_net_value": float(metrics["expected_net_value"]),
            **{f"action.{k}": float(v) for k, v in metrics["actions"].items()},
            **{f"action_share.{k}": float(v) / total for k, v in metrics["actions"].items()},
            **scores,
            **{
                f"psi.{'score.' if r.kind == 'score' else ''}{r.column}": float(r.psi)
                for r in drift.itertuples()
                if np.isfinite(r.psi)
            },
        }
        mlflow.log_metrics(figures)
        mlflow.set_tags(
            {
                **{f"drift.{k}": _listed(v, ",", 4000) for k, v in flagged.items()},
                "drift.alarm": "blocked" if blocked else ("act" if flagged["act"] else "none"),
                "drift.reference": "training" if sources == {True} else ("extract" if sources <= {False} else "mixed"),
                **{f"drift.reference.{f}": r.describe()[:5000] for f, r in references.items()},
            }
        )
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
    execute(run_date, input_dir, output_dir, dry_run, params_file)


def execute(run_date: str, input_dir: Path, output_dir: Path, dry_run: bool, params_file: Path, plan_book=None) -> None:
    """The command's work, with the engine's `plan_book` (run's; None: this process's partitions): parse the
    date (exit 3), run, print the result or exit with the run's code."""
    try:
        day = dt.date.fromisoformat(run_date)
    except ValueError:
        typer.echo(f"--run-date {run_date!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(3) from None
    params = load_params(params_file)
    try:
        out = run(params, day, input_dir, output_dir, dry_run, plan_book=plan_book)
    except ScoreError as err:
        typer.echo(f"score {day}: {err}", err=True)
        raise typer.Exit(err.code) from None
    echo_result(day, params, out, output_dir, dry_run)


def echo_result(day: dt.date, params: Params, out: dict, output_dir: Path, dry_run: bool) -> None:
    """The run's lines for the nightly log (SPARK: shared with the Spark engine's command)."""
    checked = out["validation"]
    typer.echo(f"score {day}: validated, {checked.get('rows_quarantined', 0)} rows quarantined")
    if not dry_run:
        m = out["recommend"]
        typer.echo(f"  {m['accounts']:,} accounts, {m['contacts']:,} contacts, 0 violations -> {output_dir}")
        for family, source in out["references"].items():
            typer.echo(f"  drift reference ({family}): {source}")
        drift = out["drift"]
        watch, act = params.scoring.psi_watch, params.scoring.psi_act
        for level in ("act", "watch"):
            named = drift.loc[drift["level"] == level, "column"].tolist()
            if named:
                reading = f">= {act}" if level == "act" else f"{watch}-{act}"
                typer.echo(f"  drift ({level}, PSI {reading}): {', '.join(named)}")
