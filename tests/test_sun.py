import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import placement  # noqa: F401  (float64 switch)
from placement.propagation.sun import (
    AU_KM, EARTH_RADIUS_KM, SUN_RADIUS_KM, shadow_fraction, sun_position_km, sunlit,
)
from placement.propagation.timegrid import TimeGrid, parse_utc

MU_KM3_S2 = 398600.4418   # WGS84 GM
_shadow = jax.jit(shadow_fraction)   # most tests go through jit; test_no_eclipse_at_beta_80 runs eagerly


def _ra_dec_deg(v):
    v = np.asarray(v)
    ra = np.degrees(np.arctan2(v[..., 1], v[..., 0])) % 360.0
    dec = np.degrees(np.arcsin(v[..., 2] / np.linalg.norm(v, axis=-1)))
    return ra, dec


def test_sun_equinox_and_solstice_2026():
    _, dec = _ra_dec_deg(sun_position_km(*parse_utc("2026-03-20T14:46:00Z")))
    assert abs(dec) < 0.02
    ra, dec = _ra_dec_deg(sun_position_km(*parse_utc("2026-06-21T08:24:00Z")))
    assert dec == pytest.approx(23.44, abs=0.02)
    assert ra == pytest.approx(90.0, abs=0.02)


def test_sun_distance_perihelion_aphelion_2026():
    # hourly over 2026: perihelion 3 Jan (0.98330 AU), aphelion 6 Jul (1.01664 AU)
    g = TimeGrid.from_utc("2026-01-01T00:00:00Z", 3600.0, 365 * 24)
    jd, fr = g.jd_fr()
    d_au = np.linalg.norm(sun_position_km(jd, fr), axis=-1) / AU_KM
    assert d_au.shape == (365 * 24,)
    assert d_au.min() == pytest.approx(0.9833, abs=2e-4)
    assert d_au.max() == pytest.approx(1.0167, abs=2e-4)
    assert 1 <= np.argmin(d_au) / 24 <= 4          # day of year
    assert 183 <= np.argmax(d_au) / 24 <= 188      # 3..8 July


def test_sun_meeus_example_25a():
    # Meeus, Astronomical Algorithms 2nd ed., Example 25.a: 1992 Oct 13.0 TD,
    # apparent RA 198.38083 deg, dec -7.78507 deg, R = 0.99766 AU (TD ~ UT here: 59 s).
    v = sun_position_km(2448908.5, 0.0)
    assert v.shape == (3,)
    ra, dec = _ra_dec_deg(v)
    assert ra == pytest.approx(198.38083, abs=0.01)
    assert dec == pytest.approx(-7.78507, abs=0.01)
    assert np.linalg.norm(v) / AU_KM == pytest.approx(0.99766, abs=1e-4)


def _orbit(beta_deg, h_km=550.0, n=100_000):
    """Circular orbit whose plane makes angle beta with the Sun direction (+x)."""
    b = np.radians(beta_deg)
    th = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    e1 = np.array([np.cos(b), 0.0, np.sin(b)])
    e2 = np.array([0.0, 1.0, 0.0])
    rr = EARTH_RADIUS_KM + h_km
    period_s = 2 * np.pi * np.sqrt(rr ** 3 / MU_KM3_S2)
    return rr * (np.cos(th)[:, None] * e1 + np.sin(th)[:, None] * e2), period_s


SUN = np.array([AU_KM, 0.0, 0.0])


def test_eclipse_fraction_beta_zero():
    r, period_s = _orbit(0.0)
    f = np.asarray(_shadow(r, SUN))
    assert f.min() == 0.0 and f.max() == 1.0
    eclipsed = np.mean(f < 0.5)
    cylindrical = np.arcsin(EARTH_RADIUS_KM / (EARTH_RADIUS_KM + 550.0)) / np.pi   # 0.3723
    assert eclipsed == pytest.approx(0.37, abs=0.01)
    assert eclipsed == pytest.approx(cylindrical, abs=2e-3)
    np.testing.assert_array_equal(np.asarray(sunlit(r, SUN)), f > 0.5)
    # penumbra exists, is thin, and the fraction is monotone through it
    pen = (f > 0.0) & (f < 1.0)
    dt_s = period_s / len(f)
    assert 0 < pen.sum() * dt_s / 2 < 10.0               # seconds per crossing (~8.5)
    idx = np.flatnonzero(pen)
    entry = idx[idx < len(f) // 2 + 1] if f[0] == 1.0 else idx
    assert np.all(np.diff(f[entry]) <= 0) or np.all(np.diff(f[entry]) >= 0)


def test_no_eclipse_at_beta_80():
    r, _ = _orbit(80.0)
    f = np.asarray(shadow_fraction(r, SUN))
    assert np.all(f == 1.0)
    assert np.all(np.asarray(sunlit(r, SUN)))


def test_aligned_points_and_nan_rows():
    r = np.array([
        [-(EARTH_RADIUS_KM + 500.0), 0.0, 0.0],   # anti-solar: umbra
        [EARTH_RADIUS_KM + 500.0, 0.0, 0.0],      # sub-solar: sunny
        [0.0, EARTH_RADIUS_KM + 500.0, 0.0],      # terminator plane, far side of limb
        [np.nan, np.nan, np.nan],                 # SGP4 error row
        [EARTH_RADIUS_KM, 0.0, 0.0],              # on the surface facing the Sun
        [-EARTH_RADIUS_KM, 0.0, 0.0],             # on the surface, midnight
    ])
    f = np.asarray(_shadow(r, SUN))
    np.testing.assert_array_equal(f[[0, 1, 2, 4, 5]], [0.0, 1.0, 1.0, 1.0, 0.0])
    assert np.isnan(f[3])
    np.testing.assert_array_equal(np.asarray(sunlit(r, SUN)), [False, True, True, False, True, False])
    # gradients are finite away from the NaN row
    g = jax.jit(jax.grad(lambda x: jnp.sum(shadow_fraction(x, SUN))))(jnp.asarray(r[[0, 1, 2]]))
    assert np.all(np.isfinite(np.asarray(g)))


def test_broadcast_sat_time_against_sun_time():
    g = TimeGrid.from_utc("2026-03-01T00:00:00Z", 600.0, 12)
    sun = sun_position_km(*g.jd_fr())                     # [time, 3]
    assert sun.shape == (12, 3)
    rng = np.random.default_rng(5)
    r = rng.normal(size=(4, 12, 3))
    r *= (EARTH_RADIUS_KM + 550.0) / np.linalg.norm(r, axis=-1, keepdims=True)
    f = np.asarray(_shadow(r, sun))
    assert f.shape == (4, 12)
    for s in range(4):
        np.testing.assert_array_equal(f[s], np.asarray(_shadow(r[s], sun)))


def _brute_force_fraction(r, sun, n=400):
    """Fraction of rays from r to a grid of points on the solar disc missing the Earth."""
    d = sun - r
    dist = np.linalg.norm(d)
    u = d / dist
    e1 = np.cross(u, [0.0, 0.0, 1.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    g = (np.arange(n) + 0.5) / n * 2 - 1
    gx, gy = np.meshgrid(g, g)
    inside = gx ** 2 + gy ** 2 <= 1.0
    pts = sun + SUN_RADIUS_KM * (gx[inside][:, None] * e1 + gy[inside][:, None] * e2)
    rays = pts - r
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    t = -rays @ r                                   # closest approach along the ray
    miss = np.linalg.norm(r + np.maximum(t, 0)[:, None] * rays, axis=1) > EARTH_RADIUS_KM
    return miss.mean()


def test_penumbra_matches_brute_force_disc_sampling():
    rr = EARTH_RADIUS_KM + 550.0
    edge = np.pi - np.arcsin(EARTH_RADIUS_KM / rr)     # cylindrical shadow edge, from +x
    values = []
    for offset in np.linspace(-0.006, 0.006, 13):     # penumbra is ~0.0093 rad wide
        phi = edge + offset
        r = rr * np.array([np.cos(phi), np.sin(phi), 0.0])
        ours = float(_shadow(r, SUN))
        values.append(ours)
        assert ours == pytest.approx(_brute_force_fraction(r, SUN), abs=0.01)
        ours32 = float(_shadow(jnp.asarray(r, jnp.float32), SUN))
        assert ours32 == pytest.approx(ours, abs=2e-3)
    assert values[0] == 1.0 and values[-1] == 0.0
    assert sum(0.05 < v < 0.95 for v in values) >= 5   # the sweep really crosses the penumbra


@settings(max_examples=200, deadline=None)
@given(
    r=st.tuples(*[st.floats(-50000.0, 50000.0)] * 3),
    s=st.tuples(*[st.floats(-1.0, 1.0)] * 3),
    scale=st.floats(0.98 * AU_KM, 1.02 * AU_KM),
)
def test_fraction_in_unit_interval_never_nan(r, s, scale):
    s = np.asarray(s)
    norm = np.linalg.norm(s)
    if norm < 1e-6:
        return
    sun = s / norm * scale
    for dtype in (jnp.float64, jnp.float32):
        f = float(_shadow(jnp.asarray(r, dtype), sun))
        assert 0.0 <= f <= 1.0
