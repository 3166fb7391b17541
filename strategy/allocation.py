"""Share scarce capacity across borrowers: at most one action per borrower, as much value as capacity allows.

Input: a value matrix (account x candidate, NaN = not allowed), the borrower of each account and the
capacity each candidate uses (strategy/capacity.py). No contact is worth 0 and wins wherever every
allowed candidate is worth <= 0. Two methods, chosen by measurement (docs/strategy.md):

- **greedy**: every borrower first takes its best candidate that uses no capacity (its *base*); the
  capacity-using candidates worth more than the base are then taken in order of gain over the base per
  unit of capacity (the sum over resources of the share of each resource it uses), each if it fits and
  its borrower has none yet; a second pass swaps a borrower to a candidate of higher gain where it
  fits, so that with ample capacity every borrower gets its best action.
- **lp**: the linear relaxation of the same problem, solved by HiGHS (`scipy.optimize.linprog`):
  maximise the gain over the base, one candidate per borrower at most, capacity per resource. A vertex
  has at most as many fractional borrowers as there are resources; the solution is rounded by taking
  candidates in order of their LP value with the same acceptance as the greedy (so it never exceeds
  capacity). Its objective is an upper bound on any allocation's value (`bound`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from strategy.capacity import Usage

#: Capacity may be exceeded by at most this (floating-point sums of window shares).
EPS = 1e-9


@dataclass(frozen=True)
class Allocation:
    """`choice` (n,): the chosen candidate column of each account, -1 for no contact (one account per
    borrower at most); `value`: total value; `bound`: the LP's upper bound on it (lp only)."""

    choice: np.ndarray
    value: float
    bound: float | None
    method: str


@dataclass(frozen=True)
class _Problem:
    rows: np.ndarray  # candidate's account
    cols: np.ndarray  # candidate's column
    group: np.ndarray  # candidate's borrower code
    gain: np.ndarray  # value over the borrower's base
    pattern: np.ndarray
    base_row: np.ndarray  # per borrower code: account of the base, -1 none
    base_col: np.ndarray
    base_value: np.ndarray


def _best_per_group(group: np.ndarray, rows: np.ndarray, cols: np.ndarray, val: np.ndarray, n_groups: int):
    """Per group code: (row, col, value) of its highest value entry (-1, -1, 0 where none)."""
    best_row, best_col, best_val = np.full(n_groups, -1), np.full(n_groups, -1), np.zeros(n_groups)
    if len(val):
        order = np.lexsort((cols, rows, -val, group))
        g = group[order]
        first = np.ones(len(g), dtype=bool)
        first[1:] = g[1:] != g[:-1]
        pick = order[first]
        best_row[group[pick]], best_col[group[pick]], best_val[group[pick]] = rows[pick], cols[pick], val[pick]
    return best_row, best_col, best_val


def _problem(value: np.ndarray, group: np.ndarray, usage: Usage) -> tuple[_Problem, int]:
    codes, gcode = np.unique(np.asarray(group), return_inverse=True)
    gcode, n_groups = gcode.reshape(-1), len(codes)
    v = np.where(np.isfinite(value), value, -np.inf)
    rows, cols = np.nonzero(v > 0)
    val, pat, grp = v[rows, cols], usage.pattern[rows, cols], gcode[rows]
    free = pat < 0
    base_row, base_col, base_val = _best_per_group(grp[free], rows[free], cols[free], val[free], n_groups)
    feasible = np.ones(len(usage.amounts), dtype=bool)
    if len(usage.amounts):
        feasible = ~((usage.amounts > 0) & (usage.capacity[None, :] <= 0)).any(axis=1)
    keep = ~free & (val > base_val[grp])
    keep[keep] &= feasible[pat[keep]]
    problem = _Problem(
        rows[keep], cols[keep], grp[keep], val[keep] - base_val[grp[keep]], pat[keep], base_row, base_col, base_val
    )
    return problem, n_groups


def _accept(order: np.ndarray, pb: _Problem, usage: Usage, n_groups: int) -> np.ndarray:
    """Take candidates in `order`, each if its borrower has none and it fits; then swap to higher gains."""
    rem = usage.capacity.astype(float).tolist()
    uses = [[(int(r), float(a[r])) for r in np.flatnonzero(a > 0)] for a in usage.amounts]
    taken = np.full(n_groups, -1, dtype=np.int64)
    groups, patterns = pb.group.tolist(), pb.pattern.tolist()
    for c in order.tolist():
        g = groups[c]
        if taken[g] >= 0:
            continue
        u = uses[patterns[c]]
        if all(rem[r] >= a - EPS for r, a in u):
            for r, a in u:
                rem[r] -= a
            taken[g] = c
    gains = pb.gain.tolist()
    for c in np.argsort(-pb.gain, kind="stable").tolist():  # swap pass: a higher gain where it fits
        g, current = groups[c], taken[groups[c]]
        if current == c or (current >= 0 and gains[current] >= gains[c]):
            continue
        new = uses[patterns[c]]
        old = uses[patterns[current]] if current >= 0 else []
        for r, a in old:
            rem[r] += a
        if all(rem[r] >= a - EPS for r, a in new):
            for r, a in new:
                rem[r] -= a
            taken[g] = c
        else:
            for r, a in old:
                rem[r] -= a
    return taken


def _unit_cost(pb: _Problem, usage: Usage) -> np.ndarray:
    with np.errstate(over="ignore"):  # a tiny capacity: an infinite cost (in the division or the sum), no warning
        share = usage.amounts / np.where(usage.capacity > 0, usage.capacity, np.inf)[None, :]
        return share.sum(axis=1)[pb.pattern] if len(pb.pattern) else np.zeros(0)


def _lp(pb: _Problem, usage: Usage, n_groups: int) -> tuple[np.ndarray, float]:
    """The LP relaxation's solution x (per candidate) and its objective (gain over the bases)."""
    m = len(pb.gain)
    if m == 0:
        return np.zeros(0), 0.0
    one = sparse.csr_matrix((np.ones(m), (pb.group, np.arange(m))), shape=(n_groups, m))
    amounts = sparse.csr_matrix(usage.amounts)[pb.pattern].T.tocsr()
    binding = np.flatnonzero(np.asarray(amounts.sum(axis=1)).ravel() > usage.capacity + EPS)
    a_ub = sparse.vstack([one, amounts[binding]]).tocsr()
    b_ub = np.concatenate([np.ones(n_groups), usage.capacity[binding]])
    res = linprog(-pb.gain, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the allocation LP: {res.message}")
    return np.clip(res.x, 0, 1), float(-res.fun)


def allocate(
    value: np.ndarray, group: np.ndarray, usage: Usage, method: Literal["greedy", "lp"] = "greedy"
) -> Allocation:
    """Choose at most one candidate per borrower (`group` per account), maximising total value within capacity.

    `value` (n, K): each candidate's expected net value, NaN where not allowed; candidates worth <= 0
    are never chosen (no contact is worth 0).
    """
    pb, n_groups = _problem(np.asarray(value, dtype=np.float64), group, usage)
    ratio = pb.gain / np.maximum(_unit_cost(pb, usage), 1e-300)
    bound = None
    if method == "greedy":
        order = np.lexsort((pb.cols, pb.rows, -pb.gain, -ratio))
    elif method == "lp":
        x, objective = _lp(pb, usage, n_groups)
        bound = objective + float(pb.base_value.sum())
        order = np.lexsort((pb.cols, pb.rows, -ratio, -np.round(x, 9)))
    else:
        raise ValueError(f"unknown allocation method {method!r}: greedy or lp")
    taken = _accept(order, pb, usage, n_groups)
    choice = np.full(len(value), -1, dtype=np.int64)
    has_base = pb.base_row >= 0
    choice[pb.base_row[has_base]] = pb.base_col[has_base]
    up = np.flatnonzero(taken >= 0)
    c = taken[up]
    choice[pb.base_row[up[has_base[up]]]] = -1  # the upgrade replaces the base
    choice[pb.rows[c]] = pb.cols[c]
    total = float(pb.base_value.sum() + pb.gain[c].sum())
    return Allocation(choice, total, bound, method)
