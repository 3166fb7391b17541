"""The benchmark scripts run, and their last line is the JSON the issues name.

Tiny books keep this fast; the figures themselves are measured by running the scripts by hand
(docs/benchmarks.md), never asserted here: timings in unit tests only measure the machine.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

import pytest

from core.paths import PROJECT_ROOT

BENCHMARKS = PROJECT_ROOT / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))

CASES = {
    "simulate": (["--accounts", "300", "--cycles", "4"], {"accounts", "cycles", "seconds", "peak_mib"}),
    "validate_book": (["--accounts", "300", "--cycles", "4"], {"accounts", "seconds", "peak_mib"}),
    "build_features": (["--accounts", "300", "--cycles", "6"], {"accounts", "account_cycles", "seconds", "peak_mib"}),
    "fuzz_validate": (
        ["--cases", "6", "--workers", "1"],
        {"cases", "tracebacks", "rows_lost", "values_altered", "seconds"},
    ),
    "evaluate": (  # EVAL (issue 13)
        ["--accounts", "300", "--cycles", "3", "--seeds", "1", "--exploit-scale", "0"],
        {"policies", "oracle_gain_vs_bau", "rule_gain_vs_bau", "min_logged_propensity", "exploits_blocked", "seconds"},
    ),
    "uplift": (  # UPLIFT (issue 14)
        ["--accounts", "1000", "--cycles", "8", "--seeds", "1", "--eval-accounts", "300", "--quick"],
        {
            "ptp_auc_7d",
            "ptp_brier_7d",
            "baseline_auc_7d",
            "qini_coefficient",
            "qini_ci_low",
            "ope_dr_rel_error_bau",
            "ope_dr_rel_error_all",
            "ope_dr_rel_error_learned",
            "seconds",
        },
    ),
    "strategy_core": (  # STRATEGY (issue 15)
        ["--accounts", "400"],
        {
            "allocation_seconds_lp",
            "allocation_seconds_greedy",
            "value_lp",
            "value_greedy",
            "verify_seconds",
            "violations",
        },
    ),
    "policy": (  # issue 15: the recommended strategy in the harness
        [
            *("--book-accounts", "800", "--book-cycles", "8", "--accounts", "1000"),
            *("--eval-accounts", "300", "--cycles", "3", "--seeds", "1", "--sweep-accounts", "300", "--quick"),
        ],
        {
            "policies",
            "net_gain_vs_bau",
            "oracle_gap_captured",
            "contacts_ratio_vs_bau",
            "harm_ratio_vs_bau",
            "long_horizon_gain_vs_myopic",
            "violations",
            "seconds",
        },
    ),
    "scoring": (  # SCOREBENCH (issue 16)
        ["--accounts", "300", "--train-accounts", "1200", "--cycles", "10", "--quick"],
        {"accounts", "seconds", "peak_mib", "seconds_per_100k"},
    ),
    "reports": (  # REPORTS (issue 17): offline plot pages in headless Chromium, external assets
        ["--demo"],
        {"plot_pages_blank", "external_assets", "notebooks_run", "notebooks_failed", "runs_missing_tags"}
        | {"versions_missing_card"},
    ),
    "spark_features": (  # SPARK (issue 18): the features stage on both engines, Spark in local mode
        ["--accounts", "300", "--cycles", "4", "--partition", "100"],
        {"accounts", "seconds_pandas", "seconds_spark", "rows_equal_to_pandas"},
    ),
    "roll_rate": (
        ["--accounts", "1500", "--quick"],
        {"model_logloss", "baseline_logloss", "logloss_reduction", "roll_forward_auc", "plain_lgbm_logloss"},
    ),
    "real_data": (
        ["--uci-sample", "600", "--quick", "--accounts", "300", "--cycles", "8"],
        {
            "uci_sept_logloss",
            "uci_sept_roll_forward_auc",
            "uci_plain_lgbm_logloss",
            "uci_plain_lgbm_roll_forward_auc",
            "statuses_quarantined",
            "million_rows_seconds",
            "million_rows_peak_mib",
        },
    ),
}
#: Figures a benchmark reports as null until what they measure exists (never an invented number).
#: (reports --demo leaves the notebooks to tests/test_notebooks.py: minutes of work.)
NOT_YET: set[str] = {"notebooks_run", "notebooks_failed"}
#: Scripts that take the folder of their Great Expectations context: the test's own, never the project's gx/
#: that other pytest-xdist workers validate into at the same time.
GX_ROOT = {"validate_book"}
#: Scripts too slow for the suite (a real data set): they must at least import and parse arguments.
HELP_ONLY = {"uci_credit_default"}
SYS_PATH_EDIT = re.compile(r"sys\.path\s*(\[|=|\+=|\.(insert|append|extend|remove|pop|clear)\b)")


def _run(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(CASES))
def test_benchmark_ends_with_its_json_figures(name, tmp_path):
    args, keys = CASES[name]
    if name in GX_ROOT:
        args = [*args, "--gx-root", str(tmp_path)]
    done = _run(name, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) >= 2, "a benchmark prints readable lines before its JSON"
    figures = json.loads(lines[-1])
    assert keys <= set(figures), f"missing {keys - set(figures)}"
    assert all(figures[k] is not None for k in keys - NOT_YET)


@pytest.mark.e2e
def test_uplift_benchmark_puts_the_ranking_to_the_evaluation_worlds():
    """--ranking-truth: per channel, the model's budgeted targeting less random targeting in each world."""
    args = CASES["uplift"][0]
    done = _run("uplift", *args, "--ranking-only", "--ranking-truth")
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for ch in ("call", "sms", "call_once", "sms_once"):  # repeated daily, and each account at most once
        low, high = figures[f"ranking_truth_gain_{ch}_ci"]
        assert figures[f"ranking_truth_gain_{ch}_worlds"] == [figures[f"ranking_truth_gain_{ch}"]]  # one world
        assert low <= figures[f"ranking_truth_gain_{ch}"] <= high
    assert "ope_dr_rel_error_bau" not in figures  # the off-policy part is not run


def test_uplift_benchmark_refuses_the_ranking_truth_without_ranking_only():
    done = _run("uplift", "--ranking-truth")
    assert done.returncode == 2 and "--ranking-truth goes with --ranking-only" in done.stderr


@pytest.mark.parametrize("name", sorted(HELP_ONLY))
def test_slow_benchmark_imports_and_parses_its_arguments(name):
    done = _run(name, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:")


def test_every_benchmark_script_is_run_here():
    scripts = {p.stem for p in SCRIPTS if not p.stem.startswith("_")}
    assert scripts == set(CASES) | HELP_ONLY


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_no_script_hides_a_module_or_edits_sys_path(path):
    # python puts a script's own folder first on sys.path: a script named like an importable module
    # (features.py and the features package) would be imported in its place, by the script and by
    # every library it loads. The project's packages come from the editable install instead.
    assert importlib.util.find_spec(path.stem) is None, f"{path.name} shares the name of module {path.stem!r}"
    assert not SYS_PATH_EDIT.search(path.read_text()), f"{path.name} edits sys.path"
