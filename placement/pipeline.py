"""Jobs that run a config end to end and write a run directory.

`propagate(config, out_dir)`: constellation -> SGP4 over the time grid, streamed in chunks ->
Earth-fixed geodetic positions and sunlight -> arrays on disk (.npy, [sat, time, ...]) plus a
summary. Arrays are written chunk by chunk into memory-mapped files, so a horizon larger than
memory (10,000 satellites for a week) needs only one chunk in memory at a time.
"""

from __future__ import annotations

import csv
import dataclasses
import sys
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from placement.config import Config, config_to_dict
from placement.constellation import Elements
from placement.constellation import walker
from placement.constellation.tle import read_elements, write_tle
from placement.errors import InputError
from placement.evaluation import evaluate
from placement.network import ground as ground_tables
from placement.network.ground import GroundNodes
from placement.network.isl import grid_shells
from placement.network.links import DIRECT_TO_CELL, KU_USER_DOWNLINK
from placement.network.tensors import Ground, NetworkSpec, build_network
from placement.problem import HOST_KINDS, PlacementProblem, Solution, SolveResult
from placement.problem import catalog
from placement.problem.build import HostOptions, Workload, build_problem
from placement.solvers import SOLVERS, milp
from placement.propagation.frames import earth_rotation, ecef_to_geodetic, teme_to_ecef
from placement.propagation.sgp4 import Propagator
from placement.propagation.sun import shadow_fraction, sun_position_km
from placement.propagation.timegrid import TimeGrid, parse_utc
from placement.results import environment, format_table, run_directory, write_json

Progress = Callable[[str], None]


def _stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_constellation(config: Config) -> tuple[Elements, int]:
    """The configured satellites and how many malformed records were skipped."""
    c = config.constellation
    rejected = 0
    if c.builtin is not None:
        shells = _shells(config)
        epoch_jd, epoch_fr = parse_utc(c.epoch, field="constellation.epoch", source=config.source)
        elements = walker.constellation(shells, epoch_jd, epoch_fr, bstar=c.bstar)
    else:
        read = read_elements(config.resolve_path(c.file), skip_bad=c.skip_bad_records)
        elements, rejected = read.elements, len(read.rejected)
    if c.max_satellites is not None and c.max_satellites < len(elements):
        keep = np.unique(np.linspace(0, len(elements) - 1, c.max_satellites).round().astype(int))
        elements = elements.take(keep)
    return elements, rejected


def time_grid(config: Config) -> TimeGrid:
    t = config.time
    start_jd, start_fr = parse_utc(t.start, field="time.start", source=config.source)
    n_steps = int(round(t.duration_h * 3600.0 / t.step_s)) + 1
    return TimeGrid(start_jd, start_fr, t.step_s, n_steps)


@jax.jit
def _earth_fixed_and_sunlight(r_teme_km, cos_gmst, sin_gmst, sun_km):
    """Geodetic latitude/longitude (deg), altitude (km) and visible solar-disc fraction [sat, time]."""
    lat_rad, lon_rad, alt_km = ecef_to_geodetic(teme_to_ecef(r_teme_km, cos_gmst, sin_gmst))
    # The Sun is given in the mean equator of date, which is within about an arcminute of TEME.
    return jnp.rad2deg(lat_rad), jnp.rad2deg(lon_rad), alt_km, shadow_fraction(r_teme_km, sun_km)


def propagate(config: Config, out_dir: str | Path, *, overwrite: bool = False,
              progress: Progress = _stderr_progress) -> dict:
    """Run the propagation job of `config` into `out_dir`; returns the summary it writes."""
    elements, rejected = load_constellation(config)
    grid = time_grid(config)
    dtype = np.dtype(config.propagation.precision)
    n_sat, n_time = len(elements), grid.n_steps
    progress(f"propagate: {n_sat} satellites x {n_time} steps of {grid.step_s:g} s, {dtype.name}")

    with run_directory(out_dir, overwrite=overwrite) as staging:
        arrays = {"r_teme_km": ((n_sat, n_time, 3), dtype), "error": ((n_sat, n_time), np.int8)}
        if config.output.velocity:
            arrays["v_teme_km_s"] = ((n_sat, n_time, 3), dtype)
        if config.output.geodetic:
            arrays.update({k: ((n_sat, n_time), dtype) for k in ("lat_deg", "lon_deg", "alt_km")})
        if config.output.sunlit:
            arrays["sunlit_fraction"] = ((n_sat, n_time), dtype)
        out = {name: np.lib.format.open_memmap(staging / f"{name}.npy", mode="w+", dtype=d, shape=s)
               for name, (s, d) in arrays.items()}

        started = time.perf_counter()
        propagator = Propagator.create(elements, dtype)
        propagation_s = 0.0
        first = 0
        chunks = propagator.chunks(grid, config.propagation.chunk_steps)
        while True:
            chunk_started = time.perf_counter()
            item = next(chunks, None)
            if item is None:
                break
            sub, ephemeris = jax.block_until_ready(item)
            propagation_s += time.perf_counter() - chunk_started
            window = slice(first, first + sub.n_steps)
            out["r_teme_km"][:, window] = np.asarray(ephemeris.r_km)
            out["error"][:, window] = np.asarray(ephemeris.error)
            if "v_teme_km_s" in out:
                out["v_teme_km_s"][:, window] = np.asarray(ephemeris.v_km_s)
            if config.output.geodetic or config.output.sunlit:
                jd, fr = sub.jd_fr()
                cos_gmst, sin_gmst = earth_rotation(jd, fr)
                derived = _earth_fixed_and_sunlight(ephemeris.r_km, cos_gmst, sin_gmst, sun_position_km(jd, fr))
                for name, value in zip(("lat_deg", "lon_deg", "alt_km", "sunlit_fraction"), derived):
                    if name in out:
                        out[name][:, window] = np.asarray(value)
            first += sub.n_steps
            progress(f"propagate: {first}/{n_time} steps")
        for array in out.values():
            array.flush()
        total_s = time.perf_counter() - started

        jd, fr = grid.jd_fr()
        np.savez(staging / "time.npz", jd=jd, fr=fr, minutes=grid.minutes())
        write_tle(staging / "satellites.tle", elements)
        error = out["error"]
        summary = {
            "satellites": n_sat,
            "time_steps": n_time,
            "step_s": grid.step_s,
            "precision": dtype.name,
            "rejected_records": rejected,
            "deep_space_satellites": int(propagator.deep_space.sum()),
            "error_counts": {int(code): int(count) for code, count in zip(*np.unique(error, return_counts=True))},
            "propagation_seconds": propagation_s,  # including the one JIT compilation
            "propagations_per_second": n_sat * n_time / propagation_s if propagation_s > 0 else None,
            "job_seconds": total_s,
        }
        if "alt_km" in out:
            valid = error[:] == 0
            alt = out["alt_km"][:][valid]
            summary["altitude_km"] = {"min": float(alt.min()), "mean": float(alt.mean()), "max": float(alt.max())}
        if "sunlit_fraction" in out:
            summary["eclipse_fraction"] = float(np.mean(out["sunlit_fraction"][:][error[:] == 0] < 0.5))
        write_json(staging / "config.json", config_to_dict(config))
        write_json(staging / "environment.json", environment())
        write_json(staging / "summary.json", summary)
        del out  # close the memory maps before the directory is renamed into place
    return summary



def _shells(config: Config) -> tuple:
    """The Walker shells of a built-in constellation config."""
    c = config.constellation
    shells = walker.builtin(c.builtin)
    bad = [s for s in c.shells if not 1 <= s <= len(shells)]
    if bad:
        raise InputError(f"shell {bad[0]} does not exist", source=config.source, field="constellation.shells",
                         expected=f"shell numbers 1..{len(shells)} of {c.builtin}")
    return tuple(shells[s - 1] for s in c.shells) if c.shells else tuple(shells)


def _builtin_shells(config: Config) -> tuple:
    """The shells of a whole built-in constellation: the network's laser grid needs every satellite."""
    c = config.constellation
    if c.builtin is None:
        raise InputError("the network's +Grid lasers need a built-in Walker constellation (TLE catalogs: not yet)",
                         source=config.source, field="constellation.file", expected="constellation.builtin")
    if c.max_satellites is not None:
        raise InputError("thinning a constellation breaks its laser grid", source=config.source,
                         field="constellation.max_satellites", expected="no value for `placement run`")
    return _shells(config)


def demand_sites(config: Config) -> GroundNodes:
    d = config.demand
    if d.sites_file is not None:
        sites = ground_tables.demand_sites_from_table(
            config.resolve_path(d.sites_file), country=d.country or None, limit=d.limit, name_column=d.name_column,
            population_column=d.population_column or None)
        if d.sites:
            raise InputError("give sites either one by one or from a file, not both", source=config.source,
                             field="demand.sites", expected="demand.sites or demand.sites_file")
        return sites
    if not d.sites:
        raise InputError("no demand sites", source=config.source, field="demand.sites",
                         expected="[[demand.sites]] tables or demand.sites_file")
    return ground_tables.demand_sites([s.lat_deg for s in d.sites], [s.lon_deg for s in d.sites],
                                      names=[s.name for s in d.sites], country=[s.country for s in d.sites])


def _workloads(config: Config, sites: GroundNodes) -> list[Workload]:
    if not config.workloads:
        raise InputError("no workloads", source=config.source, field="workloads", expected="[[workloads]] tables")
    index = {name: i for i, name in enumerate(sites.name)}
    out = []
    for i, w in enumerate(config.workloads):
        unknown = [s for s in w.sites if s not in index]
        if unknown:
            raise InputError(f"unknown site {unknown[0]!r}", source=config.source, field=f"workloads[{i}].sites",
                             expected="names of demand sites")
        out.append(Workload(w.model, w.rate_per_s, w.slo_ms, tuple(index[s] for s in w.sites) if w.sites else None,
                            tuple(w.allowed_jurisdictions) or None))
    return out


def placement_problem(config: Config, progress: Progress = _stderr_progress) -> PlacementProblem:
    """Constellation -> network snapshots at every epoch -> the placement problem of `config`."""
    shells = _builtin_shells(config)
    elements, _ = load_constellation(config)
    t, pc = config.time, config.problem
    start_jd, start_fr = parse_utc(t.start, field="time.start", source=config.source)
    n_epochs = max(1, int(t.duration_h * 3600.0 // pc.epoch_s))
    grid = TimeGrid(start_jd, start_fr, pc.epoch_s, n_epochs)
    sites = demand_sites(config)
    workloads = _workloads(config, sites)
    clouds = ground_tables.cloud_regions(None if config.network.cloud_provider == "all" else config.network.cloud_provider)
    gateways = ground_tables.gateways()
    ground = Ground.from_nodes(sites, gateways, ground_tables.pops(), clouds, config.network.fiber_route_factor)
    n = config.network
    site_link = {"ku-terminal": KU_USER_DOWNLINK, "direct-to-cell": DIRECT_TO_CELL}[n.site_link]
    spec = NetworkSpec(site_slots=n.site_slots, gateway_slots=n.gateway_slots, site_link=site_link,
                       site_min_elevation_deg=n.site_min_elevation_deg,
                       gateway_min_elevation_deg=n.gateway_min_elevation_deg, laser_capacity_gbps=n.laser_capacity_gbps)
    progress(f"network: {len(elements)} satellites, {len(sites.name)} sites, {len(gateways.name)} gateways, "
             f"{len(clouds.name)} cloud regions, {n_epochs} epochs of {pc.epoch_s:g} s")
    propagator = Propagator.create(elements, np.dtype(config.propagation.precision))
    tensors = build_network(propagator, grid_shells(shells), grid, ground, spec,
                            chunk_steps=min(n_epochs, config.propagation.chunk_steps))
    jd, fr = grid.jd_fr()
    cos_gmst, sin_gmst = earth_rotation(jd, fr)
    sunlit = np.asarray(_earth_fixed_and_sunlight(propagator.grid(grid).r_km, cos_gmst, sin_gmst,
                                                  sun_position_km(jd, fr))[3], dtype=np.float64)
    h = config.hosts
    profiles = catalog.host_profiles()
    for field in ("satellite_profile", "gateway_profile", "cloud_profile"):
        if getattr(h, field) not in profiles:
            raise InputError(f"unknown profile {getattr(h, field)!r}", source=config.source, field=f"hosts.{field}",
                             expected="one of " + ", ".join(sorted(profiles)))
    hosts = HostOptions(profiles[h.satellite_profile], profiles[h.gateway_profile], profiles[h.cloud_profile],
                        catalog.satellite_power(), satellite_jurisdiction=h.satellite_jurisdiction,
                        satellite_link_gbps=h.satellite_link_gbps, gateway_link_gbps=h.gateway_link_gbps,
                        cloud_link_gbps=h.cloud_link_gbps, terminals_per_site=h.terminals_per_site,
                        opening_cost=(h.opening_cost_satellite, h.opening_cost_gateway, h.opening_cost_cloud))
    names = sorted({w.model for w in config.workloads})
    try:
        models = catalog.models(names)
    except InputError as error:
        raise InputError(str(error), source=config.source, field="workloads.model",
                         expected="models of placement/problem/data/models.csv") from None
    return build_problem(tensors, np.arange(n_epochs), pc.epoch_s, sunlit, sites, gateways, clouds, models,
                         workloads, hosts, gateway_slots=pc.gateway_candidates, cloud_slots=pc.cloud_candidates,
                         unserved_penalty_ms=None if pc.serve_all else pc.unserved_penalty_ms,
                         placement=pc.placement, migration_cost_per_gb=pc.migration_cost_per_gb,
                         single_source=pc.single_source)


def solve_strategy(name: str, problem: PlacementProblem, config: Config, lp_bound: float | None = None) -> SolveResult:
    """One strategy's result; a heuristic's carries `lp_bound` as its dual bound (a certified gap)."""
    s = config.solver
    if name == "milp":
        hint = None if s.warm_start == "none" else SOLVERS[s.warm_start](problem, seed=config.seed).solution
        return milp.solve(problem, milp.MilpOptions(solver=s.milp_solver, time_limit_s=s.time_limit_s,
                                                    relative_gap=s.relative_gap), hint=hint, seed=config.seed)
    result = SOLVERS[name](problem, seed=config.seed)
    return result if lp_bound is None else dataclasses.replace(result, dual_bound=lp_bound)


def lp_bound(problem: PlacementProblem, config: Config) -> float | None:
    """The LP relaxation's bound within the MILP's time limit (None if it does not finish)."""
    relaxed = milp.solve(problem, milp.MilpOptions(solver=config.solver.milp_solver, relax=True,
                                                   time_limit_s=config.solver.time_limit_s))
    return relaxed.dual_bound if np.isfinite(relaxed.dual_bound) else None


def run(config: Config, out_dir: str | Path, *, overwrite: bool = False,
        progress: Progress = _stderr_progress) -> dict:
    """The main job: build the placement problem of `config`, solve it with every configured strategy, score
    each with the evaluator and write a run directory (metrics.json, demands.csv, hosts.csv)."""
    started = time.perf_counter()
    problem = placement_problem(config, progress)
    build_s = time.perf_counter() - started
    progress(f"problem: {problem.size} (hosts x demands x models x epochs), {int(problem.usable_slots().sum())} "
             f"candidate slots, built in {build_s:.1f} s")
    heuristics = [name for name in config.solver.strategies if name != "milp"]
    bound = lp_bound(problem, config) if config.solver.certify and heuristics else None
    strategies = {}
    for name in config.solver.strategies:
        result = solve_strategy(name, problem, config, bound)
        report = evaluate(problem, result.solution) if result.solution is not None else None
        strategies[name] = (result, report)
        progress(f"solve: {name}: {result.status.value} in {result.solve_seconds:.2f} s")
    metrics = {
        "problem": {"size": problem.size, "hosts": problem.n_hosts, "demands": problem.n_demands,
                    "models": problem.n_models, "epochs": problem.n_epochs, "build_seconds": build_s},
        "lp_bound": bound,
        "strategies": {name: {"status": r.status.value, "solver_objective": r.objective, "dual_bound": r.dual_bound,
                              "gap": r.gap,
                              "solve_seconds": r.solve_seconds, "build_seconds": r.build_seconds, "message": r.message,
                              **(e.summary() if e is not None else {}),
                              **(_request_shares(problem, r.solution) if r.solution is not None else {})}
                       for name, (r, e) in strategies.items()},
        "seed": config.seed,
        "job_seconds": time.perf_counter() - started,
    }
    with run_directory(out_dir, overwrite=overwrite) as staging:
        write_json(staging / "config.json", config_to_dict(config))
        write_json(staging / "environment.json", environment())
        write_json(staging / "metrics.json", metrics)
        _write_demands(staging / "demands.csv", problem, strategies)
        _write_hosts(staging / "hosts.csv", problem, strategies)
    return metrics


def _request_shares(problem: PlacementProblem, solution: Solution) -> dict:
    """Share of all requests served by each host kind."""
    served = problem.requests()[:, :, None] * solution.assignment
    kind = problem.host_kind[np.maximum(problem.candidate_host, 0)]
    total = problem.requests().sum()
    return {f"share_{name}": float(served[kind == code].sum() / total) if total > 0 else 0.0
            for code, name in enumerate(HOST_KINDS)}


def _write_demands(path: Path, problem: PlacementProblem, strategies: dict) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["strategy", "demand", "model", "site", "requests", "mean_latency_ms", "p95_latency_ms",
                      "slo_ms", "slo_attainment", "unserved_share"])
        requests = problem.requests().sum(axis=0)
        for name, (_, e) in strategies.items():
            if e is None:
                continue
            for d in range(problem.n_demands):
                out.writerow([name, problem.demand_name[d], problem.model_name[problem.demand_model[d]],
                              problem.site_name[problem.demand_site[d]], f"{requests[d]:.6g}",
                              f"{e.demand_mean_latency_ms[d]:.6g}", f"{e.demand_p95_latency_ms[d]:.6g}",
                              f"{problem.slo_ms[d]:g}", f"{e.demand_slo_attainment[d]:.6g}",
                              f"{e.demand_unserved_share[d]:.6g}"])


def _write_hosts(path: Path, problem: PlacementProblem, strategies: dict) -> None:
    """Every host a strategy uses: its peak compute, power and link utilization over the epochs."""
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["strategy", "host", "kind", "copies", "max_compute_utilization", "max_power_w",
                      "power_budget_w_min", "max_memory_utilization", "max_link_utilization"])
        for name, (r, e) in strategies.items():
            if e is None:
                continue
            copies = r.solution.placement.sum(axis=(0, 1))
            for h in np.flatnonzero(copies):
                out.writerow([name, problem.host_name[h], HOST_KINDS[problem.host_kind[h]], int(copies[h]),
                              f"{e.compute_utilization[:, h].max():.6g}", f"{e.power_w[:, h].max():.6g}",
                              f"{problem.power_budget_w[:, h].min():.6g}", f"{e.memory_utilization[:, h].max():.6g}",
                              f"{e.link_utilization[:, h].max():.6g}"])


def summary_table(metrics: dict) -> str:
    rows = [{"strategy": name, "status": m["status"], "mean_ms": m.get("mean_latency_ms"),
             "p95_ms": m.get("p95_latency_ms"), "slo": m.get("slo_attainment"),
             "unserved": m.get("unserved_share"), "in_orbit": m.get("share_satellite"),
             "gateway": m.get("share_gateway"), "cloud": m.get("share_cloud"), "gap": m["gap"],
             "solve_s": m["solve_seconds"]}
            for name, m in metrics["strategies"].items()]
    return format_table(rows, list(rows[0]) if rows else None)
