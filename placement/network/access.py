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
                highest that stays in view the longest over the next `lookahead` steps (ties: the higher);
  gateway_in_view  the highest satellite that has a gateway in view, else the highest (`in_view_of`): what a
                bent-pipe scheduler does, since without lasers only such a satellite reaches the ground
                network (`network.lasers = false`).
The choice of one step depends on the previous one under longest_view, so the rule runs as a scan over a
chunk's steps.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from placement.errors import InputError
from placement.network.geometry import ground_up_vectors, visible_k_best
from placement.network.sky_bands import nearby
from placement.propagation.frames import ecef_to_geodetic

C_KM_PER_MS = 299_792.458 / 1e3
ACCESS_RULES = ("highest", "longest_view", "gateway_in_view")


@dataclasses.dataclass(frozen=True)
class Reach:
    """When a ground node reaches a satellite (hashable: static under jit)."""

    min_elevation_deg: float = 25.0
    max_range_km: float | None = None  # None: the elevation mask alone

    def __post_init__(self):
        # `_reachable` compares squares, which holds for masks at or above the horizon
        if not 0.0 <= self.min_elevation_deg < 90.0:
            raise InputError(f"{self.min_elevation_deg!r} deg is not a usable mask", source="Reach",
                             field="min_elevation_deg", expected="an elevation in [0, 90) deg")
        if self.max_range_km is not None and not self.max_range_km > 0:
            raise InputError(f"{self.max_range_km!r} km is not a range", source="Reach", field="max_range_km",
                             expected="a slant range > 0 km, or None")


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


def _ground_frame(ground_ecef_km, dtype):
    """Per ground point [g, 3], computed once: its up vector (the ellipsoid normal), up . ground and |ground|^2."""
    lat, lon, _ = ecef_to_geodetic(ground_ecef_km)
    up = ground_up_vectors(lat, lon).astype(dtype)
    return (up, jnp.sum(up * ground_ecef_km, axis=-1, keepdims=True),
            jnp.sum(ground_ecef_km * ground_ecef_km, axis=-1, keepdims=True))


def _height_and_range2(frame, ground_ecef_km, sat_ecef_km):
    """(height of each satellite above each ground point's horizon plane, km; squared slant range, km^2),
    each [g, sat], from two [g, 3] x [3, sat] products: no angle and no [g, sat, 3] array. The range comes
    from |s|^2 + |g|^2 - 2 s.g; the cancellation costs ~1e-3 km in float32, ~1e-12 km in float64."""
    up, up_ground, ground2 = frame
    sat = sat_ecef_km
    height_km = up @ sat.T - up_ground
    range2 = jnp.sum(sat * sat, axis=-1)[None, :] + ground2 - 2.0 * (ground_ecef_km @ sat.T)
    return height_km, range2


def elevation_and_range(ground_ecef_km, sat_ecef_km):
    """(sine of the elevation, slant range km), each [g, sat], from ground points [g, 3] and satellites
    [sat, 3] (ECEF). Ranking needs only an increasing function of the elevation, so this is its sine
    (geometry.look_angles gives the angles themselves)."""
    frame = _ground_frame(ground_ecef_km, sat_ecef_km.dtype)
    height_km, range2 = _height_and_range2(frame, ground_ecef_km, sat_ecef_km)
    range_km = jnp.sqrt(jnp.maximum(range2, 0.0))
    return height_km / range_km, range_km


def _reachable(height_km, range2_km2, reach: Reach):
    """Above the mask (height >= sin(mask) range, compared as squares with the height positive: no square
    root or division per pair) and within the maximum range. NaN positions compare false."""
    sin_mask = jnp.sin(jnp.deg2rad(jnp.asarray(reach.min_elevation_deg, height_km.dtype)))
    ok = (height_km > 0) & (height_km * height_km >= sin_mask * sin_mask * range2_km2)
    if reach.max_range_km is not None:
        ok &= range2_km2 <= reach.max_range_km ** 2
    return ok


def _listed_height_and_range2(frame, ground_ecef_km, sat_ecef_km, candidate):
    """`_height_and_range2` of the satellites `candidate` [g, C] (sky_bands.nearby) of each ground point:
    [g, C] each, the same products summed term by term."""
    up, up_ground, ground2 = frame
    s = sat_ecef_km[jnp.maximum(candidate, 0)]  # [g, C, 3]
    height_km = jnp.sum(up[:, None, :] * s, axis=-1) - up_ground
    range2 = jnp.sum(s * s, axis=-1) + ground2 - 2.0 * jnp.sum(ground_ecef_km[:, None, :] * s, axis=-1)
    return height_km, range2


def _highest(frame, ground_ecef_km, sat_ecef_km, reach: Reach, slots: int):
    """The `slots` highest reachable satellites of each ground point: ([g, slots] index, -1 for none;
    [g, slots] slant range km, inf for none). Only the satellites that can be above the mask are ranked
    (sky_bands), all of them where that list is not complete."""
    def best(height_km, range2, listed):
        range_km = jnp.sqrt(jnp.maximum(range2, 0.0))
        score = jnp.where(_reachable(height_km, range2, reach) & listed, height_km / range_km, -jnp.inf)
        chosen, _, slant_km = visible_k_best(score[None], range_km[None], -1.0, slots)
        return chosen[0], slant_km[0]

    def every_satellite():
        return best(*_height_and_range2(frame, ground_ecef_km, sat_ecef_km), True)

    def among_listed():
        at, slant_km = best(*_listed_height_and_range2(frame, ground_ecef_km, sat_ecef_km, candidate), candidate >= 0)
        return jnp.where(at >= 0, jnp.take_along_axis(candidate, jnp.maximum(at, 0), axis=1), -1), slant_km

    candidate, complete = nearby(ground_ecef_km, sat_ecef_km, reach.min_elevation_deg)
    if slots > candidate.shape[1]:
        return every_satellite()
    return jax.lax.cond(complete, among_listed, every_satellite)


def ground_access(ground_ecef_km, sat_ecef_km, reach: Reach, slots: int, up_link, down_link,
                  radio_hop_ms: float = 0.0) -> Access:
    """The `slots` highest reachable satellites from each ground node [g, 3] at one step (satellites [sat, 3])."""
    frame = _ground_frame(ground_ecef_km, sat_ecef_km.dtype)
    return _links(*_highest(frame, ground_ecef_km, sat_ecef_km, reach, slots), up_link, down_link, radio_hop_ms)


def _links(chosen, slant_km, up_link, down_link, radio_hop_ms: float) -> Access:
    has = chosen >= 0
    return Access(sat=chosen, latency_ms=jnp.where(has, slant_km / C_KM_PER_MS + radio_hop_ms, jnp.inf),
                  up_gbps=jnp.where(has, up_link.capacity_gbps(slant_km), 0.0),
                  down_gbps=jnp.where(has, down_link.capacity_gbps(slant_km), 0.0))


def in_view_of(ground_ecef_km, sat_ecef_km, reach: Reach):
    """[sat] whether each satellite [sat, 3] is reachable from at least one of the ground nodes [g, 3]."""
    frame = _ground_frame(ground_ecef_km, sat_ecef_km.dtype)
    return _reachable(*_height_and_range2(frame, ground_ecef_km, sat_ecef_km), reach).any(axis=0)


def choose_access(site_ecef_km, r_km, reach: Reach, slots: int, rule: str, up_link, down_link,
                  radio_hop_ms: float = 0.0, lookahead: int = 0, preferred=None) -> Access:
    """The one access satellite of each site at every step of a chunk, [time, site, 1].

    r_km [time + lookahead, sat, 3]: ECEF positions of the chunk's steps, then `lookahead` more (what
    longest_view looks at; NaN rows past the horizon count as out of view). `preferred` [time, sat] (bool):
    the satellites the gateway_in_view rule takes first.
    """
    n_steps = r_km.shape[0] - lookahead
    frame = _ground_frame(site_ecef_km, r_km.dtype)

    def in_view(sat, r):
        """[site, k] whether satellites `sat` [site, k] are reachable at positions r [sat, 3]."""
        rel = r[jnp.maximum(sat, 0)] - site_ecef_km[:, None, :]
        height_km = jnp.sum(rel * frame[0][:, None, :], axis=-1)
        return _reachable(height_km, jnp.sum(rel * rel, axis=-1), reach) & (sat >= 0)

    if rule in ("highest", "gateway_in_view"):
        index = jnp.arange(r_km.shape[1], dtype=jnp.int32)[None, :]

        def highest(score, satellite, n_sat):
            # The highest satellite by the squared sine of its elevation, height^2 / range^2 (no square root
            # per pair), and the lowest index among those attaining it by a min (plain reductions; an argmax
            # is a slow variadic one on a CPU).
            top = jnp.max(score, axis=1, keepdims=True)
            return jnp.min(jnp.where(score == top, satellite, n_sat), axis=1), top[:, 0] >= 0

        def ranked(height, range2, satellite, n_sat, preferred):
            """(highest, seen) among `satellite` [site or 1, S] (-1: none), `preferred` [site or 1, S] or None."""
            score = jnp.where(_reachable(height, range2, reach) & (satellite >= 0), height * height / range2, -1.0)
            if preferred is not None:  # a preferred satellite in view outranks every other (scores are <= 1)
                score = jnp.where(preferred & (score >= 0), score + 2.0, score)
            return highest(score, satellite, n_sat)

        def every_satellite(r, first):
            return ranked(*_height_and_range2(frame, site_ecef_km, r), index, r.shape[0],
                          None if first is None else first[None, :])

        def listed(r, first, candidate):  # the satellites sky_bands lists for each site [site, C]
            return ranked(*_listed_height_and_range2(frame, site_ecef_km, r, candidate), candidate, r.shape[0],
                          None if first is None else first[jnp.maximum(candidate, 0)])

        def step(_, inputs):
            # Only the satellites that can be above the mask are scored (sky_bands: a few hundred of 4,408 at
            # 1,000 sites), all of them where that list is not complete.
            r, first = inputs
            candidate, complete = nearby(site_ecef_km, r, reach.min_elevation_deg)
            best, seen = jax.lax.cond(complete, lambda: listed(r, first, candidate), lambda: every_satellite(r, first))
            slant = jnp.linalg.norm(r[jnp.where(seen, best, 0)] - site_ecef_km, axis=-1)
            return None, (jnp.where(seen, best, -1)[:, None], jnp.where(seen, slant, jnp.inf)[:, None])

        if (rule == "gateway_in_view") != (preferred is not None):
            raise ValueError("choose_access: the gateway_in_view rule and `preferred` go together")
        _, (chosen, slant) = jax.lax.scan(step, None, (r_km[:n_steps], preferred))
    elif rule == "longest_view":
        def step(current, t):
            chosen, _ = _highest(frame, site_ecef_km, r_km[t], reach, slots)  # [site, k], highest first

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
