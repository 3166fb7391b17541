"""A small, hand-checkable, fully valid book of the five tables, and helpers to run `validate` on it.

Built here (not by the simulator) so the validation tests do not depend on another area and
every value is known: account 101 always pays, the others miss some cycles (DPD then grows by
exactly the days elapsed, the most the rules allow), borrower 11 holds accounts 101 and 102,
payments fall inside their cycle windows and statements.amount_paid is their sum. The builder
is vectorised, so it also makes large books quickly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.io import conform
from core.params import parse_params
from core.schema import CHANNELS, PRODUCTS, TABLES

ZONES = ("America/Chicago", "Europe/London", "Asia/Taipei", "America/New_York", "UTC")
REGIONS = ("US-TX", "GB", "TW", "US-NY", "US-CA")


def clean_tables(
    n_accounts: int = 5, n_cycles: int = 6, first_cycle: str = "2024-01-31", seed: int = 0, decisions: bool = False
) -> dict[str, pd.DataFrame]:
    """A valid book: every rule of the validate stage holds (tests assert zero quarantined rows).

    `decisions`: with a decision log behind the contacts (the optional table is left out otherwise)."""
    rng = np.random.default_rng(seed)
    n, c = n_accounts, n_cycles
    ids = np.arange(n, dtype=np.int64) + 101
    borrower = ids - 90
    if n >= 2:
        borrower[1] = borrower[0]
    product = np.array(PRODUCTS, dtype=object)[np.arange(n) % len(PRODUCTS)]
    revolving = product == "revolving"
    cycles = pd.date_range(first_cycle, periods=c, freq="ME")
    open_date = cycles[0] - pd.to_timedelta(40 + (np.arange(n) % 30) * 3, unit="D")
    instalment = np.round(50 + 10 * (np.arange(n) % 7) + rng.random(n), 2)
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "borrower_id": borrower,
            "product": product,
            "open_date": open_date,
            "principal": np.where(revolving, np.nan, instalment * 12),
            "credit_limit": np.where(revolving, 2000.0, np.nan),
            "term_months": pd.array(np.where(revolving, None, 12), dtype="Int64"),
            "annual_rate": np.round(0.1 + 0.01 * (np.arange(n) % 10), 3),
            "instalment_amount": instalment,
            "origination_score": np.where(np.arange(n) % 5 == 0, np.nan, 600 + (np.arange(n) % 200)),
            "timezone": np.array(ZONES, dtype=object)[np.arange(n) % len(ZONES)],
            "region": np.array(REGIONS, dtype=object)[np.arange(n) % len(REGIONS)],
            "consent_sms": np.arange(n) % 2 == 0,
            "consent_email": True,
            "consent_call": np.arange(n) % 3 != 0,
        }
    )

    missed = rng.random((n, c)) < 0.3
    missed[:, 0] = False
    missed[0, :] = False  # account 101 always pays
    if n >= 2 and c >= 3:
        missed[1, 1:3] = True  # account 102 misses two cycles in a row: DPD 0 -> 29 -> 60
    gaps = np.diff(cycles.values.astype("datetime64[D]")).astype(np.int64)
    dpd = np.zeros((n, c), dtype=np.int64)
    arrears = np.zeros((n, c))
    for t in range(1, c):  # over cycles, vectorised over accounts
        dpd[:, t] = np.where(missed[:, t], dpd[:, t - 1] + gaps[t - 1], 0)
        arrears[:, t] = np.where(missed[:, t], arrears[:, t - 1] + instalment, 0.0)

    account_of = np.repeat(ids, c)
    cycle_of = np.tile(cycles.values, n)
    pays = ~missed.ravel()
    second = np.repeat(np.arange(n) % 4 == 3, c) & pays  # every 4th account pays in two parts
    first_amount = np.repeat(instalment, c) - np.where(second, 20.0, 0.0)
    payments = pd.DataFrame(
        {
            "account_id": np.concatenate([account_of[pays], account_of[second]]),
            "paid_at": np.concatenate(
                [
                    cycle_of[pays] - np.timedelta64(5, "D") + np.timedelta64(10, "h"),
                    cycle_of[second] - np.timedelta64(2, "D") + np.timedelta64(23, "h"),
                ]
            ),
            "amount": np.round(np.concatenate([first_amount[pays], np.full(second.sum(), 20.0)]), 2),
            "method": np.where(np.concatenate([account_of[pays], account_of[second]]) % 2 == 0, "direct_debit", "card"),
        }
    )
    payments = payments.sort_values(["paid_at", "account_id"], kind="stable").reset_index(drop=True)
    payments.insert(0, "payment_id", np.arange(len(payments), dtype=np.int64) + 5001)
    payments["paid_at"] = payments["paid_at"].dt.tz_localize("UTC")

    balance0 = np.where(revolving, 800.0, instalment * 12)
    statements = pd.DataFrame(
        {
            "account_id": account_of,
            "cycle_date": cycle_of,
            "balance": np.round(np.repeat(balance0, c) + arrears.ravel(), 2),
            "amount_due": np.round(np.repeat(instalment, c) + arrears.ravel(), 2),
            "past_due_amount": np.round(arrears.ravel(), 2),
            "amount_paid": np.round(np.where(pays, np.repeat(instalment, c), 0.0), 2),
            "days_past_due": dpd.ravel(),
        }
    )

    late = missed.ravel()
    promise = np.arange(late.sum()) % 2 == 0
    contacted = cycle_of[late] - np.timedelta64(2, "D") + np.timedelta64(15, "h")
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(late.sum(), dtype=np.int64) + 9001,
            "account_id": account_of[late],
            "contacted_at": pd.to_datetime(contacted).tz_localize("UTC"),
            "channel": np.array(CHANNELS, dtype=object)[np.arange(late.sum()) % 3],
            "outcome": np.where(promise, "promise_to_pay", "no_answer"),
            "promise_amount": np.where(promise, np.repeat(instalment, c)[late], np.nan),
            "promise_date": pd.to_datetime(
                np.where(promise, contacted.astype("datetime64[D]") + np.timedelta64(7, "D"), np.datetime64("NaT"))
            ),
            "propensity": np.where(np.arange(late.sum()) % 3 == 0, np.nan, 0.5),
        }
    )

    holders = np.flatnonzero(np.arange(n) % 7 == 0)
    hardship = np.flatnonzero(np.arange(n) % 7 == 2)
    restrictions = pd.DataFrame(
        {
            "borrower_id": np.concatenate([borrower[holders], borrower[hardship]]),
            "account_id": pd.array(np.concatenate([np.full(holders.size, None), ids[hardship]]), dtype="Int64"),
            "kind": ["channel_opt_out"] * holders.size + ["hardship_plan"] * hardship.size,
            "channel": ["sms"] * holders.size + [None] * hardship.size,
            "start_at": np.concatenate(
                [
                    open_date[holders] + pd.Timedelta(days=5, hours=9),
                    open_date[hardship] + pd.Timedelta(days=50, hours=12),
                ]
            ),
            "end_at": np.concatenate(
                [np.full(holders.size, np.datetime64("NaT")), open_date[hardship] + pd.Timedelta(days=140)]
            ),
        }
    )
    restrictions.insert(0, "restriction_id", np.arange(len(restrictions), dtype=np.int64) + 7001)
    for col in ("start_at", "end_at"):
        restrictions[col] = pd.to_datetime(restrictions[col]).dt.tz_localize("UTC")

    frames = {
        "accounts": accounts,
        "statements": statements,
        "payments": payments,
        "contacts": contacts,
        "restrictions": restrictions,
        **({"decisions": _decisions(accounts, contacts)} if decisions else {}),
    }
    return {name: conform(frame, TABLES[name]) for name, frame in frames.items()}


def _decisions(accounts: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """A decision log behind the contacts: each contact's decision (linked by contact_id, the local date and
    hour of the contact in the account's zone) and a decision not to contact on the local day before."""
    zone = contacts["account_id"].map(accounts.set_index("account_id")["timezone"])
    local = pd.Series(
        [ts.tz_convert(z) for ts, z in zip(contacts["contacted_at"], zone, strict=True)], index=contacts.index
    )
    day = pd.to_datetime([ts.date() for ts in local])
    start = [pd.Timestamp(d).tz_localize(z).tz_convert("UTC") for d, z in zip(day, zone, strict=True)]
    made = pd.DataFrame(
        {
            "account_id": contacts["account_id"].to_numpy(),
            "decided_at": pd.to_datetime(start, utc=True),
            "local_date": day,
            "action": contacts["channel"].to_numpy(),
            "local_hour": pd.array([ts.hour for ts in local], dtype="Int64"),
            "offer": "none",
            "propensity": 0.25,
            "contact_id": pd.array(contacts["contact_id"].to_numpy(), dtype="Int64"),
        }
    )
    before = made.assign(
        decided_at=made["decided_at"] - pd.Timedelta(days=1),
        local_date=made["local_date"] - pd.Timedelta(days=1),
        action="none",
        local_hour=pd.array([None] * len(made), dtype="Int64"),
        propensity=0.9,
        contact_id=pd.array([None] * len(made), dtype="Int64"),
    )
    out = pd.concat([before, made], ignore_index=True).sort_values(["decided_at", "account_id"], kind="stable")
    out.insert(0, "decision_id", np.arange(len(out), dtype=np.int64) + 3001)
    out.insert(2, "borrower_id", out["account_id"].map(accounts.set_index("account_id")["borrower_id"]).to_numpy())
    out["policy"] = "business_as_usual"
    out["refusal"] = pd.Series([None] * len(out), dtype="str", index=out.index)
    return out.reset_index(drop=True)


def write_raw(tables: dict[str, pd.DataFrame], directory: Path, fmt: str = "parquet") -> Path:
    """Write frames exactly as given (no conforming: they may be malformed on purpose)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(directory / f"{name}.csv", index=False)
        else:
            # Parquet columns have one type: a column holding a stray string is a string column,
            # as in a file exported from a system that stores text.
            mixed = [c for c in frame.columns if frame[c].dtype == object and frame[c].dropna().map(type).nunique() > 1]
            frame = frame.astype(dict.fromkeys(mixed, "str"))
            frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def params_with(run_date: str | None = None, **validate):
    """Project params with `run_date` and some `validate` keys overridden (severity as a nested dict)."""
    return parse_params({"validate": validate, "run_date": run_date})


class Project:
    """A throw-away project layout under tmp_path: raw inputs, outputs and its own GX context."""

    def __init__(self, root: Path, gx_root: Path | None = None):
        self.root = root
        #: Where `gx/` lives: the project root unless tests share one context to save GX's set-up time.
        self.gx_root = gx_root or root
        self.raw = root / "data" / "raw"
        self.validated = root / "data" / "validated"
        self.quarantine = root / "data" / "quarantine"
        self.metrics = root / "data" / "metrics" / "validation.json"
        self.report = root / "data" / "reports" / "validation"

    def run(self, **validate):
        """Run the stage as a library call (raises DataError on a fatal problem)."""
        from pipeline.stages import validate as stage

        return stage.run(
            params_with(**validate), self.raw, self.validated, self.quarantine, self.metrics, self.report, self.gx_root
        )

    def cli(self, capsys, *extra: str) -> tuple[int, str]:
        """Run `python -m pipeline validate` in-process; returns (exit code, stderr + stdout)."""
        from pipeline.cli import main

        params = self.root / "params.yaml"
        if not params.exists():
            params.write_text("validate:\n  max_quarantine_share: 1.0\n")
        argv = [
            "pipeline",
            "validate",
            "--params-file",
            str(params),
            "--raw-dir",
            str(self.raw),
            "--validated-dir",
            str(self.validated),
            "--quarantine-dir",
            str(self.quarantine),
            "--metrics-file",
            str(self.metrics),
            "--report-dir",
            str(self.report),
            "--gx-root",
            str(self.gx_root),
            *extra,
        ]
        old = sys.argv
        sys.argv = argv
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.argv = old
        out = capsys.readouterr()
        return code, out.err + out.out

    def validated_table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.validated / f"{name}.parquet")

    def quarantined(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.quarantine / f"{name}.parquet")


@pytest.fixture(scope="session")
def shared_gx_root(tmp_path_factory) -> Path:
    """One GX context per test process: creating one costs about a second, reusing it nothing."""
    return tmp_path_factory.mktemp("gx-context")


@pytest.fixture
def project(tmp_path, shared_gx_root) -> Project:
    return Project(tmp_path, shared_gx_root)
