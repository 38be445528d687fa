"""A PlacementProblem from the network tensors, the satellites' sunlight, the catalog and the workloads.

Hosts are every satellite, then every gateway, then every cloud region, in the order of the network's
axes. A demand's candidates in an epoch (network.epochs, folded from the epoch's network steps) are the
satellite hosts within laser hops of its site's access satellites, its `ProblemOptions.gateway_candidates`
nearest gateways and `cloud_candidates` nearest cloud regions (by mean latency over the epoch): each with the
round trip (twice the mean one-way latency, hop delays included), the bottleneck of each direction, and the
share of the epoch in which it is reachable, the most of the demand it may serve.

A site may stand for several demand units (hubs, platforms, phones): its request rates and its terminals
are multiplied by them (`site_units`). A gateway may carry its own hardware and link (a remote data centre
reached by a downlink: `HostOptions.gateway_profiles`). Allowed jurisdictions may name groups of countries
(`JURISDICTION_GROUPS`); a workload's transit rule extends them to what its paths touch (network.transit):
its demands then take their candidates from their group's network, and each slot records the countries its
path touched (`candidate_transit`), which the evaluator checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from placement.errors import InputError
from placement.fields import NON_NEGATIVE, NON_NEGATIVE_INTEGER, check_fields, non_negative, option
from placement.network.epochs import Candidates, NetworkTensors
from placement.network.ground import GroundNodes
from placement.network.transit import TRANSIT_RULES, TransitGroup, TransitNetwork
from placement.problem.batching import batch_seconds, batch_sizes_for_load
from placement.problem.bulk import BULK_TASK
from placement.problem.catalog import (HostProfile, ModelSpec, SatellitePower, host_profiles, measured_services,
                                       satellite_power)
from placement.problem.queueing import formation_request_ms, servers
from placement.problem.spec import CLOUD, GATEWAY, HOST_KINDS, LOCAL, SATELLITE, PlacementProblem

# Groups of countries a workload may name among its allowed jurisdictions (ISO 3166-1 alpha-2).
JURISDICTION_GROUPS = {
    # The 27 member states of the European Union since 1 February 2020,
    # https://european-union.europa.eu/principles-countries-history/eu-countries_en (Greece: ISO GR, EU "EL").
    "EU": ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
           "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
}


def expand_jurisdictions(codes: Sequence[str]) -> tuple[str, ...]:
    """Country codes with every group of JURISDICTION_GROUPS replaced by its members."""
    return tuple(dict.fromkeys(c for code in codes for c in JURISDICTION_GROUPS.get(code, (code,))))


@dataclasses.dataclass(frozen=True)
class Workload:
    """One model asked for at a set of sites: each (site, model) becomes a demand."""

    model: str
    rate_per_s: float  # requests per second per demand unit of a site
    slo_ms: float
    sites: tuple[int, ...] | None = None  # indices into the demand sites; None: every site
    allowed_jurisdictions: tuple[str, ...] | None = None  # country codes or JURISDICTION_GROUPS; None: anywhere
    # 24 relative rates by local solar hour at the site (hour h covers [h, h + 1)); rate_per_s is their mean
    # over a day. None: the same rate at every hour.
    diurnal: tuple[float, ...] | None = None
    # Model choice: other models of the same task and payloads the requests may be served with instead; the
    # options below min_accuracy are dropped, and each request served with an option costs
    # ms_per_accuracy_point per point below the best option (accuracies in the catalog's metric and its
    # direction: a word error rate is better lower).
    alternatives: tuple[str, ...] = ()
    min_accuracy: float | None = None
    ms_per_accuracy_point: float = 0.0
    # What the paths must avoid besides the host (network.transit.TRANSIT_RULES): 'processing' nothing more,
    # 'landing' gateways, PoPs and fiber outside allowed_jurisdictions, 'overflight' also satellites above them.
    transit: str = "processing"
    # The only hosts that may serve it, by name (gateways or cloud regions: a bulk flow's destinations,
    # placement.problem.bulk); None: every candidate. A demand keeps the nearest `gateway_candidates` of its
    # named gateways and `cloud_candidates` of its named regions.
    hosts: tuple[str, ...] | None = None


def model_options(workload: Workload, models: Sequence[ModelSpec], field: str) -> tuple[list[int], np.ndarray]:
    """The workload's model options (indices into `models`, its own model first unless the accuracy floor
    drops it) and the choice cost of each (request-ms per request). `field` names the workload in errors."""
    by_name = {m.name: i for i, m in enumerate(models)}
    names = (workload.model,) + tuple(workload.alternatives)
    for name in names:
        if name not in by_name:
            raise InputError(f"unknown model {name!r}", field=f"{field}.alternatives" if name != workload.model
                             else f"{field}.model", expected="one of " + ", ".join(sorted(by_name)))
    options = [by_name[n] for n in dict.fromkeys(names)]
    first = models[options[0]]
    for i in options[1:]:
        m = models[i]
        if (m.task, m.request_bytes, m.response_bytes) != (first.task, first.request_bytes, first.response_bytes):
            raise InputError(f"{m.name!r} is a {m.task} model of {m.request_bytes:g}/{m.response_bytes:g} bytes per "
                             f"request/response", field=f"{field}.alternatives",
                             expected=f"models of {first.name!r}'s task ({first.task}) and payloads")
    if workload.min_accuracy is None and workload.ms_per_accuracy_point == 0:
        return options, np.zeros(len(options))
    if any(models[i].accuracy is None or models[i].accuracy_metric != first.accuracy_metric for i in options):
        raise InputError("the options' accuracies are missing or in different metrics",
                         field=f"{field}.min_accuracy" if workload.min_accuracy is not None
                         else f"{field}.ms_per_accuracy_point",
                         expected=f"options with an accuracy in {first.accuracy_metric!r}")
    sign = -1.0 if "lower is better" in first.accuracy_metric else 1.0  # a word error rate, for instance
    score = np.array([sign * models[i].accuracy for i in options])
    if workload.min_accuracy is not None:
        keep = score >= sign * workload.min_accuracy
        if not keep.any():
            raise InputError(f"no option reaches {workload.min_accuracy:g} ({first.accuracy_metric})",
                             field=f"{field}.min_accuracy", expected="a floor one of the models meets")
        options, score = [o for o, k in zip(options, keep) if k], score[keep]
    return options, workload.ms_per_accuracy_point * (score.max() - score)


def _reach_rate_per_s(rate_per_s: np.ndarray, host: np.ndarray, model: np.ndarray, share: np.ndarray, n_models: int,
                      n_hosts: int) -> np.ndarray:
    """[model, host] the largest over epochs of the summed rate [epoch, demand] of the demands with a slot
    (host [epoch, demand, slot], -1 none; share > 0) running the model there."""
    T = rate_per_s.shape[0]
    t, d, k = np.nonzero((host >= 0) & (share > 0))
    reach = np.zeros((T, n_models, n_hosts))
    np.add.at(reach, (t, model[t, d, k], host[t, d, k]), rate_per_s[t, d])
    return reach.max(axis=0, initial=0.0)


def diurnal_factor(profile: Sequence[float] | None, utc_h: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """[epoch, site] the rate multiplier at each epoch's UTC hour `utc_h` [epoch] for sites at longitude
    `lon_deg` [site]: the profile (normalised to a mean of 1) at the site's mean solar time, UTC + lon / 15 h,
    which is within about an hour of civil time in most time zones. Ones without a profile."""
    if profile is None:
        return np.ones((len(utc_h), len(lon_deg)))
    profile = np.asarray(profile, float)
    if profile.shape != (24,) or not (np.isfinite(profile).all() and (profile >= 0).all() and profile.sum() > 0):
        raise InputError(f"{profile.size} values, smallest {profile.min() if profile.size else None}", field="diurnal",
                         expected="24 finite rates >= 0 (one per local hour), not all 0")
    local_h = np.mod(np.asarray(utc_h, float)[:, None] + np.asarray(lon_deg, float)[None, :] / 15.0, 24.0)
    return profile[np.minimum(local_h.astype(int), 23)] / profile.mean()


# The hardware profile of each host kind unless a config or caller names another (problem/data/hosts.csv).
DEFAULT_PROFILES = {"satellite": "satellite-orin", "gateway": "gateway-l4", "cloud": "cloud-h100"}


def _profile(kind: str) -> HostProfile:
    return host_profiles()[DEFAULT_PROFILES[kind]]


@dataclasses.dataclass(frozen=True)
class HostOptions:
    """Hardware, links, jurisdiction and prices of the hosts (defaults: the catalog's profiles)."""

    satellite: HostProfile = dataclasses.field(default_factory=lambda: _profile("satellite"))
    gateway: HostProfile = dataclasses.field(default_factory=lambda: _profile("gateway"))
    cloud: HostProfile = dataclasses.field(default_factory=lambda: _profile("cloud"))
    power: SatellitePower = dataclasses.field(default_factory=satellite_power)
    satellite_jurisdiction: str = "US"  # Starlink's state of registry (FCC-licensed)
    # Starlink V2 Mini: ~96 Gbps of user downlink, about 4x a V1.5 (starlink_performance_facts.csv);
    # Gen1 satellites are V1.0/V1.5, so about 24 Gbps.
    satellite_link_gbps: float = 24.0
    gateway_link_gbps: float = 100.0  # a multi-antenna Ka gateway site (assumption)
    cloud_link_gbps: float | None = None  # regions are fiber-fed: None, no limit modelled
    terminals_per_site: int = 1  # per demand unit; each terminal talks to one satellite at a time
    opening_cost: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)  # per epoch a copy is placed, by host kind (HOST_KINDS)
    # A host at every demand site (an on-premise or on-device accelerator: kind 'local'); None: no local tier.
    local: HostProfile | None = None
    local_devices_per_unit: int = 1  # devices of the local profile per demand unit (the phones of a beam)
    # One per gateway, in the order of the gateways (empty: `gateway` and `gateway_link_gbps` for all).
    gateway_profiles: tuple[HostProfile, ...] = ()
    gateway_links_gbps: tuple[float, ...] = ()


@dataclasses.dataclass(frozen=True)
class ProblemOptions:
    """How the network's candidates become a placement problem: which hosts each demand is offered, the
    placement mode and the prices (the config's [problem] section adds the epoch length)."""

    placement: Literal["fixed", "per_epoch"] = option(
        "per_epoch", help="'fixed': one placement for the horizon; 'per_epoch': re-placed every epoch (copies "
                          "follow the satellites), uploads paid and carried by the host link")
    migration_cost_per_gb: float = option(0.0, check=non_negative, expected=NON_NEGATIVE,
                                          help="cost of uploading 1 GB of model weights to a host, request-ms")
    unserved_penalty_ms: float = option(10_000.0, check=non_negative, expected=NON_NEGATIVE,
                                        help="cost of a request not served, request-ms")
    serve_all: bool = option(False, help="every request must be served (no unserved option; may be infeasible)")
    single_source: bool = option(False, help="each demand served by one host per epoch")
    queueing: bool = option(True, help="requests wait for an accelerator: M/D/c waiting, a convex function of "
                                       "each host's utilisation, counted in every request's latency")
    battery: Literal["carry", "epoch"] = option(
        "carry", help="'carry': each satellite's battery share is full at the start and carried from epoch to "
                      "epoch (charged by what the panels give compute and it does not draw, drawn in eclipse); "
                      "'epoch': each epoch's average power budget, sized by the longest eclipse")
    slo_mode: Literal["report", "penalty", "constraint"] = option(
        "report", help="'report': SLO attainment reported only; 'penalty': slo_penalty_ms per request served over "
                       "its SLO (latency before waiting); 'constraint': slots over the SLO are not used, nor are "
                       "slots whose host's mean wait (with queueing) would exceed what the SLO leaves them")
    slo_penalty_ms: float = option(0.0, check=non_negative, expected=NON_NEGATIVE,
                                   help="objective added per request served over its SLO (slo_mode 'penalty')")
    utilization_ceiling: float = option(
        0.95, check=lambda x: 0 < x < 1, expected="a share in (0, 1)",
        help="the largest share of a host's compute it may be loaded to (with queueing, where the wait grows "
             "without bound as the load nears 1: at 0.95 an M/D/1 request waits 9.5 service times)")
    measured_service: bool = option(
        True, help="use the catalog's published batch-1 times (measured.csv) where a model has one on a host's "
                   "profile, instead of the roofline")
    batch_size: int = option(1, check=lambda x: x >= 1, expected="an integer >= 1",
                             help="requests a copy of a language model or detector serves together (others: 1); "
                                  "above 1 each request waits (b - 1) / (2 x its copy's rate) for its batch to "
                                  "fill and occupies an accelerator for t(b) / b (placement.problem.batching)")
    batch_rule: Literal["fixed", "load"] = option(
        "fixed", help="'fixed': batch_size at every host; 'load': per (model, host) the power of two up to "
                      "batch_size that minimises a request's compute, batch and queue wait at the rate of the "
                      "model's demands that can reach the host (placement.problem.batching)")
    price_per_kwh: list[float] = option(
        [], check=lambda v: len(v) in (0, len(HOST_KINDS)) and all(0 <= x < float("inf") for x in v),
        expected="4 finite prices >= 0 (satellite, gateway, cloud, local), or none",
        help="money reported per strategy in metrics.json, not in the objective: the price of 1 kWh of "
             "accelerator energy by host kind (no default: no sourced price ships)")
    price_per_gb_upload: list[float] = option(
        [], check=lambda v: len(v) in (0, len(HOST_KINDS)) and all(0 <= x < float("inf") for x in v),
        expected="4 finite prices >= 0 (satellite, gateway, cloud, local), or none",
        help="money reported per strategy: the price of uploading 1 GB of weights to a host of each kind, paid "
             "for every copy's first placement and each migration (no default)")
    enforce_jurisdictions: bool = option(
        True, help="honour the workloads' allowed jurisdictions; false lifts them all, to measure what data "
                   "sovereignty costs (configs/sovereignty.toml)")
    transit: Literal["workloads", "processing", "landing", "overflight"] = option(
        "workloads", help="the transit rule of every workload with allowed jurisdictions ('workloads': each its "
                          "own `transit`): 'processing' checks the host only, 'landing' also the gateway, point "
                          "of presence and fiber of each path, 'overflight' also the countries beneath its "
                          "satellites (configs/sovereignty.toml compares them)")
    gateway_candidates: int = option(2, check=lambda x: x >= 0, expected=NON_NEGATIVE_INTEGER,
                                     help="nearest gateways (where the demand allows) offered to each demand")
    cloud_candidates: int = option(2, check=lambda x: x >= 0, expected=NON_NEGATIVE_INTEGER,
                                   help="nearest cloud regions (where the demand allows) offered to each demand")

    def __post_init__(self):
        check_fields(self)


def transit_group(workload: Workload, options: ProblemOptions) -> TransitGroup | None:
    """The group whose network the workload's demands route on (network.transit); None: the open network (rule
    'processing', or no allowed jurisdictions in force)."""
    if workload.allowed_jurisdictions is None or not options.enforce_jurisdictions:
        return None
    rule = workload.transit if options.transit == "workloads" else options.transit
    if rule not in TRANSIT_RULES:
        raise InputError(f"{rule!r}", source="Workload", field="transit", expected="one of " + ", ".join(TRANSIT_RULES))
    return None if rule == "processing" else TransitGroup(rule, expand_jurisdictions(workload.allowed_jurisdictions))


def _workload_sites(workload: Workload, n_sites: int) -> Sequence[int]:
    return range(n_sites) if workload.sites is None else workload.sites


def demand_transit_groups(workloads: Sequence[Workload], n_sites: int,
                          options: ProblemOptions) -> list[TransitGroup | None]:
    """[demand] the transit group of each demand `build_problem` makes of `workloads` (None: the open network)."""
    return [transit_group(w, options) for w in workloads for _ in _workload_sites(w, n_sites)]


def demand_networks(network: NetworkTensors, transit: Mapping[TransitGroup, TransitNetwork],
                    workloads: Sequence[Workload], n_sites: int, options: ProblemOptions) -> list[NetworkTensors]:
    """[demand] the network each demand's candidates come from: `network`, or its transit group's."""
    return [network if g is None else transit[g].network for g in demand_transit_groups(workloads, n_sites, options)]


def build_problem(network: NetworkTensors, epoch_s: Sequence[float], sunlit_fraction: np.ndarray,
                  sites: GroundNodes, gateways: GroundNodes, clouds: GroundNodes,
                  models: Sequence[ModelSpec], workloads: Sequence[Workload], hosts: HostOptions | None = None,
                  options: ProblemOptions = ProblemOptions(), *, site_units: Sequence[int] | None = None,
                  satellite_names: Sequence[str] | None = None, covered: bool = True,
                  epoch_utc_h: Sequence[float] | None = None,
                  transit: Mapping[TransitGroup, TransitNetwork] | None = None) -> PlacementProblem:
    """`network` holds each epoch's candidates folded from its network steps (network.epochs), `epoch_s`
    [epoch] the epochs' lengths and `sunlit_fraction` [epoch, satellite] the satellites' mean sunlight in them.
    `site_units` [site] (default ones) multiplies each site's request rates and terminals. `satellite_names` name
    the satellite hosts (default sat0, sat1, ...; e.g. a catalog's names). `covered`: the problem of the
    requests issued while their site has an access satellite (`cover`); False: of every request issued.
    `epoch_utc_h` [epoch]: the UTC hour of day at each epoch's middle, which a workload's diurnal profile
    needs (its rates then vary by epoch with each site's local time). `transit` holds the network of each
    `transit_group` of the workloads (network.transit.transit_network), which their demands' candidates and
    `candidate_transit` come from."""
    hosts = HostOptions() if hosts is None else hosts
    epoch_s = np.asarray(epoch_s, dtype=float)
    T = network.n_epochs
    if epoch_s.shape != (T,) or not np.all(epoch_s > 0):
        raise InputError(f"shape {epoch_s.shape}", field="epoch_s", expected=f"{T} positive durations, one per epoch")
    n_sat = np.asarray(sunlit_fraction).shape[1]
    if np.asarray(sunlit_fraction).shape[0] != T:
        raise InputError(f"shape {np.asarray(sunlit_fraction).shape}", field="sunlit_fraction",
                         expected=f"[epoch = {T}, satellite]")
    G, C, S = len(gateways.name), len(clouds.name), len(sites.name)
    n_local = S if hosts.local is not None else 0
    H = n_sat + G + C + n_local
    units = np.ones(S) if site_units is None else np.asarray(site_units, dtype=float)
    if units.shape != (S,) or not np.all(units >= 1):
        raise InputError(f"shape {units.shape}, smallest {units.min() if units.size else None}", field="site_units",
                         expected=f"one count >= 1 per site ({S})")
    for name, given in (("gateway_profiles", hosts.gateway_profiles), ("gateway_links_gbps", hosts.gateway_links_gbps)):
        if given and len(given) != G:
            raise InputError(f"{len(given)} entries for {G} gateways", source="HostOptions", field=name,
                             expected="one per gateway, or none")
    if epoch_utc_h is None and any(w.diurnal is not None for w in workloads):
        raise InputError("a workload has a diurnal profile but the epochs' times are not given", field="epoch_utc_h",
                         expected="the UTC hour of each epoch's middle")
    choices = [model_options(w, models, f"workloads[{i}]") for i, w in enumerate(workloads)]
    demand_group = demand_transit_groups(workloads, S, options)
    missing = [g for g in demand_group if g is not None and g not in (transit or {})]
    if missing:
        raise InputError(f"no network for transit group {missing[0].label!r}", field="transit",
                         expected="the network of every workload's transit group (network.transit.transit_network)")

    # Demands: one per (workload, site).
    demand_site, demand_model, rate, slo, names, allowed_sets, demand_options, choice_cost = ([] for _ in range(8))
    for w, (workload_options, costs) in zip(workloads, choices):
        for s in _workload_sites(w, S):
            demand_site.append(s)
            demand_model.append(workload_options[0])
            demand_options.append(workload_options)
            row = np.zeros(len(models))
            row[workload_options] = costs
            choice_cost.append(row)
            rate.append(w.rate_per_s * units[s]
                        * diurnal_factor(w.diurnal, np.zeros(T) if epoch_utc_h is None else epoch_utc_h,
                                         sites.lon_deg[s:s + 1])[:, 0])
            slo.append(w.slo_ms)
            names.append(f"{w.model}@{sites.name[s]}")
            allowed_sets.append(None if w.allowed_jurisdictions is None or not options.enforce_jurisdictions
                                else expand_jurisdictions(w.allowed_jurisdictions))
    demand_site = np.asarray(demand_site, dtype=int)
    host_country = ([hosts.satellite_jurisdiction] * n_sat + list(gateways.country) + list(clouds.country)
                    + list(sites.country)[:n_local])
    touched = {c for g in set(demand_group) if g is not None for c in transit[g].countries}
    jurisdictions = tuple(sorted(set(host_country) | {j for a in allowed_sets if a for j in a} | touched))
    allowed = np.array([[a is None or j in a for j in jurisdictions] for a in allowed_sets], bool).reshape(-1, len(jurisdictions))

    # Candidates per (epoch, site): the satellite hosts, then the nearest gateways and cloud regions (by mean
    # latency over the epoch) in a jurisdiction the demand allows (one set per site and distinct allowed set).
    networks = demand_networks(network, transit or {}, workloads, S, options)
    demand_hosts = [w.hosts for w in workloads for _ in _workload_sites(w, S)]
    for i, w in enumerate(workloads):
        unknown = sorted(set(w.hosts or ()) - set(gateways.name) - set(clouds.name))
        if unknown:
            raise InputError(f"unknown host {unknown[0]!r}", field=f"workloads[{i}].hosts",
                             expected="names of gateways or cloud regions of the network")
    slots = _site_slots(networks, n_sat, gateways, clouds, allowed_sets, demand_hosts, demand_site, options)
    if n_local:
        slots = _with_local_slots(slots, demand_site, n_sat + G + C)
    slots, candidate_model = _with_model_options(slots, demand_options)
    cand, cand_ms, cand_up, cand_down, cand_share = (slots[f] for f in ("host", "latency_ms", "up_gbps",
                                                                         "down_gbps", "share"))
    # A site's terminals (per demand unit) carry requests up and responses down.
    uplink, downlink = (hosts.terminals_per_site * units * g for g in (network.site_up_gbps, network.site_down_gbps))

    kind = np.array([SATELLITE] * n_sat + [GATEWAY] * G + [CLOUD] * C + [LOCAL] * n_local, np.int8)
    gateway_profiles = hosts.gateway_profiles or (hosts.gateway,) * G

    def profile(field):  # a profile without a figure (None) does not limit
        value = lambda p: np.inf if getattr(p, field) is None else getattr(p, field)  # noqa: E731
        local = np.full(n_local, value(hosts.local) if n_local else 0.0)
        if n_local and field == "peak_flops_s":
            local = local * units * hosts.local_devices_per_unit  # the devices of every demand unit of the site
        return np.concatenate([np.full(n_sat, value(hosts.satellite)), [value(p) for p in gateway_profiles],
                               np.full(C, value(hosts.cloud)), local]).astype(float)
    host_profile = ([hosts.satellite] * n_sat + list(gateway_profiles) + [hosts.cloud] * C
                    + [hosts.local] * n_local)
    measured = measured_services() if options.measured_service else {}
    rate_per_s = np.asarray(rate, float).reshape(len(names), T).T  # [epoch, demand]
    sizes = options.batch_size
    if options.batch_rule == "load":
        reach = _reach_rate_per_s(rate_per_s, cand, candidate_model,
                                  cand_share, len(models), H)
        accelerators = servers(profile("peak_flops_s"), profile("service_flops_s"))
        sizes = batch_sizes_for_load(models, host_profile, options.batch_size, measured, reach, accelerators,
                                     options.utilization_ceiling)
    batch_size, batch_s = batch_seconds(models, host_profile, sizes, measured)
    if options.batch_size > 1 and np.ptp(epoch_s) > 0:
        raise InputError(f"epochs of {epoch_s.min():g} to {epoch_s.max():g} s", field="epoch_s",
                         expected="epochs of one length with batch_size > 1 (the batch wait is priced per copy-epoch)")
    sunlit = np.asarray(sunlit_fraction, dtype=float)  # [epoch, sat]
    # Ground hosts draw mains (or a platform's) power: no budget; local devices likewise (assumption).
    ground = np.full((T, G + C + n_local), np.inf)
    harvest = battery = None
    if options.battery == "carry":
        # The panels give compute sun_w while sunlit; the battery share may supply the module's whole draw.
        power = np.concatenate([np.full((T, n_sat), hosts.power.sun_w), ground], axis=1)
        harvest = np.concatenate([np.nan_to_num(sunlit, nan=0.0) * hosts.power.sun_w, ground], axis=1)
        battery = np.concatenate([np.full(n_sat, hosts.power.usable_battery_j), np.zeros(H - n_sat)])
    else:
        power = np.concatenate([hosts.power.power_budget_w(np.nan_to_num(sunlit, nan=0.0)), ground], axis=1)
    link = np.concatenate([np.full(n_sat, hosts.satellite_link_gbps),
                           hosts.gateway_links_gbps or np.full(G, hosts.gateway_link_gbps),
                           np.full(C, np.inf if hosts.cloud_link_gbps is None else hosts.cloud_link_gbps),
                           np.full(n_local, np.inf)]).astype(float)
    # A satellite whose propagation failed (NaN sunlight) is not a host that epoch.
    failed = np.zeros((T, H), bool)
    failed[:, :n_sat] = np.isnan(sunlit)
    cand = np.where((cand >= 0) & failed[np.arange(T)[:, None, None], np.maximum(cand, 0)], -1, cand)

    problem = PlacementProblem(
        host_name=host_names(satellite_names, n_sat, gateways, clouds, sites.name[:n_local]),
        host_kind=kind,
        host_jurisdiction=np.array([jurisdictions.index(c) for c in host_country]), jurisdictions=jurisdictions,
        memory_bytes=profile("memory_bytes"), peak_flops_s=profile("peak_flops_s"),
        service_flops_s=profile("service_flops_s"), flops_per_joule=profile("flops_per_joule"),
        power_budget_w=power, link_gbps=np.broadcast_to(link, (T, H)),
        model_name=[m.name for m in models], model_flops=[m.flops_per_inference for m in models],
        model_memory_bytes=[m.memory_bytes for m in models],
        model_memory_traffic_bytes=[m.memory_traffic_bytes for m in models],
        memory_bandwidth_bytes_s=profile("achievable_bandwidth_bytes_s"),
        demand_name=names, demand_model=demand_model, demand_site=demand_site,
        rate_per_s=rate_per_s,
        request_bytes=[models[m].request_bytes for m in demand_model],
        response_bytes=[models[m].response_bytes for m in demand_model],
        slo_ms=slo, allowed=allowed, site_name=sites.name, site_uplink_gbps=uplink, site_downlink_gbps=downlink,
        candidate_host=cand, candidate_rtt_ms=2.0 * cand_ms, candidate_up_gbps=cand_up,
        candidate_down_gbps=cand_down, candidate_share=cand_share, candidate_model=candidate_model,
        choice_cost_ms=np.array(choice_cost).reshape(len(names), len(models)),
        epoch_s=epoch_s, opening_cost=np.where(  # a bulk flow's "copy" (placement.problem.bulk) is free
            np.array([m.task == BULK_TASK for m in models])[:, None], 0.0,
            np.select([kind == k for k in range(len(HOST_KINDS))], list(hosts.opening_cost))
            + formation_request_ms(batch_size, epoch_s.max())), batch_size=batch_size, batch_s=batch_s,
        migration_cost_per_gb=options.migration_cost_per_gb,
        unserved_penalty_ms=None if options.serve_all else options.unserved_penalty_ms,
        placement=options.placement, single_source=options.single_source,
        queueing=options.queueing, utilization_ceiling=options.utilization_ceiling,
        slo_mode=options.slo_mode, slo_penalty_ms=options.slo_penalty_ms, harvest_w=harvest, battery_j=battery,
        candidate_transit=None if all(g is None for g in demand_group) else _slot_transit(
            cand, demand_site, demand_group, transit, n_sat, list(gateways.country), jurisdictions))
    return cover(problem, network.site_coverage) if covered else problem


def cover(problem: PlacementProblem, site_coverage: np.ndarray) -> PlacementProblem:
    """The problem of the requests issued while their site has an access satellite, `site_coverage` [epoch,
    site] the share of each epoch's steps in which it has one (network.epochs).

    Every route starts at the access satellite, so in the other steps no host is reachable at all, and the
    slots' shares (12) are all missing in those same steps: bounded one by one, they could add up to more
    than the site is covered (two regions each reachable 75% of an epoch do not serve 100% of it). Requests
    are spread evenly over an epoch, so the covered ones are the rate times the coverage, and each slot's
    share becomes its share of the covered steps (the reachable steps are among them). The requests left
    out are an outage no placement can serve, reported apart (`outage_share`)."""
    coverage = np.asarray(site_coverage, float)[:, problem.demand_site]  # [epoch, demand]
    # A demand with a host at its site is served there in a gap too: its requests all stay, and its network
    # slots are bounded one by one (12).
    local = ((problem.candidate_host >= 0) & ~problem.via_site()).any(axis=(0, 2))
    coverage = np.where(local[None, :], 1.0, coverage)
    if (coverage >= 1.0).all():
        return problem
    per_slot = coverage[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(per_slot > 0, np.minimum(problem.candidate_share / per_slot, 1.0), 0.0)
    return dataclasses.replace(problem, rate_per_s=problem.rate_per_s * coverage, candidate_share=share)


def outage_share(issued: PlacementProblem, covered: PlacementProblem) -> float:
    """The share of the issued requests that no placement can serve: issued while their site had no access
    satellite (`cover`)."""
    total = issued.requests().sum()
    return float(1.0 - covered.requests().sum() / total) if total > 0 else 0.0


LOCAL_LINK_GBPS = 10.0  # camera or phone to an accelerator beside it: a 10 GbE LAN or on-device (assumption)


def local_host_name(site: str) -> str:
    return f"{site} (local)"


def host_names(satellite_names: Sequence[str] | None, n_sat: int, gateways: GroundNodes, clouds: GroundNodes,
               local_sites: Sequence[str]) -> tuple[str, ...]:
    """The hosts' names in their order: satellites (sat0, sat1, ... without names), gateways, cloud regions,
    then the local host of each site of `local_sites`."""
    satellites = list(satellite_names) if satellite_names is not None else [f"sat{i}" for i in range(n_sat)]
    return tuple(satellites + list(gateways.name) + list(clouds.name) + [local_host_name(s) for s in local_sites])


def _with_local_slots(slots: dict[str, np.ndarray], demand_site: np.ndarray, first: int) -> dict[str, np.ndarray]:
    """The candidate slots with one more per demand: the host at its site (host index first + site), no
    propagation, the local link both ways, reachable for the whole epoch."""
    T, D = slots["host"].shape[:2]
    extra = {"host": np.broadcast_to(first + demand_site, (T, D)), "latency_ms": np.zeros((T, D)),
             "p95_ms": np.zeros((T, D)),
             "up_gbps": np.full((T, D), LOCAL_LINK_GBPS), "down_gbps": np.full((T, D), LOCAL_LINK_GBPS),
             "share": np.ones((T, D))}
    return {f: np.concatenate([slots[f], extra[f][:, :, None].astype(slots[f].dtype)], axis=2) for f in slots}


def _with_model_options(slots: dict[str, np.ndarray], options: list[list[int]]) -> tuple[dict, np.ndarray]:
    """The candidate slots once per model option of each demand (a demand with fewer options than the most
    gets padding), and the model [epoch, demand, slot] of each."""
    T, D, K = slots["host"].shape
    n = max(len(o) for o in options)
    model = np.array([(o + [o[0]] * (n - len(o))) for o in options])  # [D, n]
    real = np.arange(n)[None, :] < np.array([len(o) for o in options])[:, None]  # [D, n]
    padding = {"host": -1, "latency_ms": 0.0, "p95_ms": 0.0, "up_gbps": 1.0, "down_gbps": 1.0, "share": 0.0}
    out = {f: np.where(np.repeat(real, K, axis=1)[None], np.tile(a, (1, 1, n)), padding[f]).astype(a.dtype)
           for f, a in slots.items()}
    return out, np.broadcast_to(np.repeat(model, K, axis=1)[None], (T, D, K * n))


def _site_slots(networks: list[NetworkTensors], n_sat: int, gateways: GroundNodes, clouds: GroundNodes,
                allowed_sets: list, demand_hosts: list, demand_site: np.ndarray,
                options: ProblemOptions) -> dict[str, np.ndarray]:
    """[epoch, demand, slot] of "host" (host index: satellites, then gateways, then clouds; -1 padding) and of
    each candidate field: the satellite hosts, then the demand's nearest allowed gateways and cloud regions,
    from the network each demand routes on (`networks` [demand]); only the named ones of a demand restricted to
    some hosts (`demand_hosts` [demand]: names, or None)."""
    G = len(gateways.name)
    out: dict[str, np.ndarray] = {}
    for a, network, named in dict.fromkeys(zip(allowed_sets, networks, demand_hosts)):
        parts = [_nearest(network.satellites, None if named is None else np.zeros(n_sat, bool),
                          network.satellites.host.shape[2], 0),
                 _nearest(network.gateways, _allows(gateways, a, named), options.gateway_candidates, n_sat),
                 _nearest(network.clouds, _allows(clouds, a, named), options.cloud_candidates, n_sat + G)]
        mine = np.array([b == a and n is network and h == named
                         for b, n, h in zip(allowed_sets, networks, demand_hosts)], bool)
        for field in parts[0]:
            joined = np.concatenate([part[field] for part in parts], axis=2)[:, demand_site[mine]]
            out.setdefault(field, np.empty((joined.shape[0], len(allowed_sets), joined.shape[2]), joined.dtype))
            out[field][:, mine] = joined
    return out


def _allows(nodes: GroundNodes, jurisdictions: tuple[str, ...] | None, named: tuple[str, ...] | None) -> np.ndarray:
    """[node] whether a demand may use each ground node: in its allowed jurisdictions, and among its named
    hosts (None: no restriction)."""
    return np.array([(jurisdictions is None or c in jurisdictions) and (named is None or n in named)
                     for c, n in zip(nodes.country, nodes.name)], bool)


def _slot_transit(cand: np.ndarray, demand_site: np.ndarray, demand_group: list, transit, n_sat: int,
                  gateway_country: list[str], jurisdictions: tuple[str, ...]) -> np.ndarray:
    """[epoch, demand, slot, jurisdiction] what each slot's path touches that its demand's rule checks: a
    gateway host's own country (where the path lands), and for a cloud region the countries of the gateway,
    PoP and region of its route at each step (TransitNetwork.cloud_touched); nothing for the demands of the
    'processing' rule. A satellite path's overflights are ruled out by its network, not recorded."""
    T, D, K = cand.shape
    G = len(gateway_country)
    column = {c: i for i, c in enumerate(jurisdictions)}
    out = np.zeros((T, D, K, len(jurisdictions)), bool)
    for d, group in enumerate(demand_group):
        if group is None:
            continue
        host = cand[:, d]  # [epoch, slot]
        t, k = np.nonzero((host >= n_sat) & (host < n_sat + G))
        out[t, d, k, [column[gateway_country[h]] for h in host[t, k] - n_sat]] = True
        record = transit[group]
        n_cloud = record.cloud_touched.shape[2]
        t, k = np.nonzero((host >= n_sat + G) & (host < n_sat + G + n_cloud))
        touched = np.zeros((t.size, len(jurisdictions)), bool)
        touched[:, [column[c] for c in record.countries]] = record.cloud_touched[t, demand_site[d],
                                                                                 host[t, k] - n_sat - G]
        out[t, d, k] |= touched
    return out


def _nearest(candidates: Candidates, allowed: np.ndarray | None, k: int, offset: int) -> dict[str, np.ndarray]:
    """The k candidates of each (epoch, site) with the lowest mean latency among the reachable `allowed` hosts
    [host] (None: keep the slots as they are), hosts shifted by `offset`; padding: host -1, latency 0, rates 1,
    share 0 (values PlacementProblem accepts on empty slots)."""
    ms = candidates.latency_ms
    ok = (candidates.host >= 0) & (candidates.share > 0)
    if allowed is not None:
        ok &= allowed[np.maximum(candidates.host, 0)]
    k = min(k, ms.shape[2])
    order = np.argsort(np.where(ok, ms, np.inf), axis=2, kind="stable")[:, :, :k]
    kept = np.take_along_axis(ok, order, 2)
    pick = lambda a, fill: np.where(kept, np.take_along_axis(a, order, 2), fill)  # noqa: E731
    return {"host": pick(candidates.host + offset, -1), "latency_ms": pick(ms, 0.0),
            "p95_ms": pick(candidates.p95_ms, 0.0), "up_gbps": pick(candidates.up_gbps, 1.0),
            "down_gbps": pick(candidates.down_gbps, 1.0), "share": pick(candidates.share, 0.0)}


def slot_p95_rtt_ms(network: NetworkTensors, problem: PlacementProblem,
                    routed_on: Sequence[NetworkTensors] | None = None) -> np.ndarray:
    """[epoch, demand, slot] the 95th percentile of each candidate's round trip over the epoch's network steps
    (twice the one-way p95 of network.epochs), from the network the problem was built from (`routed_on`
    [demand]: each demand's, `demand_networks`, where transit rules gave some their own); NaN on padding."""
    if routed_on is not None:
        p95 = np.empty(problem.candidate_host.shape)
        for routed in dict.fromkeys(routed_on):
            mine = np.array([n is routed for n in routed_on])
            p95[:, mine] = slot_p95_rtt_ms(routed, problem)[:, mine]
        return p95
    T, D, K = problem.candidate_host.shape
    n_sat = int((problem.host_kind == SATELLITE).sum())
    G = int((problem.host_kind == GATEWAY).sum())
    t = np.broadcast_to(np.arange(T)[:, None, None], (T, D, K))
    site = np.broadcast_to(problem.demand_site[None, :, None], (T, D, K))
    host = problem.candidate_host
    sats = network.satellites
    match = sats.host[t, site] == host[..., None]  # [T, D, K, satellite slots]
    p95 = np.where(match, sats.p95_ms[t, site], -np.inf).max(axis=-1, initial=-np.inf)
    ground = host >= n_sat
    gateway = ground & (host < n_sat + G)
    p95 = np.where(gateway, network.gateways.p95_ms[t, site, np.clip(host - n_sat, 0, G - 1)], p95)
    n_cloud = network.clouds.p95_ms.shape[2]
    cloud = (host >= n_sat + G) & (host < n_sat + G + n_cloud)
    p95 = np.where(cloud, network.clouds.p95_ms[t, site, np.clip(host - n_sat - G, 0, n_cloud - 1)], p95)
    p95 = np.where(problem.host_kind[np.maximum(host, 0)] == LOCAL, 0.0, p95)  # at the site: no network
    return np.where(host >= 0, 2.0 * p95, np.nan)
