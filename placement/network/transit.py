"""Transit rules: the countries a request's path touches, and the network as a demand's rule lets it route.

A demand's allowed jurisdictions (problem.build) always bound where it is processed: the host's
jurisdiction. Its transit rule bounds, separately, what the path to that host touches:

  processing  nothing beyond the host (the default: the paths of the open network);
  landing     the gateway a path comes down at, the point of presence (PoP) where it reaches fiber and the
              fiber must be in allowed countries. Fiber is taken to stay within the countries of its
              endpoints (gateway, PoP, cloud region): the tables hold no conduit routes (assumption);
  overflight  also the country beneath every satellite on the path (its sub-satellite point in the Natural
              Earth 1:110m polygons, data/countries_110m.npz from experiments/curate_borders.py); a point over
              the sea is beneath no country. Outer space is no state's territory (Outer Space Treaty, 1967,
              Art. II): this is a policy a data owner may ask for, not law.

Routing honours a rule by restriction, one network per `TransitGroup` (the demands sharing an allowed set
and a rule):
  - a gateway outside the allowed countries, or whose PoP is, carries no route to a cloud region: its fiber
    latency to the PoP becomes inf (`landing_ground`), so `routes.route` takes its best PoP over the other
    gateways; a gateway host is allowed or not by its own country already (processing);
  - under overflight, a satellite above a forbidden country at a step leaves the network at that step: its
    position becomes NaN (`without_overflights`), the way an SGP4 failure's does, so it has no links, no
    site or gateway takes it as an access satellite, and paths reroute around it.
What each cloud slot's path touches is recorded apart from the routing (`landing_countries`: at each step the
gateway the route to a region comes down at, re-derived from the per-gateway latencies, with the countries
of that gateway, its PoP and the region read from the tables), and the evaluator checks the record against
the demand's allowed countries (`PlacementProblem.candidate_transit`). A run also checks the paths it traced,
overflights included (placement.evaluation.transit).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np

from placement.network.epochs import NetworkTensors
from placement.network.tensors import Ground, NetworkSpec, Steps, build_network
from placement.propagation.frames import ecef_to_geodetic

TRANSIT_RULES = ("processing", "landing", "overflight")


@dataclasses.dataclass(frozen=True)
class TransitGroup:
    """Demands that share a transit rule other than 'processing' and an allowed set (country codes)."""

    rule: str
    allowed: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.rule}:{','.join(self.allowed)}"


@dataclasses.dataclass(frozen=True, eq=False)
class TransitNetwork:
    """The network a group's demands route on, and what each of their cloud routes touched."""

    group: TransitGroup
    network: NetworkTensors
    positions: np.ndarray  # [sat, time, 3] Earth-fixed, NaN where a satellite is out of this network
    ground: Ground  # the ground arrays the group routed on (landing_ground)
    countries: tuple[str, ...]  # what `cloud_touched` indexes
    cloud_touched: np.ndarray  # bool [epoch, site, cloud, country]: the landing, PoP and region countries


@functools.lru_cache(maxsize=1)
def _country_grid() -> tuple[np.ndarray, np.ndarray]:
    with (importlib.resources.files("placement.network") / "data" / "countries_110m.npz").open("rb") as f:
        data = np.load(f)
        return data["code"], data["country"]


def countries_at(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """ISO 3166-1 alpha-2 code of the country beneath each point ("" for none: sea, or NaN input)."""
    codes, grid = _country_grid()
    cell_deg = 180.0 / grid.shape[0]
    lat, lon = np.asarray(lat_deg, float), np.asarray(lon_deg, float)
    known = np.isfinite(lat) & np.isfinite(lon)
    row = np.clip(np.floor((np.where(known, lat, 0.0) + 90.0) / cell_deg), 0, grid.shape[0] - 1).astype(int)
    column = np.floor(np.mod(np.where(known, lon, 0.0) + 180.0, 360.0) / cell_deg).astype(int) % grid.shape[1]
    return np.where(known, codes[grid[row, column]], "")


def subsatellite_countries(r_ecef_km: np.ndarray) -> np.ndarray:
    """[...] the country beneath each Earth-fixed position [..., 3] (WGS84 geodetic: the point beneath it)."""
    lat, lon, _ = ecef_to_geodetic(np.asarray(r_ecef_km, float))
    return countries_at(np.degrees(np.asarray(lat)), np.degrees(np.asarray(lon)))


def without_overflights(r_ecef_km: np.ndarray, allowed: Sequence[str]) -> np.ndarray:
    """The positions [sat, time, 3] (a copy, in their precision) with every satellite above a country outside
    `allowed` set to NaN."""
    r = np.array(r_ecef_km)
    beneath = subsatellite_countries(r)
    r[(beneath != "") & ~np.isin(beneath, list(allowed))] = np.nan
    return r


def landing_ground(ground: Ground, gateway_country: Sequence[str], pop_country: Sequence[str],
                   allowed: Sequence[str]) -> Ground:
    """`ground` with no fiber from a gateway outside `allowed`, or whose point of presence is."""
    pop = np.asarray(ground.gateway_pop)
    ok = np.isin(np.asarray(gateway_country), list(allowed)) & np.isin(np.asarray(pop_country)[pop], list(allowed))
    return dataclasses.replace(ground, gateway_pop_ms=jnp.where(jnp.asarray(ok), ground.gateway_pop_ms, jnp.inf))


def landing_gateways(gateway_ms: np.ndarray, ground: Ground) -> np.ndarray:
    """[site, cloud] the gateway a step's route to each cloud region comes down at (-1: no route), from the
    step's latencies to the gateways [site, gateway]: the least latency down, to the PoP and on to the region."""
    to_cloud_ms = np.asarray(ground.gateway_pop_ms)[:, None] + np.asarray(ground.pop_cloud_ms)[
        np.asarray(ground.gateway_pop)]  # [gateway, cloud]
    total = np.asarray(gateway_ms)[:, :, None] + to_cloud_ms[None]  # [site, gateway, cloud]
    best = np.argmin(total, axis=1)
    return np.where(np.isfinite(np.take_along_axis(total, best[:, None], axis=1)[:, 0]), best, -1)


def landing_countries(steps: Steps, ground: Ground, steps_per_epoch: int, country_index: dict[str, int],
                      gateway_country: Sequence[str], pop_country: Sequence[str],
                      cloud_country: Sequence[str]) -> np.ndarray:
    """bool [epoch, site, cloud, country] of the whole epochs in `steps` (a chunk, numpy): the countries of the
    gateway, the PoP and the region of the route to each region at some step of the epoch."""
    code = lambda names: np.array([country_index[c] for c in names], int)  # noqa: E731
    gateway_c, pop_c, cloud_c = code(gateway_country), code(pop_country)[np.asarray(ground.gateway_pop)], \
        code(cloud_country)
    n_steps, n_site, n_cloud = steps.cloud_ms.shape
    touched = np.zeros((n_steps // steps_per_epoch, n_site, n_cloud, len(country_index)), bool)
    site, cloud = np.indices((n_site, n_cloud))
    for i in range(n_steps):
        landed = landing_gateways(steps.gateway_ms[i], ground)
        s, c, g = site[landed >= 0], cloud[landed >= 0], landed[landed >= 0]
        for country in (gateway_c[g], pop_c[g], cloud_c[c]):
            touched[i // steps_per_epoch, s, c, country] = True
    return touched


def transit_network(group: TransitGroup, r_ecef_km: np.ndarray, lasers_of, ground: Ground,
                    gateway_country: Sequence[str], pop_country: Sequence[str], cloud_country: Sequence[str],
                    spec: NetworkSpec, *, steps_per_epoch: int, step_s: float, chunk_epochs: int = 1,
                    on_chunk: Callable[[int, int], None] | None = None) -> TransitNetwork:
    """The network of `group`'s demands (see the module docstring), built as `tensors.build_network` builds the
    open one, and the countries each of their cloud routes touched."""
    if group.rule not in TRANSIT_RULES[1:]:
        raise ValueError(f"transit rule {group.rule!r} is none of {TRANSIT_RULES[1:]}")
    routed = landing_ground(ground, gateway_country, pop_country, group.allowed)
    positions = without_overflights(r_ecef_km, group.allowed) if group.rule == "overflight" else r_ecef_km
    countries = tuple(sorted(set(gateway_country) | set(pop_country) | set(cloud_country)))
    index = {c: i for i, c in enumerate(countries)}
    parts: list[np.ndarray] = []
    network = build_network(positions, lasers_of, routed, spec, steps_per_epoch=steps_per_epoch, step_s=step_s,
                            chunk_epochs=chunk_epochs, on_chunk=on_chunk,
                            on_steps=lambda steps: parts.append(landing_countries(
                                steps, routed, steps_per_epoch, index, gateway_country, pop_country,
                                cloud_country)))
    return TransitNetwork(group, network, positions, routed, countries, np.concatenate(parts))
