"""Rain fade (placement/network/weather.py) against the ITU-R recommendations' own numbers: P.837-1's zone table,
P.838-3's tabulated coefficients, and ITU-R Study Group 3's validation examples for P.618-13; closed forms of
the steps; capacities falling with the exceedance percentage; a run with weather off unchanged."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import QUICK, QUICKSTART

from placement.config import load_config
from placement.errors import InputError
from placement.network import weather
from placement.network.access import Access
from placement.network.links import KA_GATEWAY, KA_GATEWAY_UPLINK, KU_USER_DOWNLINK, KU_USER_UPLINK, LASER_ISL
from placement.network.isl import constellation_lasers
from placement.network.tensors import network_steps
from placement.propagation.orbits import propagate_orbits
from placement.propagation.frames import geodetic_to_ecef
from placement.scenario import resolve

# ITU-R P.838-3 Table 5 (k_H, alpha_H, k_V, alpha_V at frequencies in GHz), the values the regression reproduces
P838_TABLE5 = {12.0: (0.02386, 1.1825, 0.02455, 1.1216), 20.0: (0.09164, 1.0568, 0.09611, 0.9847),
               30.0: (0.2403, 0.9485, 0.2291, 0.9129)}

# ITU-R Study Group 3's validation examples for P.618-13 (CG-3M3J-13-ValEx, as tabulated in ITU-Rpy's
# test/test_data/618/ITURP618-13_A_rain.csv and 839/ITURP839-4_rain_height.csv): latitude, station height (km),
# frequency (GHz), elevation (deg), polarisation tilt (deg), p (%), R_0.01 (mm/h), the P.839-4 rain height (km) at
# the site, and the rain attenuation A_p (dB) the examples give.
P618_EXAMPLES = np.array([
    # lat     h_s          f      elevation    tau  p      R_0.01       h_R         A_p
    [51.5, 0.031382984, 14.25, 31.07699124, 0, 1.0, 26.48052, 2.45273333, 0.495317069],
    [51.5, 0.031382984, 14.25, 31.07699124, 0, 0.01, 26.48052, 2.45273333, 6.798072267],
    [41.9, 0.046122988, 29.0, 40.232036, 0, 0.001, 33.936232, 3.04749333, 54.25561152],
    [33.94, 0.0, 29.0, 46.35969261, 0, 0.1, 27.13586832, 2.56330276, 7.808322508],
    [22.9, 0.0, 14.25, 22.27833468, 0, 0.1, 50.639304, 4.15877867, 8.271647438],
    [22.9, 0.0, 29.0, 22.27833468, 0, 0.001, 50.639304, 4.15877867, 83.5996391],
    [25.78, 0.00861728, 29.0, 52.67898486, 0, 0.01, 78.2994993, 4.56946133, 58.47438336],
    [28.717, 0.209383699, 14.25, 48.24117054, 90, 0.1, 63.61888808, 5.25820404, 5.486346969],
    [3.133, 0.051251456, 29.0, 85.80459566, 90, 0.001, 99.15117186, 4.95797440, 96.67521082],
    [3.133, 0.051251456, 14.25, 85.80459566, 90, 1.0, 99.15117186, 4.95797440, 2.001026654],
])


def test_p838_coefficients_reproduce_its_table():
    for f, (k_h, alpha_h, k_v, alpha_v) in P838_TABLE5.items():
        # horizontal path (elevation 0): tilt 0 is horizontal polarisation, 90 vertical
        k, alpha = weather.rain_coefficients(f, 0.0, 0.0)
        np.testing.assert_allclose([k, alpha], [k_h, alpha_h], rtol=2e-4)
        k, alpha = weather.rain_coefficients(f, 0.0, 90.0)
        np.testing.assert_allclose([k, alpha], [k_v, alpha_v], rtol=2e-4)


def test_p838_circular_polarisation_is_the_mean_and_ignores_elevation():
    k_h, alpha_h = weather.rain_coefficients(18.5, 0.0, 0.0)
    k_v, alpha_v = weather.rain_coefficients(18.5, 0.0, 90.0)
    for elevation in (10.0, 40.0, 90.0):
        k, alpha = weather.rain_coefficients(18.5, elevation)
        np.testing.assert_allclose(k, (k_h + k_v) / 2, rtol=1e-12)
        np.testing.assert_allclose(alpha, (k_h * alpha_h + k_v * alpha_v) / (k_h + k_v), rtol=1e-12)
    assert weather.specific_attenuation_db_km(0.0, k, alpha) == 0.0


def test_p618_reproduces_the_itu_validation_examples():
    lat, hs, f, el, tau, p, r001, hr, expected = P618_EXAMPLES.T
    got = weather.rain_attenuation_db(p, r001, f, el, lat, hs, hr, tau)
    np.testing.assert_allclose(got, expected, rtol=1e-7)


def test_p837_table_and_interpolation():
    k = weather.RAIN_ZONES.index("K")
    np.testing.assert_allclose(weather.rain_rate_mm_h(k, np.array(weather.TABLE_PCT)),
                               [1.5, 4.2, 12.0, 23.0, 42.0, 70.0, 100.0], rtol=1e-12)
    zones = np.arange(len(weather.RAIN_ZONES))
    np.testing.assert_allclose(weather.rain_rate_mm_h(zones, 0.01),
                               [8, 12, 15, 19, 22, 28, 30, 32, 35, 42, 60, 63, 95, 145, 115], rtol=1e-12)
    # straight in log-log: at the geometric mean of two tabulated percentages, the geometric mean of their rates
    np.testing.assert_allclose(weather.rain_rate_mm_h(k, np.sqrt(0.1 * 0.03)), np.sqrt(12.0 * 23.0), rtol=1e-12)
    rates = weather.rain_rate_mm_h(zones[:, None], np.geomspace(1.0, 0.001, 40)[None, :])
    assert (np.diff(rates, axis=1) > 0).all()  # rarer rain is heavier, in every zone
    with pytest.raises(InputError, match="zones.*'I' is not a rain climatic zone"):
        weather.zone_indices(["K", "I"], source="test", field="zones")


def test_rain_height_and_slant_path_closed_forms():
    np.testing.assert_allclose(weather.rain_height_km(np.array([51.5, 23.0, 0.0, -21.0, -30.0, -80.0])),
                               [5 - 0.075 * 28.5, 5, 5, 5, 5 + 0.1 * -9, 0])
    np.testing.assert_allclose(weather.slant_path_km(3.0, 0.5, 90.0), 2.5)
    np.testing.assert_allclose(weather.slant_path_km(3.0, 0.5, 30.0), 5.0)
    # below 5 deg, the ray from a sphere of the effective radius R to the rain height: from (R + d)^2 =
    # R^2 + L^2 + 2 R L sin(el), within the d^2 term P.618 leaves out
    r, d, sin_el = weather.EFFECTIVE_EARTH_RADIUS_KM, 2.5, np.sin(np.radians(2.0))
    exact = -r * sin_el + np.sqrt((r * sin_el) ** 2 + 2 * r * d + d * d)
    np.testing.assert_allclose(weather.slant_path_km(3.0, 0.5, 2.0), exact, rtol=2e-4)
    # a station above the rain height sees no rain fade; nor does a zone without rain
    assert weather.rain_attenuation_db(0.01, 42.0, 14.25, 40.0, -80.0, 0.0, 0.0) == 0.0
    assert weather.rain_attenuation_db(0.01, 0.0, 14.25, 40.0, 10.0, 0.0, 5.0) == 0.0


def test_p618_scaling_closed_form():
    """Step 10 at p = 1% (beta = 0): A_1 = A_0.01 * 100^-(0.655 - 0.045 ln A_0.01)."""
    args = (42.0, 28.75, 40.0, 45.0, 0.0, 3.6)
    a001 = float(weather.rain_attenuation_db(0.01, *args))
    a1 = float(weather.rain_attenuation_db(1.0, *args))
    np.testing.assert_allclose(a1, a001 * 100.0 ** -(0.655 - 0.045 * np.log(a001)), rtol=1e-12)


def overhead_access(lat_deg: float, rain: weather.RainNodes):
    """A node at lat_deg on the prime meridian with one satellite 550 km straight above it: (access, node, sat)."""
    node = np.asarray(geodetic_to_ecef(np.radians([lat_deg]), np.zeros(1), np.zeros(1))).reshape(1, 3)
    sat = node + 550.0 * np.asarray(rain.up)
    access = Access(sat=jnp.zeros((1, 1), jnp.int32), latency_ms=jnp.ones((1, 1)), up_gbps=jnp.ones((1, 1)),
                    down_gbps=jnp.ones((1, 1)))
    return access, jnp.asarray(node), jnp.asarray(sat)


@pytest.mark.parametrize("links", [(KU_USER_UPLINK, KU_USER_DOWNLINK), (KA_GATEWAY_UPLINK, KA_GATEWAY)])
def test_capacity_falls_with_the_exceedance_percentage(links):
    """Rarer fade states (smaller p) attenuate more and leave less capacity, down to the clear-sky budget's own
    figure at zero rain; the capacity is the budget's at C/N lowered by the attenuation at 90 deg elevation."""
    up, down = links
    zone = weather.zone_indices(["N"], source="test", field="zone")
    capacities = []
    for p in weather.TABLE_PCT:
        rain = weather.RainNodes.of(np.array([5.0]), np.zeros(1), np.zeros(1), zone, p)
        faded = weather.faded_access(*overhead_access(5.0, rain), rain, up, down)
        a_up = weather.rain_attenuation_db(p, 95.0, up.frequency_ghz, 90.0, 5.0, 0.0, 5.0)
        np.testing.assert_allclose(faded.up_gbps[0, 0], up.capacity_gbps(550.0, a_up), rtol=1e-9)
        capacities.append([float(faded.up_gbps[0, 0]), float(faded.down_gbps[0, 0])])
    capacities = np.array(capacities)
    assert (np.diff(capacities, axis=0) < 0).all()
    clear = np.array([up.capacity_gbps(550.0), down.capacity_gbps(550.0)])
    assert (capacities < clear).all()
    dry = dataclasses.replace(rain, r001_mm_h=jnp.zeros(1))
    faded = weather.faded_access(*overhead_access(5.0, dry), dry, up, down)
    np.testing.assert_allclose([faded.up_gbps[0, 0], faded.down_gbps[0, 0]], clear, rtol=1e-12)
    # a fixed-rate link (a laser) has no radio budget to fade
    assert float(weather.faded_access(*overhead_access(5.0, rain), rain, LASER_ISL, LASER_ISL).up_gbps[0, 0]) == 100.0


@pytest.fixture(scope="module")
def quick_weather():
    """The shrunk quick start with weather: every node in zone N, the fade exceeded 0.01% of the year."""
    overrides = QUICK + ["network.weather.exceedance_pct=0.01", "network.weather.rain_zone='N'"]
    return resolve(load_config(QUICKSTART, overrides))


def test_weather_config_resolves_zones_and_refuses_bad_input(quick_weather, tmp_path):
    w = quick_weather.weather
    assert w.exceedance_pct == 0.01
    assert set(w.site_zones) == {"N"} and set(w.gateway_zones) == {"N"}
    assert len(w.gateway_zones) == len(quick_weather.ground.gateways)
    assert resolve(load_config(QUICKSTART, QUICK)).weather is None  # off by default
    table = "network.weather={exceedance_pct=0.1, rain_zone='K', gateway_zone='E'}"
    shipped = resolve(load_config(QUICKSTART, [*QUICK, table])).weather
    assert set(shipped.gateway_zones) == {"E"} and set(shipped.site_zones) == {"K"}
    # a site's or extra gateway's own zone wins over the table's
    own = tmp_path / "own.toml"
    own.write_text(f"""extends = "{QUICKSTART.as_posix()}"
[network.weather]
exceedance_pct = 0.1
rain_zone = "K"
[[network.extra_gateways]]
name = "Nairobi, KE"
lat_deg = -1.3
lon_deg = 36.8
rain_zone = "P"
[[demand.sites]]
name = "nairobi"
lat_deg = -1.28333
lon_deg = 36.81667
rain_zone = "N"
[[demand.sites]]
name = "kisumu"
lat_deg = -0.10221
lon_deg = 34.76171
[[workloads]]
model = "yolov8n"
rate_per_s = 1.0
slo_ms = 100.0
""")
    mixed = resolve(load_config(own, QUICK)).weather
    assert mixed.site_zones == ("N", "K") and mixed.gateway_zones[-1] == "P" and set(mixed.gateway_zones[:-1]) == {"K"}
    with pytest.raises(InputError, match="network.weather.exceedance_pct"):
        load_config(QUICKSTART, QUICK + ["network.weather={exceedance_pct=2.0, rain_zone='K'}"])
    with pytest.raises(InputError, match="network.weather.rain_zone"):
        load_config(QUICKSTART, QUICK + ["network.weather={exceedance_pct=0.1, rain_zone='I'}"])
    with pytest.raises(InputError, match="network.weather.rain_zone"):
        load_config(QUICKSTART, QUICK + ["network.weather={exceedance_pct=0.1}"])


def test_weather_lowers_the_network_capacities_and_off_changes_nothing(quick_weather):
    """Two steps of the quick start: with weather off the ground arrays carry no rain (the clear-sky network);
    with it, a dry site (no rain) keeps the clear-sky capacities exactly, the others lose capacity in both
    directions, as do the routes through the gateways; latencies and choices are unchanged."""
    scenario = quick_weather
    clear_ground = resolve(load_config(QUICKSTART, QUICK)).network_ground()
    assert clear_ground.site_rain is None and clear_ground.gateway_rain is None
    grid = scenario.horizon.steps()
    grid = dataclasses.replace(grid, n_steps=2)
    c = scenario.constellation
    orbits = propagate_orbits(c.elements, grid, np.dtype(scenario.precision))
    lasers = constellation_lasers(c.elements, c.shells, grid)

    def steps(ground):
        (_, out), = network_steps(orbits.r_ecef_km, lasers, ground, scenario.network, chunk_steps=2,
                                  step_s=scenario.horizon.step_s)
        return out

    rainy_ground = scenario.network_ground()
    dry_site = np.arange(8) == 0
    rainy_ground = dataclasses.replace(rainy_ground, site_rain=dataclasses.replace(
        rainy_ground.site_rain, r001_mm_h=jnp.where(dry_site, 0.0, rainy_ground.site_rain.r001_mm_h)))
    clear, rainy = steps(clear_ground), steps(rainy_ground)
    for name in ("up_gbps", "down_gbps"):
        before, after = getattr(clear.access, name)[:, :, 0], getattr(rainy.access, name)[:, :, 0]  # [time, site]
        np.testing.assert_allclose(after[:, dry_site], before[:, dry_site], rtol=1e-6)
        seen = before[:, ~dry_site] > 0
        assert seen.any() and (after[:, ~dry_site][seen] < before[:, ~dry_site][seen]).all()
    for name in ("gateway_up_gbps", "gateway_down_gbps"):
        before, after = getattr(clear, name), getattr(rainy, name)
        routed = before > 0
        assert (after[routed] <= before[routed] * (1 + 1e-6)).all() and (after[routed] < before[routed]).any()
    np.testing.assert_array_equal(rainy.access.sat, clear.access.sat)
    np.testing.assert_array_equal(rainy.gateway_ms, clear.gateway_ms)
    summary = scenario.weather_summary()
    assert summary["exceedance_pct"] == 0.01
    assert 0 < summary["site_downlink_db"][0] <= summary["site_downlink_db"][1]
    # Ka at 28.75 GHz fades more than Ku at 11.7 GHz
    assert summary["gateway_uplink_db"][1] > summary["site_downlink_db"][1]
