"""Champion/challenger: training registers only, `promote` moves `champion` on a win by the margin and
tags why, refuses when the champion moved since the challenger was scored, and `--rollback` moves the
alias back to the version the champion replaced (a consumer of `models:/<name>@champion` then loads it).

Versions are registered through the real `registry.track` with a stand-in family (a tiny pickled pyfunc
and a logged test loss), in the throwaway MLflow store of each test (tests/conftest.py)."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from mlflow import MlflowClient
from typer.testing import CliRunner

from core.errors import DataError
from core.params import Params, parse_params
from models.common import promotion
from models.common.registry import CHAMPION, track
from pipeline.cli import app
from pipeline.stages import promote

NAME = "rr_promote_test"


class _Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return model_input


@dataclass
class _Stub:
    """A fitted model as the registry sees it: its test loss, and a pickled pyfunc (so the logged loss is
    the champion's score on the same window, as for a champion from an older format)."""

    loss: float
    registered_model: str = NAME
    family = "roll_rate"
    experiment = "promote_test"
    score_name = "logloss"
    score_metric = "model.logloss"
    run_params = Params()

    def params(self) -> dict[str, object]:
        return {}

    def components(self) -> dict[str, dict[str, object]]:
        return {}

    def card_sections(self) -> dict[str, str]:
        return {"Known limits": "- a stub"}

    def tags(self) -> dict[str, str]:
        return {}

    def metrics(self) -> dict[str, object]:
        return {"model": {"logloss": self.loss}}

    def test_score(self) -> float:
        return self.loss

    def write_artifacts(self, folder: Path) -> None:
        (folder / "note.txt").write_text("stub")

    def log_model(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow discourages pickled models: irrelevant to promotion
            return mlflow.pyfunc.log_model(name="model", python_model=_Echo(), pip_requirements=["pandas"])

    def score(self, model) -> float:
        raise AssertionError("a pickled champion is never loaded")


def _train(tmp_path: Path, loss: float, stem: str = "roll_rate") -> tuple[Path, dict]:
    """What a training stage does: register a challenger and write its registration record."""
    record = asdict(track(_Stub(loss), {}))
    path = tmp_path / f"{stem}.json"
    path.write_text(json.dumps(record))
    return path, record


def _promote(tmp_path: Path, *records: Path, margin: float = 0.001) -> dict:
    params = parse_params({"promote": {"margin": margin}})
    return promote.run(params, list(records), tmp_path / "promotion.json")


def _champion() -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(NAME, CHAMPION).version)
    except mlflow.exceptions.MlflowException:
        return None


def _version_tags(version: str) -> dict[str, str]:
    return MlflowClient().get_model_version(NAME, version).tags


def test_training_registers_only_and_the_first_version_is_promoted(tmp_path):
    path, record = _train(tmp_path, 0.50)
    assert record["version"] == "1" and record["champion_version"] is None and record["champion_score"] is None
    assert _champion() is None, "training never moves the alias"

    summary = _promote(tmp_path, path)
    row = summary["families"]["roll_rate"]
    assert (row["decision"], row["reason"], row["champion_after"]) == ("promoted", "no champion", "1")
    assert _champion() == "1"
    tags = _version_tags("1")
    assert tags["promotion.decision"] == "promoted" and tags[promotion.PREVIOUS] == "none"
    assert tags["promotion.challenger_score"] == "0.500000" and tags["promotion.margin"] == "0.001"
    run_tags = MlflowClient().get_run(record["run_id"]).data.tags
    assert run_tags["promotion.decision"] == "promoted", "the run says it too"
    assert json.loads((tmp_path / "promotion.json").read_text()) == summary

    # promoting the same record again changes nothing, and says so; the file holds no timestamp
    again = _promote(tmp_path, path)
    assert again["families"]["roll_rate"]["decision"] == "already_champion" and _champion() == "1"
    assert _version_tags("1")["promotion.decision"] == "promoted", "the history is not overwritten"


def test_a_challenger_within_the_margin_keeps_the_champion_and_the_reason_is_tagged(tmp_path):
    _promote(tmp_path, _train(tmp_path, 0.50)[0])
    same, record = _train(tmp_path, 0.50)  # retrained identical model
    assert record["champion_version"] == "1" and record["champion_score"] == pytest.approx(0.50)
    assert _promote(tmp_path, same)["families"]["roll_rate"]["decision"] == "kept"
    slightly, _ = _train(tmp_path, 0.4996)  # 0.08% better: below the 0.1% margin
    row = _promote(tmp_path, slightly)["families"]["roll_rate"]
    assert row["decision"] == "kept" and row["relative_improvement"] == pytest.approx(0.0008)
    assert _champion() == "1"
    tags = _version_tags("3")
    assert tags["promotion.decision"] == "kept" and "by more than the margin" in tags["promotion.reason"]
    assert tags["promotion.champion_score"] == "0.500000" and tags["promotion.compared_with"] == "1"
    assert promotion.PREVIOUS not in tags


def test_a_clear_winner_is_promoted_and_records_the_champion_it_replaced(tmp_path):
    _promote(tmp_path, _train(tmp_path, 0.50)[0])
    better, _ = _train(tmp_path, 0.45)
    row = _promote(tmp_path, better)["families"]["roll_rate"]
    assert (row["decision"], row["champion_before"], row["champion_after"]) == ("promoted", "1", "2")
    assert row["relative_improvement"] == pytest.approx(0.10)
    assert _champion() == "2" and _version_tags("2")[promotion.PREVIOUS] == "1"


def test_promotion_is_refused_when_the_champion_moved_since_the_challenger_was_scored(tmp_path):
    _promote(tmp_path, _train(tmp_path, 0.50)[0])
    first, _ = _train(tmp_path, 0.45, "first")  # both scored against version 1
    second, _ = _train(tmp_path, 0.40, "second")
    _promote(tmp_path, second)
    assert _champion() == "3"
    row = _promote(tmp_path, first)["families"]["roll_rate"]
    assert row["decision"] == "refused" and "champion moved" in row["reason"] and _champion() == "3"
    assert _version_tags("2")["promotion.decision"] == "refused"


def test_rollback_moves_the_alias_back_and_consumers_load_the_previous_version(tmp_path):
    _, v1 = _train(tmp_path, 0.50)
    _promote(tmp_path, tmp_path / "roll_rate.json")
    better, v2 = _train(tmp_path, 0.40)
    _promote(tmp_path, better)
    loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@{CHAMPION}")
    assert loaded.metadata.run_id == v2["run_id"]

    done = CliRunner().invoke(app, ["promote", "--rollback", NAME, "--reason", "complaints rose"])
    assert done.exit_code == 0, done.output
    assert "moved back from version 2 to 1" in done.output and _champion() == "1"
    assert mlflow.pyfunc.load_model(f"models:/{NAME}@{CHAMPION}").metadata.run_id == v1["run_id"]
    tags = _version_tags("2")
    assert tags[promotion.DEMOTED] == "true" and tags["rollback.reason"] == "complaints rose"
    assert _version_tags("1")["rollback.restored_from"] == "2"
    # the rolled-back version's record does not promote it again
    row = _promote(tmp_path, better)["families"]["roll_rate"]
    assert row["decision"] == "refused" and "rolled back" in row["reason"] and _champion() == "1"


def test_rollback_with_nothing_to_roll_back_to_is_a_clear_error(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["promote", "--rollback", NAME])
    assert missing.exit_code == promote.EXIT_NOTHING_TO_ROLL_BACK and "no registered model" in missing.output
    _promote(tmp_path, _train(tmp_path, 0.50)[0])
    first = runner.invoke(app, ["promote", "--rollback", NAME])
    assert first.exit_code == promote.EXIT_NOTHING_TO_ROLL_BACK, first.output
    assert "nothing to roll back to" in first.output and "Traceback" not in first.output
    assert not isinstance(first.exception, promotion.RollbackError)
    assert _champion() == "1"


def test_the_stage_command_writes_the_summary_and_an_untracked_record_is_skipped(tmp_path):
    path, _ = _train(tmp_path, 0.50)
    untracked = tmp_path / "uplift.json"
    untracked.write_text(json.dumps({"tracked": False}))
    out = tmp_path / "out" / "promotion.json"
    done = CliRunner().invoke(app, ["promote", "--record", str(path), "--record", str(untracked), "--output", str(out)])
    assert done.exit_code == 0, done.output
    families = json.loads(out.read_text())["families"]
    assert families["roll_rate"]["decision"] == "promoted" and families["uplift"]["decision"] == "untracked"
    assert f"{NAME} version 1: promoted (no champion); champion 1" in done.output


@given(
    champion=st.floats(-10, 10, allow_nan=False),
    margin=st.floats(0, 0.5, allow_nan=False),
    better=st.floats(0, 5, allow_nan=False),
)
def test_the_rule_never_promotes_an_equal_score_and_always_a_large_enough_improvement(champion, margin, better):
    assert not promotion.beats(champion, champion, margin)
    assume(abs(better - margin * abs(champion)) > 1e-9)  # away from the edge, where rounding decides
    challenger = champion - better
    expected_win = better > margin * abs(champion)
    assert promotion.beats(challenger, champion, margin) == expected_win
    verdict, _ = promotion.decide("2", challenger, "1", champion, "1", margin)
    assert verdict == ("promoted" if expected_win else "kept")


def test_a_record_from_before_the_promote_step_or_of_another_store_is_not_promoted(tmp_path):
    _promote(tmp_path, _train(tmp_path, 0.50)[0])
    path, record = _train(tmp_path, 0.10)
    legacy = {k: v for k, v in record.items() if k not in ("champion_version", "family")} | {"champion": False}
    path.write_text(json.dumps(legacy))
    row = _promote(tmp_path, path)["families"]["roll_rate"]
    assert row["decision"] == "refused" and "predates the promote step" in row["reason"] and _champion() == "1"
    path.write_text(json.dumps(record | {"version": "9"}))
    with pytest.raises(DataError, match="version 9 is not in the registry"):
        _promote(tmp_path, path)
    with pytest.raises(DataError, match="no registration record"):
        _promote(tmp_path, tmp_path / "absent.json")
