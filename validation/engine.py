"""The validation run: read, check, decide, split — everything but writing files.

Order matters and is fixed: structure (fatal) -> lenient parsing (`dtype`) -> the schema-generated
Great Expectations suites -> single-table business rules -> fatal rules so far -> cross-table
rules in reference order (accounts first, so that a quarantined account's records are known to be
orphans) -> fatal rules -> the quarantine-share threshold -> good rows cast strictly with
core.io.conform. A quarantined account takes its statements, payments, contacts and restrictions
with it (`orphan_of_quarantined_account`): keeping them would hand the features stage histories
whose account does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from core import progress
from core.errors import DataError
from core.io import conform
from core.params import ValidateParams
from core.schema import TABLES, Table
from validation import business
from validation.coercion import parse_table
from validation.quarantine import fatal_error, quarantine_frame, reasons, share_error
from validation.reading import absent_table, check_structure
from validation.rules import RULES, Finding

#: Rules decided before the cross-table rules run (a fatal one stops the run there).
LOCAL_RULES = (
    "dtype",
    "unambiguous_timestamp",
    "not_null",
    "allowed_values",
    "min_value",
    "max_value",
    "unique_key",
    "valid_timezone",
    "not_after_as_of",
    "end_after_start",
    "dpd_band",
    "decision_consistent",
)


@dataclass
class TableCheck:
    """Everything known about one table during the run."""

    spec: Table
    raw: pd.DataFrame
    parsed: pd.DataFrame
    dropped_columns: list[str]
    findings: list[Finding] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    clean: pd.DataFrame | None = None
    validated: pd.DataFrame | None = None
    quarantined: pd.DataFrame | None = None
    #: Each row's number in the input file when the frame is a part of it (a partition); None: the whole file.
    row_numbers: np.ndarray | None = None

    @property
    def failing(self) -> np.ndarray:
        """Boolean mask of the rows that break at least one rule."""
        mask = np.zeros(len(self.raw), dtype=bool)
        for f in self.findings:
            mask[f.rows] = True
        return mask

    def add(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)


@dataclass(frozen=True)
class BookPart:
    """What validating one part of a book (validation.partitioned) takes from the whole book.

    The part's rules decide as the whole book's would, because a part holds whole borrowers, except for
    what only the whole can say, which the caller supplies or decides: each row's number in the input
    file, per table (`row_numbers`, what quarantined rows and error messages name); findings made over the
    whole book in this part's row positions (`known`: a key duplicated across parts), merged with the
    part's own; that a table has rows at all, and the quarantine-share threshold, both counted over the
    book by the caller.
    """

    row_numbers: Mapping[str, np.ndarray]
    known: Mapping[str, list[Finding]] = field(default_factory=dict)


@dataclass
class ValidationOutcome:
    as_of_date: date
    as_of_source: str
    tables: dict[str, TableCheck]
    #: Seconds per phase (structure+parsing, gx, local rules, cross-table rules, split), for benchmarks.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def validated(self) -> dict[str, pd.DataFrame]:
        return {name: check.validated for name, check in self.tables.items()}

    @property
    def quarantined(self) -> dict[str, pd.DataFrame]:
        return {name: check.quarantined for name, check in self.tables.items()}


def validate_tables(
    frames: Mapping[str, pd.DataFrame],
    params: ValidateParams,
    gx_root: Path,
    run_date: date | None = None,
    *,
    part: BookPart | None = None,
    context: Any = None,
) -> ValidationOutcome:
    """Check the input tables; raise DataError on a fatal problem, else split good from quarantined.

    `frames` are the tables as read (any dtypes); `gx_root` is the directory holding `gx/`;
    records dated after `run_date` (params `run_date`; None: the day after the latest
    statement) are quarantined by `not_after_as_of`.

    `part`: the frames are one part of a book (validation.partitioned, a partition of whole borrowers), and
    what the whole says (BookPart); `context`: an open Great Expectations context to reuse.
    """
    clock = _Clock()
    from validation.gx_context import open_context, run_suite

    context = context if context is not None else open_context(gx_root)
    clock.lap("gx_import_and_context")
    checks: dict[str, TableCheck] = {}
    for name, spec in progress.track(TABLES.items(), "validate: structure and parsing", unit="tables"):
        if name not in frames and not spec.optional:
            raise DataError(name, "file_present", "the table was not supplied")
        frame = frames[name] if name in frames else absent_table(spec)  # an optional table the source lacks
        raw, dropped = check_structure(frame, spec, params, part_of_book=part is not None)
        parsed, findings = parse_table(raw, spec, params.date_format)
        numbers = None if part is None else np.asarray(part.row_numbers[name], np.int64)
        checks[name] = TableCheck(spec, raw, parsed, dropped, findings, row_numbers=numbers)

    clock.lap("structure_and_parsing")
    for check in progress.track(checks.values(), "validate: Great Expectations", unit="tables"):
        suite = run_suite(context, check.spec, check.parsed)
        check.add(_without_unreadable(suite.findings, check.findings))
        if part is not None:
            check.add(_not_yet_found(part.known.get(check.spec.name, []), check.findings))
        check.expectations = suite.expectations
    clock.lap("great_expectations")
    for check in checks.values():
        check.add(business.valid_timezone(check.spec, check.parsed))
        check.add(business.end_after_start(check.spec, check.parsed))
        check.add(business.dpd_band(check.spec, check.parsed, params.dpd_bands))
        check.add(business.decision_consistent(check.spec, check.parsed))

    as_of, source = _as_of(run_date, _clean(checks["statements"]))
    for check in checks.values():
        check.add(business.not_after_as_of(check.spec, check.parsed, pd.Timestamp(as_of)))
        check.clean = _clean(check)
    _raise_fatal(checks, params, LOCAL_RULES)
    clock.lap("single_table_rules")

    clean = {name: check.clean for name, check in checks.items()}
    kept: dict[str, np.ndarray] = {}
    for name in business.reference_order():
        check = checks[name]
        check.add(business.references(check.spec, check.clean, clean, kept))
        check.add(business.account_of_borrower(check.spec, check.clean, clean["accounts"]))
        check.add(business.not_before_open_date(check.spec, check.clean, clean["accounts"]))
        check.add(business.decision_matches_contact(check.spec, check.clean, clean["contacts"], clean["accounts"]))
        if name == business.STATEMENTS:
            check.add(business.status_owes_nothing(check.clean))
            check.add(
                business.dpd_rules(
                    check.clean, clean["accounts"], clean["restrictions"], params.dpd_bands, params.dpd_timing_days
                )
            )
            if len(clean["payments"]) or not TABLES["payments"].optional:  # no payments table: nothing to reconcile
                check.add(
                    business.amount_paid_matches_payments(
                        check.clean,
                        clean["payments"],
                        clean["accounts"],
                        params.amount_paid_tolerance,
                        params.extract_start,
                        params.posting_day,
                    )
                )
        kept[name] = ~check.failing
    _raise_fatal(checks, params, tuple(r for r in RULES if r not in LOCAL_RULES))
    clock.lap("cross_table_rules")

    for check in checks.values():
        why = reasons(check.findings)
        if part is None and len(why) > params.max_quarantine_share * len(check.raw):
            raise share_error(check.spec, check.raw, why, check.findings, params.max_quarantine_share)
        check.quarantined = quarantine_frame(check.raw, why, check.row_numbers)
        good = kept[check.spec.name]
        check.validated = conform(check.parsed if good.all() else check.parsed[good], check.spec)
        check.parsed = check.clean = None  # the largest intermediates; the outcome needs neither
    clock.lap("split")
    return ValidationOutcome(as_of, source, checks, clock.laps)


def _without_unreadable(suite_findings: list[Finding], parse_findings: list[Finding]) -> list[Finding]:
    """Drop not_null failures that are really unreadable values (already reported as dtype)."""
    unreadable: dict[str, np.ndarray] = {}
    for f in parse_findings:
        unreadable[f.column] = np.union1d(unreadable.get(f.column, np.array([], dtype=np.int64)), f.rows)
    out = []
    for f in suite_findings:
        if f.rule == "not_null" and f.column in unreadable:
            rows = np.setdiff1d(f.rows, unreadable[f.column])
            if rows.size == 0:
                continue
            f = Finding(f.table, f.rule, f.column, rows)
        out.append(f)
    return out


def _not_yet_found(found_elsewhere: list[Finding], findings: list[Finding]) -> list[Finding]:
    """The rows of `found_elsewhere` (book-wide findings) not already in a finding of the same rule and column."""
    out = []
    for f in found_elsewhere:
        seen = [g.rows for g in findings if g.rule == f.rule and g.column == f.column]
        rows = np.setdiff1d(f.rows, np.concatenate(seen)) if seen else f.rows
        if rows.size:
            out.append(Finding(f.table, f.rule, f.column, rows))
    return out


def _clean(check: TableCheck) -> pd.DataFrame:
    """The parsed frame with every value condemned by a cell rule set to missing.

    Integer columns are nullable Int64 in every table, whether or not a value was condemned, so
    that the cross-table rules join keys of one dtype (pandas refuses to merge Int64 with int64).
    """
    clean = check.parsed.copy(deep=False)  # columns are replaced, never modified in place
    for name in clean.columns:
        if ptypes.is_integer_dtype(clean[name]) and clean[name].dtype != "Int64":
            clean[name] = clean[name].astype("Int64")
    for f in check.findings:
        if RULES[f.rule].cell and f.column in clean.columns:
            column = clean[f.column].copy()
            column.iloc[f.rows] = None
            clean[f.column] = column
    return clean


def _as_of(run_date: date | None, statements: pd.DataFrame) -> tuple[date, str]:
    if run_date is not None:
        return run_date, "run_date"
    latest = statements["cycle_date"].max()
    if pd.isna(latest):
        raise DataError(
            "statements",
            "not_null",
            "no readable cycle_date to derive the as-of date from; set run_date",
            column="cycle_date",
        )
    return latest.date() + timedelta(days=1), "the day after the latest statements.cycle_date"


def _raise_fatal(checks: Mapping[str, TableCheck], params: ValidateParams, rules: tuple[str, ...]) -> None:
    """Raise for the first failing rule (table order, then check order) whose severity is fatal."""
    for check in checks.values():
        for f in check.findings:
            if f.rule in rules and getattr(params.severity, f.rule) == "fatal":
                raise fatal_error(f, check.raw, check.spec, numbers=check.row_numbers)


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = perf_counter()

    def lap(self, name: str) -> None:
        now = perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
