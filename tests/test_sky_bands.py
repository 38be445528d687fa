"""The access pre-filter (network.sky_bands): whenever it says its lists are complete, every satellite above a
ground point's mask is on the point's list, checked against every pair's elevation; the access rule then picks
what it picks when it scores every satellite."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings, strategies as st

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.network import access, sky_bands
from placement.network.access import choose_access, elevation_and_range
from placement.network.ground import demand_sites
from placement.network.links import KU_USER_DOWNLINK, KU_USER_UPLINK
from placement.propagation.orbits import propagate_orbits
from placement.propagation.timegrid import TimeGrid

nearby = jax.jit(sky_bands.nearby)  # the mask traced: one compilation per shape


def unlisted_in_view(sites_km, r_km, mask_deg):
    """(how many site-satellite pairs above the mask are missing from the lists, complete)."""
    listed, complete = nearby(jnp.asarray(sites_km), jnp.asarray(r_km), mask_deg)
    sine, _ = elevation_and_range(jnp.asarray(sites_km), jnp.asarray(r_km))
    above = np.asarray(sine) >= np.sin(np.radians(mask_deg))
    on_list = np.zeros_like(above)
    rows, cols = np.nonzero(np.asarray(listed) >= 0)
    on_list[rows, np.asarray(listed)[rows, cols]] = True
    assert not (on_list.sum(axis=1) < (np.asarray(listed) >= 0).sum(axis=1)).any()  # nobody listed twice
    return int((above & ~on_list).sum()), bool(complete)


def sphere_points(rng, n, radius_km):
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True) * np.asarray(radius_km)[..., None]


def test_gen1_at_random_steps_lists_every_satellite_in_view():
    elements = constellation(STARLINK_GEN1, 2461094.5, 0.0)
    r = propagate_orbits(elements, TimeGrid(2461094.5, 0.0, 997.0, 6), np.float32).r_ecef_km
    rng = np.random.default_rng(3)
    lat = np.concatenate([rng.uniform(-90, 90, 400), [90.0, -90.0, 89.9, 0.0, 53.0]])
    lon = np.concatenate([rng.uniform(-180, 180, 400), [0.0, 0.0, 179.99, -180.0, 179.999]])
    sites = demand_sites(lat, lon).ecef_km().astype(np.float32)
    for step in range(r.shape[1]):
        for mask in (25.0, 40.0):  # the terminals' and the gateways' masks
            missing, complete = unlisted_in_view(sites, r[:, step], mask)
            assert complete and missing == 0
        # at 10 deg the cap (15.7 deg) crosses more bands than BANDS_PER_SITE: every satellite is scored
        assert not unlisted_in_view(sites, r[:, step], 10.0)[1]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 60.0), st.integers(50, 3000), st.floats(400.0, 1500.0))
def test_any_constellation_lists_every_satellite_in_view_when_complete(seed, mask, n_sat, top_km):
    rng = np.random.default_rng(seed)
    r = sphere_points(rng, 3000, 6371.0 + rng.uniform(300.0, top_km, 3000)).astype(np.float32)
    r[n_sat:] = np.nan  # n_sat satellites, the rest and 2% of them without a position: never listed
    r[rng.random(3000) < 0.02] = np.nan
    sites = sphere_points(rng, 300, 6371.0 + rng.uniform(-0.4, 4.0, 300)).astype(np.float32)
    missing, complete = unlisted_in_view(sites, r, mask)
    assert missing == 0 or not complete
    # a cap of at most 12 deg (below 800 km at a 25 deg mask) crosses at most 7 bands, and no band holds more
    # than CAPACITY of 3,000 satellites spread evenly: complete
    assert complete or not (mask >= 25.0 and top_km <= 800.0)


def test_a_crowded_sky_is_scored_in_full():
    # 200 satellites within 2 deg of one site: more than CAPACITY in its bands, so the lists are incomplete and
    # the rule scores every satellite, choosing what the full scoring chooses
    rng = np.random.default_rng(0)
    site = demand_sites(np.array([10.0]), np.array([20.0])).ecef_km().astype(np.float32)
    lat, lon = 10.0 + rng.uniform(-2, 2, 200), 20.0 + rng.uniform(-2, 2, 200)
    r = demand_sites(lat, lon).ecef_km() * (6921.0 / 6371.0)
    r = np.concatenate([r, sphere_points(rng, 500, 6921.0)]).astype(np.float32)
    assert not nearby(jnp.asarray(site), jnp.asarray(r), 25.0)[1]
    chosen = choose_access(jnp.asarray(site), jnp.asarray(r)[None], access.Reach(25.0), 4, "highest",
                           KU_USER_UPLINK, KU_USER_DOWNLINK)
    sine, _ = elevation_and_range(jnp.asarray(site), jnp.asarray(r))
    assert int(chosen.sat[0, 0, 0]) == int(np.argmax(np.asarray(sine)[0]))
