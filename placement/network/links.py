"""Radio link capacity: free-space path loss, a clear-sky link budget and the Shannon bound.

Device functions are jax.numpy, pure, jit-friendly and dtype-generic (they compute in the dtype
of `range_km`; the budget's parameters are Python floats, weakly typed). Link objects
(`LinkBudget`, `FixedRate`) are frozen host-side dataclasses validated on construction
(InputError naming the field) and expose one device method, `capacity_gbps(range_km)`:
    range inf (an empty slot)  -> 0 Gbps;   range NaN (an SGP4 error row) -> NaN.

Link budget (carrier-to-noise ratio in the receiver bandwidth B, all in dB):
    C/N = EIRP - FSPL(d, f) + G/T - losses - 10 log10(k_B) - 10 log10(B)
    FSPL = 20 log10(4 pi d f / c),   10 log10(k_B) = -228.6 dBW/K/Hz (Boltzmann's constant)
    capacity = efficiency * B * log2(1 + 10^(C/N / 10))
`efficiency` lumps the gap between practical modulation and coding (DVB-S2X, 5G NR) and the
Shannon bound, framing and guard overheads, and the share of a beam's channel that one ground
node gets. Interference and antenna scan loss varying with elevation are not modelled; `losses_db` holds
them as one fixed figure with a rain margin. Rain fade beyond that margin is an option (network/weather.py:
the attenuation exceeded p% of the year lowers C/N through `attenuation_db`).
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from placement.constants import SPEED_OF_LIGHT_KM_S
from placement.errors import InputError

C_M_S = SPEED_OF_LIGHT_KM_S * 1e3  # m/s
BOLTZMANN_DBW_K_HZ = -228.6          # 10 log10(1.380649e-23 J/K) = -228.5991..., rounded as usual


def _float(x):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def free_space_path_loss_db(range_km, frequency_ghz):
    """Free-space path loss, dB: 20 log10(4 pi d f / c), d = range_km * 1e3 m, f = frequency_ghz * 1e9 Hz.

    Equivalent to 92.448 + 20 log10(d_km) + 20 log10(f_GHz). Broadcasts; inf range -> inf loss.
    """
    d = _float(range_km)
    scale = 4.0 * math.pi * 1e3 * 1e9 / C_M_S                     # 1 km at 1 GHz
    return 20.0 * jnp.log10(d * (scale * jnp.asarray(frequency_ghz, d.dtype)))


def shannon_capacity_gbps(bandwidth_mhz, snr_db, efficiency=1.0):
    """efficiency * B * log2(1 + SNR), in Gbps (B in MHz, SNR in dB). Broadcasts.

    Uses log1p so that very low SNR keeps its (tiny) capacity; snr -inf -> 0.
    """
    snr = _float(snr_db)
    linear = jnp.power(10.0, snr / 10.0)
    bits_per_hz = jnp.log1p(linear) / math.log(2.0)
    return (jnp.asarray(efficiency, snr.dtype) * jnp.asarray(bandwidth_mhz, snr.dtype) * 1e-3) * bits_per_hz


def _check(owner: str, field: str, value, *, positive=False, unit_interval=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a number", source=owner, field=field, expected="a real number") from None
    if not math.isfinite(v):
        raise InputError(f"{v!r} is not finite", source=owner, field=field, expected="a finite number")
    if positive and not v > 0.0:
        raise InputError(f"{v!r} is not positive", source=owner, field=field, expected="> 0")
    if unit_interval and not 0.0 < v <= 1.0:
        raise InputError(f"{v!r} is outside (0, 1]", source=owner, field=field, expected="0 < value <= 1")
    return v


@dataclasses.dataclass(frozen=True)
class LinkBudget:
    """A clear-sky radio link: capacity as a function of slant range (see the module docstring).

    frequency_ghz   carrier frequency (> 0)
    bandwidth_mhz   receiver noise bandwidth = occupied channel (> 0)
    eirp_dbw        transmitter EIRP in that bandwidth
    g_over_t_db_k   receiver figure of merit G/T
    losses_db       fixed extra losses (atmosphere, rain margin, polarisation, pointing, scan)
    efficiency      fraction of the Shannon bound achieved (0 < efficiency <= 1)
    """

    frequency_ghz: float
    bandwidth_mhz: float
    eirp_dbw: float
    g_over_t_db_k: float
    losses_db: float = 0.0
    efficiency: float = 1.0

    def __post_init__(self):
        owner = type(self).__name__
        for name in ("frequency_ghz", "bandwidth_mhz"):
            object.__setattr__(self, name, _check(owner, name, getattr(self, name), positive=True))
        for name in ("eirp_dbw", "g_over_t_db_k", "losses_db"):
            object.__setattr__(self, name, _check(owner, name, getattr(self, name)))
        object.__setattr__(self, "efficiency", _check(owner, "efficiency", self.efficiency, unit_interval=True))

    def snr_db(self, range_km, attenuation_db=0.0):
        """Carrier-to-noise ratio C/N at `range_km`, dB (same shape as range_km), less an extra path
        attenuation (rain fade, network/weather.py) broadcast against it."""
        fspl = free_space_path_loss_db(range_km, self.frequency_ghz)
        noise_db = BOLTZMANN_DBW_K_HZ + 10.0 * math.log10(self.bandwidth_mhz * 1e6)
        return (self.eirp_dbw + self.g_over_t_db_k - self.losses_db - noise_db) - fspl - attenuation_db

    def capacity_gbps(self, range_km, attenuation_db=0.0):
        """efficiency * B * log2(1 + C/N) at `range_km` (C/N lowered by `attenuation_db`), Gbps; 0 at inf
        range, NaN at NaN."""
        return shannon_capacity_gbps(self.bandwidth_mhz, self.snr_db(range_km, attenuation_db), self.efficiency)


@dataclasses.dataclass(frozen=True)
class FixedRate:
    """A link with a constant capacity wherever it exists (e.g. a laser ISL at 100 Gbps)."""

    capacity: float  # Gbps, > 0

    def __post_init__(self):
        object.__setattr__(self, "capacity", _check(type(self).__name__, "capacity", self.capacity, positive=True))

    def capacity_gbps(self, range_km, attenuation_db=0.0):
        """`capacity` where range is finite; 0 at inf range (an empty slot); NaN at NaN range. A fixed rate has no
        budget for an attenuation to lower: `attenuation_db` is accepted, as by LinkBudget, and has no effect."""
        r = _float(range_km)
        c = jnp.asarray(self.capacity, r.dtype)
        return jnp.where(jnp.isnan(r), jnp.nan, jnp.where(jnp.isinf(r), 0.0, c)).astype(r.dtype)


# ---------------------------------------------------------------------------------------------
# Presets, one per direction: requests travel up (terminal uplink, then the feeder downlink to a gateway),
# responses down (feeder uplink, terminal downlink). Assumptions, not filed figures: each value gives its
# source or rationale, and the set is calibrated against the project's reference facts
# (starlink_performance_facts.csv of the reference set; rows cited as "facts: <metric>"). Slant ranges for a
# 550 km shell: 550 km at zenith, 749 km at 45 deg, ~1,123 km at the 25 deg user mask, ~812 km at a 40 deg
# gateway mask.
# ---------------------------------------------------------------------------------------------

# Starlink Ku user-terminal downlink, one 240 MHz channel of a beam shared by the users in it.
#  - 11.7 GHz: middle of the 10.7-12.7 GHz Ku downlink; 240 MHz used of each 250 MHz channel
#    (facts: "Ku user downlink spectrum").
#  - EIRP 35 dBW per channel: assumption, set so the budget lands on the calibration below.
#  - G/T 10 dB/K: a ~0.5 m flat phased array (~33-34 dBi at Ku) with ~250 K system noise.
#  - losses 5 dB: 0.5 atmosphere + 3 rain/availability margin + 1.5 scan/pointing.
#  - efficiency 0.5: DVB-S2X-class coding gap and overheads, and a per-user share of the beam.
#  Result: ~650 Mbps at zenith, ~410 Mbps at the 25 deg mask ("hundreds of Mbps"): below the
#  ~1.4 Gbps raw Shannon figure of the channel, above the 105 Mbps Ookla median per subscriber
#  (facts: "Ookla Speedtest US median latency" row, download 104.97 Mbps) that many users in a
#  beam share; ~150 such channels make up the ~96 Gbps of a V2 Mini
#  (facts: "V2 Mini user downlink capacity per satellite").
KU_USER_DOWNLINK = LinkBudget(
    frequency_ghz=11.7, bandwidth_mhz=240.0, eirp_dbw=35.0, g_over_t_db_k=10.0, losses_db=5.0, efficiency=0.5,
)

# Starlink Ka gateway (feeder) downlink, one satellite-to-gateway-antenna link.
#  - 18.5 GHz, 1,300 MHz: the 17.8-18.6 + 18.8-19.3 GHz Ka space-to-Earth bands, one polarisation.
#  - EIRP 40 dBW: assumption (a higher-gain feeder beam than the user beams).
#  - G/T 20 dB/K: a ~1.5 m gateway dish; SpaceX's 5 m Ka TT&C stations file 57 dBi and 31 dB/K
#    (SpaceX FCC experimental exhibit "Supplemental Information Regarding Earth Stations"),
#    and a 1.5 m dish has ~10 dB less gain.
#  - losses 4 dB (Ka rain margin dominates), efficiency 0.5 as above.
#  Result: ~4.5 Gbps at zenith, ~3.8 Gbps at the 40 deg gateway mask (facts: "Gateway min
#  elevation"): several gateway antennas per site (facts: "US gateway footprint", >1500 antennas
#  at >100 sites) plus lasers carry a satellite's user traffic.
KA_GATEWAY = LinkBudget(
    frequency_ghz=18.5, bandwidth_mhz=1300.0, eirp_dbw=40.0, g_over_t_db_k=20.0, losses_db=4.0, efficiency=0.5,
)

# Starlink Direct-to-Cell beam to an unmodified LTE phone.
#  - 1.99 GHz, 5 MHz: the PCS G-block downlink (1990-1995 MHz) used by T-Mobile's service.
#  - G/T -31.6 dB/K: 0 dBi phone antenna, 7 dB noise figure at 290 K (T_sys ~ 1,450 K).
#  - losses 6 dB: 3 dB linear (phone) vs circular polarisation + 3 dB body/indoor-edge loss.
#  - EIRP 36 dBW: assumption, set so the budget lands on the calibration below.
#  - efficiency 0.5: LTE overheads and the coding gap.
#  Result: ~6.3 Mbps at zenith, ~2.8 Mbps at 25 deg elevation, ~4 Mbps in between: the measured
#  ~4 Mbps per beam (facts: "Direct-to-Cell estimated downlink per beam", arXiv 2506.00283).
DIRECT_TO_CELL = LinkBudget(
    frequency_ghz=1.99, bandwidth_mhz=5.0, eirp_dbw=36.0, g_over_t_db_k=-31.6, losses_db=6.0, efficiency=0.5,
)

# Starlink Ku user-terminal uplink (terminal -> satellite), one 62.5 MHz channel.
#  - 14.25 GHz, 62.5 MHz: the 14.0-14.5 GHz Ku uplink in 8 channels of 62.5 MHz (facts: "Ku user uplink
#    spectrum").
#  - G/T 9 dB/K: the satellite's receive array (assumption, a little below the terminal's 10 dB/K).
#  - losses 5 dB and efficiency 0.5, as the downlink.
#  - EIRP 13.5 dBW in the channel: a calibration, not a measured terminal EIRP: it lumps the share of the
#    uplink channel one terminal is scheduled among the users of its beam, and is set so that a terminal gets
#    12.7 Mbps at 45 deg elevation (749 km slant at 550 km): the measured median Starlink upload, 12 Mbps
#    (facts: "Ookla Speedtest US median latency" row, upload 12 Mbps). That gives 21 Mbps at zenith and
#    6 Mbps at the 25 deg mask, within Starlink's advertised 5-20+ Mbps upload range for residential service.
KU_USER_UPLINK = LinkBudget(
    frequency_ghz=14.25, bandwidth_mhz=62.5, eirp_dbw=13.5, g_over_t_db_k=9.0, losses_db=5.0, efficiency=0.5,
)

# Starlink Ka gateway (feeder) uplink, gateway antenna -> satellite: what carries responses back up.
#  - 28.75 GHz, 2,100 MHz: the 27.5-29.1 + 29.5-30.0 GHz Ka Earth-to-space bands.
#  - G/T 8 dB/K: the satellite's feeder receive antenna (assumption).
#  - losses 6 dB: rain at 28 GHz takes more than at 18.5 GHz (KA_GATEWAY's 4 dB); efficiency 0.5.
#  - EIRP 53 dBW: assumption, a 1.5 m dish (about 51 dBi at 28.75 GHz) driven with under 2 W per channel
#    slice, set so the feeder carries as much up as down: 3.8 Gbps at the 40 deg gateway mask, 4.9 Gbps at
#    zenith (KA_GATEWAY: 3.8 and 4.5).
KA_GATEWAY_UPLINK = LinkBudget(
    frequency_ghz=28.75, bandwidth_mhz=2100.0, eirp_dbw=53.0, g_over_t_db_k=8.0, losses_db=6.0, efficiency=0.5,
)

# Direct-to-Cell uplink, an unmodified LTE phone -> the satellite's D2C array.
#  - 1.91 GHz, 5 MHz: the PCS G-block uplink (1910-1915 MHz) paired with DIRECT_TO_CELL's downlink.
#  - EIRP -7 dBW: a phone's 23 dBm (200 mW, LTE power class 3) maximum into a 0 dBi antenna.
#  - G/T 5 dB/K: a ~6 m^2 phased array (~32 dBi at 1.9 GHz) with ~500 K system noise (assumption).
#  - losses 6 dB (polarisation and body, as the downlink), efficiency 0.5.
#  Result: 2.8 Mbps at zenith, 1.8 Mbps at 45 deg, 0.9 Mbps at 25 deg: below the ~4 Mbps of the downlink
#  beam (facts: "Direct-to-Cell estimated downlink per beam"), as a phone's power limits its uplink.
DIRECT_TO_CELL_UPLINK = LinkBudget(
    frequency_ghz=1.91, bandwidth_mhz=5.0, eirp_dbw=-7.0, g_over_t_db_k=5.0, losses_db=6.0, efficiency=0.5,
)

# Laser inter-satellite link: ~100 Gbps per link (facts: "ISL laser per-link rate").
LASER_ISL = FixedRate(capacity=100.0)
