"""Network tensors: per time step, which links exist and the latency and bottleneck capacity from
every demand site to every candidate host. Time-major arrays, built in time chunks.

One step (jitted, `lax.map` over the steps of a chunk):
  Earth-fixed satellite positions (from the one propagation, placement.propagation.orbits) -> ground
  access (look angles, elevation mask, K highest satellites per ground node, link budget) -> lasers
  (+Grid, range, line of sight) -> routes (routes.py).
The candidate hosts of a site are its K access satellites (`site_sat`), every gateway and every
cloud region: the pruning step that keeps the optimiser's size under control is the choice of
K (`NetworkSpec.site_slots`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from placement.errors import InputError
from placement.network import ground as ground_tables
from placement.network.geometry import DEFAULT_GRAZING_ALTITUDE_KM, ground_up_vectors, visible_k_best
from placement.network.isl import GridShell
from placement.network.links import KA_GATEWAY, KU_USER_DOWNLINK, FixedRate, LinkBudget
from placement.network.routes import C_KM_PER_MS, Access, laser_links, route
from placement.propagation.frames import ecef_to_geodetic


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """Link rules (hashable: it is static under jit)."""

    site_slots: int = 4  # K: satellites a demand site can use at once, and its satellite host candidates
    gateway_slots: int = 8  # satellites a gateway can use at once
    site_min_elevation_deg: float = 25.0  # Starlink user terminals (starlink_performance_facts.csv)
    gateway_min_elevation_deg: float = 25.0
    laser_max_range_km: float = 5016.0  # geometry.max_isl_range_km(550 km): lasers just clear 80 km
    laser_grazing_altitude_km: float = DEFAULT_GRAZING_ALTITUDE_KM
    laser_capacity_gbps: float = 100.0  # per laser link (starlink_performance_facts.csv)
    site_link: LinkBudget | FixedRate = KU_USER_DOWNLINK
    gateway_link: LinkBudget | FixedRate = KA_GATEWAY

    def __post_init__(self):
        for name in ("site_slots", "gateway_slots"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{value!r}", source="NetworkSpec", field=name, expected="an integer >= 1")
        for name in ("site_min_elevation_deg", "gateway_min_elevation_deg"):
            if not 0.0 <= getattr(self, name) < 90.0:
                raise InputError(f"{getattr(self, name)!r}", source="NetworkSpec", field=name,
                                 expected="an elevation in [0, 90) degrees")
        for name in ("laser_max_range_km", "laser_capacity_gbps"):
            if not getattr(self, name) > 0.0:
                raise InputError(f"{getattr(self, name)!r}", source="NetworkSpec", field=name, expected="> 0")


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Ground:
    """The ground segment as arrays: Earth-fixed positions and the fiber behind the gateways."""

    sites_ecef_km: jax.Array  # [site, 3]
    gateways_ecef_km: jax.Array  # [gateway, 3]
    gateway_pop: jax.Array  # [gateway] int: the point of presence each gateway reaches fiber at
    gateway_pop_ms: jax.Array  # [gateway]: fiber latency gateway -> PoP
    pop_cloud_ms: jax.Array  # [pop, cloud]: fiber latency PoP -> cloud region

    @classmethod
    def from_nodes(cls, sites: ground_tables.GroundNodes, gateways: ground_tables.GroundNodes,
                   pops: ground_tables.GroundNodes, clouds: ground_tables.GroundNodes,
                   route_factor: float = ground_tables.DEFAULT_FIBER_ROUTE_FACTOR,
                   gateway_pop: np.ndarray | None = None) -> Ground:
        """Each gateway reaches fiber at the point of presence `gateway_pop` [gateway] names (default: its
        nearest; -1: none, so no route to a cloud region leaves the satellites there); fiber runs the great
        circle stretched by `route_factor`."""
        attach = ground_tables.nearest(gateways, pops) if gateway_pop is None else np.asarray(gateway_pop, int)
        at = np.maximum(attach, 0)
        gateway_pop_km = ground_tables.great_circle_km(gateways.lat_deg, gateways.lon_deg,
                                                      pops.lat_deg[at], pops.lon_deg[at])
        pop_cloud_km = ground_tables.great_circle_km(pops.lat_deg[:, None], pops.lon_deg[:, None],
                                                    clouds.lat_deg[None, :], clouds.lon_deg[None, :])
        gateway_pop_ms = np.where(attach >= 0, ground_tables.fiber_latency_ms(gateway_pop_km, route_factor), np.inf)
        return cls(sites_ecef_km=jnp.asarray(sites.ecef_km()), gateways_ecef_km=jnp.asarray(gateways.ecef_km()),
                   gateway_pop=jnp.asarray(at), gateway_pop_ms=jnp.asarray(gateway_pop_ms),
                   pop_cloud_ms=jnp.asarray(ground_tables.fiber_latency_ms(pop_cloud_km, route_factor)))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class NetworkTensors:
    """Time-major latency (ms, one way) and bottleneck capacity (Gbps) from sites to hosts.

    Unreachable hosts have latency inf and capacity 0; empty satellite slots have site_sat -1.
    """

    site_sat: jax.Array  # [time, site, K] int32: the site's satellite host candidates
    site_sat_ms: jax.Array  # [time, site, K]
    site_sat_gbps: jax.Array
    site_gateway_ms: jax.Array  # [time, site, gateway]
    site_gateway_gbps: jax.Array
    site_cloud_ms: jax.Array  # [time, site, cloud]
    site_cloud_gbps: jax.Array


def ground_access(ground_ecef_km, sat_ecef_km, min_elevation_deg, slots, link) -> Access:
    """The `slots` highest satellites above the mask from each ground point, at one time step:
    ground_ecef_km [g, 3], sat_ecef_km [sat, 3]; latency is the slant range at light speed.

    Ranking and masking need only an increasing function of the elevation, so this uses its sine,
    (sat - ground) . up / range, from two [g, 3] x [3, sat] products: no angle is computed and no
    [g, sat, 3] array is formed (geometry.look_angles gives the angles themselves). The range comes
    from |s|^2 + |g|^2 - 2 s.g; the cancellation costs ~1e-3 km in float32, ~1e-12 km in float64.
    """
    ground, sat = ground_ecef_km, sat_ecef_km
    lat, lon, _ = ecef_to_geodetic(ground)
    up = ground_up_vectors(lat, lon).astype(sat.dtype)  # [g, 3], the ellipsoid normal
    height_km = up @ sat.T - jnp.sum(up * ground, axis=-1, keepdims=True)  # [g, sat]
    range2 = (jnp.sum(sat * sat, axis=-1)[None, :] + jnp.sum(ground * ground, axis=-1, keepdims=True)
              - 2.0 * (ground @ sat.T))
    range_km = jnp.sqrt(jnp.maximum(range2, 0.0))
    sin_elevation = height_km / range_km
    sin_mask = jnp.sin(jnp.deg2rad(jnp.asarray(min_elevation_deg, sat.dtype)))
    chosen, _, slant_km = visible_k_best(sin_elevation[None], range_km[None], sin_mask, slots)
    chosen, slant_km = chosen[0], slant_km[0]
    return Access(sat=chosen, latency_ms=slant_km / C_KM_PER_MS,
                  capacity_gbps=jnp.where(chosen >= 0, link.capacity_gbps(slant_km), 0.0))


@functools.partial(jax.jit, static_argnames=("grids", "spec"))
def _chunk(r_ecef_km, ground: Ground, table, grids: tuple[GridShell, ...], spec: NetworkSpec):
    """NetworkTensors for the steps of one chunk: r_ecef_km [sat, time, 3]; the lasers of the Walker `grids`,
    or of the neighbour `table` [sat, 4] when it is not None."""
    dtype = r_ecef_km.dtype
    ground = jax.tree_util.tree_map(lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, ground)

    def step(r_km):
        sites = ground_access(ground.sites_ecef_km, r_km, spec.site_min_elevation_deg, spec.site_slots, spec.site_link)
        gateways = ground_access(ground.gateways_ecef_km, r_km, spec.gateway_min_elevation_deg, spec.gateway_slots,
                                 spec.gateway_link)
        lasers = laser_links(r_km, grids if table is None else table, max_range_km=spec.laser_max_range_km,
                             min_altitude_km=spec.laser_grazing_altitude_km, capacity_gbps=spec.laser_capacity_gbps)
        routes = route(lasers, sites, gateways, ground.gateway_pop, ground.gateway_pop_ms, ground.pop_cloud_ms)
        return NetworkTensors(
            site_sat=sites.sat, site_sat_ms=routes.satellite_ms, site_sat_gbps=routes.satellite_gbps,
            site_gateway_ms=routes.gateway_ms, site_gateway_gbps=routes.gateway_gbps,
            site_cloud_ms=routes.cloud_ms, site_cloud_gbps=routes.cloud_gbps,
        )

    return jax.lax.map(step, jnp.moveaxis(r_ecef_km, 1, 0))


def _laser_table(grids: tuple[GridShell, ...] | np.ndarray, n_sat: int):
    """(neighbour table or None, Walker grids) after checking that they describe `n_sat` satellites."""
    if not isinstance(grids, tuple):
        table = np.asarray(grids)
        if table.shape != (n_sat, 4) or not np.issubdtype(table.dtype, np.integer) or (table >= n_sat).any():
            raise InputError(f"a laser table of shape {table.shape}", source="network_chunks", field="grids",
                             expected=f"neighbour slots [{n_sat}, 4] of satellite indices (-1 for none)")
        return jnp.asarray(table, jnp.int32), ()
    if not grids or grids[-1].first + grids[-1].planes * grids[-1].per_plane != n_sat:
        raise InputError(f"the laser grid does not cover the {n_sat} satellites", source="network_chunks",
                         field="grids", expected="isl.grid_shells of the shells the constellation came from")
    return None, grids


def network_chunks(r_ecef_km: np.ndarray, grids: tuple[GridShell, ...] | np.ndarray, ground: Ground,
                   spec: NetworkSpec = NetworkSpec(), chunk_steps: int = 60,
                   steps: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, NetworkTensors]]:
    """Stream (step indices, tensors) over the time steps `steps` (default all) of Earth-fixed satellite
    positions r_ecef_km [sat, time, 3] (`placement.propagation.orbits.Orbits.r_ecef_km`), `chunk_steps` steps at
    a time.

    `grids` must describe those satellites: isl.grid_shells of the Walker shells that generated them, or
    neighbour slots [sat, 4] of any laser graph (isl.infer_plus_grid for a catalog). Every chunk runs with the
    same shape, so the kernel compiles once.
    """
    n_sat = r_ecef_km.shape[0]
    table, grids = _laser_table(grids, n_sat)
    steps = np.arange(r_ecef_km.shape[1]) if steps is None else np.asarray(steps, int)
    chunk_steps = max(1, min(chunk_steps, len(steps)))
    for first in range(0, len(steps), chunk_steps):
        chunk = steps[first:first + chunk_steps]
        # a short last chunk repeats its last step, so every chunk has one shape: one compilation
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], chunk_steps - len(chunk))])
        tensors = _chunk(jnp.asarray(r_ecef_km[:, padded]), ground, table, grids, spec)
        yield chunk, jax.tree_util.tree_map(lambda a: a[: len(chunk)], tensors)


def build_network(r_ecef_km: np.ndarray, grids: tuple[GridShell, ...] | np.ndarray, ground: Ground,
                  spec: NetworkSpec = NetworkSpec(), chunk_steps: int = 60, steps: np.ndarray | None = None,
                  on_chunk: Callable[[int, int], None] | None = None) -> NetworkTensors:
    """The tensors of every step of `steps` at once (host numpy arrays, time-major); `network_chunks` streams
    them. `on_chunk(steps_done, steps_total)` is called after each chunk (progress)."""
    parts, done = [], 0
    total = r_ecef_km.shape[1] if steps is None else len(steps)
    for chunk, tensors in network_chunks(r_ecef_km, grids, ground, spec, chunk_steps, steps):
        parts.append(jax.tree_util.tree_map(np.asarray, tensors))
        done += len(chunk)
        if on_chunk is not None:
            on_chunk(done, total)
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a, axis=0), *parts)
