"""Capacity of each shared link (one direction), in Gbps, with the source of every figure.

  laser            `NetworkSpec.laser_capacity_gbps`, 100 Gbps per direction (facts: "ISL laser per-link rate").
  user beams       what one satellite carries to and from all its users: 96 Gbps down (facts: "V2 Mini user
                   downlink capacity per satellite", ~96 Gbps) and 6.7 Gbps up (the same row's note: uplink
                   ~6.7 Gbps); a V2 Mini's figures, the satellites launched since 2023.
  Direct-to-Cell   one beam per satellite serving the Direct-to-Cell sites on it (assumption: a beam is tens of
                   km across, so sites far apart would have beams of their own): ~4 Mbps down (facts:
                   "Direct-to-Cell estimated downlink per beam"); up, the phone uplink budget of links.py at 45
                   deg elevation (1.8 Mbps: no published per-beam uplink figure).
  feeder           one feeder link per satellite at a time (assumption), each direction's budget
                   (`NetworkSpec.gateway_downlink` and `gateway_uplink`, links.py) at the gateway elevation mask,
                   the longest slant range it is used at: 3.8 Gbps each way at 40 deg for a 550 km shell.
  gateway          its antennas (the gateway table's antenna column, placement/network/data/gateways.csv; one
                   for a gateway the table does not list) times that feeder figure, per direction.
  fiber            unlimited (terrestrial fiber is not the bottleneck at these rates: no row).

The "facts" rows are those of shared/reference/starlink_performance_facts.csv, as links.py cites them.
"""

from __future__ import annotations

import numpy as np

from placement.network.geometry import max_range_km
from placement.network.incidence import BLOCKS, LinkIds
from placement.network.links import DIRECT_TO_CELL, DIRECT_TO_CELL_UPLINK
from placement.network.tensors import NetworkSpec

USER_DOWNLINK_GBPS = 96.0  # per satellite (facts: "V2 Mini user downlink capacity per satellite")
USER_UPLINK_GBPS = 6.7  # per satellite (facts: the same row, "uplink ~6.7 Gbps")
DTC_BEAM_DOWNLINK_GBPS = 4e-3  # per beam (facts: "Direct-to-Cell estimated downlink per beam", ~4 Mbps)
DTC_UPLINK_SLANT_KM = 749.0  # 45 deg elevation from a 550 km shell (links.py's slant ranges)


def capacity_gbps(ids: LinkIds, links: np.ndarray, spec: NetworkSpec, gateway_antennas: np.ndarray,
                  altitude_km: float) -> np.ndarray:
    """[link] capacity of each link id (`incidence.LinkIds`) in Gbps: the module docstring's figures; the
    feeders at the gateway mask's slant range from `altitude_km`."""
    block, offset = ids.decode(np.asarray(links))
    slant_km = float(max_range_km(altitude_km, np.radians(spec.gateway_reach.min_elevation_deg)))
    feeder_down = float(spec.gateway_downlink.capacity_gbps(slant_km))
    feeder_up = float(spec.gateway_uplink.capacity_gbps(slant_km))
    direct_to_cell = spec.site_downlink is DIRECT_TO_CELL
    user_up = float(DIRECT_TO_CELL_UPLINK.capacity_gbps(DTC_UPLINK_SLANT_KM)) if direct_to_cell else USER_UPLINK_GBPS
    user_down = DTC_BEAM_DOWNLINK_GBPS if direct_to_cell else USER_DOWNLINK_GBPS
    per_block = {"laser": spec.laser_capacity_gbps, "user-uplink": user_up, "user-downlink": user_down,
                 "feeder-downlink": feeder_down, "feeder-uplink": feeder_up}
    capacity = np.array([per_block.get(name, np.inf) for name in BLOCKS])[block]
    antennas = np.asarray(gateway_antennas, float)[np.minimum(offset, ids.n_gateway - 1)]
    capacity = np.where(block == BLOCKS.index("gateway-receive"), antennas * feeder_down, capacity)
    return np.where(block == BLOCKS.index("gateway-transmit"), antennas * feeder_up, capacity)
