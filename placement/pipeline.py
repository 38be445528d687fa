"""Jobs that run a config end to end and write a run directory.

`propagate(config, out_dir)`: constellation -> SGP4 over the time grid, streamed in chunks ->
Earth-fixed geodetic positions and sunlight -> arrays on disk (.npy, [sat, time, ...]) plus a
summary. Arrays are written chunk by chunk into memory-mapped files, so a horizon larger than
memory (10,000 satellites for a week) needs only one chunk in memory at a time.
"""

from __future__ import annotations

import dataclasses
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
from placement.network.isl import grid_shells, infer_plus_grid
from placement.network.links import DIRECT_TO_CELL, KU_USER_DOWNLINK
from placement.network.tensors import Ground, NetworkSpec, build_network
from placement import plots
from placement.problem import HOST_KINDS, SATELLITE, PlacementProblem, Solution, SolveResult
from placement.problem import catalog
from placement.problem.build import JURISDICTION_GROUPS, HostOptions, Workload, build_problem
from placement import solvers
from placement.solvers.options import MilpOptions
from placement.propagation.frames import earth_rotation, ecef_to_geodetic, teme_to_ecef
from placement.propagation.sgp4 import Propagator
from placement.propagation.sun import shadow_fraction, sun_position_km
from placement.propagation.timegrid import TimeGrid, parse_utc
from placement.progress import Reporter, Stage
from placement.results import environment, format_table, load_run, run_directory, write_json, write_table

Progress = Callable[[str], None]


_stderr_progress = Reporter()  # lines on stderr; `run` draws its solve stage as a bar on a terminal


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


def laser_grid(config: Config, propagator: Propagator, grid: TimeGrid) -> tuple | np.ndarray:
    """The +Grid the network routes over: a built-in constellation's own Walker grid (isl.grid_shells, which
    needs every satellite), or for a catalog file the grid inferred from the satellites' orbits at the first
    epoch (isl.infer_plus_grid: neighbour slots [sat, 4])."""
    c = config.constellation
    if c.builtin is not None:
        if c.max_satellites is not None:
            raise InputError("thinning a built-in constellation breaks its laser grid", source=config.source,
                             field="constellation.max_satellites", expected="no value for `placement run`")
        return grid_shells(_shells(config))
    elements = propagator.elements
    first = propagator.tsince(grid.tsince_min(elements)[:, :1])
    return infer_plus_grid(np.degrees(elements.inclo), elements.mean_altitude_km(),
                           np.asarray(first.r_km, np.float64)[:, 0], np.asarray(first.v_km_s, np.float64)[:, 0])


# User terminal elevation masks in the filings (../shared/reference/constellation_shells.csv): Starlink Gen1
# 25 deg (FCC SAT-MOD-20181108-00083), Kuiper 35 deg (FCC SAT-LOA-20190704-00057). A comparison of the two
# keeps each system's own mask unless network.site_min_elevation_deg says otherwise.
FILED_SITE_MIN_ELEVATION_DEG = {"starlink-gen1": 25.0, "kuiper": 35.0}
DEFAULT_SITE_MIN_ELEVATION_DEG = 25.0


def site_min_elevation_deg(config: Config) -> float:
    """The user terminals' elevation mask: the configured one, else the built-in constellation's filed one."""
    if config.network.site_min_elevation_deg is not None:
        return config.network.site_min_elevation_deg
    builtin = (config.constellation.builtin or "").strip().lower()
    return FILED_SITE_MIN_ELEVATION_DEG.get(builtin, DEFAULT_SITE_MIN_ELEVATION_DEG)


def demand_sites(config: Config) -> GroundNodes:
    """The demand sites of `config` (see `sites_and_units`)."""
    return sites_and_units(config)[0]


def sites_and_units(config: Config) -> tuple[GroundNodes, np.ndarray]:
    """The demand sites (names made unique: place names repeat) and the demand units [site] each stands for.

    From `demand.sites_file`: rows kept by `filter_column`, minus `exclude`, ranked by population, cut to
    `limit`; `demand.units` are then spread over them (`_spread_units`) and a site left with none is dropped.
    """
    d = config.demand
    if d.sites_file is not None:
        if d.sites:
            raise InputError("give sites either one by one or from a file, not both", source=config.source,
                             field="demand.sites", expected="demand.sites or demand.sites_file")
        sites, population = ground_tables.demand_sites_from_table(
            config.resolve_path(d.sites_file), country=d.country or None, name_column=d.name_column,
            population_column=d.population_column or None, return_population=True,
            where={d.filter_column: set(d.filter_values)} if d.filter_column else None)
        unmatched = sorted(set(d.exclude) - set(sites.name))
        if unmatched:
            raise InputError(f"no site {unmatched[0]!r} in {d.sites_file}", source=config.source,
                             field="demand.exclude", expected="names of rows of demand.sites_file")
        keep = np.flatnonzero([name not in d.exclude for name in sites.name])[:d.limit]
        sites, population = sites.take(keep), population[keep]
        units = _spread_units(config, population) if d.units is not None else np.ones(len(sites), int)
    else:
        if not d.sites:
            raise InputError("no demand sites", source=config.source, field="demand.sites",
                             expected="[[demand.sites]] tables or demand.sites_file")
        if d.units is not None:
            raise InputError("demand.units spreads units over the sites of a file", source=config.source,
                             field="demand.units", expected="demand.sites_file, or `units` in each [[demand.sites]]")
        sites = ground_tables.demand_sites([s.lat_deg for s in d.sites], [s.lon_deg for s in d.sites],
                                           names=[s.name for s in d.sites], country=[s.country for s in d.sites])
        units = np.array([s.units for s in d.sites])
    sites, units = sites.take(units > 0), units[units > 0]
    if not len(sites):
        raise InputError("no demand sites left", source=config.source, field="demand",
                         expected="filter_values, exclude and limit that keep some rows of demand.sites_file")
    seen: dict[str, int] = {}
    names = []
    for name in sites.name:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return dataclasses.replace(sites, name=tuple(names)), units


def _spread_units(config: Config, population: np.ndarray) -> np.ndarray:
    """`demand.units` over the sites: `units_min_per_site` each, the rest in proportion to population
    (equal weights without a population column), rounded by largest remainder so they add up exactly."""
    d = config.demand
    spare = d.units - d.units_min_per_site * len(population)
    if spare < 0:
        raise InputError(f"{d.units} units cannot give {len(population)} sites {d.units_min_per_site} each",
                         source=config.source, field="demand.units",
                         expected=f"at least units_min_per_site x sites = {d.units_min_per_site * len(population)}")
    weight = population if d.population_column and population.sum() > 0 else np.ones(len(population))
    share = spare * weight / max(weight.sum(), 1.0)
    units = np.floor(share).astype(int)
    units[np.argsort(-(share - units), kind="stable")[:spare - units.sum()]] += 1
    return units + d.units_min_per_site


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
        bad = [j for j in w.allowed_jurisdictions
               if j not in JURISDICTION_GROUPS and not (len(j) == 2 and j.isascii() and j.isalpha() and j.isupper())]
        if bad:
            raise InputError(f"unknown jurisdiction {bad[0]!r}", source=config.source,
                             field=f"workloads[{i}].allowed_jurisdictions",
                             expected="ISO 3166-1 alpha-2 codes or one of " + ", ".join(JURISDICTION_GROUPS))
        allowed = tuple(w.allowed_jurisdictions) if config.problem.enforce_jurisdictions else ()
        out.append(Workload(w.model, w.rate_per_s, w.slo_ms, tuple(index[s] for s in w.sites) if w.sites else None,
                            allowed or None))
    return out


def _host_profile(config: Config, name: str, field: str) -> catalog.HostProfile:
    profiles = catalog.host_profiles()
    if name not in profiles:
        raise InputError(f"unknown profile {name!r}", source=config.source, field=field,
                         expected="one of " + ", ".join(sorted(profiles)))
    return profiles[name]


def ground_segment(config: Config) -> tuple[GroundNodes, GroundNodes, np.ndarray]:
    """The gateways (shipped, then network.extra_gateways), the points of presence (shipped, then
    network.extra_pops) and the PoP each gateway reaches fiber at [gateway] (-1: none, reached only through
    the satellites)."""
    n = config.network
    gateways, pops = ground_tables.gateways(), ground_tables.pops()
    if n.extra_pops:
        pops = pops.concatenate(GroundNodes(tuple(p.name for p in n.extra_pops), ("pop",) * len(n.extra_pops),
                                            [p.lat_deg for p in n.extra_pops], [p.lon_deg for p in n.extra_pops],
                                            None, tuple(p.country for p in n.extra_pops)))
    extra = GroundNodes(tuple(g.name for g in n.extra_gateways), ("gateway",) * len(n.extra_gateways),
                        [g.lat_deg for g in n.extra_gateways], [g.lon_deg for g in n.extra_gateways],
                        None, tuple(g.country for g in n.extra_gateways))
    gateways = gateways.concatenate(extra)
    for name in {name for name in gateways.name if gateways.name.count(name) > 1}:
        raise InputError(f"gateway {name!r} named twice", source=config.source, field="network.extra_gateways",
                         expected="names not used by placement/network/data/gateways.csv or each other")
    attach = ground_tables.nearest(gateways, pops)
    first = len(gateways) - len(extra)
    for i, g in enumerate(n.extra_gateways):
        if g.pop == "none":
            attach[first + i] = -1
        elif g.pop:
            if g.pop not in pops.name:
                raise InputError(f"unknown point of presence {g.pop!r}", source=config.source,
                                 field=f"network.extra_gateways[{i}].pop",
                                 expected="'', 'none' or a name from placement/network/data/pops.csv or "
                                          "network.extra_pops")
            attach[first + i] = pops.name.index(g.pop)
    return gateways, pops, attach


def _ground(config: Config, sites: GroundNodes, gateways: GroundNodes, pops: GroundNodes, clouds: GroundNodes,
            attach: np.ndarray) -> Ground:
    """The network's ground arrays with each gateway at its PoP (`attach`); a gateway without fiber (-1) gets an
    infinite fiber latency, so no route to a cloud region goes through it."""
    ground = Ground.from_nodes(sites, gateways, pops, clouds, config.network.fiber_route_factor)
    at = np.maximum(attach, 0)
    fiber_ms = ground_tables.fiber_latency_ms(
        ground_tables.great_circle_km(gateways.lat_deg, gateways.lon_deg, pops.lat_deg[at], pops.lon_deg[at]),
        config.network.fiber_route_factor)
    return dataclasses.replace(ground, gateway_pop=jnp.asarray(at),
                               gateway_pop_ms=jnp.asarray(np.where(attach >= 0, fiber_ms, np.inf)))


def _host_options(config: Config, n_gateways: int) -> HostOptions:
    """Hardware, links, jurisdiction and prices of the hosts; network.extra_gateways (the last gateways) may
    bring their own profile and link."""
    h = config.hosts
    satellite, gateway, cloud = (_host_profile(config, getattr(h, field), f"hosts.{field}")
                                 for field in ("satellite_profile", "gateway_profile", "cloud_profile"))
    extra = config.network.extra_gateways
    profiles, links = (), ()
    if extra:
        shipped = n_gateways - len(extra)
        profiles = (gateway,) * shipped + tuple(
            _host_profile(config, g.profile, f"network.extra_gateways[{i}].profile") if g.profile else gateway
            for i, g in enumerate(extra))
        links = (h.gateway_link_gbps,) * shipped + tuple(
            h.gateway_link_gbps if g.link_gbps is None else g.link_gbps for g in extra)
    return HostOptions(satellite, gateway, cloud, catalog.satellite_power(),
                       satellite_jurisdiction=h.satellite_jurisdiction, satellite_link_gbps=h.satellite_link_gbps,
                       gateway_link_gbps=h.gateway_link_gbps, cloud_link_gbps=h.cloud_link_gbps,
                       terminals_per_site=h.terminals_per_site,
                       opening_cost=(h.opening_cost_satellite, h.opening_cost_gateway, h.opening_cost_cloud),
                       gateway_profiles=profiles, gateway_links_gbps=links)


def placement_problem(config: Config, progress: Progress = _stderr_progress) -> PlacementProblem:
    """Constellation -> network snapshots at every epoch -> the placement problem of `config`."""
    elements, _ = load_constellation(config)
    t, pc = config.time, config.problem
    start_jd, start_fr = parse_utc(t.start, field="time.start", source=config.source)
    n_epochs = max(1, int(t.duration_h * 3600.0 // pc.epoch_s))
    grid = TimeGrid(start_jd, start_fr, pc.epoch_s, n_epochs)
    sites, units = sites_and_units(config)
    workloads = _workloads(config, sites)
    clouds = ground_tables.cloud_regions(None if config.network.cloud_provider == "all" else config.network.cloud_provider)
    gateways, pops, attach = ground_segment(config)
    hosts = _host_options(config, len(gateways))
    ground = _ground(config, sites, gateways, pops, clouds, attach)
    n = config.network
    site_link = {"ku-terminal": KU_USER_DOWNLINK, "direct-to-cell": DIRECT_TO_CELL}[n.site_link]
    spec = NetworkSpec(site_slots=n.site_slots, gateway_slots=n.gateway_slots, site_link=site_link,
                       site_min_elevation_deg=site_min_elevation_deg(config),
                       gateway_min_elevation_deg=n.gateway_min_elevation_deg, laser_capacity_gbps=n.laser_capacity_gbps)
    progress(f"network: {len(elements)} satellites, {len(sites.name)} sites ({int(units.sum())} units), "
             f"{len(gateways.name)} gateways, {len(clouds.name)} cloud regions, {n_epochs} epochs of {pc.epoch_s:g} s")
    propagator = Propagator.create(elements, np.dtype(config.propagation.precision))
    chunk = min(n_epochs, config.propagation.chunk_steps)
    with Stage(progress, "network", -(-n_epochs // chunk)) as stage:
        tensors = build_network(propagator, laser_grid(config, propagator, grid), grid, ground, spec, chunk_steps=chunk,
                                on_chunk=lambda done, total: stage.done("epochs", f"{done}/{total}"))
    unreached = np.flatnonzero(~(np.asarray(tensors.site_sat) >= 0).any(axis=(0, 2)))
    if unreached.size:
        raise InputError(f"no satellite is above {spec.site_min_elevation_deg:g} deg at site "
                         f"{sites.name[unreached[0]]!r} in any epoch ({unreached.size} such sites)",
                         source=config.source, field="demand",
                         expected=f"sites that {config.constellation.builtin or 'the constellation'} covers (everything reaches them through "
                                  "the satellites)")
    jd, fr = grid.jd_fr()
    cos_gmst, sin_gmst = earth_rotation(jd, fr)
    sunlit = np.asarray(_earth_fixed_and_sunlight(propagator.grid(grid).r_km, cos_gmst, sin_gmst,
                                                  sun_position_km(jd, fr))[3], dtype=np.float64)
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
                         single_source=pc.single_source, site_units=units,
                         satellite_names=elements.name if len(set(elements.name)) == len(elements) else None)


def solve_strategy(name: str, problem: PlacementProblem, config: Config, lp_bound: float | None = None) -> SolveResult:
    """One strategy's result; a heuristic's carries the better of `lp_bound` and its own bound (the gradient
    heuristic's Lagrangian bound) as its dual bound, so its gap is certified."""
    s = config.solver
    if name == "milp":
        return solvers.solve(name, problem, MilpOptions(solver=s.milp_solver, time_limit_s=s.time_limit_s,
                                                        relative_gap=s.relative_gap, warm_start=s.warm_start),
                             seed=config.seed)
    result = solvers.solve(name, problem, seed=config.seed)
    if lp_bound is None or (np.isfinite(result.dual_bound) and result.dual_bound >= lp_bound):
        return result
    return dataclasses.replace(result, dual_bound=lp_bound)


def lp_bound(problem: PlacementProblem, config: Config) -> float | None:
    """The LP relaxation's bound within the MILP's time limit (None if it does not finish)."""
    relaxed = solvers.solve("milp", problem, MilpOptions(solver=config.solver.milp_solver, relax=True,
                                                         time_limit_s=config.solver.time_limit_s))
    return relaxed.dual_bound if np.isfinite(relaxed.dual_bound) else None


def run(config: Config, out_dir: str | Path, *, overwrite: bool = False,
        progress: Progress = _stderr_progress) -> dict:
    """The main job: build the placement problem of `config`, solve it with every configured strategy, score
    each with the evaluator and write a run directory: config.json, environment.json, metrics.json, the tables
    of `placement.results.RUN_TABLES` as Parquet and the figures of `placement.plots.run_plots` in plots/."""
    started = time.perf_counter()
    problem = placement_problem(config, progress)
    build_s = time.perf_counter() - started
    progress(f"problem: {problem.size} (hosts x demands x models x epochs), {int(problem.usable_slots().sum())} "
             f"candidate slots, built in {build_s:.1f} s")
    certify = config.solver.certify and any(name != "milp" for name in config.solver.strategies)
    strategies = {}
    with Stage(progress, "solve", len(config.solver.strategies) + certify) as stage:
        bound = None
        if certify:
            stage.start("lp_bound")
            bound = lp_bound(problem, config)
            stage.done("lp_bound", "none within the time limit" if bound is None else f"{bound:.6g}")
        for name in config.solver.strategies:
            stage.start(name)
            result = solve_strategy(name, problem, config, bound)
            report = evaluate(problem, result.solution) if result.solution is not None else None
            strategies[name] = (result, report)
            stage.done(name, f"{result.status.value} in {result.solve_seconds:.2f} s")
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
    tables = _tables(config, problem, {name: (r.solution, e) for name, (r, e) in strategies.items() if e is not None})
    with run_directory(out_dir, overwrite=overwrite) as staging:
        write_json(staging / "config.json", config_to_dict(config))
        # The config file's path: relative paths in config.json (sites_file) resolve from its folder.
        write_json(staging / "environment.json", {**environment(), "config_source": config.source})
        write_json(staging / "metrics.json", metrics)
        for name, columns in tables.items():
            write_table(staging / f"{name}.parquet", columns)
        plots_started = time.perf_counter()
        figures = plots.run_plots(load_run(staging, label=Path(out_dir).name), staging / "plots")
        progress(f"plots: {len(figures)} figures in {time.perf_counter() - plots_started:.1f} s")
    return metrics


def _request_shares(problem: PlacementProblem, solution: Solution) -> dict:
    """Share of all requests served by each host kind."""
    served = problem.requests()[:, :, None] * solution.assignment
    kind = problem.host_kind[np.maximum(problem.candidate_host, 0)]
    total = problem.requests().sum()
    return {f"share_{name}": float(served[kind == code].sum() / total) if total > 0 else 0.0
            for code, name in enumerate(HOST_KINDS)}


def _tables(config: Config, problem: PlacementProblem, solved: dict) -> dict[str, dict]:
    """The run's tables (`placement.results.RUN_TABLES`) as named columns; `solved`: strategy -> (solution,
    evaluation) for every strategy that returned a solution."""
    satellites = np.flatnonzero((problem.host_kind == SATELLITE)
                                & np.any([s.placement.any(axis=(0, 1)) for s, _ in solved.values()], axis=0))
    tracks = _satellite_tracks(config, problem, satellites)
    lat, lon, sunlit = _host_positions(config, problem, satellites, tracks)
    return {"demands": _demands_table(config, problem, solved),
            "hosts": _hosts_table(problem, solved, lat, lon, sunlit),
            "assignments": _assignments_table(problem, solved, sunlit),
            "tracks": {"satellite": [problem.host_name[h] for h in satellites for _ in tracks["time_min"]],
                       "time_min": np.tile(tracks["time_min"], len(satellites)),
                       **{c: tracks[c].ravel() for c in ("lat_deg", "lon_deg", "sunlit_fraction")}}}


def _satellite_tracks(config: Config, problem: PlacementProblem, satellites: np.ndarray) -> dict:
    """Latitude, longitude and sunlight [satellite, time] of `satellites` (host indices, which are satellite
    indices: satellites come first) over the placement horizon, at time.step_s or finer and at every epoch's
    start (time step `epoch x steps_per_epoch`)."""
    epoch_s = float(problem.epoch_s[0])  # the epochs of `placement_problem` are equal
    steps_per_epoch = max(1, int(np.ceil(epoch_s / config.time.step_s - 1e-9)))
    start_jd, start_fr = parse_utc(config.time.start, field="time.start", source=config.source)
    grid = TimeGrid(start_jd, start_fr, epoch_s / steps_per_epoch, problem.n_epochs * steps_per_epoch + 1)
    empty = np.zeros((len(satellites), grid.n_steps))
    tracks = {"time_min": grid.minutes(), "steps_per_epoch": steps_per_epoch,
              "lat_deg": empty, "lon_deg": empty, "sunlit_fraction": empty}
    if len(satellites):
        elements, _ = load_constellation(config)
        propagator = Propagator.create(elements.take(satellites), np.dtype(config.propagation.precision))
        jd, fr = grid.jd_fr()
        cos_gmst, sin_gmst = earth_rotation(jd, fr)
        lat, lon, _, sunlit = _earth_fixed_and_sunlight(propagator.grid(grid).r_km, cos_gmst, sin_gmst,
                                                        sun_position_km(jd, fr))
        tracks.update({"lat_deg": np.asarray(lat, np.float64), "lon_deg": np.asarray(lon, np.float64),
                       "sunlit_fraction": np.asarray(sunlit, np.float64)})
    return tracks


def _host_positions(config: Config, problem: PlacementProblem, satellites: np.ndarray, tracks: dict):
    """Latitude, longitude and sunlit fraction [epoch, host] at each epoch's start: satellites from their
    tracks (NaN for satellites no strategy uses), gateways (the config's too) and cloud regions by name from
    the ground segment (sunlit NaN)."""
    T, H = problem.n_epochs, problem.n_hosts
    lat, lon, sunlit = (np.full((T, H), np.nan) for _ in range(3))
    at_epochs = np.arange(T) * tracks["steps_per_epoch"]
    for out, column in ((lat, "lat_deg"), (lon, "lon_deg"), (sunlit, "sunlit_fraction")):
        out[:, satellites] = tracks[column][:, at_epochs].T
    ground = {}
    for nodes in (ground_segment(config)[0], ground_tables.cloud_regions()):
        ground.update(zip(nodes.name, zip(nodes.lat_deg, nodes.lon_deg)))
    for h in np.flatnonzero(problem.host_kind != SATELLITE):
        lat[:, h], lon[:, h] = ground.get(problem.host_name[h], (np.nan, np.nan))
    return lat, lon, sunlit


def _served(problem: PlacementProblem, solution: Solution) -> np.ndarray:
    """[epoch, demand, slot] requests served in each candidate slot."""
    return np.where(problem.candidate_host >= 0, problem.requests()[:, :, None] * solution.assignment, 0.0)


def _demands_table(config: Config, problem: PlacementProblem, solved: dict) -> dict:
    """Per strategy and demand: its site, the evaluator's latency figures and where its requests went."""
    sites = demand_sites(config)
    index = {name: i for i, name in enumerate(sites.name)}
    s = np.array([index[problem.site_name[j]] for j in problem.demand_site], int)
    requests = problem.requests().sum(axis=0)
    kind = problem.host_kind[np.maximum(problem.candidate_host, 0)]
    # Comma-separated codes; '' where every jurisdiction is allowed.
    allowed = ["" if row.all() else ",".join(j for j, ok in zip(problem.jurisdictions, row) if ok)
               for row in problem.allowed]
    parts = []
    for name, (solution, e) in solved.items():
        served = _served(problem, solution)
        parts.append({
            "strategy": [name] * problem.n_demands, "demand": problem.demand_name,
            "model": [problem.model_name[m] for m in problem.demand_model], "site": [sites.name[i] for i in s],
            "site_country": [sites.country[i] for i in s], "site_lat_deg": sites.lat_deg[s],
            "site_lon_deg": sites.lon_deg[s], "requests": requests, "slo_ms": problem.slo_ms,
            "allowed_jurisdictions": allowed,
            "mean_latency_ms": e.demand_mean_latency_ms, "p95_latency_ms": e.demand_p95_latency_ms,
            "slo_attainment": e.demand_slo_attainment, "unserved_share": e.demand_unserved_share,
            **{f"share_{k}": np.divide(np.where(kind == code, served, 0.0).sum(axis=(0, 2)), requests,
                                       out=np.zeros(problem.n_demands), where=requests > 0)
               for code, k in enumerate(HOST_KINDS)}})
    return _concatenate(parts, _DEMANDS_COLUMNS)


def _hosts_table(problem: PlacementProblem, solved: dict, lat: np.ndarray, lon: np.ndarray,
                 sunlit: np.ndarray) -> dict:
    """Per strategy, epoch and host holding a copy: position, copies, requests served and the load against
    every limit."""
    parts = []
    for name, (solution, e) in solved.items():
        copies = solution.placement.sum(axis=1)  # [epoch, host]
        requests = np.zeros((problem.n_epochs, problem.n_hosts))
        np.add.at(requests, (np.arange(problem.n_epochs)[:, None, None], np.maximum(problem.candidate_host, 0)),
                  _served(problem, solution))
        t, h = np.nonzero(copies)
        parts.append({
            "strategy": [name] * len(t), "epoch": t.astype(np.int32),
            "epoch_start_min": (np.cumsum(problem.epoch_s) - problem.epoch_s)[t] / 60.0,
            **_host_columns(problem, h), "lat_deg": lat[t, h], "lon_deg": lon[t, h],
            "copies": copies[t, h].astype(np.int32), "requests": requests[t, h],
            "compute_utilization": e.compute_utilization[t, h],
            "power_w": e.power_w[t, h], "power_budget_w": problem.power_budget_w[t, h],
            "memory_utilization": e.memory_utilization[t, h], "link_utilization": e.link_utilization[t, h],
            "sunlit_fraction": sunlit[t, h]})
    return _concatenate(parts, _HOSTS_COLUMNS)


def _assignments_table(problem: PlacementProblem, solved: dict, sunlit: np.ndarray) -> dict:
    """Per strategy, epoch, demand and serving host: the share and number of requests, their latency and the
    host's sunlit fraction (NaN on the ground)."""
    latency = problem.latency_ms()
    parts = []
    for name, (solution, _) in solved.items():
        served = _served(problem, solution)
        t, d, k = np.nonzero(served > 0)
        h = problem.candidate_host[t, d, k]
        parts.append({
            "strategy": [name] * len(t), "epoch": t.astype(np.int32), "demand": [problem.demand_name[i] for i in d],
            **_host_columns(problem, h), "share": solution.assignment[t, d, k], "requests": served[t, d, k],
            "latency_ms": latency[t, d, k], "slo_ms": problem.slo_ms[d], "sunlit_fraction": sunlit[t, h]})
    return _concatenate(parts, _ASSIGNMENTS_COLUMNS)


def _host_columns(problem: PlacementProblem, hosts: np.ndarray) -> dict:
    return {"host": [problem.host_name[h] for h in hosts],
            "host_kind": [HOST_KINDS[problem.host_kind[h]] for h in hosts],
            "host_jurisdiction": [problem.jurisdictions[problem.host_jurisdiction[h]] for h in hosts]}


# Column types of the per-strategy tables, so that a run where no strategy found a solution still writes them.
_DEMANDS_COLUMNS = {"strategy": str, "demand": str, "model": str, "site": str, "site_country": str,
                    "site_lat_deg": np.float64, "site_lon_deg": np.float64, "requests": np.float64,
                    "slo_ms": np.float64, "allowed_jurisdictions": str, "mean_latency_ms": np.float64,
                    "p95_latency_ms": np.float64, "slo_attainment": np.float64, "unserved_share": np.float64,
                    **{f"share_{k}": np.float64 for k in HOST_KINDS}}
_HOSTS_COLUMNS = {"strategy": str, "epoch": np.int32, "epoch_start_min": np.float64, "host": str, "host_kind": str,
                  "host_jurisdiction": str, "lat_deg": np.float64, "lon_deg": np.float64, "copies": np.int32,
                  "requests": np.float64,
                  "compute_utilization": np.float64, "power_w": np.float64, "power_budget_w": np.float64,
                  "memory_utilization": np.float64, "link_utilization": np.float64, "sunlit_fraction": np.float64}
_ASSIGNMENTS_COLUMNS = {"strategy": str, "epoch": np.int32, "demand": str, "host": str, "host_kind": str,
                        "host_jurisdiction": str, "share": np.float64, "requests": np.float64,
                        "latency_ms": np.float64, "slo_ms": np.float64, "sunlit_fraction": np.float64}


def _concatenate(parts: list[dict], types: dict) -> dict:
    """Columns of every part, one after another, typed as `types` (lists of str stay lists)."""
    return {c: [v for p in parts for v in p[c]] if t is str else
            np.concatenate([np.asarray(p[c], t) for p in parts] or [np.zeros(0, t)]) for c, t in types.items()}


def summary_table(metrics: dict) -> str:
    rows = [{"strategy": name, "status": m["status"], "mean_ms": m.get("mean_latency_ms"),
             "p95_ms": m.get("p95_latency_ms"), "slo": m.get("slo_attainment"),
             "unserved": m.get("unserved_share"), "in_orbit": m.get("share_satellite"),
             "gateway": m.get("share_gateway"), "cloud": m.get("share_cloud"), "gap": m["gap"],
             "solve_s": m["solve_seconds"]}
            for name, m in metrics["strategies"].items()]
    return format_table(rows, list(rows[0]) if rows else None)
