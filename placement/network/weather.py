"""Rain fade: the attenuation a ground-satellite link suffers in the rain that is exceeded p% of an average
year, by the ITU-R method, and the link capacities at that fade state.

Chain (each step a pure function over arrays, jax.numpy, jit-friendly):
  rain climate zone (A..Q) -> rain rate R_p exceeded p% of the year       ITU-R P.837-1 (1994), Table 1
  frequency, elevation, polarisation tilt -> k, alpha                     ITU-R P.838-3 (2005), eqs. (2)-(5)
  R -> specific attenuation gamma_R = k R^alpha, dB/km                    ITU-R P.838-3, eq. (1)
  latitude -> rain height h_R                                             ITU-R P.839 (before -2), latitude rule
  h_R, station height, elevation, latitude, R_0.01, gamma_R -> A_p, dB     ITU-R P.618-13 (2017), 2.2.1.1, steps 1-10

A fade state is one exceedance probability p for the whole run: every ground node sees the attenuation its own
rain exceeds p% of the time, at every step, at the elevation of the satellite it uses then. It is a design
case (every node in its p% fade at once), not a weather time series.

What the capacity model does with it (`faded_access`): the attenuation A lowers the carrier-to-noise ratio of
the link budget by A dB (links.LinkBudget.snr_db), and capacity follows from the same Shannon budget. The rise
of the receiver's noise temperature in rain (P.618-13 section 3: sky noise up by T_m (1 - 10^(-A/10))) is not
modelled: the budgets give G/T, not the system temperature it needs, so a downlink's fade is understated by up
to ~3 dB of noise for a ~290 K receiver in a deep fade. Gaseous, cloud and scintillation losses stay in the
budgets' fixed `losses_db`.

Polarisation: circular (tilt 45 deg, P.838-3 eqs. (4)-(5) with cos 2 tau = 0), an assumption (the budgets in
links.py name no polarisation); with it k and alpha do not depend on the elevation.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from placement.errors import InputError
from placement.network.access import Access
from placement.network.geometry import ground_up_vectors
from placement.network.links import LinkBudget

# ITU-R P.837-1, Table 1: rainfall intensity (mm/h, 1-min integration) exceeded for each percentage of an average
# year, per rain climatic zone of its Figs. 1-3. Zone A's 1% entry is "< 0.1" in the table; 0.1 is its bound.
RAIN_ZONES = ("A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "Q")
TABLE_PCT = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
RAIN_RATE_MM_H = np.array([  # [zone, percentage]
    [0.1, 0.8, 2.0, 5.0, 8.0, 14.0, 22.0],          # A
    [0.5, 2.0, 3.0, 6.0, 12.0, 21.0, 32.0],         # B
    [0.7, 2.8, 5.0, 9.0, 15.0, 26.0, 42.0],         # C
    [2.1, 4.5, 8.0, 13.0, 19.0, 29.0, 42.0],        # D
    [0.6, 2.4, 6.0, 12.0, 22.0, 41.0, 70.0],        # E
    [1.7, 4.5, 8.0, 15.0, 28.0, 54.0, 78.0],        # F
    [3.0, 7.0, 12.0, 20.0, 30.0, 45.0, 65.0],       # G
    [2.0, 4.0, 10.0, 18.0, 32.0, 55.0, 83.0],       # H
    [8.0, 13.0, 20.0, 28.0, 35.0, 45.0, 55.0],      # J
    [1.5, 4.2, 12.0, 23.0, 42.0, 70.0, 100.0],      # K
    [2.0, 7.0, 15.0, 33.0, 60.0, 105.0, 150.0],     # L
    [4.0, 11.0, 22.0, 40.0, 63.0, 95.0, 120.0],     # M
    [5.0, 15.0, 35.0, 65.0, 95.0, 140.0, 180.0],    # N
    [12.0, 34.0, 65.0, 105.0, 145.0, 200.0, 250.0],  # P
    [24.0, 49.0, 72.0, 96.0, 115.0, 142.0, 170.0],  # Q
])
MIN_PCT, MAX_PCT = TABLE_PCT[-1], TABLE_PCT[0]  # the table's range, within P.618-13's 0.001-5 %

# ITU-R P.838-3, Tables 1-4: for each of k_H, k_V, alpha_H, alpha_V, the Gaussian terms (a_j, b_j, c_j) and the
# linear term (m, c) of eqs. (2)-(3) in log10 of the frequency in GHz.
_P838 = {
    "k_h": ((-5.33980, -0.35351, -0.23789, -0.94158), (-0.10008, 1.26970, 0.86036, 0.64552),
            (1.13098, 0.45400, 0.15354, 0.16817), -0.18961, 0.71147),
    "k_v": ((-3.80595, -3.44965, -0.39902, 0.50167), (0.56934, -0.22911, 0.73042, 1.07319),
            (0.81061, 0.51059, 0.11899, 0.27195), -0.16398, 0.63297),
    "alpha_h": ((-0.14318, 0.29591, 0.32177, -5.37610, 16.1721), (1.82442, 0.77564, 0.63773, -0.96230, -3.29980),
                (-0.55187, 0.19822, 0.13164, 1.47828, 3.43990), 0.67849, -1.95537),
    "alpha_v": ((-0.07771, 0.56727, -0.20238, -48.2991, 48.5833), (2.33840, 0.95545, 1.14520, 0.791669, 0.791459),
                (-0.76284, 0.54039, 0.26809, 0.116226, 0.116479), -0.053739, 0.83433),
}
CIRCULAR_TILT_DEG = 45.0
EFFECTIVE_EARTH_RADIUS_KM = 8500.0  # P.618-13 step 2, for elevations below 5 deg


def zone_indices(zones: Sequence[str], *, source: str, field: str) -> np.ndarray:
    """Rows of RAIN_RATE_MM_H for the zone letters `zones` (host side); InputError naming `field` otherwise."""
    for i, zone in enumerate(zones):
        if zone not in RAIN_ZONES:
            raise InputError(f"entry {i}: {zone!r} is not a rain climatic zone", source=source, field=field,
                             expected="a zone of ITU-R P.837-1: " + ", ".join(RAIN_ZONES))
    return np.array([RAIN_ZONES.index(z) for z in zones], np.int32)


def check_exceedance(p_pct, *, source: str, field: str) -> float:
    """`p_pct` as a float within the zone table's range, else InputError naming `field`."""
    if isinstance(p_pct, bool) or not isinstance(p_pct, (int, float)) or not MIN_PCT <= p_pct <= MAX_PCT:
        raise InputError(f"{p_pct!r}", source=source, field=field,
                         expected=f"a percentage of the year in [{MIN_PCT:g}, {MAX_PCT:g}] (ITU-R P.837-1's table)")
    return float(p_pct)


def rain_rate_mm_h(zone, p_pct):
    """Rain rate exceeded for p% of an average year in zone row `zone` (int, of RAIN_ZONES), mm/h, ITU-R P.837-1
    (numpy, host side: a table lookup).

    Between the tabulated percentages the rate is interpolated linearly in log R against log p (an assumption:
    the recommendation tabulates these seven percentages only). p within [0.001, 1] %. Broadcasts."""
    zone, log_p = np.broadcast_arrays(np.asarray(zone), np.log(np.asarray(p_pct, float)))
    log_table_p = np.log(TABLE_PCT[::-1])  # ascending
    log_rates = np.log(RAIN_RATE_MM_H[:, ::-1])  # [zone, percentage], ascending percentage
    right = np.clip(np.searchsorted(log_table_p, log_p), 1, len(TABLE_PCT) - 1)  # the segment's upper end
    x0, x1 = log_table_p[right - 1], log_table_p[right]
    y0, y1 = log_rates[zone, right - 1], log_rates[zone, right]
    return np.exp(y0 + (log_p - x0) / (x1 - x0) * (y1 - y0))


def _p838_term(name: str, frequency_ghz):
    a, b, c, m, offset = _P838[name]
    x = jnp.log10(jnp.asarray(frequency_ghz, float))
    return sum(a_j * jnp.exp(-(((x - b_j) / c_j) ** 2)) for a_j, b_j, c_j in zip(a, b, c)) + m * x + offset


@jax.jit
def rain_coefficients(frequency_ghz, elevation_deg=0.0, tilt_deg=CIRCULAR_TILT_DEG):
    """(k, alpha) of gamma_R = k R^alpha, ITU-R P.838-3 eqs. (2)-(5): k_H, k_V, alpha_H, alpha_V from the
    regression coefficients at `frequency_ghz` (1-1000 GHz), combined for the path's elevation and the
    polarisation's tilt angle (0: horizontal, 90: vertical, 45: circular). Broadcasts."""
    k_h, k_v = 10.0 ** _p838_term("k_h", frequency_ghz), 10.0 ** _p838_term("k_v", frequency_ghz)
    alpha_h, alpha_v = _p838_term("alpha_h", frequency_ghz), _p838_term("alpha_v", frequency_ghz)
    mix = jnp.cos(jnp.deg2rad(elevation_deg)) ** 2 * jnp.cos(jnp.deg2rad(2.0 * jnp.asarray(tilt_deg, float)))
    k = (k_h + k_v + (k_h - k_v) * mix) / 2.0
    alpha = (k_h * alpha_h + k_v * alpha_v + (k_h * alpha_h - k_v * alpha_v) * mix) / (2.0 * k)
    return k, alpha


def specific_attenuation_db_km(rain_mm_h, k, alpha):
    """gamma_R = k R^alpha, dB/km (ITU-R P.838-3 eq. (1))."""
    return k * jnp.power(rain_mm_h, alpha)


def rain_height_km(lat_deg):
    """Rain height above mean sea level, km, by latitude where no local data exist:
        5 - 0.075 (lat - 23)   north of 23 N;   5 from 21 S to 23 N;   5 + 0.1 (lat + 21)   from 71 S to 21 S;
        0 south of 71 S.
    The rule of P.839's editions before P.839-2 (1999), which replaced it by a digital map of the 0 deg C
    isotherm that this package does not ship; the edition's text was not at hand to check the attribution. Against
    the map (P.839-4) it is 0.4-0.5 km higher at London and Rome (2.86 against 2.45 km, 3.58 against 3.05 km).
    Broadcasts; never negative."""
    lat = jnp.asarray(lat_deg, float)
    north = 5.0 - 0.075 * (lat - 23.0)
    south = 5.0 + 0.1 * (lat + 21.0)
    height = jnp.where(lat > 23.0, north, jnp.where(lat >= -21.0, 5.0, jnp.where(lat >= -71.0, south, 0.0)))
    return jnp.maximum(height, 0.0)


def slant_path_km(rain_height_km, station_height_km, elevation_deg):
    """L_s, the slant path below the rain height, km (P.618-13 step 2; curved Earth below 5 deg)."""
    depth = jnp.maximum(rain_height_km - station_height_km, 0.0)
    sin_el = jnp.sin(jnp.deg2rad(elevation_deg))
    low = 2.0 * depth / (jnp.sqrt(sin_el ** 2 + 2.0 * depth / EFFECTIVE_EARTH_RADIUS_KM) + sin_el)
    return jnp.where(elevation_deg >= 5.0, depth / sin_el, low)


@jax.jit
def rain_attenuation_db(p_pct, r001_mm_h, frequency_ghz, elevation_deg, lat_deg, station_height_km, rain_height_km,
                        tilt_deg=CIRCULAR_TILT_DEG):
    """Slant-path rain attenuation exceeded for p% of an average year, dB: ITU-R P.618-13 section 2.2.1.1.

    r001_mm_h is the rain rate exceeded 0.01% of the year (step 4), rain_height_km h_R (step 1), station height
    above mean sea level h_s; the elevation in degrees (> 0). Zero where h_R <= h_s or R_0.01 = 0. Valid for
    0.001 <= p <= 5 %, frequencies up to 55 GHz. Broadcasts over every argument."""
    p = jnp.asarray(p_pct, float)
    f = jnp.asarray(frequency_ghz, float)
    theta = jnp.asarray(elevation_deg, float)
    sin_t, cos_t = jnp.sin(jnp.deg2rad(theta)), jnp.cos(jnp.deg2rad(theta))
    depth = jnp.maximum(rain_height_km - station_height_km, 0.0)
    wet = (depth > 0.0) & (r001_mm_h > 0.0)
    ls = slant_path_km(rain_height_km, station_height_km, theta)  # step 2
    lg = ls * cos_t  # step 3: horizontal projection
    k, alpha = rain_coefficients(f, theta, tilt_deg)
    gamma = specific_attenuation_db_km(r001_mm_h, k, alpha)  # step 5
    # step 6: horizontal reduction factor
    r001 = 1.0 / (1.0 + 0.78 * jnp.sqrt(lg * gamma / f) - 0.38 * (1.0 - jnp.exp(-2.0 * lg)))
    # step 7: vertical adjustment factor, over the path length in rain L_R
    zeta = jnp.rad2deg(jnp.arctan2(depth, lg * r001))
    lr = jnp.where(zeta > theta, lg * r001 / cos_t, depth / sin_t)
    chi = jnp.maximum(36.0 - jnp.abs(lat_deg), 0.0)
    v001 = 1.0 / (1.0 + jnp.sqrt(sin_t) * (31.0 * (1.0 - jnp.exp(-theta / (1.0 + chi))) * jnp.sqrt(lr * gamma)
                                         / f ** 2 - 0.45))
    a001 = gamma * lr * v001  # steps 8-9: effective path length L_E = L_R v, A_0.01 = gamma L_E
    # step 10: from 0.01% to p%
    low_lat = jnp.abs(lat_deg) < 36.0
    beta = jnp.where((p >= 1.0) | ~low_lat, 0.0,
                     jnp.where(theta >= 25.0, -0.005 * (jnp.abs(lat_deg) - 36.0),
                               -0.005 * (jnp.abs(lat_deg) - 36.0) + 1.8 - 4.25 * sin_t))
    safe_a001 = jnp.where(wet, a001, 1.0)
    exponent = -(0.655 + 0.033 * jnp.log(p) - 0.045 * jnp.log(safe_a001) - beta * (1.0 - p) * sin_t)
    return jnp.where(wet, safe_a001 * (p / 0.01) ** exponent, 0.0)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class RainNodes:
    """What the fade of each ground node's links depends on, [node]; the network carries it in tensors.Ground."""

    up: jax.Array  # [node, 3] local vertical (ellipsoid normal), for the elevation of the satellite used
    lat_deg: jax.Array
    station_height_km: jax.Array  # above mean sea level (the ellipsoid height: the geoid's offset neglected)
    rain_height_km: jax.Array  # rain_height_km(lat_deg)
    r001_mm_h: jax.Array  # P.837-1: the zone's rain rate exceeded 0.01% of the year
    exceedance_pct: jax.Array  # [] the fade state: the attenuation exceeded this share of the year

    @classmethod
    def of(cls, lat_deg: np.ndarray, lon_deg: np.ndarray, alt_km: np.ndarray, zone_rows: np.ndarray,
           exceedance_pct: float) -> RainNodes:
        """Host side: nodes at geodetic lat/lon (deg) and height (km) in the zones `zone_rows` (zone_indices)."""
        lat = np.asarray(lat_deg, float)
        up = ground_up_vectors(np.deg2rad(lat), np.deg2rad(np.asarray(lon_deg, float)))
        r001 = rain_rate_mm_h(zone_rows, 0.01)  # P.618's input, at a tabulated percentage of P.837-1
        return cls(up=jnp.asarray(up), lat_deg=jnp.asarray(lat), station_height_km=jnp.asarray(alt_km, float),
                   rain_height_km=rain_height_km(lat), r001_mm_h=jnp.asarray(r001),
                   exceedance_pct=jnp.asarray(exceedance_pct, float))

    def attenuation_db(self, link, elevation_deg):
        """[node, k] attenuation on `link` at elevations [node, k]: 0 for a link with no radio frequency (FixedRate)."""
        if not isinstance(link, LinkBudget):
            return jnp.zeros_like(elevation_deg)
        return rain_attenuation_db(self.exceedance_pct, self.r001_mm_h[:, None], link.frequency_ghz, elevation_deg,
                                   self.lat_deg[:, None], self.station_height_km[:, None],
                                   self.rain_height_km[:, None]).astype(elevation_deg.dtype)


@functools.partial(jax.jit, static_argnames=("up_link", "down_link"))
def faded_access(access: Access, node_ecef_km, sat_ecef_km, rain: RainNodes, up_link, down_link) -> Access:
    """`access` [node, k] of ground nodes node_ecef_km [node, 3] to satellites sat_ecef_km [sat, 3] at one step,
    with both directions' capacities at the fade state of `rain` (the same budgets, each C/N lowered by the rain
    attenuation at the elevation of the satellite used). Latencies and choices are unchanged."""
    has = access.sat >= 0
    rel = sat_ecef_km[jnp.maximum(access.sat, 0)] - node_ecef_km[:, None, :]  # [node, k, 3]
    slant_km = jnp.linalg.norm(rel, axis=-1)
    sin_el = jnp.sum(rel * rain.up.astype(rel.dtype)[:, None, :], axis=-1) / slant_km
    elevation_deg = jnp.where(has, jnp.rad2deg(jnp.arcsin(jnp.clip(sin_el, 1e-6, 1.0))), 90.0)

    def capacity(link):
        return jnp.where(has, link.capacity_gbps(slant_km, rain.attenuation_db(link, elevation_deg)), 0.0)

    return dataclasses.replace(access, up_gbps=capacity(up_link), down_gbps=capacity(down_link))


@dataclasses.dataclass(frozen=True)
class Weather:
    """The fade state of a run: exceedance percentage and each site's and gateway's rain zone (host side)."""

    exceedance_pct: float
    site_zones: tuple[str, ...]
    gateway_zones: tuple[str, ...]

    def __post_init__(self):
        check_exceedance(self.exceedance_pct, source="Weather", field="exceedance_pct")
        zone_indices(self.site_zones, source="Weather", field="site_zones")
        zone_indices(self.gateway_zones, source="Weather", field="gateway_zones")

    def rain(self, nodes, zones: tuple[str, ...]) -> RainNodes:
        """The RainNodes of ground nodes (ground.GroundNodes) in `zones`."""
        if len(zones) != len(nodes):
            raise InputError(f"{len(zones)} rain zones for {len(nodes)} nodes", source="Weather", field="zones",
                             expected="one zone per node")
        return RainNodes.of(nodes.lat_deg, nodes.lon_deg, nodes.alt_km, zone_indices(zones, source="Weather",
                                                                                    field="zones"),
                            self.exceedance_pct)

    def summary(self, spec, sites, gateways) -> dict:
        """What a run reports of its fade state under the link rules `spec` (tensors.NetworkSpec): the percentage
        and, per link direction, the range over the nodes of the rain attenuation (dB) at their elevation mask,
        the deepest fade a link in reach sees."""
        masks = {"sites": spec.site_reach.min_elevation_deg, "gateways": spec.gateway_reach.min_elevation_deg}

        def span(rain: RainNodes, link, elevation_deg):
            a = np.asarray(rain.attenuation_db(link, jnp.full((len(rain.lat_deg), 1), elevation_deg)))
            return [round(float(a.min()), 3), round(float(a.max()), 3)] if a.size else []

        site_rain, gateway_rain = self.rain(sites, self.site_zones), self.rain(gateways, self.gateway_zones)
        return {"exceedance_pct": self.exceedance_pct,
                "method": "ITU-R P.837-1 zones, P.838-3, P.839 latitude rule, P.618-13",
                "site_uplink_db": span(site_rain, spec.site_uplink, masks["sites"]),
                "site_downlink_db": span(site_rain, spec.site_downlink, masks["sites"]),
                "gateway_uplink_db": span(gateway_rain, spec.gateway_uplink, masks["gateways"]),
                "gateway_downlink_db": span(gateway_rain, spec.gateway_downlink, masks["gateways"]),
                "at_elevation_deg": masks}


def mask_fade_text(summary: dict) -> str:
    """One line for the progress log."""
    def fmt(pair):
        return f"{pair[0]:.2f}-{pair[1]:.2f} dB" if pair else "none"
    at = summary["at_elevation_deg"]
    return (f"weather: fade state exceeded {summary['exceedance_pct']:g}% of an average year ({summary['method']}); "
            f"rain attenuation at the masks: sites ({at['sites']:g} deg) up {fmt(summary['site_uplink_db'])}, "
            f"down {fmt(summary['site_downlink_db'])}; gateways ({at['gateways']:g} deg) up "
            f"{fmt(summary['gateway_uplink_db'])}, down {fmt(summary['gateway_downlink_db'])}")
