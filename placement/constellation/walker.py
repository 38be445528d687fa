"""Walker-delta shells as SGP4 mean elements: the filed constellations, generated.

Geometry
--------
A Walker delta shell i:T/P/F (J. G. Walker, "Satellite constellations", J. Br. Interplanet.
Soc. 37, 1984) has T satellites on circular orbits of inclination i in P planes of S = T/P
satellites each; the integer F in 0..P-1 sets the relative phasing between planes. Counting
planes k = 0..P-1 and satellites j = 0..S-1 from zero, satellite (k, j) has

    (1)  RAAN      Omega_k = Omega_0 + k * Delta / P
    (2)  arg. lat. u_kj    = 2 pi j / S + 2 pi F k / T

Delta is the RAAN spread: 2 pi for a true Walker delta, less for a partial spread such as
Starlink Gen1 shell 5 (4 planes 12 deg apart, Delta = 48 deg). The orbits are circular
(e = 0) with argument of perigee 0, so the mean anomaly M equals u. Going from plane k to
plane k + 1, every satellite moves ahead by F * 360/T deg; T/P/F is Walker's notation exactly.

Mean motion
-----------
A TLE's mean motion n_K is in Kozai's convention, and SGP4 first turns it into its own
("un-Kozai'd", Brouwer) mean motion n_0 and semi-major axis a_0 (Vallado `initl`, sgp4 package
propagation.py). In earth radii and minutes, with k_e = 60 / sqrt(R^3 / mu) and e = 0:

    (3)  a_1 = (k_e / n_K)^(2/3),        d_1 = 3/4 J2 (3 cos^2 i - 1) / a_1^2
         a'  = a_1 (1 - d_1/3 - d_1^2 - 134/81 d_1^3),   d_0 = 3/4 J2 (3 cos^2 i - 1) / a'^2
         n_0 = n_K / (1 + d_0),          a_0 = (k_e / n_0)^(2/3)

SGP4 then adds short-period J2 terms to the radius (Vallado `sgp4`, variable `mrt`); for a
circular orbit

    (4)  r = a_0 - 3/4 J2 (3 cos^2 i - 1) / a_0 + 1/4 J2 sin^2 i cos 2u / a_0

whose orbit average drops the cos 2u term. We ask that the orbit-averaged radius be the
filed altitude above the WGS72 equatorial radius, r_bar = 1 + h / R, and solve (4) for a_0:

    (5)  a_0 = ( r_bar + sqrt(r_bar^2 + 3 J2 (3 cos^2 i - 1)) ) / 2

then invert (3) for n_K by the fixed point

    (6)  n_0 = k_e a_0^(-3/2),   n_K <- n_0 (1 + d_0(n_K)),   starting from n_K = n_0.

d_0 is about 1e-3, so each pass of (6) gains about three digits; five passes reach float64
precision.

Why not n = sqrt(mu / (R + h)^3): SGP4 reads any TLE mean motion as Kozai's, so step (3) moves
a_0 by 2/3 d_0 a, up to ~3.5 km from R + h, and the mean of (4) moves the radius by up to ~5 km
the other way. The naive n thus puts the Kuiper 33 deg shell 1.7 km low, and matching a_0 = R + h
alone (ignoring 4) puts it 5.3 km low; Starlink Gen1 files shells only 10 km apart (540, 550,
560, 570 km). With (5)-(6) SGP4's orbit-averaged radius is R + h to a few metres.

Everything here runs on the host in numpy float64: these are catalogue-building functions,
and SGP4 initialisation needs float64.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import numbers
import re
import types
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from placement.constants import WGS72
from placement.constellation.elements import Elements
from placement.errors import InputError

# Below the Karman line (100 km) nothing stays in orbit for even one revolution.
MIN_ALTITUDE_KM = 100.0

# The filings give planes and satellites per plane but no inter-plane phasing. F = 1 is the
# smallest non-zero phasing: neighbouring planes are staggered by 360/T deg, so satellites of
# adjacent planes do not cross the equator at the same instant (F = 0 would line them up).
DEFAULT_PHASING = 1

# Alpha-5 catalog numbers run to 339999 ("Z9999"). Generated satellites start at 300000 ("W0000"),
# so they can still be written as TLEs, and far above the catalog numbers of real objects (the
# highest in shared/reference/starlink_2026-02-23.tle is 67717), so a generated shell and a real
# catalogue can be loaded together.
DEFAULT_FIRST_SATNUM = 300_000

_UNKOZAI_PASSES = 5  # see (6): each pass gains ~3 digits from an error of ~1e-3


@dataclasses.dataclass(frozen=True)
class WalkerShell:
    """One Walker shell i:T/P/F (see the module docstring). Validated on construction."""

    name: str                  # e.g. "STARLINK-GEN1-S1"; satellite names start with it
    altitude_km: float         # orbit-averaged height above the WGS72 equatorial radius
    inclination_deg: float
    planes: int                # P
    sats_per_plane: int        # S = T / P
    phasing: int = DEFAULT_PHASING  # Walker F, 0..P-1
    raan_spread_deg: float = 360.0  # Delta in (1): 360 for a Walker delta
    raan0_deg: float = 0.0          # Omega_0 in (1)
    source: str = ""                # the filing the figures come from

    def __post_init__(self):
        where = f"shell {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("shell needs a name", source=where, field="name",
                             expected="a non-empty string")
        if not isinstance(self.source, str):
            raise InputError(f"source {self.source!r} is not text", source=where,
                             field="source", expected="a string naming the filing")
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("altitude_km", _real(where, "altitude_km", self.altitude_km,
                                  lambda x: x > MIN_ALTITUDE_KM,
                                  f"km above {MIN_ALTITUDE_KM:g} (the Karman line)"))
        set_("inclination_deg", _real(where, "inclination_deg", self.inclination_deg,
                                      lambda x: 0.0 <= x <= 180.0, "degrees in [0, 180]"))
        set_("planes", _integer(where, "planes", self.planes, 1, None))
        set_("sats_per_plane", _integer(where, "sats_per_plane", self.sats_per_plane, 1, None))
        set_("phasing", _integer(where, "phasing", self.phasing, 0, self.planes - 1))
        set_("raan_spread_deg", _real(where, "raan_spread_deg", self.raan_spread_deg,
                                      lambda x: 0.0 < x <= 360.0, "degrees in (0, 360]"))
        set_("raan0_deg", _real(where, "raan0_deg", self.raan0_deg, lambda x: True,
                                "a finite number of degrees"))

    @property
    def total_sats(self) -> int:
        """T = P * S."""
        return self.planes * self.sats_per_plane


def _real(where: str, field: str, value, ok: Callable[[float], bool], expected: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not ok(float(value))):
        raise InputError(f"invalid value {value!r}", source=where, field=field, expected=expected)
    return float(value)


def _integer(where: str, field: str, value, lo: int, hi: int | None) -> int:
    expected = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or value < lo or (hi is not None and value > hi)):
        raise InputError(f"invalid value {value!r}", source=where, field=field, expected=expected)
    return int(value)


def plane_raans_rad(shell: WalkerShell) -> np.ndarray:
    """Equation (1): RAAN of each plane, rad in [0, 2 pi), shape [P]."""
    k = np.arange(shell.planes)
    raan_deg = shell.raan0_deg + k * shell.raan_spread_deg / shell.planes
    return np.radians(np.mod(raan_deg, 360.0))


def walker_argument_of_latitude_rad(shell: WalkerShell) -> np.ndarray:
    """Equation (2): argument of latitude of satellite (k, j), rad in [0, 2 pi), shape [P, S]."""
    k = np.arange(shell.planes)[:, None]
    j = np.arange(shell.sats_per_plane)[None, :]
    # In units of whole turns first, so the sum wraps exactly before scaling to radians.
    turns = j / shell.sats_per_plane + shell.phasing * k / shell.total_sats
    return 2.0 * np.pi * np.mod(turns, 1.0)


def _brouwer_delta(no_kozai: np.ndarray, inclo: np.ndarray) -> np.ndarray:
    """d_0 of equation (3) for circular orbits: n_0 = n_K / (1 + d_0)."""
    d1_num = 0.75 * WGS72.j2 * (3.0 * np.cos(inclo) ** 2 - 1.0)
    a1 = (WGS72.xke / no_kozai) ** (2.0 / 3.0)
    d1 = d1_num / a1**2
    a_prime = a1 * (1.0 - d1 / 3.0 - d1**2 - 134.0 / 81.0 * d1**3)
    return d1_num / a_prime**2


def kozai_mean_motion(altitude_km, inclination_rad) -> np.ndarray:
    """TLE (Kozai) mean motion, rad/min, that puts a circular SGP4 orbit's orbit-averaged
    radius at RADIUS_EARTH_KM + altitude_km (equations 4-6). Broadcasts its arguments."""
    altitude_km = np.asarray(altitude_km, dtype=np.float64)
    inclination_rad = np.asarray(inclination_rad, dtype=np.float64)
    r_bar = 1.0 + altitude_km / WGS72.radiusearthkm
    con41 = 3.0 * np.cos(inclination_rad) ** 2 - 1.0
    a0 = 0.5 * (r_bar + np.sqrt(r_bar**2 + 3.0 * WGS72.j2 * con41))  # (5)
    n0 = WGS72.xke * a0**-1.5
    no_kozai = n0
    for _ in range(_UNKOZAI_PASSES):  # (6)
        no_kozai = n0 * (1.0 + _brouwer_delta(no_kozai, inclination_rad))
    return no_kozai


def _check_epoch(epoch_jd, epoch_fr) -> tuple[float, float]:
    epoch_jd, epoch_fr = float(epoch_jd), float(epoch_fr)
    # The Elements convention (and the sgp4 package's): a whole Julian day at 0h UT, ending .5.
    if not math.isfinite(epoch_jd) or (epoch_jd - 0.5) % 1.0 != 0.0:
        raise InputError(f"epoch_jd {epoch_jd!r} is not at 0h UT", field="epoch_jd",
                         expected="a Julian day ending in .5, the fraction in epoch_fr")
    if not 0.0 <= epoch_fr < 1.0:
        raise InputError(f"epoch_fr {epoch_fr!r} is not a fraction of a day", field="epoch_fr",
                         expected="a number in [0, 1)")
    return epoch_jd, epoch_fr


def walker_delta(
    shell: WalkerShell,
    epoch_jd: float,
    epoch_fr: float,
    *,
    bstar: float = 0.0,
    first_satnum: int = DEFAULT_FIRST_SATNUM,
    name_prefix: str | None = None,
) -> Elements:
    """Mean elements of every satellite of `shell` at the epoch `epoch_jd + epoch_fr` (UTC).

    Walker i:T/P/F convention: plane k has RAAN raan0 + k * spread / P and satellite j of plane
    k has mean anomaly 360 j / S + 360 F k / T deg (equations 1-2); orbits are circular with
    argument of perigee 0. Satellites are ordered plane by plane, numbered from `first_satnum`,
    and named "<prefix>-Pkk-jj" with 1-based plane and slot (prefix: the shell's name).
    """
    epoch_jd, epoch_fr = _check_epoch(epoch_jd, epoch_fr)
    first_satnum = _integer("walker_delta", "first_satnum", first_satnum, 0, None)
    prefix = shell.name if name_prefix is None else name_prefix
    count = shell.total_sats
    inclo = math.radians(shell.inclination_deg)

    nodeo = np.repeat(plane_raans_rad(shell), shell.sats_per_plane)
    mo = walker_argument_of_latitude_rad(shell).reshape(count)  # = M, as argpo = 0
    width_p = max(2, len(str(shell.planes)))
    width_s = max(2, len(str(shell.sats_per_plane)))
    names = tuple(
        f"{prefix}-P{k + 1:0{width_p}d}-{j + 1:0{width_s}d}"
        for k in range(shell.planes)
        for j in range(shell.sats_per_plane)
    )
    return Elements(
        no_kozai=np.full(count, kozai_mean_motion(shell.altitude_km, inclo)),
        ecco=np.zeros(count),  # SGP4 accepts e = 0 (its eccentricity floor is applied later)
        inclo=np.full(count, inclo),
        nodeo=nodeo,
        argpo=np.zeros(count),
        mo=mo,
        bstar=np.full(count, float(bstar)),
        jdsatepoch=np.full(count, epoch_jd),
        jdsatepochF=np.full(count, epoch_fr),
        satnum=first_satnum + np.arange(count, dtype=np.int64),
        name=names,
    )


def constellation(
    shells: Iterable[WalkerShell],
    epoch_jd: float,
    epoch_fr: float,
    *,
    bstar: float = 0.0,
    first_satnum: int = DEFAULT_FIRST_SATNUM,
) -> Elements:
    """All shells' satellites in one Elements, shell after shell, with consecutive catalog
    numbers from `first_satnum` and names "<shell name>-Pkk-jj"."""
    shells = tuple(shells)
    if not shells:
        raise InputError("no shells given", field="shells", expected="at least one WalkerShell")
    names = [shell.name for shell in shells]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"shell names repeat: {', '.join(repeated)}", field="shells",
                         expected="distinct shell names, so satellite names are unique")
    parts = []
    for shell in shells:
        parts.append(walker_delta(shell, epoch_jd, epoch_fr, bstar=bstar,
                                  first_satnum=first_satnum))
        first_satnum += shell.total_sats
    return Elements.concatenate(parts)


_STARLINK_GEN1_FILING = "FCC SAT-MOD-20200417-00037 (granted FCC 21-48, Apr 2021)"
_KUIPER_FILING = "FCC SAT-LOA-20190704-00057"
# Shells 4-5 RAANs are not in the filing's summary; they are the values the hermes simulator
# (Josvth/hermes, SpaceX.py) uses, as recorded in shared/reference/constellation_shells.csv.
_HERMES = "; RAAN0 and RAAN spacing from Josvth/hermes SpaceX.py"

# Starlink Gen1: 4,408 satellites in 5 shells (altitude km / inclination deg / planes x sats).
STARLINK_GEN1: tuple[WalkerShell, ...] = (
    WalkerShell("STARLINK-GEN1-S1", 550.0, 53.0, 72, 22, source=_STARLINK_GEN1_FILING),
    WalkerShell("STARLINK-GEN1-S2", 540.0, 53.2, 72, 22, source=_STARLINK_GEN1_FILING),
    WalkerShell("STARLINK-GEN1-S3", 570.0, 70.0, 36, 20, source=_STARLINK_GEN1_FILING),
    WalkerShell("STARLINK-GEN1-S4", 560.0, 97.6, 6, 58, raan0_deg=63.7, raan_spread_deg=360.0,
                source=_STARLINK_GEN1_FILING + _HERMES),  # 6 planes 60 deg apart
    WalkerShell("STARLINK-GEN1-S5", 560.0, 97.6, 4, 43, raan0_deg=75.7, raan_spread_deg=48.0,
                source=_STARLINK_GEN1_FILING + _HERMES),  # 4 planes 12 deg apart
)

# Project Kuiper: 3,236 satellites in 3 shells.
KUIPER: tuple[WalkerShell, ...] = (
    WalkerShell("KUIPER-K1", 630.0, 51.9, 34, 34, source=_KUIPER_FILING),
    WalkerShell("KUIPER-K2", 610.0, 42.0, 36, 36, source=_KUIPER_FILING),
    WalkerShell("KUIPER-K3", 590.0, 33.0, 28, 28, source=_KUIPER_FILING),
)

# IRIS2, the EU's planned system: 272 LEO satellites at about 1,200 km and 18 MEO satellites at 8,000 km
# (SpaceRISE's requests for proposals of 2025-12-29, as reported by advanced-television.com on 2026-01-05,
# "IRIS2 starts RFP phase"). Planes, slots and inclinations are not published; these are assumptions: the LEO
# layer as a polar Walker star of 16 planes x 17 at 87.9 deg, the inclination of OneWeb's 1,200 km shell
# (constellation_shells.csv of the reference set; Eutelsat, which flies OneWeb, leads SpaceRISE), and the MEO
# layer as one equatorial ring, the orbit of SES's O3b MEO fleet the layer is to build on.
_IRIS2 = "advanced-television.com 2026-01-05 (counts and altitudes); planes and inclinations assumed"
IRIS2: tuple[WalkerShell, ...] = (
    WalkerShell("IRIS2-LEO", 1200.0, 87.9, 16, 17, raan_spread_deg=180.0, source=_IRIS2),
    WalkerShell("IRIS2-MEO", 8000.0, 0.0, 1, 18, phasing=0, source=_IRIS2),
)

BUILTIN: types.MappingProxyType[str, tuple[WalkerShell, ...]] = types.MappingProxyType({
    "starlink-gen1": STARLINK_GEN1,
    "kuiper": KUIPER,
    "iris2": IRIS2,
})


def builtin(name: str) -> tuple[WalkerShell, ...]:
    """The shells of a built-in constellation, by case-insensitive name."""
    key = str(name).strip().lower()
    if key not in BUILTIN:
        raise InputError(f"unknown constellation {name!r}", field="name",
                         expected="one of " + ", ".join(sorted(BUILTIN)))
    return BUILTIN[key]


# Columns of shared/reference/constellation_shells.csv that a shell needs. total_sats, if present,
# is checked against planes x sats_per_plane; phasing, raan_spread_deg and raan0_deg, if present
# and filled in, override the defaults (a filing that states them can be used as filed).
_REQUIRED_COLUMNS = ("constellation", "filing_or_basis", "shell", "altitude_km",
                     "inclination_deg", "planes", "sats_per_plane")
_OPTIONAL_COLUMNS = {"phasing": int, "raan_spread_deg": float, "raan0_deg": float}
# WalkerShell fields whose column has another name; the others share their column's name.
_FIELD_COLUMN = {"name": "shell", "source": "filing_or_basis"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", text.upper()).strip("-")


def read_shells_csv(path: str | Path, constellation_name: str) -> tuple[WalkerShell, ...]:
    """The shells of `constellation_name` (case-insensitive match on the `constellation` column)
    from a CSV with the columns of constellation_shells.csv. Shells are named
    "<CONSTELLATION>-S<n>" for a numeric `shell` label, "<CONSTELLATION>-<LABEL>" otherwise."""
    source = str(path)
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot open: {err.strerror}", source=source) from err
    wanted = constellation_name.strip().casefold()
    shells, found = [], []
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in _REQUIRED_COLUMNS if c not in header]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}", source=source, line=1,
                             field=missing[0], expected="columns " + ", ".join(_REQUIRED_COLUMNS))
        for row in reader:
            line = reader.line_num  # physical line where this record ends (1 = header)
            name = (row["constellation"] or "").strip()
            found.append(name)
            if name.casefold() == wanted:
                shells.append(_shell_from_row(row, _slug(name), source, line))
    if not shells:
        raise InputError(f"no rows for constellation {constellation_name!r}", source=source,
                         field="constellation",
                         expected="one of " + ", ".join(repr(n) for n in dict.fromkeys(found)))
    return tuple(shells)


def _cell(row: dict, column: str, kind: type, source: str, line: int):
    text = (row.get(column) or "").strip()
    try:
        return kind(text)
    except ValueError:
        expected = "a whole number" if kind is int else "a number"
        raise InputError(f"cannot read {text!r}", source=source, line=line, field=column,
                         expected=expected) from None


def _shell_from_row(row: dict, constellation_slug: str, source: str, line: int) -> WalkerShell:
    label = (row["shell"] or "").strip()
    if not label:
        raise InputError("empty shell label", source=source, line=line, field="shell",
                         expected="a label such as 1 or K1")
    fields = {
        "name": f"{constellation_slug}-" + (f"S{label}" if label.isdigit() else _slug(label)),
        "source": (row["filing_or_basis"] or "").strip(),
        "altitude_km": _cell(row, "altitude_km", float, source, line),
        "inclination_deg": _cell(row, "inclination_deg", float, source, line),
        "planes": _cell(row, "planes", int, source, line),
        "sats_per_plane": _cell(row, "sats_per_plane", int, source, line),
    }
    for column, kind in _OPTIONAL_COLUMNS.items():
        if (row.get(column) or "").strip():
            fields[column] = _cell(row, column, kind, source, line)
    try:
        shell = WalkerShell(**fields)
    except InputError as err:
        raise InputError(err.detail, source=source, line=line,
                         field=_FIELD_COLUMN.get(err.field, err.field),
                         expected=err.expected) from None
    if (row.get("total_sats") or "").strip():
        total = _cell(row, "total_sats", int, source, line)
        if total != shell.total_sats:
            raise InputError(f"total_sats {total} disagrees with planes x sats_per_plane",
                             source=source, line=line, field="total_sats",
                             expected=f"{shell.planes} x {shell.sats_per_plane} = "
                                      f"{shell.total_sats}")
    return shell
