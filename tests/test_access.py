"""Access and time on hand-built geometries: a ring of satellites over the equator, positions given step by
step, so every latency can be derived in closed form. A copy placed on the satellite overhead keeps serving
after it sets, through a laser from the next access satellite; the access rules pick what they say; an epoch
folds its steps into mean latency, p95 and availability; link budgets per direction; sunlight per epoch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from placement.errors import InputError
from placement.network import ground as tables
from placement.network.access import Reach
from placement.network.links import (DIRECT_TO_CELL, DIRECT_TO_CELL_UPLINK, KA_GATEWAY, KA_GATEWAY_UPLINK,
                                     KU_USER_DOWNLINK, KU_USER_UPLINK)
from placement.network.routes import C_KM_PER_MS
from placement.network.tensors import Ground, NetworkSpec, build_network, network_steps
from placement.pipeline import epoch_sunlight
from placement.propagation.timegrid import Horizon

R_EQUATOR_KM = 6378.137  # the site stands on the WGS84 equator: its radius is the equatorial one
R_SAT_KM = R_EQUATOR_KM + 550.0
SPEC = NetworkSpec(site_reach=Reach(25.0), radio_hop_ms=4.2, laser_hop_ms=0.1, laser_hops=2)


def ring(n: int, step_deg: float, steps: int, first_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """ECEF positions [sat, step, 3] of n satellites evenly spaced round the equator, turning east by step_deg
    a step (satellite i at longitude 360 i / n + step_deg t), and their ring lasers [sat, 4]."""
    lon = np.radians(first_deg + 360.0 / n * np.arange(n)[:, None] + step_deg * np.arange(steps)[None, :])
    r = np.stack([R_SAT_KM * np.cos(lon), R_SAT_KM * np.sin(lon), np.zeros_like(lon)], axis=-1)
    table = np.stack([(np.arange(n) + 1) % n, (np.arange(n) - 1) % n, np.full(n, -1), np.full(n, -1)], axis=1)
    return r, table.astype(np.int32)


def one_site_ground() -> Ground:
    """A site on the equator at longitude 0; a gateway, PoP and cloud region at the antipode."""
    site = tables.demand_sites([0.0], [0.0])
    far = lambda kind: tables.GroundNodes(("far",), (kind,), [0.0], [180.0])  # noqa: E731
    return Ground.from_nodes(site, far("gateway"), far("pop"), far("cloud"))


def slant_km(central_deg: float) -> float:
    """Site-satellite distance when the satellite is `central_deg` of longitude away (law of cosines)."""
    c = math.radians(central_deg)
    return math.sqrt(R_EQUATOR_KM**2 + R_SAT_KM**2 - 2 * R_EQUATOR_KM * R_SAT_KM * math.cos(c))


def test_a_host_that_sets_is_reached_through_lasers():
    # 18 satellites 20 deg apart turning 14 deg a step. The 25 deg mask at 550 km reaches 8.45 deg of
    # longitude either side (acos(R cos 25 / r) - 25 deg), so one satellite is in view at a time:
    #   step 0: satellite 0 overhead (0 deg) is the access satellite, and the copy's host: one radio hop,
    #           550 km up: 550 / c + 4.2 ms.
    #   step 1: satellite 0 at 14 deg has set; satellite 17 at -6 deg is the access satellite, and the host is
    #           one laser further (the ring's chord, 2 r sin 10 deg): slant(6 deg) / c + 4.2 + chord / c + 0.1.
    #   step 2: satellite 17 at 8 deg, satellite 0 at 28 deg: slant(8 deg) / c + 4.2 + chord / c + 0.1.
    r, table = ring(18, 14.0, 3)
    (_, steps), = network_steps(r, table, one_site_ground(), SPEC, chunk_steps=3, step_s=60.0)
    assert steps.access.sat[:, 0, 0].tolist() == [0, 17, 17]
    chord = 2 * R_SAT_KM * math.sin(math.radians(10.0))
    expected = [550.0 / C_KM_PER_MS + 4.2,
                (slant_km(6.0) + chord) / C_KM_PER_MS + 4.2 + 0.1,
                (slant_km(8.0) + chord) / C_KM_PER_MS + 4.2 + 0.1]
    host0 = [float(steps.host_ms[t, 0][steps.host_sat[t, 0] == 0][0]) for t in range(3)]
    np.testing.assert_allclose(host0, expected, rtol=0, atol=1e-6)
    assert [int(steps.host_hops[t, 0][steps.host_sat[t, 0] == 0][0]) for t in range(3)] == [0, 1, 1]
    assert steps.host_exact.all()
    # Folded into one epoch of those three steps: satellite 0 is a candidate, reachable at every step, with
    # the mean of the three latencies and their largest as the p95 (nearest rank: ceil(0.95 x 3) = 3rd).
    net = build_network(r, table, one_site_ground(), SPEC, steps_per_epoch=3, step_s=60.0)
    slot = net.satellites.host[0, 0].tolist().index(0)
    assert net.satellites.share[0, 0, slot] == 1.0
    assert net.satellites.latency_ms[0, 0, slot] == pytest.approx(np.mean(expected), abs=1e-6)
    assert net.satellites.p95_ms[0, 0, slot] == pytest.approx(max(expected), abs=1e-6)
    # Satellite 1 (20 deg ahead of 0) is two hops from satellite 17 and one from satellite 0: in reach at every
    # step too; satellite 16, two hops behind satellite 0 at step 0, becomes one hop at steps 1-2.
    assert {0, 1, 2, 16, 17} <= set(net.satellites.host[0, 0].tolist())
    # The antipodal gateway is reached at step 0 only: satellite 9 is then right above it, 9 lasers round the
    # ring from satellite 0 (its 40 deg mask reaches 5.15 deg of longitude; at steps 1-2 the nearest satellites
    # are 6 and 8 deg away): (550 up + 9 chords + 550 down) / c, two radio hops and nine laser hops.
    expected_gateway_ms = (1100.0 + 9 * chord) / C_KM_PER_MS + 2 * 4.2 + 9 * 0.1
    assert net.gateways.share[0, 0, 0] == pytest.approx(1 / 3)
    assert net.gateways.latency_ms[0, 0, 0] == pytest.approx(expected_gateway_ms, abs=1e-6)


def test_a_host_out_of_relay_reach_is_available_for_part_of_the_epoch():
    # The same ring, five steps. Satellite i is at 20 i + 14 t deg: the one within 8.45 deg of the site is 0 at
    # step 0, 17 at steps 1 (-6) and 2 (+8), 16 at step 3 (+2) and 15 at step 4 (-4). With reach_hops = 1 a
    # request is relayed at most one hop, so a copy on satellite 0 serves only while the access satellite is 0
    # or a neighbour of it.
    r, table = ring(18, 14.0, 5)
    spec = NetworkSpec(site_reach=Reach(25.0), laser_hops=1, reach_hops=1)
    (_, steps), = network_steps(r, table, one_site_ground(), spec, chunk_steps=5, step_s=60.0)
    access = steps.access.sat[:, 0, 0].tolist()
    assert access == [0, 17, 17, 16, 15]
    net = build_network(r, table, one_site_ground(), spec, steps_per_epoch=5, step_s=60.0)
    host = net.satellites.host[0, 0].tolist()
    # satellite 0 is within one hop of the access satellite at steps 0, 1, 2 (0, 17, 17): 3 of 5 steps
    assert net.satellites.share[0, 0, host.index(0)] == pytest.approx(3 / 5)
    # satellite 16 is within one hop at steps 1-4 (17, 17, 16, 15) but two hops from 0 at step 0: 4 of 5
    assert net.satellites.share[0, 0, host.index(16)] == pytest.approx(4 / 5)


def test_access_rules_pick_the_highest_or_the_longest_in_view():
    # 60 satellites 6 deg apart turning 2 deg a step, starting with satellite 0 overhead. In view (within 8.45
    # deg): at step 0 satellites 59 (-6), 0 (0) and 1 (+6). The highest is 0 until step 2 (0 at +4, 59 at -2),
    # then 59. Longest in view: satellite 59, rising, stays in view until it passes +8.45 deg (step 8: +10),
    # so it is taken at step 0 and kept while in view.
    r, table = ring(60, 2.0, 12)
    for rule, first in (("highest", [0, 0, 59, 59, 59, 58]), ("longest_view", [59, 59, 59, 59, 59, 59])):
        spec = NetworkSpec(site_reach=Reach(25.0), access_rule=rule)
        (_, steps), = network_steps(r, table, one_site_ground(), spec, chunk_steps=12, step_s=600.0 / 12)
        picks = steps.access.sat[:, 0, 0].tolist()
        assert picks[:6] == first, (rule, picks)
        if rule == "longest_view":
            # kept while in view: 59 stays until step 7 (+8 deg); at step 8 (59 at +10 deg) 58 is at +4 and
            # 57 at -2 deg: 57 stays in view the longest
            assert picks[:8] == [59] * 8 and picks[8] == 57


def test_reach_by_slant_range():
    # A 700 km limit keeps satellites within acos((R^2 + r^2 - 700^2) / 2 R r) = 3.3 deg of longitude.
    r, table = ring(60, 2.0, 3)
    spec = NetworkSpec(site_reach=Reach(0.0, 700.0))
    (_, steps), = network_steps(r, table, one_site_ground(), spec, chunk_steps=3, step_s=60.0)
    assert steps.access.sat[:, 0, 0].tolist() == [0, 0, 59]  # 0 at 0 and +2 deg; at step 2, 59 at -2 deg
    assert steps.access.latency_ms[1, 0, 0] == pytest.approx(slant_km(2.0) / C_KM_PER_MS + SPEC.radio_hop_ms)


@pytest.mark.parametrize("mask, max_range, field", [(-5.0, None, "min_elevation_deg"), (90.0, None, "min_elevation_deg"),
                                                    (25.0, 0.0, "max_range_km")])
def test_a_reach_outside_its_domain_is_refused_naming_the_field(mask, max_range, field):
    # the mask is compared as squares (height > 0), which holds only at or above the horizon
    with pytest.raises(InputError, match=field):
        Reach(mask, max_range)


def test_each_direction_has_its_own_budget():
    # Requests go up the terminal uplink (tens of Mbps), responses down its downlink (hundreds of Mbps); a
    # phone's Direct-to-Cell uplink is below its downlink; a gateway's feeder carries about as much each way.
    for slant in (550.0, 812.0, 1123.0):
        assert 5e-3 < float(KU_USER_UPLINK.capacity_gbps(slant)) < 25e-3 < 0.4 < float(KU_USER_DOWNLINK.capacity_gbps(slant))
        assert float(DIRECT_TO_CELL_UPLINK.capacity_gbps(slant)) < float(DIRECT_TO_CELL.capacity_gbps(slant)) < 7e-3
        assert 0.8 < float(KA_GATEWAY_UPLINK.capacity_gbps(slant)) / float(KA_GATEWAY.capacity_gbps(slant)) < 1.2
    # A terminal's links, even at zenith, stay far below a laser (100 Gbps) and a feeder at the 40 deg gateway
    # mask (812 km): the terminal is each path's bottleneck (what network.routes.route relies on)
    feeder_at_mask = min(float(KA_GATEWAY.capacity_gbps(812.1)), float(KA_GATEWAY_UPLINK.capacity_gbps(812.1)))
    assert max(float(KU_USER_DOWNLINK.capacity_gbps(550.0)), float(KU_USER_UPLINK.capacity_gbps(550.0))) < 0.2 * feeder_at_mask
    # the uplink is calibrated to the 12 Mbps median upload at 45 deg elevation (749 km at 550 km)
    assert float(KU_USER_UPLINK.capacity_gbps(749.1)) == pytest.approx(12.7e-3, abs=0.1e-3)
    # the terminal's capacities at each step come from the slant range of its one access satellite
    r, table = ring(18, 14.0, 3)
    (_, steps), = network_steps(r, table, one_site_ground(), SPEC, chunk_steps=3, step_s=60.0)
    np.testing.assert_allclose(steps.access.up_gbps[1, 0, 0], KU_USER_UPLINK.capacity_gbps(slant_km(6.0)), rtol=1e-6)
    np.testing.assert_allclose(steps.access.down_gbps[1, 0, 0], KU_USER_DOWNLINK.capacity_gbps(slant_km(6.0)),
                               rtol=1e-6)


def test_an_epochs_sunlight_is_the_mean_of_its_steps():
    horizon = Horizon(2461094.5, 0.0, 600.0, 3, 4)
    sunlit = np.random.default_rng(0).uniform(size=(5, horizon.n_steps + 1))  # the end instant is not used
    per_epoch = epoch_sunlight(sunlit, horizon)
    assert per_epoch.shape == (3, 5)
    np.testing.assert_allclose(per_epoch[1], sunlit[:, 4:8].mean(axis=1))


def test_gateway_in_view_takes_the_highest_satellite_that_sees_a_gateway():
    """The bent-pipe rule against a numpy search over the same elevations: at each step, the highest satellite
    in a site's view among those above some gateway's 40 deg mask, and the highest of all where none is."""
    from placement.constellation.walker import STARLINK_GEN1, constellation
    from placement.network.access import choose_access, elevation_and_range
    from placement.propagation.orbits import propagate_orbits
    from placement.propagation.timegrid import TimeGrid

    shell = STARLINK_GEN1[:1]
    r = propagate_orbits(constellation(shell, 2461094.5, 0.0), TimeGrid(2461094.5, 0.0, 60.0, 4),
                         np.float64).r_ecef_km  # [sat, time, 3]
    # Nairobi (no gateway within a bent pipe), London, New York, Sydney, Bergen, and sea sites a few hundred km
    # off the coasts: off Portugal, the Gulf of Mexico, the Ionian Sea, Hudson Bay
    sites = tables.demand_sites([-1.29, 51.5, 40.7, -33.9, 60.4, 38.0, 25.0, 36.0, 58.0],
                                [36.82, -0.1, -74.0, 151.2, 5.3, -15.0, -90.0, 18.0, -85.0]).ecef_km()
    gateways = tables.gateways().ecef_km()
    r_time = np.moveaxis(r, 1, 0)
    preferred = np.stack([(np.degrees(np.arcsin(elevation_and_range(gateways, step)[0])) >= 40.0).any(axis=0)
                          for step in r_time])
    access = choose_access(sites, r_time, SPEC.site_reach, 4, "gateway_in_view", KU_USER_UPLINK, KU_USER_DOWNLINK,
                           preferred=preferred)
    highest = choose_access(sites, r_time, SPEC.site_reach, 4, "highest", KU_USER_UPLINK, KU_USER_DOWNLINK)
    differs = 0
    for t, step in enumerate(r_time):
        sine, _ = elevation_and_range(sites, step)
        in_view = np.degrees(np.arcsin(sine)) >= 25.0
        for d in range(len(sites)):
            first = in_view[d] & preferred[t]
            pool = first if first.any() else in_view[d]
            expected = int(np.argmax(np.where(pool, sine[d], -2.0))) if pool.any() else -1
            assert int(access.sat[t, d, 0]) == expected, (t, d)
            differs += int(access.sat[t, d, 0] != highest.sat[t, d, 0])
    assert differs > 0  # somewhere the highest satellite sees no gateway
