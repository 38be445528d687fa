"""Batched mean orbital elements, one row per satellite.

Field names and units follow Vallado's SGP4 code (and the `sgp4` package's `Satrec`), so
the propagation code can be read line by line against the reference:

    no_kozai  mean motion as written in a TLE (Kozai convention), rad/min
    ecco      eccentricity
    inclo     inclination, rad
    nodeo     right ascension of the ascending node, rad
    argpo     argument of perigee, rad
    mo        mean anomaly, rad
    bstar     drag term, 1/earth radii
    ndot      first derivative of mean motion / 2, rad/min^2 (unused by SGP4, kept for export)
    nddot     second derivative of mean motion / 6, rad/min^3 (unused by SGP4, kept for export)
    jdsatepoch, jdsatepochF   epoch as Julian day (whole + .5) and fraction of day, UTC

All arrays are float64 host (numpy) arrays of shape [sat]; the host is where elements are
read, generated and written, and float64 is what SGP4 initialisation needs.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from placement.constants import WGS72

_FLOAT_FIELDS = (
    "no_kozai", "ecco", "inclo", "nodeo", "argpo", "mo",
    "bstar", "ndot", "nddot", "jdsatepoch", "jdsatepochF",
)
_INT_FIELDS = ("satnum", "elnum", "revnum")
_STR_FIELDS = ("name", "intldesg", "classification")


@dataclasses.dataclass(frozen=True, eq=False)
class Elements:
    """Mean elements of N satellites (TLE/OMM semantics). Build with keyword arguments;
    optional fields default to the values a TLE would carry when unknown."""

    no_kozai: np.ndarray
    ecco: np.ndarray
    inclo: np.ndarray
    nodeo: np.ndarray
    argpo: np.ndarray
    mo: np.ndarray
    bstar: np.ndarray
    jdsatepoch: np.ndarray
    jdsatepochF: np.ndarray
    ndot: np.ndarray | None = None
    nddot: np.ndarray | None = None
    satnum: np.ndarray | None = None        # int64 catalog numbers (Alpha-5 decoded: A0000 -> 100000)
    elnum: np.ndarray | None = None         # element set number
    revnum: np.ndarray | None = None        # revolution number at epoch
    name: tuple[str, ...] | None = None
    intldesg: tuple[str, ...] | None = None  # international designator, e.g. "19074B"
    classification: tuple[str, ...] | None = None

    def __post_init__(self):
        n = np.shape(self.no_kozai)
        if len(n) != 1:
            raise ValueError(f"Elements.no_kozai must be 1-D [sat], got shape {n}")
        count = n[0]
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        for key in _FLOAT_FIELDS:
            value = getattr(self, key)
            value = np.zeros(count) if value is None else np.asarray(value, dtype=np.float64)
            if value.shape != (count,):
                raise ValueError(f"Elements.{key} has shape {value.shape}, expected ({count},)")
            set_(key, value)
        defaults = {"satnum": np.arange(count), "elnum": np.zeros(count), "revnum": np.zeros(count)}
        for key in _INT_FIELDS:
            value = getattr(self, key)
            value = np.asarray(defaults[key] if value is None else value, dtype=np.int64)
            if value.shape != (count,):
                raise ValueError(f"Elements.{key} has shape {value.shape}, expected ({count},)")
            set_(key, value)
        text_defaults = {
            "name": [f"SAT-{s}" for s in self.satnum],
            "intldesg": [""] * count,
            "classification": ["U"] * count,
        }
        for key in _STR_FIELDS:
            value = getattr(self, key)
            value = tuple(str(v) for v in (text_defaults[key] if value is None else value))
            if len(value) != count:
                raise ValueError(f"Elements.{key} has {len(value)} entries, expected {count}")
            set_(key, value)

    def __len__(self) -> int:
        return self.no_kozai.shape[0]

    def take(self, index: Sequence[int] | np.ndarray) -> "Elements":
        """The satellites at `index` (integer indices or a boolean mask), in that order."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        fields = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            fields[field.name] = (
                tuple(value[i] for i in index) if isinstance(value, tuple) else value[index]
            )
        return Elements(**fields)

    @staticmethod
    def concatenate(parts: Sequence["Elements"]) -> "Elements":
        """One Elements holding every satellite of `parts`, in order."""
        if not parts:
            raise ValueError("Elements.concatenate needs at least one part")
        fields = {}
        for field in dataclasses.fields(Elements):
            values = [getattr(p, field.name) for p in parts]
            fields[field.name] = (
                tuple(v for value in values for v in value)
                if isinstance(values[0], tuple)
                else np.concatenate(values)
            )
        return Elements(**fields)

    @property
    def period_min(self) -> np.ndarray:
        """Orbital period from the TLE mean motion, minutes."""
        return 2.0 * np.pi / self.no_kozai

    def mean_altitude_km(self) -> np.ndarray:
        """Semi-major axis from the mean motion by Kepler's third law (WGS72, Kozai's a1 before SGP4's
        Brouwer correction, a few km off), less the equatorial radius: for telling shells apart."""
        return ((WGS72.xke / self.no_kozai) ** (2.0 / 3.0) - 1.0) * WGS72.radiusearthkm
