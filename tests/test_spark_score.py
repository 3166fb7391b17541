"""The nightly `score` job with its plan on Spark (local mode) writes what the pandas job writes: the same
recommendations, priority ranks and figures, from the same champions (the driver's MLflow store, shared here
by the local executors; the night with its loaded champions is broadcast to them)."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pandas as pd
import pytest
from features_data import random_book
from spark_fixtures import spark  # noqa: F401

from core.errors import DataError
from core.io import write_tables
from core.params import parse_params
from features.spec import Inputs
from pipeline.notebooks import small_params, small_pipeline, tracking_store
from pipeline.spark import score as spark_score
from pipeline.stages import score
from strategy.nightly import Night


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small book and champions of the three families in a registry of this module, with fast models."""
    root = tmp_path_factory.mktemp("spark-score")
    params = small_params(accounts=500, cycles=8)
    pipe = small_pipeline(root, params)
    params = params.model_copy(update={"scoring": params.scoring.model_copy(update={"partition_accounts": 180})})
    last = pd.to_datetime(pd.read_parquet(pipe.raw / "statements.parquet")["cycle_date"]).max().date()
    return pipe, params, last + dt.timedelta(days=1)


def test_spark_scoring_equals_the_pandas_job(spark, trained, tmp_path):
    pipe, params, day = trained
    with tracking_store(pipe.tracking_uri):
        expected = score.run(params, day, pipe.raw, tmp_path / "pandas", gx_root=tmp_path)
        got = score.run(
            params,
            day,
            pipe.raw,
            tmp_path / "spark",
            gx_root=tmp_path,
            plan_book=partial(spark_score.plan_book, spark=spark),
        )
    name = day.isoformat()
    pandas_recs = pd.read_parquet(tmp_path / "pandas" / f"{name}.parquet")
    spark_recs = pd.read_parquet(tmp_path / "spark" / f"{name}.parquet")
    assert len(spark_recs) > 0 and spark_recs["account_id"].is_unique
    pd.testing.assert_frame_equal(spark_recs, pandas_recs, check_exact=False, rtol=1e-12)
    assert (tmp_path / "spark" / f"{name}.csv").read_text() == (tmp_path / "pandas" / f"{name}.csv").read_text()
    assert got["recommend"] == expected["recommend"]
    pd.testing.assert_frame_equal(got["drift"], expected["drift"])


def test_a_violation_on_an_executor_is_the_pandas_jobs_data_error(spark, tmp_path, monkeypatch):
    """The verifier's DataError raised on an executor reaches the driver as the same DataError (its rule kept),
    so `score.run` exits with the verifier's code, as with the pandas engine."""
    write_tables(random_book(40, 6, seed=3), tmp_path / "validated")
    night = Night(dt.date(2024, 6, 1), parse_params({}), None, {}, Inputs(), 40)  # plan_partition is replaced

    def refuses(tables, night):
        raise DataError("recommendations", "verifier", "1 recommendation(s) break a rule", column="action")

    monkeypatch.setattr(spark_score, "plan_partition", refuses)
    with pytest.raises(DataError) as err:
        spark_score.plan_book(night, tmp_path / "validated", tmp_path / "d.parquet", tmp_path / "l.parquet", 20, spark)
    assert (err.value.rule, err.value.table, err.value.column) == ("verifier", "recommendations", "action")
    assert "break a rule" in str(err.value)
    assert not (tmp_path / "d.parquet").exists() and not (tmp_path / "l.parquet").exists()
