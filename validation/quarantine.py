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


def quarantine_frame(raw: pd.DataFrame, why: pd.Series) -> pd.DataFrame:
    """The input rows at the positions of `why`, as they were read, with row_number and reason."""
    rows = raw.iloc[why.index.to_numpy()]
    out = pd.DataFrame(
        {
            name: (rows[name].astype("str").where(rows[name].notna()) if rows[name].dtype == object else rows[name])
            for name in raw.columns
        }
    )
    out.insert(0, ROW_NUMBER, why.index.to_numpy(dtype="int64"))
    out[REASON] = why.to_numpy()
    return out.reset_index(drop=True)


def examples(raw: pd.DataFrame, spec: Table, rows: Iterable[int], columns: Sequence[str]) -> pd.DataFrame:
    """Up to MAX_EXAMPLE_ROWS input rows for a message: key columns and the columns at fault."""
    context = [c for c in ("account_id",) if c in raw.columns]  # what people search their systems by
    shown = list(dict.fromkeys([*spec.key, *context, *[c for c in columns if c in raw.columns]]))
    picked = np.fromiter(rows, dtype=np.int64)[:MAX_EXAMPLE_ROWS]
    out = raw.iloc[picked][shown].copy()
    out.index = pd.Index(picked, name=ROW_NUMBER)
    return out


def fatal_error(finding: Finding, raw: pd.DataFrame, spec: Table, severity_hint: bool = True) -> DataError:
    """The DataError for a rule configured as fatal: table, column, rule and example rows."""
    text = f"{finding.count} row(s) fail it"
    if severity_hint:
        text += f" (fatal by validate.severity.{finding.rule}; set it to quarantine to move such rows aside)"
    return DataError(
        spec.name,
        finding.rule,
        text,
        column=finding.column,
        rows=examples(raw, spec, finding.rows, finding.column.split("+")),
    )


def share_error(spec: Table, raw: pd.DataFrame, why: pd.Series, findings: Sequence[Finding], limit: float) -> DataError:
    """Too much of a table quarantined: stop, naming the rule that quarantined most rows."""
    top = max(findings, key=lambda f: f.count)
    share = len(why) / max(len(raw), 1)
    counts = ", ".join(f"{f.reason} {f.count}" for f in sorted(findings, key=lambda f: -f.count)[:5])
    rows = examples(raw, spec, top.rows, top.column.split("+"))
    rows[REASON] = why.reindex(rows.index).to_numpy()
    return DataError(
        spec.name,
        "max_quarantine_share",
        f"{len(why)} of {len(raw)} rows ({share:.1%}) would be quarantined, more than "
        f"validate.max_quarantine_share = {limit:.1%}; most by rule '{top.rule}' ({counts})",
        column=top.column,
        rows=rows,
    )
