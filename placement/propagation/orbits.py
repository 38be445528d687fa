"""One streamed propagation of a constellation over a time grid, feeding everything that needs positions.

SGP4 (sgp4.py) in chunks of steps, each chunk turned at once into what the later stages use: Earth-fixed
positions (frames.py: the network's geometry, the tracks and maps) and the visible fraction of the solar
disc (sun.py: the power model). `orbit_chunks` streams them (the propagate job writes each chunk to disk);
`propagate_orbits` keeps the whole horizon in host memory as `Orbits`, [sat, time, ...], for a run, whose
network, power model and output tables all read this one propagation.

Memory: float32 positions are 12 bytes per satellite and step (a day of Starlink Gen1 at 15 s, 4,408 x 5,761
steps: 305 MB).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from placement.constellation.elements import Elements
from placement.propagation.frames import earth_rotation, ecef_to_geodetic, teme_to_ecef
from placement.propagation.sgp4 import Ephemeris, Propagator
from placement.propagation.sun import shadow_fraction, sun_position_km
from placement.propagation.timegrid import TimeGrid


@jax.jit
def _earth_fixed_and_sunlight(r_teme_km, cos_gmst, sin_gmst, sun_km):
    """ECEF positions [sat, time, 3] and the visible solar-disc fraction [sat, time]."""
    # The Sun is given in the mean equator of date, which is within about an arcminute of TEME.
    return teme_to_ecef(r_teme_km, cos_gmst, sin_gmst), shadow_fraction(r_teme_km, sun_km)


@dataclasses.dataclass(frozen=True, eq=False)
class OrbitChunk:
    """One chunk of steps (device arrays): SGP4's TEME state and error codes, Earth-fixed positions and
    sunlight, [sat, time, ...]."""

    grid: TimeGrid
    ephemeris: Ephemeris
    r_ecef_km: jax.Array  # [sat, time, 3]
    sunlit_fraction: jax.Array  # [sat, time]: 0 umbra, 1 full Sun; NaN where SGP4 failed


def orbit_chunks(propagator: Propagator, grid: TimeGrid, chunk_steps: int) -> Iterator[OrbitChunk]:
    """Stream `grid` in chunks of `chunk_steps` steps (one compilation: every chunk has one shape)."""
    for sub, ephemeris in propagator.chunks(grid, chunk_steps):
        jd, fr = sub.jd_fr()
        cos_gmst, sin_gmst = earth_rotation(jd, fr)
        r_ecef, sunlit = _earth_fixed_and_sunlight(ephemeris.r_km, cos_gmst, sin_gmst, sun_position_km(jd, fr))
        yield OrbitChunk(sub, ephemeris, r_ecef, sunlit)


@dataclasses.dataclass(frozen=True, eq=False)
class Orbits:
    """The satellites over a time grid, host numpy arrays [sat, time, ...] in the propagation's precision."""

    grid: TimeGrid
    r_ecef_km: np.ndarray  # [sat, time, 3]
    sunlit_fraction: np.ndarray  # [sat, time]
    error: np.ndarray  # [sat, time] int8, SGP4's codes (0 ok)

    @property
    def n_satellites(self) -> int:
        return self.r_ecef_km.shape[0]

    def geodetic(self, satellites: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """WGS84 latitude, longitude (deg) and altitude (km), float64 [sat, time], of `satellites` (all)."""
        r = self.r_ecef_km if satellites is None else self.r_ecef_km[np.asarray(satellites, int)]
        lat, lon, alt = ecef_to_geodetic(jnp.asarray(r))
        return (np.degrees(np.asarray(lat, np.float64)), np.degrees(np.asarray(lon, np.float64)),
                np.asarray(alt, np.float64))


def propagate_orbits(elements: Elements, grid: TimeGrid, dtype=np.float32, chunk_steps: int = 1440,
                     on_chunk: Callable[[int, int], None] | None = None) -> Orbits:
    """The whole `grid` in host memory, streamed in chunks of `chunk_steps` steps; `on_chunk(done, total)`
    after each chunk (progress)."""
    propagator = Propagator.create(elements, np.dtype(dtype))
    n_sat = len(elements)
    r = np.empty((n_sat, grid.n_steps, 3), propagator.dtype)
    sunlit = np.empty((n_sat, grid.n_steps), propagator.dtype)
    error = np.empty((n_sat, grid.n_steps), np.int8)
    first = 0
    for chunk in orbit_chunks(propagator, grid, chunk_steps):
        window = slice(first, first + chunk.grid.n_steps)
        r[:, window] = np.asarray(chunk.r_ecef_km)
        sunlit[:, window] = np.asarray(chunk.sunlit_fraction)
        error[:, window] = np.asarray(chunk.ephemeris.error)
        first += chunk.grid.n_steps
        if on_chunk is not None:
            on_chunk(first, grid.n_steps)
    return Orbits(grid, r, sunlit, error)
