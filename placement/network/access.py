"""Ground-satellite access at one time step: which satellites a ground node reaches, and the one satellite a
site's terminals use.

Reach (`Reach`): a satellite is reachable from a ground node when it is above the node's elevation mask and,
if a maximum slant range is given, no further than it (how Hypatia and other simulators define a ground
link: "a satellite within the maximum GSL length"). Each link direction has its own budget: a terminal's
uplink carries requests, its downlink responses; a gateway's feeder downlink carries requests down to it,
its feeder uplink the responses back up.

A site's terminals use one access satellite at a time (`choose_access`, a rule of `ACCESS_RULES`):
  highest       the highest satellite in view at every step (a scheduler that re-assigns terminals often;
                Starlink's reassigns them every 15 s);
  longest_view  keep the satellite while it stays in view; when it sets, take the one of the `slots`
                highest that stays in view the longest over the next `lookahead` steps (ties: the higher).
The choice of one step depends on the previous one under longest_view, so the rule runs as a scan over a
chunk's steps.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from placement.network.geometry import ground_up_vectors, visible_k_best
from placement.propagation.frames import ecef_to_geodetic

C_KM_PER_MS = 299_792.458 / 1e3
ACCESS_RULES = ("highest", "longest_view")


@dataclasses.dataclass(frozen=True)
class Reach:
    """When a ground node reaches a satellite (hashable: static under jit)."""

    min_elevation_deg: float = 25.0
    max_range_km: float | None = None  # None: the elevation mask alone


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Access:
    """Ground-satellite links of a set of ground nodes at one step, [node, k], highest first.

    `latency_ms` is one way, light time over the slant range plus the radio hop's fixed delay; `up_gbps`
    (ground -> satellite) and `down_gbps` (satellite -> ground) come from the two link budgets.
    """

    sat: jax.Array  # int32 satellite index, -1 for an empty slot
    latency_ms: jax.Array  # inf for an empty slot
    up_gbps: jax.Array  # 0 for an empty slot
    down_gbps: jax.Array


def elevation_and_range(ground_ecef_km, sat_ecef_km):
    """(sine of the elevation, slant range km), each [g, sat], from ground points [g, 3] and satellites
    [sat, 3] (ECEF).

    Ranking and masking need only an increasing function of the elevation, so this uses its sine,
    (sat - ground) . up / range, from two [g, 3] x [3, sat] products: no angle is computed and no [g, sat, 3]
    array is formed (geometry.look_angles gives the angles themselves). The range comes from
    |s|^2 + |g|^2 - 2 s.g; the cancellation costs ~1e-3 km in float32, ~1e-12 km in float64.
    """
    ground, sat = ground_ecef_km, sat_ecef_km
    lat, lon, _ = ecef_to_geodetic(ground)
    up = ground_up_vectors(lat, lon).astype(sat.dtype)  # [g, 3], the ellipsoid normal
    height_km = up @ sat.T - jnp.sum(up * ground, axis=-1, keepdims=True)  # [g, sat]
    range2 = (jnp.sum(sat * sat, axis=-1)[None, :] + jnp.sum(ground * ground, axis=-1, keepdims=True)
              - 2.0 * (ground @ sat.T))
    range_km = jnp.sqrt(jnp.maximum(range2, 0.0))
    return height_km / range_km, range_km


def _reachable(sin_elevation, range_km, reach: Reach):
    dtype = range_km.dtype
    ok = sin_elevation >= jnp.sin(jnp.deg2rad(jnp.asarray(reach.min_elevation_deg, dtype)))
    if reach.max_range_km is not None:
        ok &= range_km <= reach.max_range_km
    return ok & jnp.isfinite(sin_elevation) & jnp.isfinite(range_km)


def ground_access(ground_ecef_km, sat_ecef_km, reach: Reach, slots: int, up_link, down_link,
                  radio_hop_ms: float = 0.0) -> Access:
    """The `slots` highest reachable satellites from each ground node [g, 3] at one step (satellites [sat, 3])."""
    sin_elevation, range_km = elevation_and_range(ground_ecef_km, sat_ecef_km)
    score = jnp.where(_reachable(sin_elevation, range_km, reach), sin_elevation, -jnp.inf)
    chosen, _, slant_km = visible_k_best(score[None], range_km[None], -1.0, slots)
    return _links(chosen[0], slant_km[0], up_link, down_link, radio_hop_ms)


def _links(chosen, slant_km, up_link, down_link, radio_hop_ms: float) -> Access:
    has = chosen >= 0
    return Access(sat=chosen, latency_ms=jnp.where(has, slant_km / C_KM_PER_MS + radio_hop_ms, jnp.inf),
                  up_gbps=jnp.where(has, up_link.capacity_gbps(slant_km), 0.0),
                  down_gbps=jnp.where(has, down_link.capacity_gbps(slant_km), 0.0))


def choose_access(site_ecef_km, r_km, reach: Reach, slots: int, rule: str, up_link, down_link,
                  radio_hop_ms: float = 0.0, lookahead: int = 0) -> Access:
    """The one access satellite of each site at every step of a chunk, [time, site, 1].

    r_km [time + lookahead, sat, 3]: ECEF positions of the chunk's steps, then `lookahead` more (what
    longest_view looks at; NaN rows past the horizon count as out of view).
    """
    n_steps = r_km.shape[0] - lookahead

    def candidates(r):
        sin_elevation, range_km = elevation_and_range(site_ecef_km, r)
        score = jnp.where(_reachable(sin_elevation, range_km, reach), sin_elevation, -jnp.inf)
        return visible_k_best(score[None], range_km[None], -1.0, slots)[0::2]  # ([1, site, k], [1, site, k])

    def in_view(sat, r):
        """[site, k] whether satellites `sat` [site, k] are reachable at positions r [sat, 3]."""
        rel = r[jnp.maximum(sat, 0)] - site_ecef_km[:, None, :]
        lat, lon, _ = ecef_to_geodetic(site_ecef_km)
        up = ground_up_vectors(lat, lon).astype(r.dtype)
        range_km = jnp.linalg.norm(rel, axis=-1)
        ok = _reachable(jnp.sum(rel * up[:, None, :], axis=-1) / range_km, range_km, reach)
        return ok & (sat >= 0)

    if rule == "highest":
        lat, lon, _ = ecef_to_geodetic(site_ecef_km)
        up = ground_up_vectors(lat, lon).astype(r_km.dtype)
        height0 = jnp.sum(up * site_ecef_km, axis=-1, keepdims=True)
        site2 = jnp.sum(site_ecef_km * site_ecef_km, axis=-1, keepdims=True)
        mask2 = jnp.sin(jnp.deg2rad(jnp.asarray(reach.min_elevation_deg, r_km.dtype))) ** 2
        index = jnp.arange(r_km.shape[1], dtype=jnp.int32)[None, :]

        def step(_, r):
            # The highest satellite by the squared sine of its elevation, height^2 / range^2 over the
            # satellites above the horizon: no square root or division per pair to mask (h >= sin(mask) range
            # holds as h^2 >= sin^2 range^2 when h > 0), and the index by a min over those attaining the max
            # (plain reductions; an argmax is a slow variadic one on a CPU). Half this rule's time on 1,000
            # sites x 4,408 satellites.
            height = up @ r.T - height0  # [site, sat]
            range2 = jnp.sum(r * r, axis=-1)[None, :] + site2 - 2.0 * (site_ecef_km @ r.T)
            ok = (height > 0) & (height * height >= mask2 * range2)
            if reach.max_range_km is not None:
                ok &= range2 <= reach.max_range_km ** 2
            score = jnp.where(ok, height * height / range2, -1.0)
            top = jnp.max(score, axis=1, keepdims=True)
            best = jnp.min(jnp.where(score == top, index, r.shape[0]), axis=1)
            seen = top[:, 0] >= 0
            slant = jnp.linalg.norm(r[jnp.where(seen, best, 0)] - site_ecef_km, axis=-1)
            return None, (jnp.where(seen, best, -1)[:, None], jnp.where(seen, slant, jnp.inf)[:, None])

        _, (chosen, slant) = jax.lax.scan(step, None, r_km[:n_steps])
    elif rule == "longest_view":
        def step(current, t):
            chosen = candidates(r_km[t])[0][0]  # [site, k], highest first

            def count(i, state):  # look-ahead steps each candidate stays in view without a break
                run, lasting = state
                run = run & in_view(chosen, r_km[t + 1 + i])
                return run, lasting + run

            _, lasting = jax.lax.fori_loop(0, lookahead, count, (chosen >= 0, jnp.zeros(chosen.shape, jnp.int32)))
            best = jnp.argmax(jnp.where(chosen >= 0, lasting, -1), axis=1)  # the first (highest) on ties
            keep = in_view(current[:, None], r_km[t])[:, 0]
            pick = jnp.where(keep, current, jnp.take_along_axis(chosen, best[:, None], axis=1)[:, 0])
            return pick, pick

        _, picks = jax.lax.scan(step, jnp.full(site_ecef_km.shape[0], -1, jnp.int32), jnp.arange(n_steps))
        position = jnp.take_along_axis(r_km[:n_steps], jnp.maximum(picks, 0)[:, :, None], axis=1)  # [time, site, 3]
        chosen = picks[:, :, None]
        slant = jnp.where(chosen >= 0, jnp.linalg.norm(position - site_ecef_km[None], axis=-1)[:, :, None], jnp.inf)
    else:
        raise ValueError(f"unknown access rule {rule!r}; expected one of {ACCESS_RULES}")
    return _links(chosen, slant, up_link, down_link, radio_hop_ms)
