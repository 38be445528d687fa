"""GP element records: what the TLE/3LE and OMM readers and the TLE writer share.

A `_GpRecord` is one element set in the units TLE and OMM files print; readers stack records
into `Elements`, the writer turns `Elements` back into records. Output units and epoch
convention are those of the `sgp4` package's `Satrec` (see elements.py), so a record read
here carries exactly the numbers `Satrec.twoline2rv` derives.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from placement.constellation.elements import Elements
from placement.errors import InputError

# Unit factors exactly as Vallado's twoline2rv writes them, so converted values are
# bit-identical to Satrec's.
_XPDOTP = 1440.0 / (2.0 * math.pi)  # (rev/day) per (rad/min)
_DEG2RAD = math.pi / 180.0
_MINUTES_PER_DAY = 1440.0

# Julian date of 0h UTC on proleptic Gregorian ordinal day 0 (date.fromordinal(1) is
# 0001-01-01, JD 1721425.5 at midnight).
_JD_OF_ORDINAL_ZERO = 1721424.5


@dataclasses.dataclass(frozen=True)
class TleRead:
    """What a reader returns: the good element sets, and one error per skipped record
    (empty unless skip_bad=True)."""

    elements: Elements
    rejected: tuple[InputError, ...] = ()


class _GpRecord(NamedTuple):
    """One GP (general perturbations) element set, in the units TLE and OMM files print
    (deg, rev/day, ...)."""

    name: str | None
    satnum: int
    classification: str
    intldesg: str
    epoch_jd: float          # Julian date of 0h UTC of the epoch day (whole + .5)
    epoch_fraction: float    # fraction of that day
    mean_motion_dot: float   # rev/day^2 (already halved, as printed)
    mean_motion_ddot: float  # rev/day^3 (already divided by 6, as printed)
    bstar: float
    element_set_number: int
    inclination: float
    raan: float
    eccentricity: float
    arg_perigee: float
    mean_anomaly: float
    mean_motion: float       # rev/day, Kozai
    rev_number: int


def _elements_from_records(records: list[_GpRecord]) -> Elements:
    """Stack records into one Elements, converting units column-wise as Satrec does."""
    columns = dict(zip(_GpRecord._fields, zip(*records)))

    def floats(key: str) -> np.ndarray:
        return np.array(columns[key], dtype=np.float64)

    names = columns["name"]
    if all(name is None for name in names):
        names = None  # Elements supplies its "SAT-<catalog>" default
    else:
        names = tuple("" if name is None else name for name in names)
    return Elements(
        no_kozai=floats("mean_motion") / _XPDOTP,
        ecco=floats("eccentricity"),
        inclo=floats("inclination") * _DEG2RAD,
        nodeo=floats("raan") * _DEG2RAD,
        argpo=floats("arg_perigee") * _DEG2RAD,
        mo=floats("mean_anomaly") * _DEG2RAD,
        bstar=floats("bstar"),
        ndot=floats("mean_motion_dot") / (_XPDOTP * _MINUTES_PER_DAY),
        nddot=floats("mean_motion_ddot") / (_XPDOTP * _MINUTES_PER_DAY * _MINUTES_PER_DAY),
        jdsatepoch=floats("epoch_jd"),
        jdsatepochF=floats("epoch_fraction"),
        satnum=np.array(columns["satnum"], dtype=np.int64),
        elnum=np.array(columns["element_set_number"], dtype=np.int64),
        revnum=np.array(columns["rev_number"], dtype=np.int64),
        name=names,
        intldesg=columns["intldesg"],
        classification=columns["classification"],
    )


@dataclasses.dataclass(frozen=True)
class _Place:
    """Where a record came from, so every error can say so."""

    source: str
    line: int | None = None
    label: str = ""  # e.g. "JSON item [3]": JSON records have no useful line numbers

    def error(self, field: str | None, message: str, expected: str | None = None) -> InputError:
        text = f"{self.label}: {message}" if self.label else message
        return InputError(text, source=self.source, line=self.line, field=field, expected=expected)


def _finish(records: list[_GpRecord], rejected: list[InputError], source: str) -> TleRead:
    if not records:
        detail = f" ({len(rejected)} rejected, first: {rejected[0]})" if rejected else ""
        raise InputError(
            f"no valid element sets{detail}", source=source, expected="at least one element set"
        )
    return TleRead(_elements_from_records(records), tuple(rejected))


def _julian_date_of_midnight(day: datetime.date) -> float:
    return day.toordinal() + _JD_OF_ORDINAL_ZERO



def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError("file not found", source=str(path), expected="an existing file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # -sig: spreadsheet CSV exports often start with a BOM
    except UnicodeDecodeError as error:
        raise InputError(
            f"byte {data[error.start]:#04x} is not UTF-8", source=str(path),
            line=data.count(b"\n", 0, error.start) + 1, field="encoding",
            expected="ASCII/UTF-8 text",
        ) from None

