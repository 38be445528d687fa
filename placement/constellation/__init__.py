"""Constellations: orbital elements from TLE/OMM files or generated Walker shells."""

from placement.constellation.elements import Elements
from placement.constellation.gp_record import TleRead
from placement.constellation.omm import read_omm
from placement.constellation.tle import read_elements
from placement.constellation.tle_parse import parse_tle, read_tle
from placement.constellation.tle_write import format_tle, write_tle

__all__ = ["Elements", "TleRead", "read_elements", "read_omm", "read_tle", "parse_tle",
           "format_tle", "write_tle"]
