"""Run configuration: TOML files validated against typed, documented dataclasses.

Every section is a frozen dataclass whose fields carry a type, a default where one makes sense
and a docstring-style `help`. `load_config(path)` reads a TOML file and validates it: an unknown
field, a wrong type or an out-of-range value raises `InputError` naming the file, the dotted
field path and what was expected. `--set key=value` overrides use the same path syntax.

Inheritance: a config may say `extends = "base.toml"` at its top level (a path relative to the
extending file). The base is loaded first (it may extend another in turn; a cycle is an error
naming the files in it), then the extending file is merged into it: tables are merged key by key,
any other value, arrays and arrays of tables included, replaces the base's wholesale. `--set`
overrides apply last. A variant is thus a few lines, e.g. configs/kenya-hubs-gateway.toml:

    extends = "kenya-hubs.toml"
    [[network.extra_gateways]]
    name = "Nairobi, KE"
    ...

Errors name the file that wrote the offending value: the base, for a value only the base sets; the
file given to `load_config` for a `--set` override. Paths written in a base (`constellation.file`,
`demand.sites_file`) stay relative to the base's folder. Setting `constellation.file` drops the base's
`constellation.builtin`, and the other way round: they are alternatives. Setting `system` (an operator's
packaged system, placement/systems/) drops both, and the shells and satellites chosen of them, since the
system brings its own constellation; the system's values then lie beneath the config's, so a config
overrides any of them, its own constellation included.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal

from placement import systems
from placement.errors import InputError
from placement.failures.outage import FailureSpec
from placement.config_network import RAIN_ZONE_OR_DEFAULT, NetworkConfig
from placement.fields import (COUNTRY_CODE, Origins, UtcTime, build, is_country_code, latitude_option,
                              longitude_option, non_negative, option, positive)
from placement.problem.build import DEFAULT_PROFILES, HostOptions, ProblemOptions
from placement.problem.bulk import DEFAULT_CHUNK_BYTES
from placement.solvers import SOLVERS




@dataclasses.dataclass(frozen=True)
class ConstellationConfig:
    builtin: str | None = option(
        None, help="built-in Walker constellation: 'starlink-gen1', 'kuiper' or 'iris2' (or give `file`)")
    file: str | None = option(
        None, path=True,
        help="TLE/3LE (.tle, .txt) or CelesTrak OMM (.json, .csv) file, relative to the config file")
    shells: list[int] = option(
        [], help="1-based shell numbers of the built-in constellation to keep (empty: all)")
    satellites: int | None = option(
        None, check=positive, expected="a positive integer",
        help="a partial deployment of the built-in constellation: its first this many satellites (of `shells`), "
             "plane by plane in the filing's order (empty: all); lasers then follow the orbits, not the filed grid")
    epoch: UtcTime = option("2026-02-24T00:00:00Z", help="epoch of generated Walker elements, ISO-8601 UTC")
    bstar: float = option(0.0, help="drag term of generated elements, 1/earth radii")
    max_satellites: int | None = option(
        None, check=positive, expected="a positive integer",
        help="keep at most this many satellites, evenly spread over the catalog (`placement propagate` only: "
             "thinning breaks the laser grid a run routes over)")
    skip_bad_records: bool = option(
        False, help="skip (and count) malformed TLE/OMM records instead of stopping at the first")
    header_lines: int = option(0, check=lambda x: x >= 0, expected="an integer >= 0",
                               help="lines that open a TLE file before its first element set (Hypatia's tles.txt: 1)")
    warn_element_age_days: float = option(
        3.0, check=positive, expected="a positive number of days",
        help="warn when some time of the horizon is more than this many days from a satellite's element-set epoch "
             "(a built-in's: `epoch`); SGP4's error grows with that gap (placement/scenario.py)")
    max_element_age_days: float = option(
        30.0, check=positive, expected="a positive number of days",
        help="refuse a horizon more than this many days from any satellite's element-set epoch")


@dataclasses.dataclass(frozen=True)
class TimeConfig:
    start: UtcTime = option("2026-02-24T00:00:00Z", help="first instant, ISO-8601 UTC")
    step_s: float = option(30.0, check=positive, expected="a positive number of seconds",
                           help="spacing of the time grid, seconds: `placement propagate`'s steps; in a run the "
                                "network steps inside each placement epoch (the epoch is cut into equal steps of "
                                "at most this length): satellites move and terminals hand over between them, and "
                                "each slot's latency and availability are taken over them")
    duration_h: float = option(24.0, check=positive, expected="a positive number of hours",
                               help="length of the horizon, hours (the grid includes its start)")


@dataclasses.dataclass(frozen=True)
class PropagationConfig:
    precision: Literal["float32", "float64"] = option(
        "float32", help="float64 matches the sgp4 package to 1e-6 km; float32 is faster (error in README)")
    chunk_steps: int = option(1440, check=positive, expected="a positive integer",
                              help="time steps propagated per device call (streaming of long horizons)")


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    velocity: bool = option(True, help="save TEME velocities v_teme_km_s")
    geodetic: bool = option(True, help="save WGS84 latitude, longitude (deg) and altitude (km)")
    sunlit: bool = option(True, help="save the visible fraction of the solar disc per satellite and time")


@dataclasses.dataclass(frozen=True)
class SiteConfig:
    name: str = option(help="site name (workloads refer to it)")
    lat_deg: float = latitude_option()
    lon_deg: float = longitude_option()
    country: str = option("", check=is_country_code, expected=COUNTRY_CODE,
                          help="ISO 3166-1 alpha-2 code of the site's country")
    units: int = option(1, check=positive, expected="a positive integer",
                        help="demand units (hubs, platforms, phones...) the site stands for: its request rates "
                             "and terminals scale with it")
    rain_zone: RAIN_ZONE_OR_DEFAULT = option("", help="ITU-R P.837-1 rain zone of the site, with network.weather "
                                                      "('': its rain_zone)")


@dataclasses.dataclass(frozen=True)
class DemandConfig:
    sites: list[SiteConfig] = option([], help="demand sites given one by one ([[demand.sites]] tables)")
    sites_file: str | None = option(
        None, path=True,
        help="CSV of sites with a header (name, lat, lon[, population]), relative to the config file")
    name_column: str = option("city", help="column of `sites_file` holding the site name")
    population_column: str = option("population", help="column to rank sites by, largest first ('' keeps file order)")
    filter_column: str = option("", help="column of `sites_file` to select rows by ('' keeps every row)")
    filter_values: list[str] = option([], help="values of `filter_column` whose rows are kept")
    exclude: list[str] = option([], help="names of `sites_file` rows to leave out")
    limit: int | None = option(None, check=lambda x: x >= 0, expected="an integer >= 0",
                               help="keep the first `limit` sites of `sites_file` (after `exclude`)")
    country: str = option("", check=is_country_code, expected=COUNTRY_CODE,
                          help="country code given to every site of `sites_file`")
    units: int | None = option(
        None, check=positive, expected="a positive integer",
        help="demand units (hubs, platforms, drones) spread over the sites of `sites_file`: each gets "
             "`units_min_per_site`, the rest go in proportion to `population_column` (largest remainder; equal "
             "shares when it is ''); a site's request rates and terminals scale with its units, and a site left "
             "with none is dropped (empty: one unit per site)")
    units_min_per_site: int = option(0, check=lambda x: x >= 0, expected="an integer >= 0",
                                     help="units every site gets before the proportional share")


@dataclasses.dataclass(frozen=True)
class WorkloadConfig:
    slo_ms: float = option(help="latency objective of one request (a bulk flow's: of one chunk), ms", check=positive,
                           expected="a positive number")
    kind: Literal["inference", "bulk"] = option(
        "inference", help="'inference': requests for `model`; 'bulk': a sustained flow of `rate_gbps` from each "
                          "site to `destinations`, carried in chunks on the same links, with no compute and no copy "
                          "(placement/problem/bulk.py)")
    model: str = option("", help="a model of the catalog (placement/problem/data/models.csv); kind 'inference' only")
    rate_per_s: float | None = option(
        None, help="requests per second per demand unit at each site (one unit per site unless `demand.units` or "
                   "a site's `units` say otherwise); kind 'inference' only",
        # Far above any real site (a billion requests a second per unit), and far
        # enough below the float range that rate x FLOPs x units stays finite.
        check=lambda x: 0 <= x <= 1e9, expected="a rate in [0, 1e9]")
    rate_gbps: float | None = option(
        None, help="a bulk flow's bit rate per demand unit at each site, Gbps (1e9 bits/s); kind 'bulk' only",
        # a petabit per second: above any link of the network by far, yet chunks/s stay finite
        check=lambda x: 0 <= x <= 1e6, expected="a rate in [0, 1e6] Gbps")
    chunk_bytes: float = option(DEFAULT_CHUNK_BYTES, check=lambda x: 1e3 <= x <= 1e12,
                                expected="a chunk size in [1e3, 1e12] bytes",
                                help="a bulk flow is carried in chunks of this size; each is a 'request' whose "
                                     "latency is counted (kind 'bulk')")
    destinations: list[str] = option(
        [], help="cloud regions a bulk flow goes to, as hosts are named (`provider:name`, e.g. 'azure:uaenorth'): "
                 "it is split among them as the solver finds room; at most problem.cloud_candidates of them")
    sites: list[str] = option([], help="site names that ask for it (empty: every site)")
    allowed_jurisdictions: list[str] = option(
        [], help="country codes or groups ('EU': placement.problem.build.JURISDICTION_GROUPS) where requests "
                 "may be processed (empty: anywhere); satellites count as their state of registry")
    transit: Literal["processing", "landing", "overflight"] = option(
        "processing", help="what the paths may touch besides the host, by allowed_jurisdictions: 'processing' "
                           "anything, 'landing' only allowed gateways, points of presence and fiber, "
                           "'overflight' also only satellites above allowed countries or the sea "
                           "(problem.transit overrides it for every workload)")
    alternatives: list[str] = option(
        [], help="other catalog models of the same task and payloads the requests may be served with instead "
                 "(model choice: the solver picks per demand and epoch)")
    min_accuracy: float | None = option(
        None, help="accuracy floor in the models' metric (catalog column accuracy_metric, in its direction: a word "
                   "error rate is a ceiling): options below it are not offered (empty: no floor)")
    ms_per_accuracy_point: float = option(
        0.0, check=lambda x: math.isfinite(x) and x >= 0, expected="a finite number >= 0",
        help="request-ms each request costs per accuracy point below the best option (what accuracy is worth "
             "in latency)")
    diurnal_profile: list[float] | str = option(
        # a finite sum: the profile is divided by its mean, and an infinite one would zero every rate
        [], check=lambda v: bool(v.strip()) if isinstance(v, str) else len(v) in (0, 24)
        and all(math.isfinite(x) and x >= 0 for x in v) and (not v or 0 < sum(v) < math.inf),
        expected="24 finite rates >= 0 (not all 0) with a finite sum, none, or a profile's name",
        help="relative request rate by local solar hour at each site (24 values, hour 0 first), or the name of a "
             "published profile (placement/problem/data/diurnal.csv, e.g. 'orange-fr-fixed-2013'); rate_per_s "
             "is then the daily mean and each epoch's rate follows the site's local time (empty: constant)")

    def __post_init__(self):
        # each kind's own fields, and none of the other's
        if self.kind == "inference":
            needed = {"model": self.model != "", "rate_per_s": self.rate_per_s is not None}
            foreign = {"rate_gbps": self.rate_gbps is not None, "destinations": bool(self.destinations)}
        else:
            needed = {"rate_gbps": self.rate_gbps is not None, "destinations": bool(self.destinations)}
            foreign = {"model": self.model != "", "rate_per_s": self.rate_per_s is not None,
                       "alternatives": bool(self.alternatives)}
        for field, given in needed.items():
            if not given:
                raise InputError(f"is missing for a workload of kind {self.kind!r}", source=type(self).__name__,
                                 field=field, expected=f"a value (kind {self.kind!r} needs it)")
        for field, given in foreign.items():
            if given:
                raise InputError(f"is given for a workload of kind {self.kind!r}", source=type(self).__name__,
                                 field=field, expected=f"no value with kind {self.kind!r}")


_HOSTS = HostOptions.__dataclass_fields__


def _host_default(name: str):
    return _HOSTS[name].default


@dataclasses.dataclass(frozen=True)
class HostsConfig:
    satellite_profile: str = option(DEFAULT_PROFILES["satellite"],
                                    help="hardware profile (placement/problem/data/hosts.csv)")
    gateway_profile: str = option(DEFAULT_PROFILES["gateway"], help="hardware profile of a gateway edge site")
    cloud_profile: str = option(DEFAULT_PROFILES["cloud"], help="hardware profile of a cloud region")
    local_profile: str = option("", help="hardware profile of a host at every demand site, one device per demand "
                                         "unit (kind 'local' in hosts.csv, e.g. local-orin-nano): the on-premise "
                                         "or on-device option; '' (default): no local tier")
    local_devices_per_unit: int = option(_host_default("local_devices_per_unit"), check=positive,
                                         expected="a positive integer",
                                         help="devices of the local profile per demand unit, pooled (e.g. the "
                                              "phones in a Direct-to-Cell beam, each answering its own requests)")
    satellite_battery_wh: float | None = option(
        None, check=lambda x: 0 <= x < math.inf, expected="a finite number of Wh >= 0",
        help="battery energy reserved for a satellite's compute, Wh (empty: placement/problem/data/"
             "satellite_power.csv's 60 Wh, an assumption); a large value lifts the battery's limit, to measure it")
    satellite_jurisdiction: str = option(_host_default("satellite_jurisdiction"), check=is_country_code,
                                         expected=COUNTRY_CODE,
                                         help="the satellites' state of registry")
    satellite_link_gbps: float = option(_host_default("satellite_link_gbps"), check=positive,
                                        expected="a positive number",
                                        help="user-link capacity of one satellite, Gbps (V1.5 class)")
    gateway_link_gbps: float = option(_host_default("gateway_link_gbps"), check=positive,
                                      expected="a positive number", help="capacity into a gateway edge site, Gbps")
    cloud_link_gbps: float | None = option(_host_default("cloud_link_gbps"), check=positive,
                                           expected="a positive number",
                                           help="capacity into a cloud region, Gbps (empty: not modelled)")
    terminals_per_site: int = option(_host_default("terminals_per_site"), check=positive,
                                     expected="a positive integer",
                                     help="user terminals per demand unit at each site (each talks to one satellite)")
    opening_cost_satellite: float = option(0.0, check=non_negative, expected="a number >= 0",
                                           help="cost of a copy on a satellite per epoch, request-ms")
    opening_cost_gateway: float = option(0.0, check=non_negative, expected="a number >= 0",
                                         help="cost of a copy at a gateway per epoch, request-ms")
    opening_cost_cloud: float = option(0.0, check=non_negative, expected="a number >= 0",
                                       help="cost of a copy in a cloud region per epoch, request-ms")
    opening_cost_local: float = option(0.0, check=non_negative, expected="a number >= 0",
                                       help="cost of a copy on a site's local host per epoch, request-ms")


@dataclasses.dataclass(frozen=True)
class ProblemConfig(ProblemOptions):
    """`placement.problem.build.ProblemOptions` (its fields and defaults) and the placement epochs' length."""

    epoch_s: float = option(600.0, check=positive, expected="a positive number of seconds",
                            help="length of a placement epoch, s: copies are placed (and paid for) per epoch")


@dataclasses.dataclass(frozen=True)
class LimitsConfig:
    max_memory_gb: float | None = option(
        None, check=positive, expected="a positive number of GB (1e9 bytes)",
        help="memory a run may count on, GB; default: $PLACEMENT_MAX_MEMORY_GB, else the machine's physical "
             "memory. A run whose arrays certainly exceed it is refused before any work (placement/scenario.py)")


def _solver_config() -> type:
    """The [solver] section: which strategies run, whether heuristics are certified, and one [solver.<name>]
    table per registered strategy, typed as its options dataclass with its preset's values as defaults."""
    fields = [
        ("strategies", list[str], option(
            ["milp", "greedy", "nearest_gateway", "cloud_only"],
            check=lambda names: bool(names) and set(names) <= set(SOLVERS),
            expected="one or more names from " + ", ".join(SOLVERS),
            help="solvers to run and compare (each scored by the same evaluator)")),
        ("certify", bool, option(
            True, help="give every heuristic's result a certified gap: the LP relaxation's bound (by "
                       "solver.milp's solver, within its time_limit_s) is reported as its dual bound")),
    ]
    fields += [(name, type(s.options), option(s.options, help=s.help)) for name, s in SOLVERS.items()]
    solver_config = dataclasses.make_dataclass("SolverConfig", fields, frozen=True)
    solver_config.__module__ = __name__
    return solver_config


SolverConfig = _solver_config()


@dataclasses.dataclass(frozen=True)
class Config:
    system: str | None = option(
        None, help="an operator's system (`placement list systems`): its constellation, ground segment, cloud "
                   "regions, link budgets, hardware and state of registry, as the values beneath this config's "
                   "own (placement/systems/)")
    constellation: ConstellationConfig = option(ConstellationConfig(), help="which satellites")
    time: TimeConfig = option(TimeConfig(), help="the time grid")
    propagation: PropagationConfig = option(PropagationConfig(), help="SGP4 settings")
    output: OutputConfig = option(OutputConfig(), help="what the run directory holds")
    network: NetworkConfig = option(NetworkConfig(), help="link rules of the network")
    demand: DemandConfig = option(DemandConfig(), help="where requests come from")
    workloads: list[WorkloadConfig] = option([], help="which models each site asks for ([[workloads]] tables)")
    hosts: HostsConfig = option(HostsConfig(), help="hardware and links of the hosts")
    problem: ProblemConfig = option(ProblemConfig(), help="epochs, placement mode and prices")
    solver: SolverConfig = option(SolverConfig(), help="which strategies run, and each one's options")
    limits: LimitsConfig = option(LimitsConfig(), help="what the machine can hold")
    failures: FailureSpec = option(FailureSpec(), help="elements down for the horizon, named or drawn at rates: each "
                                                       "strategy's placement scored under them (placement/failures)")
    seed: int = option(0, check=lambda x: 0 <= x < 2**31, expected="an integer in [0, 2147483647] (the MILP "
                                                                    "solvers take a 32-bit seed)",
                       help="seed for every random choice of the run")
    source: str | None = option(None, help="(set by the loader) the config file this came from")

    def __post_init__(self):
        c = self.constellation
        if (c.builtin is None) == (c.file is None):
            raise InputError("give exactly one of `builtin` or `file`", source=self.source,
                             field="constellation", expected="constellation.builtin or constellation.file")

    def resolve_path(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        base = Path(self.source).parent if self.source else Path.cwd()
        return (base / relative).resolve()


# Fields of `Config` that `config_from_dict` sets (the file read) and a config cannot (the JSON Schema leaves
# them out).
LOADER_FIELDS = ("source",)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'time.duration_h=2' -> (['time', 'duration_h'], 2), the value read as a TOML value
    (a bare word that is not valid TOML is taken as a string)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"override {text!r} is not key=value", field="--set", expected="dotted.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip().split("."), value


def config_from_dict(data: dict, *, source: str | None = None, overrides: list[str] = ()) -> Config:
    """Validate config data read from `source` (which `extends` and relative paths are relative to)."""
    chain = (Path(source).resolve(),) if source is not None else ()
    data, files = _with_bases(_deep_copy(data), source, chain)
    origins = Origins(source, files)
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise InputError(f"override {text!r} goes through a non-table", source=source, field=".".join(keys),
                                 expected="a path of tables")
        _drop_alternative(data, keys)
        node[keys[-1]] = value
        origins.assign(".".join(keys), source)
    if isinstance(data.get("system"), str):
        data = _with_system(data, origins)
    return build(Config, data, "", origins, loader_fields={"source": origins.default})


def _with_system(data: dict, origins: Origins) -> dict:
    """`data` over the layer of the system it names (placement.systems): a value the config sets wins, and so
    does the alternative it sets (its constellation.builtin drops the system's constellation.file)."""
    try:
        chain = systems.layers(data["system"])
    except InputError as error:
        raise InputError(error.detail, source=origins.of("system"), field="system", expected=error.expected) from None
    layer, files = {}, {}
    for part, system_file in chain:
        layer = _merge(layer, part)
        files.update({path: system_file for path in _value_paths(part)})
    for keys in _ALTERNATIVES:
        if keys != ("system",) and _lookup(data, keys) is not None:  # the config's constellation over the system's
            _drop_alternative(layer, keys)
    for path, system_file in files.items():
        if _lookup(data, tuple(path.split("."))) is None:
            origins.files[path] = system_file
    return _merge(layer, data)


def load_config(path: str | Path, overrides: list[str] = ()) -> Config:
    """Read and validate a TOML config file (see the dataclasses above for every field)."""
    return config_from_dict(_read_toml(Path(path)), source=str(path), overrides=overrides)


def _read_toml(path: Path, extended_by: str | None = None) -> dict:
    """The top-level table of a TOML file; when a config `extends` it, a missing file is that config's error."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # TOML is UTF-8; an editor's byte-order mark is no error
    except UnicodeDecodeError as e:
        raise InputError(f"not a UTF-8 text file (byte {e.start}: {e.reason})", source=str(path),
                         expected="a TOML config file") from None
    except OSError as e:
        if extended_by is not None:
            raise InputError(f"cannot read {path}: {e.strerror}", source=extended_by, field="extends",
                             expected="a readable TOML file, relative to the extending file") from None
        raise InputError(f"cannot read config: {e.strerror}", source=str(path), expected="a readable TOML file") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"not valid TOML: {e}", source=str(path), expected="TOML syntax") from None


def _with_bases(data: dict, source: str | None, chain: tuple[Path, ...]) -> tuple[dict, dict[str, str | None]]:
    """`data` (read from `source`) merged over the configs it extends, and the file of every value in it.

    `chain` holds the resolved files already being loaded, to catch a cycle."""
    base_name = data.pop("extends", None)
    files = {path: source for path in _value_paths(data)}
    if base_name is None:
        return data, files
    if not isinstance(base_name, str):
        raise InputError(f"{base_name!r} has the wrong type", source=source, field="extends",
                         expected="a path to a TOML config, relative to this file")
    here = Path(source).parent if source is not None else Path.cwd()
    base = here / base_name
    if base.resolve() in chain:
        cycle = " -> ".join(str(p) for p in chain[chain.index(base.resolve()):] + (base.resolve(),))
        raise InputError(f"extends cycle: {cycle}", source=source, field="extends",
                         expected="a chain of configs that ends")
    base_data, base_files = _with_bases(_read_toml(base, extended_by=source), str(base), chain + (base.resolve(),))
    for keys in _path_fields(Config):
        node = base_data
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        value = node.get(keys[-1]) if isinstance(node, dict) else None
        if isinstance(value, str) and not os.path.isabs(value):  # relative to the base: now to this file
            node[keys[-1]] = os.path.relpath(base.parent / value, here)
    for keys in _ALTERNATIVES:
        if _lookup(data, keys) is not None:
            _drop_alternative(base_data, keys)
    return _merge(base_data, data), {**base_files, **files}


# Fields that are alternatives to each other: a config that sets one drops the other from the config it
# extends (and so does a --set override), since TOML cannot unset a value.
_ALTERNATIVES = {("constellation", "builtin"): (("constellation", "file"),),
                 ("constellation", "file"): (("constellation", "builtin"),),
                 # a system brings its own constellation: choosing one drops the one chosen before, with the
                 # choice of its shells and satellites
                 ("system",): tuple(("constellation", key) for key in ("builtin", "file", "shells", "satellites"))}


def _lookup(data: dict, keys: tuple[str, ...]):
    node = data
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _drop_alternative(data: dict, keys) -> None:
    for other in _ALTERNATIVES.get(tuple(keys), ()):
        table = _lookup(data, other[:-1])
        if isinstance(table, dict):
            table.pop(other[-1], None)


def _merge(base: dict, top: dict) -> dict:
    """`top` over `base`: tables merged key by key, everything else (arrays included) replaced."""
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _value_paths(data: dict, prefix: str = ""):
    """Dotted paths of every table and value in `data` (arrays are values: not entered)."""
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        yield path
        if isinstance(value, dict):
            yield from _value_paths(value, path)


def _path_fields(cls, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Key paths of the fields marked `path=True` (in tables, not in arrays of tables)."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("path"):
            out.append(prefix + (f.name,))
        elif dataclasses.is_dataclass(hints[f.name]):
            out.extend(_path_fields(hints[f.name], prefix + (f.name,)))
    return out


def input_files(config: Config) -> dict[str, Path]:
    """The files `config` reads, by dotted field (`constellation.file`, ...): every path field that is set,
    resolved from the config file's folder."""
    files, data = {}, dataclasses.asdict(config)
    for keys in _path_fields(Config):
        value = _lookup(data, keys)
        if value is not None:
            files[".".join(keys)] = config.resolve_path(value)
    return files


def config_to_dict(config: Config) -> dict:
    """The resolved config as plain data, as JSON holds it (what a run directory records)."""
    data = _plain(dataclasses.asdict(config))
    data.pop("source")
    return data


def _plain(value):
    """Tuples (the options' pairs) as lists, the way they read back from JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _deep_copy(data):
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data
