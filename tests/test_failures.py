"""Failures (placement.failures) on the shrunk quick start: a named gateway's outage against a run of the
same input without that gateway, a failed satellite's copies, the random draw and bad specs."""

import dataclasses

import numpy as np
import pytest
from conftest import QUICK, QUICKSTART

from placement import pipeline, solvers
from placement.config import load_config
from placement.errors import InputError
from placement.evaluation import evaluate
from placement.failures import FailureSpec, Outage, draw, impact, reserve
from placement.failures.outage import failed_lasers, laser_links, without_accelerators
from placement.network.isl import plus_grid
from placement.problem.solution import Status
from placement.problem.spec import GATEWAY, HOST_KINDS, SATELLITE
from placement.results.paths import paths_table
from placement.scenario import GroundSegment, resolve
from placement.solvers.milp import best_assignment


@pytest.fixture(scope="module")
def nominal(quick):
    """The quick start's milp and nearest_gateway solutions, and each host's requests under them [host]."""
    scenario, prepared = quick
    problem = prepared.problem
    out = {}
    for name in ("milp", "nearest_gateway"):
        solution = solvers.solve(name, problem, scenario.options(name), seed=scenario.seed).solution
        out[name] = (solution, host_requests(problem, solution.assignment))
    return out


def host_requests(problem, assignment) -> np.ndarray:
    """[host] requests served at each host over the horizon."""
    served = assignment * problem.requests()[:, :, None]
    return np.bincount(np.maximum(problem.candidate_host, 0).ravel(),
                       np.where(problem.candidate_host >= 0, served, 0.0).ravel(), problem.n_hosts)


def test_named_gateway_failure_matches_a_run_without_that_gateway(quick, nominal):
    scenario, prepared = quick
    problem = prepared.problem
    solution, load = nominal["nearest_gateway"]
    gateway = int(np.argmax(np.where(problem.host_kind == GATEWAY, load, -1.0)))
    name = problem.host_name[gateway]
    requests = problem.requests().sum()
    assert load[gateway] > 0 and np.isclose(load[problem.host_kind == GATEWAY].sum(), requests)  # all at gateways
    failing = dataclasses.replace(scenario, failures=FailureSpec(gateways=[name]))
    figures = impact.failure_impact(failing, prepared, {"nearest_gateway": solution},
                                    impact.outage_of(failing, prepared),
                                    pipeline.prepare_on)["strategies"]["nearest_gateway"]

    # Kept: exactly the requests the gateway served are lost (nearest_gateway serves at gateways only).
    assert figures["nominal"]["unserved_share"] == pytest.approx(0.0, abs=1e-9)
    assert figures["kept"]["unserved_share"] == pytest.approx(load[gateway] / requests, rel=1e-9)

    # The reference: the same input with the gateway left out of the ground segment, built and solved anew.
    g = scenario.ground
    keep = np.array([n != name for n in g.gateways.name])
    without = dataclasses.replace(scenario, ground=GroundSegment(g.gateways.take(keep), g.pops, g.gateway_pop[keep],
                                                                 g.clouds, g.fiber_route_factor))
    rebuilt = pipeline.prepare_on(without, prepared.orbits, prepared.lasers)
    reference = rebuilt.problem
    assert name not in reference.host_name and reference.n_hosts == problem.n_hosts - 1
    # Re-routed: the copies where they were, each demand offered every gateway and cloud region
    every_host = dataclasses.replace(scenario.problem, gateway_candidates=int(keep.sum()),
                                     cloud_candidates=len(g.clouds.name))
    offered = pipeline.prepare_on(dataclasses.replace(without, problem=every_host), prepared.orbits,
                                  prepared.lasers, network=rebuilt.network).problem
    copies = solution.placement[:, :, [problem.host_name.index(h) for h in offered.host_name]]
    rerouted = evaluate(offered, best_assignment(offered, copies,
                                                 dataclasses.replace(scenario.options("milp"), relax=True)).solution)
    assert figures["rerouted"]["unserved_share"] == pytest.approx(1 - rerouted.served_requests / requests, abs=1e-9)
    assert figures["rerouted"]["mean_latency_ms"] == pytest.approx(rerouted.mean_latency_ms, rel=1e-9)
    again = solvers.solve("nearest_gateway", reference, scenario.options("nearest_gateway"), seed=scenario.seed)
    reoptimised = evaluate(reference, again.solution)
    assert figures["reoptimised"]["unserved_share"] == pytest.approx(1 - reoptimised.served_requests / requests,
                                                                     abs=1e-9)
    assert figures["reoptimised"]["mean_latency_ms"] == pytest.approx(reoptimised.mean_latency_ms, rel=1e-9)
    # Re-optimised, the gateway's requests move to other gateways, or go unserved: nothing else changes.
    moved = host_requests(reference, again.solution.assignment)[reference.host_kind == GATEWAY].sum() \
        - (requests - load[gateway])
    lost = figures["reoptimised"]["unserved_share"] * requests
    assert moved + lost == pytest.approx(load[gateway], rel=1e-6)
    assert figures["reoptimised"]["unserved_share"] < figures["kept"]["unserved_share"]


def test_failed_satellites_copies_serve_nothing_without_reoptimisation(quick, nominal):
    scenario, prepared = quick
    problem = prepared.problem
    solution, load = nominal["milp"]
    host = int(np.argmax(np.where(problem.host_kind == SATELLITE, load, -1.0)))
    assert load[host] > 0
    failing = dataclasses.replace(scenario, failures=FailureSpec(satellites=[problem.host_name[host]]))
    outage = impact.outage_of(failing, prepared)
    assert outage.counts() == {"satellites": 1, "lasers": 0, "gateways": 0, "clouds": 0, "accelerators": 0}
    paths = paths_table(problem, [solution], scenario.demand.sites, scenario.ground.pops, prepared.orbits,
                               prepared.lasers, scenario.ground.arrays(scenario.demand.sites), scenario.network,
                               prepared.network.access_sat, scenario.horizon.steps_per_epoch)
    kept = solution.assignment * impact.path_survival(problem, paths, outage)
    scored = evaluate(problem, type(solution)(solution.placement, kept))
    assert scored.feasible
    assert np.all(scored.compute_flops_s[:, host] == 0) and host_requests(problem, kept)[host] == 0
    # its copies are kept, and so are the other hosts' requests whose paths miss it
    assert solution.placement[:, :, host].any() and 0 < host_requests(problem, kept).sum() < load.sum()
    assert (1 - scored.served_requests / problem.requests().sum()) >= load[host] / problem.requests().sum() - 1e-12
    # Rebuilt, the satellite is no host at all.
    failed = impact.failed_problems(failing, prepared, outage, pipeline.prepare_on)[0]
    assert not np.isin(host, failed.candidate_host) and failed.host_name == problem.host_name


def test_random_draw_is_reproducible_from_its_seed(quick):
    scenario, prepared = quick
    names = scenario.constellation.elements.name
    ground = scenario.ground
    args = (names, prepared.lasers, ground.gateways.name, ground.clouds.name, prepared.problem.host_name)
    rates = dict(satellite_rate=0.5, laser_rate=0.2, gateway_rate=0.3, cloud_rate=0.3, accelerator_rate=0.1)
    first, again = draw(FailureSpec(**rates, seed=7), *args), draw(FailureSpec(**rates, seed=7), *args)
    for field in ("satellites", "lasers", "gateways", "clouds", "accelerators"):
        assert np.array_equal(getattr(first, field), getattr(again, field))
    other = draw(FailureSpec(**rates, seed=8), *args)
    assert not np.array_equal(first.satellites, other.satellites)
    # Each satellite down with probability 0.5, independently: binomial, within 5 standard deviations.
    n = len(names)
    assert abs(first.satellites.sum() - n / 2) < 5 * np.sqrt(n / 4)
    # A higher rate with the same seed fails a superset; no rate fails nothing.
    more = draw(FailureSpec(**{**rates, "satellite_rate": 0.8}, seed=7), *args)
    assert np.all(more.satellites >= first.satellites) and more.satellites.sum() > first.satellites.sum()
    assert np.array_equal(more.gateways, first.gateways)
    assert sum(draw(FailureSpec(seed=7), *args).counts().values()) == 0


def test_named_plane_and_lasers(quick):
    scenario, prepared = quick
    names = scenario.constellation.elements.name
    ground = scenario.ground
    plane = names[0].rsplit("-", 1)[0]  # the first plane: its satellites are 'STARLINK-GEN1-S1-P01-jj'
    outage = draw(FailureSpec(planes=[plane]), names, prepared.lasers, ground.gateways.name, ground.clouds.name,
                  prepared.problem.host_name)
    shell = scenario.constellation.shells[0]
    assert outage.satellites.sum() == shell.sats_per_plane and outage.satellites[:shell.sats_per_plane].all()
    # A failed laser is gone from both ends' neighbour slots, and no other link is.
    links = laser_links(prepared.lasers, len(names))
    assert len(links) == 2 * len(names)  # a +Grid without a seam: four lasers per satellite, each shared by two
    table = failed_lasers(prepared.lasers, len(names), links[:3])
    assert np.array_equal(laser_links(table, len(names)), links[3:])
    assert (table != plus_grid(prepared.lasers)).sum() == 6


@pytest.mark.parametrize("override, field", [
    ("failures.gateways=['Atlantis']", "failures.gateways[0]"),
    ("failures.clouds=['azure:eastus', 'azure:moon']", "failures.clouds[1]"),
    ("failures.satellites=['STARLINK-GEN1-S9-P01-01']", "failures.satellites[0]"),
    ("failures.planes=['STARLINK-GEN1-S1-P99']", "failures.planes[0]"),
    ("failures.accelerators=['nowhere']", "failures.accelerators[0]"),
    ("failures.satellite_rate=1.5", "failures.satellite_rate"),
    ("failures.seed=-1", "failures.seed"),
    ("failures.gateway='Camaçari, BR'", "failures.gateway"),
    ("failures.reserve=laser", "failures.reserve"),
])
def test_bad_failure_specs_name_the_field(override, field):
    with pytest.raises(InputError) as error:
        resolve(load_config(QUICKSTART, QUICK + [override]))
    assert error.value.field == field and str(QUICKSTART.name) in str(error.value)


def test_reserve_keeps_every_served_share_through_any_single_gateway_loss(quick):
    scenario, prepared = quick
    # Gateways alone serve (no satellite or cloud copy), so the nominal optimum leans on single gateways.
    problem = without_accelerators(prepared.problem, prepared.problem.host_kind != GATEWAY)
    failures = reserve.accelerator_failures(problem, GATEWAY)
    assert len(failures) >= 2
    options = scenario.options("milp")
    fixed = dataclasses.replace(options, relax=True)
    optimum = solvers.solve("milp", problem, options, seed=0).solution
    result = reserve.solve_reserve(problem, failures, options)
    assert result.status is Status.OPTIMAL
    kept = evaluate(problem, result.solution)
    assert kept.feasible and kept.served_requests > 0
    served = result.solution.assignment.sum(axis=2)

    def after(solution, failed):  # [epoch, demand] shares served with the copies kept, re-routed
        return best_assignment(failed, solution.placement, fixed).solution.assignment.sum(axis=2)

    for failed in failures:
        assert np.all(after(result.solution, failed) >= served - 1e-6)
    # Without the reserve some gateway's loss costs a share; the reserve pays for its copies in the objective.
    assert max((optimum.assignment.sum(axis=2) - after(optimum, f)).max() for f in failures) > 0.1
    assert kept.objective > evaluate(problem, optimum).objective
    assert result.objective == pytest.approx(kept.objective, rel=1e-4)


def test_kept_share_is_the_share_of_steps_whose_path_misses_every_failed_laser(quick, nominal):
    scenario, prepared = quick
    problem = prepared.problem
    solution, _ = nominal["milp"]
    t, d, k = np.argwhere(solution.assignment > 0)[0]
    host = int(problem.candidate_host[t, d, k])
    satellites = [i for i in np.flatnonzero(problem.host_kind == SATELLITE) if i != host][:3]
    a, b, c = (problem.host_name[i] for i in satellites)
    # Four steps' paths from the site to the host: across the failed laser a-b either way, then around it.
    routes = [[a, b], [b, a], [a, c, b], [c]]
    rows = [(step, hop, name, kind) for step, route in enumerate(routes)
            for hop, (name, kind) in enumerate([(problem.site_name[problem.demand_site[d]], "site")]
                                               + [(s, "satellite") for s in route]
                                               + [(problem.host_name[host], HOST_KINDS[problem.host_kind[host]])])]
    paths = {"epoch": [int(t)] * len(rows), "step": [r[0] for r in rows], "hop": [r[1] for r in rows],
             "node": [r[2] for r in rows], "node_kind": [r[3] for r in rows],
             "site": [problem.site_name[problem.demand_site[d]]] * len(rows),
             "host": [problem.host_name[host]] * len(rows)}
    n_sat = int((problem.host_kind == SATELLITE).sum())
    ground = scenario.ground
    outage = Outage(np.zeros(n_sat, bool), np.array([sorted(satellites[:2])]), np.zeros(len(ground.gateways), bool),
                    np.zeros(len(ground.clouds), bool), np.zeros(problem.n_hosts, bool))
    survival = impact.path_survival(problem, paths, outage)
    assert survival[t, d, k] == 0.5
    same = (problem.candidate_host[t] == host) & (problem.demand_site[:, None] == problem.demand_site[d])
    assert np.all(survival[t][same] == 0.5) and np.count_nonzero(survival) == same.sum()  # no path: nothing kept


def test_a_failed_hosts_slots_leave_its_paths_links_too():
    """With shared link rows, the slots of hosts whose accelerators are down become padding with none of their
    links (a link on a padding slot is refused by the problem's checks, as a run with both failed)."""
    from placement.problem import random_problem, with_random_links

    problem = with_random_links(random_problem(1, 12, 20, 2, 2, n_slots=5), seed=1)
    down = np.zeros(problem.n_hosts, bool)
    down[problem.candidate_host[0, 0, 0]] = True  # a host some slot uses
    failed = without_accelerators(problem, down)
    gone = (problem.candidate_host >= 0) & down[np.maximum(problem.candidate_host, 0)]
    assert gone.any() and (failed.candidate_host[gone] == -1).all()
    assert (failed.candidate_link[gone] == -1).all() and (failed.candidate_link_share[gone] == 0).all()
    kept = ~gone
    np.testing.assert_array_equal(failed.candidate_link[kept], problem.candidate_link[kept])
    np.testing.assert_array_equal(failed.candidate_host[kept], problem.candidate_host[kept])
