"""The nightly plan's partitions: book-wide priority ranks and capacity shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from core.params import StrategyParams
from strategy.capacity import share_of
from strategy.nightly import priority_ranks

values = st.lists(st.one_of(st.none(), st.integers(-5, 5).map(float)), max_size=30)


@given(st.lists(values, min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_partition_ranks_are_the_whole_books_ranks(parts):
    """Ties and all: the ranks of the concatenated book, as `recommendations` ranks one frame (no contact:
    empty), cut back into the partitions."""
    arrays = [np.array([np.nan if v is None else v for v in p], dtype=np.float64) for p in parts]
    whole = pd.Series(np.concatenate(arrays)).rank(ascending=False, method="first").astype("Int64")
    got = priority_ranks(arrays)
    assert [len(r) for r in got] == [len(a) for a in arrays]
    joined = pd.array(np.concatenate([np.asarray(r, dtype=object) for r in got]), dtype="Int64")
    pd.testing.assert_extension_array_equal(joined, whole.array)


def test_a_partition_gets_its_share_of_calls_and_visits_only():
    p = StrategyParams()
    half = share_of(p, 0.25)
    assert half.calls_per_hour == p.calls_per_hour * 0.25 and half.field_visits_per_day == p.field_visits_per_day / 4
    assert half.model_dump(exclude={"calls_per_hour", "field_visits_per_day"}) == p.model_dump(
        exclude={"calls_per_hour", "field_visits_per_day"}
    )
    assert share_of(p, 1.0) is p
