"""Same seed, same bytes; another seed, other data; and blocks never change the result."""

from __future__ import annotations

import hashlib

import pandas as pd
from simulator_data import small_params

from core.schema import TABLE_NAMES
from pipeline.stages import simulate
from simulator import Simulation


def _digests(directory) -> dict[str, str]:
    return {name: hashlib.sha256((directory / f"{name}.parquet").read_bytes()).hexdigest() for name in TABLE_NAMES}


def test_same_seed_writes_identical_files(tmp_path):
    params = small_params(seed=3, accounts=400, cycles=5)
    simulate.run(params, tmp_path / "a", metrics_file=tmp_path / "a.json")
    simulate.run(params, tmp_path / "b", metrics_file=tmp_path / "b.json")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()


def test_different_seed_gives_different_data():
    a = Simulation.from_params(small_params(seed=1, accounts=300, cycles=4)).run(record=True).tables()
    b = Simulation.from_params(small_params(seed=2, accounts=300, cycles=4)).run(record=True).tables()
    for name in ("accounts", "statements", "payments", "contacts"):
        assert not a[name].equals(b[name]), name
    assert not a["accounts"]["open_date"].equals(b["accounts"]["open_date"])


def test_block_size_does_not_change_the_tables():
    """Draws are keyed by (account, day), so splitting the book into blocks changes nothing."""
    whole = Simulation.from_params(small_params(seed=5, accounts=700, cycles=4)).run(record=True)
    split = Simulation.from_params(small_params(seed=5, accounts=700, cycles=4, block_accounts=150))
    assert len(split.layout.blocks) >= 4
    parts = split.run(record=True)
    a, b = whole.tables(), parts.tables()
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    assert whole.outcome.as_dict() == parts.outcome.as_dict()


def test_blocks_hold_whole_borrowers():
    sim = Simulation.from_params(small_params(seed=5, accounts=1000, cycles=3, block_accounts=100))
    owner = sim.layout.borrower_of_account
    for a0, a1, b0, b1 in sim.layout.blocks:
        assert owner[a0] == b0 and owner[a1 - 1] == b1 - 1
        assert a0 == 0 or owner[a0 - 1] < b0
    assert sim.layout.blocks[-1][1] == 1000


def test_latent_traits_belong_to_borrowers_and_explain_arrears():
    """One row per written account; a borrower's accounts share their traits; the segments behave
    as documented (hardship borrowers end cycles in arrears more often than normal ones)."""
    whole = Simulation.from_params(small_params(seed=5, accounts=1500, cycles=8))
    traits = whole.latent_traits()
    tables = whole.run(record=True).tables()
    assert traits["account_id"].tolist() == tables["accounts"]["account_id"].tolist()
    by_borrower = traits.assign(borrower_id=tables["accounts"]["borrower_id"].to_numpy()).groupby("borrower_id")
    assert (by_borrower[["ability_z", "willingness_z"]].nunique() == 1).all().all()
    assert (by_borrower["segment"].nunique() == 1).all()
    late = tables["statements"].assign(late=lambda s: s["days_past_due"] > 0).merge(traits, on="account_id")
    share = late.groupby("segment", observed=True)["late"].mean()
    assert share["hardship"] > 2 * share["normal"]
    split = Simulation.from_params(small_params(seed=5, accounts=1500, cycles=8, block_accounts=300))
    pd.testing.assert_frame_equal(traits, split.latent_traits())
