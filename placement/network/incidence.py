"""Path incidence: the shared links each site-to-host path crosses, per network step (JAX), folded per epoch.

A link is one direction of a shared resource (`LinkIds` numbers them; `placement.problem.link_rows` turns
them into the rows (16) of the placement problem). The path of a request from its site to its host, by the
graph of routes.py (R1-R4), crosses, toward the host:

  the user uplink beam of the site's access satellite (Direct-to-Cell sites: its Direct-to-Cell beam);
  each laser, from one satellite to the next (a laser's direction is its sending satellite and slot);
  for a gateway or cloud region: the feeder downlink of the satellite where the path goes down, the
  gateway's receive side, and for a cloud region the fiber from the gateway to its PoP and from the PoP to
  the region (the gateway whose PoP reaches the region soonest, as `routes.route` takes it);
  for a satellite host: nothing more (the host is the last satellite).

Its response crosses each link's reverse (downlink beam, the laser back, feeder uplink, gateway transmit,
fiber back). The routes are those the network's latencies come from: to a gateway or cloud region down the
gateway's tree (`routes.to_gateways`: the path `routes.path_to_gateway` recovers), to a satellite host the
shortest laser path inside the access satellite's window (`windows.local_routes`, walked back from the host
by its parent pointers: the global shortest path wherever the window certified it, the one
`paths.served_paths` recovers from a tree rooted at the host), at the steps in which the host is within
`spec.relay_hops` live laser hops of the access satellite (the network's own rule).

Per epoch, each (site, host) pair's links over the epoch's steps become one list with the share of the
steps in which the host is reachable whose path crosses each link (`fold`). Pairs are asked for in one
fixed width per epoch and steps are walked `max_hops` lasers at most (fixed shapes: one compilation).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from placement.network.isl import GridShell, plus_grid
from placement.network.paths import host_rooted_trees
from placement.network.routes import DOWNLINK_HOP
from placement.network.tensors import Ground, NetworkSpec, laser_table
from placement.network.windows import Windows, local_routes
from placement.problem.link_rows import LINK_KINDS

TO_SATELLITE, TO_GATEWAY, TO_CLOUD = range(3)  # kinds of path a query asks for


# Blocks of link ids in order; after the lasers they come in pairs, each the reverse of the other.
BLOCKS = ("laser", "user-uplink", "user-downlink", "feeder-downlink", "feeder-uplink", "gateway-receive",
          "gateway-transmit", "fiber-to-pop", "fiber-from-pop", "fiber-to-cloud", "fiber-from-cloud")


class LinkIds(NamedTuple):
    """Numbers of the links of a network (static), in the BLOCKS: lasers [sat, 4] (sender and slot), then per
    satellite its user uplink and downlink beams and its feeder downlink and uplink, per gateway its receive
    and transmit sides and its fiber to its PoP and back, per (PoP, region) the fiber there and back."""

    n_sat: int
    n_gateway: int
    n_pop: int
    n_cloud: int

    def sizes(self) -> tuple[int, ...]:
        s, g, pc = self.n_sat, self.n_gateway, self.n_pop * self.n_cloud
        return (4 * s, s, s, s, s, g, g, g, g, pc, pc)

    def block(self, name: str) -> int:
        """First id of a block."""
        return int(np.concatenate([[0], np.cumsum(self.sizes())])[BLOCKS.index(name)])

    @property
    def n_links(self) -> int:
        return sum(self.sizes())

    def decode(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(block index into BLOCKS, offset inside the block) of each id."""
        starts = np.concatenate([[0], np.cumsum(self.sizes())])
        block = np.searchsorted(starts, ids, side="right") - 1
        return block, ids - starts[block]

    def reverse(self, ids: np.ndarray, neighbour: np.ndarray) -> np.ndarray:
        """The other direction of each link: a laser's receiver and its slot back (the laser itself where the
        table has no slot back), the paired block's link otherwise."""
        ids = np.asarray(ids)
        block, offset = self.decode(ids)
        starts = np.concatenate([[0], np.cumsum(self.sizes())])
        paired = np.where(block % 2 == 1, block + 1, block - 1)
        sender, slot = np.divmod(offset, 4)
        receiver = neighbour[sender, slot]
        back = neighbour[np.maximum(receiver, 0)] == sender[:, None]
        laser_back = np.where((receiver >= 0) & back.any(axis=1), receiver * 4 + back.argmax(axis=1), ids)
        return np.where(block == 0, laser_back, starts[np.maximum(paired, 0)] + offset)

    def kind(self, ids: np.ndarray) -> np.ndarray:
        """Index into LINK_KINDS of each link."""
        kinds = [LINK_KINDS.index(b if not b.startswith("fiber") else "fiber") for b in BLOCKS]
        return np.asarray(kinds, np.int8)[self.decode(np.asarray(ids))[0]]

    def names(self, ids: np.ndarray, neighbour: np.ndarray, gateway_pop: np.ndarray, beam: str,
              node_names: dict[str, tuple[str, ...]]) -> list[str]:
        """A readable name per link: 'A>B' for a laser or fiber from A to B, else the node and its side;
        `beam` names the user beams ('user' or 'direct-to-cell'); node_names: the 'satellite', 'gateway',
        'pop' and 'cloud' names."""
        sat, gw, pop, cloud = (node_names[k] for k in ("satellite", "gateway", "pop", "cloud"))
        out = []
        for block, offset in zip(*self.decode(np.asarray(ids))):
            kind = BLOCKS[block]
            if kind == "laser":
                v, k = divmod(int(offset), 4)
                out.append(f"{sat[v]}>{sat[neighbour[v, k]]}")
            elif kind in ("fiber-to-pop", "fiber-from-pop"):
                ends = (gw[offset], pop[gateway_pop[offset]])
                out.append(">".join(ends if kind == "fiber-to-pop" else ends[::-1]))
            elif kind in ("fiber-to-cloud", "fiber-from-cloud"):
                ends = (pop[offset // self.n_cloud], cloud[offset % self.n_cloud])
                out.append(">".join(ends if kind == "fiber-to-cloud" else ends[::-1]))
            else:
                node = sat if block <= 4 else gw
                side = kind.replace("-", " ").replace("user", beam).removeprefix("gateway ")
                out.append(f"{node[offset]} {side}")
        return out


@functools.partial(jax.jit, static_argnames=("grids", "spec", "ids", "max_hops"))
def _epoch_paths(r_time, access_sat, ground: Ground, table, windows: Windows, query, *,
                 grids: tuple[GridShell, ...], spec: NetworkSpec, ids: LinkIds, max_hops: int):
    """The links of every query's path at each step of one epoch: r_time [step, sat, 3] Earth-fixed,
    access_sat [step, site]; query [3, Q]: site, kind (TO_SATELLITE, TO_GATEWAY, TO_CLOUD) and host index
    among its kind. Returns links [step, Q, 1 + max_hops + 4] (the user uplink, the lasers, then feeder,
    gateway and the two fibers; -1: none, and every link -1 where the host is not reachable), reachable
    [step, Q] and truncated [step, Q] (the path has more than max_hops lasers)."""
    site, kind, index = query
    n_gateway = ids.n_gateway
    cloud = jnp.minimum(index, ids.n_cloud - 1)
    to_cloud_ms = (ground.gateway_pop_ms[:, None] + ground.pop_cloud_ms[ground.gateway_pop])[:, cloud].T  # [Q, gw]
    no_roots = jnp.full((1,), -1, jnp.int32)
    pick = lambda rows, at: jnp.take_along_axis(rows, at[:, None], axis=1)[:, 0]  # noqa: E731

    def step(inputs):
        r_km, access = inputs
        trees, lasers = host_rooted_trees(r_km, ground, table, grids, spec, no_roots)
        up = access[site]
        start = jnp.maximum(up, 0)
        neighbour = jnp.maximum(lasers.neighbour, 0)
        # Gateways and cloud regions: down the gateway's tree (a region: the gateway whose PoP reaches it soonest)
        through = trees.latency_ms[start, :n_gateway] + to_cloud_ms.astype(r_km.dtype)  # [Q, gw]
        gateway = jnp.where(kind == TO_CLOUD, jnp.argmin(through, axis=1), jnp.minimum(index, n_gateway - 1))

        def down(v, _):
            slot = trees.hop[v, gateway]
            laser = (slot >= 0) & (slot < DOWNLINK_HOP)
            return jnp.where(laser, neighbour[v, jnp.maximum(slot, 0)], v), jnp.where(laser, v * 4 + slot, -1)

        end, to_ground = jax.lax.scan(down, start, None, length=max_hops)
        # Satellite hosts: back from the host to the access satellite along the window's shortest path, at the
        # steps it is within relay_hops live lasers (the network's rule)
        near = local_routes(windows, access, lasers.latency_ms, r_km)
        match = (near.members[site] == index[:, None]) & (near.hops[site] >= 0) & (near.hops[site] <= spec.relay_hops)
        members, parent = windows.members[start], near.parent[site]  # [Q, W]

        def back(position, _):
            previous = pick(parent, position)
            laser = previous >= 0
            sender, receiver = pick(members, jnp.maximum(previous, 0)), pick(members, position)
            slot = jnp.argmax(lasers.neighbour[sender] == receiver[:, None], axis=1)
            return jnp.where(laser, previous, position), jnp.where(laser, sender * 4 + slot, -1)

        home, to_host = jax.lax.scan(back, jnp.argmax(match, axis=1), None, length=max_hops)
        satellite = kind == TO_SATELLITE
        reachable = (up >= 0) & jnp.where(satellite, match.any(axis=1), trees.hop[start, gateway] >= 0)
        reachable &= (kind != TO_CLOUD) | jnp.isfinite(jnp.min(through, axis=1))
        to_cloud = kind == TO_CLOUD
        pop = ground.gateway_pop[gateway]
        tail = jnp.stack([jnp.where(satellite, -1, ids.block("feeder-downlink") + end),
                          jnp.where(satellite, -1, ids.block("gateway-receive") + gateway),
                          jnp.where(to_cloud, ids.block("fiber-to-pop") + gateway, -1),
                          jnp.where(to_cloud, ids.block("fiber-to-cloud") + pop * ids.n_cloud + cloud, -1)], axis=1)
        crossed = jnp.where(satellite[None, :], to_host, to_ground).T
        links = jnp.concatenate([(ids.block("user-uplink") + start)[:, None], crossed, tail], axis=1)
        arrived = jnp.where(satellite, home == 0, trees.hop[end, gateway] >= DOWNLINK_HOP)
        return jnp.where(reachable[:, None], links, -1), reachable, reachable & ~arrived

    return jax.lax.map(step, (r_time, access_sat))


def fold(links: np.ndarray, reachable: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One epoch's links [step, Q, W] (-1 none) and reachability [step, Q] as per-query lists (ids [Q, L],
    -1 padding; shares [Q, L]: the share of the steps in which the query's host is reachable whose path
    crosses each link; the steps [Q, L] uint64 in which it does, bit i for step i, None beyond 64 steps),
    L the most distinct links of any query."""
    n_step, n_query = links.shape[:2]
    q = np.broadcast_to(np.arange(n_query)[None, :, None], links.shape)
    on = links >= 0
    n_links = int(links.max(initial=-1)) + 1
    pair, inverse, count = np.unique(q[on].astype(np.int64) * n_links + links[on], return_inverse=True,
                                     return_counts=True)
    masks = None
    if n_step <= 64:
        masks = np.zeros(len(pair), np.uint64)
        step = np.broadcast_to(np.arange(n_step, dtype=np.uint64)[:, None, None], links.shape)[on]
        np.bitwise_or.at(masks, inverse, np.left_shift(np.uint64(1), step))
    owner, link = np.divmod(pair, max(n_links, 1))
    first = np.searchsorted(owner, np.arange(n_query))
    rank = np.arange(len(owner)) - first[owner]
    L = int(rank.max(initial=-1)) + 1
    ids, share = np.full((n_query, L), -1, np.int64), np.zeros((n_query, L))
    ids[owner, rank] = link
    share[owner, rank] = count / reachable.sum(axis=0)[owner]
    steps = None
    if masks is not None:
        steps = np.zeros((n_query, L), np.uint64)
        steps[owner, rank] = masks
    return ids, share, steps


def slot_links(r_ecef_km: np.ndarray, lasers_of: tuple[GridShell, ...] | np.ndarray, ground: Ground,
               spec: NetworkSpec, access_sat: np.ndarray, steps_per_epoch: int, candidate_host: np.ndarray,
               demand_site: np.ndarray, ids: LinkIds, max_hops: int = 64
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The links of each candidate slot of a placement problem built on this network (problem.build: hosts
    are the satellites, then the gateways, then the cloud regions, then local hosts, which have no links):
    (ids [epoch, demand, slot, L] in `ids` numbering, -1 padding; shares [epoch, demand, slot, L]; the steps
    of the epoch in which each path crosses each link [epoch, demand, slot, L] uint64, or None where an
    epoch has more than 64 steps, as `fold`). Paths
    are walked `max_hops` lasers at first (a Walker shell's +Grid is about planes / 2 + per plane / 2 hops
    across: 47 on Starlink Gen1's first shell), twice as many again while some path is longer.

    r_ecef_km [sat, time, 3], `lasers_of` and access_sat [step, site] as the network was built with
    (`tensors.build_network`, `NetworkTensors.access_sat`)."""
    T, D, K = candidate_host.shape
    table, grids = laser_table(lasers_of, r_ecef_km.shape[0])
    windows = spec.windows(plus_grid(grids) if table is None else np.asarray(table))
    n_sat, n_gateway, n_cloud = ids.n_sat, ids.n_gateway, ids.n_cloud
    host = candidate_host
    routed = (host >= 0) & (host < n_sat + n_gateway + n_cloud)
    site = np.broadcast_to(np.asarray(demand_site)[None, :, None], host.shape)
    pairs = [np.unique(site[t][routed[t]].astype(np.int64) * (n_sat + n_gateway + n_cloud) + host[t][routed[t]])
             for t in range(T)]
    width = max(1, max(len(p) for p in pairs))  # one query width for every epoch: one compilation
    out_ids, out_share, out_steps = [], [], []
    for t, pair in enumerate(pairs):
        q_site, q_host = np.divmod(pair, n_sat + n_gateway + n_cloud)
        kind = np.select([q_host < n_sat, q_host < n_sat + n_gateway], [TO_SATELLITE, TO_GATEWAY], TO_CLOUD)
        index = q_host - np.select([kind == TO_SATELLITE, kind == TO_GATEWAY], [0, n_sat], n_sat + n_gateway)
        query = np.zeros((3, width), np.int32)
        query[:, :len(pair)] = np.stack([q_site, kind, index])
        query[1, len(pair):] = TO_GATEWAY  # padding: gateway 0 from site 0, dropped below
        steps = np.arange(t * steps_per_epoch, (t + 1) * steps_per_epoch)
        cut = True
        while cut:
            links, reachable, cut = (np.asarray(a) for a in _epoch_paths(
                jnp.asarray(np.moveaxis(r_ecef_km[:, steps], 1, 0)), jnp.asarray(access_sat[steps]), ground,
                table, windows, jnp.asarray(query), grids=grids, spec=spec, ids=ids,
                max_hops=max_hops))
            cut = bool(cut[:, :len(pair)].any())
            max_hops *= 2 if cut else 1
        per_query, share, masks = fold(links[:, :len(pair)], reachable[:, :len(pair)])
        # each slot takes its (site, host) pair's lists
        at = np.searchsorted(pair, site[t].astype(np.int64) * (n_sat + n_gateway + n_cloud) + np.maximum(host[t], 0))
        at = np.minimum(at, max(len(pair) - 1, 0))
        slot_ids = np.where(routed[t][..., None], per_query[at], -1) if len(pair) else np.full((D, K, 0), -1)
        out_ids.append(slot_ids)
        out_share.append(np.where(slot_ids >= 0, share[at], 0.0) if len(pair) else np.zeros((D, K, 0)))
        out_steps.append(None if masks is None else np.where(slot_ids >= 0, masks[at], 0) if len(pair)
                         else np.zeros((D, K, 0), np.uint64))
    L = max(a.shape[-1] for a in out_ids)
    pad = lambda a, fill: np.pad(a, ((0, 0), (0, 0), (0, L - a.shape[-1])), constant_values=fill)  # noqa: E731
    steps = None if steps_per_epoch > 64 else np.stack([pad(a, 0).astype(np.uint64) for a in out_steps])
    return np.stack([pad(a, -1) for a in out_ids]), np.stack([pad(a, 0.0) for a in out_share]), steps
