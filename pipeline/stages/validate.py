"""DVC stage `validate`: data/raw -> data/validated (+ data/quarantine, metrics, an offline report).

Never touches its inputs, and writes all its outputs or none: everything is built beside the
targets and swapped in only once the whole run has succeeded, so a fatal data error leaves the
previous validated data, quarantine, report and metrics in place.
"""

from __future__ import annotations

from pathlib import Path
from time import perf_counter
from typing import Any

import typer

from core.io import write_frame, write_json
from core.params import Params, load_params
from core.paths import METRICS_DIR, PARAMS_FILE, PROJECT_ROOT, QUARANTINE_DIR, RAW_DIR, REPORTS_DIR, VALIDATED_DIR
from validation.engine import validate_tables
from validation.publish import staged_dirs
from validation.reading import read_inputs
from validation.report import render_html, summary

METRICS_FILE = METRICS_DIR / "validation.json"
REPORT_DIR = REPORTS_DIR / "validation"


def run(
    params: Params,
    raw_dir: Path = RAW_DIR,
    validated_dir: Path = VALIDATED_DIR,
    quarantine_dir: Path = QUARANTINE_DIR,
    metrics_file: Path = METRICS_FILE,
    report_dir: Path = REPORT_DIR,
    gx_root: Path = PROJECT_ROOT,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Validate the tables in `raw_dir` and publish the results; returns the metrics (validation.json).

    `timings`, when given, receives the seconds spent per phase (for the benchmark).
    """
    clock = perf_counter()
    outputs = [Path(validated_dir), Path(quarantine_dir), Path(report_dir)]
    _refuse_overwriting_inputs(Path(raw_dir), outputs)
    frames = read_inputs(raw_dir)
    read_seconds = perf_counter() - clock
    outcome = validate_tables(frames, params.validate_, gx_root, params.run_date)
    del frames
    metrics = summary(outcome)
    html = render_html(outcome, metrics, params.validate_)
    with staged_dirs(outputs) as (validated, quarantine, report):
        for name, check in outcome.tables.items():
            write_frame(check.validated, validated / f"{name}.parquet")
            write_frame(check.quarantined, quarantine / f"{name}.parquet")
        (report / "index.html").write_text(html, encoding="utf-8")
    write_json(metrics, metrics_file)
    if timings is not None:
        timings.update(
            {
                "read": round(read_seconds, 3),
                **outcome.timings,
                "write": round(perf_counter() - clock - read_seconds - sum(outcome.timings.values()), 3),
            }
        )
    return metrics


def command(
    params_file: Path = typer.Option(PARAMS_FILE, help="Parameters file (sections `validate`, `run_date`)."),
    raw_dir: Path = typer.Option(RAW_DIR, help="Directory with the five input tables (parquet or CSV)."),
    validated_dir: Path = typer.Option(VALIDATED_DIR, help="Where the rows that pass go (parquet per table)."),
    quarantine_dir: Path = typer.Option(QUARANTINE_DIR, help="Where failing rows go, with a `reason` column."),
    metrics_file: Path = typer.Option(METRICS_FILE, help="Summary metrics (JSON): rows in, quarantined per rule."),
    report_dir: Path = typer.Option(REPORT_DIR, help="Directory of the offline HTML report (index.html)."),
    gx_root: Path = typer.Option(PROJECT_ROOT, help="Directory holding the Great Expectations context `gx/`."),
) -> None:
    """Validate the input tables against the schema and business rules; quarantine failing rows."""
    try:
        _refuse_overwriting_inputs(raw_dir, [validated_dir, quarantine_dir, report_dir])
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    metrics = run(load_params(params_file), raw_dir, validated_dir, quarantine_dir, metrics_file, report_dir, gx_root)
    typer.echo(
        f"validated {metrics['rows_in']:,} rows (as of {metrics['as_of_date']}): "
        f"{metrics['rows_valid']:,} valid, {metrics['rows_quarantined']:,} quarantined; "
        f"report: {Path(report_dir) / 'index.html'}"
    )


def _refuse_overwriting_inputs(raw_dir: Path, outputs: list[Path]) -> None:
    """Outputs replace whole directories, so none of them may be (or contain) the input directory."""
    raw = Path(raw_dir).resolve()
    for out in outputs:
        if out.resolve() == raw or out.resolve() in raw.parents:
            raise ValueError(
                f"output directory {out} would replace the input directory {raw_dir}; "
                "validation never writes over its inputs"
            )
