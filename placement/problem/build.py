"""A PlacementProblem from the network tensors, the satellites' sunlight, the catalog and the workloads.

Hosts are every satellite, then every gateway, then every cloud region, in the order of the network's
axes. Epochs are snapshots of the network at chosen time steps: a demand's candidates in an epoch are the
K satellites its site sees then (each is a host: the model runs on the satellite overhead), its
`gateway_slots` nearest gateways and `cloud_slots` nearest cloud regions, with the round trip twice the
one-way path latency and the path's bottleneck capacity. Keep epochs short next to a satellite's pass
(minutes) where in-orbit placement matters: between snapshots the model assumes nothing moves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from placement.errors import InputError
from placement.network.ground import GroundNodes
from placement.network.tensors import NetworkTensors
from placement.problem.catalog import HostProfile, ModelSpec, SatellitePower
from placement.problem.spec import CLOUD, GATEWAY, SATELLITE, PlacementProblem


@dataclasses.dataclass(frozen=True)
class Workload:
    """One model asked for at a set of sites: each (site, model) becomes a demand."""

    model: str
    rate_per_s: float  # requests per second per site
    slo_ms: float
    sites: tuple[int, ...] | None = None  # indices into the demand sites; None: every site
    allowed_jurisdictions: tuple[str, ...] | None = None  # None: anywhere


@dataclasses.dataclass(frozen=True)
class HostOptions:
    satellite: HostProfile
    gateway: HostProfile
    cloud: HostProfile
    power: SatellitePower
    satellite_jurisdiction: str = "US"  # Starlink's state of registry (FCC-licensed)
    # Starlink V2 Mini: ~96 Gbps of user downlink, about 4x a V1.5 (starlink_performance_facts.csv);
    # Gen1 satellites are V1.0/V1.5, so about 24 Gbps.
    satellite_link_gbps: float = 24.0
    gateway_link_gbps: float = 100.0  # a multi-antenna Ka gateway site (assumption)
    cloud_link_gbps: float = np.inf  # regions are fiber-fed: no limit modelled
    terminals_per_site: int = 1  # each terminal talks to one satellite at a time
    opening_cost: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per epoch a copy is placed, by host kind


def build_problem(network: NetworkTensors, epochs: Sequence[int], step_s: float, sunlit_fraction: np.ndarray,
                  sites: GroundNodes, gateways: GroundNodes, clouds: GroundNodes,
                  models: Sequence[ModelSpec], workloads: Sequence[Workload], hosts: HostOptions, *,
                  gateway_slots: int = 2, cloud_slots: int = 2, unserved_penalty_ms: float | None = 10_000.0,
                  placement: str = "fixed", migration_cost_per_gb: float = 0.0,
                  single_source: bool = False) -> PlacementProblem:
    """`network` holds host numpy arrays over all time steps; `epochs` picks the snapshots (time-step
    indices, increasing), each standing for the steps up to the next one. `sunlit_fraction` is
    [satellite, time step] as the propagate job writes it."""
    epochs = np.asarray(epochs, dtype=int)
    n_steps = np.asarray(network.site_sat).shape[0]
    if epochs.ndim != 1 or epochs.size == 0 or np.any(np.diff(epochs) <= 0) or epochs[0] < 0 or epochs[-1] >= n_steps:
        raise InputError(f"{epochs.tolist()[:8]}", field="epochs",
                         expected=f"increasing time-step indices in [0, {n_steps})")
    n_sat = np.asarray(sunlit_fraction).shape[0]
    G, C, S = len(gateways.name), len(clouds.name), len(sites.name)
    H = n_sat + G + C
    by_name = {m.name: i for i, m in enumerate(models)}
    for i, w in enumerate(workloads):
        if w.model not in by_name:
            raise InputError(f"unknown model {w.model!r}", field=f"workloads[{i}].model",
                             expected="one of " + ", ".join(sorted(by_name)))
    T = len(epochs)
    bounds = np.append(epochs, n_steps)
    epoch_s = np.diff(bounds) * step_s

    # Candidates per (epoch, site): K satellites, then the nearest gateways and cloud regions.
    take = lambda a: np.asarray(a)[epochs]  # noqa: E731
    sat, sat_ms, sat_gbps = take(network.site_sat), take(network.site_sat_ms), take(network.site_sat_gbps)
    gw_ms, gw_gbps = take(network.site_gateway_ms), take(network.site_gateway_gbps)
    cl_ms, cl_gbps = take(network.site_cloud_ms), take(network.site_cloud_gbps)

    def nearest(ms, gbps, slots, offset):
        slots = min(slots, ms.shape[2])
        order = np.argsort(np.where(np.isfinite(ms), ms, np.inf), axis=2)[:, :, :slots]
        ms_k = np.take_along_axis(ms, order, 2)
        ok = np.isfinite(ms_k)
        return np.where(ok, order + offset, -1), np.where(ok, ms_k, 0.0), np.where(ok, np.take_along_axis(gbps, order, 2), 1.0)

    g_host, g_ms, g_gbps = nearest(gw_ms, gw_gbps, gateway_slots, n_sat)
    c_host, c_ms, c_gbps = nearest(cl_ms, cl_gbps, cloud_slots, n_sat + G)
    site_host = np.concatenate([np.where(sat >= 0, sat, -1), g_host, c_host], axis=2)
    site_ms = np.concatenate([np.where(sat >= 0, sat_ms, 0.0), g_ms, c_ms], axis=2)
    site_gbps = np.concatenate([np.where(sat >= 0, sat_gbps, 1.0), g_gbps, c_gbps], axis=2)
    access = hosts.terminals_per_site * np.where(sat >= 0, sat_gbps, 0.0).max(axis=2)  # [epoch, site]

    # Demands: one per (workload, site).
    demand_site, demand_model, rate, slo, names, allowed_sets = [], [], [], [], [], []
    for w in workloads:
        for s in (range(S) if w.sites is None else w.sites):
            demand_site.append(s)
            demand_model.append(by_name[w.model])
            rate.append(w.rate_per_s)
            slo.append(w.slo_ms)
            names.append(f"{w.model}@{sites.name[s]}")
            allowed_sets.append(w.allowed_jurisdictions)
    demand_site = np.asarray(demand_site, dtype=int)
    host_country = [hosts.satellite_jurisdiction] * n_sat + list(gateways.country) + list(clouds.country)
    jurisdictions = tuple(sorted(set(host_country) | {j for a in allowed_sets if a for j in a}))
    allowed = np.array([[a is None or j in a for j in jurisdictions] for a in allowed_sets], bool).reshape(-1, len(jurisdictions))

    kind = np.array([SATELLITE] * n_sat + [GATEWAY] * G + [CLOUD] * C, np.int8)
    def profile(field):  # a profile without a figure (None) does not limit
        values = [getattr(p, field) for p in (hosts.satellite, hosts.gateway, hosts.cloud)]
        return np.select([kind == SATELLITE, kind == GATEWAY, kind == CLOUD],
                         [np.inf if v is None else v for v in values])
    sunlit = np.asarray(sunlit_fraction)[:, epochs].T  # [epoch, sat]
    power = np.concatenate([hosts.power.power_budget_w(np.nan_to_num(sunlit, nan=0.0)),
                            np.full((T, G + C), np.inf)], axis=1)
    link = np.select([kind == SATELLITE, kind == GATEWAY, kind == CLOUD],
                     [hosts.satellite_link_gbps, hosts.gateway_link_gbps, hosts.cloud_link_gbps])
    # A satellite whose propagation failed (NaN sunlight) is not a host that epoch.
    failed = np.zeros((T, H), bool)
    failed[:, :n_sat] = np.isnan(sunlit)
    cand = site_host[:, demand_site]
    cand = np.where((cand >= 0) & failed[np.arange(T)[:, None, None], np.maximum(cand, 0)], -1, cand)

    return PlacementProblem(
        host_name=[f"sat{i}" for i in range(n_sat)] + list(gateways.name) + list(clouds.name), host_kind=kind,
        host_jurisdiction=np.array([jurisdictions.index(c) for c in host_country]), jurisdictions=jurisdictions,
        memory_bytes=profile("memory_bytes"), peak_flops_s=profile("peak_flops_s"),
        service_flops_s=profile("service_flops_s"), flops_per_joule=profile("flops_per_joule"),
        power_budget_w=power, link_gbps=np.broadcast_to(link, (T, H)),
        model_name=[m.name for m in models], model_flops=[m.flops_per_inference for m in models],
        model_memory_bytes=[m.memory_bytes for m in models],
        model_memory_traffic_bytes=[m.memory_traffic_bytes for m in models],
        memory_bandwidth_bytes_s=profile("memory_bandwidth_bytes_s"),
        demand_name=names, demand_model=demand_model, demand_site=demand_site,
        rate_per_s=np.broadcast_to(np.asarray(rate, float), (T, len(names))),
        request_bytes=[models[m].request_bytes for m in demand_model],
        response_bytes=[models[m].response_bytes for m in demand_model],
        slo_ms=slo, allowed=allowed, site_name=sites.name, site_access_gbps=access,
        candidate_host=cand, candidate_rtt_ms=2.0 * site_ms[:, demand_site], candidate_gbps=site_gbps[:, demand_site],
        epoch_s=epoch_s, opening_cost=np.broadcast_to(np.select(
            [kind == SATELLITE, kind == GATEWAY, kind == CLOUD], list(hosts.opening_cost)), (len(models), H)),
        migration_cost_per_gb=migration_cost_per_gb, unserved_penalty_ms=unserved_penalty_ms,
        placement=placement, single_source=single_source)
