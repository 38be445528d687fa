"""Network layer: the ground segment and terrestrial fiber (ground), look angles and visibility (geometry),
link budgets (links), laser grids (isl), batched shortest paths (routes) and the time-major network tensors
built from the satellites' Earth-fixed positions (tensors)."""

from placement.network.ground import (
    DEFAULT_FIBER_ROUTE_FACTOR,
    EARTH_MEAN_RADIUS_KM,
    GroundNodes,
    cloud_regions,
    demand_sites,
    demand_sites_from_table,
    distance_matrix_km,
    fiber_latency_ms,
    gateways,
    great_circle_km,
    load_table,
    nearest,
    pop_of_gateway,
    pops,
)
from placement.network.isl import constellation_lasers, grid_shells, infer_plus_grid
from placement.network.links import DIRECT_TO_CELL, KA_GATEWAY, KU_USER_DOWNLINK, FixedRate, LinkBudget
from placement.network.tensors import Ground, NetworkSpec, NetworkTensors, build_network, network_chunks

__all__ = [
    "DEFAULT_FIBER_ROUTE_FACTOR", "DIRECT_TO_CELL", "EARTH_MEAN_RADIUS_KM", "KA_GATEWAY", "KU_USER_DOWNLINK",
    "FixedRate", "Ground", "GroundNodes", "LinkBudget", "NetworkSpec", "NetworkTensors", "build_network",
    "cloud_regions", "constellation_lasers", "demand_sites", "demand_sites_from_table", "distance_matrix_km",
    "fiber_latency_ms", "gateways", "grid_shells", "great_circle_km", "infer_plus_grid", "load_table", "nearest",
    "network_chunks", "pop_of_gateway", "pops",
]
