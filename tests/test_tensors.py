"""Network tensors end to end on Starlink Gen1: the access rule against independent elevations, physical
bounds, the fold of steps into epochs, chunking, precision."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.errors import InputError
from placement.network.isl import grid_shells
from placement.network.links import KU_USER_UPLINK
from placement.network.routes import C_KM_PER_MS
from placement.network.tensors import Ground, NetworkSpec, build_network, network_steps
from placement.propagation.frames import earth_rotation, geodetic_to_ecef, teme_to_ecef
from placement.propagation.orbits import propagate_orbits
from placement.propagation.sgp4 import Propagator
from placement.propagation.timegrid import TimeGrid

GRID = TimeGrid(2461094.5, 0.25, 60.0, 6)
SPEC = NetworkSpec()


def ground_segment(rng):
    lat = lambda n: rng.uniform(-50, 50, n)  # noqa: E731
    lon = lambda n: rng.uniform(-180, 180, n)  # noqa: E731
    site_lat, site_lon = lat(20), lon(20)
    gw_lat, gw_lon = lat(15), lon(15)
    ecef = lambda la, lo: np.asarray(geodetic_to_ecef(np.radians(la), np.radians(lo), np.zeros_like(la)))  # noqa: E731
    ground = Ground(
        sites_ecef_km=jnp.asarray(ecef(site_lat, site_lon)), gateways_ecef_km=jnp.asarray(ecef(gw_lat, gw_lon)),
        gateway_pop=jnp.asarray(rng.integers(0, 3, 15)), gateway_pop_ms=jnp.asarray(rng.uniform(0.1, 3.0, 15)),
        pop_cloud_ms=jnp.asarray(rng.uniform(1.0, 40.0, (3, 4))),
    )
    return ground, np.radians(site_lat), np.radians(site_lon)


@pytest.fixture(scope="module")
def gen1():
    elements = constellation(STARLINK_GEN1, 2461094.5, 0.0)
    return elements, grid_shells(STARLINK_GEN1)


@pytest.fixture(scope="module")
def network(gen1):
    elements, grids = gen1
    ground, site_lat, site_lon = ground_segment(np.random.default_rng(11))
    orbits = propagate_orbits(elements, GRID, np.float64)
    (_, steps), = network_steps(orbits.r_ecef_km, grids, ground, SPEC, chunk_steps=6, step_s=60.0)
    # The positions the test checks against: SGP4 and the frame rotation called directly
    cos_gmst, sin_gmst = earth_rotation(*GRID.jd_fr())
    r_ecef = np.asarray(teme_to_ecef(Propagator.create(elements, jnp.float64).grid(GRID).r_km, cos_gmst, sin_gmst))
    np.testing.assert_allclose(orbits.r_ecef_km, r_ecef, rtol=0, atol=1e-9)
    return steps, ground, site_lat, site_lon, r_ecef, orbits


def test_shapes_are_time_major(network):
    steps, *_ = network
    assert steps.access.sat.shape == (6, 20, 1)
    assert steps.gateway_ms.shape == (6, 20, 15) and steps.cloud_ms.shape == (6, 20, 4)
    radius = SPEC.relay_hops
    assert steps.host_sat.shape == (6, 20, 2 * radius**2 + 2 * radius + 1)  # the +Grid within relay_hops


def test_access_is_the_highest_satellite_above_the_mask(network):
    steps, ground, site_lat, site_lon, r_ecef, _ = network
    sites = np.asarray(ground.sites_ecef_km)
    # independent local vertical: the ellipsoid normal from the geodetic latitude and longitude
    up = np.stack([np.cos(site_lat) * np.cos(site_lon), np.cos(site_lat) * np.sin(site_lon), np.sin(site_lat)], -1)
    for t in range(GRID.n_steps):
        los = r_ecef[None, :, t] - sites[:, None]
        range_km = np.linalg.norm(los, axis=-1)
        elevation = np.degrees(np.arcsin(np.einsum("dsx,dx->ds", los, up) / range_km))
        visible = np.where(elevation >= 25.0, elevation, -np.inf)
        expected = np.where(np.isfinite(visible.max(axis=1)), visible.argmax(axis=1), -1)
        np.testing.assert_array_equal(steps.access.sat[t, :, 0], expected)
        d = np.flatnonzero(expected >= 0)
        np.testing.assert_allclose(steps.access.latency_ms[t, d, 0],
                                   range_km[d, expected[d]] / C_KM_PER_MS + SPEC.radio_hop_ms, rtol=1e-12)
        np.testing.assert_allclose(steps.access.up_gbps[t, d, 0], KU_USER_UPLINK.capacity_gbps(range_km[d, expected[d]]),
                                   rtol=1e-9)


def test_latencies_respect_physics(network):
    steps, ground, *_ = network
    chord_ms = np.linalg.norm(np.asarray(ground.sites_ecef_km)[:, None] - np.asarray(ground.gateways_ecef_km)[None],
                              axis=-1) / C_KM_PER_MS
    gateway_ms = steps.gateway_ms
    reachable = np.isfinite(gateway_ms)
    assert reachable.mean() > 0.5
    # never faster than the straight line at light speed plus the two radio hops' fixed delays
    assert np.all(gateway_ms[reachable] >= np.broadcast_to(chord_ms + 2 * SPEC.radio_hop_ms, gateway_ms.shape)[reachable])
    # a cloud region is never closer than the gateway its path leaves the satellites through
    best_gateway = np.where(reachable, gateway_ms, np.inf).min(axis=-1)
    assert np.all(steps.cloud_ms.min(axis=-1) >= best_gateway)
    up, down = steps.gateway_up_gbps, steps.gateway_down_gbps
    assert np.all(up[reachable] > 0) and np.all(up[~reachable] == 0) and np.all(down[~reachable] == 0)
    # requests are bounded by the terminal's uplink (widest at zenith, and no shell flies below 540 km)
    assert np.all(up <= float(KU_USER_UPLINK.capacity_gbps(540.0)))
    # a satellite host is never closer than its own access satellite, which is the host at no laser hops
    assert np.all(steps.host_ms[steps.host_hops >= 0] >= np.broadcast_to(steps.access.latency_ms,
                                                                         steps.host_ms.shape)[steps.host_hops >= 0])
    zero = steps.host_hops == 0
    assert np.array_equal(steps.host_sat[zero], np.broadcast_to(steps.access.sat, steps.host_sat.shape)[zero])


def test_epochs_fold_their_steps(gen1, network):
    elements, grids = gen1
    steps, ground, *_, orbits = network
    net = build_network(orbits.r_ecef_km, grids, ground, SPEC, steps_per_epoch=3, step_s=60.0)
    assert net.n_epochs == 2 and net.gateways.latency_ms.shape == (2, 20, 15)
    for e in range(2):
        ms = steps.gateway_ms[3 * e: 3 * e + 3]
        count = np.isfinite(ms).sum(axis=0)
        np.testing.assert_allclose(net.gateways.share[e], count / 3)
        mean = np.where(count > 0, np.where(np.isfinite(ms), ms, 0.0).sum(axis=0) / np.maximum(count, 1), np.inf)
        np.testing.assert_allclose(net.gateways.latency_ms[e], mean, rtol=1e-12)
        np.testing.assert_allclose(net.gateways.p95_ms[e][count == 3], ms.max(axis=0)[count == 3], rtol=1e-12)
        # a site's terminals carry, per direction, the least of the epoch's steps
        np.testing.assert_allclose(net.site_up_gbps[e], steps.access.up_gbps[3 * e: 3 * e + 3, :, 0].min(axis=0))
    # every satellite candidate was within laser_hops of some step's access satellite, lowest mean first
    sats = net.satellites
    ranked = np.where(sats.host >= 0, sats.latency_ms, np.inf)  # fewer hosts than slots: padding last
    assert (ranked[..., 1:] >= ranked[..., :-1]).all() and (sats.host[..., -1] == -1).any()
    assert ((sats.share > 0) == (sats.host >= 0)).all() and sats.share.max() <= 1.0


def test_chunking_does_not_change_results(gen1, network):
    elements, grids = gen1
    steps, ground, *_, orbits = network
    chunks = list(network_steps(orbits.r_ecef_km, grids, ground, SPEC, chunk_steps=4, step_s=60.0))
    assert [len(c) for c, _ in chunks] == [4, 2]  # the short last chunk is padded to one shape, then cut
    joined = np.concatenate([s.gateway_ms for _, s in chunks])
    np.testing.assert_allclose(joined, steps.gateway_ms, rtol=1e-12)
    np.testing.assert_array_equal(np.concatenate([s.access.sat for _, s in chunks]), steps.access.sat)


def test_float32_close_to_float64(gen1, network):
    elements, grids = gen1
    steps, ground, *_ = network
    (_, fast), = network_steps(propagate_orbits(elements, GRID, np.float32).r_ecef_km, grids, ground, SPEC,
                               chunk_steps=6, step_s=60.0)
    both = np.isfinite(steps.gateway_ms) & np.isfinite(fast.gateway_ms)
    assert both.mean() > 0.5
    # ~30 m of float32 SGP4 error is 1e-4 ms of light time; a few such links per path
    np.testing.assert_allclose(fast.gateway_ms[both], steps.gateway_ms[both], atol=2e-3)


def test_grid_must_match_the_constellation(gen1):
    elements, _ = gen1
    ground, *_ = ground_segment(np.random.default_rng(0))
    r_ecef_km = propagate_orbits(elements.take(range(100)), GRID).r_ecef_km
    with pytest.raises(InputError, match="grids"):
        next(network_steps(r_ecef_km, grid_shells(STARLINK_GEN1), ground))
    with pytest.raises(InputError, match="site_slots"):
        NetworkSpec(site_slots=0)
    with pytest.raises(InputError, match="reach_hops"):
        NetworkSpec(laser_hops=2, reach_hops=1)
    # A neighbour table (a catalog's inferred grid) must be [sat, 4] of satellite indices
    for bad in (np.zeros((99, 4), np.int32), np.zeros((100, 3), np.int32), np.full((100, 4), 100),
                np.zeros((100, 4))):
        with pytest.raises(InputError, match=r"neighbour slots \[100, 4\]"):
            next(network_steps(r_ecef_km, bad, ground))
