"""Two-line element sets (TLE, 3LE) and CelesTrak OMM files, read into and written from `Elements`.

TLE / 3LE
---------
A TLE is two 69-column lines per satellite; a 3LE puts a name line in front of them
(CelesTrak writes the bare name padded to 24 columns, Space-Track writes "0 NAME").
Column layout, 1-based and inclusive, from CelesTrak "NORAD Two-Line Element Set Format"
(T.S. Kelso) and Space-Track "Basic Description of the Two Line Element Set Format":

    line 1                                        line 2
    1      line number "1"                        1      line number "2"
    3-7    catalog number                         3-7    catalog number
    8      classification (U, C, S)               9-16   inclination, deg
    10-17  international designator YYNNNPPP      18-25  right ascension of the node, deg
    19-20  epoch year (57-99: 19xx, else 20xx)    27-33  eccentricity, "0." implied
    21-32  epoch day of year and fraction         35-42  argument of perigee, deg
    34-43  mean motion dot / 2, rev/day^2         44-51  mean anomaly, deg
    45-52  mean motion ddot / 6, rev/day^3 (*)    53-63  mean motion, rev/day
    54-61  bstar, 1/earth radii (*)               64-68  revolution number at epoch
    63     ephemeris type                         69     checksum
    65-68  element set number
    69     checksum

(*) "assumed decimal" notation: " 12345-6" is +0.12345e-6. Every other column up to 68
is blank. The checksum is the sum of the digits in columns 1-68, each '-' counting 1,
modulo 10. Catalog numbers above 99999 use Alpha-5: a letter for the ten-thousands
(A = 10 ... Z = 33, skipping I and O, so A0000 = 100000 and Z9999 = 339999; Space-Track
"Alpha-5" documentation). Lines may run past column 69 (Vallado's SGP4-VER.TLE appends
propagation start/stop/step there); the tail is ignored.

OMM
---
CelesTrak's GP data in OMM keywords (CelesTrak "A New Way to Obtain GP Data"; keywords from
CCSDS 502.0-B Orbit Data Messages): a JSON list of objects, or CSV with a header row. Values
are in TLE units (MEAN_MOTION rev/day, angles deg, MEAN_MOTION_DOT rev/day^2,
MEAN_MOTION_DDOT rev/day^3) and EPOCH is ISO 8601 UTC, e.g. "2026-02-23T22:52:52.307616".

Output units and epoch convention are those of the `sgp4` package's `Satrec` (see
elements.py), so a record read here carries exactly the numbers `Satrec.twoline2rv` derives.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import math
import os
import re
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

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

_TLE_LINE_LENGTH = 69
_ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O skipped: they read as 1 and 0
_MAX_ALPHA5 = (10 + len(_ALPHA5_LETTERS)) * 10000 - 1  # Z9999

TLE_SUFFIXES = (".tle", ".txt", ".3le", ".2le")
OMM_SUFFIXES = (".json", ".csv")


@dataclasses.dataclass(frozen=True)
class TleRead:
    """What a reader returns: the good element sets, and one error per skipped record
    (empty unless skip_bad=True)."""

    elements: Elements
    rejected: tuple[InputError, ...] = ()


# --------------------------------------------------------------------------- records


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


# ------------------------------------------------------------------------ TLE fields


@dataclasses.dataclass(frozen=True)
class _Column:
    field: str
    first: int  # 1-based inclusive columns, as in the format documents
    last: int
    pattern: re.Pattern
    expected: str

    def text(self, line: str) -> str:
        return line[self.first - 1 : self.last]


def _column(field: str, first: int, last: int, pattern: str, expected: str) -> _Column:
    return _Column(field, first, last, re.compile(pattern), expected)


# Patterns pin each decimal point to its column, so a shifted field or a dropped point
# fails here rather than parsing to a wrong number. [0-9] rather than \d: only ASCII digits.
_CATALOG = _column(
    "catalog_number", 3, 7, r"[A-HJ-NP-Z][0-9]{4}| {0,4}[0-9]{1,5}",
    "5 digits, or Alpha-5: a letter other than I or O and 4 digits",
)
_ANGLE = r" {0,2}[0-9]{1,3}\.[0-9]{4}"
_ASSUMED_DECIMAL = r"[ +-][0-9]{5}[+-][0-9]"
_LINE1_COLUMNS = (
    _CATALOG,
    _column("classification", 8, 8, r"[A-Z ]", "a letter (U, C or S) or blank"),
    _column("international_designator", 10, 17, r"[ -~]{8}", "printable ASCII"),
    _column("epoch", 19, 32, r"[0-9]{2} {0,2}[0-9]{1,3}\.[0-9]{8}", "YYDDD.DDDDDDDD"),
    _column("mean_motion_dot", 34, 43, r"[ +-]\.[0-9]{8}", "sign and .DDDDDDDD"),
    _column("mean_motion_ddot", 45, 52, _ASSUMED_DECIMAL, "assumed-decimal form like ' 12345-6'"),
    _column("bstar", 54, 61, _ASSUMED_DECIMAL, "assumed-decimal form like ' 12345-6'"),
    _column("ephemeris_type", 63, 63, r"[0-9 ]", "a digit or blank"),
    _column("element_set_number", 65, 68, r" {0,3}[0-9]{1,4}| {4}", "up to 4 digits"),
)
_LINE2_COLUMNS = (
    _CATALOG,
    _column("inclination", 9, 16, _ANGLE, "DDD.DDDD with the point in column 12"),
    _column("raan", 18, 25, _ANGLE, "DDD.DDDD with the point in column 21"),
    _column("eccentricity", 27, 33, r"[0-9]{7}", "7 digits after an implied '0.'"),
    _column("arg_perigee", 35, 42, _ANGLE, "DDD.DDDD with the point in column 38"),
    _column("mean_anomaly", 44, 51, _ANGLE, "DDD.DDDD with the point in column 47"),
    _column(
        "mean_motion", 53, 63, r" ?[0-9]{1,2}\.[0-9]{8}", "DD.DDDDDDDD with the point in column 55"
    ),
    _column("rev_number", 64, 68, r" {0,4}[0-9]{1,5}| {5}", "up to 5 digits"),
)


def _blank_columns(columns: tuple[_Column, ...]) -> tuple[int, ...]:
    """Columns 2..68 not covered by a field: the format requires them blank."""
    used = {c for column in columns for c in range(column.first, column.last + 1)}
    return tuple(c for c in range(2, _TLE_LINE_LENGTH) if c not in used)


_LINE1_BLANKS = _blank_columns(_LINE1_COLUMNS)
_LINE2_BLANKS = _blank_columns(_LINE2_COLUMNS)


def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of columns 1-68: digits count their value, '-' counts 1, all else 0."""
    counted = line[:68].replace("-", "1")
    return sum(digit * counted.count(str(digit)) for digit in range(1, 10)) % 10


def _split_line(line: str, number: str, place: _Place) -> dict[str, str]:
    """Check one element line's structure and return its fields' text, keyed by field name."""
    if number == "1":
        columns, blanks = _LINE1_COLUMNS, _LINE1_BLANKS
    else:
        columns, blanks = _LINE2_COLUMNS, _LINE2_BLANKS
    if len(line) < _TLE_LINE_LENGTH:
        raise place.error(
            "line_length", f"line {number} has {len(line)} columns", f"{_TLE_LINE_LENGTH} columns"
        )
    written = line[_TLE_LINE_LENGTH - 1]
    if not "0" <= written <= "9" or int(written) != tle_checksum(line):
        raise place.error(
            "checksum",
            f"checksum in column 69 is {written!r}, the line sums to {tle_checksum(line)}",
            "the modulo-10 sum of columns 1-68",
        )
    fields = {}
    for column in columns:
        text = column.text(line)
        if not column.pattern.fullmatch(text):
            raise place.error(
                column.field, f"columns {column.first}-{column.last} read {text!r}", column.expected
            )
        fields[column.field] = text
    for column in blanks:
        if line[column - 1] != " ":
            raise place.error(
                "layout", f"column {column} holds {line[column - 1]!r}",
                f"column {column} blank, as the fixed TLE layout has it",
            )
    return fields


def _decode_catalog_number(text: str) -> int:
    text = text.strip()
    if text[0].isdigit():
        return int(text)
    return (10 + _ALPHA5_LETTERS.index(text[0])) * 10000 + int(text[1:])


def _encode_catalog_number(satnum: int) -> str:
    if satnum < 100000:
        return f"{satnum:05d}"
    ten_thousands, rest = divmod(satnum, 10000)
    return f"{_ALPHA5_LETTERS[ten_thousands - 10]}{rest:04d}"


def _julian_date_of_midnight(day: datetime.date) -> float:
    return day.toordinal() + _JD_OF_ORDINAL_ZERO


def _tle_epoch(text: str, place: _Place) -> tuple[float, float]:
    """'YYDDD.DDDDDDDD' -> (Julian date at 0h of the day, fraction of the day).

    The fraction is the printed 8-digit decimal rounded once to a double, which is what
    the sgp4 package stores (its twoline2rv rounds the day fraction to 8 places).
    """
    two_digit_year = int(text[:2])
    # Vallado's "temp fix for years from 1957-2056" (sgp4 io.twoline2rv): 1957 is Sputnik.
    year = two_digit_year + (1900 if two_digit_year >= 57 else 2000)
    whole, fraction = text[2:].split(".")
    day_of_year = int(whole)
    # 366 also in common years: published TLEs occasionally say "day 366" (see sgp4 io.py).
    if not 1 <= day_of_year <= 366:
        raise place.error("epoch", f"day of year {day_of_year}", "a day of year from 1 to 366")
    jan1 = _julian_date_of_midnight(datetime.date(year, 1, 1))
    return jan1 + (day_of_year - 1), float("0." + fraction)


def _assumed_decimal(text: str) -> float:
    """' 12345-6' -> +0.12345e-6, computed as mantissa * 10**exponent like Vallado's code."""
    sign = "-" if text[0] == "-" else ""
    return float(f"{sign}.{text[1:6]}") * 10.0 ** int(text[6:8])


def _blank_is_zero(text: str) -> int:
    return int(text) if text.strip() else 0


def _record_from_lines(
    name: str | None, line1: str, line2: str, place1: _Place, place2: _Place
) -> _GpRecord:
    fields1 = _split_line(line1, "1", place1)
    fields2 = _split_line(line2, "2", place2)
    satnum = _decode_catalog_number(fields1["catalog_number"])
    if _decode_catalog_number(fields2["catalog_number"]) != satnum:
        raise place2.error(
            "catalog_number",
            f"line 2 has catalog number {fields2['catalog_number']!r}, "
            f"line 1 has {fields1['catalog_number']!r}",
            "the same catalog number on both lines",
        )
    epoch_jd, epoch_fraction = _tle_epoch(fields1["epoch"], place1)
    mean_motion = float(fields2["mean_motion"])
    if not mean_motion > 0.0:
        raise place2.error("mean_motion", f"mean motion {mean_motion}", "a mean motion > 0 rev/day")
    inclination = float(fields2["inclination"])
    if not inclination <= 180.0:
        raise place2.error("inclination", f"inclination {inclination}", "0 to 180 degrees")
    for field in ("raan", "arg_perigee", "mean_anomaly"):
        if not float(fields2[field]) <= 360.0:
            raise place2.error(field, f"angle {fields2[field].strip()}", "0 to 360 degrees")
    return _GpRecord(
        name=name,
        satnum=satnum,
        classification=fields1["classification"].strip() or "U",
        intldesg=fields1["international_designator"].strip(),
        epoch_jd=epoch_jd,
        epoch_fraction=epoch_fraction,
        mean_motion_dot=float(fields1["mean_motion_dot"]),
        mean_motion_ddot=_assumed_decimal(fields1["mean_motion_ddot"]),
        bstar=_assumed_decimal(fields1["bstar"]),
        element_set_number=_blank_is_zero(fields1["element_set_number"]),
        inclination=inclination,
        raan=float(fields2["raan"]),
        # Seven digits after an implied "0.", so always within [0, 1).
        eccentricity=float("0." + fields2["eccentricity"]),
        arg_perigee=float(fields2["arg_perigee"]),
        mean_anomaly=float(fields2["mean_anomaly"]),
        mean_motion=mean_motion,
        rev_number=_blank_is_zero(fields2["rev_number"]),
    )


# ---------------------------------------------------------------------- TLE records


def _content_lines(text: str) -> list[tuple[int, str]]:
    """(1-based line number, line) for every line that is neither blank nor a '#' comment."""
    return [
        (number, line.rstrip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.startswith("#")
    ]


def _name_from_line(line: str) -> str:
    # Space-Track's 3LE marks the name line with a leading "0 " (its "line 0").
    return re.sub(r"^0(?: |$)", "", line.strip()).strip()


def _aligned_at(content: list[tuple[int, str]], start: int, has_names: bool) -> bool:
    """Whether the element lines of a record starting at `start` have the right line numbers."""
    first = start + has_names
    return (
        first + 1 < len(content)
        and content[first][1].startswith("1")
        and content[first + 1][1].startswith("2")
    )


def _next_record_start(content: list[tuple[int, str]], start: int, has_names: bool) -> int:
    """After a line went missing or got added, the next index where a whole record lines up."""
    while start < len(content) and not _aligned_at(content, start, has_names):
        start += 1
    return start


def _record_at(
    content: list[tuple[int, str]], start: int, has_names: bool, source: str
) -> _GpRecord:
    size = 2 + has_names
    if start + size > len(content):
        number, _ = content[-1]
        raise InputError(
            f"the file ends inside an element set ({len(content) - start} of {size} lines)",
            source=source, line=number, field="record",
            expected="name line and two element lines" if has_names else "two element lines",
        )
    name = _name_from_line(content[start][1]) if has_names else None
    (number1, line1), (number2, line2) = content[start + has_names : start + size]
    for number, line, expected in ((number1, line1, "1"), (number2, line2, "2")):
        if not line.startswith(expected):
            raise InputError(
                f"element line starts with {line[:1]!r}", source=source, line=number,
                field="line_number", expected=f"{expected!r} in column 1",
            )
    return _record_from_lines(name, line1, line2, _Place(source, number1), _Place(source, number2))


def parse_tle(text: str, *, source: str = "<string>", skip_bad: bool = False) -> TleRead:
    """Parse TLE (2-line) or 3LE (name + 2 lines) text; '#' comments and blank lines are skipped.

    The format is 2-line when the first content line starts with "1 ", 3-line otherwise.
    A bad record raises its InputError, or with skip_bad=True is skipped and listed in
    `.rejected`. No valid record at all is an InputError either way.
    """
    content = _content_lines(text)
    if not content:
        raise InputError("no element sets", source=source, expected="TLE or 3LE text")
    has_names = not content[0][1].startswith("1 ")
    size = 2 + has_names
    records, rejected = [], []
    start = 0
    while start < len(content):
        try:
            records.append(_record_at(content, start, has_names, source))
            start += size
        except InputError as error:
            if not skip_bad:
                raise
            rejected.append(error)
            # A record whose lines line up was bad only in its content: skip exactly it.
            # Otherwise a line is missing or extra, and we resynchronise on the next record.
            aligned = _aligned_at(content, start, has_names)
            start = start + size if aligned else _next_record_start(content, start + 1, has_names)
    return _finish(records, rejected, source)


# ----------------------------------------------------------------------------- files


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


def read_tle(path: str | os.PathLike, *, skip_bad: bool = False) -> TleRead:
    """Read a TLE or 3LE file; see `parse_tle`."""
    path = Path(path)
    return parse_tle(_read_text(path), source=str(path), skip_bad=skip_bad)


# ------------------------------------------------------------------------------- OMM

_OMM_EPOCH = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2}(?:\.[0-9]+)?)Z?"
)
_OMM_OBJECT_ID = re.compile(r"[0-9]{2}([0-9]{2})-([0-9]{3})([A-Z]{0,3})")
_OMM_NUMBERS = (
    "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER",
    "MEAN_ANOMALY", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT",
)
_OMM_REQUIRED = ("EPOCH", "NORAD_CAT_ID") + _OMM_NUMBERS


def _omm_value(fields: Mapping[str, Any], key: str, place: _Place) -> Any:
    value = fields.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise place.error(key, f"{key} is missing", f"a value for {key}")
    return value


def _omm_number(fields: Mapping[str, Any], key: str, place: _Place) -> float:
    value = _omm_value(fields, key, place)
    try:
        if isinstance(value, bool):  # JSON true/false would otherwise pass as 1.0/0.0
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise place.error(key, f"{key} is {value!r}", "a number") from None
    if not math.isfinite(number):
        raise place.error(key, f"{key} is {value!r}", "a finite number")
    return number


def _omm_integer(
    fields: Mapping[str, Any], key: str, place: _Place, default: int | None = None
) -> int:
    if default is not None and fields.get(key) in (None, ""):
        return default
    value = _omm_value(fields, key, place)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        return int(value)  # CSV cells, and Space-Track JSON, which quotes its numbers
    raise place.error(key, f"{key} is {value!r}", "a non-negative integer")


def _omm_epoch(fields: Mapping[str, Any], place: _Place) -> tuple[float, float]:
    """ISO 8601 UTC -> (Julian date at 0h, fraction of day), the fraction computed exactly
    from the printed digits and rounded once.

    The sgp4 package's omm.initialize uses the same split (whole day at .5 plus fraction),
    reaching it through float days since 1949-12-31; the two agree to well under 1 us.
    """
    text = str(_omm_value(fields, "EPOCH", place)).strip()
    match = _OMM_EPOCH.fullmatch(text)
    expected = "ISO 8601 UTC like 2026-02-23T22:52:52.307616"
    if not match:
        raise place.error("EPOCH", f"EPOCH is {text!r}", expected)
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    seconds = Fraction(match[6])
    try:
        midnight = datetime.date(year, month, day)
    except ValueError:
        raise place.error("EPOCH", f"EPOCH {text!r} is not a calendar date", expected) from None
    if hour > 23 or minute > 59 or seconds >= 60:
        raise place.error("EPOCH", f"EPOCH {text!r} is not a time of day", expected)
    fraction = (hour * 3600 + minute * 60 + seconds) / 86400
    return _julian_date_of_midnight(midnight), float(fraction)


def _intldesg_from_object_id(object_id: str) -> str:
    """'2019-074B' -> '19074B', the TLE's international designator; other text is kept."""
    match = _OMM_OBJECT_ID.fullmatch(object_id)
    return "".join(match.groups()) if match else object_id


def _record_from_omm(fields: Mapping[str, Any], place: _Place) -> _GpRecord:
    satnum = _omm_integer(fields, "NORAD_CAT_ID", place)
    epoch_jd, epoch_fraction = _omm_epoch(fields, place)
    numbers = {key: _omm_number(fields, key, place) for key in _OMM_NUMBERS}
    if not 0.0 <= numbers["ECCENTRICITY"] < 1.0:
        raise place.error(
            "ECCENTRICITY", f"ECCENTRICITY is {numbers['ECCENTRICITY']}", "0 <= e < 1"
        )
    if not numbers["MEAN_MOTION"] > 0.0:
        raise place.error("MEAN_MOTION", f"MEAN_MOTION is {numbers['MEAN_MOTION']}", "> 0 rev/day")
    classification = str(fields.get("CLASSIFICATION_TYPE") or "U").strip()
    if not re.fullmatch(r"[A-Z]", classification):
        raise place.error(
            "CLASSIFICATION_TYPE", f"CLASSIFICATION_TYPE is {classification!r}", "one letter"
        )
    name = fields.get("OBJECT_NAME")
    return _GpRecord(
        name=None if name is None else str(name).strip(),
        satnum=satnum,
        classification=classification,
        intldesg=_intldesg_from_object_id(str(fields.get("OBJECT_ID") or "").strip()),
        epoch_jd=epoch_jd,
        epoch_fraction=epoch_fraction,
        mean_motion_dot=numbers["MEAN_MOTION_DOT"],
        mean_motion_ddot=numbers["MEAN_MOTION_DDOT"],
        bstar=numbers["BSTAR"],
        element_set_number=_omm_integer(fields, "ELEMENT_SET_NO", place, default=0),
        inclination=numbers["INCLINATION"],
        raan=numbers["RA_OF_ASC_NODE"],
        eccentricity=numbers["ECCENTRICITY"],
        arg_perigee=numbers["ARG_OF_PERICENTER"],
        mean_anomaly=numbers["MEAN_ANOMALY"],
        mean_motion=numbers["MEAN_MOTION"],
        rev_number=_omm_integer(fields, "REV_AT_EPOCH", place, default=0),
    )


def _omm_json_rows(text: str, source: str) -> Iterable[tuple[Any, _Place]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(error.msg, source=source, line=error.lineno, expected="JSON") from None
    rows = [document] if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise InputError(
            "top level is not a list", source=source, expected="a JSON list of OMM objects"
        )
    for index, row in enumerate(rows):
        yield row, _Place(source, label=f"JSON item [{index}]")


def _omm_csv_rows(text: str, source: str) -> Iterable[tuple[Any, _Place]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [key for key in _OMM_REQUIRED if key not in header]
    if missing:
        raise InputError(
            f"header lacks {', '.join(missing)}", source=source, line=1, field=missing[0],
            expected="a header row with the OMM keywords",
        )
    for row in reader:
        place = _Place(source, line=reader.line_num)
        if None in row:  # DictReader files surplus cells under the key None
            cells = len(header) + len(row[None])
            raise place.error(None, f"{cells} cells", f"{len(header)} cells as in the header")
        yield row, place


def _is_json(path: Path, text: str) -> bool:
    if path.suffix.lower() in OMM_SUFFIXES:
        return path.suffix.lower() == ".json"
    return text.lstrip()[:1] in ("[", "{")


def read_omm(path: str | os.PathLike, *, skip_bad: bool = False) -> TleRead:
    """Read CelesTrak OMM as JSON (a list of objects) or CSV (header row); the suffix
    .json/.csv decides, or else the content. Errors name the file, the record (CSV line,
    JSON index) and the key."""
    path = Path(path)
    source = str(path)
    text = _read_text(path)
    rows = _omm_json_rows(text, source) if _is_json(path, text) else _omm_csv_rows(text, source)
    records, rejected = [], []
    for row, place in rows:
        try:
            if not isinstance(row, Mapping):
                raise place.error(
                    None, f"{type(row).__name__} instead of an object", "a JSON object"
                )
            records.append(_record_from_omm(row, place))
        except InputError as error:
            if not skip_bad:
                raise
            rejected.append(error)
    return _finish(records, rejected, source)


def read_elements(path: str | os.PathLike, *, skip_bad: bool = False) -> TleRead:
    """Read TLE/3LE (.tle .txt .3le .2le) or OMM (.json .csv) by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("file not found", source=str(path), expected="an existing file")
    if suffix in TLE_SUFFIXES:
        return read_tle(path, skip_bad=skip_bad)
    if suffix in OMM_SUFFIXES:
        return read_omm(path, skip_bad=skip_bad)
    raise InputError(
        f"unknown suffix {suffix!r}", source=str(path), field="suffix",
        expected=f"one of {', '.join(TLE_SUFFIXES + OMM_SUFFIXES)}",
    )


# ---------------------------------------------------------------------------- export


def _epoch_text(jd: float, fraction: float, fail) -> str:
    """(jd, fraction) -> 'YYDDD.DDDDDDDD', rounded to the field's 1e-8 day."""
    days = jd - _JD_OF_ORDINAL_ZERO
    ordinal = math.floor(days)
    fraction += days - ordinal  # exact when jd is a whole day at .5, as readers produce
    carry = math.floor(fraction)
    ordinal, fraction = ordinal + carry, fraction - carry
    ticks = round(fraction * 1e8)
    if ticks == 10**8:
        ordinal, ticks = ordinal + 1, 0
    day = datetime.date.fromordinal(int(ordinal))
    if not 1957 <= day.year <= 2056:
        raise fail("epoch", f"epoch year {day.year}", "1957-2056, what a 2-digit TLE year can say")
    day_of_year = day.toordinal() - datetime.date(day.year, 1, 1).toordinal() + 1
    return f"{day.year % 100:02d}{day_of_year:03d}.{ticks:08d}"


def _mean_motion_dot_text(value: float, fail) -> str:
    text = f"{value:.8f}"  # "-0.00003638"
    if abs(float(text)) >= 1.0:
        raise fail("mean_motion_dot", f"{value} rev/day^2", "|value| < 1 rev/day^2")
    sign = "-" if text.startswith("-") else " "
    return sign + text.lstrip("-")[1:]  # drop the leading "0": " .00001514"


def _assumed_decimal_text(value: float, field: str, fail) -> str:
    """value -> ' 12345-6' (= +0.12345e-6); magnitudes below 1e-10 print as zero."""
    if value != 0.0:
        digits, exponent = f"{abs(value):.4e}".split("e")  # "1.2345", "-07"
        exponent = int(exponent) + 1  # 1.2345e-7 = 0.12345e-6
        if exponent > 9:
            raise fail(field, f"{value}", "a magnitude below 1e9")
        if exponent >= -9:
            return f"{'-' if value < 0 else ' '}{digits.replace('.', '')}{exponent:+d}"
    return " 00000+0"


def _angle_text(degrees: float, field: str, fail, *, wraps: bool) -> str:
    if wraps:
        degrees %= 360.0
    # "-0.0000" would not fit the field's digits-only pattern; it is zero.
    text = f"{degrees:8.4f}".replace("-0.0000", " 0.0000")
    if wraps and text == "360.0000":
        text = "  0.0000"
    if not wraps and not 0.0 <= float(text) <= 180.0:
        raise fail(field, f"{degrees} degrees", "0 to 180 degrees")
    return text


def _eccentricity_text(ecc: float, fail) -> str:
    ticks = round(ecc * 1e7) if 0.0 <= ecc < 1.0 else -1
    if not 0 <= ticks < 10**7:
        raise fail("eccentricity", f"{ecc}", "0 <= e < 0.99999995 (7 printed digits)")
    return f"{ticks:07d}"


def _mean_motion_text(rev_per_day: float, fail) -> str:
    text = f"{rev_per_day:11.8f}"
    if len(text) != 11 or not float(text) > 0.0:
        raise fail("mean_motion", f"{rev_per_day} rev/day", "0 < n < 100 rev/day at 8 decimals")
    return text


def _name_line(name: str, fail) -> str:
    text = name.strip()
    if len(text.splitlines()) > 1:
        raise fail("name", f"name {name!r} spans lines", "a one-line name")
    # Names that a reader could take for a comment, an element line or nothing at all get
    # Space-Track's "0 " prefix, which readers (ours included) strip.
    return "0 " + text if text[:1] in ("", "#", "0", "1", "2") else text


def _with_checksum(line: str) -> str:
    return line + str(tle_checksum(line))


def _records_from_elements(elements: Elements) -> list[_GpRecord]:
    """Elements -> records in printed units, the inverse of `_elements_from_records`."""
    return [
        _GpRecord(*row)
        for row in zip(
            elements.name,
            elements.satnum.tolist(),
            elements.classification,
            elements.intldesg,
            elements.jdsatepoch.tolist(),
            elements.jdsatepochF.tolist(),
            (elements.ndot * (_XPDOTP * _MINUTES_PER_DAY)).tolist(),
            (elements.nddot * (_XPDOTP * _MINUTES_PER_DAY * _MINUTES_PER_DAY)).tolist(),
            elements.bstar.tolist(),
            elements.elnum.tolist(),
            (elements.inclo / _DEG2RAD).tolist(),
            (elements.nodeo / _DEG2RAD).tolist(),
            elements.ecco.tolist(),
            (elements.argpo / _DEG2RAD).tolist(),
            (elements.mo / _DEG2RAD).tolist(),
            (elements.no_kozai * _XPDOTP).tolist(),
            elements.revnum.tolist(),
        )
    ]


def _tle_lines(record: _GpRecord, index: int) -> list[str]:
    def fail(field: str, message: str, expected: str) -> InputError:
        return InputError(
            f"satellite {index} (catalog {record.satnum}): {message}",
            field=field, expected=expected,
        )

    if not all(math.isfinite(value) for value in record if isinstance(value, float)):
        raise fail("elements", "non-finite element", "finite numbers")
    if not 0 <= record.satnum <= _MAX_ALPHA5:
        raise fail(
            "catalog_number", f"catalog {record.satnum}", f"0 to {_MAX_ALPHA5} (Alpha-5 Z9999)"
        )
    classification = record.classification.strip() or "U"
    intldesg = record.intldesg.strip()
    if not re.fullmatch(r"[A-Z]", classification):
        raise fail("classification", repr(classification), "one letter")
    if not re.fullmatch(r"[ -~]{0,8}", intldesg):
        raise fail("international_designator", repr(intldesg), "up to 8 printable ASCII characters")
    if record.element_set_number < 0 or record.rev_number < 0:
        raise fail(
            "element_set_number", f"elnum {record.element_set_number}, revnum {record.rev_number}",
            "non-negative counters",
        )
    catalog = _encode_catalog_number(record.satnum)
    line1 = (
        f"1 {catalog}{classification} {intldesg:<8} "
        f"{_epoch_text(record.epoch_jd, record.epoch_fraction, fail)} "
        f"{_mean_motion_dot_text(record.mean_motion_dot, fail)} "
        f"{_assumed_decimal_text(record.mean_motion_ddot, 'mean_motion_ddot', fail)} "
        f"{_assumed_decimal_text(record.bstar, 'bstar', fail)} "
        # The counters wrap in their printed fields (4 and 5 digits), as operational TLEs do.
        f"0 {record.element_set_number % 10000:4d}"
    )
    line2 = (
        f"2 {catalog} "
        f"{_angle_text(record.inclination, 'inclination', fail, wraps=False)} "
        f"{_angle_text(record.raan, 'raan', fail, wraps=True)} "
        f"{_eccentricity_text(record.eccentricity, fail)} "
        f"{_angle_text(record.arg_perigee, 'arg_perigee', fail, wraps=True)} "
        f"{_angle_text(record.mean_anomaly, 'mean_anomaly', fail, wraps=True)} "
        f"{_mean_motion_text(record.mean_motion, fail)}"
        f"{record.rev_number % 100000:5d}"
    )
    return [_name_line(record.name, fail), _with_checksum(line1), _with_checksum(line2)]


def format_tle(elements: Elements) -> list[str]:
    """3LE text lines (name, line 1, line 2 per satellite), values rounded to the printed
    precision, Alpha-5 catalog numbers from 100000. Unprintable values raise InputError."""
    records = _records_from_elements(elements)
    return [line for index, record in enumerate(records) for line in _tle_lines(record, index)]


def write_tle(path: str | os.PathLike, elements: Elements) -> None:
    """Write `elements` as a 3LE file atomically: a temporary file in the same directory is
    filled, flushed to disk and renamed over `path`, so readers see the old file or the whole
    new one, never a part."""
    path = Path(path)
    # Format everything before touching the disk: a bad value must not cost the old file.
    text = "".join(line + "\n" for line in format_tle(elements))
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600; a data file is meant to be shared
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
