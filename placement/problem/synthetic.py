"""Synthetic placement instances with the structure of the real ones, for tests and solver benchmarks.

Hosts and demand sites lie on a flat map (coordinates in ms of round trip, so distance is latency):
satellites are small, power-limited and visible to a site only in some epochs (and, with `partial_share`,
for only part of some epochs); gateways are mid-sized and near some sites; cloud regions are large,
unlimited in power and far away. Capacities are drawn so that the cheapest hosts cannot take every
request: placement is a real trade-off, not nearest-host. The path down is faster than the path up, as a
user terminal's downlink is faster than its uplink.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from placement.problem.spec import CLOUD, GATEWAY, SATELLITE, PlacementProblem

GFLOP = 1e9
GB = 1e9


def random_problem(seed: int, n_hosts: int, n_demands: int, n_models: int, n_epochs: int = 1, *,
                   n_slots: int | None = None, n_sites: int | None = None, placement: str = "fixed",
                   single_source: bool = False, unserved_penalty_ms: float | None = 2_000.0,
                   opening_cost: float = 0.0, migration_cost_per_gb: float = 0.0,
                   load: float = 0.6, restricted_share: float = 0.2, partial_share: float = 0.0,
                   edge_memory_models: float | None = None) -> PlacementProblem:
    """A random instance; `load` is total compute demand / the satellites' and gateways' peak compute.

    Candidates per demand and epoch are the `n_slots` nearest hosts it can see (all hosts if None), so
    large instances stay sparse as the network's pruning makes them. The path down's bottleneck is the path
    up's times a factor drawn in [1, 8]. `partial_share` is the fraction of satellite slots reachable for only
    part of their epoch: their candidate_share is drawn in [0.1, 0.9] (gateways and cloud regions are on the
    ground, always reachable: share 1, so every demand keeps a cloud slot it can use wholly).
    `edge_memory_models`: satellites and gateways hold that many times the largest model's memory (drawn
    within +-10%) instead of 4 and 12 GB, so that memory decides which single model a host runs.
    """
    rng = np.random.default_rng(seed)
    H, D, M, T = n_hosts, n_demands, n_models, n_epochs
    S = n_sites or max(1, D // 2)
    n_cloud = max(1, H // 10)
    n_gateway = max(1, H // 5) if H - n_cloud > 1 else 0
    kind = np.array([CLOUD] * n_cloud + [GATEWAY] * n_gateway + [SATELLITE] * (H - n_cloud - n_gateway),
                    np.int8)
    sat = kind == SATELLITE

    site_xy = rng.uniform(0, 40, (S, 2))
    host_xy = np.where((kind == CLOUD)[:, None], rng.uniform(-60, 100, (H, 2)), rng.uniform(0, 40, (H, 2)))
    base_ms = np.select([kind == SATELLITE, kind == GATEWAY, kind == CLOUD], [8.0, 15.0, 30.0])

    model_flops = rng.choice([0.4, 8.7, 28.6, 2.5e3, 7.0e3], M) * GFLOP  # classifiers to 1-4 B LMs
    model_memory = rng.uniform(0.2, 3.0, M) * GB
    memory = np.select([kind == SATELLITE, kind == GATEWAY, kind == CLOUD], [4.0, 12.0, 1e3]) * GB
    memory = memory * rng.uniform(0.8, 1.2, H)
    if edge_memory_models is not None:  # drawn apart, so that every other draw stays what a seed drew before
        memory = np.where(kind == CLOUD, memory, edge_memory_models * model_memory.max()
                          * np.random.default_rng([seed, 1]).uniform(0.9, 1.1, H))
    service = np.select([kind == SATELLITE, kind == GATEWAY, kind == CLOUD], [20e12, 100e12, 400e12])
    flops_per_joule = np.select([kind == SATELLITE, kind == GATEWAY, kind == CLOUD], [0.5e12, 1.0e12, 1.4e12])

    demand_model = rng.integers(0, M, D)
    demand_site = np.concatenate([np.arange(min(S, D)), rng.integers(0, S, max(0, D - S))])
    # Per-demand rates sized so the total compute demand is `load` x the total peak supply.
    weight = rng.lognormal(0, 0.5, D)
    share = weight / weight.sum()
    peak = np.select([kind == SATELLITE, kind == GATEWAY, kind == CLOUD], [20e12, 80e12, 0.0])
    peak = peak * rng.uniform(0.7, 1.3, H)
    edge_peak = peak.sum() if (~(kind == CLOUD)).any() else 20e12
    rate = share * load * edge_peak / model_flops[demand_model]
    # Each cloud region could run 1.5x the whole demand at its busiest: far away, but big.
    peak[kind == CLOUD] = 1.5 * load * edge_peak * 1.3
    diurnal = 1.0 + 0.3 * np.sin(2 * np.pi * (np.arange(T)[:, None] / max(T, 1) + rng.uniform(0, 1, D)))
    rate_per_s = rate[None, :] * diurnal

    sunlit = rng.uniform(size=(T, H)) < 0.65
    power = np.where(sat[None, :], np.where(sunlit, peak / flops_per_joule, 0.4 * peak / flops_per_joule),
                     np.inf)
    request_bytes = rng.choice([2e3, 50e3, 200e3], D)
    response_bytes = rng.choice([1e3, 4e3], D)
    bits = 8 * (request_bytes + response_bytes)
    link = np.where(sat, 0.3, np.where(kind == GATEWAY, 2.0, 50.0)) * (bits * rate).sum() / 1e9 / (H / 4)
    link_gbps = np.broadcast_to(link, (T, H)) * rng.uniform(0.8, 1.2, (T, H))
    # Site terminals carry each site's busiest epoch with 0-100% headroom, in each direction: one headroom
    # per site, split between uplink and downlink in the ratio of the site's request and response bits.
    headroom_gbps = rng.uniform(1.0, 2.0, S) / 1e9
    uplink = np.bincount(demand_site, 8 * request_bytes * rate_per_s.max(axis=0), S) * headroom_gbps
    downlink = np.bincount(demand_site, 8 * response_bytes * rate_per_s.max(axis=0), S) * headroom_gbps

    jurisdictions = ("A", "B", "C")
    host_jur = rng.integers(0, 3, H)
    allowed = np.ones((D, 3), bool)
    restricted = rng.uniform(size=D) < restricted_share
    allowed[restricted] = False
    allowed[restricted, rng.integers(0, 3, restricted.sum())] = True

    rtt = base_ms[None, :] + np.linalg.norm(site_xy[demand_site][:, None, :] - host_xy[None, :, :], axis=-1)
    visible = np.where(sat[None, None, :], rng.uniform(size=(T, D, H)) < 0.6, True)
    order_key = np.where(visible, rtt[None, :, :], np.inf)
    K = H if n_slots is None else min(n_slots, H)
    order = np.argsort(order_key, axis=2, kind="stable")[:, :, :K]
    cand = np.where(np.take_along_axis(visible, order, 2), order, -1)
    # Every demand keeps a cloud region it may use in every epoch, as the real network always offers one.
    cloud = np.flatnonzero(kind == CLOUD)
    for d in range(D):
        ok = cloud[allowed[d, host_jur[cloud]]]
        if ok.size == 0:
            allowed[d, host_jur[cloud[0]]] = True
            ok = cloud[:1]
        best = ok[np.argmin(rtt[d, ok])]
        for t in range(T):
            if best not in cand[t, d]:
                cand[t, d, -1] = best
    rtt_c = np.take_along_axis(np.broadcast_to(rtt, (T, D, H)), np.maximum(cand, 0), 2)
    on_satellite = kind[np.maximum(cand, 0)] == SATELLITE
    up_gbps = np.where(on_satellite, 0.1, 1.0) * rng.uniform(0.5, 1.5, cand.shape)
    slo_ms = rng.choice([50.0, 100.0, 300.0], D)
    # Drawn last, so that every draw above is what a seed drew before paths had two directions.
    down_gbps = up_gbps * rng.uniform(1.0, 8.0, cand.shape)
    partial = on_satellite & (cand >= 0) & (rng.uniform(size=cand.shape) < partial_share)
    share = np.where(partial, rng.uniform(0.1, 0.9, cand.shape), 1.0)

    return PlacementProblem(
        host_name=[f"{('sat', 'gw', 'cloud')[k]}{i}" for i, k in enumerate(kind)], host_kind=kind,
        host_jurisdiction=host_jur, jurisdictions=jurisdictions, memory_bytes=memory, peak_flops_s=peak,
        service_flops_s=service, flops_per_joule=flops_per_joule, power_budget_w=power, link_gbps=link_gbps,
        model_name=[f"model{m}" for m in range(M)], model_flops=model_flops, model_memory_bytes=model_memory,
        demand_name=[f"demand{d}" for d in range(D)], demand_model=demand_model, demand_site=demand_site,
        rate_per_s=rate_per_s, request_bytes=request_bytes, response_bytes=response_bytes,
        slo_ms=slo_ms, allowed=allowed,
        site_name=[f"site{s}" for s in range(S)], site_uplink_gbps=np.broadcast_to(uplink, (T, S)),
        site_downlink_gbps=np.broadcast_to(downlink, (T, S)), candidate_host=cand,
        candidate_rtt_ms=np.where(cand >= 0, rtt_c, 0.0), candidate_up_gbps=up_gbps, candidate_down_gbps=down_gbps,
        candidate_share=share,
        epoch_s=np.full(T, 3600.0), opening_cost=np.full((M, H), opening_cost),
        migration_cost_per_gb=migration_cost_per_gb, unserved_penalty_ms=unserved_penalty_ms,
        placement=placement, single_source=single_source)


def with_random_links(problem: PlacementProblem, seed: int, n_links: int = 6, width: int = 3,
                      load: float = 0.5) -> PlacementProblem:
    """`problem` with shared link rows (16): `n_links` links in pairs of two directions, each slot through the
    site's terminals crossing `width` of them toward its host (one link and its reverse never both), each
    with a share drawn in [0.3, 1]; capacities sized so the links carry `load` x what every slot's whole
    demand would put on them (below 1: the links bind)."""
    rng = np.random.default_rng([seed, 2])
    p = problem
    T, D, K = p.candidate_host.shape
    pairs = n_links // 2
    reverse = np.arange(2 * pairs) ^ 1  # links 2i and 2i + 1 are one link's two directions
    through = p.via_site()
    chosen = np.argsort(rng.uniform(size=(T, D, K, pairs)), axis=3)[..., :min(width, pairs)]
    link = np.where(through[..., None], 2 * chosen + rng.integers(0, 2, chosen.shape), -1)
    share = np.where(link >= 0, rng.uniform(0.3, 1.0, link.shape), 0.0)
    load_bps = np.zeros((T, 2 * pairs))
    for direction, bits in ((link, p.request_bits_per_s()), (np.where(link >= 0, reverse[link], -1), p.response_bits_per_s())):
        on = direction >= 0
        np.add.at(load_bps, (np.indices(link.shape)[0][on], direction[on]), (bits[:, :, None, None] * share)[on])
    capacity = load * np.maximum(load_bps, 1.0) / 1e9
    return dataclasses.replace(p, link_name=[f"link{i // 2}{'ab'[i % 2]}" for i in range(2 * pairs)],
                               link_kind=np.zeros(2 * pairs, int), link_reverse=reverse,
                               link_capacity_gbps=capacity, candidate_link=link, candidate_link_share=share)
