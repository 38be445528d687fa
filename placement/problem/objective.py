"""The objective of `placement.solvers.milp`, computed from a solution: what heuristics report.

The evaluator (`placement.evaluation.metrics`) recomputes it term by term on its own, so a mistake here
shows up as a mismatch there.
"""

from __future__ import annotations

import numpy as np

from placement.problem.solution import Solution
from placement.problem.spec import PlacementProblem


def objective(problem: PlacementProblem, solution: Solution) -> float:
    """Latency + waiting + unserved penalty + opening + migration, in request-ms (uploads z[t] = y[t] and
    not y[t-1] for t >= 1, in per_epoch placement only; waiting where the problem queues)."""
    p = problem
    x, y = solution.assignment, solution.placement
    R = p.requests()
    weight = R[:, :, None] * x
    with np.errstate(invalid="ignore"):  # inf latency x 0 share on unusable slots
        latency = np.where(weight > 0, weight * p.slot_cost_ms(), 0.0).sum()
    waiting = p.waiting_request_ms(p.host_flops_s(x)).sum() if p.queueing else 0.0
    unserved = (p.unserved_penalty_ms or 0.0) * (R * np.maximum(1.0 - x.sum(axis=2), 0.0)).sum()
    opening = (y * p.opening_cost[None]).sum()
    migration = 0.0
    if p.placement == "per_epoch" and p.n_epochs > 1:
        uploads = y[1:] & ~y[:-1]
        migration = np.einsum("tmh,m->", uploads, p.migration_cost())
    return float(latency + waiting + unserved + opening + migration)
