"""The +Grid of a TLE catalog, inferred from the satellites' orbits (isl.infer_plus_grid): it is exactly the
Walker grid on Walker shells, whatever their order, and on the real Starlink snapshot it gives symmetric,
physically possible lasers over which routes equal scipy's shortest paths."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from placement.constellation.tle import read_elements
from placement.constellation.walker import KUIPER, STARLINK_GEN1, WalkerShell, constellation
from placement.network.isl import grid_shells, infer_plus_grid, plus_grid
from placement.network.routes import C_KM_PER_MS, laser_links, path_to_gateway, route
from placement.propagation.sgp4 import Propagator
from placement.propagation.timegrid import TimeGrid
from test_routes import LASER, R_EARTH_KM, access, scipy_reference, unit

CATALOG = Path(__file__).resolve().parents[1] / "configs" / "data" / "starlink_2026-02-23.tle"


def state(elements, minutes=0.0):
    """Positions and velocities [sat, 3] (TEME, float64) `minutes` after each satellite's epoch."""
    eph = Propagator.create(elements, jnp.float64).tsince(np.full((len(elements), 1), minutes))
    return np.asarray(eph.r_km)[:, 0], np.asarray(eph.v_km_s)[:, 0]


@pytest.mark.parametrize("shells", [STARLINK_GEN1[:3], KUIPER, STARLINK_GEN1[3:4], STARLINK_GEN1[4:]],
                         ids=["gen1-shells-1-3", "kuiper", "gen1-shell-4", "gen1-shell-5"])
def test_walker_shells_give_their_own_plus_grid(shells):
    # Full and partial RAAN spreads, seams shifted by the phasing F, several shells at once. (Gen1 shells 4
    # and 5 share inclination and altitude, so a catalog cannot tell them apart: each is checked alone.)
    elements = constellation(shells, 2461094.5, 0.0)
    r, v = state(elements, minutes=37.0)
    inferred = infer_plus_grid(np.degrees(elements.inclo), elements.mean_altitude_km(), r, v)
    np.testing.assert_array_equal(inferred, plus_grid(grid_shells(shells)))
    # Shuffled, as a catalog lists them: the same links between the same satellites
    order = np.random.default_rng(0).permutation(len(elements))
    shuffled = infer_plus_grid(np.degrees(elements.inclo)[order], elements.mean_altitude_km()[order], r[order], v[order])
    back = np.where(shuffled >= 0, order[np.maximum(shuffled, 0)], -1)
    np.testing.assert_array_equal(np.sort(back, axis=1)[np.argsort(order)], np.sort(inferred, axis=1))


@settings(max_examples=12, deadline=None)
@given(planes=st.integers(3, 30), per_plane=st.integers(12, 40), phasing_share=st.floats(0.0, 0.49),
       inclination=st.floats(30.0, 99.0), altitude=st.floats(350.0, 1300.0), spread=st.sampled_from([360.0, 100.0]))
def test_any_walker_shell_gives_its_own_plus_grid(planes, per_plane, phasing_share, inclination, altitude, spread):
    # The nearest partner across the seam of plane P-1 and plane 0 is slot j + F while F < P / 2 (the seam
    # offset is F/P of a slot); at 12 or more satellites per plane, partners are within MAX_PAIR_DEG.
    shell = WalkerShell("W", altitude, inclination, planes, per_plane, phasing=int(phasing_share * planes),
                        raan_spread_deg=spread)
    elements = constellation((shell,), 2461094.5, 0.0)
    r, v = state(elements)
    inferred = infer_plus_grid(np.degrees(elements.inclo), elements.mean_altitude_km(), r, v)
    np.testing.assert_array_equal(inferred, plus_grid(grid_shells((shell,))))


def test_mean_altitude_tells_the_filed_shells_apart():
    elements = constellation(STARLINK_GEN1, 2461094.5, 0.0)
    altitude = elements.mean_altitude_km()
    filed = np.concatenate([[s.altitude_km] * s.total_sats for s in STARLINK_GEN1])
    assert np.abs(altitude - filed).max() < 15.0  # Kozai's a1: a few km from the filed altitude


@pytest.fixture(scope="module")
def catalog():
    elements = read_elements(CATALOG, skip_bad=True).elements
    grid = TimeGrid(2461095.5, 0.0, 60.0, 1)  # 2026-02-24 00:00 UTC
    eph = Propagator.create(elements, jnp.float64).tsince(grid.tsince_min(elements))
    r, v = np.asarray(eph.r_km)[:, 0], np.asarray(eph.v_km_s)[:, 0]
    return elements, r, infer_plus_grid(np.degrees(elements.inclo), elements.mean_altitude_km(), r, v)


def test_real_catalog_grid_is_symmetric_and_physical(catalog):
    elements, r, neighbour = catalog
    n = len(elements)
    assert neighbour.shape == (n, 4) and neighbour.max() < n
    assert all(v in neighbour[w] for v in range(n) for w in neighbour[v] if w >= 0)  # every laser at both ends
    degree = (neighbour >= 0).sum(axis=1)
    assert (degree >= 2).mean() > 0.9  # measured 0.939: satellites between shells (raising, lowering) get none
    assert (degree == 4).mean() > 0.35  # measured 0.425: cross-plane partners where adjacent planes line up
    v, s = np.nonzero(neighbour >= 0)
    range_km = np.linalg.norm(r[v] - r[neighbour[v, s]], axis=1)
    assert np.mean(range_km <= LASER["max_range_km"]) > 0.95  # measured 0.978
    assert np.median(range_km) < 1500.0  # neighbours, not random pairs (measured 1,149 km)


def test_routes_over_the_real_catalog_equal_scipy(catalog):
    elements, r, neighbour = catalog
    rng = np.random.default_rng(11)
    sites_km = R_EARTH_KM * unit(rng.uniform(-50, 50, 25), rng.uniform(-180, 180, 25))
    gateways_km = R_EARTH_KM * unit(rng.uniform(-50, 50, 20), rng.uniform(-180, 180, 20))
    gateway_pop, gateway_pop_ms = rng.integers(0, 4, 20), rng.uniform(0.1, 5.0, 20)
    pop_cloud_ms = rng.uniform(1.0, 60.0, (4, 5))
    lasers = laser_links(jnp.asarray(r), neighbour, **LASER)
    sites, gateways = access(sites_km, r, 4, 25.0, 0.02, 0.4), access(gateways_km, r, 8, 25.0, 3.0, 4.0)
    routes = jax.jit(route)(lasers, sites, gateways, jnp.asarray(gateway_pop), jnp.asarray(gateway_pop_ms),
                            jnp.asarray(pop_cloud_ms))
    _, to_gateway, to_cloud = scipy_reference(lasers, sites, gateways, gateway_pop, gateway_pop_ms, pop_cloud_ms)
    reachable = np.isfinite(to_gateway)
    assert reachable.mean() > 0.5
    np.testing.assert_array_equal(np.isfinite(np.asarray(routes.gateway_ms)), reachable)
    np.testing.assert_allclose(np.asarray(routes.gateway_ms)[reachable], to_gateway[reachable], rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(routes.cloud_ms), to_cloud, rtol=0, atol=1e-6)
    # The path behind a reported latency walks the inferred lasers and has that length
    for site, gateway in list(zip(*np.nonzero(reachable)))[:5]:
        sats = [i for kind, i in path_to_gateway(lasers, sites, gateways, int(site), int(gateway)) if kind == "sat"]
        assert all(w in neighbour[u] for u, w in zip(sats, sats[1:]))
        length = np.linalg.norm(sites_km[site] - r[sats[0]]) + np.linalg.norm(r[sats[-1]] - gateways_km[gateway])
        length += sum(np.linalg.norm(r[u] - r[w]) for u, w in zip(sats, sats[1:]))
        np.testing.assert_allclose(length / C_KM_PER_MS, to_gateway[site, gateway], atol=1e-6)
