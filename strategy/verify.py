"""The independent verifier: every recommendation re-checked through the rulebook, on its own code path.

It shares nothing with the recommender but the rulebook's public functions (`core.compliance.admit`
and `check`): it reads the recommendation rows and the accounts' state frame, translates the state
itself, converts each window's UTC bounds to the borrower's local time with pandas (not the
recommender's zoneinfo arithmetic), and checks

- the row: a known action; a window that is not empty, lies on the run date in local time and whose
  local bounds are its UTC bounds in the borrower's zone;
- the rules: every local hour the window covers (sampled every 15 minutes), through `check`, and the
  day's batch (one contact per borrower, call caps within the batch) through `admit`, grouped by borrower;
- the strategy's promises: one contact per borrower, and capacity (calls per UTC hour, spread over
  each window as the allocator assumes; field visits on the run date).

It returns one row per violation (row, account_id, rule, detail); the stage fails on any.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from core import compliance as rulebook
from core.errors import DataError
from core.params import StrategyParams
from core.schema import CHANNELS, CONSENT_CHANNELS, NO_CONTACT, RESTRICTION_KINDS

VIOLATION_COLUMNS = ("row", "account_id", "rule", "detail")
#: The contact actions the verifier knows: name -> (channel, offer). Its own list, not strategy.actions'.
KNOWN = {**{c: (c, "none") for c in CHANNELS}, "plan": ("call", "plan")}
_STEP = pd.Timedelta(minutes=15)


def _state(states: pd.DataFrame) -> rulebook.ContactState:
    """The rulebook's state of each row, read conservatively: an unknown (empty) restriction or opt-out flag
    counts as in force and an unknown count as at its cap (a source without restrictions or contacts,
    features/state_frame.py); an unknown consent as not given."""

    def flag(col: str, unknown: bool = True) -> np.ndarray:
        return states[col].fillna(unknown).to_numpy(dtype=bool) if col in states else np.zeros(len(states), bool)

    def count(col: str, fallback: str | None = None, missing: int = 0) -> np.ndarray:
        if col in states:
            return states[col].fillna(missing).to_numpy(dtype=np.int64)
        if fallback is not None and fallback in states:
            return states[fallback].fillna(missing).to_numpy(dtype=np.int64)
        return np.full(len(states), missing, dtype=np.int64)

    opt = np.stack([flag(f"opt_out_{c}") for c in CONSENT_CHANNELS], axis=1)
    kinds = {k: flag(k) for k in RESTRICTION_KINDS}
    kinds["channel_opt_out"] = opt.any(axis=1)
    return rulebook.ContactState(
        consent=np.stack([flag(f"consent_{c}", unknown=False) for c in CONSENT_CHANNELS], axis=1),
        opt_out=opt,
        restricted=np.stack([kinds[k] for k in RESTRICTION_KINDS], axis=1),
        charged_off=flag("charged_off", unknown=False),
        days_since_call_conversation=count("days_since_call_conversation", missing=0),
        call_attempts_7d=count("call_attempts_7d", fallback="contacts_7d", missing=1_000_000),
        call_conversations_today=count("call_conversations_today"),
        unanswered_calls_today=count("unanswered_calls_today"),
        contacts_today=count("contacts_today"),
    )


def _local(utc: pd.Series, zones: pd.Series) -> pd.Series:
    """Wall-clock time (naive) of each UTC instant in its row's zone; NaT for an unknown zone."""
    out = pd.Series(pd.NaT, index=utc.index, dtype="datetime64[ns]")
    for zone, idx in zones.groupby(zones, sort=False).groups.items():
        try:
            out.loc[idx] = utc.loc[idx].dt.tz_convert(str(zone)).dt.tz_localize(None).to_numpy()
        except (KeyError, ValueError):  # an unknown zone leaves NaT, reported as a violation
            continue
    return out


def verify(
    recs: pd.DataFrame,
    states: pd.DataFrame,
    run_date: date,
    rules: rulebook.Rulebook,
    params: StrategyParams | None = None,
) -> pd.DataFrame:
    """Violations of the recommendation rows `recs` (an empty frame when there are none).

    `states` is the accounts' state frame on the run date (one row per account_id); `params` gives the
    capacity to check (None: capacity is not checked).
    """
    found: list[pd.DataFrame] = []

    def report(mask: np.ndarray, rule: str | np.ndarray, detail: str | np.ndarray) -> None:
        rows = np.flatnonzero(mask)
        if len(rows):
            pick = lambda x: np.asarray(x, dtype=object)[rows] if not isinstance(x, str) else x  # noqa: E731
            found.append(
                pd.DataFrame(
                    {
                        "row": rows,
                        "account_id": recs["account_id"].to_numpy()[rows],
                        "rule": pick(rule),
                        "detail": pick(detail),
                    }
                )
            )

    contact = (recs["action"].astype(object) != NO_CONTACT).to_numpy()
    report(~recs["action"].isin([NO_CONTACT, *KNOWN]).to_numpy(), "unknown_action", recs["action"].astype(str))
    known_action = recs["action"].isin(list(KNOWN)).to_numpy()
    state_rows = pd.Index(states["account_id"]).get_indexer(recs["account_id"])
    report(contact & (state_rows < 0), "no_state", "the account is not in the state frame")
    sel = np.flatnonzero(contact & known_action & (state_rows >= 0))
    if len(sel):
        r = recs.iloc[sel].reset_index(drop=True)
        st = states.iloc[state_rows[sel]].reset_index(drop=True)
        zones = st["timezone"].astype(str)
        start = pd.to_datetime(r["window_start_utc"], utc=True)
        end = pd.to_datetime(r["window_end_utc"], utc=True)
        local_start, local_last = _local(start, zones), _local(end - pd.Timedelta(1, "ns"), zones)
        day = pd.Timestamp(run_date)

        def at(mask: pd.Series | np.ndarray, rule: str, detail: str | np.ndarray) -> None:
            m = np.zeros(len(recs), dtype=bool)
            m[sel[np.asarray(mask, dtype=bool)]] = True
            d = detail if isinstance(detail, str) else np.full(len(recs), "", dtype=object)
            if not isinstance(detail, str):
                d[sel] = detail
            report(m, rule, d)

        bad_window = (start.isna() | end.isna() | (end <= start)).to_numpy()
        at(bad_window, "empty_window", "the window has no instant")
        off_day = ~bad_window & ((local_start.dt.normalize() != day) | (local_last.dt.normalize() != day)).to_numpy()
        at(off_day, "window_not_on_run_date", "the window's local time is not on the run date")
        mismatch = (
            ~bad_window
            & (
                (local_start != pd.to_datetime(r["window_start_local"]))
                | (_local(end, zones) != pd.to_datetime(r["window_end_local"]))
            ).to_numpy()
        )
        at(mismatch, "window_local_mismatch", "local bounds are not the UTC bounds in the borrower's zone")
        profile = rulebook.profile_for_regions(rules.params, st["region"])
        state = _state(st)
        channel = np.array([CHANNELS.index(KNOWN[a][0]) for a in r["action"]], dtype=np.int64)
        group = pd.factorize(r["borrower_id"])[0]
        hour0 = local_start.dt.hour.to_numpy(dtype=np.float64, na_value=np.nan)
        batch = rulebook.admit(rules, profile, state, channel, hour0, group=group)
        at(~batch.allowed, "rulebook", batch.reason_names)
        span = int(np.nanmax(((end - start) / _STEP).to_numpy(dtype=np.float64, na_value=0.0), initial=0))
        for s in range(1, span + 1):
            t = start + s * _STEP
            inside = (t < end).to_numpy()
            hour = _local(t, zones).dt.hour.to_numpy(dtype=np.float64, na_value=np.nan)
            verdict = rulebook.check(rules, profile, state, channel, np.where(inside, hour, hour0))
            at(inside & ~verdict.allowed, "rulebook", verdict.reason_names)
        # the state frame's own word on the channel where it has one (a lender's executor may know more)
        unavailable = np.zeros(len(r), dtype=bool)
        for ch in CHANNELS:
            if f"can_{ch}" in st:
                can = st[f"can_{ch}"].astype("boolean").fillna(False).to_numpy(dtype=bool)
                unavailable |= (channel == CHANNELS.index(ch)) & ~can
        at(unavailable, "channel_unavailable", "the state frame says the channel cannot be used today")
        dup = r["borrower_id"].duplicated(keep="first").to_numpy()
        at(dup, "one_contact_per_borrower", "another account of the borrower is contacted too")
        if params is not None:
            _capacity(r, start, end, channel, params, at)
    if not found:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in VIOLATION_COLUMNS})
    out = pd.concat(found, ignore_index=True)
    return out.drop_duplicates(["row", "rule", "detail"]).sort_values(["row", "rule"], ignore_index=True)


def _capacity(r: pd.DataFrame, start: pd.Series, end: pd.Series, channel: np.ndarray, params: StrategyParams, at):
    """Calls per UTC hour (each call spread over its window's minutes) and field visits of the day."""
    calls = (channel == CHANNELS.index("call")) & (end > start).to_numpy()
    if calls.any():
        s, e = start[calls], end[calls]
        length = (e - s).dt.total_seconds().to_numpy()
        hours = pd.date_range(s.min().floor("h"), e.max().ceil("h"), freq="h")
        for h in hours:
            overlap = (np.minimum(e, h + pd.Timedelta(1, "h")) - np.maximum(s, h)).dt.total_seconds().clip(lower=0)
            used = float((overlap.to_numpy() / length).sum())
            if used > params.calls_per_hour + 1e-6:
                at(
                    calls,
                    "capacity_calls_per_hour",
                    f"{used:.2f} calls in {h:%Y-%m-%d %H}h UTC > {params.calls_per_hour}",
                )
    visits = channel == CHANNELS.index("field_visit")
    if visits.sum() > params.field_visits_per_day + 1e-6:
        at(visits, "capacity_field_visits_per_day", f"{int(visits.sum())} field visits > {params.field_visits_per_day}")


def require_none(
    recs: pd.DataFrame,
    states: pd.DataFrame,
    run_date: date,
    rules: rulebook.Rulebook,
    params: StrategyParams | None = None,
) -> None:
    """`verify`, raising DataError (rule `verifier`, naming the rows and rules) on any violation: the caller
    then writes nothing."""
    violations = verify(recs, states, run_date, rules, params)
    if len(violations):
        raise DataError(
            "recommendations",
            "verifier",
            f"{len(violations)} recommendation(s) break a rule; nothing was written",
            column="action",
            rows=violations,
        )
