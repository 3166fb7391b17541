"""The public entry points: feature, label and contact-label tables for a partition of accounts.

Every function takes the canonical tables of some accounts (all of them, or one partition:
accounts are independent, so partition results concatenate to the whole-book result) and
returns one frame. `partition_bounds` cuts a book into account-id ranges for the stage.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.buckets import Buckets
from core.params import BucketParams, FeaturesParams, Params
from features import account, contacts, delinquency, payments, raw, restrictions
from features.asof import AsOfDates, Book, Context, make_book, make_spine
from features.catalogue import feature_specs
from features.labels import contact_label_columns, contact_labels, label_columns, observation_end, roll_and_pay_labels

FAMILIES = (delinquency, payments, contacts, restrictions, account, raw)
Tables = Mapping[str, pd.DataFrame]


def resolve(
    params: FeaturesParams | Params | None, buckets: Buckets | BucketParams | None
) -> tuple[FeaturesParams, Buckets]:
    """Accept the whole Params or its sections, so callers pass whatever they hold."""
    if isinstance(params, Params):
        buckets = params.buckets if buckets is None else buckets
        params = params.features
    params = params or FeaturesParams()
    buckets = buckets or BucketParams()
    if isinstance(buckets, BucketParams):
        buckets = buckets.as_buckets()
    return params, buckets


def _context(
    tables: Tables,
    as_of_dates: AsOfDates,
    params: FeaturesParams | Params | None,
    buckets: Buckets | BucketParams | None,
) -> Context:
    params, buckets = resolve(params, buckets)
    book = make_book(tables)
    spine = make_spine(book, as_of_dates, buckets)
    return Context.create(book, spine, params, buckets)


def _keys(ctx: Context) -> dict[str, np.ndarray]:
    return {"account_id": ctx.book.account_ids[ctx.spine.codes], "as_of_date": ctx.spine.as_of}


def _feature_frame(ctx: Context) -> pd.DataFrame:
    columns = _keys(ctx)
    for family in FAMILIES:
        columns.update(family.compute(ctx))
    names = [f.name for f in feature_specs(ctx.params)]
    if list(columns) != names:
        missing, extra = set(names) - set(columns), set(columns) - set(names)
        raise RuntimeError(
            f"features differ from the catalogue: missing {sorted(missing)}, extra {sorted(extra)}, or out of order"
        )
    return pd.DataFrame(columns, copy=False)


def _label_frame(ctx: Context, observed_until: np.int64 | None) -> pd.DataFrame:
    end = observation_end(ctx.book.statements.frame) if observed_until is None else observed_until
    columns = _keys(ctx)
    labels = roll_and_pay_labels(ctx, end)
    assert list(labels) == label_columns(ctx.params)
    columns.update(labels)
    return pd.DataFrame(columns, copy=False)


def _contact_frame(book: Book, params: FeaturesParams, observed_until: np.int64 | None) -> pd.DataFrame:
    end = observation_end(book.statements.frame) if observed_until is None else observed_until
    out = contact_labels(book, params, end)
    assert list(out.columns[-3:]) == contact_label_columns(params)
    return out


def build_features(
    tables: Tables,
    as_of_dates: AsOfDates = None,
    params: FeaturesParams | Params | None = None,
    buckets: Buckets | BucketParams | None = None,
) -> pd.DataFrame:
    """One row per (account_id, as_of_date) with every catalogued feature, from records before the date.

    `as_of_dates=None` gives training rows (each cycle_date + 1 day); a date or list of dates
    gives scoring rows for the accounts open then (opened before the date, not charged off at
    their last statement); a frame of (account_id, as_of_date) pairs gives exactly those rows.
    """
    return _feature_frame(_context(tables, as_of_dates, params, buckets))


def build_labels(
    tables: Tables,
    as_of_dates: AsOfDates = None,
    params: FeaturesParams | Params | None = None,
    buckets: Buckets | BucketParams | None = None,
    observed_until: np.int64 | None = None,
) -> pd.DataFrame:
    """Labels for the same rows as `build_features` (same arguments give the same keys, same order).

    `observed_until` (seconds since features.asof.BASE, exclusive) is the end of the data; by
    default the day after the latest statement in `tables`. A partitioned caller passes the
    whole book's end so that every partition judges "fully observed" alike.
    """
    return _label_frame(_context(tables, as_of_dates, params, buckets), observed_until)


def build_contact_labels(
    tables: Tables, params: FeaturesParams | Params | None = None, observed_until: np.int64 | None = None
) -> pd.DataFrame:
    """One row per contact (sorted by contact_id) with its response labels."""
    params, _ = resolve(params, None)
    return _contact_frame(make_book(tables), params, observed_until)


def build_all(
    tables: Tables,
    params: FeaturesParams | Params | None = None,
    buckets: Buckets | BucketParams | None = None,
    observed_until: np.int64 | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training features, labels and contact labels of a partition, indexing its tables once."""
    ctx = _context(tables, None, params, buckets)
    return _feature_frame(ctx), _label_frame(ctx, observed_until), _contact_frame(ctx.book, ctx.params, observed_until)
