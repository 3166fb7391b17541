"""Validation of the five input tables: Great Expectations suites generated from core.schema,
business rules in pandas, row quarantine, an offline report.

Entry points: `validation.reading.read_inputs(raw_dir)` and
`validation.engine.validate_tables(frames, params.validate_, gx_root)`; pipeline/stages/validate.py
writes the outputs. Modules: rules (rule catalogue), reading (structural checks), coercion (lenient
parsing), expectations + gx_context (the GX suites and context), business (pandas rules),
quarantine (reasons, fatal errors), report (metrics + HTML), publish (all-or-nothing output swap).
Nothing here imports Great Expectations at import time: it takes seconds.
"""
