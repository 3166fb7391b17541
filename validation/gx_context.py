"""The project's file-based Great Expectations context, kept offline, quiet and reproducible.

The context lives in `gx/` at the project root. Its committed `great_expectations.yml` switches
analytics and progress bars off and keeps every generated artifact (suites, validation
definitions, results) under `gx/uncommitted/`: suites are regenerated from the schema on each
run, so committing them would create a second source of truth. GX's own Data Docs are not
built (their pages load CSS and JavaScript from CDNs); validation.report renders a
self-contained page instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import DataError
from core.io import atomic_path
from core.schema import Table
from validation.expectations import build_suite
from validation.rules import Finding

CONTEXT_DIR = "gx"
DATASOURCE = "dunning_input"
BATCH = "whole_table"
#: COMPLETE is what returns unexpected_index_list (the rows); the values themselves are not needed.
RESULT_FORMAT = {"result_format": "COMPLETE", "exclude_unexpected_values": True, "partial_unexpected_count": 0}

CONFIG_YML = """\
# Great Expectations context of the `validate` stage (validation/gx_context.py), committed.
# Suites are generated from core/schema.py on every run; everything GX writes goes under
# uncommitted/ (git-ignored). No analytics, no progress bars, no Data Docs (the stage renders
# its own offline report under data/reports/validation/).
config_version: 4.0
analytics_enabled: false
progress_bars:
  globally: false
  metric_calculations: false
stores:
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/expectations/
  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/validations/
  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: uncommitted/checkpoints/
  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/validation_definitions/
expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store
data_docs_sites: {}
"""


@dataclass
class SuiteRun:
    """One table's suite result: failures as Findings, and one summary row per expectation."""

    findings: list[Finding] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)


def open_context(project_root: Path):
    """The file context at PROJECT_ROOT/gx, created from CONFIG_YML when absent."""
    import great_expectations as gx

    config = Path(project_root) / CONTEXT_DIR / "great_expectations.yml"
    if not config.exists():
        with atomic_path(config) as tmp:
            tmp.write_text(CONFIG_YML)
            tmp.chmod(0o644)  # a committed project file, not a private temporary one
    return gx.get_context(mode="file", project_root_dir=str(project_root))


#: Tries of a suite another run keeps storing again (two validations sharing one gx/ folder).
FRESHNESS_ATTEMPTS = 5


def run_suite(context, spec: Table, frame: pd.DataFrame) -> SuiteRun:
    """Validate `frame` (index = input row numbers) against the schema-generated suite of `spec`."""
    import great_expectations as gx
    from great_expectations.exceptions.resource_freshness import ResourceFreshnessAggregateError

    for attempt in range(FRESHNESS_ATTEMPTS):
        suite = _suite(context, spec)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=spec.name, data=_batch_definition(context, spec.name), suite=suite)
        )
        try:
            result = definition.run(batch_parameters={"dataframe": _for_gx(frame, spec)}, result_format=RESULT_FORMAT)
            break
        # another run sharing this gx/ folder stored the suite again between our reading and running it (GX
        # then refuses a suite "changed since it was last saved"): read it again and retry
        except ResourceFreshnessAggregateError:
            if attempt == FRESHNESS_ATTEMPTS - 1:
                raise
    run = SuiteRun()
    for item in result.results:
        config = item.expectation_config
        rule, column = config.meta["rule"], config.meta["column"]
        if item.exception_info.get("raised_exception"):
            raise DataError(
                spec.name,
                rule,
                f"Great Expectations could not evaluate {config.type}: {item.exception_info.get('exception_message')}",
                column=column,
            )
        rows = item.result.get("unexpected_index_list") or []
        run.expectations.append(
            {
                "expectation": config.type,
                "rule": rule,
                "column": column,
                "success": bool(item.success),
                "unexpected_count": int(item.result.get("unexpected_count") or 0),
                "kwargs": {k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id")},
            }
        )
        if rows:
            run.findings.append(Finding(spec.name, rule, column, frame.index.get_indexer(rows)))
    return run


def _suite(context, spec: Table):
    """The stored suite when it was generated from the same schema, else a regenerated one.

    Storing a suite costs GX a serialisation per expectation (seconds); the fingerprint in its
    meta lets an unchanged schema skip that, and any schema change still replaces it.
    """
    from great_expectations.exceptions import GreatExpectationsError
    from marshmallow.exceptions import MarshmallowError  # GX's (de)serialiser

    fresh = build_suite(spec)
    try:
        stored = context.suites.get(spec.name)
    # not stored yet, or unreadable: GX reads a file another run is writing (two validations sharing a gx/
    # folder) as None (TypeError, or marshmallow's error) or half a JSON document (ValueError); store the fresh one
    except (GreatExpectationsError, MarshmallowError, TypeError, ValueError):
        # GX cannot delete or replace a suite it cannot read: drop the file (CONFIG_YML's expectations store)
        (Path(context.root_directory) / "uncommitted" / "expectations" / f"{spec.name}.json").unlink(missing_ok=True)
        return context.suites.add_or_update(fresh)
    if stored.meta.get("fingerprint") == fresh.meta["fingerprint"]:
        return stored
    return context.suites.add_or_update(fresh)


def _for_gx(frame: pd.DataFrame, spec: Table) -> pd.DataFrame:
    """The frame GX validates: nullable integers with a bound as float64.

    GX compares extension-dtype columns value by value in Python (seconds per million rows) but
    numpy columns vectorised; floats hold these small counts exactly. Keys stay integers.
    """
    cast = {
        c.name: "float64"
        for c in spec.columns
        if (c.min_value is not None or c.max_value is not None)
        and str(frame[c.name].dtype) == "Int64"
        and c.name not in spec.key
    }
    return frame.astype(cast) if cast else frame


def _batch_definition(context, asset_name: str):
    """The whole-dataframe batch definition of one table, created once and then reused.

    Reusing it keeps great_expectations.yml unchanged from run to run (new ones get new ids).
    """
    try:
        source = context.data_sources.get(DATASOURCE)
    except KeyError:
        source = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition(BATCH)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH)
