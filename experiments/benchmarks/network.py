"""Network tensors for a day: the project's pipeline vs per-step scipy Dijkstra and networkx Floyd-Warshall.

Reference scenario: Starlink Gen1 (4,408 satellites) x 1,440 steps of 60 s, the 1,000 largest cities as
demand sites, every gateway of the curated table, every Azure region behind the points of presence.
In one run:
  - the pipeline (SGP4 and Earth-fixed positions, propagation.orbits; ground access, lasers and routing,
    network.tensors) streamed chunk by chunk over the whole day;
  - scipy.sparse.csgraph Dijkstra from every site on the same graph, on a sample of steps, extrapolated;
  - networkx Floyd-Warshall (all pairs) on one step of shell 1, as Hypatia-style tools compute routes;
  - the real Starlink catalog (configs/data, 9,543 satellites) on the same ground for --catalog-steps
    steps, its laser grid inferred from the orbits (isl.infer_plus_grid) and routed by gathers.
Peak memory is the process's resident high-water mark.

    python experiments/benchmarks/network.py [--steps 1440] [--scipy-steps 8] [--catalog-steps 60]

Writes experiments/results/network.json (network.<gpu>.json on a GPU).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import networkx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.network import ground as ground_tables
from placement.constellation.tle import read_elements
from placement.network.isl import constellation_lasers, grid_shells
from placement.network.routes import laser_links
from placement.network.tensors import Ground, NetworkSpec, ground_access, network_chunks
from placement.pipeline import enable_float64
from placement.propagation.orbits import orbit_chunks, propagate_orbits
from placement.propagation.sgp4 import Propagator
from placement.propagation.timegrid import TimeGrid
from placement.results import save_benchmark

RESULTS = Path(__file__).resolve().parents[1] / "results"
CITIES = Path(__file__).resolve().parent / "data" / "cities_top1000.csv"
CATALOG = Path(__file__).resolve().parents[2] / "configs" / "data" / "starlink_2026-02-23.tle"
EPOCH_JD, EPOCH_FR = 2461094.5, 0.0


def reference_ground() -> tuple[Ground, int, int, int]:
    """1,000 cities, every curated gateway, every Azure region behind the points of presence."""
    cities = np.genfromtxt(CITIES, delimiter=",", usecols=(2, 3))
    gateways, pops, clouds = ground_tables.gateways(), ground_tables.pops(), ground_tables.cloud_regions("azure")
    ground = Ground.from_nodes(ground_tables.demand_sites(cities[:, 0], cities[:, 1]), gateways, pops, clouds)
    return ground, len(cities), len(gateways), len(clouds)


def step_graph(r_ecef_km, grids, ground: Ground, spec: NetworkSpec):
    """The directed graph of one step as a CSR matrix, and the node index of the first site:
    satellites, gateways, PoPs, clouds, sites (the same links the pipeline routes over)."""
    r = jnp.asarray(r_ecef_km)
    lasers = laser_links(r, grids, max_range_km=spec.laser_max_range_km,
                         min_altitude_km=spec.laser_grazing_altitude_km, capacity_gbps=spec.laser_capacity_gbps)
    sites = ground_access(ground.sites_ecef_km, r, spec.site_min_elevation_deg, spec.site_slots, spec.site_link)
    gateways = ground_access(ground.gateways_ecef_km, r, spec.gateway_min_elevation_deg, spec.gateway_slots,
                       spec.gateway_link)
    n_sat, n_gw = r.shape[0], ground.gateways_ecef_km.shape[0]
    n_pop, n_cloud = ground.pop_cloud_ms.shape
    gw0, pop0, cloud0, site0 = n_sat, n_sat + n_gw, n_sat + n_gw + n_pop, n_sat + n_gw + n_pop + n_cloud
    nb, lat = np.asarray(lasers.neighbour), np.asarray(lasers.latency_ms)
    v, s = np.nonzero(np.isfinite(lat))
    rows, cols, weights = [v], [nb[v, s]], [lat[v, s]]
    for access, first, upward in ((sites, site0, True), (gateways, gw0, False)):
        sat, latency = np.asarray(access.sat), np.asarray(access.latency_ms)
        g, k = np.nonzero(sat >= 0)
        rows.append(g + first if upward else sat[g, k])
        cols.append(sat[g, k] if upward else g + first)
        weights.append(latency[g, k])
    rows.append(gw0 + np.arange(n_gw))
    cols.append(pop0 + np.asarray(ground.gateway_pop))
    weights.append(np.asarray(ground.gateway_pop_ms))
    p, c = np.meshgrid(np.arange(n_pop), np.arange(n_cloud), indexing="ij")
    rows.append(pop0 + p.ravel())
    cols.append(cloud0 + c.ravel())
    weights.append(np.asarray(ground.pop_cloud_ms).ravel())
    n = site0 + ground.sites_ecef_km.shape[0]
    graph = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    graph.sum_duplicates()  # +Grid links are distinct pairs; parallel edges cannot arise here
    return graph.tocsr(), site0


def streamed(elements, lasers, grid: TimeGrid, ground: Ground, spec: NetworkSpec, chunk_steps: int):
    """SGP4, Earth-fixed positions and the network tensors, chunk after chunk: the seconds each chunk took and
    its number of steps."""
    seconds, steps, mark = [], [], time.perf_counter()
    for chunk in orbit_chunks(Propagator.create(elements, jnp.float32), grid, chunk_steps):
        for _, tensors in network_chunks(chunk.r_ecef_km, lasers, ground, spec, chunk_steps):
            jax.block_until_ready(tensors)
        seconds.append(time.perf_counter() - mark)
        steps.append(chunk.grid.n_steps)
        mark = time.perf_counter()
    return seconds, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1440)
    parser.add_argument("--chunk-steps", type=int, default=60)
    parser.add_argument("--scipy-steps", type=int, default=8)
    parser.add_argument("--catalog-steps", type=int, default=60, help="steps of the real catalog (0: skip it)")
    args = parser.parse_args()
    if 0 < args.catalog_steps < 8:
        parser.error("--catalog-steps: 0 (skip) or at least 8 (the first of four chunks compiles)")
    enable_float64()  # the scipy graphs are built from float64 positions

    elements = constellation(STARLINK_GEN1, EPOCH_JD, EPOCH_FR, bstar=3.0e-5)
    grids = grid_shells(STARLINK_GEN1)
    grid = TimeGrid(EPOCH_JD, EPOCH_FR, 60.0, args.steps)
    ground, n_site, n_gw, n_cloud = reference_ground()
    spec = NetworkSpec()
    case = f"gen1 {len(elements)} sats x {args.steps} steps, {n_site} sites, {n_gw} gateways, {n_cloud} regions"
    rows, summary = [], {}

    # The pipeline in float32 (the fast mode): SGP4, Earth-fixed positions, access, lasers and routing.
    started = time.perf_counter()
    chunk_s, chunk_steps = streamed(elements, grids, grid, ground, spec, args.chunk_steps)
    day_s = time.perf_counter() - started  # wall time of the whole horizon, compilation included
    first_chunk_s = chunk_s[0]
    # steady state: the chunks after the first (which compiles)
    per_step_s = sum(chunk_s[1:]) / sum(chunk_steps[1:]) if len(chunk_s) > 1 else day_s / args.steps
    rows += [
        {"case": case, "impl": "placement-f32", "metric": "total_s", "value": day_s, "unit": "s"},
        {"case": case, "impl": "placement-f32", "metric": "per_step_s (sgp4+access+lasers+routing)",
         "value": per_step_s, "unit": "s"},
        {"case": case, "impl": "placement-f32", "metric": "first_chunk_incl_compile_s", "value": first_chunk_s, "unit": "s"},
    ]

    # The real catalog on the same ground: its laser grid is inferred, and routed one hop per round.
    if args.catalog_steps > 0 and CATALOG.is_file():
        catalog = read_elements(CATALOG, skip_bad=True).elements
        sub_grid = TimeGrid(EPOCH_JD, EPOCH_FR, 60.0, args.catalog_steps)
        table = constellation_lasers(catalog, None, sub_grid)
        chunk = max(1, args.catalog_steps // 4)
        marks, _ = streamed(catalog, table, sub_grid, ground, spec, chunk)
        catalog_case = (f"starlink catalog 2026-02-23, {len(catalog)} sats x {args.catalog_steps} steps, inferred grid, "
                        f"{n_site} sites, {n_gw} gateways, {n_cloud} regions")
        rows += [
            {"case": catalog_case, "impl": "placement-f32", "metric": "per_step_s (sgp4+access+lasers+routing)",
             "value": sum(marks[1:]) / (args.catalog_steps - chunk), "unit": "s"},
            {"case": catalog_case, "impl": "placement-f32", "metric": "first_chunk_incl_compile_s",
             "value": marks[0], "unit": "s"},
        ]

    # scipy Dijkstra from every site, on evenly spaced steps of the same day, same graph.
    sample = np.linspace(0, args.steps - 1, args.scipy_steps).round().astype(int)
    r_ecef = np.stack([propagate_orbits(elements, grid.subgrid(int(i), 1), np.float64).r_ecef_km[:, 0]
                       for i in sample], axis=1)
    # Only Dijkstra is timed: the graph (access, lasers) is built with the project's own code.
    scipy_s = []
    for j in range(len(sample)):
        graph, site0 = step_graph(r_ecef[:, j], grids, ground, spec)
        started = time.perf_counter()
        dijkstra(graph, directed=True, indices=site0 + np.arange(n_site))
        scipy_s.append(time.perf_counter() - started)
    scipy_per_step = float(np.median(scipy_s))
    rows += [
        {"case": case, "impl": "scipy-dijkstra", "metric": "per_step_s (routing only)", "value": scipy_per_step,
         "unit": "s"},
        {"case": case, "impl": "scipy-dijkstra", "metric": "total_s (extrapolated)", "value": scipy_per_step * args.steps,
         "unit": "s"},
    ]

    # networkx Floyd-Warshall on one step of shell 1 (1,584 satellites, lasers only).
    shell = grids[0]
    n1 = shell.planes * shell.per_plane
    lasers = laser_links(jnp.asarray(r_ecef[:n1, 0]), grids[:1], max_range_km=spec.laser_max_range_km,
                         min_altitude_km=spec.laser_grazing_altitude_km, capacity_gbps=spec.laser_capacity_gbps)
    nb, lat = np.asarray(lasers.neighbour), np.asarray(lasers.latency_ms)
    g = networkx.Graph()
    for v, s in zip(*np.nonzero(np.isfinite(lat))):
        g.add_edge(int(v), int(nb[v, s]), weight=float(lat[v, s]))
    started = time.perf_counter()
    networkx.floyd_warshall_numpy(g)
    networkx_s = time.perf_counter() - started
    rows.append({"case": f"shell 1 ({n1} sats), one step, lasers only", "impl": "networkx-floyd-warshall",
                 "metric": "per_step_s", "value": networkx_s, "unit": "s"})

    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rows.append({"case": case, "impl": "benchmark process", "metric": "peak_rss_gb", "value": peak_gb, "unit": "GB"})
    summary.update({
        "day_seconds": day_s,
        "speedup_vs_scipy": scipy_per_step / per_step_s,
        "speedup_vs_networkx": networkx_s / per_step_s,
        "peak_memory_gb": peak_gb,
        "steps": args.steps,
        "backend": jax.default_backend(),
    })
    save_benchmark("network", rows, summary, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
