"""`python -m pipeline show`: tonight's plan in a terminal, the most valuable contacts first.

The recommendations are a parquet and a CSV file per run date (the `recommend` stage and the nightly
`score` job); an analyst's first question is "who do we call tonight, when, and why?", which this answers
without a notebook: the top rows by priority with their local window, expected net value and first
reason, then the count of each action.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from core.errors import DataError
from pipeline.stages.recommend import OUT_DIR

#: The columns shown, in order (the file holds more: scores, UTC windows, rules, blocked actions).
SHOWN = ("priority_rank", "account_id", "region", "action", "local_window", "expected_net_value", "reason")


def latest_file(folder: Path, run_date: str | None = None) -> Path:
    """The run date's recommendations file (`<date>.parquet`), by default the latest in `folder`."""
    files = sorted(Path(folder).glob("*.parquet"))
    if run_date is not None:
        files = [f for f in files if f.stem == run_date]
    if not files:
        wanted = f"for {run_date} " if run_date else ""
        raise DataError("recommendations", "file_present", f"no recommendations {wanted}in {folder}: run the pipeline")
    return files[-1]


def top(recs: pd.DataFrame, n: int) -> pd.DataFrame:
    """The `n` contacts of highest priority (rank 1 first), with their first reason, as SHOWN."""
    contacts = recs[recs["action"] != "none"].sort_values("priority_rank", kind="stable").head(n)
    first_reason = contacts["reason_codes"].astype(str).str.split(";").str[0].str.strip()
    start, end = (pd.to_datetime(contacts[f"window_{side}_local"]) for side in ("start", "end"))
    local = contacts["window"].astype(str) + " " + start.dt.strftime("%H:%M") + "-" + end.dt.strftime("%H:%M")
    shown = contacts.assign(
        reason=first_reason, local_window=local, expected_net_value=contacts["expected_net_value"].round(2)
    )
    return shown.loc[:, list(SHOWN)].reset_index(drop=True)


def command(
    run_date: str | None = typer.Option(None, "--run-date", help="The date (YYYY-MM-DD); default: the latest."),
    folder: Path = typer.Option(OUT_DIR, "--dir", help="Where the recommendations files are."),
    n: int = typer.Option(10, "--top", min=1, help="How many contacts to show."),
) -> None:
    """Show tonight's plan: the most valuable contacts first, then the count of each action."""
    path = latest_file(folder, run_date)
    recs = pd.read_parquet(path)
    typer.echo(f"{path}: {len(recs):,} accounts, {int((recs['action'] != 'none').sum()):,} contacts")
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        typer.echo(top(recs, n).to_string(index=False))
    typer.echo(recs["action"].value_counts().to_string())
