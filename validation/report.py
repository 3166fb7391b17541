"""validation.json (the DVC metrics) and a self-contained HTML report of a validation run.

The HTML page is written by hand rather than by GX's Data Docs because those pages load their
CSS and JavaScript from CDNs and show nothing offline; this one inlines its style, has no
scripts and no external links, and also shows the business rules GX does not run.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from html import escape
from typing import Any

import pandas as pd

from core.errors import MAX_EXAMPLE_ROWS
from core.params import ValidateParams
from validation.engine import ValidationOutcome
from validation.quarantine import REASON
from validation.rules import RULES


def summary(outcome: ValidationOutcome) -> dict[str, Any]:
    """Rows in, kept and quarantined per table and per rule; flat numbers so `dvc metrics diff` compares runs."""
    tables: dict[str, Any] = {}
    for name, check in outcome.tables.items():
        by_rule = Counter()
        for f in check.findings:
            by_rule[f.reason] += f.count
        failed = sum(not e["success"] for e in check.expectations)
        tables[name] = table_figures(
            len(check.raw), len(check.validated), len(check.quarantined), by_rule, len(check.expectations), failed
        )
    return book_figures(outcome.as_of_date, tables)


def table_figures(
    rows_in: int, rows_valid: int, rows_quarantined: int, by_rule: Counter, evaluated: int, failed: int
) -> dict[str, Any]:
    """One table's figures in validation.json (also what validation.partitioned adds up over partitions)."""
    return {
        "rows_in": rows_in,
        "rows_valid": rows_valid,
        "rows_quarantined": rows_quarantined,
        "quarantined_share": round(rows_quarantined / rows_in, 6) if rows_in else 0.0,
        "quarantined_by_rule": dict(sorted(by_rule.items())),
        "expectations_evaluated": evaluated,
        "expectations_failed": failed,
    }


def book_figures(as_of: date, tables: dict[str, Any]) -> dict[str, Any]:
    """validation.json: the as-of date, the tables' figures (`table_figures`) and their totals."""
    total = lambda key: sum(t[key] for t in tables.values())  # noqa: E731
    return {
        "as_of_date": as_of.isoformat(),
        "rows_in": total("rows_in"),
        "rows_valid": total("rows_valid"),
        "rows_quarantined": total("rows_quarantined"),
        "expectations_evaluated": total("expectations_evaluated"),
        "expectations_failed": total("expectations_failed"),
        "tables": tables,
    }


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#17692b;font-weight:600}.bad{color:#a4161a;font-weight:600}.muted{color:#666}
code{background:#f5f5f5;padding:0 3px}
"""


def render_html(outcome: ValidationOutcome, metrics: dict[str, Any], params: ValidateParams) -> str:
    """The report page; every value from the data is HTML-escaped."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Validation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Validation report</h1>",
        f"<p>As-of date <code>{escape(metrics['as_of_date'])}</code> ({escape(outcome.as_of_source)}). "
        f"{metrics['rows_in']:,} rows read, {metrics['rows_valid']:,} passed on to <code>data/validated/</code>, "
        f"{_status(metrics['rows_quarantined'], 'quarantined')} to <code>data/quarantine/&lt;table&gt;.parquet</code>. "
        f"Great Expectations evaluated {metrics['expectations_evaluated']} expectations generated from "
        f"<code>core/schema.py</code>; {_status(metrics['expectations_failed'], 'failed')}.</p>",
        "<p class='muted'>Rows breaking a <em>row-level</em> rule are quarantined with a <code>reason</code> "
        "(<code>rule:column</code>); a <em>fatal</em> rule stops the run instead and leaves the previous "
        f"outputs in place. A table with more than {params.max_quarantine_share:.1%} of its rows quarantined "
        "is fatal.</p>",
        _table(
            ["table", "rows in", "valid", "quarantined", "share"],
            [
                [
                    _Markup(f"<a href='#{n}'>{escape(n)}</a>"),
                    _n(t["rows_in"]),
                    _n(t["rows_valid"]),
                    _n(t["rows_quarantined"]),
                    f"{t['quarantined_share']:.2%}",
                ]
                for n, t in metrics["tables"].items()
            ],
            numeric={1, 2, 3, 4},
        ),
    ]
    for name, check in outcome.tables.items():
        parts.append(f"<h2 id='{name}'>{name}</h2>")
        if check.dropped_columns:
            parts.append(f"<p>Columns not in the schema, dropped: {escape(', '.join(check.dropped_columns))}</p>")
        by_rule = metrics["tables"][name]["quarantined_by_rule"]
        parts.append("<h3>Rules that failed</h3>")
        if by_rule:
            parts.append(
                _table(
                    ["rule:column", "rows", "severity", "what the rule says"],
                    [
                        [
                            reason,
                            _n(count),
                            getattr(params.severity, reason.split(":")[0]),
                            RULES[reason.split(":")[0]].description,
                        ]
                        for reason, count in by_rule.items()
                    ],
                    numeric={1},
                )
            )
            parts.append(f"<h3>Quarantined rows (first {MAX_EXAMPLE_ROWS})</h3>")
            parts.append(_frame(check.quarantined.head(MAX_EXAMPLE_ROWS)))
        else:
            parts.append("<p class='ok'>none</p>")
        parts.append("<h3>Expectations (Great Expectations)</h3>")
        parts.append(
            _table(
                ["expectation", "column", "arguments", "unexpected rows", "result"],
                [
                    [
                        e["expectation"],
                        e["column"],
                        _args(e["kwargs"]),
                        _n(e["unexpected_count"]),
                        "passed" if e["success"] else "FAILED",
                    ]
                    for e in check.expectations
                ],
                numeric={3},
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def _status(count: int, word: str) -> str:
    css = "ok" if count == 0 else "bad"
    return f"<span class='{css}'>{count:,} {word}</span>"


def _n(value: int) -> str:
    return f"{value:,}"


def _args(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None)


class _Markup(str):
    """Trusted HTML built here (not from the data): inserted without escaping."""


def _table(header: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            ("<td class='n'>" if i in numeric else "<td>")
            + (cell if isinstance(cell, _Markup) else escape(str(cell)))
            + "</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _frame(frame: pd.DataFrame) -> str:
    columns = list(frame.columns)
    if REASON in columns:  # the reason first: it is what the reader looks for
        columns.insert(1, columns.pop(columns.index(REASON)))
    rows = [["" if pd.isna(v) else v for v in record] for record in frame[columns].itertuples(index=False)]
    return _table(columns, rows)
