"""The path behind a served request, node by node from its demand site to its host, at one network step.

At a step a site's requests go up at its access satellite (the one the access rule chose, kept per step in
`NetworkTensors.access_sat`), then, by the graph of routes.py (R1-R4):

  satellite host  across lasers to the host, by the shortest laser path (the one whose latency the network
                  used wherever the routing window certified it, windows.py), at the steps in which the host
                  is within `spec.relay_hops` laser hops of the access satellite (those it could serve in);
  gateway         across lasers and down a feeder link (R2, R3);
  cloud region    down at the gateway whose point of presence reaches the region soonest, then over fiber
                  through that PoP (R4), as `routes.route` takes it;
  local host      straight from the site to the host beside it.

One Bellman-Ford per step gives every next hop (`routes.to_gateways`): the gateways are its roots through
their access slots, and each satellite host is a root of its own with a zero-latency "downlink", the way
`routes.ground_to_ground` treats its destinations as gateways.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from placement.network.access import Access
from placement.network.isl import GridShell
from placement.network.routes import DOWNLINK_HOP, GatewayTrees, Lasers, to_gateways
from placement.network.tensors import Ground, NetworkSpec, laser_table, step_links

NODE_KINDS = ("site", "satellite", "gateway", "pop", "cloud", "local")
Node = tuple[str, int]  # (a kind of NODE_KINDS, index among the nodes of that kind)


def host_rooted_trees(r_km, ground: Ground, table, grids: tuple[GridShell, ...], spec: NetworkSpec,
                      roots) -> tuple[GatewayTrees, Lasers]:
    """Shortest paths at one step from every satellite down to every gateway, then to every satellite of
    `roots` [root] (-1 padding): the trees [sat, gateway + root] and the lasers of the step."""
    dtype = r_km.dtype
    ground = jax.tree_util.tree_map(lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, ground)
    gateways, lasers = step_links(r_km, ground, table, grids, spec)
    pad = gateways.sat.shape[1] - 1
    widen = lambda column, fill: jnp.pad(column[:, None], ((0, 0), (0, pad)), constant_values=fill)  # noqa: E731
    zero = jnp.zeros(roots.shape, dtype)
    own = Access(sat=widen(roots, -1), latency_ms=widen(jnp.where(roots >= 0, zero, jnp.inf), jnp.inf),
                 up_gbps=widen(zero, 0.0), down_gbps=widen(zero, 0.0))
    return to_gateways(lasers, jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), gateways, own)), lasers


@functools.partial(jax.jit, static_argnames=("grids", "spec"))
def _next_hops(r_km, ground: Ground, table, grids: tuple[GridShell, ...], spec: NetworkSpec, roots):
    """`host_rooted_trees` as host arrays: next hops [sat, gateway + root], their latency, the laser slots'
    ends and their latency (inf: no link)."""
    trees, lasers = host_rooted_trees(r_km, ground, table, grids, spec, roots)
    return trees.hop, trees.latency_ms, lasers.neighbour, lasers.latency_ms


def _down_the_tree(hop: np.ndarray, neighbour: np.ndarray, sat: int, root: int) -> list[int]:
    """The satellites from `sat` to where the tree of root column `root` leaves the lasers ([] unreachable)."""
    if sat < 0 or hop[sat, root] < 0:
        return []
    sats = [sat]
    while hop[sats[-1], root] < DOWNLINK_HOP:
        sats.append(int(neighbour[sats[-1], hop[sats[-1], root]]))
    return sats


def _within_hops(neighbour: np.ndarray, link_ms: np.ndarray, source: int, target: int, hops: int) -> bool:
    """Whether `target` is at most `hops` live laser links from `source` (the network's rule for a satellite
    host, tensors.py)."""
    reached = np.array([source])
    for _ in range(hops):
        reached = np.union1d(reached, neighbour[reached][np.isfinite(link_ms[reached])])
    return bool(np.isin(target, reached))


def served_paths(r_ecef_km: np.ndarray, lasers_of: tuple[GridShell, ...] | np.ndarray, ground: Ground,
                 spec: NetworkSpec, access_sat: np.ndarray, step: np.ndarray, site: np.ndarray, kind: np.ndarray,
                 index: np.ndarray) -> list[list[Node]]:
    """The path of each target n at network step `step[n]` from site `site[n]` to host `index[n]` of kind
    `kind[n]` ("satellite", "gateway", "cloud" or "local"), as [(node kind, index), ...] from ("site", site) to
    the host; [] where the site has no access satellite or no route to the host at that step.

    r_ecef_km [sat, time, 3] and `lasers_of` as `tensors.network_steps` takes them; access_sat [step, site]
    (`NetworkTensors.access_sat`); `ground` and `spec` as the network was built with."""
    step, site, index = (np.asarray(a, int) for a in (step, site, index))
    kind = np.asarray(kind, str)
    table, grids = laser_table(lasers_of, r_ecef_km.shape[0])
    pop = np.asarray(ground.gateway_pop)
    to_cloud_ms = np.asarray(ground.gateway_pop_ms)[:, None] + np.asarray(ground.pop_cloud_ms)[pop]  # [gw, cloud]
    n_gateway = pop.size
    paths: list[list[Node]] = [[] for _ in step]
    local = np.flatnonzero(kind == "local")
    for n in local:
        paths[n] = [("site", int(site[n])), ("local", int(index[n]))]
    routed = np.flatnonzero(kind != "local")
    # One width of satellite roots for every step: one compilation.
    roots_of = {t: np.unique(index[routed[(step[routed] == t) & (kind[routed] == "satellite")]])
                for t in np.unique(step[routed])}
    width = max((r.size for r in roots_of.values()), default=0) or 1
    for t, roots in roots_of.items():
        padded = np.full(width, -1, np.int32)
        padded[:roots.size] = roots
        hop, latency_ms, neighbour, link_ms = (np.asarray(a) for a in _next_hops(
            jnp.asarray(r_ecef_km[:, t]), ground, table, grids, spec, jnp.asarray(padded)))
        for n in routed[step[routed] == t]:
            up = int(access_sat[t, site[n]])
            if kind[n] == "satellite":
                near = up >= 0 and _within_hops(neighbour, link_ms, up, int(index[n]), spec.relay_hops)
                sats = _down_the_tree(hop, neighbour, up, n_gateway + int(np.searchsorted(roots, index[n]))) \
                    if near else []
                tail = []
            elif kind[n] == "gateway":
                sats, tail = _down_the_tree(hop, neighbour, up, int(index[n])), [("gateway", int(index[n]))]
            else:  # a cloud region: the gateway (and so the PoP) with the least latency to it
                down_ms = latency_ms[up, :n_gateway] if up >= 0 else np.full(n_gateway, np.inf)
                total = down_ms + to_cloud_ms[:, index[n]]
                g = int(np.argmin(total))
                sats = _down_the_tree(hop, neighbour, up, g) if np.isfinite(total[g]) else []
                tail = [("gateway", g), ("pop", int(pop[g])), ("cloud", int(index[n]))]
            if sats:
                paths[n] = [("site", int(site[n]))] + [("satellite", v) for v in sats] + tail
    return paths
