"""Two-line element sets (TLE, 3LE) read into `Elements`: the column layout, checksums,
Alpha-5 catalog numbers, and the record-by-record reader with its error recovery.

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
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
from pathlib import Path

from placement.constellation.gp_record import (
    TleRead, _finish, _GpRecord, _julian_date_of_midnight, _Place, _read_text,
)
from placement.errors import InputError

_TLE_LINE_LENGTH = 69
_ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O skipped: they read as 1 and 0

TLE_SUFFIXES = (".tle", ".txt", ".3le", ".2le")


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


def parse_tle(text: str, *, source: str = "<string>", skip_bad: bool = False, header_lines: int = 0,
              unique: bool = False) -> TleRead:
    """Parse TLE (2-line) or 3LE (name + 2 lines) text; '#' comments and blank lines are skipped.

    The format is 2-line when the first content line starts with "1 ", 3-line otherwise.
    `header_lines` content lines before the first record are not element sets (Hypatia's tles.txt opens
    with "<orbits> <satellites per orbit>"); errors still name each line's own number.
    A bad record raises its InputError, or with skip_bad=True is skipped and listed in
    `.rejected`; with unique=True, so is a satellite seen before (by catalog number or name: a catalog to
    plan on; Vallado's verification file repeats numbers on purpose). No valid record at all is an InputError
    either way.
    """
    content = _content_lines(text)[header_lines:]
    if not content:
        raise InputError("no element sets", source=source, expected="TLE or 3LE text")
    has_names = not content[0][1].startswith("1 ")
    size = 2 + has_names
    records, rejected = [], []
    seen: dict[str, dict] = {}  # {'catalog number' | 'name': {value: line of its first record}}
    start = 0
    while start < len(content):
        try:
            record = _record_at(content, start, has_names, source)
            if unique:
                _check_unique(record, content[start][0], seen, source)
            records.append(record)
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



def _check_unique(record: _GpRecord, line: int, seen: dict[str, dict], source: str) -> None:
    """A satellite twice (two downloads concatenated, a stale and a fresh set) would be two hosts in one place
    and double its laser links: refuse it by catalog number, and by name where the file has names."""
    for key, value in (("catalog number", record.satnum), ("name", record.name)):
        first = seen.setdefault(key, {}).get(value)
        if value is not None and first is not None:
            raise InputError(f"satellite {key} {value!r} appears again (first at line {first})", source=source,
                             line=line, field="record", expected="each satellite once")
    for key, value in (("catalog number", record.satnum), ("name", record.name)):
        seen[key][value] = line


def read_tle(path: str | os.PathLike, *, skip_bad: bool = False, header_lines: int = 0,
             unique: bool = False) -> TleRead:
    """Read a TLE or 3LE file; see `parse_tle`."""
    path = Path(path)
    return parse_tle(_read_text(path), source=str(path), skip_bad=skip_bad, header_lines=header_lines,
                     unique=unique)

