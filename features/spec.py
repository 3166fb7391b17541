"""What a feature column is: the record every family declares next to the code that computes it.

Its own module, below `features.catalogue` and the feature families, so that the catalogue can
import the families and the families the record without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    window: str  # "as of D", "7 days before D", "last 3 cycles", "all history", ...
    source: str  # input table(s) it is computed from, comma-separated
    family: str = ""
    #: Input columns ("table.column") it cannot be computed without; "a|b": either will do. A source
    #: whose column is empty throughout (core.schema: not reported) leaves the feature empty.
    needs: tuple[str, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.source.split(","))


@dataclass(frozen=True)
class Inputs:
    """What a source lacks: the optional tables it has no records of, and the columns it leaves empty
    throughout ("table.column"). Features from either are empty and reported (`not_computable`)."""

    absent_tables: frozenset[str] = field(default_factory=frozenset)
    empty_columns: frozenset[str] = field(default_factory=frozenset)

    def why_not(self, feature: Feature) -> str | None:
        """Why `feature` cannot be computed from this source, or None when it can."""
        absent = [t for t in feature.tables if t in self.absent_tables]
        if absent:
            return f"the source has no {' or '.join(absent)} table"
        for need in feature.needs:
            options = need.split("|")
            if all(o in self.empty_columns for o in options):
                return f"{' and '.join(options)} {'are' if len(options) > 1 else 'is'} empty throughout"
        return None
