"""Large neighbourhood search: small MILPs around the incumbent, each solved exactly by HiGHS.

A neighbourhood is the incumbent's copies plus `extra` copies it does not use, taken in turn by increasing
Lagrangian value (the copy prices' v_y, `placement.solvers.copy_dual`: the copies the relaxation finds
closest to paying); every other copy stays closed. Each demand-epoch keeps the `slots` cheapest of its slots
at those copies and the slots the incumbent uses, so the sub-MILP holds about demand-epochs x `slots`
assignment variables whatever the instance's size, and the incumbent is always one of its solutions (it
starts HiGHS). A sub-MILP's solution is feasible for the whole problem (it only has fewer options) and
replaces the incumbent when it is better. Local moves (`placement.solvers.local_search`) change one copy at
a time and re-serve demands greedily; a neighbourhood changes several copies and re-solves the assignment
exactly, which is what capacitated instances with opening costs need (on OR-Library's capa at capacity
10,000: local moves stop 1.49% above the optimum, two neighbourhoods reach 0.09%; measured with
experiments/benchmarks/optimizers.py).
"""

from __future__ import annotations

import time

import numpy as np

from placement.problem.objective import objective
from placement.problem.solution import Solution
from placement.problem.spec import PlacementProblem
from placement.solvers import copy_dual, milp
from placement.solvers.options import MilpOptions


def search(problem: PlacementProblem, incumbent: Solution, ks: copy_dual.Knapsacks, value: np.ndarray,
           deadline: float, *, extra: int, slots: int, each_s: float) -> tuple[Solution, str]:
    """Neighbourhoods around `incumbent` until `deadline` or until every unused copy has been offered once
    without an improvement; returns the best solution and a note."""
    p = problem
    best, best_value = incumbent, objective(p, incumbent)
    first = best_value
    used_copies = copy_dual.copy_mask(p, ks, np.ones(len(value), bool))  # every copy the relaxation knows
    order = np.argsort(value, kind="stable")
    tried = improved = 0
    offset, since_improvement = 0, 0
    while time.perf_counter() + 0.5 < deadline:
        placed = best.placement
        unused = order[~_placed(ks, placed)[order]]
        if unused.size == 0 or since_improvement >= unused.size:
            break
        pick = unused[(offset + np.arange(min(extra, unused.size))) % unused.size]
        offset += len(pick)
        free = placed | copy_dual.copy_mask(p, ks, np.isin(np.arange(len(value)), pick))
        free &= used_copies
        limit = min(each_s, deadline - time.perf_counter())
        result = milp.solve_within(p, (np.zeros_like(free), free), MilpOptions(time_limit_s=max(limit, 0.1)),
                                   hint=best, slots=_cheapest_slots(p, free, best, slots))
        tried += 1
        since_improvement += len(pick)
        if result.solution is not None:
            candidate = objective(p, result.solution)
            if candidate < best_value * (1 - 1e-9):
                best, best_value = result.solution, candidate
                improved += 1
                since_improvement = 0
    return best, (f"{tried} neighbourhoods ({extra} more copies, {slots} slots per demand-epoch), {improved} "
                  f"improved: {first:.6g} -> {best_value:.6g}")


def _placed(ks: copy_dual.Knapsacks, placement: np.ndarray) -> np.ndarray:
    """Bool per copy of `ks`: placed in `placement` [epoch, model, host]."""
    t, m, h = ks.copy_index.T
    return placement[np.maximum(t, 0), m, h]


def _cheapest_slots(p: PlacementProblem, free: np.ndarray, incumbent: Solution, slots: int) -> np.ndarray:
    """[epoch, demand, slot] bool: each demand-epoch's `slots` cheapest slots at the `free` copies, and those
    the incumbent uses."""
    T = np.arange(p.n_epochs)[:, None, None]
    at_free = free[T if p.placement == "per_epoch" else 0, p.candidate_model, np.maximum(p.candidate_host, 0)]
    cost = np.where(p.usable_slots() & at_free, p.slot_cost_ms(), np.inf)
    rank = np.argsort(np.argsort(cost, axis=2, kind="stable"), axis=2, kind="stable")
    return (rank < slots) & np.isfinite(cost) | (incumbent.assignment > 0)
