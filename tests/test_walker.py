"""Walker shells: counts, agreement with the filed figures, and geometry as the `sgp4` package
(not our code) propagates it."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4.api import WGS72, Satrec, SatrecArray

from placement.constellation.elements import Elements
from placement.constellation.walker import (BUILTIN, KUIPER, STARLINK_GEN1, WalkerShell, builtin, constellation,
                                            read_shells_csv, walker_delta)
from placement.errors import InputError
from shared_reference import REFERENCE, needs

SHELLS_CSV = REFERENCE / "constellation_shells.csv"
needs_reference = needs("constellation_shells.csv")

R_WGS72_KM = 6378.135  # sgp4's WGS72 equatorial radius; altitudes are measured from it
EPOCH_JD, EPOCH_FR = 2461000.5, 0.25  # 2025-11-12 06:00 UTC
SGP4_EPOCH_1950 = EPOCH_JD + EPOCH_FR - 2433281.5  # sgp4init wants days since 1949-12-31 0h
SAMPLES_PER_ORBIT = 64


# ---------------------------------------------------------------- counts and the filings

@pytest.mark.parametrize(
    "shells, total, per_shell",
    [
        (STARLINK_GEN1, 4408, [1584, 1584, 720, 348, 172]),
        (KUIPER, 3236, [1156, 1296, 784]),
    ],
)
def test_counts_and_unique_ids(shells, total, per_shell):
    el = constellation(shells, EPOCH_JD, EPOCH_FR)
    assert len(el) == total
    assert [s.total_sats for s in shells] == per_shell
    assert len(set(el.satnum.tolist())) == total
    assert len(set(el.name)) == total
    for shell, count in zip(shells, per_shell):
        assert sum(n.startswith(shell.name + "-P") for n in el.name) == count


def test_two_constellations_do_not_share_catalog_numbers():
    starlink = constellation(STARLINK_GEN1, EPOCH_JD, EPOCH_FR)
    kuiper = constellation(KUIPER, EPOCH_JD, EPOCH_FR, first_satnum=int(starlink.satnum.max()) + 1)
    both = Elements.concatenate([starlink, kuiper])
    assert len(set(both.satnum.tolist())) == 4408 + 3236


def test_names_are_readable():
    el = constellation(STARLINK_GEN1, EPOCH_JD, EPOCH_FR)
    assert el.name[0] == "STARLINK-GEN1-S1-P01-01"
    # plane 3, slot 7 of shell 1: index (3 - 1) * 22 + (7 - 1)
    assert el.name[2 * 22 + 6] == "STARLINK-GEN1-S1-P03-07"
    assert el.name[-1] == "STARLINK-GEN1-S5-P04-43"
    custom = walker_delta(KUIPER[0], EPOCH_JD, EPOCH_FR, name_prefix="K", first_satnum=7)
    assert (custom.name[35], int(custom.satnum[35])) == ("K-P02-02", 42)
    assert builtin("STARLINK-gen1") is STARLINK_GEN1 and set(BUILTIN) == {"starlink-gen1", "kuiper", "iris2"}


def _reference_rows(constellation_name):
    with open(SHELLS_CSV, newline="") as f:
        return [r for r in csv.DictReader(f) if r["constellation"] == constellation_name]


@needs_reference
@pytest.mark.parametrize("shells, name", [(STARLINK_GEN1, "Starlink Gen1"), (KUIPER, "Kuiper")])
def test_builtins_match_reference_csv(shells, name):
    rows = _reference_rows(name)
    assert len(rows) == len(shells)
    for shell, row in zip(shells, rows):
        assert shell.altitude_km == float(row["altitude_km"])
        assert shell.inclination_deg == float(row["inclination_deg"])
        assert shell.planes == int(row["planes"])
        assert shell.sats_per_plane == int(row["sats_per_plane"])
        assert shell.total_sats == int(row["total_sats"])
        assert row["filing_or_basis"].split(" (")[0] in shell.source


@needs_reference
@pytest.mark.parametrize("shells, name", [(STARLINK_GEN1, "Starlink Gen1"), (KUIPER, "kuiper")])
def test_read_shells_csv_rebuilds_the_builtins(shells, name):
    read = read_shells_csv(SHELLS_CSV, name)
    # The CSV carries no RAAN details or phasing, so compare what it carries.
    def key(s):
        return (s.name, s.altitude_km, s.inclination_deg, s.planes, s.sats_per_plane)

    assert [key(s) for s in read] == [key(s) for s in shells]


def test_gen1_polar_shell_raans_from_hermes():
    shell4, shell5 = STARLINK_GEN1[3], STARLINK_GEN1[4]
    for shell, raans in [(shell4, [63.7, 123.7, 183.7, 243.7, 303.7, 3.7]),
                         (shell5, [75.7, 87.7, 99.7, 111.7])]:
        el = walker_delta(shell, EPOCH_JD, EPOCH_FR)
        got = np.degrees(el.nodeo[:: shell.sats_per_plane])
        np.testing.assert_allclose(got, raans, atol=1e-9)


# ------------------------------------------------------- physics, checked with the sgp4 package

def _satrecs(el: Elements) -> SatrecArray:
    sats = []
    for i in range(len(el)):
        sat = Satrec()
        sat.sgp4init(
            WGS72, "i", int(el.satnum[i]),
            el.jdsatepoch[i] + el.jdsatepochF[i] - 2433281.5,
            el.bstar[i], 0.0, 0.0, el.ecco[i], el.argpo[i], el.inclo[i], el.mo[i],
            el.no_kozai[i], el.nodeo[i],
        )
        sats.append(sat)
    return SatrecArray(sats)


def _propagate_one_orbit(el: Elements):
    """TEME r, v [sat, time, 3] at SAMPLES_PER_ORBIT equal steps over one period (all satellites
    share one mean motion). Equal steps over a whole orbit make the orbit mean of the cos 2u
    short-period terms vanish."""
    period_min = 2.0 * math.pi / el.no_kozai[0]
    t_min = np.arange(SAMPLES_PER_ORBIT) * period_min / SAMPLES_PER_ORBIT
    err, r, v = _satrecs(el).sgp4(np.full(t_min.shape, EPOCH_JD), EPOCH_FR + t_min / 1440.0)
    assert not err.any(), "sgp4 reported errors"
    return r, v


def _orbit_angles(r, v):
    """Osculating inclination, RAAN and argument of latitude, deg, from r and v."""
    h = np.cross(r, v)
    h_hat = h / np.linalg.norm(h, axis=-1, keepdims=True)
    node = np.stack([-h[..., 1], h[..., 0], np.zeros_like(h[..., 0])], axis=-1)  # z x h
    node /= np.linalg.norm(node, axis=-1, keepdims=True)
    inc = np.degrees(np.arccos(h_hat[..., 2]))
    raan = np.degrees(np.arctan2(node[..., 1], node[..., 0]))
    u = np.degrees(np.arctan2(np.sum(r * np.cross(h_hat, node), -1), np.sum(r * node, -1)))
    return inc, raan, u


def _wrap(deg):
    return (deg + 180.0) % 360.0 - 180.0


ALL_SHELLS = STARLINK_GEN1 + KUIPER


@pytest.fixture(scope="module", params=ALL_SHELLS, ids=[s.name for s in ALL_SHELLS])
def propagated(request):
    shell = request.param
    r, v = _propagate_one_orbit(walker_delta(shell, EPOCH_JD, EPOCH_FR))
    return shell, r, v


def test_mean_radius_is_the_filed_altitude(propagated):
    shell, r, _ = propagated
    mean_alt = np.linalg.norm(r, axis=-1).mean(axis=-1) - R_WGS72_KM
    # 20 m: what remains is SGP4's J3 long-period eccentricity (~1e-3, adding a e^2/2 ~ 3 m).
    # A Keplerian n from the altitude misses by up to 1.7 km and matching SGP4's a_0 = R + h by
    # up to 5.3 km (33 deg shell), so this tolerance tells the three apart; the brief's ~2 km
    # would not.
    np.testing.assert_allclose(mean_alt, shell.altitude_km, atol=0.02)


def test_orbit_normal_gives_inclination(propagated):
    shell, r, v = propagated
    inc, _, _ = _orbit_angles(r, v)
    # Instantaneous: SGP4's short-period inclination term is 3/8 J2 sin 2i / a^2 ~ 0.02 deg.
    assert np.abs(inc - shell.inclination_deg).max() < 0.1
    # Orbit mean: that term is in cos 2u and averages out.
    np.testing.assert_allclose(inc.mean(axis=-1), shell.inclination_deg, atol=1e-3)


def test_planes_equally_spaced_in_raan(propagated):
    shell, r, v = propagated
    _, raan, _ = _orbit_angles(r[:, 0], v[:, 0])  # at epoch
    raan = raan.reshape(shell.planes, shell.sats_per_plane)
    # Each satellite's osculating node wobbles by ~0.03 deg (J2 term in sin 2u); the circular mean
    # over a plane's equally spaced satellites cancels it.
    assert np.abs(_wrap(raan - raan[:, :1])).max() < 0.1
    plane = np.degrees(np.angle(np.exp(1j * np.radians(raan)).mean(axis=1)))
    assert abs(_wrap(plane[0] - shell.raan0_deg)) < 1e-4
    if shell.planes > 1:
        spacing = _wrap(np.diff(plane))
        np.testing.assert_allclose(spacing, shell.raan_spread_deg / shell.planes, atol=1e-4)


def test_in_plane_spacing_and_walker_phasing(propagated):
    shell, r, v = propagated
    _, _, u = _orbit_angles(r, v)
    u = u.reshape(shell.planes, shell.sats_per_plane, SAMPLES_PER_ORBIT)
    # Differences of osculating u carry SGP4's periodic terms (~0.05 deg at one instant); their
    # mean over one orbit cancels them to ~1e-4 deg. 1e-3 deg is far below the smallest offset
    # checked (F * 360 / T = 0.23 deg for Starlink shells 1-2).
    in_plane = _wrap(np.diff(u, axis=1)).mean(axis=-1)
    np.testing.assert_allclose(in_plane, 360.0 / shell.sats_per_plane, atol=1e-3)
    between_planes = _wrap(np.diff(u, axis=0)).mean(axis=-1)
    np.testing.assert_allclose(between_planes, shell.phasing * 360.0 / shell.total_sats, atol=1e-3)


# ------------------------------------------------------------------------------ validation

@pytest.mark.parametrize(
    "change, field",
    [
        ({"planes": -3}, "planes"),
        ({"planes": 2.5}, "planes"),
        ({"sats_per_plane": 0}, "sats_per_plane"),
        ({"inclination_deg": 200.0}, "inclination_deg"),
        ({"altitude_km": 50.0}, "altitude_km"),
        ({"altitude_km": float("nan")}, "altitude_km"),
        ({"phasing": 6}, "phasing"),
        ({"phasing": -1}, "phasing"),
        ({"raan_spread_deg": 0.0}, "raan_spread_deg"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_shell_names_the_field(change, field):
    fields = dict(name="X", altitude_km=550.0, inclination_deg=53.0, planes=6, sats_per_plane=10)
    fields.update(change)
    with pytest.raises(InputError) as info:
        WalkerShell(**fields)
    assert info.value.field == field
    assert repr(field) in str(info.value) and info.value.expected


def test_bad_epoch_and_duplicate_shells_and_unknown_builtin():
    with pytest.raises(InputError, match="epoch_jd"):
        walker_delta(KUIPER[0], 2461000.0, 0.25)
    with pytest.raises(InputError, match="epoch_fr"):
        walker_delta(KUIPER[0], EPOCH_JD, 1.5)
    with pytest.raises(InputError, match="KUIPER-K1"):
        constellation([KUIPER[0], KUIPER[0]], EPOCH_JD, EPOCH_FR)
    with pytest.raises(InputError) as info:
        builtin("oneweb")
    assert "kuiper" in str(info.value) and "starlink-gen1" in str(info.value)


HEADER = ("constellation,filing_or_basis,shell,altitude_km,inclination_deg,planes,sats_per_plane,"
          "total_sats\n")


@pytest.mark.parametrize(
    "bad_row, line, column",
    [
        ("Test,filing X,2,550,53,seventy,22,1584\n", 3, "planes"),
        ("Test,filing X,2,550,200,72,22,1584\n", 3, "inclination_deg"),
        ("Test,filing X,2,550,53,72,22,1500\n", 3, "total_sats"),
        ("Test,filing X,,550,53,72,22,1584\n", 3, "shell"),
    ],
)
def test_read_shells_csv_names_file_line_and_column(tmp_path, bad_row, line, column):
    path = tmp_path / "shells.csv"
    path.write_text(HEADER + "Test,filing X,1,540,53.2,72,22,1584\n" + bad_row)
    with pytest.raises(InputError) as info:
        read_shells_csv(path, "Test")
    err = info.value
    assert (err.source, err.line, err.field) == (str(path), line, column)
    assert str(path) in str(err) and f"line {line}" in str(err) and repr(column) in str(err)


def test_read_shells_csv_header_constellation_and_optional_columns(tmp_path):
    path = tmp_path / "shells.csv"
    path.write_text("constellation,shell,altitude_km\nTest,1,550\n")
    with pytest.raises(InputError, match="filing_or_basis") as info:
        read_shells_csv(path, "Test")
    assert info.value.line == 1

    path.write_text(HEADER.rstrip("\n") + ",phasing,raan_spread_deg,raan0_deg\n"
                    "Other Co,F-1,A,800,60,10,10,100,3,180,15\n")
    with pytest.raises(InputError, match="'Other Co'"):
        read_shells_csv(path, "Test")
    (shell,) = read_shells_csv(path, "other co")
    assert shell.name == "OTHER-CO-A" and shell.source == "F-1"
    assert (shell.phasing, shell.raan_spread_deg, shell.raan0_deg) == (3, 180.0, 15.0)


# ----------------------------------------------------------------------------- properties

@st.composite
def shells(draw):
    planes = draw(st.integers(1, 12))
    return WalkerShell(
        name="H",
        altitude_km=draw(st.floats(200.0, 2000.0)),
        inclination_deg=draw(st.floats(0.0, 180.0)),
        planes=planes,
        sats_per_plane=draw(st.integers(1, 15)),
        phasing=draw(st.integers(0, planes - 1)),
        raan_spread_deg=draw(st.floats(1.0, 360.0)),
        raan0_deg=draw(st.floats(-360.0, 360.0)),
    )


@settings(max_examples=60, deadline=None)
@given(shells())
def test_walker_pattern_property(shell):
    el = walker_delta(shell, EPOCH_JD, EPOCH_FR)
    P, S = shell.planes, shell.sats_per_plane
    assert len(el) == P * S == shell.total_sats
    assert len(set(el.satnum.tolist())) == len(el)

    nodes = np.degrees(el.nodeo).reshape(P, S)
    assert np.all(nodes == nodes[:, :1])  # one RAAN per plane
    expected = shell.raan0_deg + np.arange(P) * shell.raan_spread_deg / P
    np.testing.assert_allclose(_wrap(nodes[:, 0] - expected), 0.0, atol=1e-9)

    mo = np.degrees(el.mo).reshape(P, S)
    assert np.all((mo >= 0.0) & (mo < 360.0))
    in_plane = (np.diff(mo, axis=1) % 360.0)  # neighbours 360/S apart
    np.testing.assert_allclose(in_plane, 360.0 / S, atol=1e-9)
    between = _wrap(mo[1:, 0] - mo[:-1, 0] - shell.phasing * 360.0 / (P * S))
    np.testing.assert_allclose(between, 0.0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(shells())
def test_mean_radius_property(shell):
    # One satellite per random shell through the sgp4 package: the mean-motion inversion holds
    # for every inclination (prograde, critical, polar, retrograde) and altitude, not just the
    # built-ins. Tolerance as in test_mean_radius_is_the_filed_altitude.
    el = walker_delta(shell, EPOCH_JD, EPOCH_FR).take([0])
    r, _ = _propagate_one_orbit(el)
    assert abs(np.linalg.norm(r, axis=-1).mean() - R_WGS72_KM - shell.altitude_km) < 0.02
