"""CelesTrak OMM files (JSON or CSV) read into `Elements`.

CelesTrak's GP data in OMM keywords (CelesTrak "A New Way to Obtain GP Data"; keywords from
CCSDS 502.0-B Orbit Data Messages): a JSON list of objects, or CSV with a header row. Values
are in TLE units (MEAN_MOTION rev/day, angles deg, MEAN_MOTION_DOT rev/day^2,
MEAN_MOTION_DDOT rev/day^3) and EPOCH is ISO 8601 UTC, e.g. "2026-02-23T22:52:52.307616".
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Mapping

from placement.constants import WGS72
from placement.constellation.gp_record import (
    TleRead, _finish, _GpRecord, _julian_date_of_midnight, _Place, _read_text,
)
from placement.constellation.tle_write import _tle_lines
from placement.errors import InputError

OMM_SUFFIXES = (".json", ".csv")

_OMM_EPOCH = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2}(?:\.[0-9]+)?)Z?"
)
_OMM_OBJECT_ID = re.compile(r"[0-9]{2}([0-9]{2})-([0-9]{3})([A-Z]{0,3})")
_OMM_NUMBERS = (
    "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER",
    "MEAN_ANOMALY", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT",
)
_OMM_REQUIRED = ("EPOCH", "NORAD_CAT_ID") + _OMM_NUMBERS
# The fastest mean motion of an orbit: a circular one at the Earth's equatorial radius, sqrt(mu / R^3) with
# SGP4's WGS72 constants, 17.04 rev/day (an 84.5-minute period). A faster one has its semi-major axis inside
# the Earth.
_MAX_MEAN_MOTION = math.sqrt(WGS72.mu / WGS72.radiusearthkm**3) * 86400.0 / (2.0 * math.pi)
# The OMM keyword behind each field of the TLE writer's errors
_OMM_KEY = {
    "catalog_number": "NORAD_CAT_ID", "epoch": "EPOCH", "mean_motion_dot": "MEAN_MOTION_DOT",
    "mean_motion_ddot": "MEAN_MOTION_DDOT", "bstar": "BSTAR", "inclination": "INCLINATION",
    "eccentricity": "ECCENTRICITY", "mean_motion": "MEAN_MOTION", "name": "OBJECT_NAME",
    "classification": "CLASSIFICATION_TYPE", "international_designator": "OBJECT_ID",
}


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
    if not 0.0 < numbers["MEAN_MOTION"] <= _MAX_MEAN_MOTION:
        raise place.error("MEAN_MOTION", f"MEAN_MOTION is {numbers['MEAN_MOTION']}",
                          f"0 < n <= {_MAX_MEAN_MOTION:.2f} rev/day (a faster orbit is inside the Earth)")
    classification = str(fields.get("CLASSIFICATION_TYPE") or "U").strip()
    if not re.fullmatch(r"[A-Z]", classification):
        raise place.error(
            "CLASSIFICATION_TYPE", f"CLASSIFICATION_TYPE is {classification!r}", "one letter"
        )
    name = fields.get("OBJECT_NAME")
    record = _GpRecord(
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
    _check_tle_encodable(record, place)
    return record


def _check_tle_encodable(record: _GpRecord, place: _Place) -> None:
    """Refuse here a record the TLE format cannot hold (an inclination over 180 deg, a catalog number past
    Alpha-5's 339999, an epoch outside 1957-2056, ...): a run copies its satellites into satellites.tle, and
    would otherwise fail there, after the whole propagation. The writer's own rules, so the two cannot drift."""
    def fail(field: str, message: str, expected: str) -> InputError:
        return place.error(_OMM_KEY.get(field, field), message, expected)

    _tle_lines(record._replace(name=record.name or ""), fail)


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
