"""TLE/3LE and OMM reading and TLE writing, checked against the `sgp4` package (Vallado's C++
twoline2rv, its pure-Python reader, its OMM initializer and exporter), not against our own code."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import sgp4
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4 import omm
from sgp4.alpha5 import from_alpha5, to_alpha5
from sgp4.api import Satrec
from sgp4.exporter import export_omm
from sgp4.io import fix_checksum, verify_checksum
from sgp4.model import Satrec as PythonSatrec

from placement.constellation.elements import Elements
from placement.constellation.tle import TleRead, format_tle, parse_tle, read_elements, read_omm, read_tle, write_tle
from placement.errors import InputError

STARLINK = Path(__file__).resolve().parents[1] / "configs" / "data" / "starlink_2026-02-23.tle"  # a copy
VERIFICATION = Path(sgp4.__file__).parent / "SGP4-VER.TLE"  # Vallado's SGP4 test cases

XPDOTP = 1440.0 / (2.0 * math.pi)  # (rev/day) per (rad/min), as in Vallado's code
SATREC_FIELDS = ("no_kozai", "ecco", "inclo", "nodeo", "argpo", "mo", "bstar", "ndot", "nddot")

STARLINK_1008 = (
    "STARLINK-1008",
    "1 44714U 19074B   26053.95338319  .00001514  00000+0  61711-4 0  9998",
    "2 44714  53.1565 247.2957 0001251  94.4223 265.6921 15.31035506346616",
)
STARLINK_1012 = (
    "STARLINK-1012",
    "1 44718U 19074F   26053.79510367 -.00003638  00000+0 -11084-3 0  9997",
    "2 44718  53.1591 247.9884 0000544  91.4546 268.6517 15.30185387346586",
)


def element_line_pairs(text: str) -> list[tuple[str, str]]:
    """(line 1, line 2) of every record, found without our reader."""
    lines = [line.rstrip() for line in text.splitlines()]
    return [(a, b) for a, b in zip(lines, lines[1:]) if a.startswith("1 ") and b.startswith("2 ")]


def assert_matches_satrec(elements: Elements, pairs: list[tuple[str, str]]) -> None:
    assert len(elements) == len(pairs)
    satrecs = [Satrec.twoline2rv(line1, line2) for line1, line2 in pairs]
    np.testing.assert_array_equal(elements.satnum, [s.satnum for s in satrecs])
    np.testing.assert_array_equal(elements.jdsatepoch, [s.jdsatepoch for s in satrecs])
    np.testing.assert_array_equal(elements.jdsatepochF, [s.jdsatepochF for s in satrecs])
    for key in SATREC_FIELDS:
        np.testing.assert_allclose(
            getattr(elements, key), [getattr(s, key) for s in satrecs],
            rtol=1e-15, atol=0, err_msg=key,
        )


def write_3le(path: Path, records) -> Path:
    path.write_text("".join(f"{line}\n" for record in records for line in record))
    return path


# ------------------------------------------------------------------ agreement with Satrec


def test_every_starlink_record_parses_to_satrec_fields():
    read = read_tle(STARLINK)
    assert read.rejected == ()
    assert len(read.elements) == 9543
    assert_matches_satrec(read.elements, element_line_pairs(STARLINK.read_text()))
    assert read.elements.name[:2] == ("STARLINK-1008", "STARLINK-1012")
    assert read.elements.intldesg[0] == "19074B"


def test_sgp4_verification_file_matches_satrec():
    text = VERIFICATION.read_text()
    pairs = element_line_pairs(text)
    read = read_tle(VERIFICATION, skip_bad=True)
    # Vallado hand-edited three cases (catalog 33333-33335) without updating their checksums.
    lines = text.splitlines()
    assert [e.field for e in read.rejected] == ["checksum"] * 3
    assert [lines[e.line - 1][2:7] for e in read.rejected] == ["33333", "33334", "33335"]
    kept = [pair for pair in pairs if pair[0][2:7] not in ("33333", "33334", "33335")]
    assert_matches_satrec(read.elements, kept)

    # With their checksums repaired (by sgp4's own fix_checksum) every record matches.
    repaired = "\n".join(
        fix_checksum(line) if line[:2] in ("1 ", "2 ") and line[2:7] in ("33333", "33334", "33335")
        else line
        for line in lines
    )
    assert_matches_satrec(parse_tle(repaired).elements, element_line_pairs(repaired))


def test_two_line_records_without_names_and_space_track_name_lines():
    two_line = parse_tle("\n".join(STARLINK_1008[1:] + STARLINK_1012[1:]))
    assert two_line.elements.satnum.tolist() == [44714, 44718]
    three_line = parse_tle("0 STARLINK-1008\n" + "\n".join(STARLINK_1008[1:]) + "\n")
    assert three_line.elements.name == ("STARLINK-1008",)


# ------------------------------------------------------------------------------- Alpha-5


@pytest.mark.parametrize("catalog", ["A0001", "Z9999", "H0000", "J1234", "P5000"])
def test_alpha5_catalog_numbers_decode_like_sgp4(catalog):
    line1 = fix_checksum(STARLINK_1008[1][:2] + catalog + STARLINK_1008[1][7:])
    line2 = fix_checksum(STARLINK_1008[2][:2] + catalog + STARLINK_1008[2][7:])
    satnum = parse_tle(f"X\n{line1}\n{line2}\n").elements.satnum[0]
    assert satnum == from_alpha5(catalog) == Satrec.twoline2rv(line1, line2).satnum


def test_alpha5_letters_i_and_o_are_rejected():
    line1 = fix_checksum(STARLINK_1008[1][:2] + "I0001" + STARLINK_1008[1][7:])
    line2 = fix_checksum(STARLINK_1008[2][:2] + "I0001" + STARLINK_1008[2][7:])
    with pytest.raises(InputError) as caught:
        parse_tle(f"X\n{line1}\n{line2}\n")
    assert (caught.value.line, caught.value.field) == (2, "catalog_number")


def test_export_writes_alpha5_from_100000():
    satnums = [0, 5, 99999, 100000, 100001, 179999, 180000, 234567, 339999]
    base = parse_tle("\n".join(STARLINK_1008)).elements.take([0] * len(satnums))
    elements = Elements(**{**vars(base), "satnum": satnums, "name": None})
    lines = format_tle(elements)
    for satnum, line1, line2 in zip(satnums, lines[1::3], lines[2::3]):
        assert line1[2:7] == line2[2:7] == to_alpha5(satnum)
        assert Satrec.twoline2rv(line1, line2).satnum == satnum
    assert parse_tle("\n".join(lines)).elements.satnum.tolist() == satnums
    too_big = Elements(**{**vars(base), "satnum": [340000] * len(satnums)})
    with pytest.raises(InputError) as caught:
        format_tle(too_big)
    assert caught.value.field == "catalog_number"


# ------------------------------------------------------------------------ malformed TLEs


def edit(line: str, column: int, text: str) -> str:
    """Overwrite `line` from 1-based `column` with `text`, then repair the checksum (with
    sgp4's fix_checksum) so the damage is caught by the check meant for it."""
    return fix_checksum(line[: column - 1] + text + line[column - 1 + len(text) :])


NAME, LINE1, LINE2 = STARLINK_1012
MALFORMED = {
    # case: (corrupted record, 1-based line in the file (record 2 starts at line 4), field)
    "bad checksum": ((NAME, LINE1[:68] + "0", LINE2), 5, "checksum"),
    "truncated line": ((NAME, LINE1, LINE2[:60]), 6, "line_length"),
    # inclination moved one column left: its decimal point lands in column 11
    "shifted field": ((NAME, LINE1, LINE2[:8] + LINE2[9:16] + " " + LINE2[16:]), 6, "inclination"),
    "missing decimal point": ((NAME, LINE1, edit(LINE2, 55, "0")), 6, "mean_motion"),
    "epoch point missing": ((NAME, edit(LINE1, 24, " "), LINE2), 5, "epoch"),
    "non-numeric epoch": ((NAME, edit(LINE1, 22, "O"), LINE2), 5, "epoch"),
    "non-numeric eccentricity": ((NAME, LINE1, edit(LINE2, 29, "x")), 6, "eccentricity"),
    "bad bstar exponent": ((NAME, edit(LINE1, 60, "*"), LINE2), 5, "bstar"),
    "mismatched catalog numbers": ((NAME, LINE1, edit(LINE2, 3, "44719")), 6, "catalog_number"),
    "wrong line number": ((NAME, LINE1, edit(LINE2, 1, "3")), 6, "line_number"),
    "zero mean motion": ((NAME, LINE1, edit(LINE2, 53, " 0.00000000")), 6, "mean_motion"),
    "inclination over 180": ((NAME, LINE1, edit(LINE2, 9, "180.0001")), 6, "inclination"),
    "non-blank separator": ((NAME, edit(LINE1, 9, "X"), LINE2), 5, "layout"),
    "day of year 0": ((NAME, edit(LINE1, 21, "000"), LINE2), 5, "epoch"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_record_names_file_line_and_field(tmp_path, case):
    corrupted, line, field = MALFORMED[case]
    path = write_3le(tmp_path / "bad.tle", [STARLINK_1008, corrupted, STARLINK_1008])
    with pytest.raises(InputError) as caught:
        read_tle(path)
    error = caught.value
    assert (error.source, error.line, error.field) == (str(path), line, field)
    assert error.expected
    assert str(path) in str(error) and f"line {line}" in str(error)

    read = read_tle(path, skip_bad=True)
    assert read.elements.satnum.tolist() == [44714, 44714]
    assert [(e.line, e.field) for e in read.rejected] == [(line, field)]


def test_skip_bad_counts_every_bad_record_and_keeps_the_good(tmp_path):
    records = [STARLINK_1008]
    for corrupted, _, _ in MALFORMED.values():
        records += [corrupted, STARLINK_1008]
    read = read_tle(write_3le(tmp_path / "mixed.3le", records), skip_bad=True)
    assert len(read.rejected) == len(MALFORMED)
    assert len(read.elements) == len(MALFORMED) + 1
    assert set(read.elements.satnum.tolist()) == {44714}


def test_missing_line_resynchronises_on_the_next_record(tmp_path):
    path = write_3le(
        tmp_path / "gap.tle",
        [STARLINK_1008, STARLINK_1012[:2], STARLINK_1008, STARLINK_1012, STARLINK_1008[:2]],
    )
    with pytest.raises(InputError) as caught:
        read_tle(path)
    assert (caught.value.line, caught.value.field) == (6, "line_number")
    read = read_tle(path, skip_bad=True)
    assert read.elements.satnum.tolist() == [44714, 44714, 44718]
    # The lone name + line 1 at the end of the file is reported as an incomplete record.
    assert [(e.line, e.field) for e in read.rejected] == [(6, "line_number"), (13, "record")]


def test_no_valid_record_is_an_error(tmp_path):
    with pytest.raises(InputError):
        parse_tle("# only a comment\n\n")
    path = write_3le(tmp_path / "all_bad.tle", [MALFORMED["bad checksum"][0]])
    with pytest.raises(InputError) as caught:
        read_tle(path, skip_bad=True)
    assert caught.value.source == str(path) and "1 rejected" in str(caught.value)


def test_missing_file_unknown_suffix_and_bad_bytes(tmp_path):
    missing = tmp_path / "nowhere.tle"
    with pytest.raises(InputError) as caught:
        read_elements(missing)
    assert caught.value.source == str(missing)
    odd = write_3le(tmp_path / "elements.dat", [STARLINK_1008])
    with pytest.raises(InputError) as caught:
        read_elements(odd)
    assert caught.value.field == "suffix"
    binary = tmp_path / "binary.tle"
    binary.write_bytes(b"STARLINK\n\xff\xfe\n")
    with pytest.raises(InputError) as caught:
        read_tle(binary)
    assert (caught.value.line, caught.value.field) == (2, "encoding")


# ----------------------------------------------------------------------------------- OMM


def omm_source_pairs(path: Path, count: int) -> list[tuple[str, str]]:
    # sgp4's export_omm needs an international designator; two Vallado cases have none.
    pairs = [
        (a, b) for a, b in element_line_pairs(path.read_text())
        if a[9:11].strip() and a[2:7] not in ("33333", "33334", "33335")
    ]
    return pairs[:: max(1, len(pairs) // count)]


def omm_files(tmp_path: Path, pairs) -> tuple[Path, Path, list[dict]]:
    fields = [export_omm(Satrec.twoline2rv(a, b), f"SAT {a[2:7]}") for a, b in pairs]
    json_path = tmp_path / "gp.json"
    json_path.write_text(json.dumps(fields))
    csv_path = tmp_path / "gp.csv"
    with csv_path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(fields[0]))
        writer.writeheader()
        writer.writerows(fields)
    return json_path, csv_path, fields


OMM_SOURCES = [
    pytest.param(VERIFICATION, 100, id="vallado"),
    pytest.param(STARLINK, 500, id="starlink"),
]


@pytest.mark.parametrize("source, count", OMM_SOURCES)
def test_omm_json_and_csv_agree_with_the_tle(tmp_path, source, count):
    pairs = omm_source_pairs(source, count)
    json_path, csv_path, fields = omm_files(tmp_path, pairs)
    from_tle = parse_tle("\n".join(line for pair in pairs for line in pair)).elements
    for path in (json_path, csv_path):
        read = read_omm(path)
        assert read.rejected == ()
        elements = read.elements
        np.testing.assert_array_equal(elements.satnum, from_tle.satnum)
        np.testing.assert_array_equal(elements.elnum, from_tle.elnum)
        assert elements.intldesg == from_tle.intldesg
        assert elements.name == tuple(f"SAT {a[2:7]}" for a, _ in pairs)
        epoch_error_s = ((elements.jdsatepoch - from_tle.jdsatepoch)
                         + (elements.jdsatepochF - from_tle.jdsatepochF)) * 86400.0
        assert np.all(np.abs(epoch_error_s) <= 1.0e-6 + 1e-9)
        for key in SATREC_FIELDS:  # OMM carries full doubles: far tighter than print precision
            np.testing.assert_allclose(
                getattr(elements, key), getattr(from_tle, key), rtol=1e-13, err_msg=key
            )

        # And the epoch agrees with sgp4's own OMM initializer.
        for index, row in enumerate(fields):
            satrec = Satrec()
            omm.initialize(satrec, {key: str(value) for key, value in row.items()})
            sgp4_days = (satrec.jdsatepoch - elements.jdsatepoch[index]) + (
                satrec.jdsatepochF - elements.jdsatepochF[index])
            assert abs(sgp4_days) * 86400.0 <= 1.0e-6


def test_read_elements_dispatches_by_suffix(tmp_path):
    json_path, csv_path, _ = omm_files(tmp_path, [STARLINK_1008[1:]])
    tle_path = write_3le(tmp_path / "one.3le", [STARLINK_1008])
    sniffed = tmp_path / "gp.omm"
    sniffed.write_text(json_path.read_text())
    for path in (json_path, csv_path, tle_path):
        assert read_elements(path).elements.satnum.tolist() == [44714]
    assert read_omm(sniffed).elements.satnum.tolist() == [44714]


def test_malformed_omm_names_the_key(tmp_path):
    _, _, fields = omm_files(tmp_path, [STARLINK_1008[1:], STARLINK_1012[1:]])
    good = fields[0]
    cases = [
        ({k: v for k, v in good.items() if k != "MEAN_MOTION"}, "MEAN_MOTION"),
        ({**good, "ECCENTRICITY": "abc"}, "ECCENTRICITY"),
        ({**good, "ECCENTRICITY": 1.5}, "ECCENTRICITY"),
        ({**good, "BSTAR": True}, "BSTAR"),
        ({**good, "EPOCH": "2026-02-30T00:00:00.000000"}, "EPOCH"),
        ({**good, "NORAD_CAT_ID": "44714.5"}, "NORAD_CAT_ID"),
    ]
    for bad, key in cases:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps([good, bad, fields[1]]))
        with pytest.raises(InputError) as caught:
            read_omm(path)
        assert (caught.value.source, caught.value.field) == (str(path), key)
        assert "[1]" in str(caught.value)
        read = read_omm(path, skip_bad=True)
        assert read.elements.satnum.tolist() == [44714, 44718]
        assert [e.field for e in read.rejected] == [key]

    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(good))
        writer.writeheader()
        writer.writerows([good, fields[1], {**good, "BSTAR": "1.2.3"}])
    with pytest.raises(InputError) as caught:
        read_omm(path)
    assert (caught.value.line, caught.value.field) == (4, "BSTAR")

    path.write_text("OBJECT_NAME,EPOCH\nX,2026-01-01T00:00:00\n")
    with pytest.raises(InputError) as caught:
        read_omm(path)
    assert (caught.value.line, caught.value.field) == (1, "NORAD_CAT_ID")


# -------------------------------------------------------------------------------- export


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(VERIFICATION, id="vallado"),
        pytest.param(STARLINK, id="starlink"),
    ],
)
def test_export_round_trip_is_lossless_and_sgp4_accepts_it(path):
    original = read_tle(path, skip_bad=True).elements
    lines = format_tle(original)
    again = parse_tle("\n".join(lines)).elements
    for key in SATREC_FIELDS + ("jdsatepoch", "jdsatepochF", "satnum", "elnum", "revnum"):
        np.testing.assert_array_equal(getattr(again, key), getattr(original, key), err_msg=key)
    assert again.intldesg == original.intldesg
    for line1, line2 in zip(lines[1::3], lines[2::3]):
        verify_checksum(line1, line2)
        PythonSatrec.twoline2rv(line1, line2)  # sgp4's pure-Python reader checks the layout
    assert_matches_satrec(again, list(zip(lines[1::3], lines[2::3])))


def test_export_reproduces_the_celestrak_file_text():
    lines = format_tle(read_tle(STARLINK).elements)
    assert lines == [line.rstrip() for line in STARLINK.read_text().splitlines()]


printable_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=24)


@st.composite
def element_sets(draw):
    size = draw(st.integers(1, 4))

    def column(strategy):
        return draw(st.lists(strategy, min_size=size, max_size=size))

    def floats(low, high):
        return column(st.floats(low, high, allow_nan=False, allow_subnormal=False))

    first_day = 714780  # 1958-01-01 as a proleptic Gregorian ordinal
    last_day = 750865  # 2056-12-30: rounding the fraction up must not leave 2056
    return Elements(
        satnum=column(st.integers(0, 339999)),
        jdsatepoch=np.array(column(st.integers(first_day, last_day))) + 1721424.5,
        jdsatepochF=floats(0.0, 0.999999999),
        ndot=np.array(floats(-0.99, 0.99)) / (XPDOTP * 1440.0),
        nddot=np.array(floats(-9.9e8, 9.9e8)) / (XPDOTP * 1440.0 * 1440.0),
        bstar=floats(-9.9e8, 9.9e8),
        inclo=np.radians(floats(0.0, 180.0)),
        nodeo=np.radians(floats(-720.0, 720.0)),
        argpo=np.radians(floats(-720.0, 720.0)),
        mo=np.radians(floats(-720.0, 720.0)),
        ecco=floats(0.0, 0.9999999),
        no_kozai=np.array(floats(1e-6, 99.99999999)) / XPDOTP,
        elnum=column(st.integers(0, 9999)),
        revnum=column(st.integers(0, 99999)),
        classification=column(st.sampled_from("UCS")),
        intldesg=column(st.from_regex(r"([0-9]{5}[A-Z]{1,3})?", fullmatch=True)),
        name=column(printable_text),
    )


def angle_error_deg(a_rad, b_rad):
    difference = np.degrees(np.asarray(a_rad) - np.asarray(b_rad)) % 360.0
    return np.minimum(difference, 360.0 - difference)


@settings(max_examples=150, deadline=None)
@given(element_sets())
def test_round_trip_of_random_elements_within_print_precision(elements):
    lines = format_tle(elements)
    read = parse_tle("\n".join(lines)).elements
    assert read.satnum.tolist() == elements.satnum.tolist()
    assert read.elnum.tolist() == elements.elnum.tolist()
    assert read.revnum.tolist() == elements.revnum.tolist()
    assert read.classification == elements.classification
    assert read.intldesg == elements.intldesg
    assert read.name == tuple(name.strip() for name in elements.name)
    epoch_days = (read.jdsatepoch - elements.jdsatepoch) + (read.jdsatepochF - elements.jdsatepochF)
    assert np.all(np.abs(epoch_days) <= 0.5e-8 + 1e-12)
    assert np.all(np.abs(read.no_kozai - elements.no_kozai) * XPDOTP <= 0.5e-8 + 1e-12)
    assert np.all(np.abs(read.ecco - elements.ecco) <= 0.5e-7 + 1e-15)
    assert np.all(np.abs(read.ndot - elements.ndot) * XPDOTP * 1440.0 <= 0.5e-8 + 1e-15)
    for printed, wanted in ((read.nddot, elements.nddot), (read.bstar, elements.bstar)):
        # 5 significant digits; below 1e-10 the field prints zero
        assert np.all(np.abs(printed - wanted) <= 5e-5 * np.abs(wanted) + 1e-10)
    for key in ("inclo", "nodeo", "argpo", "mo"):
        error_deg = angle_error_deg(getattr(read, key), getattr(elements, key))
        assert np.all(error_deg <= 0.5e-4 + 1e-9), key
    assert format_tle(read) == lines  # printing what was read changes nothing
    for line1, line2 in zip(lines[1::3], lines[2::3]):
        PythonSatrec.twoline2rv(line1, line2)
        assert Satrec.twoline2rv(line1, line2).satnum == from_alpha5(line1[2:7])


def test_unprintable_elements_are_refused():
    base = parse_tle("\n".join(STARLINK_1008)).elements
    for key, value, field in [
        ("ecco", [1.0], "eccentricity"),
        ("no_kozai", [0.0], "mean_motion"),
        ("no_kozai", [100.0 / XPDOTP], "mean_motion"),
        ("inclo", [math.radians(-1.0)], "inclination"),
        ("jdsatepoch", [2500000.5], "epoch"),
        ("bstar", [2e9], "bstar"),
        ("mo", [math.nan], "elements"),
    ]:
        with pytest.raises(InputError) as caught:
            format_tle(Elements(**{**vars(base), key: value}))
        assert caught.value.field == field, key


# --------------------------------------------------------------------------- atomic write


def test_write_tle_is_complete_and_leaves_no_temporary(tmp_path):
    elements = parse_tle("\n".join(STARLINK_1008 + STARLINK_1012)).elements
    target = tmp_path / "out.tle"
    target.write_text("old contents\n")
    write_tle(target, elements)
    assert os.listdir(tmp_path) == ["out.tle"]
    assert target.read_text() == "".join(line + "\n" for line in format_tle(elements))
    assert read_elements(target).elements.satnum.tolist() == [44714, 44718]


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    elements = parse_tle("\n".join(STARLINK_1008)).elements
    target = tmp_path / "out.tle"
    target.write_text("old contents\n")

    def crash(*_):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_tle(target, elements)
    monkeypatch.undo()
    with pytest.raises(InputError):
        write_tle(target, Elements(**{**vars(elements), "ecco": [1.5]}))
    assert os.listdir(tmp_path) == ["out.tle"]
    assert target.read_text() == "old contents\n"


def test_tle_read_is_frozen():
    read = parse_tle("\n".join(STARLINK_1008))
    assert isinstance(read, TleRead)
    with pytest.raises(AttributeError):
        read.rejected = ()
