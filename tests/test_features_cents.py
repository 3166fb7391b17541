"""Money as integer cents: exact up to the schema's maximum, refused (never wrapped) beyond 2^53 cents."""

from __future__ import annotations

import numpy as np
import pytest
from features_data import tiny_book

from core.errors import DataError
from core.schema import MAX_AMOUNT
from features import build_contact_labels, build_features, build_labels
from features.asof import MAX_CENTS, cents, prefix_sum


def test_cents_are_exact_up_to_the_schema_maximum():
    amounts = np.array([0.0, 0.01, 123.45, 0.07 * 3, np.nan, MAX_AMOUNT, MAX_AMOUNT - 0.01, 9_007_199_254_740.99])
    got = cents(amounts, "payments", "amount")
    assert got.dtype == np.int64
    assert got.tolist() == [0, 1, 12345, 21, 0, 10**14, 10**14 - 1, 900_719_925_474_099]
    assert MAX_AMOUNT * 100 < MAX_CENTS <= 2**53


@pytest.mark.parametrize("value", [1e18, -1e18, 9.1e13, np.inf, -np.inf])
def test_cents_refuse_what_they_cannot_hold_exactly(value):
    """1e18 used to wrap around int64 silently: utilisation -2.56e13 and a RuntimeWarning."""
    with pytest.raises(DataError, match=r"table 'payments', column 'amount'.*2\^53 cents") as caught:
        cents(np.array([5.0, value]), "payments", "amount")
    assert caught.value.rule == "max_value"


def test_a_column_stack_names_the_column_that_overflows():
    values = np.column_stack([[1.0, 2.0], [3.0, 1e17], [5.0, 6.0]])
    with pytest.raises(DataError, match="column 'amount_due'"):
        cents(values, "statements", ("amount_paid", "amount_due", "balance"))
    assert cents(values[:1], "statements", ("amount_paid", "amount_due", "balance")).tolist() == [[100, 300, 500]]


def test_prefix_sums_of_cents_stay_exact_when_the_running_total_wraps():
    """A partition's running total of maximal amounts may pass 2^63; a window's sum is still exact."""
    amounts = cents(np.full(200_000, MAX_AMOUNT), "payments", "amount")
    total = prefix_sum(amounts)
    assert int(total[-1]) != 200_000 * 10**14  # wrapped around
    assert int(total[150_010] - total[150_000]) == 10 * 10**14


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("statements", "balance"),
        ("statements", "past_due_amount"),
        ("payments", "amount"),
        ("contacts", "promise_amount"),
    ],
)
def test_features_refuse_an_amount_beyond_exact_cents(table, column):
    """Validation quarantines such amounts; called as a library, the features stage refuses them."""
    book = tiny_book()
    frame = book[table]
    frame.loc[frame[column].notna().idxmax(), column] = 1e18
    with pytest.raises(DataError, match=f"table '{table}', column '{column}'"):
        build_features(book)
        build_labels(book)
        build_contact_labels(book)
