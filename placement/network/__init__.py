"""Network layer: the ground segment and terrestrial fiber (ground), look angles and visibility (geometry),
link budgets (links), laser grids (isl), batched shortest paths (routes) and the time-major network tensors
built from the satellites' Earth-fixed positions (tensors)."""

from placement.network.ground import (DEFAULT_FIBER_ROUTE_FACTOR, EARTH_MEAN_RADIUS_KM, GroundNodes, cloud_regions,
                                      demand_sites, demand_sites_from_table, distance_matrix_km, fiber_latency_ms,
                                      gateways, great_circle_km, load_table, nearest, pop_of_gateway, pops)
from placement.network.access import ACCESS_RULES, Access, Reach
from placement.network.epochs import Candidates, NetworkTensors
from placement.network.isl import constellation_lasers, grid_shells, infer_plus_grid
from placement.network.links import (DIRECT_TO_CELL, DIRECT_TO_CELL_UPLINK, KA_GATEWAY, KA_GATEWAY_UPLINK,
                                     KU_USER_DOWNLINK, KU_USER_UPLINK, FixedRate, LinkBudget)
from placement.network.tensors import Ground, NetworkSpec, Steps, build_network, network_steps
from placement.network.windows import LocalRoutes, Windows, local_routes

__all__ = [
    "ACCESS_RULES", "Access", "Candidates", "DEFAULT_FIBER_ROUTE_FACTOR", "DIRECT_TO_CELL", "DIRECT_TO_CELL_UPLINK",
    "EARTH_MEAN_RADIUS_KM", "KA_GATEWAY", "KA_GATEWAY_UPLINK", "KU_USER_DOWNLINK", "KU_USER_UPLINK", "FixedRate",
    "Ground", "GroundNodes", "LinkBudget", "LocalRoutes", "NetworkSpec", "NetworkTensors", "Reach", "Steps",
    "Windows", "build_network", "cloud_regions", "constellation_lasers", "demand_sites", "demand_sites_from_table",
    "distance_matrix_km", "fiber_latency_ms", "gateways", "grid_shells", "great_circle_km", "infer_plus_grid",
    "load_table", "local_routes", "nearest", "network_steps", "pop_of_gateway", "pops",
]
