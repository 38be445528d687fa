"""Regions coupled only through shared hosts: each region solved on its own, the shared hosts' limits divided.

`placement.solvers.regions` splits a problem only where demands share nothing; one cloud region every demand
may reach joins them all. Here the hosts of the coordinated kinds (say the cloud regions) link no demands:
the regions are the components of the demand graph without them, and the coupling they leave is the rows
of those hosts alone: compute (3)-(4), power and battery (14), host link (6) and memory (5). A resource-
directive decomposition divides them. Region r gets a fraction f_rh of every limit of shared host h (peak
compute, power, harvest and battery, link, memory) with sum_r f_rh <= 1. Then every region's solution
within its fractions, put side by side, satisfies every constraint: each shared row holds because each
region's part fits its fraction, and every other row involves one region only (the regions' definition). A
copy two regions place on h is one copy side by side (memory and opening paid once) and waiting on h follows
the regions' loads together, so the whole solution's objective is computed on the whole problem, not summed.

Round 0, the bound: each region with all of the shared hosts' limits and none of their opening costs (and no
migration cost in per_epoch placement, where a shared copy's upload could be counted by two regions).
Dropping costs >= 0 and the coupling rows lowers the optimum, and what is left separates by region; waiting
(13) on a shared host only grows when the regions' loads meet there (the queue length is convex and 0 at no
load, so superadditive). So the sum of the regions' dual bounds bounds the whole problem. Their solutions side
by side, less the copies on shared hosts that serve nothing (free in round 0), are a candidate where they
satisfy every limit (`placement.evaluation.evaluate`).
Round 1, the division: n_rh, region r's need on h, is the largest share of h's compute, link or memory that
its round-0 solution uses in any epoch. Where the needs fit (sum_r n_rh <= 1) each region gets its need and
an equal part of what is left. Where they do not, each region is also solved without the shared hosts, and
its saving s_r (objective without them less with them) per unit of need, s_r / sum_h n_rh, orders the regions:
each gets its whole need in that order while the host lasts (the fractional knapsack's rule; splitting a
tight host in proportion to the needs instead was 13-39% above the optimum on tests/test_shared_hosts.py's
tight instances, where the optimum gives the host to one region). Each region is solved again with its
fractions and the true costs; side by side the solutions are feasible by construction.

The better candidate by exact objective is the result, with the round-0 bound: OPTIMAL where it is within the
solver's relative gap of the bound, else FEASIBLE. A tight shared host divided by the round-0 needs can cost
optimality (a region whose round-0 solution leaned on the shared host may do better elsewhere, and the other
way round); the gap to the bound says how much at most.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from placement.evaluation import evaluate
from placement.problem.objective import objective
from placement.problem.solution import SolveResult, Status
from placement.problem.spec import HOST_KINDS, PlacementProblem
from placement.solvers.regions import (STATUS_RANKING, regions, side_by_side, solve_by_region, solve_jobs,
                                      subproblem, summary)
from placement.solvers.residuals import State


def shared_hosts(problem: PlacementProblem, kinds: tuple[str, ...]) -> np.ndarray:
    """[host] bool: the hosts of the given kinds (names of `HOST_KINDS`)."""
    return np.isin(problem.host_kind, [HOST_KINDS.index(kind) for kind in kinds])


def relaxed(problem: PlacementProblem, shared: np.ndarray) -> PlacementProblem:
    """Round 0's region problem: no opening cost on a shared host, no migration cost in per_epoch placement."""
    migration = 0.0 if problem.placement == "per_epoch" else problem.migration_cost_per_gb
    return dataclasses.replace(problem, opening_cost=np.where(shared[None, :], 0.0, problem.opening_cost),
                               migration_cost_per_gb=migration)


def with_fractions(problem: PlacementProblem, fraction: np.ndarray) -> PlacementProblem:
    """`problem` with every limit of each host scaled by `fraction` [host] (1 for hosts not shared); a host
    with fraction 0 is not offered at all (its slots become padding, as limits of 0 are not a host; so do the
    slots no solution can use, so that a demand left with none is one without candidates)."""
    p = problem
    f = np.where(fraction > 0, fraction, 1.0)
    offered = p.usable_slots() & (fraction[np.maximum(p.candidate_host, 0)] > 0)
    scaled = dict(memory_bytes=p.memory_bytes * f, peak_flops_s=p.peak_flops_s * f,
                  power_budget_w=p.power_budget_w * f[None, :], link_gbps=p.link_gbps * f[None, :],
                  candidate_host=np.where(offered, p.candidate_host, -1))
    if p.harvest_w is not None:
        scaled |= dict(harvest_w=p.harvest_w * f[None, :], battery_j=p.battery_j * f)
    return dataclasses.replace(p, **scaled)


def without_idle_shared(problem: PlacementProblem, result: SolveResult, shared: np.ndarray) -> SolveResult:
    """Round 0's result less its copies on shared hosts that serve nothing: free there in round 0, they would
    only take memory the other regions may need."""
    if result.solution is None:
        return result
    p, solution = problem, result.solution
    t, d, k = np.nonzero(solution.assignment > 0)
    served = np.zeros(solution.placement.shape, bool)
    served[t, p.candidate_model[t, d, k], p.candidate_host[t, d, k]] = True
    if p.placement == "fixed":
        served = np.broadcast_to(served.any(axis=0), served.shape)
    placement = solution.placement & (served | ~shared[None, None, :])
    return dataclasses.replace(result, solution=dataclasses.replace(solution, placement=placement))


def needs(problem: PlacementProblem, result: SolveResult) -> np.ndarray:
    """[host] the largest share of each host's compute, link or memory the result's solution uses in any epoch
    (`State.of` recounts them; 0 without a solution: the region then asks for nothing it has shown it can use)."""
    p = problem
    if result.solution is None:
        return np.zeros(p.n_hosts)
    state = State.of(p, result.solution)
    with np.errstate(divide="ignore", invalid="ignore"):  # unlimited (inf) and empty (0) limits give no share
        shares = [1.0 - state.compute / state.budget, 1.0 - state.link / p.link_bps(),
                  1.0 - state.memory / p.memory_bytes[None, :]]
    return np.max([np.where(np.isfinite(s), s, 0.0).max(axis=0) for s in shares], axis=0)


LEAST_FRACTION = 1e-6  # a smaller share of a host's limits is left to the others (the MILP's data stay well scaled)


def divide(need: np.ndarray, benefit: np.ndarray) -> np.ndarray:
    """[region, host] fractions from the needs [region, host] and what the shared hosts save each region
    [region] (its objective without them less with all of them; inf where it needs them to be feasible).
    Where a host's needs fit, each region gets its need and an equal part of the rest; where they do not,
    the regions are served whole by decreasing saving per unit of their needs, the last in part (the order
    that solves a fractional knapsack); a host no region needs is divided equally."""
    total = need.sum(axis=0)
    users = np.maximum((need > 0).sum(axis=0), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(need.sum(axis=1) > 0, benefit / need.sum(axis=1), 0.0)
    order = np.argsort(-density, kind="stable")
    before = np.empty_like(need)
    before[order] = np.cumsum(need[order], axis=0) - need[order]
    by_saving = np.clip(1.0 - before, 0.0, need)
    by_saving[by_saving < LEAST_FRACTION] = 0.0  # a rounding rest of the cumulative sum is not a host
    fitted = need + np.where(need > 0, (1.0 - total) / users, 0.0)
    equal = np.full(need.shape, 1.0 / need.shape[0])
    return np.where(total == 0, equal, np.where(total <= 1.0, fitted, by_saving))


def solve_coordinated(problem: PlacementProblem, name: str, options, kinds: tuple[str, ...], *, seed: int = 0,
                      workers: int = 1, executor: str = "processes", address: str | None = None) -> SolveResult | None:
    """Strategy `name` on the regions left apart by the hosts of `kinds`, their limits divided (module
    docstring); None where those hosts leave one region (nothing to divide)."""
    start = time.perf_counter()
    p = problem
    shared = shared_hosts(p, kinds)
    parts = regions(p, apart=shared)
    if len(parts) < 2:
        return None
    run = lambda problems: solve_jobs([(name, q, options, seed) for q in problems], workers, executor, address)  # noqa: E731
    whole = [subproblem(p, demands) for demands in parts]
    first = [without_idle_shared(q, r, shared) for q, r in zip(whole, run([relaxed(q, shared) for q in whole]))]
    bound = float(sum(r.dual_bound for r in first))
    candidates = []  # (objective, round, solution, statuses)
    together = side_by_side(p, parts, first)
    if together is not None and evaluate(p, together).feasible:
        candidates.append((objective(p, together), 0, together, first))
    need = np.stack([needs(q, r) for q, r in zip(whole, first)])
    benefit = np.zeros(len(parts))
    if (need[:, shared].sum(axis=0) > 1.0).any():  # what the shared hosts are worth to each region
        alone = run([with_fractions(q, np.where(shared, 0.0, 1.0)) for q in whole])
        benefit = np.array([(r.objective if r.solution is not None else np.inf) - f.objective
                            for r, f in zip(alone, first)])
    fraction = divide(need, benefit)
    fraction[:, ~shared] = 1.0
    second = run([with_fractions(q, f) for q, f in zip(whole, fraction)])
    divided = side_by_side(p, parts, second)
    if divided is not None:
        candidates.append((objective(p, divided), 1, divided, second))
    note = (f"coordinated on {int(shared.sum())} shared hosts ({', '.join(kinds)}): round 0 "
            f"{summary(parts, first)}; round 1 {summary(parts, second)}")
    if not candidates:
        status = max((r.status for r in first + second), key=STATUS_RANKING.index)
        return SolveResult(f"{name}-coordinated", status if status is not Status.OPTIMAL else Status.NO_SOLUTION,
                           None, dual_bound=bound, solve_seconds=time.perf_counter() - start, message=note)
    value, round_, solution, results = min(candidates, key=lambda c: c[:2])
    # Proven where the candidate is within the solver's gap of the bound (it is not where round 0 dropped costs
    # the candidate pays, or where waiting on a shared host grows with the regions' load together)
    proven = value - bound <= getattr(options, "relative_gap", 1e-4) * abs(value)
    return SolveResult(f"{name}-coordinated", Status.OPTIMAL if proven else Status.FEASIBLE, solution,
                       objective=value, dual_bound=min(bound, value), solve_seconds=time.perf_counter() - start,
                       message=f"{note}; round {round_} kept: {value:.6g}")


def by_regions(problem: PlacementProblem, name: str, options, seed: int = 0) -> SolveResult | None:
    """`options` (with `regions`, `coordinated_hosts` and the region executor's fields) on the problem's regions:
    apart where they share nothing (`regions.solve_by_region`), else coordinated on the hosts of
    `coordinated_hosts`; None where neither splits the problem."""
    each = dataclasses.replace(options, regions=False)
    where = dict(seed=seed, workers=options.region_workers, executor=options.region_executor,
                 address=options.region_address)
    if len(regions(problem)) > 1:
        return solve_by_region(problem, name, each, **where)
    if options.coordinated_hosts:
        return solve_coordinated(problem, name, each, tuple(options.coordinated_hosts), **where)
    return None
