"""Ground nodes (gateways, points of presence, cloud regions, demand sites) and terrestrial fiber.

Host side, numpy float64: this module reads files and builds arrays once; the device code
(geometry, links, routes) takes `GroundNodes.ecef_km()` and the fiber latencies from here.

Tables shipped in `placement/network/data/` (derived from ../shared/reference by
experiments/curate_ground_tables.py, which documents every fix; every row names its `source`):
  gateways.csv       222 Starlink gateway sites (StarPerf config, BSD-2-Clause)
  pops.csv           23 Starlink points of presence (StarPerf config, BSD-2-Clause)
  cloud_regions.csv  51 Azure regions (carbon-aware-sdk, MIT) + 23 AWS regions (2023), status 'available';
                     regions announced since, status 'announced' (each with its announcement)
Countries are ISO 3166-1 alpha-2 (point in Natural Earth polygons, cross-checked against the
source text); "" means unknown.

Terrestrial fiber model
-----------------------
  distance  great circle on a sphere of the IUGG mean Earth radius R1 = 6371.0088 km
            (Moritz, "Geodetic Reference System 1980", R1 = (2a + b) / 3); haversine formula.
  latency   distance * route_factor / (c / n), c = 299,792.458 km/s, n = 1.468 (group index of
            standard single-mode fiber at 1550 nm, as in DESIGN.md): 4.897 ms per 1,000 km at
            route_factor 1.
  route_factor default 1.3: the median ratio of shortest conduit path to line-of-sight distance
            between the 120 largest US population centres on the InterTubes long-haul fiber map
            (Bozkurt et al., "Dissecting Latency in the Internet's Fiber Infrastructure",
            arXiv:1811.10737, 2018). It is a best case for a provider backbone: measured Internet
            latencies follow distance * 2.1 / (c / n) (same paper), because routes follow
            policy, not the shortest conduit. Outside the US this is an assumption.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.resources
import math
from pathlib import Path
from typing import Collection, Iterable, Mapping, Sequence

import numpy as np

from placement.constants import SPEED_OF_LIGHT_KM_S
from placement.errors import InputError
from placement.propagation.frames import geodetic_to_ecef

KINDS = ("gateway", "pop", "cloud", "demand")
PROVIDERS = ("azure", "aws")

EARTH_MEAN_RADIUS_KM = 6371.0088  # IUGG mean radius R1 (GRS80)
FIBER_REFRACTIVE_INDEX = 1.468
FIBER_KM_PER_MS = SPEED_OF_LIGHT_KM_S / FIBER_REFRACTIVE_INDEX / 1000.0  # 204.218 km per ms
DEFAULT_FIBER_ROUTE_FACTOR = 1.3  # Bozkurt et al. 2018, median conduit path / line of sight (US)

_DATA_PACKAGE = "placement.network"
_NEAREST_CHUNK = 4096


# ---------------------------------------------------------------------------------------------
# GroundNodes

def _as_str_tuple(values, field: str, n: int | None = None) -> tuple[str, ...]:
    if isinstance(values, str):
        raise InputError("a single string, not a sequence of strings", source="GroundNodes",
                         field=field, expected="a sequence of strings, one per node")
    out = tuple(values)
    for i, v in enumerate(out):
        if not isinstance(v, str):
            raise InputError(f"node {i}: {v!r} is not a string", source="GroundNodes", field=field)
    return out


def _as_float_array(values, field: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"not numeric ({exc})", source="GroundNodes", field=field,
                         expected="a 1-D array of numbers") from None
    if arr.ndim != 1:
        raise InputError(f"shape {arr.shape}", source="GroundNodes", field=field,
                         expected="a 1-D array [node]")
    arr.setflags(write=False)
    return arr


@dataclasses.dataclass(frozen=True, eq=False)
class GroundNodes:
    """Ground nodes as parallel arrays [node].

    name     tuple[str]    node names (tables: the source's name; cloud regions "azure:eastus")
    kind     tuple[str]    'gateway' | 'pop' | 'cloud' | 'demand'
    lat_deg  float64 [node]  geodetic latitude, degrees in [-90, 90]
    lon_deg  float64 [node]  longitude, degrees in [-180, 180]
    alt_km   float64 [node]  height above the WGS84 ellipsoid, km (None -> zeros)
    country  tuple[str]    ISO 3166-1 alpha-2, "" when unknown (None -> all "")

    Arrays are read-only copies; invalid input raises InputError naming the field and the
    offending node (index and name).
    """

    name: tuple[str, ...]
    kind: tuple[str, ...]
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_km: np.ndarray | None = None
    country: tuple[str, ...] | None = None

    def __post_init__(self):
        name = _as_str_tuple(self.name, "name")
        n = len(name)
        kind = _as_str_tuple(self.kind, "kind")
        lat = _as_float_array(self.lat_deg, "lat_deg")
        lon = _as_float_array(self.lon_deg, "lon_deg")
        alt = _as_float_array(np.zeros(n) if self.alt_km is None else self.alt_km, "alt_km")
        country = ("",) * n if self.country is None else _as_str_tuple(self.country, "country")
        for field, length in (("kind", len(kind)), ("lat_deg", lat.size), ("lon_deg", lon.size),
                              ("alt_km", alt.size), ("country", len(country))):
            if length != n:
                raise InputError(f"{length} entries but name has {n}", source="GroundNodes",
                                 field=field, expected="one entry per node")

        def bad(field, i, value, expected):
            raise InputError(f"node {i} ({name[i]!r}): {value!r}", source="GroundNodes",
                             field=field, expected=expected)

        for i, k in enumerate(kind):
            if k not in KINDS:
                bad("kind", i, k, f"one of {KINDS}")
        for i in np.flatnonzero(~(np.abs(lat) <= 90.0)):  # also catches NaN
            bad("lat_deg", int(i), float(lat[i]), "a latitude in [-90, 90] degrees")
        for i in np.flatnonzero(~(np.abs(lon) <= 180.0)):
            bad("lon_deg", int(i), float(lon[i]), "a longitude in [-180, 180] degrees")
        for i in np.flatnonzero(~np.isfinite(alt)):
            bad("alt_km", int(i), float(alt[i]), "a finite height in km")
        for i, c in enumerate(country):
            if c and not (len(c) == 2 and c.isascii() and c.isalpha() and c.isupper()):
                bad("country", i, c, 'an ISO 3166-1 alpha-2 code such as "KE", or ""')
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "lat_deg", lat)
        object.__setattr__(self, "lon_deg", lon)
        object.__setattr__(self, "alt_km", alt)
        object.__setattr__(self, "country", country)

    def __len__(self) -> int:
        return len(self.name)

    def __repr__(self) -> str:
        counts = {k: self.kind.count(k) for k in KINDS if k in self.kind}
        return f"GroundNodes({len(self)} nodes: {counts})"

    def take(self, indices) -> "GroundNodes":
        """The nodes at `indices` (integer array, in that order) or where a boolean mask is True."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise InputError(f"mask of shape {idx.shape}", source="GroundNodes.take",
                                 field="indices", expected=f"a boolean mask of shape ({len(self)},)")
            idx = np.flatnonzero(idx)
        idx = idx.reshape(-1)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise InputError(f"dtype {idx.dtype}", source="GroundNodes.take", field="indices",
                             expected="integer indices or a boolean mask")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise InputError(f"index out of range for {len(self)} nodes", source="GroundNodes.take",
                             field="indices")
        return GroundNodes(
            name=tuple(self.name[i] for i in idx), kind=tuple(self.kind[i] for i in idx),
            lat_deg=self.lat_deg[idx], lon_deg=self.lon_deg[idx], alt_km=self.alt_km[idx],
            country=tuple(self.country[i] for i in idx))

    def concatenate(self, *others: "GroundNodes") -> "GroundNodes":
        """These nodes followed by the nodes of `others` (also usable as GroundNodes.concatenate(a, b, c))."""
        parts = (self, *others)
        return GroundNodes(
            name=sum((p.name for p in parts), ()), kind=sum((p.kind for p in parts), ()),
            lat_deg=np.concatenate([p.lat_deg for p in parts]),
            lon_deg=np.concatenate([p.lon_deg for p in parts]),
            alt_km=np.concatenate([p.alt_km for p in parts]),
            country=sum((p.country for p in parts), ()))

    def of_kind(self, kind: str) -> "GroundNodes":
        """The nodes of one kind, in order."""
        if kind not in KINDS:
            raise InputError(repr(kind), source="GroundNodes.of_kind", field="kind",
                             expected=f"one of {KINDS}")
        return self.take(np.array([k == kind for k in self.kind], dtype=bool))

    def ecef_km(self) -> np.ndarray:
        """Earth-fixed positions [node, 3], km, numpy float64 (WGS84, frames.geodetic_to_ecef)."""
        r = geodetic_to_ecef(np.radians(self.lat_deg), np.radians(self.lon_deg), self.alt_km)
        return np.asarray(r, dtype=np.float64).reshape(len(self), 3)


# ---------------------------------------------------------------------------------------------
# Tables

def _parse_float(text, *, source, line, field, lo=-math.inf, hi=math.inf, expected=None) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{text!r} is not a number", source=source, line=line, field=field,
                         expected=expected or "a number") from None
    if not (lo <= value <= hi):
        raise InputError(f"{text!r} out of range", source=source, line=line, field=field,
                         expected=expected or f"a number in [{lo}, {hi}]")
    return value


def _read_rows(handle, source: str, required: Sequence[str]) -> Iterable[tuple[int, dict]]:
    """(line, row) for each record of a CSV with a header; malformed rows raise InputError."""
    reader = csv.DictReader(handle)
    header = reader.fieldnames
    if header is None:
        raise InputError("empty file", source=source, line=1, expected="a CSV header row")
    for col in required:
        if col not in header:
            raise InputError(f"no column {col!r} in header {header}", source=source, line=1,
                             field=col, expected=f"columns {list(required)}")
    for row in reader:
        line = reader.line_num
        if None in row:
            raise InputError(f"{len(header) + len(row[None])} fields, header has {len(header)}",
                             source=source, line=line, field=header[-1],
                             expected=f"{len(header)} comma-separated fields")
        for col in required:
            if row[col] is None:
                raise InputError("missing value (row too short)", source=source, line=line,
                                 field=col, expected=f"{len(header)} comma-separated fields")
        yield line, row


def _read_packaged(filename: str, required: Sequence[str]) -> list[tuple[int, dict]]:
    resource = importlib.resources.files(_DATA_PACKAGE) / "data" / filename
    source = f"placement/network/data/{filename}"
    with resource.open("r", encoding="utf-8", newline="") as f:
        return list(_read_rows(f, source, required))


def load_table(filename: str) -> list[dict[str, str]]:
    """All columns of a shipped table ('gateways.csv', 'pops.csv', 'cloud_regions.csv') as rows."""
    return [row for _, row in _read_packaged(filename, ())]


def _nodes_from_packaged(filename: str, kind: str, name_of, keep=lambda row: True) -> GroundNodes:
    source = f"placement/network/data/{filename}"
    names, lats, lons, countries = [], [], [], []
    for line, row in _read_packaged(filename, ("name", "lat_deg", "lon_deg", "country", "source")):
        if not keep(row):
            continue
        names.append(name_of(row))
        lats.append(_parse_float(row["lat_deg"], source=source, line=line, field="lat_deg", lo=-90, hi=90))
        lons.append(_parse_float(row["lon_deg"], source=source, line=line, field="lon_deg", lo=-180, hi=180))
        countries.append(row["country"])
    return GroundNodes(tuple(names), (kind,) * len(names), np.array(lats), np.array(lons),
                       None, tuple(countries))


def gateways() -> GroundNodes:
    """The 222 Starlink gateway sites (kind 'gateway'); antennas and bands: load_table('gateways.csv')."""
    return _nodes_from_packaged("gateways.csv", "gateway", lambda r: r["name"])


def pops() -> GroundNodes:
    """The 23 Starlink points of presence (kind 'pop')."""
    return _nodes_from_packaged("pops.csv", "pop", lambda r: r["name"])


def cloud_regions(provider: str | None = None, *, announced: bool = False) -> GroundNodes:
    """Cloud regions (kind 'cloud'), named "provider:region"; provider 'azure', 'aws' or None (all). Regions
    announced but not open (status 'announced') only with announced=True."""
    if provider is not None and provider not in PROVIDERS:
        raise InputError(repr(provider), source="cloud_regions", field="provider",
                         expected=f"one of {PROVIDERS} or None")
    return _nodes_from_packaged(
        "cloud_regions.csv", "cloud", lambda r: f"{r['provider']}:{r['name']}",
        keep=lambda r: (provider is None or r["provider"] == provider)
        and (announced or r["status"] != "announced"))


def demand_sites_from_table(
    path,
    *,
    country: str | None = None,
    min_population: float = 0,
    limit: int | None = None,
    name_column: str = "city",
    lat_column: str = "lat",
    lon_column: str = "lon",
    population_column: str | None = "population",
    encoding: str = "utf-8",
    where: Mapping[str, Collection[str]] | None = None,
    return_population: bool = False,
):
    """Demand sites (kind 'demand') from a town table with a header row.

    Defaults fit kenya_towns.csv and brazil_agri_towns.csv (city, lat, lon, population). Sites
    are sorted by population, largest first (ties keep file order), filtered to population >=
    min_population, then cut to the first `limit`. With population_column=None (e.g.
    north_sea_platforms.csv: name_column="name") the file order is kept and min_population must
    be 0. `where` keeps only the rows whose columns hold one of the values given for them (e.g.
    {"status": ["Operational"]}), before their numbers are read. `country` (alpha-2) is given to every
    site; the tables do not carry one. With return_population=True, (sites, population [site]) (zeros
    without a population column).
    Malformed rows raise InputError naming the file, line and column.
    """
    path = Path(path)
    source = str(path)
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 0):
        raise InputError(repr(limit), source="demand_sites_from_table", field="limit",
                         expected="None or an integer >= 0")
    if population_column is None and min_population > 0:
        raise InputError(repr(min_population), source="demand_sites_from_table",
                         field="min_population", expected="0 when population_column is None")
    where = dict(where or {})
    required = [name_column, lat_column, lon_column] + ([population_column] if population_column else []) + list(where)
    records = []
    try:
        with open(path, encoding=encoding, newline="") as f:
            for line, row in _read_rows(f, source, required):
                if any(row[col] not in values for col, values in where.items()):
                    continue
                name = row[name_column].strip()
                if not name:
                    raise InputError("empty name", source=source, line=line, field=name_column)
                lat = _parse_float(row[lat_column], source=source, line=line, field=lat_column,
                                   lo=-90, hi=90, expected="a latitude in [-90, 90] degrees")
                lon = _parse_float(row[lon_column], source=source, line=line, field=lon_column,
                                   lo=-180, hi=180, expected="a longitude in [-180, 180] degrees")
                pop = 0.0
                if population_column:
                    pop = _parse_float(row[population_column], source=source, line=line,
                                       field=population_column, lo=0,
                                       expected="a population >= 0")
                records.append((name, lat, lon, pop))
    except UnicodeDecodeError as exc:
        raise InputError(f"not {encoding} text ({exc.reason} at byte {exc.start})", source=source,
                         expected=f"a CSV file in {encoding}") from None
    except FileNotFoundError:
        raise InputError("file not found", source=source) from None
    if population_column:
        records.sort(key=lambda r: -r[3])  # stable: ties keep file order
        records = [r for r in records if r[3] >= min_population]
    if limit is not None:
        records = records[:limit]
    sites = demand_sites([r[1] for r in records], [r[2] for r in records],
                         names=[r[0] for r in records], country=country)
    return (sites, np.array([r[3] for r in records], dtype=np.float64)) if return_population else sites


def demand_sites(lat_deg, lon_deg, names=None, country=None, alt_km=None) -> GroundNodes:
    """Demand sites (kind 'demand') at explicit coordinates.

    names default to "site0", "site1", ...; country is one alpha-2 code for all, a sequence
    (one per site) or None (unknown, "").
    """
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    n = lat.size
    names = tuple(f"site{i}" for i in range(n)) if names is None else tuple(names)
    if country is None or isinstance(country, str):
        country = ((country or ""),) * n
    return GroundNodes(names, ("demand",) * n, lat, np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)),
                       alt_km, tuple(country))


# ---------------------------------------------------------------------------------------------
# Terrestrial fiber

def great_circle_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg, radius_km: float = EARTH_MEAN_RADIUS_KM):
    """Great-circle distance (km) on a sphere, haversine formula; numpy float64, broadcasting."""
    p1, p2 = np.radians(np.asarray(lat1_deg, np.float64)), np.radians(np.asarray(lat2_deg, np.float64))
    dlon = np.radians(np.asarray(lon2_deg, np.float64) - np.asarray(lon1_deg, np.float64))
    h = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2.0) ** 2
    return 2.0 * radius_km * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def fiber_latency_ms(distance_km, route_factor: float = DEFAULT_FIBER_ROUTE_FACTOR):
    """One-way latency (ms) over terrestrial fiber: distance * route_factor / (c / 1.468)."""
    if not (np.isfinite(route_factor) and route_factor >= 1.0):
        raise InputError(repr(route_factor), source="fiber_latency_ms", field="route_factor",
                         expected="a finite factor >= 1 (fiber is never shorter than the great circle)")
    d = np.asarray(distance_km, dtype=np.float64)
    if np.any(d < 0) or not np.all(np.isfinite(d)):
        raise InputError("negative or non-finite distance", source="fiber_latency_ms",
                         field="distance_km", expected="finite distances >= 0 km")
    return d * route_factor / FIBER_KM_PER_MS


def distance_matrix_km(nodes_a: GroundNodes, nodes_b: GroundNodes) -> np.ndarray:
    """Great-circle distances [a, b] (dense: for the hundreds of gateways, PoPs and regions)."""
    return great_circle_km(nodes_a.lat_deg[:, None], nodes_a.lon_deg[:, None],
                           nodes_b.lat_deg[None, :], nodes_b.lon_deg[None, :])


def nearest(nodes_a: GroundNodes, nodes_b: GroundNodes, *, return_distance: bool = False):
    """Index [a] of the nearest node of b (great circle) for each node of a; ties -> lowest index.

    With return_distance=True, (index, distance_km). Works in chunks of a, so memory stays
    O(chunk * len(b)) for many demand sites.
    """
    if len(nodes_b) == 0:
        raise InputError("no candidate nodes", source="nearest", field="nodes_b",
                         expected="at least one node")
    idx = np.empty(len(nodes_a), dtype=np.int64)
    dist = np.empty(len(nodes_a), dtype=np.float64)
    for start in range(0, len(nodes_a), _NEAREST_CHUNK):
        chunk = nodes_a.take(np.arange(start, min(start + _NEAREST_CHUNK, len(nodes_a))))
        d = distance_matrix_km(chunk, nodes_b)
        j = np.argmin(d, axis=1)
        idx[start:start + len(chunk)] = j
        dist[start:start + len(chunk)] = d[np.arange(len(chunk)), j]
    return (idx, dist) if return_distance else idx


def pop_of_gateway(gateway_nodes: GroundNodes | None = None, pop_nodes: GroundNodes | None = None,
                   *, return_distance: bool = False):
    """The PoP [gateway] through which each gateway reaches the cloud: its nearest PoP.

    Defaults to the shipped tables. This is the usual model (StarPerf, Hypatia-style studies);
    real assignment is by SpaceX's backhaul contracts and is not public.
    """
    gateway_nodes = gateways() if gateway_nodes is None else gateway_nodes
    pop_nodes = pops() if pop_nodes is None else pop_nodes
    return nearest(gateway_nodes, pop_nodes, return_distance=return_distance)
