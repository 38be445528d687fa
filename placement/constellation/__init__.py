"""Constellations: orbital elements from TLE/OMM files or generated Walker shells."""

from placement.constellation.elements import Elements
from placement.constellation.tle import TleRead, read_elements, write_tle

__all__ = ["Elements", "TleRead", "read_elements", "write_tle"]
