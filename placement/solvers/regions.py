"""Decomposition into regions: demands that share no host and no site are independent problems.

Every constraint of `placement.solvers.milp` involves one demand-epoch (1, 10-12), one host (3-6, 8, 9, 13-15,
with the demands it serves), one site (7a-b, with its demands) or one shared link (16, with the demands whose
paths cross it either way), and the objective is a sum of the same
terms. So the connected components of the graph whose nodes are demands, linked when they share a site or a
usable candidate host in any epoch, are independent problems: their optima add up to the whole problem's
optimum, their bounds to a bound, and their solutions, put side by side, to a solution that satisfies every
constraint. Regions appear where demands only see hosts near them and policy keeps them apart: sovereignty
rules that confine each country's demands to its own hosts, continents served by their own gateways and
cloud regions. A host every demand can reach (one global cloud region) joins everything into one region;
then this module changes nothing.

`solve_by_region` solves each region with a given strategy, in parallel processes or as Ray tasks (locally or on
a cluster) when asked, and puts the results together.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import time

import numpy as np

from placement.problem.solution import Solution, SolveResult, Status
from placement.problem.spec import PlacementProblem
from placement.ray_session import connected, import_ray

_DEMAND_FIELDS_LAST = ("rate_per_s",)  # [epoch, demand]
_DEMAND_FIELDS_MIDDLE = ("candidate_host", "candidate_rtt_ms", "candidate_up_gbps", "candidate_down_gbps",
                         "candidate_share", "candidate_model", "candidate_link",
                         "candidate_link_share", "candidate_link_steps")  # [epoch, demand, slot, ...] (or None)
_DEMAND_FIELDS_FIRST = ("demand_model", "demand_site", "request_bytes", "response_bytes", "slo_ms", "allowed",
                        "choice_cost_ms")  # [demand, ...]


def regions(problem: PlacementProblem, apart: np.ndarray | None = None) -> list[np.ndarray]:
    """The demands of each region (sorted index arrays, regions by their first demand): connected components
    of demands linked through a shared site, a shared usable candidate host or a shared link (either direction).
    `apart` [host] bool: hosts that link no demands (`placement.solvers.shared_hosts` divides their limits)."""
    p = problem
    parent = np.arange(p.n_demands)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def link(members: np.ndarray) -> None:
        first = root(int(members[0]))
        for other in members[1:]:
            r = root(int(other))
            if r != first:
                parent[r] = first

    t, d, k = np.nonzero(p.usable_slots())
    if apart is not None:
        t, d, k = (a[~apart[p.candidate_host[t, d, k]]] for a in (t, d, k))
    host = p.candidate_host[t, d, k]
    links = p.candidate_link[t, d, k]  # [slot, L]
    on = links >= 0
    undirected = np.minimum(links, p.link_reverse[np.maximum(links, 0)] if p.n_links else links)[on]
    S = p.site_uplink_gbps.shape[1]
    for key, who in ((host, d), (p.n_hosts + p.demand_site[d], d),  # by host, by site, then by link
                     (p.n_hosts + S + undirected, np.broadcast_to(d[:, None], on.shape)[on])):
        order = np.argsort(key, kind="stable")
        groups = np.split(who[order], np.flatnonzero(np.diff(key[order])) + 1)
        for members in groups:
            if len(members) > 1:
                link(np.unique(members))
    for site in np.unique(p.demand_site):  # demands with no usable slot still share their site's rows
        members = np.flatnonzero(p.demand_site == site)
        if len(members) > 1:
            link(members)
    roots = np.array([root(i) for i in range(p.n_demands)])
    return [np.flatnonzero(roots == r) for r in dict.fromkeys(roots.tolist())]


def subproblem(problem: PlacementProblem, demands: np.ndarray) -> PlacementProblem:
    """`problem` with only `demands` (every host, site and model kept)."""
    p = problem
    fields = {name: getattr(p, name)[:, demands] for name in _DEMAND_FIELDS_LAST}
    fields |= {name: getattr(p, name)[:, demands, :] for name in _DEMAND_FIELDS_MIDDLE if getattr(p, name) is not None}
    fields |= {name: getattr(p, name)[demands] for name in _DEMAND_FIELDS_FIRST}
    if p.candidate_transit is not None:  # [epoch, demand, slot, jurisdiction]
        fields["candidate_transit"] = p.candidate_transit[:, demands]
    return dataclasses.replace(p, demand_name=tuple(p.demand_name[i] for i in demands), **fields)


def _solve_one(args):
    name, problem, options, seed = args
    from placement.solvers import solve  # the registry, imported in the worker process

    return solve(name, problem, options, seed=seed)


def solve_jobs(jobs: list, workers: int = 1, executor: str = "processes", address: str | None = None) -> list:
    """[(strategy name, problem, options, seed)] solved in this process, in `workers` processes, or with
    `executor` 'ray' as one Ray task each on the cluster at `address` (default: a local instance)."""
    if executor == "ray" and len(jobs) > 1:
        with connected(import_ray("solver.milp.region_executor"), address) as ray:
            task = ray.remote(_solve_one)
            return ray.get([task.remote(job) for job in jobs])
    if workers > 1 and len(jobs) > 1:
        # spawned, not forked: a fork of a process running JAX's threads can deadlock
        with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                                                    mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(_solve_one, jobs))
    return [_solve_one(job) for job in jobs]


def side_by_side(problem: PlacementProblem, parts: list[np.ndarray], results: list) -> Solution | None:
    """The regions' solutions as one (a copy any region places is placed); None if a region has none."""
    if any(r.solution is None for r in results):
        return None
    solution = Solution.empty(problem)
    for demands, result in zip(parts, results):
        solution.placement[...] |= result.solution.placement
        solution.assignment[:, demands, :] = result.solution.assignment
    return solution


STATUS_RANKING = [Status.OPTIMAL, Status.FEASIBLE, Status.NO_SOLUTION, Status.ERROR, Status.INFEASIBLE]


def summary(parts: list[np.ndarray], results: list) -> str:
    return (f"{len(parts)} regions ({', '.join(str(len(d)) for d in parts[:8])}{' ...' if len(parts) > 8 else ''} "
            "demands): " + "; ".join(f"{r.status.value} {r.objective:.6g}" for r in results[:8]))


def solve_by_region(problem: PlacementProblem, name: str, options=None, *, seed: int = 0, workers: int = 1,
                    executor: str = "processes", address: str | None = None) -> SolveResult:
    """Strategy `name` (of `placement.solvers.SOLVERS`) on each region, in `workers` processes (1: in this
    one), or with `executor` 'ray' as one Ray task each on the cluster at `address` (default: a local
    instance); the result's objective and dual bound are the regions' sums, its status the weakest of theirs."""
    start = time.perf_counter()
    parts = regions(problem)
    results = solve_jobs([(name, subproblem(problem, demands), options, seed) for demands in parts],
                         workers, executor, address)
    return SolveResult(
        solver=f"{name}-regions", status=max((r.status for r in results), key=STATUS_RANKING.index),
        solution=side_by_side(problem, parts, results),
        objective=float(sum(r.objective for r in results)), dual_bound=float(sum(r.dual_bound for r in results)),
        build_seconds=0.0, solve_seconds=time.perf_counter() - start, message=summary(parts, results))
