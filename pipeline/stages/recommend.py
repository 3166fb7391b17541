"""DVC stage `recommend`: tonight's plan for every account a policy acts on, checked by the independent verifier.

Reads the validated tables (data/validated; the decision log is optional), the uplift model's files
(data/models/uplift) and, where the registry has them, the `champion` roll-rate and propensity models
(scores on each account's latest feature row, data/processed/features.parquet). Fits what the strategy
learns from the tables (harm rates, the outlook per bucket, the reminders' lift: strategy/model.py) into
data/models/strategy/, builds the state frame of the run date (`strategy.run_date`, default the day after
the tables' latest date; features/state_frame.py), plans (strategy/recommend.py), explains each row (SHAP
reason codes, models/uplift/reasons.py) and writes data/recommendations/<run_date>.parquet and .csv, with
data/metrics/recommend.json.

The verifier (strategy/verify.py, its own code path) checks every row first: on any violation the stage
fails with exit code 2, naming the rows and rules, and writes nothing. All or nothing otherwise, as the
other stages: everything is computed before any output is touched.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import ExitStack
from pathlib import Path

import mlflow
import pandas as pd
import typer

from core.errors import DataError
from core.io import atomic_path, read_tables, write_json
from core.params import Params, load_params
from core.paths import METRICS_DIR, MODELS_DIR, PARAMS_FILE, PROCESSED_DIR, VALIDATED_DIR
from features.state_frame import state_frame
from models.common.registry import CHAMPION
from models.common.tracking import configure
from strategy.model import StrategyModel, fit_model, save_context
from strategy.recommend import recommend
from strategy.scores import Champion, champion_scores, latest_rows
from strategy.verify import require_none
from validation.publish import staged_dirs

OUT_DIR = Path("data/recommendations")
METRICS_FILE = METRICS_DIR / "recommend.json"
UPLIFT_DIR = MODELS_DIR / "uplift"
STRATEGY_DIR = MODELS_DIR / "strategy"
FEATURES_FILE = PROCESSED_DIR / "features.parquet"


def load_champions(params: Params) -> dict[str, Champion | None]:
    """The registry's `champion` of the roll-rate and propensity models (None where there is none), loaded."""
    client = configure()
    out: dict[str, Champion | None] = {}
    for name in (params.roll_rate.registered_model, params.propensity.registered_model):
        try:
            version = client.get_model_version_by_alias(name, CHAMPION)
        except mlflow.exceptions.MlflowException:
            out[name] = None
            continue
        out[name] = Champion(name, str(version.version), mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}"))
    return out


def _latest_date(tables: dict[str, pd.DataFrame]) -> dt.date:
    """The latest day any table records (statements, payments, contacts, decisions)."""
    days = []
    for table, column in (("statements", "cycle_date"), ("payments", "paid_at"), ("contacts", "contacted_at")):
        frame = tables.get(table)
        if frame is not None and not frame.empty:
            days.append(pd.to_datetime(frame[column], utc=True).max().date())
    if not days:
        raise DataError("statements", "not_empty", "no dated records: the run date cannot be known")
    return max(days)


def run_date_of(tables: dict[str, pd.DataFrame], params: Params) -> dt.date:
    """`strategy.run_date`, or the day after the tables' latest date (tonight's plan is for tomorrow)."""
    return params.strategy.run_date or _latest_date(tables) + dt.timedelta(days=1)


def run(
    params: Params,
    in_dir: Path = VALIDATED_DIR,
    features_file: Path | None = FEATURES_FILE,
    uplift_dir: Path = UPLIFT_DIR,
    strategy_dir: Path = STRATEGY_DIR,
    out_dir: Path = OUT_DIR,
    metrics_file: Path = METRICS_FILE,
    scores: bool = True,
    latest: pd.DataFrame | None = None,
) -> tuple[dict[str, object], pd.DataFrame]:
    """Plan the run date, verify, explain; publish the recommendations and the strategy's fitted context.

    `latest`: the accounts' latest feature rows (`latest_rows`) when the caller has them, else read from
    `features_file`."""
    tables = read_tables(Path(in_dir))
    model = fit_model(tables, params, Path(uplift_dir))
    context = model.context
    run_date = run_date_of(tables, params)
    states = state_frame(tables, run_date, params)
    if scores and latest is None and features_file is not None and Path(features_file).exists():
        latest = latest_rows(pd.read_parquet(features_file), run_date)
    champions = load_champions(params) if scores and latest is not None else {}
    score = champion_scores(states, latest if scores else None, champions, params)
    recs, _ = recommend(states, run_date, model, score.values, score.versions)
    require_none(recs, states, run_date, model.rules, params.strategy)
    metrics = summary(recs, run_date, model, score.versions)
    name = run_date.isoformat()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    strategy_dir = Path(strategy_dir)
    strategy_dir.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        (context_stage,) = stack.enter_context(staged_dirs([strategy_dir]))
        save_context(context, params, context_stage)
        recs.to_parquet(stack.enter_context(atomic_path(Path(out_dir) / f"{name}.parquet")), index=False)
        recs.to_csv(stack.enter_context(atomic_path(Path(out_dir) / f"{name}.csv")), index=False)
        write_json(metrics, Path(metrics_file))
    return metrics, recs


def summary(recs: pd.DataFrame, run_date: dt.date, model: StrategyModel, versions: dict[str, str]) -> dict[str, object]:
    """The run's metrics: accounts, actions by kind and by profile, expected net value, the fitted context."""
    contact = recs["action"] != "none"
    return {
        "run_date": run_date.isoformat(),
        "accounts": int(len(recs)),
        "contacts": int(contact.sum()),
        "actions": {str(k): int(v) for k, v in recs["action"].value_counts().sort_index().items()},
        "by_region": {
            str(k): {"accounts": int(len(g)), "contacts": int((g["action"] != "none").sum())}
            for k, g in recs.groupby(recs["region"].astype(str), sort=True)
        },
        "expected_net_value": round(float(recs["expected_net_value"].sum()), 2),
        "violations": 0,
        "reminder_lift": {k: round(v, 6) for k, v in model.context.reminder_lift.items()},
        "outlook": {k: v for k, v in model.context.outlook.as_dict().items() if k != "statements"},
        "scored_by": sorted(versions),  # the versions are per row (model_versions): a re-run registers new ones
    }


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file (`strategy`, `contact`, `compliance`)."),
    in_dir: Path = typer.Option(VALIDATED_DIR, help="Directory with the validated tables."),
    features_file: Path = typer.Option(FEATURES_FILE, help="Feature table scored by the champion models."),
    uplift_dir: Path = typer.Option(UPLIFT_DIR, help="The uplift model's files (the `uplift` stage)."),
    strategy_dir: Path = typer.Option(STRATEGY_DIR, help="Folder for the strategy's fitted context."),
    out_dir: Path = typer.Option(OUT_DIR, help="Folder for <run_date>.parquet and .csv."),
    metrics_file: Path = typer.Option(METRICS_FILE, help="Metrics JSON."),
    scores: bool = typer.Option(True, help="Score with the registry's champion roll-rate and propensity models."),
) -> None:
    """Recommend tonight's action, window and reasons for every account in arrears or about to fall due."""
    params = load_params(params_file)
    metrics, _ = run(params, in_dir, features_file, uplift_dir, strategy_dir, out_dir, metrics_file, scores)
    typer.echo(
        f"recommend {metrics['run_date']}: {metrics['accounts']:,} accounts, {metrics['contacts']:,} contacts, "
        f"expected net value {metrics['expected_net_value']:,.2f}, 0 violations"
    )
    typer.echo("  " + json.dumps(metrics["actions"]))
