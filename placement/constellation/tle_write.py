"""TLE writing: `Elements` formatted as 3LE text (name line and two element lines per
satellite) and written to a file atomically.

Each field is encoded into the columns that tle_parse.py documents and checks, rounded to the
printed precision; a value the format cannot hold raises InputError naming the satellite and
the field.
"""

from __future__ import annotations

import datetime
import math
import os
import re
import tempfile
from pathlib import Path

from placement.constellation.elements import Elements
from placement.constellation.gp_record import _DEG2RAD, _JD_OF_ORDINAL_ZERO, _MINUTES_PER_DAY, _XPDOTP, _GpRecord
from placement.constellation.tle_parse import _ALPHA5_LETTERS, tle_checksum
from placement.errors import InputError

_MAX_ALPHA5 = (10 + len(_ALPHA5_LETTERS)) * 10000 - 1  # Z9999


def _encode_catalog_number(satnum: int) -> str:
    if satnum < 100000:
        return f"{satnum:05d}"
    ten_thousands, rest = divmod(satnum, 10000)
    return f"{_ALPHA5_LETTERS[ten_thousands - 10]}{rest:04d}"



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


def _satellite_failure(record: _GpRecord, index: int):
    """The writer's errors for the `index`-th satellite of an `Elements`."""
    def fail(field: str, message: str, expected: str) -> InputError:
        return InputError(
            f"satellite {index} (catalog {record.satnum}): {message}",
            field=field, expected=expected,
        )

    return fail


def _tle_lines(record: _GpRecord, fail) -> list[str]:
    """The name line and two element lines of `record`; `fail(field, message, expected)` makes the error
    for a value the format cannot hold (readers check their records with it, naming their own places)."""
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
    return [line for index, record in enumerate(records)
            for line in _tle_lines(record, _satellite_failure(record, index))]


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
