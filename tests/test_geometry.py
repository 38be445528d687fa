"""Look angles, line of sight and K-best visibility against hand geometry and brute force numpy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import placement  # noqa: F401  (float64 switch)
from placement.errors import InputError
from placement.network.geometry import (
    DEFAULT_GRAZING_ALTITUDE_KM, enu_basis, ground_up_vectors, line_of_sight, look_angles,
    max_isl_range_km, max_range_km, visible_k_best,
)
from placement.propagation.frames import WGS84_A_KM, geodetic_to_ecef

DEG = np.pi / 180.0
SITES = [(0.0, 0.0), (45.0, 10.0), (-33.9, 151.2), (78.2, 15.6), (89.9, -120.0), (-60.0, -170.0)]


def _wrap(d):
    return (np.asarray(d) + np.pi) % (2 * np.pi) - np.pi


def _np_enu(lat, lon):
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    return (np.array([-so, co, 0.0]), np.array([-sl * co, -sl * so, cl]), np.array([cl * co, cl * so, sl]))


# ---------------------------------------------------------------- look_angles

@pytest.mark.parametrize("lat_deg,lon_deg", SITES)
def test_zenith_satellite(lat_deg, lon_deg):
    lat, lon = lat_deg * DEG, lon_deg * DEG
    ground = geodetic_to_ecef(lat, lon, 0.0)[None, :]
    sat = geodetic_to_ecef(lat, lon, 550.0)[None, None, :]
    el, az, rng = look_angles(ground, sat)
    assert el.shape == az.shape == rng.shape == (1, 1, 1)
    assert abs(float(el[0, 0, 0]) - np.pi / 2) < 1e-9
    assert abs(float(rng[0, 0, 0]) - 550.0) < 1e-9


@pytest.mark.parametrize("lat_deg,lon_deg", SITES)
def test_horizon_and_azimuth(lat_deg, lon_deg):
    lat, lon = lat_deg * DEG, lon_deg * DEG
    ground = np.asarray(geodetic_to_ecef(lat, lon, 0.2))
    east, north, up = _np_enu(lat, lon)
    np.testing.assert_allclose(np.asarray(ground_up_vectors(lat, lon)), up, atol=1e-15)
    targets = np.stack([
        ground + 1000.0 * north,                       # on the horizon plane, due north
        ground + 700.0 * (0.6 * east + 0.8 * north),   # on the horizon plane, az = atan2(.6, .8)
        ground + 400.0 * north + 300.0 * up,           # due north, elevated
        ground + 400.0 * east + 300.0 * up,            # due east
        ground - 400.0 * north + 300.0 * up,           # due south
        ground - 400.0 * east + 300.0 * up,            # due west
    ])
    el, az, rng = (np.asarray(x)[0, 0] for x in look_angles(ground[None], targets[None]))
    # geodetic, not geocentric, vertical: at 45 deg latitude the two differ by 0.19 deg
    assert np.all(np.abs(el[:2]) < 1e-12)
    np.testing.assert_allclose(el[2:], np.arctan2(300.0, 400.0), atol=1e-12)
    expected_az = np.array([0.0, np.arctan2(0.6, 0.8), 0.0, np.pi / 2, np.pi, 1.5 * np.pi])
    assert np.all(np.abs(_wrap(az - expected_az)) < 1e-12)
    assert np.all((az >= 0) & (az < 2 * np.pi))
    np.testing.assert_allclose(rng, [1000.0, 700.0, 500.0, 500.0, 500.0, 500.0], rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_look_angles_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_t, n_g, n_s = 2, 3, 5
    lat = rng.uniform(-np.pi / 2, np.pi / 2, n_g)
    lon = rng.uniform(-np.pi, np.pi, n_g)
    alt = rng.uniform(-0.4, 5.0, n_g)
    ground = np.asarray(geodetic_to_ecef(lat, lon, alt))
    direction = rng.normal(size=(n_t, n_s, 3))
    sat = direction / np.linalg.norm(direction, axis=-1, keepdims=True) * rng.uniform(6700, 8000, (n_t, n_s, 1))
    el, az, rg = (np.asarray(x) for x in jax.jit(look_angles)(ground, sat))
    for t in range(n_t):
        for g in range(n_g):
            e, n, u = _np_enu(lat[g], lon[g])
            for s in range(n_s):
                d = sat[t, s] - ground[g]
                dist = np.linalg.norm(d)
                assert abs(rg[t, g, s] - dist) < 1e-9 * dist
                assert abs(el[t, g, s] - np.arcsin(d @ u / dist)) < 1e-10
                assert abs(_wrap(az[t, g, s] - np.arctan2(d @ e, d @ n))) < 1e-10


def test_look_angles_float32():
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-1.4, 1.4, 4), rng.uniform(-3, 3, 4)
    ground = np.asarray(geodetic_to_ecef(lat, lon, 0.0))
    # satellites 550 km above points near each ground site
    sat = np.asarray(geodetic_to_ecef(lat[None, :] + rng.normal(0, 0.05, (3, 4)),
                                      lon[None, :] + rng.normal(0, 0.05, (3, 4)), 550.0))
    ref = look_angles(ground, sat)
    out = jax.jit(look_angles)(ground.astype(np.float32), sat.astype(np.float32))
    for x in out:
        assert x.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out[0]), np.asarray(ref[0]), atol=2e-5)       # rad
    np.testing.assert_allclose(np.asarray(out[2]), np.asarray(ref[2]), atol=5e-3)       # km
    assert np.all(np.abs(_wrap(np.asarray(out[1], np.float64) - np.asarray(ref[1]))) < 1e-3)


def test_enu_is_orthonormal():
    e, n, u = (np.asarray(v) for v in enu_basis(np.array([0.3, -1.2]), np.array([2.0, -0.5])))
    m = np.stack([e, n, u], axis=1)  # [2, 3, 3]
    np.testing.assert_allclose(m @ np.swapaxes(m, 1, 2), np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-15)
    np.testing.assert_allclose(np.linalg.det(m), 1.0)  # right-handed: east x north = up


# ---------------------------------------------------------------- line_of_sight

R550 = WGS84_A_KM + 550.0


def _on_circle(angle_rad):
    return np.stack([R550 * np.cos(angle_rad), R550 * np.sin(angle_rad), 0.0 * angle_rad], axis=-1)


def test_line_of_sight_cases():
    a = _on_circle(np.array(0.0))
    assert not bool(line_of_sight(a, -a))                         # opposite sides of the Earth
    chord_angle = 2 * np.arcsin(500.0 / R550)                     # 1,000 km apart
    assert bool(line_of_sight(a, _on_circle(np.array(chord_angle))))
    assert abs(np.linalg.norm(_on_circle(np.array(chord_angle)) - a) - 1000.0) < 1e-9
    # exactly at the closed-form maximum laser range the chord grazes the 80 km sphere
    lmax = float(max_isl_range_km(550.0))
    for length, clear in [(lmax - 1.0, True), (lmax + 1.0, False)]:
        b = _on_circle(np.array(2 * np.arcsin(length / 2 / R550)))
        assert bool(line_of_sight(a, b)) is clear
        assert bool(line_of_sight(a, b, min_altitude_km=0.0))    # both clear the bare surface
    assert not bool(line_of_sight(a, a, min_altitude_km=600.0))  # degenerate segment: its altitude
    assert bool(line_of_sight(a, a))
    assert not bool(line_of_sight(a, np.array([np.nan, 0.0, 0.0])))
    # broadcasting as routes.laser_links uses it: [sat, 1, 3] against [sat, 4, 3]
    pts = _on_circle(np.linspace(0, 2 * np.pi, 16, endpoint=False))   # 22.5 deg apart
    neighbours = np.stack([np.roll(pts, shift, axis=0) for shift in (1, -1, 2, 8)], axis=1)
    out = np.asarray(line_of_sight(pts[:, None, :], neighbours))
    assert out.shape == (16, 4)
    assert out.tolist() == [[True, True, False, False]] * 16      # 22.5 deg clear; 45 and 180 deg not
    assert DEFAULT_GRAZING_ALTITUDE_KM == 80.0


unit = st.tuples(*[st.floats(-1, 1)] * 3).filter(lambda v: 0.1 < np.linalg.norm(v))


@settings(max_examples=200, deadline=None)
@given(ua=unit, ub=unit, ra=st.floats(6300, 9000), rb=st.floats(6300, 9000), margin=st.floats(0, 300))
def test_line_of_sight_dense_sampling(ua, ub, ra, rb, margin):
    a = np.asarray(ua) / np.linalg.norm(ua) * ra
    b = np.asarray(ub) / np.linalg.norm(ub) * rb
    t = np.linspace(0.0, 1.0, 20001)[:, None]
    closest = np.min(np.linalg.norm(a + t * (b - a), axis=-1))
    threshold = WGS84_A_KM + margin
    assume(abs(closest - threshold) > 0.5)   # sampling resolves the minimum to far better than this
    assert bool(line_of_sight(a, b, min_altitude_km=margin)) == (closest > threshold)


def test_line_of_sight_float32_jit():
    a = _on_circle(np.array([0.0, 0.0])).astype(np.float32)
    b = _on_circle(np.array([0.1, np.pi])).astype(np.float32)
    out = jax.jit(line_of_sight)(a, b)
    assert out.tolist() == [True, False]


# ---------------------------------------------------------------- visible_k_best

def _np_k_best(el, rg, mask, k):
    n_t, n_g, _ = el.shape
    idx = np.full((n_t, n_g, k), -1)
    for t in range(n_t):
        for g in range(n_g):
            ok = np.flatnonzero((el[t, g] >= mask[g]) & np.isfinite(el[t, g]) & np.isfinite(rg[t, g]))
            order = ok[np.argsort(-el[t, g, ok], kind="stable")][:k]
            idx[t, g, :len(order)] = order
    return idx


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 9))
def test_visible_k_best_matches_argsort(seed, k):
    rng = np.random.default_rng(seed)
    shape = (3, 4, 9)
    el = rng.uniform(-np.pi / 2, np.pi / 2, shape)
    rg = rng.uniform(500, 3000, shape)
    el[rng.random(shape) < 0.1] = np.nan          # SGP4 error rows
    mask = rng.uniform(-0.5, 1.0, shape[1])
    idx, best_el, best_rg = jax.jit(visible_k_best, static_argnames="k")(el, rg, mask, k=k)
    expected = _np_k_best(el, rg, mask, k)
    np.testing.assert_array_equal(np.asarray(idx), expected)
    assert idx.dtype == jnp.int32
    valid = expected >= 0
    safe = np.where(valid, expected, 0)
    np.testing.assert_array_equal(np.asarray(best_el)[valid], np.take_along_axis(el, safe, -1)[valid])
    np.testing.assert_array_equal(np.asarray(best_rg)[valid], np.take_along_axis(rg, safe, -1)[valid])
    assert np.all(np.asarray(best_el)[~valid] == -np.inf) and np.all(np.asarray(best_rg)[~valid] == np.inf)
    assert np.all(np.asarray(best_el)[valid] >= np.broadcast_to(mask[None, :, None], valid.shape)[valid])


def test_visible_k_best_padding_and_mask():
    el = np.deg2rad(np.array([[[10.0, 25.0, 80.0, 24.999, 40.0], [5.0, 5.0, 5.0, 5.0, 5.0]]]))
    rg = np.full(el.shape, 800.0)
    idx, best_el, best_rg = visible_k_best(el, rg, np.deg2rad([25.0, 0.0]), 4)
    # node 0: 80, 40 and exactly-at-mask 25 deg; 24.999 deg is below the mask
    assert np.asarray(idx).tolist() == [[[2, 4, 1, -1], [0, 1, 2, 3]]]
    assert float(best_el[0, 0, 3]) == -np.inf and float(best_rg[0, 0, 3]) == np.inf
    # a scalar mask broadcasts to every node
    idx, _, _ = visible_k_best(el, rg, np.deg2rad(30.0), 2)
    assert np.asarray(idx).tolist() == [[[2, 4], [-1, -1]]]


def test_visible_k_best_bad_k():
    el = np.zeros((1, 2, 3))
    for k in (0, 4, 2.0):
        with pytest.raises(InputError) as info:
            visible_k_best(el, el, 0.0, k)
        assert info.value.field == "k"


@pytest.mark.parametrize("mask_deg", [0.0, 10.0, 25.0, 40.0, 70.0])
@pytest.mark.parametrize("altitude_km", [340.0, 550.0, 1200.0])
def test_max_range_matches_look_angles(mask_deg, altitude_km):
    # ground on the equator, where the ellipsoid normal is radial and the local radius is a;
    # the satellite sits at the Earth-central angle that puts it exactly at the mask (law of sines)
    e = mask_deg * DEG
    radius = WGS84_A_KM + altitude_km
    central = np.pi / 2 - e - np.arcsin(WGS84_A_KM * np.cos(e) / radius)
    sat = np.array([[[radius * np.cos(central), 0.0, radius * np.sin(central)]]])
    ground = np.asarray(geodetic_to_ecef(0.0, 0.0, 0.0))[None]
    el, az, rg = look_angles(ground, sat)
    assert abs(float(el[0, 0, 0]) - e) < 1e-12
    assert abs(float(rg[0, 0, 0]) - float(max_range_km(altitude_km, e))) < 1e-8
    if mask_deg == 25.0 and altitude_km == 550.0:
        assert abs(float(max_range_km(altitude_km, e)) - 1123.4) < 0.1
