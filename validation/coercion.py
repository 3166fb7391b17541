"""Lenient reading of raw values as the schema's logical types, cell by cell.

core.io.conform is strict: one unreadable value stops everything. Validation has to find every
unreadable value instead, so here a value that cannot be read becomes missing and its row is
reported under the `dtype` rule; the good rows are later cast strictly with core.io.conform.
Both read values with core.values, which reads a value exactly as written or refuses it (ISO 8601
dates unless a format is declared, integers without floating point, text untouched).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.schema import Column, Table
from core.values import READ_DTYPES, parse_values
from validation.rules import Finding, finding

#: Dtypes used while checking (see core.values.READ_DTYPES).
CHECK_DTYPES: dict[str, str] = READ_DTYPES


def parse_table(frame: pd.DataFrame, spec: Table, date_format: str | None = None) -> tuple[pd.DataFrame, list[Finding]]:
    """`frame` with every column read as its logical type, and the cells that could not be read."""
    parsed: dict[str, pd.Series] = {}
    findings: list[Finding] = []
    for col in spec.columns:
        values, bad, ambiguous = parse_column(frame[col.name], col, date_format)
        parsed[col.name] = values
        for rule, mask in (("dtype", bad), ("unambiguous_timestamp", ambiguous)):
            if mask is not None and (found := finding(spec.name, rule, col.name, mask)):
                findings.append(found)
    return pd.DataFrame(parsed, index=frame.index, copy=False), findings


def parse_column(
    values: pd.Series, col: Column, date_format: str | None = None
) -> tuple[pd.Series, np.ndarray, np.ndarray | None]:
    """(values as CHECK_DTYPES[type] with unreadable ones missing, unreadable mask, ambiguous mask).

    The ambiguous mask is only for timestamps: naive values in a column where other values carry
    a UTC offset could be in any time zone, so they are not guessed to be UTC. `date_format` is
    the declared format of date columns written other than as ISO 8601 (None: ISO 8601 only).
    """
    parsed = parse_values(values, col.type, date_format if col.type == "date" else None)
    return parsed.values, parsed.bad, parsed.ambiguous
