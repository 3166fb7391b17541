"""From findings to decisions: the `reason` of each failing row, fatal errors, the escalation threshold.

A row can break several rules; its reason lists them all as `rule:column`, joined by "; ",
in the order the checks ran (cell rules first, then cross-row and cross-table rules).
Quarantined rows keep their input values (text where a column mixed types) plus `row_number`,
their 0-based position among the input file's data rows, so they can be found and fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from core.errors import MAX_EXAMPLE_ROWS, DataError
from core.schema import Table
from validation.rules import Finding

REASON = "reason"
ROW_NUMBER = "row_number"


def reasons(findings: Sequence[Finding]) -> pd.Series:
    """One `reason` string per failing row position (only failing rows), rules in finding order."""
    if not findings:
        return pd.Series([], dtype="str", index=pd.Index([], dtype="int64"))
    rows = np.concatenate([f.rows for f in findings])
    order = np.concatenate([np.full(f.rows.size, i) for i, f in enumerate(findings)])
    labels = np.array([f.reason for f in findings], dtype=object)[order]
    pairs = pd.DataFrame({"row": rows, "order": order, REASON: labels}).sort_values(["row", "order"], kind="stable")
    pairs = pairs.drop_duplicates(["row", REASON])
    return pairs.groupby("row", sort=True)[REASON].agg("; ".join).astype("str")


def quarantine_frame(raw: pd.DataFrame, why: pd.Series, numbers: np.ndarray | None = None) -> pd.DataFrame:
    """The input rows at the positions of `why`, as they were read, with row_number and reason.

    `numbers`: each position's row number in the input file, when `raw` is a part of it (a partition)."""
    rows = raw.iloc[why.index.to_numpy()]
    out = pd.DataFrame(
        {
            name: (rows[name].astype("str").where(rows[name].notna()) if rows[name].dtype == object else rows[name])
            for name in raw.columns
        }
    )
    out.insert(0, ROW_NUMBER, _numbered(why.index.to_numpy(dtype="int64"), numbers))
    out[REASON] = why.to_numpy()
    return out.reset_index(drop=True)


def examples(
    raw: pd.DataFrame, spec: Table, rows: Iterable[int], columns: Sequence[str], numbers: np.ndarray | None = None
) -> pd.DataFrame:
    """Up to MAX_EXAMPLE_ROWS input rows for a message: key columns and the columns at fault, indexed by their
    row numbers in the input file (`numbers`: those of `raw`'s positions, when `raw` is a part of the file)."""
    context = [c for c in ("account_id",) if c in raw.columns]  # what people search their systems by
    shown = list(dict.fromkeys([*spec.key, *context, *[c for c in columns if c in raw.columns]]))
    picked = np.fromiter(rows, dtype=np.int64)[:MAX_EXAMPLE_ROWS]
    out = raw.iloc[picked][shown].copy()
    out.index = pd.Index(_numbered(picked, numbers), name=ROW_NUMBER)
    return out


def _numbered(positions: np.ndarray, numbers: np.ndarray | None) -> np.ndarray:
    """Input-file row numbers of `positions` in a frame whose rows have `numbers` (None: the whole file)."""
    return positions if numbers is None else np.asarray(numbers, dtype=np.int64)[positions]


def fatal_error(
    finding: Finding, raw: pd.DataFrame, spec: Table, severity_hint: bool = True, numbers: np.ndarray | None = None
) -> DataError:
    """The DataError for a rule configured as fatal: table, column, rule and example rows (`numbers` as in
    `examples`)."""
    text = f"{finding.count} row(s) fail it"
    if severity_hint:
        text += f" (fatal by validate.severity.{finding.rule}; set it to quarantine to move such rows aside)"
    return DataError(
        spec.name,
        finding.rule,
        text,
        column=finding.column,
        rows=examples(raw, spec, finding.rows, finding.column.split("+"), numbers),
    )


def share_error(spec: Table, raw: pd.DataFrame, why: pd.Series, findings: Sequence[Finding], limit: float) -> DataError:
    """Too much of a table quarantined: stop, naming the rule that quarantined most rows."""
    top = max(findings, key=lambda f: f.count)
    rows = examples(raw, spec, top.rows, top.column.split("+"))
    rows[REASON] = why.reindex(rows.index).to_numpy()
    by_reason = {f.reason: f.count for f in findings}
    return book_share_error(spec, len(raw), len(why), by_reason, limit, rows)


def book_share_error(
    spec: Table, rows_in: int, quarantined: int, by_reason: dict[str, int], limit: float, rows: pd.DataFrame
) -> DataError:
    """Too much of a table quarantined (`quarantined` of `rows_in`), from the rows quarantined per reason
    (`rule:column`), with example `rows`: stop, naming the rule that quarantined most rows."""
    ranked = sorted(by_reason.items(), key=lambda item: -item[1])
    top_rule, top_column = ranked[0][0].split(":", 1)
    counts = ", ".join(f"{reason} {count}" for reason, count in ranked[:5])
    return DataError(
        spec.name,
        "max_quarantine_share",
        f"{quarantined} of {rows_in} rows ({quarantined / max(rows_in, 1):.1%}) would be quarantined, more than "
        f"validate.max_quarantine_share = {limit:.1%}; most by rule '{top_rule}' ({counts})",
        column=top_column,
        rows=rows,
    )
