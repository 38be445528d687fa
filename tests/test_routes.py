"""Routing against scipy.sparse.csgraph on the same graph, on a hand-built geometry, and physical bounds."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.constellation.walker import KUIPER
from placement.network.isl import (
    GridShell, grid_shells, min_through_neighbours, neighbour_values, plus_grid, relax_along_lines,
)
from placement.network.access import Access
from placement.network.routes import C_KM_PER_MS, laser_links, path_to_gateway, route
from placement.propagation.sgp4 import Propagator

R_EARTH_KM = 6371.0
LASER = dict(max_range_km=5000.0, min_altitude_km=80.0, capacity_gbps=100.0)


def unit(lat_deg, lon_deg):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def access(ground_km, sat_km, k, min_elevation_deg, up_gbps, down_gbps):
    """The k highest satellites above the mask for each ground point (numpy, spherical Earth)."""
    los = sat_km[None] - ground_km[:, None]
    range_km = np.linalg.norm(los, axis=-1)
    up = ground_km / np.linalg.norm(ground_km, axis=-1, keepdims=True)
    elevation = np.degrees(np.arcsin(np.einsum("gsx,gx->gs", los, up) / range_km))
    elevation = np.where(elevation >= min_elevation_deg, elevation, -np.inf)
    order = np.argsort(-elevation, axis=1)[:, :k]
    visible = np.take_along_axis(elevation, order, axis=1) > -np.inf
    sat = np.where(visible, order, -1).astype(np.int32)
    latency = np.where(visible, np.take_along_axis(range_km, order, axis=1) / C_KM_PER_MS, np.inf)
    return Access(sat=jnp.asarray(sat), latency_ms=jnp.asarray(latency),
                  up_gbps=jnp.asarray(np.where(visible, up_gbps, 0.0)),
                  down_gbps=jnp.asarray(np.where(visible, down_gbps, 0.0)))


def scipy_reference(lasers, sites, gateways, gateway_pop, gateway_pop_ms, pop_cloud_ms):
    """Dijkstra from every site over the same directed graph: sats, gateways, PoPs, clouds, sites."""
    n_sat = lasers.neighbour.shape[0]
    n_gw, n_pop, n_cloud, n_site = len(gateway_pop), pop_cloud_ms.shape[0], pop_cloud_ms.shape[1], sites.sat.shape[0]
    gw0, pop0, cloud0, site0 = n_sat, n_sat + n_gw, n_sat + n_gw + n_pop, n_sat + n_gw + n_pop + n_cloud
    edges = []
    nb, lat = np.asarray(lasers.neighbour), np.asarray(lasers.latency_ms)
    v, s = np.nonzero(np.isfinite(lat))
    edges.append((v, nb[v, s], lat[v, s]))
    for ground, first, upward in ((sites, site0, True), (gateways, gw0, False)):
        sat, latency = np.asarray(ground.sat), np.asarray(ground.latency_ms)
        g, k = np.nonzero(sat >= 0)
        pair = (g + first, sat[g, k]) if upward else (sat[g, k], g + first)
        edges.append((*pair, latency[g, k]))
    edges.append((gw0 + np.arange(n_gw), pop0 + gateway_pop, gateway_pop_ms))
    p, c = np.meshgrid(np.arange(n_pop), np.arange(n_cloud), indexing="ij")
    edges.append((pop0 + p.ravel(), cloud0 + c.ravel(), pop_cloud_ms.ravel()))
    rows, cols, weights = (np.concatenate(x) for x in zip(*edges))
    # keep the shortest of parallel edges (a CSR matrix would add them up)
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first_of_pair = np.ones(len(rows), bool)
    first_of_pair[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    n = site0 + n_site
    graph = coo_matrix((weights[first_of_pair], (rows[first_of_pair], cols[first_of_pair])), shape=(n, n)).tocsr()
    dist = dijkstra(graph, directed=True, indices=site0 + np.arange(n_site))
    return dist[:, :n_sat], dist[:, gw0:pop0], dist[:, cloud0:site0]


@pytest.fixture(scope="module")
def gen1_network():
    rng = np.random.default_rng(7)
    elements = constellation(STARLINK_GEN1, 2461094.5, 0.0)
    minutes = rng.choice(1440, size=3, replace=False).astype(float)  # three random minutes of the day
    r_km = np.asarray(Propagator.create(elements, jnp.float64).tsince(np.tile(minutes, (len(elements), 1))).r_km)
    # sites and gateways between +-60 deg latitude (Gen1 covers them); ground radius 6371 km
    sites_km = R_EARTH_KM * unit(rng.uniform(-55, 55, 40), rng.uniform(-180, 180, 40))
    gateways_km = R_EARTH_KM * unit(rng.uniform(-55, 55, 30), rng.uniform(-180, 180, 30))
    gateway_pop = rng.integers(0, 5, 30)
    gateway_pop_ms = rng.uniform(0.1, 5.0, 30)
    pop_cloud_ms = rng.uniform(1.0, 60.0, (5, 6))
    return grid_shells(STARLINK_GEN1), r_km, sites_km, gateways_km, gateway_pop, gateway_pop_ms, pop_cloud_ms


@pytest.mark.parametrize("step", [0, 1, 2])
def test_latencies_equal_scipy_dijkstra_on_real_size_constellation(gen1_network, step):
    grids, r_km, sites_km, gateways_km, gateway_pop, gateway_pop_ms, pop_cloud_ms = gen1_network
    r = r_km[:, step]
    lasers = laser_links(jnp.asarray(r), grids, **LASER)
    neighbour = np.asarray(lasers.neighbour)
    sites = access(sites_km, r, 4, 25.0, 0.02, 0.4)
    gateways = access(gateways_km, r, 8, 25.0, 3.0, 4.0)
    routes = jax.jit(route)(lasers, sites, gateways, jnp.asarray(gateway_pop), jnp.asarray(gateway_pop_ms),
                            jnp.asarray(pop_cloud_ms))
    _, to_gateway, to_cloud = scipy_reference(lasers, sites, gateways, gateway_pop, gateway_pop_ms, pop_cloud_ms)

    reachable = np.isfinite(to_gateway)
    assert 0.3 < reachable.mean()  # the test would be empty if most gateways were unreachable
    np.testing.assert_array_equal(np.isfinite(np.asarray(routes.gateway_ms)), reachable)
    np.testing.assert_allclose(np.asarray(routes.gateway_ms)[reachable], to_gateway[reachable], rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(routes.cloud_ms), to_cloud, rtol=0, atol=1e-6)
    # Requests go up the terminal's 20 Mbps, responses down the feeder uplink's 3 Gbps (the narrowest of
    # feeder uplink, lasers and the terminal's 400 Mbps downlink)
    assert np.all(np.asarray(routes.gateway_up_gbps)[reachable] == pytest.approx(0.02))
    assert np.all(np.asarray(routes.gateway_down_gbps)[reachable] == pytest.approx(0.4))

    # No latency below the straight line at the speed of light, and lasers clear the Earth.
    chord_ms = np.linalg.norm(sites_km[:, None] - gateways_km[None], axis=-1) / C_KM_PER_MS
    assert np.all(np.asarray(routes.gateway_ms)[reachable] >= chord_ms[reachable])
    a, b = r[:, None, :], r[np.maximum(neighbour, 0)]
    t = np.clip(np.einsum("vsx,vsx->vs", -a, b - a) / np.einsum("vsx,vsx->vs", b - a, b - a), 0, 1)
    closest = np.linalg.norm(a + t[..., None] * (b - a), axis=-1)
    assert np.all(closest[np.isfinite(np.asarray(lasers.latency_ms))] >= R_EARTH_KM + 80.0 - 10.0)

    # A recovered path is a real path of the reported length.
    for site, gateway in zip(*np.nonzero(reachable)[:2]):
        path = path_to_gateway(lasers, sites, gateways, int(site), int(gateway))
        sats = [i for kind, i in path if kind == "sat"]
        length = np.linalg.norm(sites_km[site] - r[sats[0]]) + np.linalg.norm(r[sats[-1]] - gateways_km[gateway])
        length += sum(np.linalg.norm(r[u] - r[w]) for u, w in zip(sats, sats[1:]))
        assert all(w in neighbour[u] for u, w in zip(sats, sats[1:]))
        np.testing.assert_allclose(length / C_KM_PER_MS, to_gateway[site, gateway], atol=1e-6)
        break


def test_hand_built_geometry():
    # Three satellites in one plane at radius 7000 km, on the x axis and +-30 deg either side
    # (in-plane neighbours). Site below the +30 deg satellite at radius 6400 km, gateway below
    # the -30 deg one. Only straight-overhead uplinks/downlinks exist (k = 1).
    #   uplink    = 7000 - 6400 = 600 km                    -> 600 / 299.792458  = 2.0013846 ms
    #   laser     = 2 * 7000 * sin(15 deg) = 3623.4666 km   -> each 12.0865837 ms, two of them
    #   downlink  = 600 km                                  -> 2.0013846 ms
    #   site -> gateway = 2 * 2.0013846 + 2 * 12.0865837 = 28.1759365 ms
    #   the gateway's PoP is 1.0 ms away and the only cloud region 10.0 ms beyond it: 39.1759365 ms
    angles = np.radians([30.0, 0.0, -30.0])
    r = 7000.0 * np.stack([np.cos(angles), np.sin(angles), np.zeros(3)], axis=-1)
    # one plane of three: the 0-2 laser closes the ring but is 7000 km long, beyond the 5000 km limit
    grids = (GridShell(first=0, planes=1, per_plane=3, phasing=0, full_circle=True),)
    lasers = laser_links(jnp.asarray(r), grids, max_range_km=5000.0, min_altitude_km=80.0, capacity_gbps=100.0)
    one = lambda sat, up, down: Access(sat=jnp.asarray([[sat]], jnp.int32),  # noqa: E731
                                       latency_ms=jnp.asarray([[600.0 / C_KM_PER_MS]]),
                                       up_gbps=jnp.asarray([[up]]), down_gbps=jnp.asarray([[down]]))
    site, gateway = one(0, 0.02, 0.5), one(2, 3.0, 4.0)  # terminal up / down; feeder up / down
    routes = route(lasers, site, gateway, jnp.asarray([0]), jnp.asarray([1.0]), jnp.asarray([[10.0]]))
    np.testing.assert_allclose(float(routes.gateway_ms[0, 0]), 28.1759365, atol=1e-6)
    np.testing.assert_allclose(float(routes.cloud_ms[0, 0]), 39.1759365, atol=1e-6)
    # requests: min(terminal uplink 0.02, lasers 100, feeder downlink 4); responses: min(feeder uplink 3,
    # lasers 100, terminal downlink 0.5)
    assert float(routes.gateway_up_gbps[0, 0]) == pytest.approx(0.02)
    assert float(routes.gateway_down_gbps[0, 0]) == pytest.approx(0.5)
    assert float(routes.cloud_up_gbps[0, 0]) == pytest.approx(0.02)
    assert path_to_gateway(lasers, site, gateway, 0, 0) == [
        ("site", 0), ("sat", 0), ("sat", 1), ("sat", 2), ("gateway", 0)]


def test_laser_through_the_earth_is_cut():
    r = jnp.asarray([[7000.0, 0.0, 0.0], [-7000.0, 0.0, 0.0]])
    grids = (GridShell(first=0, planes=1, per_plane=2, phasing=0, full_circle=True),)
    lasers = laser_links(r, grids, max_range_km=20000.0, min_altitude_km=80.0, capacity_gbps=100.0)
    assert not np.isfinite(np.asarray(lasers.latency_ms)).any()


def test_shifts_equal_the_neighbour_table():
    # Gen1 has a partial RAAN spread (shell 5) and F = 1 seams; Kuiper adds other grid sizes.
    grids = grid_shells(STARLINK_GEN1 + KUIPER)
    neighbour = plus_grid(grids)
    values = np.random.default_rng(3).normal(size=(neighbour.shape[0], 2))
    shifted = np.asarray(neighbour_values(jnp.asarray(values), grids))
    present = neighbour >= 0
    np.testing.assert_array_equal(shifted[present], values[neighbour[present]])
    # every link is listed at both ends, and the seam link of (P-1, j) lands on (0, j + F)
    assert all(v in neighbour[w] for v in range(len(neighbour)) for w in neighbour[v] if w >= 0)
    shell = STARLINK_GEN1[0]
    last_plane_first_slot = (shell.planes - 1) * shell.sats_per_plane
    assert neighbour[last_plane_first_slot, 2] == shell.phasing
    # the partial spread of shell 5 (4 planes over 48 deg) has no seam link
    assert (neighbour < 0).sum() == 2 * STARLINK_GEN1[4].sats_per_plane


def test_line_relaxation_reaches_the_bellman_ford_fixed_point():
    # Random symmetric link latencies with a tenth of the links cut (inf), on shells with a
    # partial spread, seams and odd sizes: relaxing whole lines plus single hops must end where
    # plain single-hop Bellman-Ford ends.
    grids = grid_shells(STARLINK_GEN1[3:] + KUIPER[2:])
    neighbour = plus_grid(grids)
    rng = np.random.default_rng(5)
    n = len(neighbour)
    v, s = np.nonzero(neighbour >= 0)
    w = neighbour[v, s]
    pair = np.minimum(v, w) * n + np.maximum(v, w)
    unique, inverse = np.unique(pair, return_inverse=True)
    weight = rng.uniform(1.0, 20.0, len(unique))
    weight[rng.random(len(unique)) < 0.1] = np.inf
    latency = np.full(neighbour.shape, np.inf)
    latency[v, s] = weight[inverse]
    start = np.full((n, 3), np.inf)
    start[rng.integers(0, n, 5), rng.integers(0, 3, 5)] = rng.uniform(0.0, 5.0, 5)

    expected = start.copy()
    while True:
        through = np.where(neighbour[..., None] >= 0, expected[np.maximum(neighbour, 0)] + latency[..., None], np.inf)
        relaxed = np.minimum(expected, through.min(axis=1))
        if np.array_equal(relaxed, expected):
            break
        expected = relaxed

    dist, lat = jnp.asarray(start), jnp.asarray(latency)

    @jax.jit
    def relax(dist):
        along = relax_along_lines(dist, lat, grids)
        return jnp.minimum(along, min_through_neighbours(along, lat, grids))

    for _ in range(n):
        relaxed = relax(dist)
        if bool(jnp.all(relaxed == dist)):
            break
        dist = relaxed
    np.testing.assert_allclose(np.asarray(dist), expected, rtol=1e-12)
    assert np.isinf(expected).any() and np.isfinite(expected).any()


def test_a_neighbour_table_routes_as_the_walker_grid(gen1_network):
    # The same +Grid given as a table (the path a TLE catalog's inferred grid takes: gathers, one hop per
    # Bellman-Ford round) must reach the same fixed point as the shift-based grid path.
    grids, r_km, sites_km, gateways_km, gateway_pop, gateway_pop_ms, pop_cloud_ms = gen1_network
    r = jnp.asarray(r_km[:, 1])
    sites = access(sites_km, r_km[:, 1], 4, 25.0, 0.02, 0.4)
    gateways = access(gateways_km, r_km[:, 1], 8, 25.0, 3.0, 4.0)
    fiber = jnp.asarray(gateway_pop), jnp.asarray(gateway_pop_ms), jnp.asarray(pop_cloud_ms)
    by_grid = laser_links(r, grids, **LASER)
    by_table = laser_links(r, plus_grid(grids), **LASER)
    assert by_table.grids == () and by_grid.grids == grids
    np.testing.assert_array_equal(np.asarray(by_table.latency_ms), np.asarray(by_grid.latency_ms))
    expected = jax.jit(route)(by_grid, sites, gateways, *fiber)
    got = jax.jit(route)(by_table, sites, gateways, *fiber)
    for name in ("gateway_ms", "gateway_up_gbps", "gateway_down_gbps", "cloud_ms", "cloud_up_gbps", "cloud_down_gbps"):
        np.testing.assert_allclose(np.asarray(getattr(got, name)), np.asarray(getattr(expected, name)), rtol=1e-12,
                                   err_msg=name)
    assert np.isfinite(np.asarray(got.gateway_ms)).mean() > 0.3
