"""The shortcuts of a Walker grid's Bellman-Ford round (routes.Lasers.relax): after the line sweeps only the
in-plane and seam links need a hop, and a round whose hop changes nothing is the fixed point."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from placement.constellation.walker import KUIPER, STARLINK_GEN1
from placement.network.isl import grid_shells, min_through_unsettled, plus_grid, relax_along_lines
from placement.network.routes import Lasers

# shells with a partial spread (no seam), seams shifted by the phasing, one odd-sized shell
GRIDS = grid_shells(STARLINK_GEN1[3:] + KUIPER[2:])


def random_latency(rng, neighbour):
    """Symmetric random link latencies [sat, 4] on the table, a tenth of the links cut (inf)."""
    n = len(neighbour)
    v, s = np.nonzero(neighbour >= 0)
    w = neighbour[v, s]
    unique, inverse = np.unique(np.minimum(v, w) * n + np.maximum(v, w), return_inverse=True)
    weight = rng.uniform(1.0, 20.0, len(unique))
    weight[rng.random(len(unique)) < 0.1] = np.inf
    latency = np.full(neighbour.shape, np.inf)
    latency[v, s] = weight[inverse]
    return latency


def one_hop(values, neighbour, latency):
    """min(values, min over links of the neighbour's value + latency), by indexing the table (numpy)."""
    through = np.where(neighbour[..., None] >= 0, values[np.maximum(neighbour, 0)] + latency[..., None], np.inf)
    return np.minimum(values, through.min(axis=1))


def test_after_the_line_sweeps_the_unsettled_links_are_the_whole_hop():
    neighbour = plus_grid(GRIDS)
    rng = np.random.default_rng(3)
    latency = random_latency(rng, neighbour)
    lat = jnp.asarray(latency)
    along_lines = jax.jit(lambda v: relax_along_lines(v, lat, GRIDS))
    unsettled = jax.jit(lambda v: min_through_unsettled(v, lat, GRIDS))
    improved = 0
    for trial in range(4):
        values = np.full((len(neighbour), 3), np.inf)
        values[rng.integers(0, len(neighbour), 6), rng.integers(0, 3, 6)] = rng.uniform(0.0, 5.0, 6)
        for _ in range(3):  # a few rounds, so the values are neither the start nor the fixed point
            along = np.asarray(along_lines(jnp.asarray(values)))
            expected = one_hop(along, neighbour, latency)
            got = np.minimum(along, np.asarray(unsettled(jnp.asarray(along))))
            np.testing.assert_array_equal(got, expected)
            improved += int((expected < along).any())
            values = expected
    assert improved >= 4  # the hop did lower values: the comparison was not between two copies of `along`


def test_the_rounds_stop_at_the_single_hop_fixed_point():
    neighbour = plus_grid(GRIDS)
    rng = np.random.default_rng(8)
    latency = random_latency(rng, neighbour)
    values = np.full((len(neighbour), 2), np.inf)
    values[rng.integers(0, len(neighbour), 4), rng.integers(0, 2, 4)] = rng.uniform(0.0, 5.0, 4)
    expected = values
    while not np.array_equal(relaxed := one_hop(expected, neighbour, latency), expected):
        expected = relaxed
    lasers = Lasers(jnp.asarray(neighbour), jnp.asarray(latency), jnp.zeros(latency.shape), GRIDS)
    relax = jax.jit(lasers.relax)
    dist, changed, rounds = jnp.asarray(values), True, 0
    while bool(jnp.any(changed)):  # the verdict is per column
        dist, changed = relax(dist)
        rounds += 1
    np.testing.assert_array_equal(np.asarray(dist), expected)
    assert np.isfinite(expected).any() and np.isinf(expected).any()
    assert 1 < rounds < 20  # lines, not hops: the single-hop rounds above take 41 (measured; 13 here)
