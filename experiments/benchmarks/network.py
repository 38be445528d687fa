"""The network of a day: the project's pipeline vs a per-step scipy Dijkstra baseline on the same graphs.

Reference scenario (issue 13): Starlink Gen1 (4,408 satellites) over a day of 15 s steps (5,760 steps),
the 1,000 largest cities as demand sites, every gateway of the curated table, every Azure region behind the
points of presence, satellite hosts up to two laser hops from each site's access satellite, placement
epochs of 300 s. In one run:
  - the pipeline, as `placement run` goes through it (pipeline.prepare, then network.build_network): SGP4 and
    Earth-fixed positions of the whole day (propagation.orbits, ORBIT_STEPS steps at a time), then in one
    stream of chunks each site's one access satellite, lasers, the satellite hosts around it, gateways and
    cloud regions (network.tensors.network_steps), each chunk folded into its epochs' candidates
    (network.epochs) and dropped;
  - scipy.sparse.csgraph Dijkstra from every site on the same graph (the same links and delays, the access
    satellite the pipeline chose), on evenly spaced steps, extrapolated to the day: what the pipeline's
    routing computes (every site's latency to its hosts, gateways and regions) by a textbook method;
  - the real Starlink catalog (configs/data, 9,543 satellites) on the same ground for --catalog-steps
    steps, its laser grid inferred from the orbits (isl.infer_plus_grid): its per-step time over Gen1's.
Peak memory is the process's resident high-water mark.

    python experiments/benchmarks/network.py [--steps 5760] [--scipy-steps 8] [--catalog-steps 960]

Writes experiments/results/network.json (network.<gpu>.json on a GPU).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from placement.constellation.tle import read_elements
from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.network import ground as ground_tables
from placement.network.access import ground_access
from placement.network.epochs import fold_epochs
from placement.network.isl import constellation_lasers, grid_shells
from placement.network.routes import laser_links
from placement.network.tensors import Ground, NetworkSpec, network_steps
from placement.pipeline import enable_float64
from placement.propagation.orbits import propagate_orbits
from placement.propagation.timegrid import TimeGrid
from placement.results import save_benchmark

RESULTS = Path(__file__).resolve().parents[1] / "results"
CITIES = Path(__file__).resolve().parent / "data" / "cities_top1000.csv"
CATALOG = Path(__file__).resolve().parents[2] / "configs" / "data" / "starlink_2026-02-23.tle"
EPOCH_JD, EPOCH_FR = 2461094.5, 0.0  # 2026-02-24 00:00 UTC
STEP_S = 15.0
EPOCH_STEPS = 20  # 300 s placement epochs
# SGP4 runs this many steps per call (as propagation.chunk_steps does in a run); the steady-state rate of each
# stage is taken over its calls after the first, which compiles.
ORBIT_STEPS = 480


def reference_ground() -> tuple[Ground, int, int, int]:
    """1,000 cities, every curated gateway, every Azure region behind the points of presence."""
    cities = np.genfromtxt(CITIES, delimiter=",", usecols=(2, 3))
    gateways, pops, clouds = ground_tables.gateways(), ground_tables.pops(), ground_tables.cloud_regions("azure")
    ground = Ground.from_nodes(ground_tables.demand_sites(cities[:, 0], cities[:, 1]), gateways, pops, clouds)
    return ground, len(cities), len(gateways), len(clouds)


def step_graph(r_ecef_km: np.ndarray, access_sat: np.ndarray, lasers_of, ground: Ground, spec: NetworkSpec):
    """The directed graph of one step as a CSR matrix over satellites, gateways, PoPs, clouds, sites, and the
    node index of the first site: each site's uplink to its access satellite, lasers, feeder downlinks,
    fiber (the links and delays the pipeline routes over, built with its own link functions)."""
    r = jnp.asarray(r_ecef_km)
    lasers = laser_links(r, lasers_of, max_range_km=spec.laser_max_range_km,
                         min_altitude_km=spec.laser_grazing_altitude_km, capacity_gbps=spec.laser_capacity_gbps,
                         hop_ms=spec.laser_hop_ms)
    gateways = ground_access(ground.gateways_ecef_km, r, spec.gateway_reach, spec.gateway_slots,
                             spec.gateway_uplink, spec.gateway_downlink, spec.radio_hop_ms)
    n_sat, n_gw = r.shape[0], ground.gateways_ecef_km.shape[0]
    n_pop, n_cloud = ground.pop_cloud_ms.shape
    n_site = ground.sites_ecef_km.shape[0]
    gw0, pop0, cloud0, site0 = n_sat, n_sat + n_gw, n_sat + n_gw + n_pop, n_sat + n_gw + n_pop + n_cloud
    nb, lat = np.asarray(lasers.neighbour), np.asarray(lasers.latency_ms)
    v, s = np.nonzero(np.isfinite(lat))
    rows, cols, weights = [v], [nb[v, s]], [lat[v, s]]
    site = np.flatnonzero(access_sat >= 0)
    slant_km = np.linalg.norm(np.asarray(ground.sites_ecef_km)[site] - r_ecef_km[access_sat[site]], axis=-1)
    rows.append(site0 + site)
    cols.append(access_sat[site])
    weights.append(slant_km / 299_792.458 * 1e3 + spec.radio_hop_ms)
    sat, latency = np.asarray(gateways.sat), np.asarray(gateways.latency_ms)
    g, k = np.nonzero(sat >= 0)
    rows.append(sat[g, k])
    cols.append(gw0 + g)
    weights.append(latency[g, k])
    fiber = np.isfinite(np.asarray(ground.gateway_pop_ms))
    rows.append(gw0 + np.flatnonzero(fiber))
    cols.append(pop0 + np.asarray(ground.gateway_pop)[fiber])
    weights.append(np.asarray(ground.gateway_pop_ms)[fiber])
    p, c = np.meshgrid(np.arange(n_pop), np.arange(n_cloud), indexing="ij")
    rows.append(pop0 + p.ravel())
    cols.append(cloud0 + c.ravel())
    weights.append(np.asarray(ground.pop_cloud_ms).ravel())
    n = site0 + n_site
    graph = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return graph.tocsr(), site0


def propagate_then_route(elements, lasers_of, grid: TimeGrid, ground: Ground, spec: NetworkSpec, chunk_steps: int):
    """SGP4 and Earth-fixed positions of the whole grid, then the network at every step in one stream and its
    epochs' candidates, as the pipeline does (pipeline.prepare, then network.build_network, which keeps what
    this drops). Returns (wall seconds of it all, seconds a step in the steady state: SGP4's and the
    network's rates after their first calls, seconds of those first calls, which compile)."""
    started = time.perf_counter()
    sgp4_s = []
    r = propagate_orbits(elements, grid, np.float32, ORBIT_STEPS,
                         on_chunk=lambda *_: sgp4_s.append(time.perf_counter() - started - sum(sgp4_s))).r_ecef_km
    routed = time.perf_counter()
    marks = []
    for _, out in network_steps(r, lasers_of, ground, spec, chunk_steps, STEP_S):
        fold_epochs(out, EPOCH_STEPS, spec, len(elements))
        marks.append(time.perf_counter())
    total_s = time.perf_counter() - started
    per_step_s = (sum(sgp4_s[1:]) / (grid.n_steps - ORBIT_STEPS)
                  + (marks[-1] - marks[0]) / (grid.n_steps - chunk_steps))
    return total_s, per_step_s, sgp4_s[0] + marks[0] - routed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5760)
    parser.add_argument("--chunk-steps", type=int, default=60, help=f"a multiple of {EPOCH_STEPS}")
    parser.add_argument("--scipy-steps", type=int, default=8)
    parser.add_argument("--catalog-steps", type=int, default=960, help="steps of the real catalog (0: skip it)")
    args = parser.parse_args()
    if args.chunk_steps % EPOCH_STEPS or args.steps % args.chunk_steps or args.steps % ORBIT_STEPS:
        parser.error(f"--chunk-steps must be a multiple of {EPOCH_STEPS} and divide --steps, a multiple of "
                     f"{ORBIT_STEPS}")
    if 0 < args.catalog_steps and (args.catalog_steps < 2 * ORBIT_STEPS or args.catalog_steps % ORBIT_STEPS
                                   or args.catalog_steps % args.chunk_steps):
        parser.error(f"--catalog-steps: 0 (skip) or a multiple of {ORBIT_STEPS} (at least two: the first "
                     "compiles) and of --chunk-steps")
    enable_float64()  # the scipy graphs are built from float64 positions

    elements = constellation(STARLINK_GEN1, EPOCH_JD, EPOCH_FR, bstar=3.0e-5)
    grids = grid_shells(STARLINK_GEN1)
    grid = TimeGrid(EPOCH_JD, EPOCH_FR, STEP_S, args.steps)
    ground, n_site, n_gw, n_cloud = reference_ground()
    spec = NetworkSpec()
    case = (f"gen1 {len(elements)} sats x {args.steps} steps of {STEP_S:g} s, {n_site} sites, {n_gw} gateways, "
            f"{n_cloud} regions, hosts within {spec.laser_hops} laser hops")
    rows = []

    # wall time of the whole horizon, compilation included
    day_s, per_step_s, first_s = propagate_then_route(elements, grids, grid, ground, spec, args.chunk_steps)
    rows += [
        {"case": case, "impl": "placement-f32", "metric": "total_s", "value": day_s, "unit": "s"},
        {"case": case, "impl": "placement-f32", "metric": "per_step_s (sgp4+access+lasers+hosts+routing+fold)",
         "value": per_step_s, "unit": "s"},
        {"case": case, "impl": "placement-f32", "metric": "first_chunk_incl_compile_s", "value": first_s,
         "unit": "s"},
    ]

    catalog_ratio = None
    if args.catalog_steps > 0 and CATALOG.is_file():
        catalog = read_elements(CATALOG, skip_bad=True).elements
        sub_grid = TimeGrid(EPOCH_JD, EPOCH_FR, STEP_S, args.catalog_steps)
        table = constellation_lasers(catalog, None, sub_grid)
        _, catalog_step_s, catalog_first_s = propagate_then_route(catalog, table, sub_grid, ground, spec,
                                                                  args.chunk_steps)
        catalog_ratio = catalog_step_s / per_step_s
        catalog_case = (f"starlink catalog 2026-02-23, {len(catalog)} sats x {args.catalog_steps} steps of "
                        f"{STEP_S:g} s, inferred grid, same ground")
        rows += [
            {"case": catalog_case, "impl": "placement-f32",
             "metric": "per_step_s (sgp4+access+lasers+hosts+routing+fold)", "value": catalog_step_s, "unit": "s"},
            {"case": catalog_case, "impl": "placement-f32", "metric": "first_chunk_incl_compile_s",
             "value": catalog_first_s, "unit": "s"},
        ]

    # scipy Dijkstra from every site, on evenly spaced steps of the same day, same graph, same access choice.
    sample = np.linspace(0, args.steps - 1, args.scipy_steps).round().astype(int)
    scipy_s = []
    for i in sample:
        r = propagate_orbits(elements, grid.subgrid(int(i), 1), np.float64).r_ecef_km[:, :1]
        (_, steps), = network_steps(r, grids, ground, spec, 1, STEP_S)
        graph, site0 = step_graph(r[:, 0], steps.access.sat[0, :, 0], grids, ground, spec)
        mark = time.perf_counter()  # only Dijkstra is timed: the graph is built with the project's code
        dijkstra(graph, directed=True, indices=site0 + np.arange(n_site))
        scipy_s.append(time.perf_counter() - mark)
    scipy_per_step = float(np.median(scipy_s))
    rows += [
        {"case": case, "impl": "scipy-dijkstra", "metric": "per_step_s (routing only)", "value": scipy_per_step,
         "unit": "s"},
        {"case": case, "impl": "scipy-dijkstra", "metric": "total_s (extrapolated)",
         "value": scipy_per_step * args.steps, "unit": "s"},
    ]

    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rows.append({"case": case, "impl": "benchmark process", "metric": "peak_rss_gb", "value": peak_gb, "unit": "GB"})
    save_benchmark("network", rows, {
        "day_seconds": day_s,
        "step_s": STEP_S,
        "speedup_vs_scipy": scipy_per_step / per_step_s,
        "peak_memory_gb": peak_gb,
        "catalog_step_ratio": catalog_ratio,
        "steps": args.steps,
        "backend": jax.default_backend(),
    }, RESULTS)


if __name__ == "__main__":
    main()
