"""Constellations: orbital elements from TLE/OMM files or generated Walker shells."""

from placement.constellation.elements import Elements

__all__ = ["Elements"]
