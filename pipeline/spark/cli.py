"""`--engine pandas|spark` for the commands that run over account partitions.

The pandas engine stays the default and runs the stage's own command unchanged; `spark` runs the same
partition function through pipeline.spark (imported only then, so the command line never loads pyspark
for a pandas run).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from core.params import load_params
from core.paths import PARAMS_FILE, PROCESSED_DIR, RAW_DIR, VALIDATED_DIR
from pipeline.stages import features, score


class Engine(StrEnum):
    pandas = "pandas"
    spark = "spark"


class SparkRead(StrEnum):
    shuffle = "shuffle"
    direct = "direct"


READ_HELP = (
    "With --engine spark, how each partition's rows reach its executor. shuffle: the tables read as Spark "
    "DataFrames, rows sent to their partition. direct: each task reads its partition from the parquet files "
    "itself (paths every executor sees; fastest when sorted by account_id)."
)
ENGINE_HELP = (
    "pandas: one process, partition after partition. spark: one Spark group per partition "
    "(a local session unless run under spark-submit or Databricks; DUNNING_SPARK_MASTER sets a local master)."
)


def features_command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file (sections `features`, `buckets`)."),
    in_dir: Path = typer.Option(VALIDATED_DIR, help="Directory with the five validated tables."),
    out_dir: Path = typer.Option(PROCESSED_DIR, help="Where features, labels and contact labels go (parquet)."),
    metrics_file: Path = typer.Option(features.METRICS_FILE, help="Summary metrics (JSON): rows, label coverage."),
    engine: Engine = typer.Option(Engine.pandas, help=ENGINE_HELP),
    spark_read: SparkRead = typer.Option(SparkRead.shuffle, help=READ_HELP),
) -> None:
    """Build point-in-time features and labels for every account and cycle."""
    if engine is Engine.pandas:
        features.command(params_file, in_dir, out_dir, metrics_file)
        return
    from pipeline.spark import features as spark_features

    metrics = spark_features.run(load_params(params_file), in_dir, out_dir, metrics_file, read=spark_read.value)
    typer.echo(
        f"features (spark): {metrics['rows']:,} rows x {metrics['feature_columns']} features for "
        f"{metrics['accounts']:,} accounts in {metrics['partitions']} partition(s); "
        f"{metrics['contacts']:,} contacts labelled; outputs (parquet folders) in {out_dir}"
    )


def score_command(
    run_date: str = typer.Option(
        ..., "--run-date", help="The date to plan (YYYY-MM-DD), in the borrowers' local time."
    ),
    input_dir: Path = typer.Option(RAW_DIR, "--input", help="The night's extract: the tables (parquet or CSV)."),
    output_dir: Path = typer.Option(score.OUTPUT_DIR, "--output", help="Where <date>.parquet, .csv and .json go."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing."),
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file."),
    engine: Engine = typer.Option(Engine.pandas, help=ENGINE_HELP),
    spark_read: SparkRead = typer.Option(SparkRead.shuffle, help=READ_HELP),
) -> None:
    """Score tonight's extract with the champion models and write the run date's recommendations."""
    if engine is Engine.pandas:
        score.command(run_date, input_dir, output_dir, dry_run, params_file)
        return
    from functools import partial

    from pipeline.spark import score as spark_score

    planner = partial(spark_score.plan_book, read=spark_read.value)
    score.execute(run_date, input_dir, output_dir, dry_run, params_file, plan_book=planner)
