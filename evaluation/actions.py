"""What a policy under evaluation may answer: the actions contract, checked before the world sees it.

The world's rulebook already refuses actions it may not carry out (unknown account, channel not
allowed, outside hours) and counts them. This check is earlier and stricter: a frame that is not
an actions frame at all (missing or unknown columns, wrong types, channels or offers outside the
schema) stops the evaluation with a message that says what is wrong, instead of being half-read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import schema
from simulator.policies import CHANNEL_DTYPE

REQUIRED = ("account_id", "channel", "hour")
OPTIONAL = ("propensity", "offer")
#: Offers a contact may carry (core.schema.OFFERS once the decision log lands; "none" until then).
OFFERS: tuple[str, ...] = tuple(getattr(schema, "OFFERS", ("none",)))


class ActionsError(ValueError):
    """The policy answered something that is not an actions frame."""


def _codes(series: pd.Series, allowed: tuple[str, ...], column: str) -> np.ndarray:
    """Index of each value in `allowed`; refuses non-strings and values outside it."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = np.asarray(series.cat.categories.astype(object))
        lookup = np.array([allowed.index(c) if c in allowed else -1 for c in categories] + [-1], dtype=np.int64)
        codes = lookup[series.cat.codes.to_numpy()]
    elif pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        uniques, inverse = np.unique(series.to_numpy().astype(str), return_inverse=True)
        lookup = np.array([allowed.index(u) if u in allowed else -1 for u in uniques] + [-1], dtype=np.int64)
        codes = lookup[inverse.reshape(-1)]
    else:
        raise ActionsError(f"actions column '{column}' must hold strings, not {series.dtype}")
    if (codes < 0).any():
        shown = sorted({str(v) for v in series[codes < 0].head(5)})
        raise ActionsError(f"actions column '{column}' has values outside {list(allowed)}: {shown}")
    return codes


def _integers(series: pd.Series, column: str) -> np.ndarray:
    if not pd.api.types.is_integer_dtype(series.dtype) or series.isna().any():
        raise ActionsError(f"actions column '{column}' must be integers without nulls, not {series.dtype}")
    return series.to_numpy(dtype=np.int64)


def validate_actions(frame: object) -> pd.DataFrame:
    """The policy's answer as a clean actions frame, or ActionsError saying why it is refused."""
    if frame is None:
        frame = pd.DataFrame({c: pd.Series(dtype="int64") for c in ("account_id", "hour")} | {"channel": []})
    if not isinstance(frame, pd.DataFrame):
        raise ActionsError(f"a policy returns a DataFrame or None, not {type(frame).__name__}")
    columns = list(frame.columns)
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(columns)) != len(columns):
        raise ActionsError(
            f"actions need columns {list(REQUIRED)} (optional {list(OPTIONAL)}); "
            f"missing {missing}, unknown {unknown}, given {columns}"
        )
    n = len(frame)
    account = _integers(frame["account_id"], "account_id") if n else np.zeros(0, np.int64)
    hour = _integers(frame["hour"], "hour") if n else np.zeros(0, np.int64)
    if ((hour < 0) | (hour > 23)).any():
        raise ActionsError("actions column 'hour' must be a local hour 0..23")
    channel = _codes(frame["channel"], schema.CHANNELS, "channel") if n else np.zeros(0, np.int64)
    out = pd.DataFrame(
        {
            "account_id": account,
            "channel": pd.Categorical.from_codes(channel, dtype=CHANNEL_DTYPE),
            "hour": hour,
        }
    )
    if "propensity" in columns and n:
        p = frame["propensity"]
        if not pd.api.types.is_numeric_dtype(p.dtype) or pd.api.types.is_bool_dtype(p.dtype):
            raise ActionsError(f"actions column 'propensity' must be numbers, not {p.dtype}")
        p = p.to_numpy(dtype=np.float64)
        if ((p <= 0) | (p > 1)).any():
            raise ActionsError("actions column 'propensity' must be a probability in (0, 1] (or null)")
        out["propensity"] = p
    else:
        out["propensity"] = np.full(n, np.nan)
    if "offer" in columns and n:
        out["offer"] = np.asarray(OFFERS, dtype=object)[_codes(frame["offer"], OFFERS, "offer")]
    return out
