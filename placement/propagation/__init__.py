"""Propagation: SGP4 in JAX (Vallado's names, host float64 initialisation, batched jitted propagation),
frames (GMST, TEME -> Earth-fixed -> WGS84 geodetic), the Sun and Earth's shadow, time grids and the placement
horizon, and one streamed propagation feeding the network, the power model and the tracks (`orbits`)."""

from placement.propagation.orbits import OrbitChunk, Orbits, orbit_chunks, propagate_orbits
from placement.propagation.sgp4 import Ephemeris, Propagator
from placement.propagation.timegrid import Horizon, TimeGrid, parse_utc

__all__ = ["Ephemeris", "Horizon", "OrbitChunk", "Orbits", "Propagator", "TimeGrid", "orbit_chunks", "parse_utc",
           "propagate_orbits"]
