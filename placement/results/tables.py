"""The tables of a run directory (`placement.results.analysis.RUN_TABLES`), built from what the run computed.

Inputs are the placement problem, each strategy's solution and evaluation, the demand sites, the positions of
the hosts on the ground, and the one propagation of the run (`placement.propagation.orbits.Orbits`) for the
satellites' positions and sunlight; nothing goes back to the config. Columns are typed (`*_COLUMNS`), so a run
in which no strategy found a solution still writes every table. Times are datetime64 in UTC (each epoch's start
and end beside its index, each track point's instant), which `rundir.write_table` marks as UTC.
"""

from __future__ import annotations

import numpy as np

from placement.evaluation import Evaluation
from placement.network.ground import GroundNodes
from placement.problem.build import local_host_name
from placement.problem.solution import Solution
from placement.problem.spec import HOST_KINDS, SATELLITE, PlacementProblem
from placement.propagation.orbits import Orbits

# Column types of the per-strategy tables, so that a run where no strategy found a solution still writes them.
DEMANDS_COLUMNS = {"strategy": str, "demand": str, "model": str, "site": str, "site_country": str,
                   "site_lat_deg": np.float64, "site_lon_deg": np.float64, "requests": np.float64,
                   "slo_ms": np.float64, "allowed_jurisdictions": str, "mean_latency_ms": np.float64,
                   "p95_latency_ms": np.float64, "mean_waiting_ms": np.float64, "slo_attainment": np.float64,
                   "unserved_share": np.float64, **{f"share_{k}": np.float64 for k in HOST_KINDS}}
EPOCH_UTC = {"epoch_start_utc": "datetime64[us]", "epoch_end_utc": "datetime64[us]"}
HOSTS_COLUMNS = {"strategy": str, "epoch": np.int32, "epoch_start_min": np.float64, **EPOCH_UTC, "host": str,
                 "host_kind": str,
                 "host_jurisdiction": str, "lat_deg": np.float64, "lon_deg": np.float64, "copies": np.int32,
                 "requests": np.float64,
                 "compute_utilization": np.float64, "waiting_ms": np.float64, "power_w": np.float64,
                 "power_budget_w": np.float64,
                 "memory_utilization": np.float64, "link_utilization": np.float64, "sunlit_fraction": np.float64}
ASSIGNMENTS_COLUMNS = {"strategy": str, "epoch": np.int32, **EPOCH_UTC, "demand": str, "site": str, "model": str,
                       "host": str, "host_kind": str, "host_jurisdiction": str, "share": np.float64,
                       "requests": np.float64,
                       "latency_ms": np.float64, "p95_latency_ms": np.float64, "waiting_ms": np.float64,
                       "slo_ms": np.float64, "sunlit_fraction": np.float64}
PLACEMENTS_COLUMNS = {"strategy": str, "epoch": np.int32, **EPOCH_UTC, "host": str, "host_kind": str,
                      "host_jurisdiction": str, "model": str, "copies": np.int32, "requests_per_s": np.float64,
                      "requests": np.float64, "host_compute_utilization": np.float64}


def run_tables(problem: PlacementProblem, solved: dict[str, tuple[Solution, Evaluation]], sites: GroundNodes,
               ground_positions: dict[str, tuple[float, float]], orbits: Orbits, epoch_steps: np.ndarray,
               epoch_sunlight: np.ndarray, p95_rtt_ms: np.ndarray) -> dict[str, dict]:
    """The run's tables as named columns. `solved`: strategy -> (solution, evaluation) for every strategy that
    returned one; `ground_positions`: (lat, lon) of the gateways and cloud regions by host name; `orbits`: the
    run's propagation (satellites are the first hosts, in its order); `epoch_steps` [epoch]: each epoch's
    first step in it; `epoch_sunlight` [epoch, satellite]: the mean sunlit fraction the power model used;
    `p95_rtt_ms` [epoch, demand, slot]: each slot's 95th-percentile round trip over the epoch's steps."""
    used = np.any([s.placement.any(axis=(0, 1)) for s, _ in solved.values()], axis=0) if solved else False
    satellites = np.flatnonzero((problem.host_kind == SATELLITE) & used)
    lat, lon, alt = orbits.geodetic(satellites)  # [satellite, step]
    step_utc = orbits.grid.utc()
    epoch_utc = {"epoch_start_utc": step_utc[epoch_steps],
                 "epoch_end_utc": step_utc[epoch_steps] + np.round(problem.epoch_s * 1e6).astype("timedelta64[us]")}
    sunlit = np.asarray(orbits.sunlit_fraction[satellites], np.float64)
    at_sites = {local_host_name(name): (la, lo) for name, la, lo in zip(sites.name, sites.lat_deg, sites.lon_deg)}
    host_lat, host_lon, host_sunlit = _host_positions(problem, satellites, (lat, lon), epoch_steps,
                                                       {**ground_positions, **at_sites})
    host_sunlit[:, satellites] = epoch_sunlight[:, satellites]
    return {"demands": _demands_table(problem, solved, sites),
            "hosts": _hosts_table(problem, solved, epoch_utc, host_lat, host_lon, host_sunlit),
            "assignments": _assignments_table(problem, solved, epoch_utc, host_sunlit, p95_rtt_ms),
            "placements": _placements_table(problem, solved, epoch_utc),
            "tracks": {"satellite": [problem.host_name[h] for h in satellites for _ in range(orbits.grid.n_steps)],
                       "time_min": np.tile(orbits.grid.minutes(), len(satellites)),
                       "time_utc": np.tile(step_utc, len(satellites)),
                       "lat_deg": lat.ravel(), "lon_deg": lon.ravel(), "alt_km": alt.ravel(),
                       "sunlit_fraction": sunlit.ravel()}}


def request_shares(problem: PlacementProblem, solution: Solution) -> dict:
    """Share of all requests served by each host kind."""
    served = problem.requests()[:, :, None] * solution.assignment
    kind = problem.host_kind[np.maximum(problem.candidate_host, 0)]
    total = problem.requests().sum()
    return {f"share_{name}": float(served[kind == code].sum() / total) if total > 0 else 0.0
            for code, name in enumerate(HOST_KINDS)}


def _host_positions(problem: PlacementProblem, satellites: np.ndarray, tracks: tuple, epoch_steps: np.ndarray,
                    ground_positions: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitude and longitude [epoch, host] at each epoch's start, and a sunlit fraction to fill in (NaN): the
    used satellites from their tracks (NaN for satellites no strategy uses), gateways and cloud regions by
    name."""
    T, H = problem.n_epochs, problem.n_hosts
    lat, lon, sunlit = (np.full((T, H), np.nan) for _ in range(3))
    for out, track in zip((lat, lon), tracks):
        out[:, satellites] = track[:, epoch_steps].T
    for h in np.flatnonzero(problem.host_kind != SATELLITE):
        lat[:, h], lon[:, h] = ground_positions.get(problem.host_name[h], (np.nan, np.nan))
    return lat, lon, sunlit


def _served(problem: PlacementProblem, solution: Solution) -> np.ndarray:
    """[epoch, demand, slot] requests served in each candidate slot."""
    return np.where(problem.candidate_host >= 0, problem.requests()[:, :, None] * solution.assignment, 0.0)


def _demands_table(problem: PlacementProblem, solved: dict, sites: GroundNodes) -> dict:
    """Per strategy and demand: its site, the evaluator's latency figures and where its requests went."""
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
            "mean_waiting_ms": e.demand_mean_waiting_ms, "slo_attainment": e.demand_slo_attainment, "unserved_share": e.demand_unserved_share,
            **{f"share_{k}": np.divide(np.where(kind == code, served, 0.0).sum(axis=(0, 2)), requests,
                                       out=np.zeros(problem.n_demands), where=requests > 0)
               for code, k in enumerate(HOST_KINDS)}})
    return concatenate_columns(parts, DEMANDS_COLUMNS)


def _hosts_table(problem: PlacementProblem, solved: dict, epoch_utc: dict, lat: np.ndarray, lon: np.ndarray,
                 sunlit: np.ndarray) -> dict:
    """Per strategy, epoch and host holding a copy: position, copies, requests served and the load against
    every limit."""
    parts = []
    for name, (solution, e) in solved.items():
        copies = solution.placement.sum(axis=1)  # [epoch, host]
        requests = _per_copy(problem, _served(problem, solution)).sum(axis=1)
        t, h = np.nonzero(copies)
        parts.append({
            "strategy": [name] * len(t), "epoch": t.astype(np.int32),
            "epoch_start_min": (np.cumsum(problem.epoch_s) - problem.epoch_s)[t] / 60.0,
            **{column: at[t] for column, at in epoch_utc.items()},
            **_host_columns(problem, h), "lat_deg": lat[t, h], "lon_deg": lon[t, h],
            "copies": copies[t, h].astype(np.int32), "requests": requests[t, h],
            "compute_utilization": e.compute_utilization[t, h], "waiting_ms": e.host_waiting_ms[t, h],
            "power_w": e.power_w[t, h], "power_budget_w": problem.power_budget_w[t, h],
            "memory_utilization": e.memory_utilization[t, h], "link_utilization": e.link_utilization[t, h],
            "sunlit_fraction": sunlit[t, h]})
    return concatenate_columns(parts, HOSTS_COLUMNS)


def _per_copy(problem: PlacementProblem, served: np.ndarray) -> np.ndarray:
    """[epoch, model, host] the requests of `served` [epoch, demand, slot] that each model serves on each host."""
    requests = np.zeros((problem.n_epochs, problem.n_models, problem.n_hosts))
    np.add.at(requests, (np.arange(problem.n_epochs)[:, None, None], np.maximum(problem.candidate_model, 0),
                         np.maximum(problem.candidate_host, 0)), served)
    return requests


def _placements_table(problem: PlacementProblem, solved: dict, epoch_utc: dict) -> dict:
    """Per strategy, epoch, host and model with a copy there: the requests the copy serves (per second and
    over the epoch) and its host's compute utilisation (all its copies together)."""
    parts = []
    for name, (solution, e) in solved.items():
        t, m, h = np.nonzero(solution.placement)
        requests = _per_copy(problem, _served(problem, solution))[t, m, h]
        parts.append({
            "strategy": [name] * len(t), "epoch": t.astype(np.int32),
            **{column: at[t] for column, at in epoch_utc.items()}, **_host_columns(problem, h),
            "model": [problem.model_name[i] for i in m],
            # one copy of a model per host and epoch: the problem's placement is a yes or no (spec.Solution)
            "copies": np.ones(len(t), np.int32),
            "requests_per_s": requests / problem.epoch_s[t], "requests": requests,
            "host_compute_utilization": e.compute_utilization[t, h]})
    return concatenate_columns(parts, PLACEMENTS_COLUMNS)


def _assignments_table(problem: PlacementProblem, solved: dict, epoch_utc: dict, sunlit: np.ndarray,
                       p95_rtt_ms: np.ndarray) -> dict:
    """Per strategy, epoch, demand and serving host: the share and number of requests, their mean latency and
    its 95th percentile over the epoch's network steps (both with the host's mean wait for an accelerator,
    also given apart), and the host's sunlit fraction (NaN on the ground)."""
    latency = problem.latency_ms()
    p95 = latency + p95_rtt_ms - problem.candidate_rtt_ms  # the same transmission and compute
    parts = []
    for name, (solution, e) in solved.items():
        served = _served(problem, solution)
        t, d, k = np.nonzero(served > 0)
        h = problem.candidate_host[t, d, k]
        wait = e.host_waiting_ms[t, h]
        parts.append({
            "strategy": [name] * len(t), "epoch": t.astype(np.int32),
            **{column: at[t] for column, at in epoch_utc.items()}, "demand": [problem.demand_name[i] for i in d],
            "site": [problem.site_name[problem.demand_site[i]] for i in d],
            "model": [problem.model_name[m] for m in problem.candidate_model[t, d, k]],
            **_host_columns(problem, h), "share": solution.assignment[t, d, k], "requests": served[t, d, k],
            "latency_ms": latency[t, d, k] + wait, "p95_latency_ms": p95[t, d, k] + wait, "waiting_ms": wait,
            "slo_ms": problem.slo_ms[d],
            "sunlit_fraction": sunlit[t, h]})
    return concatenate_columns(parts, ASSIGNMENTS_COLUMNS)


def _host_columns(problem: PlacementProblem, hosts: np.ndarray) -> dict:
    return {"host": [problem.host_name[h] for h in hosts],
            "host_kind": [HOST_KINDS[problem.host_kind[h]] for h in hosts],
            "host_jurisdiction": [problem.jurisdictions[problem.host_jurisdiction[h]] for h in hosts]}


def concatenate_columns(parts: list[dict], types: dict) -> dict:
    """Columns of every part, one after another, typed as `types` (lists of str stay lists)."""
    return {c: [v for p in parts for v in p[c]] if t is str else
            np.concatenate([np.asarray(p[c], t) for p in parts] or [np.zeros(0, t)]) for c, t in types.items()}
