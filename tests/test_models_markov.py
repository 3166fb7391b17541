"""The Markov baseline: a proper transition matrix, recovered from a history drawn from it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.common.dataset import join_labels
from models.roll_rate.markov import MarkovBaseline, transition_counts
from tests.models_data import markov_history

K = 7
KNOWN = np.array(
    [
        [0.90, 0.10, 0.00, 0.00, 0.00, 0.00, 0.00],
        [0.30, 0.30, 0.40, 0.00, 0.00, 0.00, 0.00],
        [0.10, 0.05, 0.35, 0.50, 0.00, 0.00, 0.00],
        [0.05, 0.00, 0.05, 0.30, 0.60, 0.00, 0.00],
        [0.02, 0.00, 0.00, 0.03, 0.25, 0.70, 0.00],
        [0.01, 0.00, 0.00, 0.00, 0.02, 0.17, 0.80],
        [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 1.00],
    ]
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, K - 1), st.integers(0, K - 1)), min_size=1, max_size=200),
    st.floats(0.0, 5.0),
    st.floats(0.0, 100.0),
)
def test_every_row_is_a_distribution(pairs, smoothing, prior):
    source, target = (np.array(v) for v in zip(*pairs, strict=True))
    segment = np.where(source % 2 == 0, "a", "b")
    model = MarkovBaseline(K, smoothing=smoothing, segment_prior=prior, absorbing=K - 1).fit(source, target, segment)
    for matrix in [model.matrix_, *model.segment_matrices_.values()]:
        assert np.all(matrix >= 0)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
        np.testing.assert_array_equal(matrix[K - 1], np.eye(K)[K - 1])  # charge-off is absorbing
    proba = model.predict_proba(source, segment)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_known_matrix_is_recovered_from_a_toy_history():
    features, labels = markov_history(KNOWN, accounts=6000, cycles=8, seed=3)
    data = join_labels(features, labels, "next_bucket").dropna(subset=["next_bucket"])
    source, target = data["bucket"].to_numpy(), data["next_bucket"].to_numpy(np.int64)
    model = MarkovBaseline(K, smoothing=0.0, absorbing=K - 1).fit(source, target)
    counts = transition_counts(source, target, K).sum(axis=1)
    for row in range(K - 1):
        tolerance = 4 * np.sqrt(0.25 / counts[row])  # four standard errors of a proportion
        np.testing.assert_allclose(model.matrix_[row], KNOWN[row], atol=tolerance)
    assert np.abs(model.matrix_[0] - KNOWN[0]).max() < 0.01  # the big row is tight


def test_thin_segment_falls_back_to_the_pooled_row():
    rng = np.random.default_rng(0)
    source = np.zeros(10_000, dtype=int)
    target = (rng.random(10_000) < 0.1).astype(int)
    segment = np.array(["big"] * 9_990 + ["thin"] * 10)
    target[-10:] = 1  # the thin segment always rolls: 10 rows are not enough to believe it
    model = MarkovBaseline(K, smoothing=0.5, segment_prior=50.0).fit(source, target, segment)
    pooled = model.matrix_[0, 1]
    thin = model.matrix("thin")[0, 1]
    assert pooled < thin < 0.5, "shrunk towards the pooled rate, not equal to the raw 100%"
    assert model.matrix("unseen")[0, 1] == pooled
