"""Accounts are independent: partitions concatenate to the whole-book result, and the stage does exactly that."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from features_data import random_book
from hypothesis import given, settings
from hypothesis import strategies as st

from core.io import write_tables
from core.params import parse_params
from core.partitions import PartitionedBook, borrower_partitions, partition_bounds, select_tables, slice_tables
from core.paths import PROJECT_ROOT
from features import build_contact_labels, build_features, build_labels
from features.build import build_latest
from features.labels import observation_end
from pipeline.cli import EXIT_DATA_ERROR
from pipeline.stages import features as stage
from strategy.scores import latest_rows


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    return random_book(60, 8, seed=7)


def _chunked(book, size, build):
    parts = [build(slice_tables(book, lo, hi)) for lo, hi in partition_bounds(book["accounts"]["account_id"], size)]
    return pd.concat(parts, ignore_index=True)


def test_partition_bounds_cover_every_account_once(book):
    ids = book["accounts"]["account_id"]
    bounds = partition_bounds(ids, 7)
    assert len(bounds) == 9
    covered = np.concatenate([ids[ids.between(lo, hi)].to_numpy() for lo, hi in bounds])
    assert sorted(covered) == sorted(ids)


def test_borrower_wide_restrictions_follow_every_partition(book):
    wide = book["restrictions"][book["restrictions"]["account_id"].isna()]
    assert len(wide), "the fixture must hold borrower-wide restrictions"
    for lo, hi in partition_bounds(book["accounts"]["account_id"], 7):
        part = slice_tables(book, lo, hi)
        mine = wide[wide["borrower_id"].isin(part["accounts"]["borrower_id"])]
        assert set(mine["restriction_id"]) <= set(part["restrictions"]["restriction_id"])


@pytest.mark.parametrize("as_of", [None, "2024-05-20"])
def test_chunked_features_equal_whole(book, as_of):
    whole = build_features(book, as_of)
    chunked = _chunked(book, 7, lambda part: build_features(part, as_of))
    pd.testing.assert_frame_equal(whole, chunked, check_exact=True)


def test_chunked_labels_equal_whole(book):
    end = observation_end(book["statements"])
    whole = build_labels(book)
    chunked = _chunked(book, 7, lambda part: build_labels(part, observed_until=end))
    pd.testing.assert_frame_equal(whole, chunked, check_exact=True)
    contacts = _chunked(book, 7, lambda part: build_contact_labels(part, observed_until=end))
    pd.testing.assert_frame_equal(
        build_contact_labels(book), contacts.sort_values("contact_id").reset_index(drop=True), check_exact=True
    )


def test_stage_writes_what_the_library_builds(book, tmp_path):
    write_tables(book, tmp_path / "validated")
    params = parse_params({"features": {"partition_accounts": 7}})
    metrics = stage.run(params, tmp_path / "validated", tmp_path / "processed", tmp_path / "features.json")
    out = {name: pd.read_parquet(tmp_path / "processed" / f"{name}.parquet") for name in stage.OUTPUTS}
    assert metrics["partitions"] == 9
    assert metrics["rows"] == len(out["features"]) == len(out["labels"])
    features = build_features(book, None, params)
    pd.testing.assert_frame_equal(out["features"], features, check_exact=True)
    pd.testing.assert_frame_equal(out["labels"], build_labels(book, None, params), check_exact=True)
    contact = out["contact_labels"].sort_values("contact_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(contact, build_contact_labels(book, params), check_exact=True)
    assert (tmp_path / "processed" / "feature_catalogue.md").read_text().startswith("# Feature catalogue")
    assert metrics["feature_columns"] == features.shape[1] - 2


def test_stage_fails_cleanly_on_a_missing_table(book, tmp_path):
    write_tables({k: v for k, v in book.items() if k != "payments"}, tmp_path / "validated")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "features",
            "--in-dir",
            str(tmp_path / "validated"),
            "--out-dir",
            str(tmp_path / "processed"),
            "--metrics-file",
            str(tmp_path / "m.json"),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == EXIT_DATA_ERROR
    assert "table 'payments'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "processed" / "features.parquet").exists()


def test_failed_run_keeps_previous_outputs(book, tmp_path, monkeypatch):
    write_tables(book, tmp_path / "validated")
    params = parse_params({"features": {"partition_accounts": 20}})
    stage.run(params, tmp_path / "validated", tmp_path / "processed", tmp_path / "m.json")
    before = (tmp_path / "processed" / "features.parquet").read_bytes()
    calls = {"n": 0}
    real = stage.build_all

    def fail_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(stage, "build_all", fail_on_second)
    with pytest.raises(RuntimeError):
        stage.run(params, tmp_path / "validated", tmp_path / "processed", tmp_path / "m.json")
    assert (tmp_path / "processed" / "features.parquet").read_bytes() == before
    assert not [p for p in (tmp_path / "processed").iterdir() if p.name.endswith(".tmp")]


@given(
    borrowers=st.lists(st.integers(1, 4), min_size=0, max_size=40),
    size=st.integers(1, 9),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=200, deadline=None)
def test_borrower_partitions_keep_borrowers_whole_and_cover_every_account_once(borrowers, size, seed):
    """Any book (a borrower's accounts anywhere among the ids): every account once, no borrower split, no
    partition above `size` accounts unless one borrower alone holds more."""
    owner = np.repeat(np.arange(len(borrowers)), borrowers)
    ids = np.random.default_rng(seed).permutation(len(owner)) * 3 + 1
    accounts = pd.DataFrame({"account_id": ids, "borrower_id": owner})
    parts = borrower_partitions(accounts, size)
    together = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    assert sorted(together) == sorted(ids) and len(together) == len(ids)
    of = dict(zip(ids, owner, strict=True))
    for part in parts:
        assert (np.diff(part) > 0).all()
        mine = {of[i] for i in part}
        assert len(part) <= size or len(mine) == 1
        assert all(sum(o == b for o in owner) == sum(of[i] == b for i in part) for b in mine)


def test_reading_a_partition_of_accounts_gives_their_rows_of_every_table(book, tmp_path):
    write_tables(book, tmp_path)
    paged = PartitionedBook(tmp_path)
    for ids in borrower_partitions(book["accounts"], 7):
        part = paged.read_accounts(ids)
        expected = select_tables(book, ids)
        for name, frame in expected.items():
            got = part[name].sort_values(list(part[name].columns[:1]), ignore_index=True)
            pd.testing.assert_frame_equal(got, frame.sort_values(list(frame.columns[:1]), ignore_index=True))
        assert set(part["accounts"]["account_id"]) == set(ids)


@pytest.mark.parametrize("run_date", ["2024-04-02", "2024-09-01"])
def test_latest_rows_alone_equal_the_latest_of_the_whole_training_table(book, run_date):
    whole = latest_rows(build_features(book).copy(), run_date).reset_index()
    alone = build_latest(book, run_date)
    assert len(alone) and alone["account_id"].is_unique
    key = ["account_id"]
    pd.testing.assert_frame_equal(
        alone.sort_values(key, ignore_index=True), whole[alone.columns].sort_values(key, ignore_index=True)
    )
