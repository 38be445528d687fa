"""Reference frames: TEME (SGP4 output) -> ECEF (PEF) -> WGS84 geodetic.

Host side (numpy float64): Greenwich mean sidereal time from a two-part Julian date,
handed to the device as cos/sin arrays [time].
Device side (jax.numpy, jit-friendly, dtype-generic): rotations and geodetic conversion.
Computation happens in the dtype of the position argument; host angles are cast to it.

Approximations (documented error budget):
- Polar motion is ignored: the pseudo-Earth-fixed (PEF) frame is used as ECEF. The pole
  wanders by < ~0.5 arcsec, i.e. up to ~15 m at the Earth's surface (tens of metres at
  most, ~17 m at LEO radius).
- UT1 - UTC is ignored (UTC is used as UT1). |UT1 - UTC| < 0.9 s, so the Earth-rotation
  angle is off by at most 0.9 s * 7.29e-5 rad/s = 6.6e-5 rad -> up to ~0.42 km along
  the equator at the surface (~0.46 km at LEO radius). Pass UT1 (jd, fr) to `gmst_rad` /
  `earth_rotation` when that matters.
- TEME -> PEF is a single rotation by GMST (IAU-1982), as in Vallado's teme2ecef
  (Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., Sec. 3.7 and
  Vallado et al. 2006, "Revisiting Spacetrack Report #3", AIAA 2006-6753).
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp

# Earth rotation rate, rad/s: the value in Vallado's teme2ecef code (4th ed. software,
# 7.29211514670698e-05 * (1 - LOD/86400) with LOD = 0); WGS84 rounds it to 7.292115e-5.
EARTH_ROTATION_RAD_S = 7.292115146706979e-5

# WGS84 defining parameters (NIMA TR8350.2, 3rd ed., Table 3.1).
WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)          # 6356.752314245 km
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)               # first eccentricity squared
WGS84_EP2 = WGS84_E2 / (1.0 - WGS84_E2)            # second eccentricity squared

_J2000_JD = 2451545.0
_DAYS_PER_CENTURY = 36525.0
_SECONDS_PER_DAY = 86400.0


def gmst_rad(jd_ut1, fr=0.0) -> np.ndarray:
    """Greenwich mean sidereal time (IAU-1982), rad in [0, 2 pi), host float64.

    Vallado 4th ed., Sec. 3.5 (IAU-1982 GMST; `gstime` in his SGP4 code, Example 3-5):
        GMST[s] = 67310.54841 + (876600 h + 8640184.812866 s) T
                  + 0.093104 T^2 - 6.2e-6 T^3,   T = (JD_UT1 - 2451545.0) / 36525.
    The 876600 h * T term equals 86400 s per elapsed day, so it is reduced modulo one
    day using the two parts separately ((jd - 2451545) mod 1 is exact); this keeps
    ~1e-14 rad precision where a single float64 Julian date (as `sgp4.propagation.gstime`
    takes) is limited to ~1e-11 rad by its own rounding and ~3e-9 rad by the summed input.
    Broadcasts jd_ut1 and fr (any shapes).
    """
    jd = np.asarray(jd_ut1, dtype=np.float64)
    fr = np.asarray(fr, dtype=np.float64)
    days_from_j2000 = jd - _J2000_JD                      # exact for realistic dates
    t = (days_from_j2000 + fr) / _DAYS_PER_CENTURY
    day_fraction = np.mod(days_from_j2000, 1.0) + fr      # exact mod; fr adds the rest
    seconds = (
        67310.54841
        + _SECONDS_PER_DAY * day_fraction
        + 8640184.812866 * t
        + (0.093104 - 6.2e-6 * t) * t * t
    )
    seconds = np.mod(seconds, _SECONDS_PER_DAY)
    return seconds * (2.0 * np.pi / _SECONDS_PER_DAY)


def earth_rotation(jd, fr=0.0) -> tuple[np.ndarray, np.ndarray]:
    """(cos GMST, sin GMST), float64 arrays shaped like broadcast(jd, fr), usually [time].

    UTC is used as UT1 (see module docstring for the error this causes)."""
    theta = gmst_rad(jd, fr)
    return np.cos(theta), np.sin(theta)


def _angles_like(r, cos_gmst, sin_gmst):
    r = jnp.asarray(r)
    if not jnp.issubdtype(r.dtype, jnp.floating):
        r = r.astype(jnp.result_type(float))
    c = jnp.asarray(cos_gmst, dtype=r.dtype)
    s = jnp.asarray(sin_gmst, dtype=r.dtype)
    # [time] against r[..., time, 0]: leading axes made explicit (strict rank promotion)
    lead = (1,) * (r.ndim - 1 - c.ndim)
    return r, c.reshape(lead + c.shape), s.reshape(lead + s.shape)


def teme_to_ecef(r_teme_km, cos_gmst, sin_gmst):
    """Rotate TEME positions to ECEF (PEF): r_ecef = ROT3(GMST) r_teme.

    r_teme_km [..., time, 3] (typically [sat, time, 3]); cos_gmst, sin_gmst [time]
    (broadcast against r's leading axes without the last). Returns the same shape as r.
        x' =  cos x + sin y,   y' = -sin x + cos y,   z' = z
    """
    r, c, s = _angles_like(r_teme_km, cos_gmst, sin_gmst)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    return jnp.stack([c * x + s * y, -s * x + c * y, jnp.broadcast_to(z, (c * x).shape)], axis=-1)


def teme_to_ecef_velocity(r_teme_km, v_teme_km_s, cos_gmst, sin_gmst):
    """ECEF (PEF) velocity, km/s: v_ecef = ROT3(GMST) v_teme - omega x r_ecef.

    As in Vallado's teme2ecef (4th ed. Sec. 3.7; omega = 7.292115146706979e-5 rad/s about z).
    Shapes as in `teme_to_ecef`; returns v shaped like v_teme_km_s (broadcast with r).
    """
    r_ecef = teme_to_ecef(r_teme_km, cos_gmst, sin_gmst)
    v_rot = teme_to_ecef(jnp.asarray(v_teme_km_s, dtype=r_ecef.dtype), cos_gmst, sin_gmst)
    w = EARTH_ROTATION_RAD_S
    # omega x r = (-w y, w x, 0)
    return jnp.stack(
        [
            v_rot[..., 0] + w * r_ecef[..., 1],
            v_rot[..., 1] - w * r_ecef[..., 0],
            v_rot[..., 2] + 0.0 * r_ecef[..., 2],
        ],
        axis=-1,
    )


def ecef_to_geodetic(r_ecef_km, n_iter: int = 2):
    """WGS84 geodetic (lat_rad, lon_rad, alt_km) of ECEF positions r_ecef_km [..., 3].

    Bowring's iteration on the parametric (reduced) latitude (B. R. Bowring, "Transformation
    from spatial to geographical coordinates", Survey Review 23(181), 1976; Vallado 4th ed.
    Algorithm 12 ECEF2LL solves the same problem differently), a fixed `n_iter` steps from
    Bowring's starting value. Convergence is fast (about cubic): measured on 1e5 random
    points with altitudes -1..40000 km, 1 step leaves up to 0.27 m of position error and
    2 steps (the default) are at float64 rounding (< 1e-10 km, lat < 1e-15 rad). Height uses
        h = p cos(lat) + z sin(lat) - a sqrt(1 - e^2 sin^2 lat),
    which is well conditioned at all latitudes, poles included (no division by cos lat).
    Undefined only within ~40 km of the Earth's centre. Returns arrays shaped r[..., 0];
    lon in (-pi, pi].
    """
    r = jnp.asarray(r_ecef_km)
    if not jnp.issubdtype(r.dtype, jnp.floating):
        r = r.astype(jnp.result_type(float))
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    a, b, e2, ep2 = WGS84_A_KM, WGS84_B_KM, WGS84_E2, WGS84_EP2
    p = jnp.hypot(x, y)
    lon = jnp.arctan2(y, x)
    beta = jnp.arctan2(a * z, b * p)            # parametric latitude, first guess
    lat = beta
    for _ in range(n_iter):
        sb, cb = jnp.sin(beta), jnp.cos(beta)
        lat = jnp.arctan2(z + ep2 * b * sb * sb * sb, p - e2 * a * cb * cb * cb)
        beta = jnp.arctan2((1.0 - WGS84_F) * jnp.sin(lat), jnp.cos(lat))
    sl, cl = jnp.sin(lat), jnp.cos(lat)
    alt = p * cl + z * sl - a * jnp.sqrt(1.0 - e2 * sl * sl)
    return lat, lon, alt


def geodetic_to_ecef(lat_rad, lon_rad, alt_km):
    """ECEF position [..., 3] in km of WGS84 geodetic coordinates (broadcast together).

    Standard ellipsoid formula (Vallado 4th ed. Sec. 3.2, site position with C_earth =
    N, S_earth = N (1 - e^2)): N = a / sqrt(1 - e^2 sin^2 lat),
    r = ((N + h) cos lat cos lon, (N + h) cos lat sin lon, (N (1 - e^2) + h) sin lat).
    Accepts numpy or jax input; the result is a jax array in the inputs' float dtype.
    """
    lat, lon, h = jnp.broadcast_arrays(*(jnp.asarray(v) for v in (lat_rad, lon_rad, alt_km)))
    dtype = jnp.result_type(lat, lon, h)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    lat, lon, h = lat.astype(dtype), lon.astype(dtype), h.astype(dtype)
    sl, cl = jnp.sin(lat), jnp.cos(lat)
    n = WGS84_A_KM / jnp.sqrt(1.0 - WGS84_E2 * sl * sl)
    rho = (n + h) * cl
    return jnp.stack([rho * jnp.cos(lon), rho * jnp.sin(lon), (n * (1.0 - WGS84_E2) + h) * sl], axis=-1)
