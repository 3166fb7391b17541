"""The command line: a thin typer layer over pipeline.stages.

Data and parameter errors are printed as one clear message with a non-zero exit code,
never as a traceback, because the nightly job's log is read by people, not debuggers. So is a run
stopped by SIGTERM or SIGHUP, or run by DVC and left behind by it (core/lifecycle.py): it publishes
nothing more, removes its temporary files and exits with EXIT_ABORTED.
"""

from __future__ import annotations

import signal
import sys

from core import environment, lifecycle, progress

environment.apply()  # before the stages import DVC, MLflow, Great Expectations and LightGBM

import typer  # noqa: E402
from rich.console import Console  # noqa: E402

from core.errors import DataError, ParamsError  # noqa: E402
from pipeline import show  # noqa: E402
from pipeline.spark import cli as engines  # noqa: E402  # SPARK: --engine pandas|spark
from pipeline.stages import (  # noqa: E402
    adapt_uci,
    evaluate,
    promote,
    propensity,
    recommend,
    roll_rate,
    simulate,
    uplift,
    validate,
)

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
app.command("features")(engines.features_command)  # SPARK: --engine pandas|spark (pandas: the stage's command)
app.command("roll_rate")(roll_rate.command)
app.command("evaluate")(evaluate.command)
app.command("propensity")(propensity.command)  # PTP
app.command("uplift")(uplift.command)  # UPLIFT
app.command("promote")(promote.command)  # champion/challenger, rollback
app.command("recommend")(recommend.command)
app.command("score")(engines.score_command)  # SPARK: --engine pandas|spark (pandas: the stage's command)
app.command("show")(show.command)  # tonight's plan in a terminal (not a stage)
app.command("adapt_uci")(adapt_uci.command)

EXIT_DATA_ERROR = 2
EXIT_PARAMS_ERROR = 3
EXIT_ABORTED = 128 + signal.SIGTERM  # as if SIGTERM had ended the process


def main() -> None:
    lifecycle.bind_to_parent()  # python -m pipeline binds earlier (pipeline/__main__.py); the `dunning` script here
    err = Console(stderr=True, soft_wrap=True)  # one line per message, whatever the terminal width
    progress.configure()  # a bar on a terminal, plain periodic lines in a log (core/progress.py)
    try:
        with lifecycle.aborting_on_termination():
            app()
    except lifecycle.Aborted as exc:
        err.print(f"aborted: {exc}", style="red", markup=False, highlight=False)
        sys.exit(EXIT_ABORTED)
    except DataError as exc:
        err.print(f"data error: {exc}", style="red", markup=False, highlight=False)
        sys.exit(EXIT_DATA_ERROR)
    except ParamsError as exc:
        err.print(f"params error: {exc}", style="red", markup=False, highlight=False)
        sys.exit(EXIT_PARAMS_ERROR)
    finally:
        progress.disable()  # an in-process caller (a test) gets the library's silence back
