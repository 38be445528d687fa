"""Shared link rows (16): a hand-derived optimum limited by one laser, brute force against the MILP, every
solver's output checked by the evaluator (which flags an overload of each link kind), and the path incidence
against the paths routes.py and paths.py recover on a real-size constellation."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from placement_instances import solve_with_every_strategy, with_fast_satellite
from test_milp import brute_force

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.evaluation import evaluate
from placement.network.access import Access
from placement.network.incidence import LinkIds, slot_links
from placement.network.isl import grid_shells, plus_grid
from placement.network.link_capacity import capacity_gbps
from placement.network.links import DIRECT_TO_CELL, DIRECT_TO_CELL_UPLINK
from placement.network.paths import served_paths
from placement.network.routes import path_to_gateway
from placement.network.tensors import Ground, NetworkSpec, build_network, step_links
from placement.problem import Status, random_problem, with_random_links
from placement.problem.link_rows import LINK_KINDS
from placement.propagation.frames import geodetic_to_ecef
from placement.propagation.orbits import propagate_orbits
from placement.propagation.timegrid import TimeGrid
from placement.solvers import solve


def laser_shared_by_two_demands(capacity_gbps: float):
    """with_fast_satellite() (two demands of 60 requests/s at one site; slots G, C, S) with requests of 1,000
    bytes and the satellite's slots of both demands crossing one laser (its reverse carries the 0-byte
    responses)."""
    link = np.full((1, 2, 3, 1), -1)
    link[0, :, 2, 0] = 0
    return with_fast_satellite(request_bytes=[1000.0, 1000.0], link_name=["A>S", "S>A"], link_kind=[0, 0],
                               link_reverse=[1, 0], link_capacity_gbps=[[capacity_gbps, capacity_gbps]],
                               candidate_link=link, candidate_link_share=np.where(link >= 0, 1.0, 0.0))


def test_two_demands_sharing_one_laser_are_limited_by_it():
    # Every slot's path is 1 Gbps each way, so a request of 8,000 bits adds 0.008 ms: S 10 + 10 + 0.008 =
    # 20.008 ms (100 requests/s of compute), G 20 + 10 + 0.008 = 30.008 ms (100 requests/s), C 81.008 ms.
    # Unlimited laser: S takes 100 requests/s, G the other 20: 100 x 20.008 + 20 x 30.008 = 2600.96.
    # A laser of 0.72 Mbps carries 720,000 / 8,000 = 90 requests/s of the two demands together: S takes 90,
    # G 30: 90 x 20.008 + 30 x 30.008 = 2700.96.
    for laser_gbps, optimum in ((1.0, 2600.96), (7.2e-4, 2700.96)):
        problem = laser_shared_by_two_demands(laser_gbps)
        result = solve("milp", problem)
        assert result.status is Status.OPTIMAL
        assert result.objective == pytest.approx(optimum, rel=1e-9)
        served_at_s = 60.0 * result.solution.assignment[0, :, 2].sum()
        assert served_at_s == pytest.approx(100.0 if laser_gbps == 1.0 else 90.0, rel=1e-6)
    # Every strategy respects the laser; the unlimited optimum breaks it, and the evaluator says where.
    solve_with_every_strategy(laser_shared_by_two_demands(7.2e-4))
    unlimited = solve("milp", laser_shared_by_two_demands(1.0)).solution
    report = evaluate(laser_shared_by_two_demands(7.2e-4), unlimited)
    assert [(v.constraint, v.where) for v in report.violations] == [("(16) shared link", "epoch 0, laser A>S")]
    # 100 requests/s x 8,000 bits against 720,000 bits/s (and the evaluator's relative tolerance of 1e-6)
    assert report.violations[0].amount == pytest.approx(800_000 - 720_000 * (1 + 1e-6), rel=1e-9)
    # A path that crosses the laser in the first of two steps only (share 0.5): the row bounds the epoch
    # mean, 100 x 8,000 x 0.5 = 400,000 bits/s (feasible), while the first step carries all 800,000.
    half = laser_shared_by_two_demands(7.2e-4)
    half = dataclasses.replace(half, candidate_link_share=half.candidate_link_share * 0.5,
                               candidate_link_steps=np.where(half.candidate_link >= 0, 1, 0).astype(np.uint64))
    report = evaluate(half, unlimited)
    assert report.feasible
    assert report.shared_link_utilization[0, 0] == pytest.approx(400_000 / 720_000)
    assert report.shared_link_peak_utilization[0, 0] == pytest.approx(800_000 / 720_000)
    assert report.summary()["shared_link_worst_step_utilization_max"] == pytest.approx(800_000 / 720_000)
    assert np.isnan(evaluate(laser_shared_by_two_demands(7.2e-4), unlimited).shared_link_peak_utilization).all()


@pytest.mark.parametrize("seed", range(4))
def test_milp_with_link_rows_matches_brute_force(seed):
    # 1 epoch, 2 hosts x 1 model (placement) and 3 demands x 2 slots (single source): at most 4 x 3^3 points,
    # each scored and checked by the evaluator, which sums the link loads on its own.
    base = random_problem(seed, n_hosts=2, n_demands=3, n_models=1, single_source=True, load=0.3,
                          unserved_penalty_ms=500.0)
    problem = with_random_links(base, seed, n_links=4, width=2, load=0.6)
    expected, n_feasible = brute_force(problem)
    result = solve("milp", problem)
    assert n_feasible > 0 and result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(expected, rel=1e-6)
    assert evaluate(problem, result.solution).feasible
    if seed == 0:  # the links bind: without them the optimum is lower
        assert brute_force(base)[0] < expected * (1 - 1e-6)


@pytest.fixture(scope="module")
def linked():
    """A per-epoch instance whose links bind, five pairs of links: one pair per kind of LINK_KINDS over
    laser, user beams, feeders, gateway, fiber."""
    problem = with_random_links(random_problem(0, 8, 12, 2, 2, n_slots=4, placement="per_epoch", opening_cost=1e3,
                                               migration_cost_per_gb=1e4), 0, n_links=10, width=3, load=0.3)
    kinds = [LINK_KINDS.index(k) for k in ("laser", "laser", "user-uplink", "user-downlink", "feeder-downlink",
                                           "feeder-uplink", "gateway-receive", "gateway-transmit", "fiber", "fiber")]
    return dataclasses.replace(problem, link_kind=kinds)


def test_every_solver_respects_the_links_and_the_evaluator_flags_each_kind(linked):
    results = solve_with_every_strategy(linked)
    unlimited = dataclasses.replace(linked, link_capacity_gbps=np.full(linked.link_capacity_gbps.shape, np.inf))
    assert solve("milp", unlimited).objective < results["milp"].objective * (1 - 1e-6)  # the links bind
    solution = results["milp"].solution
    utilization = evaluate(linked, solution).shared_link_utilization
    for kind in LINK_KINDS:
        loaded = np.argwhere((utilization > 0.1) & (np.asarray(LINK_KINDS)[linked.link_kind] == kind)[None, :])
        t, link = loaded[0]
        capacity = linked.link_capacity_gbps.copy()
        capacity[t, link] *= 0.5 * utilization[t, link]  # half its load
        report = evaluate(dataclasses.replace(linked, link_capacity_gbps=capacity), solution)
        assert [(v.constraint, v.where) for v in report.violations] == [
            ("(16) shared link", f"epoch {t}, {kind} {linked.link_name[link]}")]


@pytest.fixture(scope="module")
def gen1_paths():
    """Starlink Gen1's first shell (1,584 satellites, the quick start's) at two random steps of a day, six sites, twelve gateways, four cloud
    regions behind three PoPs; each step is an epoch of its own, every satellite host the network finds, every
    gateway and region a candidate of every site."""
    rng = np.random.default_rng(5)
    elements = constellation(STARLINK_GEN1[:1], 2461094.5, 0.0)
    grids = grid_shells(STARLINK_GEN1[:1])
    grid = TimeGrid(2461094.5, float(rng.uniform(0, 1)), 60.0, 2)
    r_ecef = np.asarray(propagate_orbits(elements, grid, np.float64).r_ecef_km)[:, :2]
    ecef = lambda lat, lon: jnp.asarray(geodetic_to_ecef(np.radians(lat), np.radians(lon), np.zeros_like(lat)))  # noqa: E731
    n_site, n_gateway = 6, 12
    ground = Ground(sites_ecef_km=ecef(rng.uniform(-50, 50, n_site), rng.uniform(-180, 180, n_site)),
                    gateways_ecef_km=ecef(rng.uniform(-50, 50, n_gateway), rng.uniform(-180, 180, n_gateway)),
                    gateway_pop=jnp.asarray(rng.integers(0, 3, n_gateway)),
                    gateway_pop_ms=jnp.asarray(rng.uniform(0.1, 3.0, n_gateway)),
                    pop_cloud_ms=jnp.asarray(rng.uniform(1.0, 40.0, (3, 4))))
    spec = NetworkSpec()
    network = build_network(r_ecef, grids, ground, spec, steps_per_epoch=1, step_s=60.0)
    n_sat = r_ecef.shape[0]
    satellites = network.satellites.host  # [step, site, 32]
    ground_hosts = np.broadcast_to(n_sat + np.arange(n_gateway + 4), (2, n_site, n_gateway + 4))
    candidates = np.concatenate([satellites, ground_hosts], axis=2)
    ids = LinkIds(n_sat, n_gateway, 3, 4)
    links, share, steps = slot_links(r_ecef, grids, ground, spec, network.access_sat, 1, candidates, np.arange(n_site),
                                     ids)
    return r_ecef, grids, ground, spec, network, candidates, ids, links, share, steps


def test_path_incidence_equals_the_recovered_paths(gen1_paths):
    r_ecef, grids, ground, spec, network, candidates, ids, links, share, steps = gen1_paths
    np.testing.assert_array_equal(steps, np.where(links >= 0, 1, 0))  # one step per epoch: bit 0
    n_sat, neighbour = r_ecef.shape[0], plus_grid(grids)
    t, site, k = np.nonzero(candidates >= 0)
    host = candidates[t, site, k]
    kind = np.select([host < n_sat, host < n_sat + ids.n_gateway], ["satellite", "gateway"], "cloud")
    index = host - np.select([kind == "satellite", kind == "gateway"], [0, n_sat], n_sat + ids.n_gateway)
    paths = served_paths(r_ecef, grids, ground, spec, network.access_sat, t, site, kind, index)
    assert sum(map(bool, paths)) > 0.8 * len(paths)  # most hosts reachable: the comparison is not empty
    assert max(len(p) for p in paths) > 20  # some paths cross many lasers
    for n, path in enumerate(paths):
        got = links[t[n], site[n], k[n]]
        sats = [i for node, i in path if node == "satellite"]
        expected = set()
        if sats:  # up at the access satellite, each laser from sender to receiver, down a feeder, fiber on
            expected = {ids.block("user-uplink") + sats[0]}
            expected |= {u * 4 + int(np.flatnonzero(neighbour[u] == w)[0]) for u, w in zip(sats, sats[1:])}
            nodes = dict(path)
            if "gateway" in nodes:
                expected |= {ids.block("feeder-downlink") + sats[-1], ids.block("gateway-receive") + nodes["gateway"]}
            if "cloud" in nodes:
                expected |= {ids.block("fiber-to-pop") + nodes["gateway"],
                             ids.block("fiber-to-cloud") + nodes["pop"] * ids.n_cloud + nodes["cloud"]}
        assert set(got[got >= 0].tolist()) == expected, (kind[n], path)
        assert np.all(share[t[n], site[n], k[n]][got >= 0] == 1.0)  # one step per epoch
    # A gateway's path is also routes.path_to_gateway's, walked from the site's access satellite (one
    # reachable pair: the function routes the whole step again, eagerly).
    n = next(n for n in np.flatnonzero(kind == "gateway") if paths[n])
    step, s, g = int(t[n]), int(site[n]), int(index[n])
    gateways, lasers = step_links(jnp.asarray(r_ecef[:, step]), ground, None, grids, spec)
    up = jnp.asarray(network.access_sat[step])[:, None]
    sites = Access(sat=up, latency_ms=jnp.where(up >= 0, 0.0, jnp.inf), up_gbps=jnp.ones(up.shape),
                   down_gbps=jnp.ones(up.shape))
    sats = [i for node, i in path_to_gateway(lasers, sites, gateways, s, g) if node == "sat"]
    got = links[step, s, k[n]]
    assert len(sats) > 1 and set(got[got >= 0].tolist()) == (
        {ids.block("user-uplink") + sats[0], ids.block("feeder-downlink") + sats[-1], ids.block("gateway-receive") + g}
        | {u * 4 + int(np.flatnonzero(neighbour[u] == w)[0]) for u, w in zip(sats, sats[1:])})


def test_capacities_follow_their_sources():
    # Two satellites linked by one laser (slot 0 of each to the other), two gateways of 8 and 3 antennas.
    ids = LinkIds(n_sat=2, n_gateway=2, n_pop=1, n_cloud=1)
    neighbour = np.array([[1, -1, -1, -1], [-1, 0, -1, -1]])  # 0 -> 1 in slot 0, 1 -> 0 in slot 1
    first = {name: ids.block(name) for name in ("laser", "user-uplink", "user-downlink", "feeder-downlink",
                                                  "feeder-uplink", "gateway-receive", "gateway-transmit",
                                                  "fiber-to-pop", "fiber-to-cloud")}
    links = np.array(list(first.values()) + [ids.block("gateway-receive") + 1])
    ku = capacity_gbps(ids, links, NetworkSpec(), np.array([8, 3]), altitude_km=550.0)
    # facts: 100 Gbps per laser; a V2 Mini's 96 Gbps down and ~6.7 Gbps up; links.py: the Ka feeder budgets
    # give 3.8 Gbps each way at the 40 deg gateway mask of a 550 km shell; a gateway: antennas x feeder
    np.testing.assert_allclose(ku[:5], [100.0, 6.7, 96.0, 3.8, 3.8], rtol=0.01)
    np.testing.assert_allclose(ku[5:7], [8 * ku[3], 8 * ku[4]])
    assert np.isinf(ku[7:9]).all() and ku[9] == pytest.approx(3 * ku[3])
    dtc = capacity_gbps(ids, links[1:3], NetworkSpec(site_uplink=DIRECT_TO_CELL_UPLINK, site_downlink=DIRECT_TO_CELL),
                        np.array([8, 3]), altitude_km=550.0)
    # facts: ~4 Mbps per Direct-to-Cell beam down; links.py: the phone uplink budget, 1.8 Mbps at 45 deg
    np.testing.assert_allclose(dtc, [1.8e-3, 4e-3], rtol=0.02)
    # Each link's reverse is the other direction of the same thing, and reversing twice gives it back.
    every = np.arange(ids.n_links)
    reverse = ids.reverse(every, neighbour)
    np.testing.assert_array_equal(reverse[reverse], every)
    assert reverse[0] == 1 * 4 + 1 and reverse[first["user-uplink"]] == first["user-downlink"]
    names = ids.names(links[:3], neighbour, np.array([0, 0]), "user", {"satellite": ("A", "B"), "gateway": ("G", "H"),
                                                                         "pop": ("P",), "cloud": ("C",)})
    assert names == ["A>B", "A user uplink", "A user downlink"]
