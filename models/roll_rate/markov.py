"""The Markov baseline: the empirical bucket-to-bucket transition matrix.

This is the view collections teams already use (roll rates), so it is the bar a model must
clear account by account. One matrix per product segment where the segment has data: each
segment row is shrunk towards the pooled row by `segment_prior` pseudo-transitions, so a thin
segment falls back smoothly to the pooled matrix instead of jumping at an arbitrary row count.
The last bucket (charge-off) is absorbing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def transition_counts(
    source: np.ndarray, target: np.ndarray, n_buckets: int, n_targets: int | None = None
) -> np.ndarray:
    """K x T matrix of observed transitions (row: bucket now, column: outcome, by default the bucket
    next cycle, T = K)."""
    n_targets = n_buckets if n_targets is None else n_targets
    source = np.asarray(source, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    flat = np.bincount(source * n_targets + target, minlength=n_buckets * n_targets)
    return flat.reshape(n_buckets, n_targets).astype(np.float64)


def normalise_rows(counts: np.ndarray, smoothing: float, absorbing: int | None) -> np.ndarray:
    """Row-stochastic matrix from counts. Rows never observed stay put (identity) in a square
    bucket matrix, or take the pooled outcome shares otherwise; `absorbing` always stays put."""
    k, t = counts.shape
    seen = counts.sum(axis=1) > 0
    smoothed = counts + np.where(seen[:, None], smoothing, 0.0)
    if k == t:
        out = np.eye(k)
    else:
        total = counts.sum(axis=0) + smoothing
        out = np.tile(total / total.sum(), (k, 1))
    out[seen] = smoothed[seen] / smoothed[seen].sum(axis=1, keepdims=True)
    if absorbing is not None and k == t:
        out[absorbing] = np.eye(k)[absorbing]
    return out


class MarkovBaseline:
    """Per-account prediction = the transition-matrix row of the account's current bucket."""

    def __init__(
        self,
        n_buckets: int,
        smoothing: float = 0.5,
        segment_prior: float = 50.0,
        absorbing: int | None = None,
        n_targets: int | None = None,
    ) -> None:
        self.n_buckets = n_buckets
        #: outcomes per row: the buckets (a transition matrix) or, say, 2 for default / no default
        self.n_targets = n_buckets if n_targets is None else n_targets
        self.smoothing = smoothing
        self.segment_prior = segment_prior
        self.absorbing = absorbing

    def fit(
        self, source: np.ndarray, target: np.ndarray, segment: np.ndarray | pd.Series | None = None
    ) -> MarkovBaseline:
        k, t = self.n_buckets, self.n_targets
        self.counts_ = transition_counts(source, target, k, t)
        self.matrix_ = normalise_rows(self.counts_, self.smoothing, self.absorbing)
        self.segment_matrices_: dict[str, np.ndarray] = {}
        self.segment_counts_: dict[str, np.ndarray] = {}
        if segment is not None:
            seg = _as_labels(segment)
            for value in np.unique(seg):
                rows = seg == value
                counts = transition_counts(np.asarray(source)[rows], np.asarray(target)[rows], k, t)
                prior = self.segment_prior * self.matrix_
                shrunk = normalise_rows(counts + prior, 0.0, self.absorbing)
                self.segment_counts_[value] = counts
                self.segment_matrices_[value] = shrunk
        return self

    def matrix(self, segment: str | None = None) -> np.ndarray:
        """The fitted matrix of one segment (the pooled one for None or an unseen segment)."""
        return self.segment_matrices_.get(segment, self.matrix_) if segment is not None else self.matrix_

    def predict_proba(self, source: np.ndarray, segment: np.ndarray | pd.Series | None = None) -> np.ndarray:
        source = np.asarray(source, dtype=np.int64)
        out = self.matrix_[source]
        if segment is not None and self.segment_matrices_:
            seg = _as_labels(segment)
            for value, matrix in self.segment_matrices_.items():
                rows = seg == value
                out[rows] = matrix[source[rows]]
        return out


def _as_labels(segment: np.ndarray | pd.Series) -> np.ndarray:
    """Segment values as strings (categories, strings or codes alike); missing becomes ''."""
    return pd.Series(segment).astype(object).where(pd.Series(segment).notna(), "").astype(str).to_numpy()
