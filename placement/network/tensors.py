"""Network tensors: at every network step, what each demand site reaches and how fast; then, per placement
epoch, each site's candidate hosts with their latency and availability over the epoch's steps.

One step (jitted, scanned over the steps of a chunk):
  Earth-fixed satellite positions (from the one propagation, placement.propagation.orbits) ->
  the site's one access satellite (access.choose_access: highest, or longest remaining view) ->
  lasers (+Grid, range, line of sight) -> satellite hosts within laser hops of the access satellite, by exact
  shortest paths in a window around it (windows.py) -> gateways and cloud regions, through gateway-rooted
  Bellman-Ford (routes.py).
A chunk holds whole epochs, and each epoch's steps are then folded into candidates (epochs.py), so a long
horizon streams through a fixed amount of memory.

Latency is one way and includes a fixed delay per radio hop (`radio_hop_ms`: scheduling, framing and
processing of a ground-satellite link) and per laser hop (`laser_hop_ms`: switching on board), calibrated
so that the modelled round trip from a site to its nearest point of presence matches Starlink's published
median (experiments/calibrate_access_delay.py).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import math
from typing import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from placement.errors import InputError
from placement.network import ground as ground_tables
from placement.network.access import ACCESS_RULES, Access, Reach, choose_access, ground_access, in_view_of
from placement.network.epochs import NetworkTensors, fold_epochs
from placement.network.geometry import DEFAULT_GRAZING_ALTITUDE_KM
from placement.network.isl import GridShell, plus_grid
from placement.network.links import (KA_GATEWAY, KA_GATEWAY_UPLINK, KU_USER_DOWNLINK, KU_USER_UPLINK, FixedRate,
                                     LinkBudget)
from placement.network.routes import Lasers, laser_links, route
from placement.network.weather import RainNodes, faded_access
from placement.network.windows import Windows, local_routes

# A Starlink pass seen from the ground lasts under 5 minutes above a 25 deg mask (the visibility cone is
# about 1,900 km across, crossed at about 7 km/s); the longest_view rule looks this far ahead.
LONGEST_PASS_S = 600.0

# The one-way delay of one ground-satellite radio hop beyond light time (access scheduling, framing,
# processing), fitted by experiments/calibrate_access_delay.py so that the median modelled round trip from
# the 83 US cities among the 1,000 largest to their nearest point of presence is Starlink's published median,
# 25.7 ms (June 2025); light time alone gives 8.89 ms (experiments/results/access_delay.json: 4.201 ms).
RADIO_HOP_MS = 4.2
# Relaying through one more satellite: on-board switching of a packet, tens of microseconds (assumption: no
# published figure for Starlink's lasers).
LASER_HOP_MS = 0.1
# Network chunks computed at once (network_steps): two keep both cores of a 2-core CPU busy. Starlink Gen1
# over 1,920 steps of experiments/benchmarks/network.py, fold included: 33.1 ms a step with two, 34.6 with
# three (the whole day, one chunk dispatched ahead from the caller's thread: 42.5 ms).
CHUNKS_IN_FLIGHT = 2


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """Link rules (hashable: static under jit)."""

    site_slots: int = 4  # highest satellites in view a site's access rule chooses among
    gateway_slots: int = 8  # satellites a gateway uses at once
    site_reach: Reach = Reach(25.0)  # Starlink user terminals (FCC SAT-MOD-20181108-00083)
    # Ka gateways: 25 deg in early filings, 40 deg later (facts: "Gateway min elevation"); KA_GATEWAY is
    # calibrated at 40 deg.
    gateway_reach: Reach = Reach(40.0)
    access_rule: str = "highest"  # ACCESS_RULES
    laser_hops: int = 2  # satellite hosts within this many laser hops of the site's access satellite
    reach_hops: int | None = None  # a request is relayed at most this many hops to a copy (None: laser_hops)
    # Satellite hosts kept per site and epoch, lowest mean latency first. Enough that the cut does not decide
    # the answer: on north-sea-rigs the optimum serves 33/53/80/98.4/98.9% in orbit at 4/8/16/32/64 (mean
    # 74.4/70.2/65.9/63.4/63.3 ms); on kenya-hubs 48.3 ms at 8, 41.2 ms at 32.
    satellite_candidates: int = 32
    laser_max_range_km: float = 5016.0  # geometry.max_isl_range_km(550 km): lasers just clear 80 km
    laser_grazing_altitude_km: float = DEFAULT_GRAZING_ALTITUDE_KM
    laser_capacity_gbps: float = 100.0  # per laser link (starlink_performance_facts.csv)
    radio_hop_ms: float = RADIO_HOP_MS
    laser_hop_ms: float = LASER_HOP_MS
    site_uplink: LinkBudget | FixedRate = KU_USER_UPLINK
    site_downlink: LinkBudget | FixedRate = KU_USER_DOWNLINK
    gateway_downlink: LinkBudget | FixedRate = KA_GATEWAY  # feeder, satellite -> gateway: carries requests
    gateway_uplink: LinkBudget | FixedRate = KA_GATEWAY_UPLINK  # feeder, gateway -> satellite: responses
    # Shared link rows (16): the links each candidate's path crosses and their capacities join the placement
    # problem (placement.problem.shared_links); off by default, see the README for what it costs
    link_rows: bool = False

    def __post_init__(self):
        for name in ("site_slots", "gateway_slots", "satellite_candidates"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{value!r}", source="NetworkSpec", field=name, expected="an integer >= 1")
        if not isinstance(self.laser_hops, int) or self.laser_hops < 0:
            raise InputError(f"{self.laser_hops!r}", source="NetworkSpec", field="laser_hops",
                             expected="an integer >= 0")
        if self.reach_hops is not None and not self.laser_hops <= self.reach_hops:
            raise InputError(f"{self.reach_hops!r}", source="NetworkSpec", field="reach_hops",
                             expected=f"an integer >= laser_hops ({self.laser_hops}), or None")
        if self.access_rule not in ACCESS_RULES:
            raise InputError(f"{self.access_rule!r}", source="NetworkSpec", field="access_rule",
                             expected="one of " + ", ".join(ACCESS_RULES))
        for name in ("site_reach", "gateway_reach"):
            reach = getattr(self, name)
            if not 0.0 <= reach.min_elevation_deg < 90.0:
                raise InputError(f"{reach.min_elevation_deg!r}", source="NetworkSpec",
                                 field=f"{name}.min_elevation_deg", expected="an elevation in [0, 90) degrees")
            if reach.max_range_km is not None and not reach.max_range_km > 0.0:
                raise InputError(f"{reach.max_range_km!r}", source="NetworkSpec", field=f"{name}.max_range_km",
                                 expected="> 0 km, or None")
        for name in ("laser_max_range_km", "laser_capacity_gbps"):
            if not getattr(self, name) > 0.0:
                raise InputError(f"{getattr(self, name)!r}", source="NetworkSpec", field=name, expected="> 0")
        for name in ("radio_hop_ms", "laser_hop_ms"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0.0):
                raise InputError(f"{getattr(self, name)!r}", source="NetworkSpec", field=name,
                                 expected="a finite delay >= 0 ms")

    @property
    def relay_hops(self) -> int:
        return self.laser_hops if self.reach_hops is None else self.reach_hops

    def windows(self, neighbour: np.ndarray) -> Windows:
        """The windows the satellite hosts are routed in: two hops beyond `relay_hops`, which certified every
        host within it at random steps of Starlink Gen1 (tests/test_windows.py). Built once per laser graph
        (a streamed horizon asks for them at every chunk)."""
        neighbour = np.ascontiguousarray(neighbour, np.int32)
        return _windows(neighbour.tobytes(), neighbour.shape[0], self.relay_hops + 2, self.relay_hops)


@functools.lru_cache(maxsize=4)
def _windows(neighbour_bytes: bytes, n_sat: int, radius: int, reach: int) -> Windows:
    return Windows.build(np.frombuffer(neighbour_bytes, np.int32).reshape(n_sat, 4), radius, reach)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Ground:
    """The ground segment as arrays: Earth-fixed positions and the fiber behind the gateways."""

    sites_ecef_km: jax.Array  # [site, 3]
    gateways_ecef_km: jax.Array  # [gateway, 3]
    gateway_pop: jax.Array  # [gateway] int: the point of presence each gateway reaches fiber at
    gateway_pop_ms: jax.Array  # [gateway]: fiber latency gateway -> PoP (inf: no fiber)
    pop_cloud_ms: jax.Array  # [pop, cloud]: fiber latency PoP -> cloud region
    # rain fade of the sites' and gateways' links (weather.Weather.rain), None: clear sky
    site_rain: RainNodes | None = None
    gateway_rain: RainNodes | None = None

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
class Steps:
    """What each site reaches at each network step of a chunk, time-major.

    access [time, site, 1]: the site's access satellite, one-way latency to it and the terminals' up and down
      capacity (per terminal)
    host_sat [time, site, P]: satellites within `relay_hops` of the access satellite (-1 padding), with
      host_ms (one way from the site: access, lasers and their delays), host_hops (laser hops, -1
      unreachable) and host_exact (the window's certificate, windows.py)
    gateway_*, cloud_* [time, site, gateway | cloud]: one-way latency and per-direction bottleneck
    """

    access: Access
    host_sat: jax.Array
    host_ms: jax.Array
    host_hops: jax.Array
    host_exact: jax.Array
    gateway_ms: jax.Array
    gateway_up_gbps: jax.Array
    gateway_down_gbps: jax.Array
    cloud_ms: jax.Array
    cloud_up_gbps: jax.Array
    cloud_down_gbps: jax.Array


@functools.partial(jax.jit, static_argnames=("grids", "spec", "lookahead"))
def _chunk(r_ecef_km, ground: Ground, table, windows: Windows, grids: tuple[GridShell, ...], spec: NetworkSpec,
           lookahead: int) -> Steps:
    """The Steps of one chunk: r_ecef_km [sat, time + lookahead, 3]; the lasers of the Walker `grids`, or of
    the neighbour `table` [sat, 4] when it is not None."""
    dtype = r_ecef_km.dtype
    ground = jax.tree_util.tree_map(lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, ground)
    r_time = jnp.moveaxis(r_ecef_km, 1, 0)  # [time + lookahead, sat, 3]
    preferred = None
    if spec.access_rule == "gateway_in_view":
        preferred = jax.lax.map(lambda r: in_view_of(ground.gateways_ecef_km, r, spec.gateway_reach),
                                r_time[:r_time.shape[0] - lookahead])
    access = choose_access(ground.sites_ecef_km, r_time, spec.site_reach, spec.site_slots, spec.access_rule,
                           spec.site_uplink, spec.site_downlink, spec.radio_hop_ms, lookahead, preferred)
    if ground.site_rain is not None:
        access = jax.vmap(lambda a, r: faded_access(a, ground.sites_ecef_km, r, ground.site_rain, spec.site_uplink,
                                                    spec.site_downlink))(access, r_time[:access.sat.shape[0]])

    def step(inputs):
        r_km, sites = inputs
        gateways, lasers = step_links(r_km, ground, table, grids, spec)
        hosts = local_routes(windows, sites.sat[:, 0], lasers.latency_ms, r_km)
        routes = route(lasers, sites, gateways, ground.gateway_pop, ground.gateway_pop_ms, ground.pop_cloud_ms)
        return (hosts.members, sites.latency_ms + hosts.latency_ms, hosts.hops, hosts.exact, routes.gateway_ms,
                routes.gateway_up_gbps, routes.gateway_down_gbps, routes.cloud_ms, routes.cloud_up_gbps,
                routes.cloud_down_gbps)

    n_steps = access.sat.shape[0]
    return Steps(access, *jax.lax.map(step, (r_time[:n_steps], access)))


def step_links(r_km, ground: Ground, table, grids: tuple[GridShell, ...], spec: NetworkSpec) -> tuple[Access, Lasers]:
    """The gateways' access slots and the lasers at one step (r_km [sat, 3] Earth-fixed; lasers of the Walker
    `grids`, or of the neighbour `table` when it is not None): what the routes and the paths start from."""
    gateways = ground_access(ground.gateways_ecef_km, r_km, spec.gateway_reach, spec.gateway_slots,
                             spec.gateway_uplink, spec.gateway_downlink, spec.radio_hop_ms)
    if ground.gateway_rain is not None:
        gateways = faded_access(gateways, ground.gateways_ecef_km, r_km, ground.gateway_rain, spec.gateway_uplink,
                                spec.gateway_downlink)
    lasers = laser_links(r_km, grids if table is None else table, max_range_km=spec.laser_max_range_km,
                         min_altitude_km=spec.laser_grazing_altitude_km, capacity_gbps=spec.laser_capacity_gbps,
                         hop_ms=spec.laser_hop_ms)
    return gateways, lasers


def network_steps(r_ecef_km: np.ndarray, lasers_of: tuple[GridShell, ...] | np.ndarray, ground: Ground,
                  spec: NetworkSpec = NetworkSpec(), chunk_steps: int = 60, step_s: float = 60.0,
                  steps: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, Steps]]:
    """Stream (step indices, Steps) over the time steps `steps` (default all) of Earth-fixed satellite
    positions r_ecef_km [sat, time, 3] (`placement.propagation.orbits.Orbits.r_ecef_km`), `chunk_steps` steps
    at a time; `step_s` is the spacing of the steps (the longest_view rule's look-ahead is counted in them).

    `lasers_of` must describe those satellites: isl.grid_shells of the Walker shells that generated them, or
    neighbour slots [sat, 4] of any laser graph (isl.infer_plus_grid for a catalog). Every chunk runs with
    the same shape, so the kernel compiles once.
    """
    n_sat, n_time = r_ecef_km.shape[:2]
    table, grids = laser_table(lasers_of, n_sat)
    windows = spec.windows(plus_grid(grids) if table is None else np.asarray(table))
    steps = np.arange(n_time) if steps is None else np.asarray(steps, int)
    chunk_steps = max(1, min(chunk_steps, len(steps)))
    lookahead = math.ceil(LONGEST_PASS_S / step_s) if spec.access_rule == "longest_view" else 0

    def run(chunk: np.ndarray) -> tuple[np.ndarray, Steps]:
        # a short last chunk repeats its last step, so every chunk has one shape: one compilation; the
        # look-ahead past the horizon is out of view (NaN)
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], chunk_steps - len(chunk))])
        ahead = padded[-1] + 1 + np.arange(lookahead)
        positions = np.concatenate([np.asarray(r_ecef_km[:, padded]),
                                    np.where((ahead < n_time)[None, :, None],
                                             np.asarray(r_ecef_km[:, np.minimum(ahead, n_time - 1)]), np.nan)], axis=1)
        out = _chunk(jnp.asarray(positions), ground, table, windows, grids, spec, lookahead)
        return chunk, jax.tree_util.tree_map(lambda a: np.asarray(a[: len(chunk)]), out)

    # Chunks run CHUNKS_IN_FLIGHT at a time, each dispatched from its own thread: calls dispatched from one
    # thread run one after another, from separate threads side by side. One more chunk waits in the queue, so
    # a thread takes it up as soon as it hands a chunk over, and the caller's host work on that chunk
    # (epochs.fold_epochs) overlaps the device's work on the next ones.
    with concurrent.futures.ThreadPoolExecutor(CHUNKS_IN_FLIGHT) as pool:
        pending = collections.deque()
        for first in range(0, len(steps), chunk_steps):
            pending.append(pool.submit(run, steps[first:first + chunk_steps]))
            if len(pending) > CHUNKS_IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def laser_table(grids: tuple[GridShell, ...] | np.ndarray, n_sat: int):
    """(neighbour table or None, Walker grids) after checking that they describe `n_sat` satellites."""
    if not isinstance(grids, tuple):
        table = np.asarray(grids)
        if table.shape != (n_sat, 4) or not np.issubdtype(table.dtype, np.integer) or (table >= n_sat).any():
            raise InputError(f"a laser table of shape {table.shape}", source="network_steps", field="grids",
                             expected=f"neighbour slots [{n_sat}, 4] of satellite indices (-1 for none)")
        return jnp.asarray(table, jnp.int32), ()
    if not grids or grids[-1].first + grids[-1].planes * grids[-1].per_plane != n_sat:
        raise InputError(f"the laser grid does not cover the {n_sat} satellites", source="network_steps",
                         field="grids", expected="isl.grid_shells of the shells the constellation came from")
    return None, grids


def build_network(r_ecef_km: np.ndarray, lasers_of: tuple[GridShell, ...] | np.ndarray, ground: Ground,
                  spec: NetworkSpec = NetworkSpec(), *, steps_per_epoch: int, step_s: float,
                  chunk_epochs: int = 1, on_chunk: Callable[[int, int], None] | None = None,
                  on_steps: Callable[[Steps], None] | None = None) -> NetworkTensors:
    """The network of every placement epoch: r_ecef_km [sat, time, 3] holds `steps_per_epoch` steps per epoch
    (then possibly the horizon's end, which no epoch uses), `step_s` apart; `chunk_epochs` epochs are routed
    per device call. `on_chunk(epochs_done, epochs_total)` is called after each chunk (progress); `on_steps`
    sees each chunk's Steps (whole epochs, numpy) before they are folded (network.transit records the landings)."""
    n_epochs = r_ecef_km.shape[1] // steps_per_epoch
    parts, done = [], 0
    for chunk, out in network_steps(r_ecef_km, lasers_of, ground, spec, chunk_epochs * steps_per_epoch, step_s,
                                    steps=np.arange(n_epochs * steps_per_epoch)):
        if on_steps is not None:
            on_steps(out)
        parts.append(fold_epochs(out, steps_per_epoch, spec, r_ecef_km.shape[0]))
        done += len(chunk) // steps_per_epoch
        if on_chunk is not None:
            on_chunk(done, n_epochs)
    return NetworkTensors.concatenate(*parts)
