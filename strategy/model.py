"""What the strategy decides from, in one bundle: the uplift model and what the tables say of harm and the future.

The uplift model (models/uplift, trained by the `uplift` stage) gives each arm's expected response and
probability of payment; the harm rates (models/uplift/harm.py) and the outlook per bucket
(strategy/outlook.py) are fitted from the validated tables by the `recommend` stage and saved next to it
as `strategy.json`, with the params sections the strategy applies (`strategy:`, `contact:`,
`compliance:`, `buckets:`), so that a policy process can load everything from two folders and read
nothing else (no pickle: JSON and LightGBM text files).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core import compliance as rulebook
from core.io import json_text
from core.params import Params
from core.schema import CHANNELS
from models.uplift.arms import Arm, arms
from models.uplift.harm import HarmRates, harm_rates
from models.uplift.learners import UpliftModel
from models.uplift.reminders import ReminderModel, budget_bucket, log_facts
from models.uplift.rows import decision_rows
from models.uplift.store import load as load_uplift
from models.uplift.store import load_facts, load_reminders
from strategy.outlook import Outlook, OutlookCounts, outlook_counts

META = "strategy.json"
#: The params sections saved with the bundle (what the strategy applies).
SECTIONS = ("strategy", "contact", "compliance", "buckets")


@dataclass(frozen=True)
class Context:
    """What the `recommend` stage fits from the tables."""

    harm: HarmRates
    outlook: Outlook
    #: Per channel, what a reminder before the due date changes in P(not past due at the next statement)
    #: (models/uplift/reminders.py); empty: no decision log to measure it, no reminders proposed.
    reminder_lift: dict[str, float]
    #: Share of the decision log's decisions that contacted (business as usual's volume); None without a log.
    logged_contact_share: float | None
    #: The same per bucket (charge-off last; models/uplift/reminders.contact_share_by_bucket); empty: not measured
    #: (a model saved before it), the overall share applies to every account.
    logged_contact_share_by_bucket: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class StrategyModel:
    """The uplift model with its arm costs, the params the strategy applies and the context fitted from the tables."""

    uplift: UpliftModel
    arm_costs: np.ndarray
    params: Params  # `uplift:` from the uplift model's folder; SECTIONS from the strategy's
    context: Context
    #: The per-borrower reminder model saved with the uplift model (None: the context's average lift applies).
    reminders: ReminderModel | None = None

    def reminder_lift(self, features: pd.DataFrame) -> dict[str, np.ndarray | float]:
        """Per reminder channel, each row's lift (the per-borrower model), else the log's average lift."""
        return self.reminders.lift(features) if self.reminders is not None else dict(self.context.reminder_lift)

    @property
    def arms(self) -> tuple[Arm, ...]:
        return arms(self.params.uplift)

    @property
    def rules(self) -> rulebook.Rulebook:
        return rulebook.Rulebook.from_params(self.params.compliance)

    def contact_budget(self, states: pd.DataFrame) -> float | None:
        """The night's contacts at most for the accounts shown (`states`), from `strategy.contact_budget`: a share of
        them; "log": what business as usual would spend on them, each account at the log's contact rate for its
        bucket (not at the log's average: a charged-off account, shown daily and rarely contacted, earns little),
        less `strategy.log_budget_margin`; None: no limit."""
        budget = self.params.strategy.contact_budget
        if budget is None:
            return None
        if budget != "log":
            return float(budget) * len(states)
        overall = self.context.logged_contact_share
        if overall is None:
            return None
        rates = np.array(
            [overall if r is None else r for r in self.context.logged_contact_share_by_bucket] or [overall]
        )
        code = budget_bucket(states, self.params.buckets.as_buckets())
        spend = float(rates[np.minimum(code, len(rates) - 1)].sum())
        return (1.0 - self.params.strategy.log_budget_margin) * spend

    def harm_per_channel(self, scale: float = 1.0) -> np.ndarray:
        """Expected harm cost of one contact per channel at the `contact:` prices (times `scale`)."""
        c, s = self.params.contact, self.params.strategy
        return scale * self.context.harm.price(
            c.cease_price, c.opt_out_price, c.complaint_price, s.complaints_per_contact
        )


def fit_context(
    tables: dict[str, pd.DataFrame],
    params: Params,
    rows: pd.DataFrame | None = None,
    facts: dict[str, object] | None = None,
) -> Context:
    """Harm rates and outlook from the validated tables; the reminder lift and the log's contact share from
    `facts` (models/uplift/reminders.log_facts, saved with the uplift model), else measured on `rows` (the
    decision rows, models/uplift/rows.decision_rows); neither: the source has no decision log."""
    if facts is None and rows is not None:
        facts = log_facts(rows, tables, params)
    return _context(harm_rates(tables), _outlook_counts(tables, params), params, facts)


def context_part(tables: dict[str, pd.DataFrame], params: Params, last_cycle) -> tuple[HarmRates, OutlookCounts]:
    """One partition's part of the context: its harm rates and outlook counts (`context_of_parts` adds them
    up; the nightly job's worker processes compute them in parallel)."""
    return harm_rates(tables), _outlook_counts(tables, params, last_cycle)


def context_of_parts(
    parts: Iterable[tuple[HarmRates, OutlookCounts]], params: Params, facts: dict[str, object] | None
) -> Context:
    """The context of the partitions of whole borrowers whose `context_part`s are `parts`, added up in the order
    given, with the log's `facts` saved with the uplift model: equal to `fit_context` on the whole book up to the
    order of floating-point sums (memory holds one partition at a time)."""
    harms, counts = [], None
    for harm, part in parts:
        harms.append(harm)
        counts = part if counts is None else counts + part
    if counts is None:
        raise ValueError("context_of_parts needs at least one partition")
    return _context(added_harm(harms), counts, params, facts)


def added_harm(parts: list[HarmRates]) -> HarmRates:
    """The harm rates of partitions of whole borrowers, combined: each rate is attributed restrictions over
    contacts, so the partitions' attributed counts (rate x contacts, integers) and contacts add up."""
    contacts = {c: sum(p.contacts.get(c, 0) for p in parts) for c in CHANNELS}

    def rate(kind: str, channel: str) -> float:
        attributed = sum(round(getattr(p, kind).get(channel, 0.0) * p.contacts.get(channel, 0)) for p in parts)
        return attributed / contacts[channel] if contacts[channel] else 0.0

    return HarmRates({c: rate("cease", c) for c in CHANNELS}, {c: rate("opt_out", c) for c in CHANNELS}, contacts)


def _outlook_counts(tables: dict[str, pd.DataFrame], params: Params, last_cycle=None) -> OutlookCounts:
    return outlook_counts(
        tables["statements"],
        tables.get("payments", pd.DataFrame(columns=["account_id", "paid_at", "amount"])),
        params.buckets.as_buckets(),
        params.strategy.horizon_days,
        params.features.max_cycle_days,
        last_cycle,
    )


def _context(harm: HarmRates, counts: OutlookCounts, params: Params, facts: dict[str, object] | None) -> Context:
    outlook = counts.outlook(params.buckets.as_buckets(), params.strategy.horizon_days)
    facts = facts or {"reminder_lift": {}, "logged_contact_share": None}
    lift = {str(k): float(v) for k, v in dict(facts["reminder_lift"]).items()}
    share = facts["logged_contact_share"]
    by_bucket = tuple(facts.get("logged_contact_share_by_bucket") or ())  # absent from a model saved before it
    return Context(harm, outlook, lift, None if share is None else float(share), by_bucket)


def fit_model(tables: dict[str, pd.DataFrame], params: Params, uplift_dir: Path) -> StrategyModel:
    """The uplift model in `uplift_dir` with the context the strategy fits from the whole book's `tables`
    (harm rates, the outlook per bucket; the reminders' lift and the log's contact share as the uplift stage
    measured them)."""
    facts = load_facts(uplift_dir)  # measured on the decision log by the uplift stage
    logged = not tables.get("decisions", pd.DataFrame()).empty
    rows = decision_rows(tables, params) if facts is None and logged else None  # a model saved without its facts
    return strategy_model(uplift_dir, params, fit_context(tables, params, rows, facts))


def strategy_model(uplift_dir: Path, params: Params, context: Context) -> StrategyModel:
    """The uplift model in `uplift_dir` with a fitted `context` (the uplift model's own params win for `uplift:`)."""
    uplift, costs, uplift_params = load_uplift(uplift_dir)
    merged = params.model_copy(update={"uplift": uplift_params.uplift})
    return StrategyModel(uplift, costs, merged, context, load_reminders(uplift_dir))


def save_context(context: Context, params: Params, folder: Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "harm": context.harm.as_dict(),
        "outlook": context.outlook.as_dict(),
        "reminder_lift": context.reminder_lift,
        "logged_contact_share": context.logged_contact_share,
        "logged_contact_share_by_bucket": list(context.logged_contact_share_by_bucket),
        "params": {k: getattr(params, k).model_dump(mode="json") for k in SECTIONS},
    }
    (folder / META).write_text(json_text(meta))


def load_model(uplift_dir: Path, strategy_dir: Path) -> StrategyModel:
    """The bundle from the uplift model's folder and the strategy's folder."""
    model, costs, uplift_params = load_uplift(Path(uplift_dir))
    meta = json.loads((Path(strategy_dir) / META).read_text())
    params = Params.model_validate({"uplift": uplift_params.uplift.model_dump(mode="json"), **meta["params"]})
    context = Context(
        HarmRates.from_dict(meta["harm"]),
        Outlook.from_dict(meta["outlook"]),
        {k: float(v) for k, v in meta["reminder_lift"].items()},
        meta.get("logged_contact_share"),
        tuple(meta.get("logged_contact_share_by_bucket") or ()),
    )
    return StrategyModel(model, costs, params, context, load_reminders(Path(uplift_dir)))
