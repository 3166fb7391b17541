"""The nightly `score` job on a small simulated book with champions in a private registry: the same date
twice gives the same bytes, a second run for the date is refused, no champion is a clear error, a run
killed mid-write leaves the previous output whole and the next run recovers, a dry run writes nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from core.params import parse_params
from pipeline.stages import features, propensity, recommend, roll_rate, score, simulate, uplift, validate

FAST = {"num_leaves": 7, "min_child_samples": 40, "n_estimators": 40, "early_stopping_rounds": 10, "num_threads": 1}


def _params():
    return parse_params(
        {
            "simulate": {"accounts": 1200, "cycles": 10},
            "roll_rate": {"valid_cycles": 2, "test_cycles": 2, "shap_sample": 50, "lightgbm": FAST},
            "propensity": {"lightgbm": FAST},
            "uplift": {"valid_days": 30, "test_days": 30, "bootstrap": 20, "lightgbm": FAST},
        }
    )


def _use(registry, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A book, its extract and champions of the three families in a registry of this module."""
    root = tmp_path_factory.mktemp("score")
    registry = f"sqlite:///{root / 'mlflow.db'}"
    params = _params()
    with pytest.MonkeyPatch.context() as mp:
        _use(registry, mp)
        simulate.run(params, root / "raw", metrics_file=None)
        validate.run(params, root / "raw", root / "validated", root / "quarantine", root / "v.json", root / "report")
        features.run(params, root / "validated", root / "processed", root / "f.json")
        m = {"metrics_file": root / "m.json", "plots_dir": root / "plots"}
        roll_rate.run(params, root / "processed", registration_file=root / "rr.json", **m)
        propensity.run(params, root / "processed", registration_file=root / "p.json", **m)
        uplift.run(params, root / "validated", model_dir=root / "u", registration_file=root / "u.json", **m)
    last = pd.to_datetime(pd.read_parquet(root / "raw" / "statements.parquet")["cycle_date"]).max().date()
    return params, root, registry, last + dt.timedelta(days=1)


def test_the_same_date_twice_gives_the_same_bytes_and_a_dry_run_writes_nothing(trained, tmp_path, monkeypatch):
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    out = tmp_path / "out"
    first = score.run(params, day, root / "raw", out)
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{day}.csv", f"{day}.json", f"{day}.parquet"]
    recs = pd.read_parquet(out / f"{day}.parquet")
    assert len(recs) == first["recommend"]["accounts"] > 0 and (recs["run_date"].dt.date == day).all()
    before = {n: (out / n).read_bytes() for n in names}
    score.run(params, day, root / "raw", out)
    assert {n: (out / n).read_bytes() for n in names} == before
    dry = tmp_path / "dry"
    assert score.run(params, day, root / "raw", dry, dry_run=True)["dry_run"]
    assert not dry.exists() or not any(dry.iterdir())


def test_a_second_run_for_the_date_is_refused_while_the_first_holds_the_lock(trained, tmp_path, monkeypatch):
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    with score.date_lock(tmp_path, day), pytest.raises(score.ScoreError, match="another scoring run") as err:
        score.run(params, day, root / "raw", tmp_path)
    assert err.value.code == score.EXIT_LOCKED
    assert not list(tmp_path.glob(f"{day}.*")) and not list(tmp_path.glob(".*.lock"))


def test_no_champion_is_a_clear_error_with_its_exit_code(trained, tmp_path):
    params, root, _, day = trained  # the autouse fixture's empty registry
    with pytest.raises(score.ScoreError, match="no `champion`") as err:
        score.run(params, day, root / "raw", tmp_path / "out")
    assert err.value.code == score.EXIT_NO_CHAMPION
    cli = subprocess.run(
        [sys.executable, "-m", "pipeline", "score", "--run-date", str(day), "--input", str(root / "raw")]
        + ["--output", str(tmp_path / "cli")],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == score.EXIT_NO_CHAMPION and "no `champion`" in cli.stderr and "Traceback" not in cli.stderr


def test_a_run_killed_mid_write_leaves_the_previous_output_and_the_next_run_recovers(trained, tmp_path, monkeypatch):
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    out = tmp_path / "out"
    score.run(params, day, root / "raw", out)
    good = {p.name: p.read_bytes() for p in out.iterdir()}

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(recommend, "write_json", killed)  # after the parquet and CSV are staged
    with pytest.raises(KeyboardInterrupt):
        score.run(params, day, root / "raw", out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == good, "no partial file, the previous output whole"
    monkeypatch.undo()
    _use(registry, monkeypatch)
    score.run(params, day, root / "raw", out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == good


def test_each_run_is_an_mlflow_run_with_counts_and_the_drift_of_every_feature(trained, tmp_path, monkeypatch):
    import mlflow

    params, root, registry, day = trained
    _use(registry, monkeypatch)
    out = score.run(params, day, root / "raw", tmp_path / "out")
    drift = out["drift"]
    assert {"column", "psi", "level"} <= set(drift.columns) and drift["psi"].notna().any()
    assert set(drift["level"]) <= {"stable", "watch", "act", "missing"}
    runs = mlflow.search_runs(experiment_names=[score.EXPERIMENT])
    latest = runs.sort_values("start_time").iloc[-1]
    assert latest["params.run_date"] == str(day)
    assert latest["metrics.accounts"] == out["recommend"]["accounts"]
    worst = drift.dropna(subset=["psi"]).iloc[0]
    assert latest[f"metrics.psi.{worst['column']}"] == pytest.approx(worst["psi"])
    act = drift.loc[drift["level"] == "act", "column"].tolist()
    assert latest["tags.drift.act"] == (",".join(act) or "none")
