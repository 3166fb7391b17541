"""`python -m features > docs/feature_catalogue.md`: print the feature catalogue (default params) as markdown."""

from features.catalogue import catalogue_markdown

print(catalogue_markdown(), end="")
