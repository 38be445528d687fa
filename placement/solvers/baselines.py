"""Baseline placements, the yardsticks the MILP is measured against.

Each is a function `(problem, options=BaselineOptions(), *, seed=0, hint=None) -> SolveResult` (the solver
contract; a baseline has no options and ignores the hint: it is a fixed rule) that works from the candidate
slots of each demand and returns a solution satisfying every constraint (1)-(16) and (18) of `placement.solvers.milp`
exactly:

  cloud_only       every request to the lowest-latency usable cloud slot with spare capacity (split over
                   the next cloud slots when splittable), the rest unserved.
  nearest_gateway  the downlink-point edge: each demand at the usable gateway slot with the lowest
                   round trip (candidate_rtt_ms), the next gateway when that one's compute, link or memory
                   runs out; what no gateway can take goes to the cloud as in cloud_only, then unserved.
  greedy           demands by decreasing regret (requests x (second-best - best latency)); each served at
                   the usable slot, of any kind, with the lowest cost per request, split over further
                   slots when capacity runs out (not under single_source). A slot whose host lacks the
                   model pays for the new copy (opening cost, and in per_epoch mode the upload's migration
                   cost), spread over the requests it would serve; a share is served only if that cost per
                   request is below the unserved penalty, so every copy and every share lowers the objective.
  random           (`random_feasible`) demands in a random order, each filling random usable slots; a floor.

All four build on `placement.solvers.residuals.Residuals`, which tracks what is left of every limit per
(epoch, host), per (epoch, site) and direction, per (epoch, shared link), and per slot (its candidate_share),
places copies as they are first used (placement y is exactly the copies some share uses) and assigns the
largest feasible share of a demand to a slot. Demand-epochs with no requests are left unserved (they cost nothing and need no copy).
With `unserved_penalty_ms=None` a baseline that cannot serve every request returns no solution: INFEASIBLE
when a capacity argument (placement.problem.shortfalls) proves that none exists, NO_SOLUTION when only this
heuristic failed.
"""

from __future__ import annotations

import time

import numpy as np

from placement.problem.objective import objective
from placement.problem.solution import Solution, SolveResult, Status
from placement.problem.spec import CLOUD, GATEWAY, PlacementProblem
from placement.solvers.options import BaselineOptions
from placement.solvers.residuals import Residuals, no_solution


def _result(name: str, problem: PlacementProblem, res: Residuals, start: float) -> SolveResult:
    if res.complete():
        solution = res.solution()
        return SolveResult(name, Status.FEASIBLE, solution, objective=objective(problem, solution),
                           solve_seconds=time.perf_counter() - start)
    return no_solution(name, problem, res.remaining, start)


def _by_kind(res: Residuals, t: int, d: int, kind: int, key: np.ndarray) -> list[int]:
    """Usable slots of (t, d) on hosts of `kind`, by increasing key."""
    slots = np.flatnonzero(res.usable[t, d] & (res.problem.host_kind[res.host[t, d]] == kind))
    return slots[np.argsort(key[slots], kind="stable")].tolist()


def cloud_only(problem: PlacementProblem, options: BaselineOptions = BaselineOptions(), *, seed: int = 0,
               hint: Solution | None = None) -> SolveResult:
    """Every request to the lowest-latency usable cloud slot with spare capacity; the rest unserved."""
    start = time.perf_counter()
    res = Residuals(problem)
    for t, d in np.argwhere(res.remaining > 0):
        res.fill(t, d, _by_kind(res, t, d, CLOUD, res.latency[t, d]))
    return _result("cloud_only", problem, res, start)


def nearest_gateway(problem: PlacementProblem, options: BaselineOptions = BaselineOptions(), *, seed: int = 0,
                    hint: Solution | None = None) -> SolveResult:
    """Each demand at the usable gateway slot with the lowest round trip, the next gateway when that one's
    capacity or memory runs out; what no gateway takes goes to the cloud as in `cloud_only` (lowest
    latency first), the rest unserved. Satellites are never used."""
    start = time.perf_counter()
    res = Residuals(problem)
    for t, d in np.argwhere(res.remaining > 0):
        gateways = _by_kind(res, t, d, GATEWAY, problem.candidate_rtt_ms[t, d])
        res.fill(t, d, gateways + _by_kind(res, t, d, CLOUD, res.latency[t, d]))
    return _result("nearest_gateway", problem, res, start)


def _regret_order(problem: PlacementProblem, res: Residuals) -> np.ndarray:
    """(epoch, demand) pairs with requests by decreasing requests x (second-best - best latency); a
    demand-epoch with one usable slot has infinite regret (it has no alternative, so it goes first).
    In per_epoch mode epoch by epoch, so each epoch's new copies know the previous epoch's (uploads)."""
    L = np.sort(res.latency, axis=2)
    best = L[:, :, 0]
    second = L[:, :, 1] if L.shape[2] > 1 else np.full(best.shape, np.inf)
    with np.errstate(invalid="ignore"):
        regret = np.where(np.isfinite(best), res.requests * (second - best), -np.inf)
    regret = np.where(np.isnan(regret), np.inf, regret)  # inf x 0 requests is filtered out below
    t, d = np.nonzero(res.remaining > 0)
    keys = (d, -res.requests[t, d], -regret[t, d]) + (() if res.fixed else (t,))
    order = np.lexsort(keys)
    return np.stack([t[order], d[order]], axis=1)


def greedy(problem: PlacementProblem, options: BaselineOptions = BaselineOptions(), *, seed: int = 0,
           hint: Solution | None = None) -> SolveResult:
    """Demands by decreasing regret, each at its cheapest usable slot of any kind, split when it fills.

    The cost of a slot per request is its latency plus, when its host lacks the model, the new copy's cost
    (opening cost over the epochs it is placed for, and in per_epoch mode the upload's migration cost)
    divided by the requests the copy would serve for this demand: in per_epoch mode this epoch's share, in
    fixed mode that share over every epoch in which the host is a usable candidate of the demand (the copy
    stays for the whole horizon). Requests are served only while that cost is below the unserved penalty
    (always when unserved_penalty_ms is None), so a new copy is placed only where it lowers the objective.
    """
    start = time.perf_counter()
    p = problem
    res = Residuals(p)
    penalty = np.inf if p.unserved_penalty_ms is None else p.unserved_penalty_ms
    for t, d in _regret_order(p, res):
        if res.fixed:  # requests of d over the horizon in epochs where each of this epoch's hosts serves it
            same = (p.candidate_host[:, d, :, None] == p.candidate_host[t, d][None, None, :])
            served_by = (same & res.usable[:, d, :, None]).any(axis=1)  # [epoch, slot]
            horizon = res.requests[:, d] @ served_by
        else:
            horizon = np.full(p.n_slots, res.requests[t, d])
        res.serve_where_it_pays(t, d, horizon, penalty)
    return _result("greedy", p, res, start)


def random_feasible(problem: PlacementProblem, options: BaselineOptions = BaselineOptions(), *, seed: int = 0,
                    hint: Solution | None = None) -> SolveResult:
    """(epoch, demand) pairs in a random order, each filling its usable slots in a random order."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    res = Residuals(problem)
    pairs = np.argwhere(res.remaining > 0)
    for t, d in pairs[rng.permutation(len(pairs))]:
        res.fill(t, d, rng.permutation(np.flatnonzero(res.usable[t, d])))
    return _result("random", problem, res, start)
