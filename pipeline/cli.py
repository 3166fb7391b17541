"""The command line: a thin typer layer over pipeline.stages.

Data and parameter errors are printed as one clear message with a non-zero exit code,
never as a traceback, because the nightly job's log is read by people, not debuggers.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import typer
from rich.console import Console

from core.errors import DataError, ParamsError
from pipeline.stages import simulate
from pipeline.stages import validate
from pipeline.stages import features
from pipeline.stages import roll_rate
from pipeline.stages import adapt_uci

app = typer.Typer(
    name="dunning",
    help="Delinquency-risk and collections-strategy pipeline. Each command is one DVC stage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Delinquency-risk and collections-strategy pipeline."""


app.command("simulate")(simulate.command)
app.command("validate")(validate.command)
app.command("features")(features.command)
app.command("roll_rate")(roll_rate.command)
app.command("adapt_uci")(adapt_uci.command)

EXIT_DATA_ERROR = 2
EXIT_PARAMS_ERROR = 3


def main() -> None:
    err = Console(stderr=True, soft_wrap=True)  # one line per message, whatever the terminal width
    try:
        app()
    except DataError as exc:
        err.print(f"data error: {exc}", style="red", markup=False, highlight=False)
        sys.exit(EXIT_DATA_ERROR)
    except ParamsError as exc:
        err.print(f"params error: {exc}", style="red", markup=False, highlight=False)
        sys.exit(EXIT_PARAMS_ERROR)
