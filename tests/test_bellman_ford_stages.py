"""Bellman-Ford on a one-hop graph relaxes only the columns still changing (routes.bellman_ford's stages):
every column must still end at its own fixed point, against plain Bellman-Ford and scipy's Dijkstra."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from placement.network.routes import Lasers, _stage_widths, bellman_ford, gateway_latency, laser_links
from test_catalog_grid import catalog  # noqa: F401  (the real catalog's inferred grid, a module fixture)
from test_routes import LASER, R_EARTH_KM, access, unit

RING = 600  # satellites on one ring: a source's column needs up to RING / 2 one-hop rounds
COLUMNS = 64  # stages of 64, 32 and 16 columns


def plain_fixed_point(neighbour, latency, start):
    """Single-hop Bellman-Ford in numpy until nothing changes, and the round each column last changed in."""
    dist, last, round_ = start.copy(), np.zeros(start.shape[1], int), 0
    while True:
        round_ += 1
        through = np.where(neighbour[..., None] >= 0, dist[np.maximum(neighbour, 0)] + latency[..., None], np.inf)
        relaxed = np.minimum(dist, through.min(axis=1))
        changed = (relaxed < dist).any(axis=0)
        if not changed.any():
            return dist, last
        last[changed], dist = round_, relaxed


def test_columns_settling_at_different_rounds_reach_the_plain_fixed_point():
    # One ring with random link latencies, some links cut; column j starts at j + 1 evenly spaced satellites,
    # so column 0 needs hundreds of rounds and column 63 a handful: the later stages route only the first few.
    rng = np.random.default_rng(3)
    ahead, behind = np.roll(np.arange(RING), -1), np.roll(np.arange(RING), 1)
    neighbour = np.stack([ahead, behind, -np.ones(RING, int), -np.ones(RING, int)], axis=1).astype(np.int32)
    link = rng.uniform(1.0, 20.0, RING)  # link v joins v and v + 1, the same latency both ways
    link[rng.choice(RING, 3, replace=False)] = np.inf
    latency = np.stack([link, np.roll(link, 1), np.full(RING, np.inf), np.full(RING, np.inf)], axis=1)
    start = np.full((RING, COLUMNS), np.inf)
    for j in range(COLUMNS):
        roots = (np.arange(j + 1) * RING) // (j + 1) + rng.integers(0, RING // (j + 1))
        start[roots % RING, j] = rng.uniform(0.0, 5.0, j + 1)

    expected, last = plain_fixed_point(neighbour, latency, start)
    assert last.max() > 10 * last.min()  # the columns do settle far apart
    assert len(_stage_widths(COLUMNS)) == 3
    lasers = Lasers(jnp.asarray(neighbour), jnp.asarray(latency), jnp.ones(neighbour.shape), ())
    got = np.asarray(jax.jit(bellman_ford)(lasers, jnp.asarray(start)))
    np.testing.assert_array_equal(got, expected)

    # scipy: a super-source joined to each column's roots by their start latencies, over the same ring
    for j in (0, 17, COLUMNS - 1):
        v = np.flatnonzero(np.isfinite(link))
        roots = np.flatnonzero(np.isfinite(start[:, j]))
        rows = np.concatenate([v, (v + 1) % RING, np.full(len(roots), RING)])
        cols = np.concatenate([(v + 1) % RING, v, roots])
        graph = coo_matrix((np.concatenate([link[v], link[v], start[roots, j]]), (rows, cols)),
                           shape=(RING + 1, RING + 1)).tocsr()
        reference = dijkstra(graph, directed=True, indices=RING)[:RING]
        np.testing.assert_allclose(got[:, j], reference, rtol=0, atol=1e-9)


def test_many_gateways_over_the_real_catalog_equal_scipy(catalog):  # noqa: F811
    # 64 gateways: the inferred grid's columns go through all three stages (the catalog's columns settle
    # between about 30 and 100 rounds); each gateway's latency from every satellite is that of Dijkstra
    # from the gateway over the reversed graph, here the same graph (lasers are symmetric).
    elements, r, neighbour = catalog
    rng = np.random.default_rng(13)
    gateways_km = R_EARTH_KM * unit(rng.uniform(-55, 55, COLUMNS), rng.uniform(-180, 180, COLUMNS))
    lasers = laser_links(jnp.asarray(r), neighbour, **LASER)
    gateways = access(gateways_km, r, 8, 25.0, 3.0, 4.0)
    got = np.asarray(jax.jit(gateway_latency)(lasers, gateways)[0])

    n = len(elements)
    nb, lat = np.asarray(lasers.neighbour), np.asarray(lasers.latency_ms)
    v, s = np.nonzero(np.isfinite(lat))
    sat, down = np.asarray(gateways.sat), np.asarray(gateways.latency_ms)
    g, k = np.nonzero(sat >= 0)
    # nodes: satellites, then the gateways; edges reversed (gateway -> satellite, laser w -> v)
    rows = np.concatenate([nb[v, s], n + g])
    cols = np.concatenate([v, sat[g, k]])
    graph = coo_matrix((np.concatenate([lat[v, s], down[g, k]]), (rows, cols)), shape=(n + COLUMNS,) * 2).tocsr()
    reference = dijkstra(graph, directed=True, indices=n + np.arange(COLUMNS))[:, :n].T
    assert np.isfinite(reference).mean() > 0.5
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(reference))
    finite = np.isfinite(reference)
    np.testing.assert_allclose(got[finite], reference[finite], rtol=0, atol=1e-6)
