"""Network layer: ground nodes and terrestrial fiber (ground.py), geometry, links, routes, tensors.

Re-exported here: the ground-segment API of `placement.network.ground`.
"""

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

__all__ = [
    "DEFAULT_FIBER_ROUTE_FACTOR",
    "EARTH_MEAN_RADIUS_KM",
    "GroundNodes",
    "cloud_regions",
    "demand_sites",
    "demand_sites_from_table",
    "distance_matrix_km",
    "fiber_latency_ms",
    "gateways",
    "great_circle_km",
    "load_table",
    "nearest",
    "pop_of_gateway",
    "pops",
]
