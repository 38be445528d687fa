from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sgp4.api import jday as sgp4_jday
from sgp4.propagation import gstime

import placement  # noqa: F401  (float64 switch)
from placement.propagation.frames import (
    EARTH_ROTATION_RAD_S, WGS84_A_KM, WGS84_B_KM, earth_rotation, ecef_to_geodetic,
    geodetic_to_ecef, gmst_rad, teme_to_ecef, teme_to_ecef_velocity,
)

TWO_PI = 2.0 * np.pi
_PI = Fraction("3.14159265358979323846264338327950288419716939937510")


def _wrap(d):
    """Angle difference wrapped to [-pi, pi)."""
    return (np.asarray(d) + np.pi) % TWO_PI - np.pi


def _gmst_exact(jd, fr):
    """IAU-1982 GMST (Vallado's gstime polynomial) in exact rational arithmetic."""
    t = (Fraction(jd) + Fraction(fr) - 2451545) / 36525
    sec = (Fraction("67310.54841") + (876600 * 3600 + Fraction("8640184.812866")) * t
           + Fraction("0.093104") * t ** 2 - Fraction("6.2e-6") * t ** 3)
    return float((sec % 86400) * 2 * _PI / 86400)


@settings(max_examples=200, deadline=None)
@given(day=st.integers(0, 73049), fr=st.floats(0.0, 1.0, exclude_max=True))
def test_gmst_matches_exact_formula_1e_12(day, fr):
    jd = 2415020.5 + day           # 1900-01-01 .. 2100
    got = gmst_rad(jd, fr)
    assert 0.0 <= got < TWO_PI
    assert abs(_wrap(got - _gmst_exact(jd, fr))) < 1e-12


def test_gmst_matches_sgp4_gstime_on_many_dates():
    rng = np.random.default_rng(1)
    jd = 2415020.5 + rng.integers(0, 73049, 500).astype(float)
    fr = rng.random(500)
    ours_two_part = gmst_rad(jd, fr)
    ours_summed = gmst_rad(jd + fr, 0.0)
    ref = np.array([gstime(j + f) for j, f in zip(jd, fr)])
    # Same single float64 input: the only difference is gstime's own rounding of a ~1e4 rad
    # intermediate (~1e-11 rad); measured max 6.6e-11 over 1900-2100.
    assert np.max(np.abs(_wrap(ours_summed - ref))) < 2e-10
    # Two-part input is more precise than jd + fr (~4.7e-10 day = 3e-9 rad rounding).
    assert np.max(np.abs(_wrap(ours_two_part - ref))) < 6e-9
    # vectorised == scalar
    assert gmst_rad(jd[3], fr[3]) == ours_two_part[3]


def test_gmst_vallado_example_3_5():
    jd, fr = sgp4_jday(1992, 8, 20, 12, 14, 0.0)   # UT1
    assert np.degrees(gmst_rad(jd, fr)) == pytest.approx(152.578787810, abs=1e-6)


def test_earth_rotation_is_cos_sin_of_gmst():
    jd = np.full(5, 2461094.5)
    fr = np.linspace(0, 0.9, 5)
    c, s = earth_rotation(jd, fr)
    assert c.shape == s.shape == (5,) and c.dtype == np.float64
    np.testing.assert_allclose(np.arctan2(s, c) % TWO_PI, gmst_rad(jd, fr), atol=1e-14)
    # sidereal day: GMST advances ~360.9856 deg per solar day
    step = np.degrees(gmst_rad(2461095.5, 0.0) - gmst_rad(2461094.5, 0.0)) % 360
    assert step == pytest.approx(0.98564736, abs=1e-6)


def test_teme_to_ecef_hand_case_and_invariants():
    theta = np.radians(np.array([0.0, 30.0, 90.0]))
    c, s = np.cos(theta), np.sin(theta)
    r = np.broadcast_to(np.array([7000.0, 0.0, 100.0]), (2, 3, 3))   # [sat, time, 3]
    out = np.asarray(teme_to_ecef(r, c, s))
    assert out.shape == (2, 3, 3)
    # rotating the frame east by GMST moves a fixed inertial point west in longitude
    np.testing.assert_allclose(out[0, 0], [7000.0, 0.0, 100.0], atol=1e-9)
    np.testing.assert_allclose(out[0, 1], [7000.0 * np.cos(np.pi / 6), -3500.0, 100.0], atol=1e-9)
    np.testing.assert_allclose(out[1, 2], [0.0, -7000.0, 100.0], atol=1e-9)

    rng = np.random.default_rng(2)
    r = rng.normal(size=(4, 50, 3)) * 7000.0
    th = rng.uniform(0, TWO_PI, 50)
    out = np.asarray(teme_to_ecef(r, np.cos(th), np.sin(th)))
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(r, axis=-1), rtol=1e-14)
    np.testing.assert_array_equal(out[..., 2], r[..., 2])
    # longitude decreases by exactly theta
    dlon = _wrap(np.arctan2(out[..., 1], out[..., 0]) - np.arctan2(r[..., 1], r[..., 0]))
    np.testing.assert_allclose(dlon, _wrap(-th)[None, :] * np.ones((4, 1)), atol=1e-12)


def test_velocity_of_earth_fixed_point_is_zero():
    rng = np.random.default_rng(3)
    r = rng.normal(size=(3, 20, 3)) * 6800.0
    th = rng.uniform(0, TWO_PI, 20)
    w = np.array([0.0, 0.0, EARTH_ROTATION_RAD_S])
    v_teme = np.cross(w, r)                        # co-rotating with the Earth
    v = np.asarray(teme_to_ecef_velocity(r, v_teme, np.cos(th), np.sin(th)))
    assert v.shape == r.shape
    np.testing.assert_allclose(v, 0.0, atol=1e-15)
    # an inertially fixed point moves westward at omega * rho in ECEF
    v = np.asarray(teme_to_ecef_velocity(r, np.zeros_like(r), np.cos(th), np.sin(th)))
    rho = np.hypot(r[..., 0], r[..., 1])
    np.testing.assert_allclose(np.linalg.norm(v, axis=-1), EARTH_ROTATION_RAD_S * rho, rtol=1e-12)
    np.testing.assert_array_equal(v[..., 2], 0.0)


@settings(max_examples=200, deadline=None)
@given(
    lat=st.one_of(st.floats(-np.pi / 2, np.pi / 2),
                  st.floats(np.pi / 2 - 1e-6, np.pi / 2), st.floats(-np.pi / 2, -np.pi / 2 + 1e-6)),
    lon=st.floats(-np.pi + 1e-12, np.pi),
    alt=st.floats(-1.0, 40000.0),
)
def test_geodetic_round_trip_sub_millimetre(lat, lon, alt):
    r = geodetic_to_ecef(lat, lon, alt)
    lat2, lon2, alt2 = ecef_to_geodetic(r)
    # position error of the round trip (well defined at the poles where lon is not)
    r2 = geodetic_to_ecef(lat2, lon2, alt2)
    assert float(jnp.linalg.norm(r2 - r)) < 1e-6       # km: 1 mm
    assert abs(float(alt2) - alt) < 1e-6
    assert abs(float(lat2) - lat) < 1e-12


def test_geodetic_known_points():
    np.testing.assert_allclose(np.asarray(geodetic_to_ecef(0.0, 0.0, 0.0)), [6378.137, 0, 0], atol=1e-12)
    np.testing.assert_allclose(np.asarray(geodetic_to_ecef(np.pi / 2, 1.0, 0.0)), [0, 0, WGS84_B_KM], atol=1e-9)
    assert WGS84_B_KM == pytest.approx(6356.752314245, abs=1e-9)   # WGS84 semi-minor axis
    lat, lon, alt = ecef_to_geodetic(jnp.array([[WGS84_A_KM + 550.0, 0.0, 0.0],
                                                [0.0, 0.0, -WGS84_B_KM - 10.0],
                                                [0.0, 7000.0, 0.0]]))
    np.testing.assert_allclose(np.asarray(lat), [0.0, -np.pi / 2, 0.0], atol=1e-15)
    np.testing.assert_allclose(np.asarray(alt), [550.0, 10.0, 7000.0 - WGS84_A_KM], atol=1e-12)
    np.testing.assert_allclose(np.asarray(lon)[[0, 2]], [0.0, np.pi / 2], atol=1e-15)
    assert not np.any(np.isnan(np.asarray(lat)))
    # 45 deg geodetic latitude on the surface: z / rho = (1 - e^2) tan(lat)
    r = np.asarray(geodetic_to_ecef(np.pi / 4, 0.0, 0.0))
    assert r[2] / r[0] == pytest.approx((WGS84_B_KM / WGS84_A_KM) ** 2, rel=1e-14)


def test_frames_float32_and_jit():
    rng = np.random.default_rng(4)
    lat = rng.uniform(-np.pi / 2, np.pi / 2, 1000)
    lon = rng.uniform(-np.pi, np.pi, 1000)
    alt = rng.uniform(0.0, 2000.0, 1000)
    r64 = np.asarray(geodetic_to_ecef(lat, lon, alt))
    r32 = jnp.asarray(r64, dtype=jnp.float32)
    lat32, lon32, alt32 = jax.jit(ecef_to_geodetic)(r32)
    assert lat32.dtype == alt32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(lat32), lat, atol=1e-6)
    np.testing.assert_allclose(np.asarray(alt32), alt, atol=2e-3)   # km: float32 ~ 1 m
    back = jax.jit(geodetic_to_ecef)(lat32, lon32, alt32)
    assert back.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(back), r64, atol=5e-3)

    th = rng.uniform(0, TWO_PI, 7)
    r = jnp.asarray(rng.normal(size=(5, 7, 3)) * 7000.0, dtype=jnp.float32)
    v = jnp.asarray(rng.normal(size=(5, 7, 3)) * 7.0, dtype=jnp.float32)
    c, s = earth_rotation(2461094.5, th / TWO_PI)   # host float64, cast inside
    out = jax.jit(teme_to_ecef)(r, c, s)
    vout = jax.jit(teme_to_ecef_velocity)(r, v, c, s)
    assert out.dtype == vout.dtype == jnp.float32
    ref = np.asarray(teme_to_ecef(np.asarray(r, np.float64), c, s))
    vref = np.asarray(teme_to_ecef_velocity(np.asarray(r, np.float64), np.asarray(v, np.float64), c, s))
    np.testing.assert_allclose(np.asarray(out), ref, rtol=0, atol=5e-3)
    np.testing.assert_allclose(np.asarray(vout), vref, rtol=0, atol=5e-6)
