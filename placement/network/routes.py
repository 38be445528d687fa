"""Shortest-latency routes from demand sites to gateways and cloud regions, batched over time, in JAX.

The graph of one time step (latencies one-way, in ms, each hop's fixed delay included; capacities in Gbps):

    (R1) demand site  -> satellite      uplink, the site's access slots (access.py: one satellite in a run)
    (R2) satellite   <-> satellite      laser, the +Grid slots (isl.py), when in range and clear of the Earth
    (R3) satellite    -> gateway        feeder downlink, the gateway's access slots
    (R4) gateway      -> cloud region   fiber, through the gateway's point of presence (PoP)

Ground stations do not relay between satellites: a path goes up once, across lasers (possibly none: bent
pipe), down once, then over fiber. Satellite hosts near a site are reached through windows.py.

  - Gateways: Bellman-Ford on the laser graph, started from each gateway's access satellites (on a Walker
    grid each round relaxes whole planes and cross-plane lines exactly, isl.relax_along_lines; on any other
    graph, such as a catalog's inferred grid, one hop), gives `to_gateway_ms[v, g]`, the shortest latency
    from satellite v down to gateway g (R2, R3). A site then reaches g through the best of its uplinks:
    `min_k up_ms[d, k] + to_gateway_ms[up_sat[d, k], g]`. Gateways (a few hundred) rather than sites (a
    thousand) are the sources, because the relaxation cost grows with the number of sources.
  - Cloud regions: `min over gateways` of the site-gateway latency plus the fiber latency through the
    gateway's PoP (R4), taken PoP by PoP.

Each direction has its own bottleneck: requests travel min(site uplink, lasers, feeder downlink), responses
min(feeder uplink, lasers, site downlink) (`route`). At the fixed point the next hop of every satellite
follows (`to_gateways`), and the path behind any reported latency can be walked back (`path_to_gateway`).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from placement.constants import SPEED_OF_LIGHT_KM_S
from placement.network.access import Access
from placement.network.geometry import line_of_sight
from placement.network.isl import (GridShell, best_through_neighbours, best_through_table, min_through_unsettled,
                                   neighbour_values, plus_grid, relax_along_lines)

C_KM_PER_MS = SPEED_OF_LIGHT_KM_S / 1e3  # km per ms
DOWNLINK_HOP = 4  # next-hop codes: 0..3 a laser slot (isl.py), DOWNLINK_HOP + k the k-th downlink


@functools.partial(jax.tree_util.register_dataclass, data_fields=["neighbour", "latency_ms", "capacity_gbps"],
                   meta_fields=["grids"])
@dataclasses.dataclass(frozen=True)
class Lasers:
    """Laser links of one time step in fixed slots [sat, 4]: latency inf where there is no link."""

    neighbour: jax.Array  # int32 [sat, 4], -1 for none (isl.plus_grid or isl.infer_plus_grid; static over time)
    latency_ms: jax.Array
    capacity_gbps: jax.Array
    grids: tuple[GridShell, ...]  # Walker shells' grids, for the shift-based relaxation; () for any other graph

    def best_through(self, values):
        """min over slots of values[neighbour] + latency, and the slot attaining it: [sat, ...] each."""
        if self.grids:
            return best_through_neighbours(values, self.latency_ms, self.grids)
        return best_through_table(values, self.latency_ms, self.neighbour)

    def relax(self, values):
        """One Bellman-Ford round on values [sat, column]: whole lines of a Walker grid at once, then one hop
        over the links they leave unsettled (on any other graph, one hop over every link). Returns the relaxed
        values and, per column, whether the hop improved on the lines: where it did not, no link can shorten
        any value of that column, its fixed point (columns are independent shortest-path problems)."""
        if self.grids:
            along = relax_along_lines(values, self.latency_ms, self.grids)
            relaxed = jnp.minimum(along, min_through_unsettled(along, self.latency_ms, self.grids))
        else:
            along = values
            relaxed = jnp.minimum(along, self.best_through(along)[0])
        return relaxed, jnp.any(relaxed < along, axis=0)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Routes:
    """Latency and per-direction bottleneck capacity from every site to every gateway and cloud region, one
    time step. Unreachable: latency inf, capacities 0."""

    gateway_ms: jax.Array  # [site, gateway]
    gateway_up_gbps: jax.Array  # the request direction, site -> gateway
    gateway_down_gbps: jax.Array  # the response direction, gateway -> site
    cloud_ms: jax.Array  # [site, cloud]
    cloud_up_gbps: jax.Array
    cloud_down_gbps: jax.Array


def laser_links(r_km: jax.Array, grids: tuple[GridShell, ...] | jax.Array, *, max_range_km: float,
                min_altitude_km: float, capacity_gbps: float, hop_ms: float = 0.0) -> Lasers:
    """+Grid lasers of one time step from satellite positions [sat, 3] (any Earth-centred frame). `grids`:
    the Walker shells' grids (isl.grid_shells), or neighbour slots [sat, 4] of any other laser graph (for a
    catalog, isl.infer_plus_grid). A link's latency is light time over its length plus `hop_ms`, the fixed
    delay of relaying through one more satellite."""
    if isinstance(grids, tuple):
        neighbour = jnp.asarray(plus_grid_of(grids))
        b = neighbour_values(r_km, grids)
    else:
        neighbour, grids = jnp.asarray(grids, jnp.int32), ()
        b = r_km[jnp.maximum(neighbour, 0)]
    a = r_km[:, None, :]
    range_km = jnp.linalg.norm(b - a, axis=-1)
    up = (neighbour >= 0) & (range_km <= max_range_km) & line_of_sight(a, b, min_altitude_km=min_altitude_km)
    up = up & jnp.isfinite(range_km)  # satellites with SGP4 errors (NaN rows) have no links
    return Lasers(
        neighbour=neighbour,
        latency_ms=jnp.where(up, range_km / C_KM_PER_MS + hop_ms, jnp.inf),
        capacity_gbps=jnp.where(up, jnp.asarray(capacity_gbps, r_km.dtype), 0.0),
        grids=grids,
    )


@functools.lru_cache(maxsize=16)
def plus_grid_of(grids: tuple[GridShell, ...]) -> np.ndarray:
    """The neighbour slots [sat, 4] of these grids (host constant, computed once)."""
    return plus_grid(grids)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class GatewayTrees:
    """Shortest paths from every satellite down to every gateway at one step, [sat, gateway] each."""

    latency_ms: jax.Array  # inf where the gateway is unreachable
    hop: jax.Array  # int32 next hop: a laser slot 0..3, DOWNLINK_HOP + k at the k-th access satellite, -1 none
    root_slot: jax.Array  # int32 the gateway access slot whose feeder downlink ends the path (-1 none)
    laser_gbps: jax.Array  # the narrowest laser on the path (inf: none, the satellite goes straight down)


def _downlinks(gateways: Access, n_sat: int, dtype) -> tuple[jax.Array, jax.Array]:
    """Each satellite's downlink latency to each gateway and the gateway's access slot it is, [sat, gateway]
    (inf / -1 where the satellite is not one of the gateway's access satellites)."""
    n_gateway, k = gateways.sat.shape
    column = jnp.arange(n_gateway)[:, None]
    row = jnp.where(gateways.sat >= 0, gateways.sat, n_sat)  # empty slots land in a spare row
    # The k access satellites of one gateway are distinct, so each (row, column) is set once.
    on_grid = lambda fill, values, kind: (  # noqa: E731
        jnp.full((n_sat + 1, n_gateway), fill, kind).at[row, column].set(values)[:n_sat])
    return (on_grid(jnp.inf, gateways.latency_ms, dtype),
            on_grid(-1, jnp.broadcast_to(jnp.arange(k, dtype=jnp.int32), (n_gateway, k)), jnp.int32))


def gateway_latency(lasers: Lasers, gateways: Access) -> tuple[jax.Array, jax.Array]:
    """Bellman-Ford from every gateway at once: the shortest latency from each satellite down to each gateway
    and the downlink latency alone (inf where the satellite cannot go straight down), [sat, gateway] each.

    Arrays are [sat, gateway] so that taking a neighbour's distances copies one contiguous row.
    """
    downlink_ms, _ = _downlinks(gateways, lasers.neighbour.shape[0], lasers.latency_ms.dtype)
    return bellman_ford(lasers, downlink_ms), downlink_ms


def bellman_ford(lasers: Lasers, start_ms: jax.Array) -> jax.Array:
    """The shortest latency [sat, column] from each satellite to each column's roots over the lasers, where
    start_ms [sat, column] is the latency of leaving the lasers at that satellite (inf where a path cannot).

    Rounds until one in which no single hop improves on the lines: then no link shortens any distance, the
    Bellman-Ford fixed point. Two rounds per loop iteration, stopping on the second's verdict: an iteration
    costs more than its rounds' arithmetic (222 gateways on the 2-core development CPU, under load: Gen1 17 ms
    against 19 ms with one round, though it may run one round more; the real catalog's one-hop rounds 242 ms
    against 390).

    On a graph relaxed one hop a round (a catalog's inferred grid) a column needs as many rounds as its longest
    shortest path has hops, which varies widely between columns (the real catalog's 222 gateways at one step:
    28 to 102 rounds, median 67), and a round's time follows its columns. So the columns still changing are
    gathered to the front at each of `_stage_widths`, and only those are relaxed on: every column still ends
    at its own fixed point, value for value the same. On a Walker grid every column settles within a round
    of the others (Gen1: 3 or 4), and all are relaxed to the end.
    """
    rounds = lambda s: lasers.relax(lasers.relax(s[0])[0])  # noqa: E731
    n = start_ms.shape[1]
    widths = (n,) if lasers.grids else _stage_widths(n)
    dist, active = start_ms, jnp.ones(n, bool)
    order = jnp.arange(n)  # the column of the input now at each position
    for stage, width in enumerate(widths):
        if stage:
            # the columns still changing first (a stable sort: settled ones keep their place behind them)
            to_front = jnp.argsort(~active, stable=True)
            dist, active, order = dist[:, to_front], active[to_front], order[to_front]
        # relax until the columns still changing fit in the next stage (the last: until none is)
        until = widths[stage + 1] if stage + 1 < len(widths) else 0
        part, part_active = jax.lax.while_loop(lambda s, until=until: jnp.sum(s[1]) > until, rounds,
                                               (dist[:, :width], active[:width]))
        dist = jnp.concatenate([part, dist[:, width:]], axis=1)
        active = jnp.concatenate([part_active, active[width:]])
    return dist if len(widths) == 1 else dist[:, jnp.argsort(order)]


# Each stage of a one-hop Bellman-Ford relaxes on this share of the previous stage's columns, down to this
# width. Finer schedules measured no better on the real catalog (gateway routing, 2 loaded cores: shares 0.67
# and 0.8 down to 8 columns 434 and 419 ms a step against 424; 0.5 down to 4 columns 278 against 280).
SHRINK = 0.5
MIN_STAGE_COLUMNS = 16


def _stage_widths(columns: int) -> tuple[int, ...]:
    """The column counts of `bellman_ford`'s stages: all columns, then SHRINK of them, ... down to
    MIN_STAGE_COLUMNS."""
    widths = [columns]
    while int(widths[-1] * SHRINK) >= MIN_STAGE_COLUMNS:
        widths.append(int(widths[-1] * SHRINK))
    return tuple(widths)


def to_gateways(lasers: Lasers, gateways: Access) -> GatewayTrees:
    """`gateway_latency`, then the tree of shortest paths: each satellite's next hop, and by pointer jumping
    each path's root and narrowest laser (for recovering paths; the routes need only the latencies)."""
    n_gateway, k = gateways.sat.shape
    n_sat = lasers.neighbour.shape[0]
    dist, downlink_ms = gateway_latency(lasers, gateways)
    _, downlink_slot = _downlinks(gateways, n_sat, dist.dtype)
    neighbour = jnp.where(lasers.neighbour >= 0, lasers.neighbour, 0)

    # At the fixed point dist = min(downlink, min over slots of neighbour + laser): the slot that
    # attains it is the next hop. Latencies are positive, so next hops lead strictly downhill and
    # form a tree rooted at the downlink satellites.
    through, slot = lasers.best_through(dist)
    via_laser = through < downlink_ms
    reachable = jnp.isfinite(dist)
    hop = jnp.where(via_laser, slot, DOWNLINK_HOP + downlink_slot)
    hop = jnp.where(reachable, hop, -1)

    # Root and narrowest laser along each tree path by pointer jumping: every round doubles the length of
    # path each satellite has folded in, until every pointer has reached its root (log2 of the deepest path:
    # about 6 rounds on Starlink Gen1). The slot's neighbour and capacity are picked by selects rather than
    # gathers, and the jumps index the flattened [sat * gateway] arrays directly: gathers are what this part
    # costs on a CPU.
    pick = lambda per_slot: jnp.select([slot == s for s in range(3)],  # noqa: E731
                                       [per_slot[:, s, None] for s in range(3)], per_slot[:, 3, None])
    sats = jnp.arange(n_sat, dtype=jnp.int32)[:, None]
    pointer = jnp.where(via_laser & reachable, pick(neighbour), sats)
    narrowest = jnp.where(via_laser, pick(lasers.capacity_gbps), jnp.inf)

    def jump(state):
        pointer, narrowest, _ = state
        ahead = pointer[pointer]
        folded = jnp.minimum(narrowest, narrowest[pointer])
        return ahead, folded, jnp.any(ahead != pointer)

    flat = (pointer * n_gateway + jnp.arange(n_gateway, dtype=jnp.int32)[None, :]).ravel()
    root, narrowest, _ = jax.lax.while_loop(lambda s: s[2], jump, (flat, narrowest.ravel(), jnp.array(True)))
    root_slot = jnp.where(reachable, downlink_slot.ravel()[root].reshape(n_sat, n_gateway), -1)
    return GatewayTrees(dist, hop, root_slot, narrowest.reshape(n_sat, n_gateway))


def route(lasers: Lasers, sites: Access, gateways: Access, gateway_pop: jax.Array,
          gateway_pop_ms: jax.Array, pop_cloud_ms: jax.Array) -> Routes:
    """Routes of one time step from the sites [site, k] access slots.

    gateway_pop [gateway] int: each gateway's PoP; gateway_pop_ms [gateway]: fiber latency from
    the gateway to its PoP; pop_cloud_ms [pop, cloud]: fiber latency from each PoP to each region.
    Fiber capacity is taken as unconstrained.
    """
    dist, downlink_ms = gateway_latency(lasers, gateways)
    up = jnp.where(sites.sat >= 0, sites.sat, 0)
    through = sites.latency_ms[:, :, None] + dist[up]  # [site, k, gateway]
    best_k = jnp.argmin(through, axis=1)[:, None, :]
    at_best = lambda a: jnp.take_along_axis(a, best_k, axis=1)[:, 0, :]  # noqa: E731
    gateway_ms = at_best(through)
    reachable = jnp.isfinite(gateway_ms)
    # Requests travel min(site uplink, lasers, feeder downlink), responses min(feeder uplink, lasers, site
    # downlink). The laser and feeder figures are the narrowest of any laser and of the gateway's access slots:
    # lower bounds of the path's own, and equal to them in effect, since a terminal's link (at most 0.65 Gbps
    # with the shipped budgets) is far below a laser's 100 Gbps and a feeder's 3.8 Gbps at the 40 deg mask, so
    # the terminal is the bottleneck either way (tests/test_access.py checks the budgets). This spares tracing
    # each path to its root, a third of a step's time.
    uses_laser = at_best(dist[up] < downlink_ms[up])
    laser_gbps = jnp.min(jnp.where(jnp.isfinite(lasers.latency_ms), lasers.capacity_gbps, jnp.inf))
    links = lambda a: jnp.min(jnp.where(gateways.sat >= 0, a, jnp.inf), axis=1)[None, :]  # noqa: E731  [1, gateway]
    path = lambda feeder: jnp.minimum(feeder, jnp.where(uses_laser, laser_gbps, jnp.inf))  # noqa: E731
    site = lambda a: at_best(jnp.broadcast_to(a[:, :, None], through.shape))  # noqa: E731
    gateway_up = jnp.minimum(site(sites.up_gbps), path(links(gateways.down_gbps)))
    gateway_down = jnp.minimum(site(sites.down_gbps), path(links(gateways.up_gbps)))
    gateway_up, gateway_down = (jnp.where(reachable, g, 0.0) for g in (gateway_up, gateway_down))

    n_pop = pop_cloud_ms.shape[0]
    at_pop = gateway_ms + gateway_pop_ms[None, :]  # [site, gateway]
    site_pop_ms = jax.ops.segment_min(at_pop.T, gateway_pop, num_segments=n_pop).T  # [site, pop]
    through_pop = site_pop_ms[:, :, None] + pop_cloud_ms[None]  # [site, pop, cloud]
    cloud_ms = jnp.min(through_pop, axis=1)  # [site, cloud]
    # the first PoP attaining it, as argmin would pick, by an integer min (argmin is a slow variadic reduce)
    pops = jnp.arange(n_pop, dtype=jnp.int32)[None, :, None]
    best_pop = jnp.min(jnp.where(through_pop == cloud_ms[:, None, :], pops, n_pop - 1), axis=1)
    # Capacities at each PoP: those of its fastest gateway (the widest one if several tie).
    fastest = at_pop == site_pop_ms[:, gateway_pop]

    def at_cloud(gbps):
        per_pop = jax.ops.segment_max(jnp.where(fastest, gbps, 0.0).T, gateway_pop, num_segments=n_pop).T
        return jnp.where(jnp.isfinite(cloud_ms), jnp.take_along_axis(per_pop, best_pop, axis=1), 0.0)

    return Routes(gateway_ms=gateway_ms, gateway_up_gbps=gateway_up, gateway_down_gbps=gateway_down,
                  cloud_ms=cloud_ms, cloud_up_gbps=at_cloud(gateway_up), cloud_down_gbps=at_cloud(gateway_down))


def ground_to_ground(lasers: Lasers, sources: Access, destinations: Access) -> jax.Array:
    """One-way latency [source, destination] between ground nodes at one step: up at one of a source's access
    satellites, across lasers, down at one of the destination's (R1-R3 with the destinations as the gateways:
    ground nodes do not relay). inf where no path exists."""
    dist, _ = gateway_latency(lasers, destinations)
    through = sources.latency_ms[:, :, None] + dist[jnp.maximum(sources.sat, 0)]
    return jnp.min(through, axis=1)


def path_to_gateway(lasers: Lasers, sites: Access, gateways: Access, site: int, gateway: int) -> list[tuple[str, int]]:
    """The shortest path of one time step from `site` down to `gateway`, as [(kind, index), ...]:
    ("site", d), ("sat", v) ..., ("gateway", g). Empty when the gateway is unreachable."""
    trees = to_gateways(lasers, gateways)
    dist, hop = np.asarray(trees.latency_ms[:, gateway]), np.asarray(trees.hop[:, gateway])
    up_sat = np.asarray(sites.sat[site])
    through = np.asarray(sites.latency_ms[site]) + np.where(up_sat >= 0, dist[np.maximum(up_sat, 0)], np.inf)
    if not np.isfinite(through.min()):
        return []
    neighbour = np.asarray(lasers.neighbour)
    v = int(up_sat[np.argmin(through)])
    path = [("site", site), ("sat", v)]
    while hop[v] < DOWNLINK_HOP:
        v = int(neighbour[v, hop[v]])
        path.append(("sat", v))
    return path + [("gateway", gateway)]
