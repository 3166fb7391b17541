"""Mappings from public data sets into the canonical schema (core.schema).

Adapters import only `core`: they turn a source's own layout into the five canonical tables,
so every later stage (validation, features, models) runs on real data unchanged.
"""
