"""What a feature column is: the record every family declares next to the code that computes it.

Its own module, below `features.catalogue` and the five families, so that the catalogue can
import the families and the families the record without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    window: str  # "as of D", "7 days before D", "last 3 cycles", "all history", ...
    source: str  # input table(s) it is computed from
    family: str = ""
