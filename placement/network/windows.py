"""Exact shortest laser paths from a satellite to the satellites around it, in a fixed-size window.

A site reaches satellite hosts through its access satellite and a few lasers. Shortest paths from each
site's access satellite to every satellite would be a Bellman-Ford with one source per site (a thousand
sites cost several times the whole gateway routing), so they are computed in a window instead:

  window(c)  the satellites within `radius` laser hops of c in the laser topology (the neighbour table,
             whether or not a link is up at a given step), in a fixed-size row [W] per satellite c, nearest
             first, c itself at 0; built once on the host (`Windows.build`). On a Walker +Grid a window of
             radius R holds 2R^2 + 2R + 1 satellites.
  local BF   per time step, Bellman-Ford restricted to the window's links that are up (`local_routes`):
             latency and hop count from c to every window member, by gathers inside [source, W, 4].

A path inside the window is a real path, so the window's latency is an upper bound; it is the shortest
path when no path that leaves the window can be shorter, which each result certifies for the first
`targets` members (those within `reach` hops of c in the topology): a path that leaves the window crosses a
boundary link (i, u), u outside, and from u needs at least the straight line to the target at the speed of
light (lasers are straight; per-hop delays only add), so

    exact(t)  <=>  dist(t) <= min over boundary links (i, u) of dist(i) + latency(i, u) + |u - t| / c.

A window `radius` a few hops beyond `reach` makes the certificate hold for the hosts a site uses (tests
check the latencies against scipy's Dijkstra at random steps of Starlink Gen1); an uncertified latency is
flagged, never silently taken as exact.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from placement.errors import InputError

C_KM_PER_MS = 299_792.458 / 1e3


def _rings(neighbour: np.ndarray, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Breadth-first search from every satellite at once: for r = 0..radius, (centre, satellite) pairs at
    exactly r hops in the topology, as flat arrays."""
    n_sat = neighbour.shape[0]
    rings = [(np.arange(n_sat), np.arange(n_sat))]
    seen = np.arange(n_sat, dtype=np.int64) * n_sat + np.arange(n_sat)  # sorted keys centre * n + satellite
    for _ in range(radius):
        centre, sat = rings[-1]
        nbr = neighbour[sat]  # [pairs, 4]
        ok = nbr >= 0
        keys = np.unique(np.repeat(centre, nbr.shape[1])[ok.ravel()].astype(np.int64) * n_sat + nbr[ok])
        new = keys[~np.isin(keys, seen, assume_unique=True)]
        seen = np.union1d(seen, new)
        rings.append((new // n_sat, new % n_sat))
    return rings


@functools.partial(jax.tree_util.register_dataclass,
                   data_fields=["members", "local", "edge_at", "edge_link", "edge_to"], meta_fields=["targets"])
@dataclasses.dataclass(frozen=True)
class Windows:
    """The window of every satellite (device arrays, built once on the host).

    members [sat, W] int32      the satellites within `radius` hops of each one, nearest first, itself at 0;
                                -1 padding
    local [sat, W, 4] int32     for each member and laser slot, the neighbour's position in the same window
                                (-1: no link in that slot, or the neighbour is outside the window)
    edge_at, edge_link, edge_to [sat, B] int32   the boundary links: inside member position, its laser slot,
                                and the satellite outside (-1 padding)
    targets                     members[:, :targets] are those within `reach` hops: the ones certified
    """

    members: jax.Array
    local: jax.Array
    edge_at: jax.Array
    edge_link: jax.Array
    edge_to: jax.Array
    targets: int

    @classmethod
    def build(cls, neighbour: np.ndarray, radius: int, reach: int) -> Windows:
        """Windows of `radius` hops over the neighbour table [sat, 4] (-1 for no link), certifying the members
        within `reach` <= radius hops."""
        neighbour = np.asarray(neighbour)
        if not 0 <= reach <= radius:
            raise InputError(f"reach {reach}, radius {radius}", source="Windows", field="reach",
                             expected="0 <= reach <= radius")
        n_sat = neighbour.shape[0]
        rings = _rings(neighbour, radius)
        centre = np.concatenate([c for c, _ in rings])
        sat = np.concatenate([s for _, s in rings])
        # rings come nearest first; a stable sort by centre keeps that order inside each window
        order = np.argsort(centre, kind="stable")
        centre, sat = centre[order], sat[order]
        count = np.bincount(centre, minlength=n_sat)
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        column = np.arange(len(centre)) - start[centre]
        members = np.full((n_sat, count.max()), -1, np.int64)
        members[centre, column] = sat
        targets = int(np.bincount(np.concatenate([c for c, _ in rings[:reach + 1]]), minlength=n_sat).max())
        # position of each neighbour in the same window, by binary search in the window's sorted keys
        keys = centre.astype(np.int64) * n_sat + sat
        by_key = np.argsort(keys)
        nbr = np.where(members[:, :, None] >= 0, neighbour[np.maximum(members, 0)], -1)  # [sat, W, 4]
        query = np.arange(n_sat)[:, None, None] * n_sat + np.maximum(nbr, 0)
        found = np.minimum(np.searchsorted(keys[by_key], query), len(keys) - 1)
        hit = (nbr >= 0) & (keys[by_key][found] == query)
        local = np.where(hit, column[by_key][found], -1)
        c, i, s = np.nonzero((nbr >= 0) & ~hit)
        n_edges = np.bincount(c, minlength=n_sat)
        e = np.arange(len(c)) - np.concatenate([[0], np.cumsum(n_edges)[:-1]])[c]
        edges = [np.full((n_sat, max(1, n_edges.max())), -1, np.int64) for _ in range(3)]
        for out, value in zip(edges, (i, s, nbr[c, i, s])):
            out[c, e] = value
        as32 = lambda a: jnp.asarray(a, jnp.int32)  # noqa: E731
        return cls(as32(members), as32(local), *(as32(a) for a in edges), targets=targets)

    @property
    def width(self) -> int:
        return self.members.shape[1]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class LocalRoutes:
    """Shortest laser paths from each source satellite to its window's first `targets` members, one time
    step: [source, targets] each (source: a site's access satellite; -1 gives an empty row)."""

    members: jax.Array  # int32 satellite index (-1 padding)
    latency_ms: jax.Array  # inf where unreachable inside the window
    hops: jax.Array  # int32 laser hops of a fewest-hop path inside the window (-1 unreachable)
    exact: jax.Array  # bool: the latency is the shortest over the whole laser graph (module docstring)
    # int32 [source, W]: each window member's previous member on the shortest path from the source (its
    # position in the window; -1 at the source and where unreached): the path itself, walked backwards
    parent: jax.Array


# Sources that are the same satellite share its routes, so they are computed once per distinct source: the
# 1,000 cities of experiments/benchmarks/network.py use about 430 distinct access satellites of Starlink Gen1
# at a step, and about 590 of the 9,543-satellite catalog. The distinct sources are routed in the smallest of
# these shares of the sources that holds them all (each share compiles once; every share gives the same routes).
DISTINCT_SHARES = (0.5, 0.75)


def local_routes(windows: Windows, source: jax.Array, link_ms: jax.Array, r_km: jax.Array) -> LocalRoutes:
    """Latency (per-link `link_ms` [sat, 4], inf where a link is down) and hops from each `source` [n]
    (satellite index, -1 none) to its window's members, with the exactness certificate; r_km [sat, 3] are the
    satellites' positions at this step."""
    n = source.shape[0]
    sizes = sorted({math.ceil(share * n) for share in DISTINCT_SHARES if math.ceil(share * n) < n} | {n})
    if len(sizes) == 1:
        return _routes_from(windows, source, link_ms, r_km)
    ordered = jnp.sort(source)
    distinct = 1 + jnp.sum(ordered[1:] != ordered[:-1])

    def routed_in(size: int):
        if size == n:
            return lambda: _routes_from(windows, source, link_ms, r_km)

        def routed():
            unique, inverse = jnp.unique(source, size=size, fill_value=-1, return_inverse=True)
            routes = _routes_from(windows, unique, link_ms, r_km)
            return jax.tree_util.tree_map(lambda a: a[inverse.reshape(n)], routes)
        return routed

    return jax.lax.switch(jnp.searchsorted(jnp.asarray(sizes), distinct), [routed_in(size) for size in sizes])


def _routes_from(windows: Windows, source: jax.Array, link_ms: jax.Array, r_km: jax.Array) -> LocalRoutes:
    """`local_routes`, one row per source."""
    has = source >= 0
    src = jnp.maximum(source, 0)
    members = jnp.where(has[:, None], windows.members[src], -1)  # [n, W]
    local = windows.local[src]  # [n, W, 4]
    link = jnp.where(members[:, :, None] >= 0, link_ms[jnp.maximum(members, 0)], jnp.inf)  # [n, W, 4]
    inner = jnp.where(local >= 0, link, jnp.inf)
    up = jnp.isfinite(inner)
    n, width = members.shape
    first = (jnp.arange(width)[None, :] == 0) & has[:, None]
    start = jnp.where(first, 0.0, jnp.inf).astype(link_ms.dtype)
    flat = jnp.maximum(local, 0).reshape(n, -1)
    gather = lambda values: jnp.take_along_axis(values, flat, axis=1).reshape(local.shape)  # noqa: E731

    def relax(state):
        dist, hops, _ = state
        new_dist = jnp.minimum(dist, jnp.min(gather(dist) + inner, axis=2))
        new_hops = jnp.minimum(hops, jnp.min(jnp.where(up, gather(hops) + 1.0, jnp.inf), axis=2))
        return new_dist, new_hops, jnp.any(new_dist < dist) | jnp.any(new_hops < hops)

    # Hops are counted in floats (inf: unreached) so that both fixed points run in one loop.
    dist, hops, _ = jax.lax.while_loop(lambda s: s[2], relax, (start, start, jnp.array(True)))
    # Certificate: the cheapest way out of the window, then straight to each target at light speed.
    k = windows.targets
    at, slot, to = windows.edge_at[src], windows.edge_link[src], windows.edge_to[src]  # [n, B]
    at0 = jnp.maximum(at, 0)
    link_out = jnp.take_along_axis(link.reshape(n, -1), at0 * 4 + jnp.maximum(slot, 0), axis=1)
    exit_ms = jnp.where(to >= 0, jnp.take_along_axis(dist, at0, axis=1) + link_out, jnp.inf)  # [n, B]
    straight_ms = jnp.linalg.norm(r_km[jnp.maximum(to, 0)][:, :, None, :]
                                  - r_km[jnp.maximum(members[:, :k], 0)][:, None, :, :], axis=-1) / C_KM_PER_MS
    leave_ms = jnp.min(exit_ms[:, :, None] + straight_ms, axis=1)  # [n, targets]
    # At the fixed point each member's latency is attained through one of its in-window neighbours: its parent.
    through = gather(dist) + inner
    parent = jnp.take_along_axis(local, jnp.argmin(through, axis=2)[..., None], axis=2)[..., 0]
    parent = jnp.where(jnp.isfinite(dist) & (jnp.arange(width)[None, :] > 0), parent, -1)
    dist, hops = dist[:, :k], hops[:, :k]
    reachable = jnp.isfinite(dist)
    return LocalRoutes(members=members[:, :k], latency_ms=dist,
                       hops=jnp.where(reachable, hops, -1).astype(jnp.int32), exact=dist <= leave_ms, parent=parent)
