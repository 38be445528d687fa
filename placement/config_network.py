"""The `[network]` section of a run configuration: link rules, ground nodes added to the shipped tables, link
budgets per direction and the weather (placement.config holds the other sections and the loading)."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from placement.errors import InputError
from placement.fields import (COUNTRY_CODE, is_country_code, latitude_option, longitude_option, non_negative, option,
                              positive)
from placement.network import weather
from placement.network.ground import DEFAULT_FIBER_ROUTE_FACTOR
from placement.network.tensors import NetworkSpec

# a rain climatic zone of ITU-R P.837-1, or '' for the default
RAIN_ZONE_OR_DEFAULT = Literal[weather.RAIN_ZONES + ("",)]


@dataclasses.dataclass(frozen=True)
class PopConfig:
    name: str = option(help="point of presence name (extra gateways may attach to it by this name)")
    lat_deg: float = latitude_option()
    lon_deg: float = longitude_option()
    country: str = option("", check=is_country_code, expected=COUNTRY_CODE, help="ISO 3166-1 alpha-2 code")


@dataclasses.dataclass(frozen=True)
class GatewayConfig:
    name: str = option(help="gateway name (as its host is named in results)")
    lat_deg: float = latitude_option()
    lon_deg: float = longitude_option()
    country: str = option("", check=is_country_code, expected=COUNTRY_CODE,
                          help="ISO 3166-1 alpha-2 code: the jurisdiction of the host there")
    pop: str = option(
        "", help="where it reaches terrestrial fiber: '' the nearest point of presence (shipped or "
                 "network.extra_pops), a point of presence by name, or 'none': no fiber at all, so the node is "
                 "reached only through the satellites and cloud regions are not reached through it")
    profile: str = option("", help="hardware profile of the host there (placement/problem/data/hosts.csv); "
                                   "'' is hosts.gateway_profile")
    link_gbps: float | None = option(None, check=positive, expected="a positive number",
                                     help="capacity into the host, Gbps (empty: hosts.gateway_link_gbps)")
    rain_zone: RAIN_ZONE_OR_DEFAULT = option("", help="ITU-R P.837-1 rain zone there, with network.weather "
                                                      "('': its rain_zone)")


def _band(edges: list[float]) -> bool:
    return not edges or (len(edges) == 2 and 0 < edges[0] < edges[1])


@dataclasses.dataclass(frozen=True)
class LinkBudgetConfig:
    """One direction's radio link budget (placement.network.links.LinkBudget), with the band it sits in."""

    frequency_ghz: float = option(help="carrier frequency, GHz", check=positive, expected="a positive number")
    bandwidth_mhz: float = option(help="channel bandwidth, MHz", check=positive, expected="a positive number")
    eirp_dbw: float = option(help="transmitter EIRP in the channel, dBW")
    g_over_t_db_k: float = option(help="receiver G/T, dB/K")
    losses_db: float = option(0.0, help="fixed extra losses (atmosphere, rain margin, pointing), dB")
    efficiency: float = option(1.0, check=lambda x: 0 < x <= 1, expected="a number in (0, 1]",
                               help="fraction of the Shannon bound achieved")
    band_ghz: list[float] = option([], check=_band, expected="[low, high] GHz with 0 < low < high, or []",
                                   help="edges of the licensed band the carrier sits in, GHz (documents and "
                                        "checks `frequency_ghz`)")
    source: str = option("", help="where the figures come from")

    def __post_init__(self):
        if self.band_ghz and not self.band_ghz[0] <= self.frequency_ghz <= self.band_ghz[1]:
            raise InputError(f"{self.frequency_ghz:g} GHz is outside the band {self.band_ghz}",
                             source=type(self).__name__, field="frequency_ghz",
                             expected="a carrier inside band_ghz")


_SPEC = NetworkSpec()


@dataclasses.dataclass(frozen=True)
class WeatherConfig:
    exceedance_pct: float = option(
        help="the fade state: every site's and gateway's links see the rain attenuation exceeded this percentage "
             "of an average year (ITU-R P.618-13), at the elevation of the satellite they use",
        check=lambda x: weather.MIN_PCT <= x <= weather.MAX_PCT,
        expected=f"a percentage in [{weather.MIN_PCT:g}, {weather.MAX_PCT:g}] (ITU-R P.837-1's table)")
    rain_zone: Literal[weather.RAIN_ZONES] = option(
        help="ITU-R P.837-1 rain climatic zone (A-Q, from its maps) of every site and gateway not given one")
    gateway_zone: RAIN_ZONE_OR_DEFAULT = option("", help="rain zone of the shipped gateways ('': rain_zone)")


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    site_slots: int = option(_SPEC.site_slots, check=positive, expected="a positive integer",
                             help="highest satellites in view a site's access rule chooses among")
    gateway_slots: int = option(_SPEC.gateway_slots, check=positive, expected="a positive integer",
                                help="satellites a gateway uses at once")
    site_min_elevation_deg: float | None = option(
        None, check=lambda x: 0 <= x < 90, expected="an elevation in [0, 90) deg",
        help="user terminal elevation mask, deg; default: the built-in constellation's filed mask "
             "(Starlink Gen1 25, Kuiper 35), 25 for a catalog file")
    site_max_range_km: float | None = option(
        None, check=positive, expected="a positive number of km",
        help="a site reaches only satellites within this slant range, km (empty: the elevation mask alone)")
    gateway_min_elevation_deg: float = option(_SPEC.gateway_reach.min_elevation_deg, check=lambda x: 0 <= x < 90,
                                              expected="an elevation in [0, 90) deg",
                                              help="gateway elevation mask, deg (Ka feeders: 40 in later filings)")
    gateway_max_range_km: float | None = option(
        None, check=positive, expected="a positive number of km",
        help="a gateway reaches only satellites within this slant range, km (empty: the elevation mask alone)")
    site_link: Literal["ku-terminal", "direct-to-cell"] = option(
        "ku-terminal", help="how sites reach satellites: a Ku user terminal, or phones over Direct-to-Cell "
                            "(a few Mbps per beam, less up; network/links.py gives each direction's budget)")
    access_rule: Literal["highest", "longest_view", "gateway_in_view"] = option(
        _SPEC.access_rule, help="which one satellite a site's terminals use at each step: the highest in view, "
                                "the one kept until it sets, then the one staying longest in view, or the highest "
                                "with a gateway in view (a bent-pipe scheduler's choice, for lasers = false)")
    laser_hops: int = option(_SPEC.laser_hops, check=lambda x: x >= 0, expected="an integer >= 0",
                             help="satellite hosts of a site: those within this many laser hops of its access "
                                  "satellite at some step of the epoch")
    reach_hops: int | None = option(
        _SPEC.reach_hops, check=lambda x: x >= 0, expected="an integer >= 0",
        help="a request is relayed at most this many laser hops to a copy on a satellite: a host further away at "
             "a step cannot serve then (empty: laser_hops)")
    satellite_candidates: int = option(_SPEC.satellite_candidates, check=positive, expected="a positive integer",
                                       help="satellite hosts kept per site and epoch, lowest mean latency first")
    radio_hop_ms: float = option(_SPEC.radio_hop_ms, check=non_negative, expected="a number of ms >= 0",
                                 help="fixed one-way delay of a ground-satellite radio hop beyond light time, ms "
                                      "(calibrated to Starlink's published 25.7 ms median round trip)")
    laser_hop_ms: float = option(_SPEC.laser_hop_ms, check=non_negative, expected="a number of ms >= 0",
                                 help="fixed delay of relaying through one more satellite, ms")
    laser_capacity_gbps: float = option(_SPEC.laser_capacity_gbps, check=positive, expected="a positive number",
                                        help="capacity of one laser link, Gbps (Starlink reports ~100)")
    # Starlink's satellites carry lasers (starlink_performance_facts.csv); the "missing piece" runs compare a
    # stack with and without them, which says what the lasers are worth, not which satellites fly without.
    lasers: bool = option(True, help="inter-satellite lasers (false: bent pipe only, a request goes up and down "
                                     "through one satellite, and satellite hosts are the access satellite; "
                                     "access_rule 'gateway_in_view' then picks satellites as a bent pipe would)")
    lasers_file: str | None = option(
        None, path=True, help="laser list of a catalog, one 'i j' pair of satellite indices per line (Hypatia's "
                              "isls.txt), relative to the config file (empty: a Walker grid, or one inferred from "
                              "the catalog's orbits)")
    link_rows: bool = option(_SPEC.link_rows, help="bound the load on every shared link (lasers, satellites' user "
                                                   "beams and feeders, gateways) by its capacity: the paths of "
                                                   "every candidate traced at every step (slower to build)")
    cloud_provider: Literal["azure", "aws", "all"] = option("azure", help="cloud regions behind the gateways")
    cloud_jurisdictions: list[str] = option(
        [], help="keep only the cloud regions in these jurisdictions (ISO 3166-1 alpha-2 codes or a group such as "
                 "'EU'; empty: all of the provider's)")
    announced_regions: bool = option(
        False, help="also use the cloud regions announced but not yet open (status 'announced' in "
                    "placement/network/data/cloud_regions.csv, each with its announcement)")
    ground_tables: Literal["starlink-starperf", "at-cloud-regions"] = option(
        "starlink-starperf",
        help="the gateways and points of presence: 'starlink-starperf' the shipped Starlink tables "
             "(placement/network/data/gateways.csv, pops.csv: StarPerf's configuration, about 2021-22), "
             "'at-cloud-regions' one gateway and point of presence at each cloud region used (an assumption for a "
             "system whose gateway sites are not public); network.extra_gateways and extra_pops are added to either")
    laser_max_range_km: float = option(_SPEC.laser_max_range_km, check=positive, expected="a positive number of km",
                                       help="longest laser link, km (default: the 550 km shell's, "
                                            "network/geometry.py max_isl_range_km)")
    user_uplink: LinkBudgetConfig | None = option(
        None, help="the user terminals' uplink budget ([network.user_uplink] table; empty: site_link's preset)")
    user_downlink: LinkBudgetConfig | None = option(
        None, help="the user terminals' downlink budget (empty: site_link's preset)")
    feeder_uplink: LinkBudgetConfig | None = option(
        None, help="the gateways' uplink to the satellites (empty: the Starlink Ka preset, network/links.py)")
    feeder_downlink: LinkBudgetConfig | None = option(
        None, help="the satellites' downlink to the gateways (empty: the Starlink Ka preset, network/links.py)")
    fiber_route_factor: float = option(DEFAULT_FIBER_ROUTE_FACTOR, check=lambda x: math.isfinite(x) and x >= 1,
                                       expected="a finite number >= 1",
                                       help="terrestrial fiber length / great circle (Bozkurt et al. 2018)")
    extra_pops: list[PopConfig] = option(
        [], help="points of presence added to the shipped ones ([[network.extra_pops]] tables)")
    extra_gateways: list[GatewayConfig] = option(
        [], help="ground hosts reached by a satellite downlink, added to the shipped gateways "
                 "([[network.extra_gateways]] tables): a planned gateway, or with pop = 'none' and a cluster "
                 "profile a remote data centre that only the constellation reaches")
    weather: WeatherConfig | None = option(
        None, help="rain fade ([network.weather] table; empty: clear sky): the site and gateway link capacities at "
                   "the attenuation exceeded a given percentage of the year")
