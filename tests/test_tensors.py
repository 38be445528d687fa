"""Network tensors end to end on Starlink Gen1: masks, physical bounds, chunking, precision."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.errors import InputError
from placement.network.isl import grid_shells
from placement.network.routes import C_KM_PER_MS
from placement.network.tensors import Ground, NetworkSpec, build_network
from placement.propagation.frames import earth_rotation, geodetic_to_ecef, teme_to_ecef
from placement.propagation.orbits import propagate_orbits
from placement.propagation.sgp4 import Propagator
from placement.propagation.timegrid import TimeGrid

GRID = TimeGrid(2461094.5, 0.25, 60.0, 6)


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
    tensors = build_network(orbits.r_ecef_km, grids, ground, chunk_steps=4)
    # The positions the test checks against: SGP4 and the frame rotation called directly
    cos_gmst, sin_gmst = earth_rotation(*GRID.jd_fr())
    r_ecef = np.asarray(teme_to_ecef(Propagator.create(elements, jnp.float64).grid(GRID).r_km, cos_gmst, sin_gmst))
    np.testing.assert_allclose(orbits.r_ecef_km, r_ecef, rtol=0, atol=1e-9)
    return tensors, ground, site_lat, site_lon, r_ecef, orbits


def test_shapes_are_time_major(network):
    tensors, *_ = network
    assert tensors.site_sat.shape == (6, 20, 4)
    assert tensors.site_gateway_ms.shape == (6, 20, 15)
    assert tensors.site_cloud_ms.shape == (6, 20, 4)


def test_access_respects_the_mask_and_takes_the_highest(network):
    tensors, ground, site_lat, site_lon, r_ecef, _ = network
    sites = np.asarray(ground.sites_ecef_km)
    # independent local vertical: the ellipsoid normal from the geodetic latitude and longitude
    up = np.stack([np.cos(site_lat) * np.cos(site_lon), np.cos(site_lat) * np.sin(site_lon), np.sin(site_lat)], -1)
    for t in range(GRID.n_steps):
        los = r_ecef[None, :, t] - sites[:, None]
        range_km = np.linalg.norm(los, axis=-1)
        elevation = np.degrees(np.arcsin(np.einsum("dsx,dx->ds", los, up) / range_km))
        sat = np.asarray(tensors.site_sat[t])
        for d in range(len(sites)):
            chosen = sat[d][sat[d] >= 0]
            visible = np.flatnonzero(elevation[d] >= 25.0)
            assert np.all(elevation[d, chosen] >= 25.0 - 1e-9)
            assert len(chosen) == min(4, len(visible))
            if len(visible) > len(chosen):  # nothing left out was higher than what was taken
                assert np.sort(elevation[d, visible])[-len(chosen)] <= elevation[d, chosen].min() + 1e-9
            np.testing.assert_allclose(np.asarray(tensors.site_sat_ms[t, d, : len(chosen)]),
                                       range_km[d, chosen] / C_KM_PER_MS, rtol=1e-12)


def test_latencies_respect_physics(network):
    tensors, ground, *_ = network
    chord_ms = np.linalg.norm(np.asarray(ground.sites_ecef_km)[:, None] - np.asarray(ground.gateways_ecef_km)[None],
                              axis=-1) / C_KM_PER_MS
    gateway_ms = np.asarray(tensors.site_gateway_ms)
    reachable = np.isfinite(gateway_ms)
    assert reachable.mean() > 0.5
    assert np.all(gateway_ms[reachable] >= np.broadcast_to(chord_ms, gateway_ms.shape)[reachable])
    # a cloud region is never closer than the gateway its path leaves the satellites through
    best_gateway = np.where(reachable, gateway_ms, np.inf).min(axis=-1)
    assert np.all(np.asarray(tensors.site_cloud_ms).min(axis=-1) >= best_gateway)
    capacity = np.asarray(tensors.site_gateway_gbps)
    assert np.all(capacity[reachable] > 0) and np.all(capacity[~reachable] == 0)
    # the uplink bounds every path; it is widest at zenith, and no shell flies below 540 km
    assert np.all(capacity <= float(NetworkSpec().site_link.capacity_gbps(540.0)))


def test_chunking_does_not_change_results(gen1, network):
    elements, grids = gen1
    tensors, ground, *_, orbits = network
    whole = build_network(orbits.r_ecef_km, grids, ground, chunk_steps=6)
    np.testing.assert_array_equal(whole.site_sat, tensors.site_sat)
    np.testing.assert_allclose(whole.site_gateway_ms, tensors.site_gateway_ms, rtol=1e-12)
    # some steps only (a run's epoch starts): the same tensors as those steps of the whole grid
    picked = build_network(orbits.r_ecef_km, grids, ground, chunk_steps=4, steps=np.array([1, 4, 5]))
    np.testing.assert_array_equal(picked.site_sat, tensors.site_sat[[1, 4, 5]])
    np.testing.assert_allclose(picked.site_cloud_ms, tensors.site_cloud_ms[[1, 4, 5]], rtol=1e-12)


def test_float32_close_to_float64(gen1, network):
    elements, grids = gen1
    tensors, ground, *_ = network
    fast = build_network(propagate_orbits(elements, GRID, np.float32).r_ecef_km, grids, ground, chunk_steps=6)
    both = np.isfinite(tensors.site_gateway_ms) & np.isfinite(fast.site_gateway_ms)
    assert both.mean() > 0.5
    # ~30 m of float32 SGP4 error is 1e-4 ms of light time; a few such links per path
    np.testing.assert_allclose(fast.site_gateway_ms[both], tensors.site_gateway_ms[both], atol=2e-3)


def test_grid_must_match_the_constellation(gen1):
    elements, _ = gen1
    ground, *_ = ground_segment(np.random.default_rng(0))
    with pytest.raises(InputError, match="grids"):
        build_network(propagate_orbits(elements.take(range(100)), GRID).r_ecef_km, grid_shells(STARLINK_GEN1), ground)
    with pytest.raises(InputError, match="site_slots"):
        NetworkSpec(site_slots=0)
    # A neighbour table (a catalog's inferred grid) must be [sat, 4] of satellite indices
    r_ecef_km = propagate_orbits(elements.take(range(100)), GRID).r_ecef_km
    for bad in (np.zeros((99, 4), np.int32), np.zeros((100, 3), np.int32), np.full((100, 4), 100),
                np.zeros((100, 4))):
        with pytest.raises(InputError, match=r"neighbour slots \[100, 4\]"):
            build_network(r_ecef_km, bad, ground)
