"""Would routing fewer columns speed up the network step? Two levers, timed and checked for exactness.

On the reference scenario of network.py: Starlink Gen1 or the real catalog, 1,000 cities, 222 gateways,
51 Azure regions behind 23 points of presence.

The step's main cost is Bellman-Ford from every gateway (routes.gateway_latency, [sat, gateway]), and one
round's line sweeps take time in proportion to the columns. Two ways to route fewer:
  1. cloud regions from one column per point of presence (PoP): a multi-source Bellman-Ford started at every
     gateway's access satellites with the feeder downlink and the fiber to the gateway's PoP already added
     (`pop_latency`) gives a site's latency to each PoP, hence to each region, in 23 columns instead of 222.
     Exact: it is the same minimum, taken before the lasers instead of after them. It replaces the gateway
     columns only where the [site, gateway] latencies are not needed.
  2. gateway columns only for gateways some site can use as a host: the union over sites of each site's k
     nearest gateways (by latency, at each step and over all the steps: a chunk), the columns such a scheme
     would keep.
Measured: the union's size for k = 1, 2, 4; the time of one step's routes (routes.route, 222 columns) beside
the PoP columns alone and Bellman-Ford on fewer gateway columns, run in turn at every step of one process (the
machine is shared); the largest difference between the PoP-rooted cloud latencies and route's, and scipy's
Dijkstra on the same graph (network.step_graph) at a few steps (an error if either is beyond rounding).

    python experiments/benchmarks/route_columns.py [--catalog] [--steps 60] [--scipy-steps 2]

Writes experiments/results/route_columns.json (route_columns_catalog.json with --catalog).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse.csgraph import dijkstra

from network import CATALOG, EPOCH_FR, EPOCH_JD, RESULTS, STEP_S, reference_ground, step_graph  # this folder

from placement.constellation.tle import read_elements
from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.network.isl import constellation_lasers, grid_shells
from placement.network.routes import _downlinks, bellman_ford, gateway_latency, route
from placement.network.tensors import NetworkSpec, network_steps, step_links
from placement.pipeline import enable_float64
from placement.propagation.orbits import propagate_orbits
from placement.propagation.timegrid import TimeGrid
from placement.results import save_benchmark


def pop_latency(lasers, gateways, gateway_pop, gateway_pop_ms, n_pop: int) -> jax.Array:
    """[sat, pop] the shortest latency from each satellite down to any gateway and on over fiber to each PoP:
    one Bellman-Ford column per PoP, started where a satellite goes down (feeder downlink plus fiber)."""
    downlink_ms, _ = _downlinks(gateways, lasers.neighbour.shape[0], lasers.latency_ms.dtype)
    start = jax.ops.segment_min((downlink_ms + gateway_pop_ms[None, :]).T, gateway_pop, num_segments=n_pop).T
    return bellman_ford(lasers, start)


def pop_cloud_ms(r_km, ground, table, grids, spec, sites):
    """[site, cloud] one-way latency to each region through the PoP columns (lever 1)."""
    gateways, lasers = step_links(r_km, ground, table, grids, spec)
    at_pop = pop_latency(lasers, gateways, ground.gateway_pop, ground.gateway_pop_ms, ground.pop_cloud_ms.shape[0])
    site_pop = sites.latency_ms[:, :, None] + at_pop[jnp.maximum(sites.sat, 0)]  # [site, k, pop]
    site_pop = jnp.where((sites.sat >= 0)[:, :, None], site_pop, jnp.inf).min(axis=1)
    return jnp.min(site_pop[:, :, None] + ground.pop_cloud_ms[None], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", action="store_true", help="the real catalog (configs/data) instead of Gen1")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--scipy-steps", type=int, default=2)
    args = parser.parse_args()
    enable_float64()  # the catalog's grid is inferred in float64; the routing runs in float32 as in network.py

    grid = TimeGrid(EPOCH_JD, EPOCH_FR, STEP_S, args.steps)
    if args.catalog:
        elements = read_elements(CATALOG, skip_bad=True).elements
        lasers_of, grids = constellation_lasers(elements, None, grid), ()
        table = jnp.asarray(lasers_of, jnp.int32)
    else:
        elements = constellation(STARLINK_GEN1, EPOCH_JD, EPOCH_FR, bstar=3.0e-5)
        lasers_of = grids = grid_shells(STARLINK_GEN1)
        table = None
    ground, n_site, n_gw, n_cloud = reference_ground()
    spec = NetworkSpec()
    r = np.asarray(propagate_orbits(elements, grid, np.float32).r_ecef_km)
    ground32 = jax.tree_util.tree_map(lambda a: a.astype(np.float32) if jnp.issubdtype(a.dtype, jnp.floating)
                                      else a, ground)
    (_, steps), = network_steps(r, lasers_of, ground, spec, args.steps, STEP_S)
    case = (f"{'catalog' if args.catalog else 'gen1'} {len(elements)} sats x {args.steps} steps of {STEP_S:g} s, "
            f"{n_site} sites, {n_gw} gateways, {n_cloud} regions")
    rows = []

    # Lever 2: the gateways that are among some site's k nearest (sites with an access satellite only).
    covered = steps.access.sat[:, :, 0] >= 0
    for k in (1, 2, 4):
        nearest = np.argsort(steps.gateway_ms, axis=2, kind="stable")[:, :, :k]
        per_step = np.mean([len(np.unique(nearest[t][covered[t]])) for t in range(args.steps)])
        rows += [{"case": case, "impl": f"each site's {k} nearest gateways", "metric": "union, mean of the steps",
                  "value": per_step, "unit": "gateways"},
                 {"case": case, "impl": f"each site's {k} nearest gateways", "metric": "union over the steps",
                  "value": len(np.unique(nearest[covered])), "unit": "gateways"}]

    routes = jax.jit(lambda r_km, s: _route(r_km, s, ground32, table, grids, spec))
    pops = jax.jit(lambda r_km, s: pop_cloud_ms(r_km, ground32, table, grids, spec, s))

    def fewer(columns: int):
        def run(r_km, s):
            gateways, lasers = step_links(r_km, ground32, table, grids, spec)
            return gateway_latency(lasers, jax.tree_util.tree_map(lambda a: a[:columns], gateways))[0]
        return jax.jit(run)

    variants = {f"routes.route ({n_gw} gateway columns, regions from them)": routes,
                f"PoP columns only ({ground.pop_cloud_ms.shape[0]}), regions from them": pops}
    variants.update({f"Bellman-Ford on {c} gateway columns": fewer(c) for c in (n_gw // 2, n_gw // 4)})
    seconds = {name: [] for name in variants}
    worst = 0.0
    for t in range(args.steps):
        r_t = jnp.asarray(r[:, t])
        s_t = jax.tree_util.tree_map(lambda a, t=t: jnp.asarray(a[t]), steps.access)
        for name, fn in variants.items():
            jax.block_until_ready(fn(r_t, s_t))  # compiled at the first step; timed from the second
            mark = time.perf_counter()
            out = jax.block_until_ready(fn(r_t, s_t))
            if t:
                seconds[name].append(time.perf_counter() - mark)
            if fn is routes:
                old = np.asarray(out.cloud_ms)
            if fn is pops:
                if not np.array_equal(np.isfinite(old), np.isfinite(np.asarray(out))):
                    raise AssertionError(f"step {t}: the PoP columns reach other regions than the gateway columns")
                both = np.isfinite(old)
                worst = max(worst, float(np.abs(np.asarray(out)[both] - old[both]).max(initial=0.0)))
    rows += [{"case": case, "impl": name, "metric": "per_step_s (median)", "value": float(np.median(values)),
              "unit": "s"} for name, values in seconds.items()]
    # the two sum the same links in another order: float32 rounding of ~100 ms sums of ~50 terms, each within
    # an ulp (7.6e-6 ms at 64-128 ms), stays under 1e-3 ms
    if worst > 1e-3:
        raise AssertionError(f"the PoP columns differ from the gateway columns by {worst} ms")

    # scipy's Dijkstra on the same graph, float64 positions: the PoP columns against an independent method.
    gap = 0.0
    for t in np.linspace(0, args.steps - 1, args.scipy_steps).round().astype(int):
        r64 = np.asarray(propagate_orbits(elements, grid.subgrid(int(t), 1), np.float64).r_ecef_km)
        (_, one), = network_steps(r64, lasers_of, ground, spec, 1, STEP_S)
        graph, site0 = step_graph(r64[:, 0], one.access.sat[0, :, 0], lasers_of, ground, spec)
        reference = dijkstra(graph, directed=True, indices=site0 + np.arange(n_site))[:, site0 - n_cloud:site0]
        mine = np.asarray(pop_cloud_ms(jnp.asarray(r64[:, 0]), ground, table, grids, spec,
                                       jax.tree_util.tree_map(lambda a: jnp.asarray(a[0]), one.access)))
        if not np.array_equal(np.isinf(reference), np.isinf(mine)):
            raise AssertionError(f"step {t}: the PoP columns reach other regions than scipy")
        finite = np.isfinite(reference)
        gap = max(gap, float(np.abs(mine[finite] - reference[finite]).max(initial=0.0)))
    if gap > 1e-6:  # issue 13's tolerance for routing against scipy
        raise AssertionError(f"the PoP columns differ from scipy by {gap} ms")
    save_benchmark("route_columns_catalog" if args.catalog else "route_columns", rows, {
        "pop_vs_gateway_columns_max_diff_ms": worst, "pop_vs_scipy_max_diff_ms": gap, "steps": args.steps,
        "scipy_steps": args.scipy_steps, "backend": jax.default_backend()}, RESULTS)


def _route(r_km, sites, ground, table, grids, spec):
    gateways, lasers = step_links(r_km, ground, table, grids, spec)
    return route(lasers, sites, gateways, ground.gateway_pop, ground.gateway_pop_ms, ground.pop_cloud_ms)


if __name__ == "__main__":
    main()
