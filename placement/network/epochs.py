"""Each placement epoch's candidate hosts, folded from its network steps (host numpy).

A copy stays on its host for an epoch while the satellites move: the site's access satellite changes and
the path to a host satellite grows or breaks. For every site and host, over the epoch's S steps:

  share      the fraction of the steps in which the host is reachable (a satellite host: within
             `reach_hops` laser hops of the access satellite of that step; a gateway or cloud region: any
             route at all): the largest share of the epoch's requests it can serve;
  latency    the mean one-way latency over those steps (requests are spread evenly over an epoch);
  p95        the 95th percentile of the one-way latency over those steps (nearest rank);
  up, down   the harmonic mean of the bottleneck over those steps: bytes / rate then averages to the mean
             transmission time.

Satellite hosts are those within `laser_hops` of the site's access satellite at some step of the epoch, the
`satellite_candidates` with the lowest mean latency kept. A site's terminals carry per direction the least
they carry at any step in which the site has an access satellite (requests flow all through the epoch).
Every route starts at the access satellite, so no host is reachable in a step in which the site has none:
`site_coverage`, the share of the epoch's steps in which it has one, bounds every share above, and the
shares of one site's hosts are missing in those same steps (problem.build serves only covered requests).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

P95 = 0.95


@dataclasses.dataclass(frozen=True, eq=False)
class Candidates:
    """Hosts of one kind that each site reaches in each epoch, [epoch, site, slot]; `host` indexes that kind
    (satellite, gateway or cloud region), -1 for an empty slot (latency inf, share 0)."""

    host: np.ndarray
    latency_ms: np.ndarray  # mean one way, over the steps it is reachable
    p95_ms: np.ndarray
    share: np.ndarray  # of the epoch's steps in which it is reachable
    up_gbps: np.ndarray  # harmonic mean of the request direction's bottleneck
    down_gbps: np.ndarray

    def concatenate(*parts: Candidates) -> Candidates:
        width = max(p.host.shape[2] for p in parts)
        pad = lambda a, fill: np.pad(a, ((0, 0), (0, 0), (0, width - a.shape[2])), constant_values=fill)  # noqa: E731
        return Candidates(*(np.concatenate([pad(getattr(p, f.name), FILL[f.name]) for p in parts])
                            for f in dataclasses.fields(Candidates)))


FILL = {"host": -1, "latency_ms": np.inf, "p95_ms": np.inf, "share": 0.0, "up_gbps": 0.0, "down_gbps": 0.0}


@dataclasses.dataclass(frozen=True, eq=False)
class NetworkTensors:
    """The network of every placement epoch: each site's candidate satellites, gateways and cloud regions,
    and its terminals' capacity per direction [epoch, site] (per terminal)."""

    satellites: Candidates  # [epoch, site, satellite_candidates]
    gateways: Candidates  # [epoch, site, gateway]
    clouds: Candidates  # [epoch, site, cloud]
    site_up_gbps: np.ndarray
    site_down_gbps: np.ndarray
    site_coverage: np.ndarray  # [epoch, site]: share of the epoch's steps in which the site has an access satellite
    # [step, site] int32: each site's access satellite at every step (-1: none), which every path starts at
    # (the run's paths table retraces them: placement.network.paths)
    access_sat: np.ndarray
    uncertified: int = 0  # satellite-host latencies used that the window could not certify (windows.py)

    @property
    def n_epochs(self) -> int:
        return self.site_up_gbps.shape[0]

    def concatenate(*parts: NetworkTensors) -> NetworkTensors:
        return NetworkTensors(*(Candidates.concatenate(*(getattr(p, name) for p in parts))
                                for name in ("satellites", "gateways", "clouds")),
                              *(np.concatenate([getattr(p, name) for p in parts])
                                for name in ("site_up_gbps", "site_down_gbps", "site_coverage", "access_sat")),
                              sum(p.uncertified for p in parts))


def fold_epochs(steps, steps_per_epoch: int, spec, n_sat: int) -> NetworkTensors:
    """NetworkTensors of the whole epochs in `steps` (network.tensors.Steps as numpy, [time, ...], a multiple
    of `steps_per_epoch` steps long)."""
    n = steps_per_epoch
    epochs = steps.access.sat.shape[0] // n
    per_epoch = lambda a: a.reshape((epochs, n) + a.shape[1:])  # noqa: E731
    has_access = per_epoch(steps.access.sat[:, :, 0] >= 0)
    site_up, site_down = (np.where(has_access, per_epoch(g[:, :, 0]), np.inf).min(axis=1)
                          for g in (steps.access.up_gbps, steps.access.down_gbps))
    site_up, site_down = (np.where(np.isfinite(g), g, 0.0) for g in (site_up, site_down))
    gateways = _ground_kind(per_epoch(steps.gateway_ms), per_epoch(steps.gateway_up_gbps),
                            per_epoch(steps.gateway_down_gbps))
    clouds = _ground_kind(per_epoch(steps.cloud_ms), per_epoch(steps.cloud_up_gbps),
                          per_epoch(steps.cloud_down_gbps))
    # A satellite host's bottleneck is the site's terminal link (lasers are far wider): per step, each direction.
    laser = spec.laser_capacity_gbps
    with np.errstate(invalid="ignore"):
        host_up = np.where(steps.host_hops > 0, np.minimum(steps.access.up_gbps, laser), steps.access.up_gbps)
        host_down = np.where(steps.host_hops > 0, np.minimum(steps.access.down_gbps, laser), steps.access.down_gbps)
    satellites, uncertified = zip(*(_satellites(*(per_epoch(a)[e] for a in (
        steps.host_sat, steps.host_ms, steps.host_hops, steps.host_exact, host_up, host_down)), spec, n_sat)
        for e in range(epochs)))
    return NetworkTensors(Candidates.concatenate(*satellites), gateways, clouds, site_up, site_down,
                          has_access.mean(axis=1), steps.access.sat[:, :, 0].astype(np.int32),
                          int(sum(uncertified)))


def _nearest_rank(sorted_values: np.ndarray, count: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """The P95 nearest-rank value of groups of sorted values: index ceil(0.95 count) - 1 from each start."""
    rank = np.maximum(np.ceil(P95 * count).astype(int) - 1, 0)
    return sorted_values[rank if start is None else start + rank]


def _ground_kind(ms: np.ndarray, up: np.ndarray, down: np.ndarray) -> Candidates:
    """Gateways or cloud regions [epoch, step, site, host]: every host a candidate, aggregated over steps."""
    n = ms.shape[1]
    count, total_ms, inverse_up, inverse_down, p95 = (np.asarray(a) for a in _over_steps(ms, up, down))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total_ms / count, np.inf)
        harmonic = lambda inverse: np.where(count > 0, count / inverse, 0.0)  # noqa: E731
        up_gbps, down_gbps = harmonic(inverse_up), harmonic(inverse_down)
    host = np.broadcast_to(np.arange(ms.shape[3]), mean.shape)
    return Candidates(np.where(count > 0, host, -1), mean, np.where(count > 0, p95, np.inf), count / n, up_gbps,
                      down_gbps)


@jax.jit
def _over_steps(ms, up, down):
    """The reductions over the step axis (1) of [epoch, step, site, host] arrays that _ground_kind needs, in
    one pass over them on the device: steps reachable, sum of their latencies, sums of 1 / each direction's
    rate, and the nearest-rank P95 of their latencies.

    The P95 of c values is the j-th largest, j = c - ceil(0.95 c) + 1, at most J = floor(0.05 S) + 1 for S
    steps (2 at 20 steps): the loop keeps the J largest so far (ties repeated), sorted, instead of sorting
    all S. A loop over the steps, each adding its slice: XLA fuses the body into one pass, where its own
    reductions along a middle axis ran about ten times slower on a CPU, and the compiled size does not grow
    with S."""
    n_steps = ms.shape[1]
    largest = int(0.05 * n_steps) + 1

    def add(s, carry):
        count, total_ms, inverse_up, inverse_down, top = carry
        at = lambda a: jax.lax.dynamic_index_in_dim(a, s, axis=1, keepdims=False)  # noqa: E731
        value = at(ms)
        reach = jnp.isfinite(value)
        inverse = lambda g: jnp.where(reach, 1.0 / jnp.where(reach, at(g), 1.0), 0.0)  # noqa: E731
        # insert the value into the descending top list: each place keeps the larger of its own value and
        # the smaller of the one above it and the new value
        above = jnp.concatenate([jnp.full_like(top[:1], jnp.inf), top[:-1]])
        top = jnp.maximum(top, jnp.minimum(above, jnp.where(reach, value, -jnp.inf)[None]))
        return (count + reach, total_ms + jnp.where(reach, value, 0.0), inverse_up + inverse(up),
                inverse_down + inverse(down), top)

    zeros = jnp.zeros(ms.shape[:1] + ms.shape[2:], ms.dtype)
    start = (jnp.zeros(zeros.shape, jnp.int32), zeros, zeros, zeros, jnp.full((largest,) + zeros.shape, -jnp.inf,
                                                                               ms.dtype))
    count, total_ms, inverse_up, inverse_down, top = jax.lax.fori_loop(0, n_steps, add, start)
    percent = round(P95 * 100)  # ceil(P95 c) in integers, as _nearest_rank's float64 ceil gives it
    rank_from_top = count - jnp.maximum((percent * count + 99) // 100 - 1, 0)  # j, 1-based
    p95 = jnp.take_along_axis(top, jnp.clip(rank_from_top - 1, 0, largest - 1)[None], axis=0)[0]
    return count, total_ms, inverse_up, inverse_down, p95


def _satellites(sat, ms, hops, exact, up, down, spec, n_sat: int) -> tuple[Candidates, int]:
    """One epoch's satellite hosts [1, site, K] from its steps [step, site, P], and how many of the latencies
    used were not certified exact."""
    n, n_site, _ = sat.shape
    k = spec.satellite_candidates
    site = np.broadcast_to(np.arange(n_site)[None, :, None], sat.shape)
    key = site.astype(np.int64) * n_sat + sat
    usable = (hops >= 0) & (hops <= spec.relay_hops) & (sat >= 0) & np.isfinite(ms)
    if spec.relay_hops > spec.laser_hops:
        # hosts relayed to beyond laser_hops count only if within laser_hops at some step: membership in the
        # sorted pool of those, by binary search on the usable keys (at relay_hops == laser_hops every
        # usable key is in it)
        pool = np.unique(key[(hops >= 0) & (hops <= spec.laser_hops) & (sat >= 0)])
        at = np.minimum(np.searchsorted(pool, key[usable]), max(len(pool) - 1, 0))
        usable[usable] = pool[at] == key[usable] if len(pool) else False
    key_u, ms_u = key[usable], ms[usable]
    order = _order_by(key_u, ms_u)
    key_u, ms_u = key_u[order], ms_u[order]
    exact_u, up_u, down_u = (a[usable][order] for a in (exact, up, down))
    # the keys are sorted: each group starts where the key changes (keys are >= 0)
    start = np.flatnonzero(np.diff(key_u, prepend=-1))
    groups, count = key_u[start], np.diff(np.append(start, len(key_u)))
    mean = np.add.reduceat(ms_u, start) / count if len(groups) else np.zeros(0)
    p95 = _nearest_rank(ms_u, count, start) if len(groups) else np.zeros(0)
    harmonic = lambda g: count / np.add.reduceat(1.0 / g, start) if len(groups) else np.zeros(0)  # noqa: E731
    # the k lowest mean latencies of each site
    site_of = groups // n_sat
    best = _order_by(site_of, mean)
    first = np.searchsorted(site_of[best], np.arange(n_site))
    slot = np.arange(len(best)) - first[site_of[best]]
    keep = best[slot < k]
    out = {name: np.full((1, n_site, k), fill, float if name != "host" else np.int64) for name, fill in FILL.items()}
    at = (0, site_of[keep], slot[slot < k])
    for name, value in (("host", groups % n_sat), ("latency_ms", mean), ("p95_ms", p95), ("share", count / n),
                        ("up_gbps", harmonic(up_u)), ("down_gbps", harmonic(down_u))):
        out[name][at] = value[keep]
    kept_group = np.zeros(len(groups), bool)
    kept_group[keep] = True
    uncertified = int((~exact_u & np.repeat(kept_group, count)).sum()) if len(groups) else 0
    return Candidates(**out), uncertified



def _order_by(key: np.ndarray, value: np.ndarray) -> np.ndarray:
    """The stable order by `key` (integers >= 0), then by `value` (floats >= 0): np.lexsort((value, key)), by
    integer sorts, since the bits of a non-negative float order as the float does. A float32 value joins a key
    under 2**31 in one int64; otherwise the value is sorted first, then the key, each stably. (One epoch of the
    network benchmark, 249,129 host-steps: 5.7 ms against lexsort's 48.)"""
    value = value + 0.0  # -0.0 (sign bit set) as +0.0
    key = key.astype(np.int64)
    if value.dtype == np.float32 and key.max(initial=0) < 2**31:
        return np.argsort((key << 32) | value.view(np.uint32).astype(np.int64), kind="stable")
    first = np.argsort(value.astype(np.float64).view(np.int64), kind="stable")
    return first[np.argsort(key[first], kind="stable")]
