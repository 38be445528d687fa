"""A config resolved once into a config-free `Scenario`: everything a run needs, every reference checked.

`resolve(config)` reads the files a config names (element sets, site tables), looks up every name (built-in
constellations and shells, sites, models, hardware profiles, points of presence, jurisdictions) and parses
every time, raising `InputError` with the config file and field for anything wrong, before any computation.
`placement validate`, the sweep's pre-check and `placement run` all call it, so they accept and reject the
same configs. What comes out holds no config: the library, benchmarks and tests build a `Scenario` in code
(`Scenario(constellation=Constellation.walker(...), horizon=Horizon(...), ...)`) and run the same stages
(`placement.pipeline.placement_problem`).

`resolve_propagation(config)` is the smaller resolution of `placement propagate`: the satellites and the
time grid.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from placement.config import Config, config_to_dict
from placement.constellation import Elements, format_tle, read_elements, walker
from placement.errors import InputError
from placement.failures import FailureSpec, check_names
from placement.network import ground as ground_tables
from placement.network.access import Reach
from placement.network.ground import GroundNodes
from placement.network.isl import read_laser_list
from placement.network.links import DIRECT_TO_CELL, DIRECT_TO_CELL_UPLINK, KU_USER_DOWNLINK, KU_USER_UPLINK, LinkBudget
from placement.network.tensors import Ground, NetworkSpec
from placement.network.weather import Weather
from placement.problem import bulk, catalog
from placement.problem.build import (JURISDICTION_GROUPS, HostOptions, ProblemOptions, Workload, expand_jurisdictions,
                                     host_names, model_options)
from placement.problem.catalog import ModelSpec
from placement.propagation.timegrid import Horizon, TimeGrid, parse_utc
from placement.scenario_checks import MAX_STEPS, check_element_age, check_in_orbit, check_memory, check_steps
from placement.solvers import SOLVERS

# User terminal elevation masks in the filings (FCC; constellation_shells.csv of the reference set): Starlink
# Gen1 25 deg (FCC SAT-MOD-20181108-00083), Kuiper 35 deg (FCC SAT-LOA-20190704-00057). A comparison of the
# two keeps each system's own mask unless network.site_min_elevation_deg says otherwise.
FILED_SITE_MIN_ELEVATION_DEG = {"starlink-gen1": 25.0, "kuiper": 35.0}
DEFAULT_SITE_MIN_ELEVATION_DEG = 25.0
# (uplink, downlink) of each kind of site terminal
SITE_LINKS = {"ku-terminal": (KU_USER_UPLINK, KU_USER_DOWNLINK),
              "direct-to-cell": (DIRECT_TO_CELL_UPLINK, DIRECT_TO_CELL)}


@dataclasses.dataclass(frozen=True, eq=False)
class Constellation:
    """The satellites: their mean elements, and the Walker shells they were generated from (None for a
    catalog), whose own +Grid the lasers follow; a catalog's lasers are a given list, or inferred from its
    orbits."""

    elements: Elements
    shells: tuple[walker.WalkerShell, ...] | None = None
    label: str = "constellation"  # a built-in's name or the catalog file's
    rejected_records: int = 0  # malformed records skipped while reading the catalog
    lasers: np.ndarray | None = None  # [sat, 4] neighbour slots of a given laser list (network.isl)

    @classmethod
    def walker(cls, shells: tuple[walker.WalkerShell, ...], epoch: str = "2026-02-24T00:00:00Z", *,
               bstar: float = 0.0, label: str = "walker") -> Constellation:
        jd, fr = parse_utc(epoch, field="epoch")
        return cls(walker.constellation(shells, jd, fr, bstar=bstar), tuple(shells), label)

    @property
    def satellite_names(self) -> tuple[str, ...] | None:
        """The satellites' names when they tell them apart (host names in results), else None."""
        names = self.elements.name
        return tuple(names) if len(set(names)) == len(names) else None


@dataclasses.dataclass(frozen=True, eq=False)
class GroundSegment:
    """Gateways, points of presence, the PoP each gateway reaches fiber at (-1: none) and the cloud regions."""

    gateways: GroundNodes
    pops: GroundNodes
    gateway_pop: np.ndarray  # [gateway] index into pops, -1: reached only through the satellites
    clouds: GroundNodes
    fiber_route_factor: float = ground_tables.DEFAULT_FIBER_ROUTE_FACTOR

    @classmethod
    def shipped(cls, cloud_provider: str | None = "azure",
                fiber_route_factor: float = ground_tables.DEFAULT_FIBER_ROUTE_FACTOR) -> GroundSegment:
        """The shipped tables (placement/network/data/), each gateway at its nearest point of presence."""
        gateways, pops = ground_tables.gateways(), ground_tables.pops()
        return cls(gateways, pops, ground_tables.nearest(gateways, pops),
                   ground_tables.cloud_regions(cloud_provider), fiber_route_factor)

    def arrays(self, sites: GroundNodes) -> Ground:
        """The network stage's ground arrays for these demand sites."""
        return Ground.from_nodes(sites, self.gateways, self.pops, self.clouds, self.fiber_route_factor,
                                 gateway_pop=self.gateway_pop)

    def positions(self) -> dict[str, tuple[float, float]]:
        """Latitude and longitude (deg) of every gateway and cloud region by name (hosts on the ground)."""
        return {name: (lat, lon) for nodes in (self.gateways, self.clouds)
                for name, lat, lon in zip(nodes.name, nodes.lat_deg, nodes.lon_deg)}


@dataclasses.dataclass(frozen=True, eq=False)
class Demand:
    """Where requests come from: sites, the demand units each stands for, the workloads and their models."""

    sites: GroundNodes
    workloads: tuple[Workload, ...]
    models: tuple[ModelSpec, ...] = ()  # the workloads' models (default: looked up in the catalog)
    site_units: np.ndarray | None = None  # [site] (default: one unit per site)

    def __post_init__(self):
        if not self.models:
            object.__setattr__(self, "models", catalog.models(sorted({m for w in self.workloads
                                                                       for m in (w.model, *w.alternatives)})))
        units = np.ones(len(self.sites), int) if self.site_units is None else np.asarray(self.site_units, int)
        object.__setattr__(self, "site_units", units)


@dataclasses.dataclass(frozen=True, eq=False)
class Scenario:
    """Everything a run needs, config-free: the satellites, the horizon, the ground segment, the demand, the
    hosts' hardware, the link rules, how the problem is formed and which strategies solve it with which
    options. `config` is the resolved config as plain data when the scenario came from one (a run directory
    records it, so the run can be repeated), None when built in code."""

    constellation: Constellation
    horizon: Horizon
    ground: GroundSegment
    demand: Demand
    hosts: HostOptions = dataclasses.field(default_factory=HostOptions)
    network: NetworkSpec = NetworkSpec()
    problem: ProblemOptions = ProblemOptions()
    strategies: tuple[str, ...] = ("milp", "greedy", "nearest_gateway", "cloud_only")
    solver_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # name -> options (else preset)
    certify: bool = True  # heuristics carry the LP relaxation's bound (milp options' solver and time limit)
    precision: str = "float32"  # of propagation and network
    chunk_steps: int = 1440  # network steps propagated and routed per device call
    seed: int = 0
    name: str = "scenario"
    config: dict | None = None
    source: str | None = None  # the config file (relative paths in `config` resolve from its folder)
    warnings: tuple[str, ...] = ()  # what resolution found doubtful but not wrong (said and recorded by a run)
    weather: Weather | None = None  # the rain fade state of the ground links (None: clear sky)
    failures: FailureSpec = FailureSpec()  # scored after the solve when active (placement.failures)

    def __post_init__(self):
        unknown = [s for s in self.strategies if s not in SOLVERS]
        if unknown:
            raise InputError(f"unknown strategy {unknown[0]!r}", source="Scenario", field="strategies",
                             expected="names from " + ", ".join(SOLVERS))

    def options(self, strategy: str):
        """The options `strategy` runs with: the scenario's, else the registry's preset."""
        return self.solver_options.get(strategy, SOLVERS[strategy].options)

    def network_ground(self) -> Ground:
        """The network stage's ground arrays for the demand sites, with the fade state of `weather` if any."""
        ground = self.ground.arrays(self.demand.sites)
        if self.weather is None:
            return ground
        return dataclasses.replace(ground, site_rain=self.weather.rain(self.demand.sites, self.weather.site_zones),
                                   gateway_rain=self.weather.rain(self.ground.gateways, self.weather.gateway_zones))

    def weather_summary(self) -> dict | None:
        """The fade state a run uses and the rain attenuation it gives at the masks (weather.Weather.summary)."""
        if self.weather is None:
            return None
        return self.weather.summary(self.network, self.demand.sites, self.ground.gateways)


@dataclasses.dataclass(frozen=True, eq=False)
class PropagationJob:
    """What `placement propagate` needs: the satellites, the time grid, precision, streaming and outputs."""

    constellation: Constellation
    grid: TimeGrid
    precision: str
    chunk_steps: int
    outputs: tuple[str, ...]  # of "velocity", "geodetic", "sunlit"
    config: dict
    warnings: tuple[str, ...] = ()  # as Scenario.warnings


# ---------------------------------------------------------------------------------------------------------
# Resolution of a config


def resolve(config: Config) -> Scenario:
    """The Scenario of a `placement run` config; raises InputError naming the file and field of anything a run
    would reject, before computing anything."""
    constellation = _constellation(config)
    if constellation.shells is None and len(constellation.elements) < 1:
        raise InputError("no satellites left", source=config.source, field="constellation")
    if config.constellation.max_satellites is not None and config.constellation.builtin is not None:
        raise InputError("thinning a built-in constellation breaks its laser grid", source=config.source,
                         field="constellation.max_satellites", expected="no value for `placement run`")
    pc = config.problem
    span_s = max(config.time.duration_h * 3600.0, pc.epoch_s)  # a run has one epoch at least
    check_steps(config, span_s)
    if not config.time.duration_h * 3600.0 / pc.epoch_s <= MAX_STEPS:  # each epoch has a network step at least
        raise InputError(f"{config.time.duration_h * 3600.0 / pc.epoch_s:.3g} placement epochs of {pc.epoch_s:g} s",
                         source=config.source, field="problem.epoch_s",
                         expected=f"at most {MAX_STEPS:,} epochs over time.duration_h: seconds, not hours")
    start_jd, start_fr = parse_utc(config.time.start, field="time.start", source=config.source)
    warnings = check_element_age(config, constellation, start_jd, start_fr, span_s)
    check_in_orbit(config, constellation, start_jd, start_fr, span_s)
    sites, units = sites_and_units(config)
    ground = ground_segment(config)
    n_epochs = max(1, int(config.time.duration_h * 3600.0 // pc.epoch_s))
    horizon = Horizon(start_jd, start_fr, pc.epoch_s, n_epochs,
                      steps_per_epoch=max(1, math.ceil(pc.epoch_s / config.time.step_s - 1e-9)))
    check_memory(config, len(constellation.elements), horizon.n_steps + 1, len(sites) + len(ground.gateways))
    s = config.solver
    n = config.network
    models = _models(config)
    hosts = host_options(config, len(ground.gateways))
    local_sites = sites.name if hosts.local is not None else ()
    check_names(config.failures, constellation.elements.name, constellation.shells is not None, ground.gateways.name,
                ground.clouds.name, host_names(constellation.satellite_names, len(constellation.elements),
                                               ground.gateways, ground.clouds, local_sites), config.source)
    return Scenario(
        constellation=constellation, horizon=horizon, ground=ground,
        demand=Demand(sites, _workloads(config, sites, models, ground.clouds), models, units),
        hosts=hosts,
        network=NetworkSpec(site_slots=n.site_slots, gateway_slots=n.gateway_slots,
                            site_reach=Reach(_site_min_elevation_deg(config), n.site_max_range_km),
                            gateway_reach=Reach(n.gateway_min_elevation_deg, n.gateway_max_range_km),
                            access_rule=n.access_rule, laser_hops=n.laser_hops, reach_hops=n.reach_hops,
                            satellite_candidates=n.satellite_candidates, laser_capacity_gbps=n.laser_capacity_gbps,
                            laser_max_range_km=n.laser_max_range_km, radio_hop_ms=n.radio_hop_ms,
                            laser_hop_ms=n.laser_hop_ms, link_rows=n.link_rows, **_link_budgets(config)),
        problem=ProblemOptions(**{f.name: getattr(pc, f.name) for f in dataclasses.fields(ProblemOptions)}),
        strategies=tuple(s.strategies), solver_options={name: getattr(s, name) for name in SOLVERS},
        certify=s.certify, precision=config.propagation.precision, chunk_steps=config.propagation.chunk_steps,
        seed=config.seed, name=Path(config.source).stem if config.source else "scenario",
        config=config_to_dict(config), source=config.source, warnings=warnings,
        weather=_weather(config, sites, ground), failures=config.failures)


def _weather(config: Config, sites: GroundNodes, ground: GroundSegment) -> Weather | None:
    """The fade state of network.weather: each site takes its own rain zone, else the weather's; the shipped
    gateways take gateway_zone, else rain_zone; each extra gateway its own, else rain_zone."""
    w = config.network.weather
    if w is None:
        return None
    own = {site.name: site.rain_zone for site in config.demand.sites}  # sites of a file take rain_zone
    extra = config.network.extra_gateways
    shipped = (w.gateway_zone or w.rain_zone,) * (len(ground.gateways) - len(extra))
    return Weather(w.exceedance_pct, tuple(own.get(name) or w.rain_zone for name in sites.name),
                   shipped + tuple(g.rain_zone or w.rain_zone for g in extra))


def resolve_propagation(config: Config) -> PropagationJob:
    """The satellites and time grid of a `placement propagate` config (no demand needed)."""
    t = config.time
    start_jd, start_fr = parse_utc(t.start, field="time.start", source=config.source)
    check_steps(config, t.duration_h * 3600.0)
    grid = TimeGrid(start_jd, start_fr, t.step_s, int(round(t.duration_h * 3600.0 / t.step_s)) + 1)
    constellation = _constellation(config)
    warnings = check_element_age(config, constellation, start_jd, start_fr, t.duration_h * 3600.0)
    check_in_orbit(config, constellation, start_jd, start_fr, t.duration_h * 3600.0)
    o = config.output
    outputs = tuple(name for name in ("velocity", "geodetic", "sunlit") if getattr(o, name))
    return PropagationJob(constellation, grid, config.propagation.precision, config.propagation.chunk_steps,
                          outputs, config_to_dict(config), warnings)


def _constellation(config: Config) -> Constellation:
    c = config.constellation
    if c.builtin is not None:
        try:
            shells = walker.builtin(c.builtin)
        except InputError as error:
            raise InputError(error.detail, source=config.source, field="constellation.builtin",
                             expected=error.expected) from None
        bad = [s for s in c.shells if not 1 <= s <= len(shells)]
        if bad:
            raise InputError(f"shell {bad[0]} does not exist", source=config.source, field="constellation.shells",
                             expected=f"shell numbers 1..{len(shells)} of {c.builtin}")
        twice = [s for i, s in enumerate(c.shells) if s in c.shells[:i]]
        if twice:  # the same satellites twice, under the same names
            raise InputError(f"shell {twice[0]} is given twice", source=config.source, field="constellation.shells",
                             expected="distinct shell numbers")
        chosen = tuple(shells[s - 1] for s in c.shells) if c.shells else tuple(shells)
        epoch_jd, epoch_fr = parse_utc(c.epoch, field="constellation.epoch", source=config.source)
        elements = walker.constellation(chosen, epoch_jd, epoch_fr, bstar=c.bstar)
        try:  # a run copies them into satellites.tle at its end; they share epoch and bstar, so one tells
            format_tle(elements.take([0]))
        except InputError as error:
            raise InputError(error.detail, source=config.source, field=f"constellation.{error.field}",
                             expected=error.expected) from None
        result = Constellation(elements, chosen, c.builtin.strip().lower())
        if c.satellites is not None:
            result = _deployed(config, result)
        if config.network.lasers_file is not None:
            raise InputError("a laser list is for a catalog file", source=config.source,
                             field="network.lasers_file",
                             expected="constellation.file (a built-in constellation has its own +Grid)")
    else:
        path = _existing_file(config, c.file, "constellation.file", "a TLE/3LE or OMM file")
        read = read_elements(path, skip_bad=c.skip_bad_records, header_lines=c.header_lines, unique=True)
        lasers = None
        if config.network.lasers_file is not None:
            lasers = read_laser_list(_existing_file(config, config.network.lasers_file, "network.lasers_file",
                                                    "a laser list"), len(read.elements))
        result = Constellation(read.elements, None, path.name, len(read.rejected), lasers)
    if c.max_satellites is not None and c.max_satellites < len(result.elements):
        if result.lasers is not None:
            raise InputError("thinning a catalog breaks its laser list", source=config.source,
                             field="constellation.max_satellites", expected="no value with network.lasers_file")
        keep = np.unique(np.linspace(0, len(result.elements) - 1, c.max_satellites).round().astype(int))
        result = dataclasses.replace(result, elements=result.elements.take(keep), shells=None)
    if not config.network.lasers:
        if config.network.lasers_file is not None:
            raise InputError("a laser list with lasers = false", source=config.source, field="network.lasers_file",
                             expected="no value with network.lasers = false")
        result = dataclasses.replace(result, lasers=np.full((len(result.elements), 4), -1, np.int32))
    return result


def _link_budgets(config: Config) -> dict[str, LinkBudget]:
    """NetworkSpec's four radio links: network.user_* and feeder_* where given, else network.site_link's
    presets for the users and NetworkSpec's (Starlink Ka) for the feeders."""
    n = config.network
    up, down = SITE_LINKS[n.site_link]
    budgets = {"site_uplink": up, "site_downlink": down}
    for spec_field, field in (("site_uplink", "user_uplink"), ("site_downlink", "user_downlink"),
                              ("gateway_uplink", "feeder_uplink"), ("gateway_downlink", "feeder_downlink")):
        table = getattr(n, field)
        if table is not None:
            budgets[spec_field] = LinkBudget(table.frequency_ghz, table.bandwidth_mhz, table.eirp_dbw,
                                             table.g_over_t_db_k, table.losses_db, table.efficiency)
    return budgets


def _deployed(config: Config, filed: Constellation) -> Constellation:
    """A partial deployment: the first constellation.satellites of the filed shells, plane by plane. Its planes
    are not the filing's whole grid, so its lasers are inferred from the orbits, as a catalog's."""
    n = config.constellation.satellites
    if n > len(filed.elements):
        raise InputError(f"{n} satellites of {len(filed.elements)} filed", source=config.source,
                         field="constellation.satellites",
                         expected=f"at most the {len(filed.elements)} satellites of the chosen shells")
    return Constellation(filed.elements.take(np.arange(n)), None, f"{filed.label} ({n} deployed)")


def _existing_file(config: Config, relative: str, field: str, what: str) -> Path:
    path = config.resolve_path(relative)
    if not path.is_file():
        raise InputError(f"no file {relative!r} (looked at {path})", source=config.source, field=field,
                         expected=f"{what}, relative to the config file")
    return path


def _site_min_elevation_deg(config: Config) -> float:
    """The user terminals' elevation mask: the configured one, else the built-in constellation's filed one."""
    if config.network.site_min_elevation_deg is not None:
        return config.network.site_min_elevation_deg
    builtin = (config.constellation.builtin or "").strip().lower()
    return FILED_SITE_MIN_ELEVATION_DEG.get(builtin, DEFAULT_SITE_MIN_ELEVATION_DEG)


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
        path = _existing_file(config, d.sites_file, "demand.sites_file", "a CSV table of sites")
        sites, population = ground_tables.demand_sites_from_table(
            path, country=d.country or None, name_column=d.name_column,
            population_column=d.population_column or None, return_population=True,
            encoding="utf-8-sig",  # spreadsheets save CSV with a byte-order mark, which is no part of a name
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
        first = {}
        for i, site in enumerate(d.sites):
            if first.setdefault(site.name, i) != i:
                raise InputError(f"site {site.name!r} is given twice (also demand.sites[{first[site.name]}])",
                                 source=config.source, field=f"demand.sites[{i}].name",
                                 expected="one name per site (workloads refer to sites by name)")
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


def _models(config: Config) -> tuple[ModelSpec, ...]:
    """The inference workloads' catalog models, then the bulk flows' chunk models (placement.problem.bulk)."""
    known = {m.name for m in catalog.models()}
    inference = [w for w in config.workloads if w.kind == "inference"]
    for i, w in enumerate(config.workloads):
        if w.kind != "inference":
            continue
        for field, name in [("model", w.model)] + [("alternatives", a) for a in w.alternatives]:
            if name not in known:
                raise InputError(f"unknown model {name!r}", source=config.source, field=f"workloads[{i}].{field}",
                                 expected="a model of placement/problem/data/models.csv: " + ", ".join(sorted(known)))
    chunks = sorted({w.chunk_bytes for w in config.workloads if w.kind == "bulk"})
    return catalog.models(sorted({m for w in inference for m in [w.model, *w.alternatives]})) \
        + tuple(bulk.bulk_model(c) for c in chunks)


def _check_destinations(config: Config, i: int, clouds: GroundNodes) -> None:
    """A bulk flow's destinations: cloud regions of the run, no more than a demand is offered."""
    destinations = config.workloads[i].destinations
    field = f"workloads[{i}].destinations"
    unknown = [d for d in destinations if d not in clouds.name]
    if unknown:
        raise InputError(f"unknown cloud region {unknown[0]!r}", source=config.source, field=field,
                         expected="cloud regions of the run: " + ", ".join(clouds.name))
    if len(set(destinations)) > config.problem.cloud_candidates:
        raise InputError(f"{len(set(destinations))} regions", source=config.source, field=field,
                         expected=f"at most problem.cloud_candidates ({config.problem.cloud_candidates}) regions")


def _workloads(config: Config, sites: GroundNodes, models: tuple[ModelSpec, ...],
               clouds: GroundNodes) -> tuple[Workload, ...]:
    if not config.workloads:
        raise InputError("no workloads", source=config.source, field="workloads", expected="[[workloads]] tables")
    index = {name: i for i, name in enumerate(sites.name)}
    out = []
    for i, w in enumerate(config.workloads):
        unknown = [s for s in w.sites if s not in index]
        if unknown:
            raise InputError(f"unknown site {unknown[0]!r}", source=config.source, field=f"workloads[{i}].sites",
                             expected="names of demand sites")
        bad = [j for j in w.allowed_jurisdictions if j not in JURISDICTION_GROUPS and not _is_country(j)]
        if bad:
            raise InputError(f"unknown jurisdiction {bad[0]!r}", source=config.source,
                             field=f"workloads[{i}].allowed_jurisdictions",
                             expected="ISO 3166-1 alpha-2 codes or one of " + ", ".join(JURISDICTION_GROUPS))
        if w.kind == "bulk":
            _check_destinations(config, i, clouds)
        model, rate = ((w.model, w.rate_per_s) if w.kind == "inference" else
                       (bulk.bulk_model_name(w.chunk_bytes), bulk.chunk_rate_per_s(w.rate_gbps, w.chunk_bytes)))
        workload = Workload(model, rate, w.slo_ms, tuple(index[s] for s in w.sites) if w.sites else None,
                            tuple(w.allowed_jurisdictions) or None, _diurnal(config, i),
                            tuple(w.alternatives), w.min_accuracy, w.ms_per_accuracy_point, w.transit,
                            tuple(w.destinations) or None)
        try:
            model_options(workload, models, f"workloads[{i}]")
        except InputError as error:
            raise InputError(error.detail, source=config.source, field=error.field, expected=error.expected) from None
        out.append(workload)
    return tuple(out)


def _diurnal(config: Config, i: int) -> tuple[float, ...] | None:
    """Workload `i`'s hour-of-day rates: as given, or the published profile it names (None: constant)."""
    profile = config.workloads[i].diurnal_profile
    if not isinstance(profile, str):
        return tuple(profile) or None
    published = catalog.diurnal_profiles()
    if profile not in published:
        raise InputError(f"unknown profile {profile!r}", source=config.source,
                         field=f"workloads[{i}].diurnal_profile",
                         expected="24 rates or a profile of placement/problem/data/diurnal.csv: " + ", ".join(published))
    return published[profile]


def _host_profile(config: Config, name: str, field: str) -> catalog.HostProfile:
    profiles = catalog.host_profiles()
    if name not in profiles:
        raise InputError(f"unknown profile {name!r}", source=config.source, field=field,
                         expected="one of " + ", ".join(sorted(profiles)))
    return profiles[name]


def ground_segment(config: Config) -> GroundSegment:
    """The gateways (network.ground_tables: the shipped Starlink tables or one at each cloud region, then
    network.extra_gateways), the points of presence (likewise, then network.extra_pops), the PoP each gateway
    reaches fiber at and the configured cloud regions."""
    n = config.network
    clouds = _cloud_regions(config)
    if n.ground_tables == "starlink-starperf":
        gateways, pops = ground_tables.gateways(), ground_tables.pops()
    else:  # at-cloud-regions: named apart from the region itself, which is a host of its own
        gateways, pops = (dataclasses.replace(clouds, kind=(kind,) * len(clouds),
                                              name=tuple(f"{kind} at {name}" for name in clouds.name))
                          for kind in ("gateway", "pop"))
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
    return GroundSegment(gateways, pops, attach, clouds, n.fiber_route_factor)


def _cloud_regions(config: Config) -> GroundNodes:
    """The provider's regions (announced ones too when network.announced_regions), kept to
    network.cloud_jurisdictions when it names some."""
    n = config.network
    clouds = ground_tables.cloud_regions(None if n.cloud_provider == "all" else n.cloud_provider,
                                         announced=n.announced_regions)
    if n.cloud_jurisdictions:
        bad = [j for j in n.cloud_jurisdictions if j not in JURISDICTION_GROUPS and not _is_country(j)]
        if bad:
            raise InputError(f"unknown jurisdiction {bad[0]!r}", source=config.source,
                             field="network.cloud_jurisdictions",
                             expected="ISO 3166-1 alpha-2 codes or one of " + ", ".join(JURISDICTION_GROUPS))
        allowed = set(expand_jurisdictions(n.cloud_jurisdictions))
        clouds = clouds.take(np.array([c in allowed for c in clouds.country], bool))
    if not len(clouds):
        raise InputError(f"no {n.cloud_provider} region in {', '.join(n.cloud_jurisdictions)}", source=config.source,
                         field="network.cloud_jurisdictions", expected="jurisdictions with a region of the provider")
    return clouds


def _is_country(code: str) -> bool:
    return len(code) == 2 and code.isascii() and code.isalpha() and code.isupper()


def host_options(config: Config, n_gateways: int) -> HostOptions:
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
    local = None
    if h.local_profile:
        local = _host_profile(config, h.local_profile, "hosts.local_profile")
        if local.kind != "local":
            raise InputError(f"profile {h.local_profile!r} is of kind {local.kind!r}", source=config.source,
                             field="hosts.local_profile", expected="a profile of kind 'local' in hosts.csv")
    power = catalog.satellite_power()
    if h.satellite_battery_wh is not None:
        power = dataclasses.replace(power, battery_wh=h.satellite_battery_wh)
    return HostOptions(satellite, gateway, cloud, power,
                       satellite_jurisdiction=h.satellite_jurisdiction, satellite_link_gbps=h.satellite_link_gbps,
                       gateway_link_gbps=h.gateway_link_gbps, cloud_link_gbps=h.cloud_link_gbps,
                       terminals_per_site=h.terminals_per_site,
                       opening_cost=(h.opening_cost_satellite, h.opening_cost_gateway, h.opening_cost_cloud,
                                     h.opening_cost_local),
                       gateway_profiles=profiles, gateway_links_gbps=links, local=local,
                       local_devices_per_unit=h.local_devices_per_unit)
