"""Which satellites can be in view of each ground point at one step: an exact pre-filter, so that an access
rule scores a few hundred satellites per site instead of the whole constellation.

A satellite at radius r that a ground point at radius a sees at elevation e (measured from the point's radial
direction) lies within the Earth central angle

    theta(e) = acos(a cos e / r) - e

of the point (the triangle Earth centre, point, satellite), which grows with r and falls with a and e. An
elevation mask is measured from the ellipsoid normal, which is within 0.1924 deg of the radial direction
(WGS84 geodetic minus geocentric latitude, largest at 45 deg), so every satellite above the mask lies within
the cap of radius rho = theta(mask - NORMAL_DEG) taken at the step's largest satellite radius and the ground
points' smallest. The points of a spherical cap of radius rho centred at latitude phi differ from its centre
in longitude by at most asin(sin rho / cos phi) (by any amount once the cap holds a pole).

Satellites are sorted by geocentric latitude band (BAND_DEG), then longitude bin; the satellites in a point's
cap then lie in one run of longitude bins (wrapping round) of each band the cap crosses, read as up to
CAPACITY consecutive entries of the sorted order. Where a run holds more, or a cap crosses more than
BANDS_PER_SITE bands, the step is not `complete` and the caller scores every satellite: the pre-filter never
changes which satellite a rule picks, only how many it scores. The sort is of one int32 per satellite, its
band, longitude bin and index packed together (XLA's CPU sort of plain integers: 0.18 ms for 4,408 against
1.0 ms for an argsort of floats).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

BAND_DEG = 4.0
N_BANDS = math.ceil(180.0 / BAND_DEG)
# Caps of up to 12 deg radius (about 1,100 km altitude at a 25 deg mask) cross at most 7 bands of 4 deg.
BANDS_PER_SITE = 7
# Satellites read per ground point and band. At most 42 of Starlink Gen1 and 56 of the 9,543-satellite
# catalog fall in one at the 1,000 cities of experiments/benchmarks/network.py (25 deg mask, 20 steps a day
# apart): 64 leaves a margin, and a step that needs more scores every satellite.
CAPACITY = 64
NORMAL_DEG = 0.2  # the ellipsoid normal's largest tilt from the radial direction, 0.1924 deg, rounded up
MARGIN_DEG = 0.01  # the float32 rounding of the angles below, about 1e-4 deg, with room to spare
BAND_BITS = 6  # N_BANDS <= 63; band 63 holds the satellites without a position


def _latitude_longitude_deg(r_km):
    """Geocentric latitude and longitude (deg) of positions [..., 3]; atan2 keeps the latitude accurate at the
    poles, where an arcsine of z / r loses half its digits."""
    latitude = jnp.degrees(jnp.arctan2(r_km[..., 2], jnp.hypot(r_km[..., 0], r_km[..., 1])))
    return latitude, jnp.degrees(jnp.arctan2(r_km[..., 1], r_km[..., 0]))


def _band(latitude_deg):
    return jnp.clip(jnp.floor((latitude_deg + 90.0) / BAND_DEG), 0, N_BANDS - 1).astype(jnp.int32)


def nearby(ground_ecef_km, r_km, min_elevation_deg: float) -> tuple[jax.Array, jax.Array]:
    """The satellites that can be above `min_elevation_deg` from each ground point [g, 3] at positions r_km
    [sat, 3] (Earth-fixed; NaN rows never listed): int32 [g, BANDS_PER_SITE * CAPACITY], -1 padding, and
    `complete` (bool scalar), False when some point's list may miss one (then the lists must not be used)."""
    dtype, n_sat = r_km.dtype, r_km.shape[0]
    index_bits = max(1, (n_sat - 1).bit_length())
    lon_bits = 31 - BAND_BITS - index_bits
    if lon_bits < 1:  # too many satellites to pack: score them all
        return jnp.full((ground_ecef_km.shape[0], BANDS_PER_SITE * CAPACITY), -1, jnp.int32), jnp.array(False)
    bins = 2**lon_bits
    radius = jnp.linalg.norm(r_km, axis=-1)
    finite = jnp.isfinite(radius)
    r_max = jnp.max(jnp.where(finite, radius, 0.0))
    a_min = jnp.min(jnp.linalg.norm(ground_ecef_km, axis=-1))
    e = jnp.deg2rad(jnp.asarray(min_elevation_deg - NORMAL_DEG, dtype))
    rho = jnp.arccos(jnp.clip(a_min * jnp.cos(e) / r_max, -1.0, 1.0)) - e
    rho_deg = jnp.degrees(rho) + MARGIN_DEG

    def lon_bin(lon_deg):
        return jnp.clip(jnp.floor(jnp.mod(lon_deg + 180.0, 360.0) * (bins / 360.0)), 0, bins - 1).astype(jnp.int32)

    sat_lat, sat_lon = _latitude_longitude_deg(r_km)
    cell = jnp.where(finite, (_band(sat_lat) << lon_bits) | lon_bin(sat_lon), 2**(BAND_BITS + lon_bits) - 1)
    packed = jnp.sort((cell << index_bits) | jnp.arange(n_sat, dtype=jnp.int32))
    order = packed & (2**index_bits - 1)

    lat, lon = _latitude_longitude_deg(ground_ecef_km)  # [g]
    first_band, last_band = _band(lat - rho_deg), _band(lat + rho_deg)
    band = first_band[:, None] + jnp.arange(BANDS_PER_SITE, dtype=jnp.int32)[None, :]  # [g, B]
    in_cap = band <= last_band[:, None]
    pole = jnp.abs(lat) + rho_deg >= 90.0
    sine = jnp.sin(jnp.deg2rad(rho_deg)) / jnp.cos(jnp.deg2rad(lat))
    half_deg = jnp.where(pole | (sine >= 1.0), 180.0, jnp.degrees(jnp.arcsin(jnp.minimum(sine, 1.0))) + MARGIN_DEG)
    whole_band = (half_deg >= 180.0)[:, None]

    def first_at(band, lon_bin, side):  # where (band, lon_bin) starts ("left") or ends ("right") in the order
        edge = ((band << lon_bits) | lon_bin) << index_bits
        if side == "right":
            edge = edge | (2**index_bits - 1)
        return jnp.searchsorted(packed, edge, side=side).astype(jnp.int32)

    edges = first_at(jnp.arange(N_BANDS + 1, dtype=jnp.int32), 0, "left")  # where each band starts
    clipped = jnp.minimum(band, N_BANDS - 1)
    band_start, band_end = edges[clipped], edges[clipped + 1]
    west, east = lon_bin(lon - half_deg)[:, None], lon_bin(lon + half_deg)[:, None]
    at_west, at_east = first_at(band, west, "left"), first_at(band, east, "right")
    wraps = west > east  # the run crosses longitude 180: the band's end, then its start
    count = jnp.where(whole_band, band_end - band_start,
                      jnp.where(wraps, (band_end - at_west) + (at_east - band_start), at_east - at_west))
    count = jnp.where(in_cap, count, 0)
    offset = jnp.where(whole_band, 0, at_west - band_start)

    complete = jnp.all(count <= CAPACITY) & jnp.all(last_band - first_band < BANDS_PER_SITE)
    step = jnp.arange(CAPACITY, dtype=jnp.int32)[None, None, :]
    read = offset[:, :, None] + step  # [g, B, CAPACITY]
    size = (band_end - band_start)[:, :, None]
    read = jnp.where(read >= size, read - size, read)  # past the band's end: round to its start
    listed = step < count[:, :, None]
    satellite = jnp.where(listed, order[jnp.clip(band_start[:, :, None] + read, 0, n_sat - 1)], -1)
    return satellite.reshape(ground_ecef_km.shape[0], -1), complete
