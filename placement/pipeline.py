"""The jobs, each its stages in order: `run(scenario, out_dir)` and `propagate(job, out_dir)`.

run:
  1. claim the run directory (an existing one is refused before anything is computed);
  2. propagate the satellites once over the horizon's network steps (`Orbits`: Earth-fixed positions and
     sunlight), which the network, the power model and the tables all read;
  3. the network at every step (each site's access satellite, the satellite hosts around it, gateways and
     cloud regions), folded per placement epoch into candidates with their latency and availability;
  4. the placement problem (hosts, models, demands, candidates, limits per epoch), and the share of its
     requests any placement can serve within their SLO (`placement.problem.slo`), printed and kept;
  5. every strategy of the scenario, each scored by the independent evaluator;
  6. the run directory: config.json (when the scenario came from a config), environment.json, metrics.json,
     the tables of `placement.results.RUN_TABLES`, the figures of `placement.plots.run_plots` and report.html
     (`placement.results.report`), each of the last two unless left out (--no-plots, --no-report).

Stages 2-4 are `prepare(scenario)`; `placement_problem(scenario)` is the problem alone, which is how the
library, the benchmarks and the tests go from a Scenario to a PlacementProblem.

propagate: SGP4 over the time grid, streamed in chunks, each chunk's positions, Earth-fixed tracks and
sunlight written into memory-mapped .npy files, so a horizon larger than memory needs one chunk at a time.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

import jax
import numpy as np

from placement import plots, solvers
from placement.constellation.tle import write_tle
from placement.errors import InputError
from placement.evaluation import Evaluation, evaluate
from placement.evaluation.bulk import bulk_demands, bulk_report
from placement.evaluation.money import money_summary
from placement.evaluation.transit import path_violations
from placement.failures import impact as failure_impact
from placement.failures import reserve as failure_reserve
from placement.network.isl import constellation_lasers
from placement.network.tensors import NetworkTensors, build_network
from placement.network.transit import TransitGroup, TransitNetwork, transit_network
from placement.network.weather import mask_fade_text
from placement.problem import PlacementProblem, Solution, SolveResult
from placement.problem.build import (build_problem, cover, demand_networks, demand_transit_groups, outage_share,
                                     slot_p95_rtt_ms, transit_group)
from placement.problem.shared_links import with_network_links
from placement.problem.shortfalls import explain_infeasible
from placement.problem.slo import slo_reach
from placement.progress import LOG, Reporter, Stage
from placement.propagation.frames import ecef_to_geodetic
from placement.propagation.orbits import Orbits, orbit_chunks, propagate_orbits
from placement.propagation.sgp4 import Propagator
from placement.results import analysis, environment, format_table, run_directory, write_json, write_table
from placement.results.paths import PATHS_COLUMNS, paths_table
from placement.results.report import write_html_report
from placement.results.tables import concatenate_columns, request_shares, run_tables
from placement.scenario import PropagationJob, Scenario

Progress = Callable[[str], None]

_stderr_progress = Reporter()  # INFO records; `run` draws its solve stage as a bar on a terminal


def _quiet(message: str) -> None:
    pass


def enable_float64() -> None:
    """Let JAX hold float64 arrays (it demotes them to float32 otherwise): the propagation and network run in
    the precision a scenario asks for, and the reference precision is float64. Called by the jobs and the
    command line, not on import."""
    jax.config.update("jax_enable_x64", True)


@dataclasses.dataclass(frozen=True, eq=False)
class Prepared:
    """What stages 2-4 computed: the one propagation, the network at each epoch and the placement problem."""

    orbits: Orbits
    lasers: tuple | np.ndarray  # the laser graph the network was routed on (isl.constellation_lasers)
    network: NetworkTensors  # [epoch, ...]
    problem: PlacementProblem  # of the requests issued while their site is covered (problem.build.cover)
    outage_share: float = 0.0  # of the issued requests: while their site had no access satellite
    # the network of each transit rule's demands (network.transit), when a workload has one
    transit: dict[TransitGroup, TransitNetwork] = dataclasses.field(default_factory=dict)


def prepare(scenario: Scenario, progress: Progress = _quiet) -> Prepared:
    """Propagation -> network over every step, folded per epoch -> the placement problem of `scenario`."""
    enable_float64()
    c, h, d = scenario.constellation, scenario.horizon, scenario.demand
    steps = h.steps()
    _report_rejected(c.rejected_records, c.label, progress)
    progress(f"network: {len(c.elements)} satellites, {len(d.sites)} sites ({int(d.site_units.sum())} units), "
             f"{len(scenario.ground.gateways)} gateways, {len(scenario.ground.clouds)} cloud regions, "
             f"{h.n_epochs} epochs of {h.epoch_s:g} s in steps of {h.step_s:g} s")
    with Stage(progress, "propagation", -(-steps.n_steps // scenario.chunk_steps)) as stage:
        orbits = propagate_orbits(c.elements, steps, np.dtype(scenario.precision), scenario.chunk_steps,
                                  on_chunk=lambda done, total: stage.done("steps", f"{done}/{total}"))
    return prepare_on(scenario, orbits, constellation_lasers(c.elements, c.shells, steps, c.lasers), progress)


def prepare_on(scenario: Scenario, orbits: Orbits, lasers: tuple | np.ndarray, progress: Progress = _quiet,
               network: NetworkTensors | None = None) -> Prepared:
    """Stages 3-4 of `scenario` on a given propagation and laser graph (`placement.failures` gives them
    without the failed satellites and lasers); stage 4 alone on `network` if given (built on them)."""
    c, h, d = scenario.constellation, scenario.horizon, scenario.demand
    chunk = max(1, min(h.n_epochs, scenario.chunk_steps // h.steps_per_epoch))
    if scenario.weather is not None:
        progress(mask_fade_text(scenario.weather_summary()))
    if network is None:
        with Stage(progress, "network", -(-h.n_epochs // chunk)) as stage:
            # the steps inside the epochs only: with one step per epoch the horizon's end would make one more
            network = build_network(orbits.r_ecef_km[:, :h.n_steps], lasers, scenario.network_ground(),
                                    scenario.network, steps_per_epoch=h.steps_per_epoch, step_s=h.step_s,
                                    chunk_epochs=chunk,
                                    on_chunk=lambda done, total: stage.done("epochs", f"{done}/{total}"))
    if network.uncertified:
        progress(f"network: {network.uncertified} satellite-host latencies over lasers are upper bounds (a shorter "
                 "path may leave the routing window; network.windows)")
    unreached = np.flatnonzero(~(network.site_up_gbps > 0).any(axis=0))
    if unreached.size == len(d.sites):
        raise InputError(f"no satellite is in reach of any site at any step ({len(d.sites)} sites)",
                         source=scenario.name, field="demand",
                         expected=f"sites that {c.label} covers (everything reaches them through the satellites)")
    if unreached.size:  # a partial deployment: answered for the sites it covers, the others an outage
        names = ", ".join(repr(d.sites.name[i]) for i in unreached[:5])
        progress(f"coverage: no satellite is in reach of {unreached.size} of {len(d.sites)} sites at any step "
                 f"({names}{', ...' if unreached.size > 5 else ''}): all their requests are an outage")
    transit = _transit_networks(scenario, orbits, lasers, chunk, progress)
    issued = build_problem(network, np.full(h.n_epochs, h.epoch_s), epoch_sunlight(orbits.sunlit_fraction, h),
                           d.sites, scenario.ground.gateways, scenario.ground.clouds, d.models, d.workloads,
                           scenario.hosts, scenario.problem, site_units=d.site_units,
                           satellite_names=c.satellite_names, covered=False, epoch_utc_h=h.epoch_utc_h(),
                           transit=transit)
    problem = cover(issued, network.site_coverage)
    if scenario.network.link_rows:
        started = time.perf_counter()
        problem = with_network_links(problem, orbits.r_ecef_km[:, :h.n_steps], lasers, scenario.ground.arrays(d.sites),
                                     scenario.network, network.access_sat, h.steps_per_epoch,
                                     {"gateway": scenario.ground.gateways, "pop": scenario.ground.pops,
                                      "cloud": scenario.ground.clouds})
        progress(f"links: {problem.n_links} shared links on the candidates' paths, traced in "
                 f"{time.perf_counter() - started:.1f} s")
    outage = outage_share(issued, problem)
    if outage > 0:
        gaps = int((network.site_coverage < 1).any(axis=0).sum())
        progress(f"coverage: {outage:.2%} of the requests are issued while their site sees no satellite ({gaps} "
                 f"sites have gaps); no placement serves them, and the problem leaves them out")
    return Prepared(orbits, lasers, network, problem, outage, transit)


def _transit_networks(scenario: Scenario, orbits: Orbits, lasers, chunk_epochs: int,
                      progress: Progress) -> dict[TransitGroup, TransitNetwork]:
    """The network of each transit group of the workloads, as restricted as its rule asks."""
    h, ground = scenario.horizon, scenario.ground
    groups = dict.fromkeys(g for w in scenario.demand.workloads
                           if (g := transit_group(w, scenario.problem)) is not None)
    out = {}
    for group in groups:
        with Stage(progress, f"network ({group.rule} in {len(group.allowed)} countries)",
                   -(-h.n_epochs // chunk_epochs)) as stage:
            out[group] = transit_network(group, orbits.r_ecef_km[:, :h.n_steps], lasers,
                                         scenario.network_ground(), ground.gateways.country,
                                         ground.pops.country, ground.clouds.country, scenario.network,
                                         steps_per_epoch=h.steps_per_epoch, step_s=h.step_s,
                                         chunk_epochs=chunk_epochs,
                                         on_chunk=lambda done, total: stage.done("epochs", f"{done}/{total}"))
    return out


def _report_rejected(count: int, label: str, progress: Progress) -> None:
    """Skipped records (constellation.skip_bad_records) are said, not only counted in the results."""
    if count:
        progress(f"constellation: {count} malformed or repeated records of {label} skipped (skip_bad_records; "
                 "rejected_records in the results)")


def _report_warnings(warnings: tuple[str, ...]) -> None:
    """What the scenario's resolution found doubtful is said before the work (and recorded in the results), as
    warnings: shown even with -q."""
    for warning in warnings:
        LOG.warning(warning)


def epoch_sunlight(sunlit_fraction: np.ndarray, horizon) -> np.ndarray:
    """[epoch, satellite] mean visible solar-disc fraction over each epoch's network steps (NaN where SGP4
    failed at some step: the satellite is no host that epoch)."""
    n = horizon.n_steps
    return np.asarray(sunlit_fraction[:, :n], np.float64).reshape(-1, horizon.n_epochs,
                                                                   horizon.steps_per_epoch).mean(axis=2).T


def placement_problem(scenario: Scenario, progress: Progress = _quiet) -> PlacementProblem:
    """The placement problem of `scenario` (see `prepare`)."""
    return prepare(scenario, progress).problem


def _paths(problem: PlacementProblem, solutions: list[Solution], prepared: Prepared, scenario: Scenario) -> dict:
    """The paths table: each demand's paths traced on the network it routed on (the open one, or its transit
    group's)."""
    groups = demand_transit_groups(scenario.demand.workloads, len(scenario.demand.sites.name), scenario.problem)
    trace = lambda group, **network: paths_table(  # noqa: E731
        problem, solutions, scenario.demand.sites, scenario.ground.pops, prepared.orbits, prepared.lasers,
        spec=scenario.network, steps_per_epoch=scenario.horizon.steps_per_epoch,
        demands=np.array([g == group for g in groups]), **network)
    parts = [trace(None, ground=scenario.ground.arrays(scenario.demand.sites), access_sat=prepared.network.access_sat)]
    parts += [trace(group, ground=t.ground, access_sat=t.network.access_sat, positions=t.positions, transit=group.label)
              for group, t in prepared.transit.items()]
    return concatenate_columns(parts, PATHS_COLUMNS)


def lp_bound(problem: PlacementProblem, scenario: Scenario) -> float | None:
    """The LP relaxation's bound, by the MILP's solver within its time limit (None if it does not finish)."""
    options = dataclasses.replace(scenario.options("milp"), relax=True, warm_start="none")
    relaxed = solvers.solve("milp", problem, options, seed=scenario.seed)
    return relaxed.dual_bound if np.isfinite(relaxed.dual_bound) else None


def solve_all(problem: PlacementProblem, scenario: Scenario,
              progress: Progress = _quiet) -> tuple[dict[str, tuple[SolveResult, Evaluation | None]], float | None]:
    """Every strategy of `scenario` on `problem`, each result with its evaluation (None without a solution),
    and the LP bound that certifies the heuristics (None when not asked for or not found in time). A
    heuristic's dual bound becomes the better of its own and the LP's, so its gap is certified."""
    certify = scenario.certify and any(not solvers.SOLVERS[name].exact for name in scenario.strategies)
    results = {}
    with Stage(progress, "solve", len(scenario.strategies) + certify) as stage:
        bound = None
        if certify:
            stage.start("lp_bound")
            bound = lp_bound(problem, scenario)
            stage.done("lp_bound", "none within the time limit" if bound is None else f"{bound:.6g}")
        for name in scenario.strategies:
            stage.start(name)
            result = solvers.solve(name, problem, scenario.options(name), seed=scenario.seed)
            if bound is not None and not (np.isfinite(result.dual_bound) and result.dual_bound >= bound):
                result = dataclasses.replace(result, dual_bound=bound)
            results[name] = (result, evaluate(problem, result.solution) if result.solution is not None else None)
            stage.done(name, f"{result.status.value} in {result.solve_seconds:.2f} s")
    return results, bound


def run(scenario: Scenario, out_dir: str | Path, *, overwrite: bool = False,
        progress: Progress = _stderr_progress, draw_plots: bool = True, report: bool = True) -> dict:
    """The main job (see the module docstring); returns the metrics it writes. `draw_plots=False` leaves the
    figures out (a large sweep's points: the tables hold what they show); `report=False` leaves report.html
    out."""
    with run_directory(out_dir, overwrite=overwrite) as staging:
        started = time.perf_counter()
        _report_warnings(scenario.warnings)
        prepared = prepare(scenario, progress)
        problem = prepared.problem
        build_s = time.perf_counter() - started
        progress(f"problem: {problem.size} (hosts x demands x models x epochs), "
                 f"{int(problem.usable_slots().sum())} candidate slots, built in {build_s:.1f} s")
        reach = slo_reach(problem).summary()
        tiers = ", ".join(f"{tier} alone {share:.1%}" for tier, share in reach["by_tier"].items())
        if reach["short"]:
            progress(f"SLO: no placement can serve more than {reach['attainable_share']:.1%} of the requests "
                     f"within their SLO ({tiers})")
        else:
            progress(f"SLO: every request has a slot within its SLO, capacity aside ({tiers})")
        for line in reach["short"]:
            progress(f"SLO: {line}")
        results, bound = solve_all(problem, scenario, progress)
        if scenario.failures.reserve:
            reserved = failure_reserve.solve_against(scenario.failures.reserve, problem, scenario.options("milp"),
                                                     seed=scenario.seed)
            progress(f"reserve: {reserved.status.value} in {reserved.solve_seconds:.2f} s ({reserved.message})")
            results[failure_reserve.STRATEGY] = (reserved, evaluate(problem, reserved.solution)
                                                 if reserved.solution is not None else None)
        metrics = {
            "problem": {"size": problem.size, "hosts": problem.n_hosts, "demands": problem.n_demands,
                        "models": problem.n_models, "epochs": problem.n_epochs, "build_seconds": build_s},
            "lp_bound": bound,
            "outage_share": prepared.outage_share,
            "weather": scenario.weather_summary(),
            "slo_reach": reach,
            "strategies": {name: {"status": r.status.value, "solver_objective": r.objective,
                                  "dual_bound": r.dual_bound, "gap": r.gap, "solve_seconds": r.solve_seconds,
                                  "build_seconds": r.build_seconds, "message": r.message,
                                  **(e.summary() if e is not None else {}),
                                  **(money_summary(problem, r.solution, e, scenario.problem.price_per_kwh,
                                                   scenario.problem.price_per_gb_upload) if e is not None else {}),
                                  **(request_shares(problem, r.solution) if r.solution is not None else {}),
                                  **({"bulk": bulk_report(problem, r.solution, e)}
                                     if e is not None and bulk_demands(problem).any() else {})}
                           for name, (r, e) in results.items()},
            "rejected_records": scenario.constellation.rejected_records,
            "warnings": list(scenario.warnings),
            "uncertified_latencies": prepared.network.uncertified,
            "seed": scenario.seed,
            "job_seconds": time.perf_counter() - started,
        }
        if not any(e is not None and e.feasible for _, e in results.values()):
            # The run is kept (what each strategy did is worth reading), and the caller reports it as failed.
            metrics["infeasible"] = explain_infeasible(problem)
        solved = {name: (r.solution, e) for name, (r, e) in results.items() if e is not None}
        tables = run_tables(problem, solved, scenario.demand.sites, scenario.ground.positions(), prepared.orbits,
                            scenario.horizon.epoch_starts(), epoch_sunlight(prepared.orbits.sunlit_fraction,
                                                                            scenario.horizon),
                            slot_p95_rtt_ms(prepared.network, problem, demand_networks(
                                prepared.network, prepared.transit, scenario.demand.workloads,
                                len(scenario.demand.sites.name), scenario.problem)))
        tables["paths"] = _paths(problem, [solution for solution, _ in solved.values()], prepared, scenario)
        if prepared.transit:
            g = scenario.ground
            metrics["transit_path_violations"] = path_violations(
                tables["paths"], prepared.transit, {"gateway": g.gateways, "pop": g.pops, "cloud": g.clouds},
                problem.host_name[:prepared.orbits.n_satellites], prepared.orbits.r_ecef_km)
            for line in metrics["transit_path_violations"][:5]:
                LOG.warning(f"transit: {line}")
        if scenario.failures.active:
            metrics["failures"], figures = _failures(scenario, prepared, {n: s for n, (s, _) in solved.items()},
                                                     tables["paths"], progress)
            for name, figures_of_strategy in figures.items():
                metrics["strategies"][name].update(figures_of_strategy)
        if scenario.config is not None:
            write_json(staging / "config.json", scenario.config)
        # The config file's path: relative paths in config.json (sites_file) resolve from its folder.
        write_json(staging / "environment.json", {**environment(), "config_source": scenario.source})
        write_json(staging / "metrics.json", metrics)
        for name, columns in tables.items():
            write_table(staging / f"{name}.parquet", columns)
        if draw_plots:
            plots_started = time.perf_counter()
            figures = plots.run_plots(analysis.load_run(staging, label=Path(out_dir).name), staging / "plots")
            progress(f"plots: {len(figures)} figures in {time.perf_counter() - plots_started:.1f} s")
        if report:
            write_html_report(staging, label=Path(out_dir).name)
    return metrics


def _failures(scenario: Scenario, prepared: Prepared, solutions: dict[str, Solution], paths: dict,
              progress: Progress) -> tuple[dict, dict[str, dict]]:
    """The scenario's failures on the run's solutions (`placement.failures.impact`), said: what is down, and
    each strategy's figures (`strategy_figures`)."""
    started = time.perf_counter()
    outage = failure_impact.outage_of(scenario, prepared)
    down = ", ".join(f"{count} {kind}" for kind, count in outage.counts().items() if count)
    progress(f"failures: {down or 'nothing'} down; kept, re-routed and re-optimised placements scored")
    impact = failure_impact.failure_impact(scenario, prepared, solutions, outage, prepare_on, paths, progress)
    for name, ways in impact["strategies"].items():
        progress(f"failures: {name} unserved " + ", ".join(
            f"{way} {ways[way]['unserved_share']:.2%}" if ways[way]["unserved_share"] is not None else f"{way} -"
            for way in ("nominal",) + failure_impact.WAYS))
    seconds = time.perf_counter() - started
    return {"down": impact["down"], "seconds": seconds}, failure_impact.strategy_figures(impact)


def propagate(job: PropagationJob, out_dir: str | Path, *, overwrite: bool = False,
              progress: Progress = _stderr_progress) -> dict:
    """The propagation job into `out_dir`; returns the summary it writes."""
    enable_float64()
    elements, grid = job.constellation.elements, job.grid
    dtype = np.dtype(job.precision)
    n_sat, n_time = len(elements), grid.n_steps
    progress(f"propagate: {n_sat} satellites x {n_time} steps of {grid.step_s:g} s, {dtype.name}")
    _report_rejected(job.constellation.rejected_records, job.constellation.label, progress)
    _report_warnings(job.warnings)

    with run_directory(out_dir, kind="propagate", overwrite=overwrite) as staging:
        arrays = {"r_teme_km": ((n_sat, n_time, 3), dtype), "error": ((n_sat, n_time), np.int8)}
        if "velocity" in job.outputs:
            arrays["v_teme_km_s"] = ((n_sat, n_time, 3), dtype)
        if "geodetic" in job.outputs:
            arrays.update({k: ((n_sat, n_time), dtype) for k in ("lat_deg", "lon_deg", "alt_km")})
        if "sunlit" in job.outputs:
            arrays["sunlit_fraction"] = ((n_sat, n_time), dtype)
        out = {name: np.lib.format.open_memmap(staging / f"{name}.npy", mode="w+", dtype=d, shape=s)
               for name, (s, d) in arrays.items()}

        started = time.perf_counter()
        propagator = Propagator.create(elements, dtype)
        propagation_s = 0.0
        first = 0
        chunks = orbit_chunks(propagator, grid, job.chunk_steps)
        while True:
            chunk_started = time.perf_counter()
            chunk = next(chunks, None)
            if chunk is None:
                break
            jax.block_until_ready(chunk.r_ecef_km)
            propagation_s += time.perf_counter() - chunk_started
            window = slice(first, first + chunk.grid.n_steps)
            out["r_teme_km"][:, window] = np.asarray(chunk.ephemeris.r_km)
            out["error"][:, window] = np.asarray(chunk.ephemeris.error)
            if "v_teme_km_s" in out:
                out["v_teme_km_s"][:, window] = np.asarray(chunk.ephemeris.v_km_s)
            if "lat_deg" in out:
                lat, lon, alt = ecef_to_geodetic(chunk.r_ecef_km)
                out["lat_deg"][:, window] = np.degrees(np.asarray(lat))
                out["lon_deg"][:, window] = np.degrees(np.asarray(lon))
                out["alt_km"][:, window] = np.asarray(alt)
            if "sunlit_fraction" in out:
                out["sunlit_fraction"][:, window] = np.asarray(chunk.sunlit_fraction)
            first += chunk.grid.n_steps
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
            "rejected_records": job.constellation.rejected_records,
            "warnings": list(job.warnings),
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
        write_json(staging / "config.json", job.config)
        write_json(staging / "environment.json", environment())
        write_json(staging / "summary.json", summary)
        del out  # close the memory maps before the directory is renamed into place
    return summary


def summary_table(metrics: dict) -> str:
    rows = analysis.summary_rows(metrics)
    return format_table(rows, list(rows[0]) if rows else None)
