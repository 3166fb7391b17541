"""Point-in-time features and labels for roll-rate, propensity-to-pay and contact-response models.

Public API: `build_features`, `build_labels`, `build_contact_labels` (frames for a book or a
partition of accounts), `feature_catalogue` / `catalogue_markdown` (what every column means),
`label_columns` (the names that must never appear among the features).
"""

from features.build import build_all, build_contact_labels, build_features, build_labels
from features.catalogue import catalogue_markdown, feature_catalogue, feature_specs
from features.labels import contact_label_columns, label_columns

__all__ = [
    "build_all",
    "build_features",
    "build_labels",
    "build_contact_labels",
    "feature_catalogue",
    "feature_specs",
    "catalogue_markdown",
    "label_columns",
    "contact_label_columns",
]
