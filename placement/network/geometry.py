"""Ground-satellite and satellite-satellite geometry: look angles, line of sight, K best visible.

Device functions (jax.numpy, pure, jit-friendly, fixed shapes, dtype-generic float32/float64).
Positions are ECEF (Earth-fixed) km; convert SGP4's TEME output [sat, time, 3] with
`frames.teme_to_ecef` and transpose to time-major [time, sat, 3] first.

Local vertical: the WGS84 ellipsoid normal at the ground point (geodetic latitude), which is
what an antenna's "elevation" refers to. It differs from the geocentric radial direction by up
to 0.19 deg at 45 deg latitude, i.e. a few km of slant range at a 25 deg mask.

Memory: `look_angles` materialises three [time, g, sat] arrays (elevation, azimuth, range), so
3 * time * g * sat floats (plus a transient [3, time, g, sat] projection): e.g. 60 steps x 1,000 ground
nodes x 6,000 satellites in float64 is 3 * 2.9 GB. Callers with large grids chunk over time
(each time step is independent) or pre-filter satellites with `max_range_km`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from placement.errors import InputError
from placement.propagation.frames import WGS84_A_KM, ecef_to_geodetic

# Lowest altitude an inter-satellite laser may pass over the Earth, km. Hypatia's Starlink
# setup (main_starlink_550.py: "ISLs are not allowed to dip below 80 km altitude in order to
# avoid weather conditions") uses 80 km; it keeps the beam above the dense atmosphere and clouds.
DEFAULT_GRAZING_ALTITUDE_KM = 80.0


def _float_dtype(*xs):
    dtype = jnp.result_type(*xs)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    return dtype


def ground_up_vectors(lat_rad, lon_rad):
    """Unit ellipsoid normal ("up") [..., 3] at geodetic latitude/longitude (broadcast together).

    up = (cos lat cos lon, cos lat sin lon, sin lat): with geodetic latitude this is the normal
    to the WGS84 ellipsoid, i.e. the local vertical.
    """
    return enu_basis(lat_rad, lon_rad)[2]


def enu_basis(lat_rad, lon_rad):
    """Local (east, north, up) unit vectors, each [..., 3] in ECEF, at geodetic lat/lon.

        east  = (-sin lon,          cos lon,          0)
        north = (-sin lat cos lon, -sin lat sin lon,  cos lat)
        up    = ( cos lat cos lon,  cos lat sin lon,  sin lat)
    """
    lat, lon = jnp.broadcast_arrays(jnp.asarray(lat_rad), jnp.asarray(lon_rad))
    dtype = _float_dtype(lat, lon)
    lat, lon = lat.astype(dtype), lon.astype(dtype)
    sl, cl, so, co = jnp.sin(lat), jnp.cos(lat), jnp.sin(lon), jnp.cos(lon)
    east = jnp.stack([-so, co, jnp.zeros_like(lat)], axis=-1)
    north = jnp.stack([-sl * co, -sl * so, cl], axis=-1)
    up = jnp.stack([cl * co, cl * so, sl], axis=-1)
    return east, north, up


def look_angles(ground_ecef_km, sat_ecef_km):
    """Elevation, azimuth and slant range from ground points to satellites, each [time, g, sat].

    ground_ecef_km [g, 3]; sat_ecef_km [time, sat, 3] (both ECEF km). Computed in the common
    float dtype of the inputs.
      elevation_rad  in [-pi/2, pi/2], above the local (ellipsoid-normal) horizontal plane
      azimuth_rad    in [0, 2 pi), clockwise from geodetic north (east = pi/2); 0 at zenith
      range_km       |sat - ground|
    The relative vector is projected onto each ground point's (east, north, up) basis as
    differences of dot products (sat . e - ground . e), so no [time, g, sat, 3] array is formed
    and float32 keeps ~1e-3 km: the products are ~7e3 km, not squared ranges.
    NaN satellite rows give NaN outputs.
    """
    g = jnp.asarray(ground_ecef_km)
    s = jnp.asarray(sat_ecef_km)
    dtype = _float_dtype(g, s)
    g, s = g.astype(dtype), s.astype(dtype)
    lat, lon, _ = ecef_to_geodetic(g)
    basis = jnp.stack(enu_basis(lat, lon), axis=1)                 # [g, 3 (e, n, u), 3 (xyz)]
    sat_proj = jnp.einsum("tsc,gkc->ktgs", s, basis)                # [3, time, g, sat]
    ground_proj = jnp.einsum("gc,gkc->kg", g, basis)                # [3, g]
    enu = sat_proj - ground_proj[:, None, :, None]
    e, n, u = enu[0], enu[1], enu[2]
    horizontal = jnp.hypot(e, n)
    elevation = jnp.arctan2(u, horizontal)
    azimuth = jnp.arctan2(e, n)
    azimuth = jnp.where(azimuth < 0, azimuth + 2.0 * jnp.pi, azimuth)
    azimuth = jnp.where(azimuth >= 2.0 * jnp.pi, 0.0, azimuth)     # -1e-17 + 2 pi rounds to 2 pi
    range_km = jnp.sqrt(horizontal * horizontal + u * u)
    return elevation, azimuth, range_km


def line_of_sight(a_km, b_km, min_altitude_km: float = DEFAULT_GRAZING_ALTITUDE_KM,
                  radius_km: float = WGS84_A_KM):
    """True where the segment a-b stays above a sphere of radius `radius_km + min_altitude_km`.

    a_km, b_km [..., 3] (broadcast together), any Earth-centred frame. The point of the segment
    closest to the Earth's centre is a + t (b - a) with t = -a.(b - a) / |b - a|^2 clipped to
    [0, 1]; the link is clear when that point is strictly above the grazing sphere.
    Defaults: the WGS84 equatorial radius (a sphere enclosing the ellipsoid, so near the poles
    the test is up to 21 km stricter than the true ellipsoid) plus an 80 km grazing margin for
    the atmosphere (`DEFAULT_GRAZING_ALTITUDE_KM`). Coincident endpoints reduce to that point's
    own altitude; NaN inputs give False.
    """
    a, b = jnp.broadcast_arrays(jnp.asarray(a_km), jnp.asarray(b_km))
    dtype = _float_dtype(a, b)
    a, b = a.astype(dtype), b.astype(dtype)
    d = b - a
    dd = jnp.sum(d * d, axis=-1)
    safe_dd = jnp.where(dd > 0, dd, 1.0)
    t = jnp.clip(-jnp.sum(a * d, axis=-1) / safe_dd, 0.0, 1.0)
    t = jnp.where(dd > 0, t, 0.0)
    p = a + t[..., None] * d
    r_min = radius_km + min_altitude_km
    return jnp.sum(p * p, axis=-1) > r_min * r_min


def max_range_km(altitude_km, min_elevation_rad, radius_km: float = WGS84_A_KM):
    """Slant range to a satellite at `altitude_km` seen exactly at `min_elevation_rad`, km.

    Spherical Earth of radius R (law of cosines in the ground-centre-satellite triangle):
        rho = sqrt((R + h)^2 - (R cos e)^2) - R sin e
    Any satellite at that altitude seen above the mask is closer than this, so
    `range_km <= max_range_km(...)` is a cheap pre-filter (before `look_angles`). On the real
    ellipsoid the local radius and normal differ slightly: pre-filter with a few km of margin
    (or the shell's highest altitude). e.g. 550 km at 25 deg -> about 1,123 km.
    """
    h = jnp.asarray(altitude_km)
    e = jnp.asarray(min_elevation_rad)
    dtype = _float_dtype(h, e)
    h, e = h.astype(dtype), e.astype(dtype)
    rc = radius_km * jnp.cos(e)
    return jnp.sqrt((radius_km + h) ** 2 - rc * rc) - radius_km * jnp.sin(e)


def max_isl_range_km(altitude_km, min_altitude_km: float = DEFAULT_GRAZING_ALTITUDE_KM,
                     radius_km: float = WGS84_A_KM):
    """Longest clear laser between two satellites at `altitude_km` (tangent to the grazing sphere).

        2 sqrt((R + h)^2 - (R + h_min)^2);  e.g. 550 km with an 80 km margin -> about 5,017 km.
    """
    h = jnp.asarray(altitude_km)
    h = h.astype(_float_dtype(h))
    return 2.0 * jnp.sqrt((radius_km + h) ** 2 - (radius_km + min_altitude_km) ** 2)


def visible_k_best(elevation_rad, range_km, min_elevation_rad, k: int):
    """The k highest-elevation satellites above each ground node's mask, for GSL slot tensors.

    elevation_rad, range_km [time, g, sat] (from `look_angles`); min_elevation_rad [g] or a
    scalar; k a static Python int (pass as static under jit), 1 <= k <= sat.
    Returns (sat_index [time, g, k] int32, elevation_rad [time, g, k], range_km [time, g, k]),
    slots sorted by decreasing elevation (ties: lower satellite index first, as lax.top_k).
    Empty slots (fewer than k visible) have sat_index -1, elevation -inf and range inf, so a
    latency or capacity computed from the range is inf / 0 there. A satellite is visible when
    elevation >= mask and both its elevation and range are finite (NaN SGP4 rows never are).
    Memory is that of the inputs (time * g * sat floats each); top_k adds one such array.
    """
    elevation = jnp.asarray(elevation_rad)
    rng = jnp.asarray(range_km)
    if elevation.ndim != 3 or rng.shape != elevation.shape:
        raise InputError(f"expected matching [time, g, sat] arrays, got {elevation.shape} and {rng.shape}",
                         source="visible_k_best", field="elevation_rad/range_km")
    n_sat = elevation.shape[-1]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= n_sat:
        raise InputError(f"k = {k!r}", source="visible_k_best", field="k",
                         expected=f"an int in [1, {n_sat}] (the number of satellites)")
    dtype = _float_dtype(elevation, rng)
    elevation, rng = elevation.astype(dtype), rng.astype(dtype)
    mask = jnp.broadcast_to(jnp.asarray(min_elevation_rad, dtype), elevation.shape[1:2])
    visible = (elevation >= mask[None, :, None]) & jnp.isfinite(elevation) & jnp.isfinite(rng)
    score = jnp.where(visible, elevation, -jnp.inf)
    best, index = jax.lax.top_k(score, k)
    ok = best > -jnp.inf
    sat_index = jnp.where(ok, index, -1).astype(jnp.int32)
    best_range = jnp.where(ok, jnp.take_along_axis(rng, index, axis=-1), jnp.inf)
    return sat_index, best, best_range
