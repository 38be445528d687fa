"""Sun position (host, numpy float64) and Earth-shadow fraction (device, jax.numpy).

Sun: the low-precision solar coordinates of the Astronomical Almanac (section C, "Low
precision formulas for the Sun"), as given in Vallado, "Fundamentals of Astrodynamics and
Applications", 4th ed., Algorithm 29 (SUN). Stated accuracy 0.01 deg in direction between
1950 and 2050 (the formula omits nutation, ~0.005 deg, and planetary perturbations).
The vector is in the mean equator and equinox of date; TEME differs from it by nutation
(< ~20 arcsec) and the equation of the equinoxes, i.e. well within an arcminute, which is
negligible next to the formula's own error, so it may be used directly with TEME
satellite positions.

Shadow: conical model with a spherical Earth and a spherical Sun, as in Montenbruck &
Gill, "Satellite Orbits" (Springer 2000), Sec. 3.4.2: the visible fraction of the solar
disc is one minus the overlap of the two apparent discs seen from the satellite.
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp

AU_KM = 149597870.7            # astronomical unit, km (IAU 2012 Resolution B2)
SUN_RADIUS_KM = 696000.0       # solar radius, km (Montenbruck & Gill 2000, Sec. 3.4.2)
EARTH_RADIUS_KM = 6378.137     # spherical Earth = WGS84 equatorial radius (NIMA TR8350.2)

_J2000_JD = 2451545.0


def sun_position_km(jd, fr=0.0) -> np.ndarray:
    """Geocentric Sun position, km, float64 [..., 3] (shape of broadcast(jd, fr) + (3,)).

    Vallado 4th ed. Algorithm 29 (Astronomical Almanac low-precision formulas), with UT1 ~
    UTC ~ TDB (the ~70 s difference moves the Sun by ~0.001 deg):
        T      = (JD - 2451545.0) / 36525
        lam_M  = 280.460 + 36000.771 T                      mean longitude, deg
        M      = 357.5291092 + 35999.05034 T                mean anomaly, deg
        lam    = lam_M + 1.914666471 sin M + 0.019994643 sin 2M     ecliptic longitude
        eps    = 23.439291 - 0.0130042 T                    obliquity of the ecliptic
        r      = 1.000140612 - 0.016708617 cos M - 0.000139589 cos 2M     AU
        r_sun  = r (cos lam, cos eps sin lam, sin eps sin lam)
    Accuracy ~0.01 deg in direction (mean equator of date ~ TEME, see module docstring)
    and ~1e-5 AU in distance for 1950-2050.
    """
    jd = np.asarray(jd, dtype=np.float64)
    fr = np.asarray(fr, dtype=np.float64)
    t = ((jd - _J2000_JD) + fr) / 36525.0
    lam_m = np.radians(np.mod(280.460 + 36000.771 * t, 360.0))
    m = np.radians(np.mod(357.5291092 + 35999.05034 * t, 360.0))
    lam = lam_m + np.radians(1.914666471 * np.sin(m) + 0.019994643 * np.sin(2.0 * m))
    eps = np.radians(23.439291 - 0.0130042 * t)
    r_au = 1.000140612 - 0.016708617 * np.cos(m) - 0.000139589 * np.cos(2.0 * m)
    r_km = r_au * AU_KM
    return np.stack(
        [r_km * np.cos(lam), r_km * np.cos(eps) * np.sin(lam), r_km * np.sin(eps) * np.sin(lam)],
        axis=-1,
    )


def _segment(alpha):
    """alpha - sin(2 alpha)/2: area of a circular segment of half-angle alpha, per r^2.

    Series below 0.1 rad avoids the cancellation (the Earth-limb segment is ~1e-3 rad)."""
    a2 = alpha * alpha
    series = alpha * a2 * (2.0 / 3.0 - a2 * (2.0 / 15.0 - a2 * (4.0 / 315.0 - a2 * (2.0 / 2835.0))))
    direct = alpha - 0.5 * jnp.sin(2.0 * alpha)
    return jnp.where(alpha < 0.1, series, direct)


def shadow_fraction(r_km, sun_km):
    """Fraction of the solar disc visible from r_km: 1 sunlit, 0 umbra, between: penumbra.

    r_km [..., 3] and sun_km [..., 3] broadcast on the leading axes (e.g. r [sat, time, 3]
    with sun [time, 3]); both in the same inertial (or both Earth-fixed) frame. Computes in
    r's float dtype. Apparent radii seen from the satellite: Sun a = asin(R_sun/|s - r|),
    Earth b = asin(R_earth/|r|); separation c = angle between -r and s - r. Then
        c >= a + b: 1;  c <= b - a: 0;  c <= a - b: 1 - b^2/a^2 (annular, beyond ~1.4e6 km);
        otherwise 1 - overlap / (pi a^2), overlap of two planar discs
    (Montenbruck & Gill 2000, Sec. 3.4.2), written with segment areas for float32 safety.
    Points at or inside the sphere (|r| <= 6378.137 km) see the Earth as a half-sky
    (b = pi/2): the rule becomes "Sun above the local horizontal plane".
    NaN in either input gives NaN.
    """
    r = jnp.asarray(r_km)
    if not jnp.issubdtype(r.dtype, jnp.floating):
        r = r.astype(jnp.result_type(float))
    s = jnp.asarray(sun_km, dtype=r.dtype)
    s = s.reshape((1,) * (r.ndim - s.ndim) + s.shape)  # leading axes made explicit (strict rank promotion)
    d = s - r                                            # satellite -> Sun
    rn = jnp.linalg.norm(r, axis=-1)
    dn = jnp.linalg.norm(d, axis=-1)
    tiny = jnp.finfo(r.dtype).tiny
    a = jnp.arcsin(SUN_RADIUS_KM / jnp.maximum(dn, SUN_RADIUS_KM))  # dn >> R_sun in practice
    ratio = EARTH_RADIUS_KM / jnp.maximum(rn, tiny)
    inside = ratio >= 1.0
    # where-guarded so that neither the value nor the gradient is NaN at |r| <= R
    b = jnp.where(inside, jnp.pi / 2, jnp.arcsin(jnp.where(inside, 0.5, ratio)))
    # angle between -r (towards Earth centre) and d, robustly via atan2(|u x v|, u . v);
    # the guarded norm keeps gradients finite for exactly aligned geometry
    neg_r = -r
    cross = jnp.cross(neg_r, jnp.broadcast_to(d, jnp.broadcast_shapes(neg_r.shape, d.shape)))
    cross2 = jnp.sum(cross * cross, axis=-1)
    cross_n = jnp.where(cross2 > 0.0, jnp.sqrt(jnp.where(cross2 > 0.0, cross2, 1.0)), 0.0)
    c = jnp.arctan2(cross_n, jnp.sum(neg_r * d, axis=-1))

    full = c >= a + b
    umbra = c <= b - a
    annulus = c <= a - b
    partial_region = ~(full | umbra | annulus)
    # partial overlap; outside its region c is replaced by a + b (discs just touching) so
    # that every intermediate below stays finite, values and gradients alike
    cp = jnp.where(partial_region, c, a + b)
    x_sun = ((cp - b) * (cp + b) + a * a) / (2.0 * cp)     # Sun centre -> common chord
    x_earth = ((cp - a) * (cp + a) + b * b) / (2.0 * cp)   # Earth centre -> common chord
    y2 = (a - x_sun) * (a + x_sun)
    y = jnp.where(y2 > 0.0, jnp.sqrt(jnp.where(y2 > 0.0, y2, 1.0)), 0.0)   # half chord
    alpha_sun = jnp.arctan2(y, x_sun)
    alpha_earth = jnp.arctan2(y, x_earth)
    a2 = a * a
    hidden = (_segment(alpha_sun) + (b * b / a2) * _segment(alpha_earth)) / jnp.pi
    partial = jnp.clip(1.0 - hidden, 0.0, 1.0)

    annular = jnp.clip(1.0 - b * b / a2, 0.0, 1.0)
    frac = jnp.where(
        full, jnp.ones_like(c),
        jnp.where(umbra, jnp.zeros_like(c), jnp.where(annulus, annular, partial)),
    )
    bad = jnp.isnan(c) | jnp.isnan(rn) | jnp.isnan(dn)
    return jnp.where(bad, jnp.nan, frac)


def sunlit(r_km, sun_km, threshold: float = 0.5):
    """True where more than `threshold` (default half) of the solar disc is visible.

    Same broadcasting as `shadow_fraction`. NaN positions give False."""
    return shadow_fraction(r_km, sun_km) > threshold
