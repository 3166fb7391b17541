"""The Spark engine runs the features stage's own partition function and writes what the pandas engine writes:
the same rows, columns, types and values, and the same metrics, for parquet and CSV sources, borrower-wide
restrictions, and a simulated book through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from features_data import random_book
from spark_fixtures import spark  # noqa: F401
from typer.testing import CliRunner

from core.io import read_tables, write_tables
from core.params import parse_params
from core.partitions import partition_bounds, slice_tables
from core.paths import PROJECT_ROOT
from core.schema import TABLE_NAMES
from pipeline.cli import app
from pipeline.spark import features as spark_features
from pipeline.spark.engine import map_partitions_spark, part_name
from pipeline.stages import features as stage
from simulator import Simulation
from tests.simulator_data import small_params

#: What a local session started without care leaves in its working directory.
SPARK_LITTER = ("spark-warehouse", "metastore_db", "derby.log")


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    """Every column, channel and restriction kind, borrower-wide restrictions, odd time zones."""
    return random_book(90, 8, seed=11)


def _outputs(directory: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(directory / f"{name}.parquet") for name in stage.OUTPUTS}


def _assert_same(pandas_dir: Path, spark_dir: Path) -> None:
    expected, got = _outputs(pandas_dir), _outputs(spark_dir)
    for name in stage.OUTPUTS:
        assert len(got[name]) > 0, name
        pd.testing.assert_frame_equal(got[name], expected[name], check_exact=False, rtol=1e-12, obj=name)


def _pandas_run(params, in_dir: Path, out: Path) -> dict:
    return stage.run(params, in_dir, out / "pandas", out / "pandas.json")


def _received(spark, directory: Path, out: Path, **partitions) -> list[dict[str, pd.DataFrame]]:
    """The tables each Spark group handed to the partition function, as it wrote them back (one output per table)."""
    outputs = [out / f"{name}.parquet" for name in TABLE_NAMES]
    summaries = map_partitions_spark(spark, directory, 13, lambda t: [t[n] for n in TABLE_NAMES], outputs, **partitions)
    return [
        {name: pd.read_parquet(out / f"{name}.parquet" / part_name(i)) for name in TABLE_NAMES}
        for i in range(len(summaries))
    ]


def test_each_group_gets_the_pandas_engines_partition(spark, book, tmp_path):
    """Types and values survive the trip through Spark exactly, rows in file order, and a borrower-wide
    restriction reaches every range holding one of the borrower's accounts (core.partitions.slice_tables)."""
    write_tables(book, tmp_path / "validated")
    whole = read_tables(tmp_path / "validated")
    bounds = partition_bounds(whole["accounts"]["account_id"], 13)
    received = _received(spark, tmp_path / "validated", tmp_path / "ranges")
    assert len(received) == len(bounds) == 7
    for got, (first, last) in zip(received, bounds, strict=True):
        expected = slice_tables(whole, first, last)
        for name in TABLE_NAMES:
            pd.testing.assert_frame_equal(got[name], expected[name].reset_index(drop=True), check_exact=True, obj=name)
    wide = sum(int(got["restrictions"]["account_id"].isna().sum()) for got in received)
    assert wide >= int(whole["restrictions"]["account_id"].isna().sum()) > 0


def test_explicit_account_partitions(spark, book, tmp_path):
    """Partitions given as sets of account ids (as the nightly plan cuts whole borrowers) rather than ranges."""
    write_tables(book, tmp_path / "validated")
    whole = read_tables(tmp_path / "validated")
    ids = whole["accounts"]["account_id"].to_numpy()
    sets = [ids[0::3], ids[1::3], ids[2::3]]  # interleaved: no set is a range
    received = _received(spark, tmp_path / "validated", tmp_path / "sets", accounts=sets)
    assert len(received) == 3
    for got, members in zip(received, sets, strict=True):
        assert sorted(got["accounts"]["account_id"]) == sorted(members)
        statements = whole["statements"][whole["statements"]["account_id"].isin(members)]
        pd.testing.assert_frame_equal(got["statements"], statements.reset_index(drop=True), check_exact=True)
        borrowers = whole["accounts"].loc[whole["accounts"]["account_id"].isin(members), "borrower_id"]
        restrictions = whole["restrictions"]
        mine = restrictions["account_id"].isin(members) | (
            restrictions["account_id"].isna() & restrictions["borrower_id"].isin(borrowers)
        )
        pd.testing.assert_frame_equal(got["restrictions"], restrictions[mine.to_numpy(bool)].reset_index(drop=True))


def test_parquet_book_equals_pandas_engine(spark, book, tmp_path):
    wide = book["restrictions"]["account_id"].isna()
    assert wide.any(), "the book must hold borrower-wide restrictions"
    write_tables(book, tmp_path / "validated")
    params = parse_params({"features": {"partition_accounts": 13}})
    expected = _pandas_run(params, tmp_path / "validated", tmp_path)
    metrics = spark_features.run(params, tmp_path / "validated", tmp_path / "spark", tmp_path / "spark.json", spark)
    assert metrics == expected == json.loads((tmp_path / "spark.json").read_text())
    assert metrics["partitions"] == 7
    # one parquet file per account range in each output folder
    assert sorted(p.name for p in (tmp_path / "spark" / "features.parquet").iterdir()) == [
        f"part-{i:06d}.parquet" for i in range(7)
    ]
    _assert_same(tmp_path / "pandas", tmp_path / "spark")
    catalogue = (tmp_path / "spark" / "feature_catalogue.md").read_text()
    assert catalogue == (tmp_path / "pandas" / "feature_catalogue.md").read_text()


def test_csv_book_equals_pandas_engine(spark, book, tmp_path):
    """CSV cells cross Spark as text and are read by the schema's parsers, as the pandas readers read them; a
    source without decisions, whose accounts file lacks the origination score, leaves the same features empty."""
    source = tmp_path / "csv"
    source.mkdir()
    tables = dict(book, decisions=book["decisions"].iloc[0:0])
    tables["accounts"] = tables["accounts"].drop(columns="origination_score")
    for name in TABLE_NAMES:
        (source / f"{name}.csv").write_text(tables[name].to_csv(index=False))
    params = parse_params({"features": {"partition_accounts": 40}})
    expected = _pandas_run(params, source, tmp_path)
    assert "decisions" in expected["tables_absent"] and "accounts.origination_score" in expected["columns_empty"]
    metrics = spark_features.run(params, source, tmp_path / "spark", tmp_path / "spark.json", spark)
    assert metrics == expected
    _assert_same(tmp_path / "pandas", tmp_path / "spark")


def test_simulated_book_through_the_command_line(spark, tmp_path):
    """`python -m pipeline features --engine spark --spark-read direct` (in process: the fixture's session is the
    active one): each task reads its partition with the pandas engine's reader."""
    params = small_params(3, accounts=400, cycles=6, burn_in_cycles=1)
    write_tables(Simulation.from_params(params).run(record=True).tables(), tmp_path / "raw")
    (tmp_path / "params.yaml").write_text("features:\n  partition_accounts: 150\n")
    expected = _pandas_run(parse_params({"features": {"partition_accounts": 150}}), tmp_path / "raw", tmp_path)
    args = ["features", "--params-file", str(tmp_path / "params.yaml"), "--in-dir", str(tmp_path / "raw")]
    args += ["--out-dir", str(tmp_path / "spark"), "--metrics-file", str(tmp_path / "spark.json")]
    args += ["--engine", "spark", "--spark-read", "direct"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "features (spark):" in done.output and "3 partition(s)" in done.output
    assert json.loads((tmp_path / "spark.json").read_text()) == expected
    _assert_same(tmp_path / "pandas", tmp_path / "spark")


def test_a_failed_partition_publishes_nothing(spark, book, tmp_path):
    """All or nothing, as in the pandas engine: a partition that fails leaves the previous outputs as they were."""
    write_tables(book, tmp_path / "validated")
    target = tmp_path / "out" / "counts.parquet"
    target.parent.mkdir()
    pd.DataFrame({"n": [1]}).to_parquet(target)
    before = target.read_bytes()

    def fails_on_a_late_range(tables):
        accounts = tables["accounts"]
        if accounts["account_id"].max() > book["accounts"]["account_id"].median():
            raise RuntimeError("boom")
        return (pd.DataFrame({"n": [len(accounts)]}),)

    with pytest.raises(Exception, match="boom"):
        map_partitions_spark(spark, tmp_path / "validated", 30, fails_on_a_late_range, [target])
    assert target.read_bytes() == before
    assert not list(target.parent.glob(".dunning-tmp/*"))


def test_spark_writes_nothing_into_the_repository(spark):
    spark.sql("SELECT 1").collect()
    spark.catalog.listDatabases()  # touches the warehouse and the catalog
    for name in SPARK_LITTER:
        assert not (PROJECT_ROOT / name).exists(), f"Spark wrote {name} into the repository"
        assert not (Path.cwd() / name).exists(), f"Spark wrote {name} into the working directory"
