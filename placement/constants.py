"""Physical constants shared by several stages, each with its source."""

from __future__ import annotations

import math
from typing import NamedTuple


class Gravity(NamedTuple):
    """Earth constants used by SGP4 (Vallado `getgravconst`)."""

    radiusearthkm: float
    mu: float  # km^3/s^2
    j2: float
    j3: float
    j4: float

    @property
    def xke(self) -> float:  # sqrt(mu) in earth radii^1.5 per minute
        return 60.0 / math.sqrt(self.radiusearthkm**3 / self.mu)

    @property
    def j3oj2(self) -> float:
        return self.j3 / self.j2


# WGS72 as used with every published TLE (Vallado getgravconst 'wgs72').
WGS72 = Gravity(radiusearthkm=6378.135, mu=398600.8, j2=0.001082616, j3=-0.00000253881, j4=-0.00000165597)


# Speed of light in vacuum, exact by the SI definition of the metre.
SPEED_OF_LIGHT_KM_S = 299_792.458
