"""Two-line element sets (TLE, 3LE) and CelesTrak OMM files, read into and written from `Elements`.

This module is the face of the parts and picks the reader by a file's suffix:

    tle_parse.py  TLE/3LE text: column layout, checksum, Alpha-5; `parse_tle`, `read_tle`
    omm.py        CelesTrak OMM as JSON or CSV; `read_omm`
    tle_write.py  3LE text from `Elements`; `format_tle`, `write_tle`
    gp_record.py  the record, units and error places the three share; `TleRead`
"""

from __future__ import annotations

import os
from pathlib import Path

from placement.constellation.gp_record import TleRead
from placement.constellation.omm import OMM_SUFFIXES, read_omm
from placement.constellation.tle_parse import TLE_SUFFIXES, parse_tle, read_tle, tle_checksum
from placement.constellation.tle_write import format_tle, write_tle
from placement.errors import InputError

__all__ = [
    "OMM_SUFFIXES",
    "TLE_SUFFIXES",
    "TleRead",
    "format_tle",
    "parse_tle",
    "read_elements",
    "read_omm",
    "read_tle",
    "tle_checksum",
    "write_tle",
]


def read_elements(path: str | os.PathLike, *, skip_bad: bool = False, header_lines: int = 0,
                  unique: bool = False) -> TleRead:
    """Read TLE/3LE (.tle .txt .3le .2le) or OMM (.json .csv) by the file's suffix; `header_lines` lines open a
    TLE file before its first record, and `unique` refuses a satellite twice in one (see `parse_tle`; not yet
    for OMM)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("file not found", source=str(path), expected="an existing file")
    if suffix in TLE_SUFFIXES:
        return read_tle(path, skip_bad=skip_bad, header_lines=header_lines, unique=unique)
    if suffix in OMM_SUFFIXES:
        return read_omm(path, skip_bad=skip_bad)
    raise InputError(
        f"unknown suffix {suffix!r}", source=str(path), field="suffix",
        expected=f"one of {', '.join(TLE_SUFFIXES + OMM_SUFFIXES)}",
    )
