"""Error types that carry enough context for a user to find the bad data.

Every data problem names the table, the column, the rule and example rows, because a
nightly job that fails with a bare traceback costs an analyst an hour to decode.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

MAX_EXAMPLE_ROWS = 10


class DataError(Exception):
    """A problem with input data that stops the pipeline (a fatal rule)."""

    def __init__(
        self,
        table: str,
        rule: str,
        message: str,
        column: str | None = None,
        rows: pd.DataFrame | Sequence[int] | None = None,
    ) -> None:
        self.table = table
        self.column = column
        self.rule = rule
        self.detail = message
        self.examples = _examples(rows)
        super().__init__(self._render())

    def __reduce__(self):
        """Pickled with its fields, so that a worker process's error reaches the job whole (core.workers)."""
        return (_restore, (type(self), self.__dict__.copy()))

    def _render(self) -> str:
        where = f"table '{self.table}'"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: rule '{self.rule}' failed: {self.detail}"
        if self.examples:
            text += f"\n  example rows (up to {MAX_EXAMPLE_ROWS}):\n" + self.examples
        return text


def _restore(cls: type[DataError], fields: dict) -> DataError:
    error = cls.__new__(cls)
    error.__dict__.update(fields)
    Exception.__init__(error, error._render())
    return error


def _examples(rows: pd.DataFrame | Sequence[int] | None) -> str:
    if rows is None:
        return ""
    if isinstance(rows, pd.DataFrame):
        if rows.empty:
            return ""
        return "\n".join("    " + line for line in rows.head(MAX_EXAMPLE_ROWS).to_string().splitlines())
    listed = list(rows)[:MAX_EXAMPLE_ROWS]
    return "    row numbers: " + ", ".join(str(r) for r in listed) if listed else ""


class ParamsError(ValueError):
    """params.yaml does not describe a valid configuration."""
