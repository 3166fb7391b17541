"""The nightly `score` job on a small simulated book with champions in a private registry: the same date
twice gives the same bytes, a second run for the date is refused, no champion is a clear error, a run
killed mid-write leaves the previous output whole and the next run recovers, a dry run writes nothing."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from core.params import parse_params
from pipeline.stages import features, promote, propensity, recommend, roll_rate, score, simulate, uplift, validate
from strategy import model as strategy_model
from strategy.output import SCORES

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
        validate.run(
            params, root / "raw", root / "validated", root / "quarantine", root / "v.json", root / "report", root
        )
        features.run(params, root / "validated", root / "processed", root / "f.json")
        m = {"metrics_file": root / "m.json", "plots_dir": root / "plots"}
        roll_rate.run(params, root / "processed", registration_file=root / "rr.json", **m)
        propensity.run(params, root / "processed", registration_file=root / "p.json", **m)
        uplift.run(params, root / "validated", model_dir=root / "u", registration_file=root / "u.json", **m)
        # champion/challenger: training registers challengers, the promote step moves `champion`
        promote.run(params, [root / "rr.json", root / "p.json", root / "u.json"], root / "promotion.json")
    last = pd.to_datetime(pd.read_parquet(root / "raw" / "statements.parquet")["cycle_date"]).max().date()
    return params, root, registry, last + dt.timedelta(days=1)


def test_the_same_date_twice_gives_the_same_bytes_and_a_dry_run_writes_nothing(trained, tmp_path, monkeypatch):
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    out = tmp_path / "out"
    first = score.run(params, day, root / "raw", out, gx_root=root)
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{day}.csv", f"{day}.json", f"{day}.parquet"]
    recs = pd.read_parquet(out / f"{day}.parquet")
    assert len(recs) == first["recommend"]["accounts"] > 0 and (recs["run_date"].dt.date == day).all()
    before = {n: (out / n).read_bytes() for n in names}
    score.run(params, day, root / "raw", out, gx_root=root)
    assert {n: (out / n).read_bytes() for n in names} == before
    dry = tmp_path / "dry"
    assert score.run(params, day, root / "raw", dry, dry_run=True, gx_root=root)["dry_run"]
    assert not dry.exists() or not any(dry.iterdir())


def test_a_second_run_for_the_date_is_refused_while_the_first_holds_the_lock(trained, tmp_path, monkeypatch):
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    with score.date_lock(tmp_path, day), pytest.raises(score.ScoreError, match="another scoring run") as err:
        score.run(params, day, root / "raw", tmp_path, gx_root=root)
    assert err.value.code == score.EXIT_LOCKED
    assert not list(tmp_path.glob(f"{day}.*")) and not list(tmp_path.glob(".*.lock"))


def test_no_champion_is_a_clear_error_with_its_exit_code(trained, tmp_path):
    params, root, _, day = trained  # the autouse fixture's empty registry
    with pytest.raises(score.ScoreError, match="no `champion`") as err:
        score.run(params, day, root / "raw", tmp_path / "out", gx_root=root)
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
    score.run(params, day, root / "raw", out, gx_root=root)
    good = {p.name: p.read_bytes() for p in out.iterdir()}

    copied = []
    real_copy = score.copyfile

    def killed(source, target):  # publishing: the first file is copied beside its target, then the kill
        if copied:
            raise KeyboardInterrupt("killed while writing")
        copied.append(real_copy(source, target))

    monkeypatch.setattr(score, "copyfile", killed)
    with pytest.raises(KeyboardInterrupt):
        score.run(params, day, root / "raw", out, gx_root=root)
    assert len(copied) == 1, "killed after one output file was written beside its target"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == good, "no partial file, the previous output whole"
    monkeypatch.undo()
    _use(registry, monkeypatch)
    score.run(params, day, root / "raw", out, gx_root=root)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == good


def _latest_run():
    import mlflow

    return mlflow.search_runs(experiment_names=[score.EXPERIMENT]).sort_values("start_time").iloc[-1]


def test_each_run_is_an_mlflow_run_with_the_drift_of_every_score_and_feature_against_training(
    trained, tmp_path, monkeypatch
):
    import mlflow

    from models.common.drift import REFERENCE_FILE, psi_from_profile, read_reference
    from models.common.tracking import configure
    from models.propensity.rows import in_arrears

    params, root, registry, day = trained
    _use(registry, monkeypatch)
    out = score.run(params, day, root / "raw", tmp_path / "out", gx_root=root)
    drift = out["drift"]
    assert {"column", "psi", "level", "kind", "reference"} <= set(drift.columns) and drift["psi"].notna().any()
    assert set(drift["level"]) <= {"stable", "watch", "act", "missing"}
    # the reference is the champions' stored training profiles, not the extract
    assert set(drift["reference"]) == {"training:roll_rate", "training:propensity"}
    latest = _latest_run()
    assert latest["tags.drift.reference"] == "training"
    champion = configure().get_model_version_by_alias(params.roll_rate.registered_model, "champion")
    assert champion.run_id in latest["tags.drift.reference.roll_rate"]
    assert latest["params.run_date"] == str(day) and latest["params.scoring.block_on_drift"] == "False"
    assert latest["metrics.accounts"] == out["recommend"]["accounts"]
    # every served score has its PSI, against the training scores of the rows in arrears
    scores = drift[drift["kind"] == "score"].set_index("column")
    assert set(scores.index) == set(SCORES) and scores["psi"].notna().all()
    for name in SCORES:
        assert latest[f"metrics.psi.score.{name}"] == pytest.approx(scores.loc[name, "psi"])
        assert latest[f"metrics.score.{name}.scored"] >= scores.loc[name, "actual_rows"] > 0
    feature = drift[(drift["kind"] == "feature") & drift["psi"].notna()].iloc[0]
    assert latest[f"metrics.psi.{feature['column']}"] == pytest.approx(feature["psi"])
    act = drift.loc[drift["level"] == "act", "column"].tolist()
    assert latest["tags.drift.act"] == (",".join(act) or "none")
    assert latest["tags.drift.alarm"] == ("act" if act else "none")

    # recomputed by hand from the champion run's JSON artifact and tonight's rows in arrears: the same PSI
    stored = read_reference(mlflow.artifacts.load_text(f"runs:/{champion.run_id}/{REFERENCE_FILE}"))
    population = stored["features"]["population"]
    assert population["rows"] == "in_arrears" and stored["scores"]["population"] == population
    rows = recommend.latest_rows(pd.read_parquet(root / "processed" / "features.parquet"), day)
    tonight = rows[in_arrears(rows, population["charge_off_dpd"])]
    want = psi_from_profile(stored["features"], tonight).set_index("column")
    by_column = drift.set_index("column")
    mine = by_column[by_column["reference"] == "training:roll_rate"].index.intersection(want.index)
    assert len(mine) == len(stored["features"]["columns"]) > 10
    pd.testing.assert_series_equal(by_column.loc[mine, "psi"], want.loc[mine, "psi"])
    assert (by_column.loc[mine, "expected_rows"] == stored["features"]["rows"]).all()
    recs = pd.read_parquet(tmp_path / "out" / f"{day}.parquet")
    scored = recs[recs["account_id"].isin(tonight.index)][["score_roll_forward"]].dropna()
    want = psi_from_profile(stored["scores"], scored)["psi"].iloc[0]
    assert by_column.loc["score_roll_forward", "psi"] == pytest.approx(want, abs=1e-12)


def test_a_champion_without_a_stored_profile_falls_back_to_the_extract_and_says_so(trained, tmp_path, monkeypatch):
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    monkeypatch.setattr(score, "REFERENCE_FILE", "no_such_profile.json")  # as an older champion's run
    out = score.run(params, day, root / "raw", tmp_path / "out", gx_root=root)
    drift = out["drift"]
    assert set(drift["reference"]) == {"extract"} and set(drift["kind"]) == {"feature"}
    assert "logged no no_such_profile.json" in out["references"]["roll_rate"]
    latest = _latest_run()
    assert latest["tags.drift.reference"] == "extract"
    assert "extract rows >= 90 days old" in latest["tags.drift.reference.propensity"]
    assert not any(c.startswith("metrics.psi.score.") and pd.notna(latest[c]) for c in latest.index)


@pytest.fixture(scope="module")
def shifted(trained):
    """Tonight's extract with every statement balance twenty times larger: balances and utilisation drift."""
    _, root, _, _ = trained
    folder = root / "shifted"
    shutil.copytree(root / "raw", folder)
    statements = pd.read_parquet(folder / "statements.parquet")
    statements["balance"] = statements["balance"] * 20
    statements.to_parquet(folder / "statements.parquet", index=False)
    return folder


def _scoring(params, **update):
    return params.model_copy(update={"scoring": params.scoring.model_copy(update=update)})


def test_a_drift_alarm_configured_to_block_exits_8_and_writes_nothing(trained, shifted, tmp_path, monkeypatch):
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    # not blocking: the shifted night writes its recommendations and flags the balances at `act`
    flagged = tmp_path / "flagged"
    loose = score.run(params, day, shifted, flagged, gx_root=root)
    assert sorted(p.name for p in flagged.iterdir()) == [f"{day}.csv", f"{day}.json", f"{day}.parquet"]
    drift = loose["drift"].set_index("column")
    assert drift.loc["balance", "level"] == "act" and "balance" in _latest_run()["tags.drift.act"].split(",")
    assert _latest_run()["tags.drift.alarm"] == "act"
    # tonight's usual drift (the unshifted extract): the small book ages between its test window and tonight
    # (cycles_on_book and the like drift on their own), but its balances sit far below the shift's
    usual = score.run(params, day, root / "raw", tmp_path / "usual", gx_root=root)["drift"].set_index("column")["psi"]
    assert drift.loc["balance", "psi"] > usual["balance"]
    calm = _scoring(params, block_on_drift=True, psi_act=usual.max() + 1.0, psi_watch=0.1)
    assert score.run(calm, day, root / "raw", tmp_path / "calm", gx_root=root)["drift"]["level"].ne("act").all()
    assert (tmp_path / "calm" / f"{day}.parquet").exists(), "blocking on, no column at act: written"
    threshold = (usual["balance"] + drift.loc["balance", "psi"]) / 2
    strict = _scoring(params, block_on_drift=True, psi_act=threshold, psi_watch=min(0.1, threshold))
    # blocking: exit code 8, nothing written (no output, no lock), the MLflow run logged with the alarm
    out = tmp_path / "blocked"
    with pytest.raises(score.ScoreError, match="drift alarm.*balance") as err:
        score.run(strict, day, shifted, out, gx_root=root)
    assert err.value.code == score.EXIT_DRIFT == 8
    assert not out.exists() or not any(out.iterdir())
    latest = _latest_run()
    assert latest["tags.drift.alarm"] == "blocked" and "balance" in latest["tags.drift.act"].split(",")
    assert latest["metrics.psi.balance"] == pytest.approx(drift.loc["balance", "psi"])


def _with(params, scoring=None, strategy=None):
    update = {}
    if scoring:
        update["scoring"] = params.scoring.model_copy(update=scoring)
    if strategy:
        update["strategy"] = params.strategy.model_copy(update=strategy)
    return params.model_copy(update=update)


def test_partitions_of_whole_borrowers_plan_as_the_whole_book_when_capacity_is_ample(trained, tmp_path, monkeypatch):
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    ample = {"contact_budget": None, "calls_per_hour": 1e9, "field_visits_per_day": 1e9}
    whole = score.run(
        _with(params, {"partition_accounts": 10**6}, ample), day, root / "raw", tmp_path / "whole", gx_root=root
    )
    parts = score.run(
        _with(params, {"partition_accounts": 300}, ample), day, root / "raw", tmp_path / "parts", gx_root=root
    )
    a = pd.read_parquet(tmp_path / "whole" / f"{day}.parquet").sort_values("account_id", ignore_index=True)
    b = pd.read_parquet(tmp_path / "parts" / f"{day}.parquet").sort_values("account_id", ignore_index=True)
    assert whole["recommend"]["contacts"] > 0 and len(a) > 20  # spread over 4 partitions of 300 accounts
    pd.testing.assert_frame_equal(a, b)  # the same rows, actions, scores, reasons and book-wide priority ranks
    ranks = b["priority_rank"].dropna().sort_values().to_numpy()
    assert (ranks == range(1, len(ranks) + 1)).all(), "one ranking across the partitions"
    assert parts["recommend"] == whole["recommend"]


def test_worker_processes_write_the_same_bytes_as_one_process(trained, tmp_path, monkeypatch):
    """scoring.workers 2: spawned processes validate and plan the partitions, each loading the champions from the
    registry by version; the outputs are byte-identical to one process's."""
    params, root, registry, day = trained
    _use(registry, monkeypatch)
    for workers in (1, 2):
        score.run(
            _with(params, {"partition_accounts": 400, "workers": workers}),
            day,
            root / "raw",
            tmp_path / f"workers-{workers}",
            gx_root=root,
        )
    for suffix in ("parquet", "csv", "json"):
        one, two = (tmp_path / f"workers-{w}" / f"{day}.{suffix}" for w in (1, 2))
        assert one.read_bytes() == two.read_bytes(), suffix
    assert len(pd.read_parquet(tmp_path / "workers-2" / f"{day}.parquet")) > 20


def test_each_partition_gets_its_share_of_capacity_so_the_book_stays_within_it(trained, tmp_path, monkeypatch):
    from core.compliance.rules import Rulebook
    from core.io import read_tables
    from features.state_frame import state_frame
    from strategy.verify import verify

    params, root, registry, day = trained
    _use(registry, monkeypatch)
    # two partitions; unconstrained, the plan calls accounts of both at overlapping UTC hours (a 4-hour window
    # uses 0.25 of a call in each of its hours): the book may place one of them, a partition none at its share
    tight = _with(params, {"partition_accounts": 600}, {"contact_budget": None, "calls_per_hour": 0.4})
    score.run(tight, day, root / "raw", tmp_path, gx_root=root)
    recs = pd.read_parquet(tmp_path / f"{day}.parquet")
    states = state_frame(read_tables(root / "validated"), day, tight)
    found = verify(recs, states, day, Rulebook.from_params(tight.compliance), tight.strategy)
    assert found.empty, found  # calls per UTC hour and field visits: the whole book's, not a partition's


def test_the_uplift_champion_carries_the_logs_facts_so_the_night_never_rebuilds_decision_rows(
    trained, tmp_path, monkeypatch
):
    from models.uplift.store import load_facts

    params, root, registry, day = trained
    _use(registry, monkeypatch)
    facts = load_facts(score.champion_uplift(params, tmp_path / "champion"))
    assert facts is not None and set(facts) == {
        "reminder_lift",
        "logged_contact_share",
        "logged_contact_share_by_bucket",
    }

    def rebuilt(*args, **kwargs):
        raise AssertionError("the nightly job rebuilt the decision rows")

    monkeypatch.setattr(strategy_model, "decision_rows", rebuilt)
    assert score.run(params, day, root / "raw", tmp_path / "out", gx_root=root)["recommend"]["accounts"] > 0
