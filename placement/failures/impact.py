"""What each strategy's placement is worth when elements fail (an `Outage`), three ways:

  kept         copies and assignment kept, paths kept: the requests of a slot whose host failed (or lost its
               accelerators), and at each network step those whose path (`placement.results.paths`: site,
               satellites, gateway, PoP, cloud) crosses a failed satellite, laser, gateway or cloud region, are
               unserved; the rest are served as before (their latency is the slot's nominal one);
  rerouted     copies kept, the network and problem rebuilt without the failed elements, every gateway and
               cloud region offered (`failed_problems`), the requests reassigned among the surviving copies: the
               MILP with every copy fixed (`milp.best_assignment`; an LP unless demands are single-source);
  reoptimised  the strategy run again on the rebuilt problem (milp_reserve: its reserve against the rebuilt
               problem's own single failures, `reserve.solve_against`).

Each is scored by the independent evaluator (`placement.evaluation.evaluate`) on the problem it is a solution
of: `kept` on the nominal problem, the others on the rebuilt one. The unserved share is of the nominal
problem's requests (the rebuilt problem leaves out what a failure's coverage gaps left unissued: cover), the
mean latency over the requests served.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from placement import solvers
from placement.evaluation import evaluate
from placement.failures import reserve
from placement.failures.outage import Outage, draw, failed_lasers, failed_orbits, without_accelerators
from placement.problem.solution import Solution
from placement.problem.spec import CLOUD, GATEWAY, SATELLITE, PlacementProblem
from placement.results.paths import paths_table
from placement.scenario import GroundSegment, Scenario
from placement.solvers.milp import best_assignment

# `placement.pipeline.Prepared` (the propagation, laser graph, network and problem of a run) and the pipeline's
# `prepare_on`, which rebuilds one on a given propagation and laser graph; passed in, as the pipeline calls this.
Prepared = Any
Rebuild = Callable[..., Prepared]

WAYS = ("kept", "rerouted", "reoptimised")
FIGURES = ("unserved_share", "mean_latency_ms", "feasible")
# How metrics.json's strategies (and so sweep.parquet's columns) name them: "failed_kept_unserved_share", ...
FIGURE_NAMES = tuple(f"failed_{way}_{figure}" for way in WAYS for figure in FIGURES)


def outage_of(scenario: Scenario, prepared: Prepared) -> Outage:
    """The draw of `scenario.failures` over the elements of the nominal run."""
    ground, problem = scenario.ground, prepared.problem
    return draw(scenario.failures, scenario.constellation.elements.name, prepared.lasers, ground.gateways.name,
                ground.clouds.name, problem.host_name)


def failed_problems(scenario: Scenario, prepared: Prepared, outage: Outage, rebuild: Rebuild,
                    progress: Callable[[str], None] = lambda message: None
                    ) -> tuple[PlacementProblem, PlacementProblem]:
    """The placement problem of `scenario` without the elements `outage` fails, on the nominal propagation
    (`prepared`), by `rebuild` (`placement.pipeline.prepare_on`): as a run would build it (what a strategy
    re-optimises), and on the same network with every gateway and cloud region offered to every demand (what
    the copies are re-routed on: a surviving copy stays where it is, which after a failure need not be among
    the nearest `gateway_candidates` and `cloud_candidates`)."""
    g, hosts = scenario.ground, scenario.hosts
    keep = ~outage.gateways
    if hosts.gateway_profiles or hosts.gateway_links_gbps:  # per gateway, in the gateways' order
        hosts = dataclasses.replace(
            hosts, gateway_profiles=tuple(p for p, k in zip(hosts.gateway_profiles, keep) if k),
            gateway_links_gbps=tuple(v for v, k in zip(hosts.gateway_links_gbps, keep) if k))
    ground = GroundSegment(g.gateways.take(keep), g.pops, np.asarray(g.gateway_pop)[keep],
                           g.clouds.take(~outage.clouds), g.fiber_route_factor)
    weather = scenario.weather and dataclasses.replace(
        scenario.weather, gateway_zones=tuple(z for z, k in zip(scenario.weather.gateway_zones, keep) if k))
    failing = dataclasses.replace(scenario, ground=ground, hosts=hosts, weather=weather)
    orbits = failed_orbits(prepared.orbits, outage.satellites)
    lasers = failed_lasers(prepared.lasers, prepared.orbits.n_satellites, outage.lasers)
    failed = rebuild(failing, orbits, lasers, progress)
    every_host = dataclasses.replace(scenario.problem, gateway_candidates=len(ground.gateways),
                                     cloud_candidates=len(ground.clouds))
    offered = rebuild(dataclasses.replace(failing, problem=every_host), orbits, lasers, lambda message: None,
                      network=failed.network)
    names = np.asarray(prepared.problem.host_name)[outage.accelerators]
    return tuple(without_accelerators(p, np.isin(p.host_name, names)) for p in (failed.problem, offered.problem))


def path_survival(problem: PlacementProblem, paths: dict, outage: Outage) -> np.ndarray:
    """[epoch, demand, slot]: the share of the network steps with a path from the demand's site to the slot's
    host (in the paths table `paths` of the nominal run) whose path crosses no failed element; 0 at a host
    whose accelerators failed, and where the table holds no path."""
    sat_names = np.asarray(problem.host_name)[problem.host_kind == SATELLITE]
    down = {"satellite": set(sat_names[outage.satellites]),
            "gateway": set(np.asarray(problem.host_name)[problem.host_kind == GATEWAY][outage.gateways]),
            "cloud": set(np.asarray(problem.host_name)[problem.host_kind == CLOUD][outage.clouds])}
    lasers = {frozenset(pair) for pair in sat_names[outage.lasers].tolist()}
    kinds, nodes, hop = list(paths["node_kind"]), list(paths["node"]), np.asarray(paths["hop"])
    path = np.cumsum(hop == 0) - 1  # rows are paths node by node, each from its hop 0
    bad = np.array([node in down.get(kind, ()) for kind, node in zip(kinds, nodes)], bool)
    if lasers:
        bad[1:] |= [hop[i] > 0 and kinds[i - 1] == kinds[i] == "satellite"
                    and frozenset((nodes[i - 1], nodes[i])) in lasers for i in range(1, len(nodes))]
    path_down = np.bincount(path, bad, path.max(initial=-1) + 1) > 0
    first = np.flatnonzero(hop == 0)
    site_index = {name: i for i, name in enumerate(problem.site_name)}
    host_index = {name: i for i, name in enumerate(problem.host_name)}
    where = (np.asarray(paths["epoch"])[first], [site_index[s] for s in np.asarray(paths["site"])[first]],
             [host_index[h] for h in np.asarray(paths["host"])[first]])
    shape = (problem.n_epochs, len(problem.site_name), problem.n_hosts)
    steps, alive = np.zeros(shape), np.zeros(shape)
    np.add.at(steps, where, 1.0)
    np.add.at(alive, where, ~path_down)
    survival = np.divide(alive, steps, out=np.zeros(shape), where=steps > 0)
    cand = problem.candidate_host
    host = np.maximum(cand, 0)
    share = survival[np.arange(problem.n_epochs)[:, None, None], problem.demand_site[None, :, None], host]
    return np.where((cand >= 0) & ~outage.accelerators[host], share, 0.0)


def on_hosts(placement: np.ndarray, names: tuple[str, ...], to_names: tuple[str, ...]) -> np.ndarray:
    """[epoch, model, host] copies of a placement over the hosts `names`, on the hosts `to_names` (by name;
    a host that is not among `names` gets none)."""
    index = {name: i for i, name in enumerate(names)}
    take = np.array([index.get(name, -1) for name in to_names], int)
    return placement[:, :, np.maximum(take, 0)] & (take >= 0)


def scored(problem: PlacementProblem, solution: Solution | None, requests: float) -> dict:
    """The evaluator's figures of a solution of `problem`, the unserved share of `requests` (the nominal
    problem's); None for each without a solution."""
    if solution is None:
        return {"unserved_share": None, "mean_latency_ms": None, "feasible": None}
    e = evaluate(problem, solution)
    return {"unserved_share": 1.0 - e.served_requests / requests, "mean_latency_ms": e.mean_latency_ms,
            "feasible": e.feasible}


def strategy_impact(name: str, solution: Solution, scenario: Scenario, nominal: PlacementProblem,
                    failed: PlacementProblem, offered: PlacementProblem, survival: np.ndarray) -> dict[str, dict]:
    """`scored` figures of one strategy's nominal `solution` under the failure, each of the WAYS (`failed` and
    `offered` as `failed_problems` gives them, `survival` as `path_survival`)."""
    requests = float(nominal.requests().sum())
    kept = Solution(solution.placement, solution.assignment * survival)
    milp = scenario.options("milp")
    rerouted = best_assignment(offered, on_hosts(solution.placement, nominal.host_name, offered.host_name),
                               dataclasses.replace(milp, relax=not offered.single_source, warm_start="none"))
    if name == reserve.STRATEGY:
        again = reserve.solve_against(scenario.failures.reserve, failed, milp, seed=scenario.seed)
    else:
        again = solvers.solve(name, failed, scenario.options(name), seed=scenario.seed)
    return {"nominal": scored(nominal, solution, requests), "kept": scored(nominal, kept, requests),
            "rerouted": scored(offered, rerouted.solution, requests),
            "reoptimised": scored(failed, again.solution, requests)}


def failure_impact(scenario: Scenario, prepared: Prepared, solutions: dict[str, Solution], outage: Outage,
                   rebuild: Rebuild, paths: dict | None = None,
                   progress: Callable[[str], None] = lambda message: None) -> dict:
    """{"down": counts of failed elements, "strategies": {name: {"nominal"|WAYS: scored figures}}} for each
    strategy's nominal solution. `paths` is the nominal run's paths table of these solutions (computed when
    not given)."""
    problem = prepared.problem
    if paths is None:
        paths = paths_table(problem, list(solutions.values()), scenario.demand.sites, scenario.ground.pops,
                            prepared.orbits, prepared.lasers, scenario.ground.arrays(scenario.demand.sites),
                            scenario.network, prepared.network.access_sat, scenario.horizon.steps_per_epoch)
    failed, offered = failed_problems(scenario, prepared, outage, rebuild, progress)
    survival = path_survival(problem, paths, outage)
    return {"down": outage.counts(),
            "strategies": {name: strategy_impact(name, solution, scenario, problem, failed, offered, survival)
                           for name, solution in solutions.items()}}


def strategy_figures(impact: dict) -> dict[str, dict[str, float | None]]:
    """Per strategy, the figures of each way under FIGURE_NAMES."""
    return {name: {f"failed_{way}_{figure}": ways[way][figure] for way in WAYS for figure in FIGURES}
            for name, ways in impact["strategies"].items()}
