"""Round trips against an independent simulator's published test data: Hypatia's Kuiper-630 cases
(tests/data/hypatia_kuiper_630/README.md), with its constellation, laser list, ground stations and ground-link
rule (any satellite within the maximum ground-link length), every 100 ms for 200 s, unreachable steps
included. Also the readers this needs: a TLE file with a header line and a laser list."""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from placement.constellation import Elements
from placement.constellation.tle import read_elements
from placement.errors import InputError
from placement.network.access import Reach, ground_access
from placement.network.ground import demand_sites
from placement.network.isl import read_laser_list
from placement.network.links import FixedRate
from placement.network.routes import ground_to_ground, laser_links
from placement.propagation.orbits import propagate_orbits
from placement.propagation.timegrid import TimeGrid

DATA = Path(__file__).resolve().parent / "data" / "hypatia_kuiper_630"
RADIUS_KM = 6378.135  # WGS72, as Hypatia's tests
ALTITUDE_KM = 630.0
MAX_GSL_KM = math.hypot(ALTITUDE_KM / math.tan(math.radians(30.0)), ALTITUDE_KM)
MAX_ISL_KM = 2.0 * math.sqrt((RADIUS_KM + ALTITUDE_KM) ** 2 - (RADIUS_KM + 80.0) ** 2)
STATIONS = {1173: (14.6042, 120.9822), 1241: (38.913811, 121.602322), 1229: (59.929858, 30.326228)}
TOLERANCE_MS = 0.5


def round_trips(elements: Elements, lasers: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """[pair, step] round trip in ms, every 100 ms for 200 s from the elements' epoch (inf: unreachable)."""
    grid = TimeGrid(elements.jdsatepoch[0], elements.jdsatepochF[0], 0.1, 2000)
    r_ecef_km = propagate_orbits(elements, grid, np.float64).r_ecef_km
    nodes = sorted({n for pair in pairs for n in pair})
    ground = jnp.asarray(demand_sites(*zip(*(STATIONS[n] for n in nodes))).ecef_km())
    any_rate = FixedRate(1.0)  # capacities play no part here

    @jax.jit
    def step(r_km):
        access = ground_access(ground, r_km, Reach(0.0, MAX_GSL_KM), len(elements), any_rate, any_rate)
        links = laser_links(r_km, jnp.asarray(lasers), max_range_km=MAX_ISL_KM, min_altitude_km=80.0,
                            capacity_gbps=1.0)
        return 2.0 * ground_to_ground(links, access, access)

    rtt = jax.lax.map(step, jnp.moveaxis(jnp.asarray(r_ecef_km), 1, 0))  # [step, node, node]
    return np.stack([np.asarray(rtt[:, nodes.index(a), nodes.index(b)]) for a, b in pairs])


def published(a: int, b: int) -> np.ndarray:
    """Hypatia's round trips in ms (inf where it writes 0: unreachable), checking its 100 ms steps."""
    time_ns, rtt_ns = np.loadtxt(DATA / f"networkx_rtt_{a}_to_{b}.txt", delimiter=",").T
    np.testing.assert_array_equal(time_ns, np.arange(2000) * 100_000_000)
    return np.where(rtt_ns > 0, rtt_ns / 1e6, np.inf)


def assert_matches(ours: np.ndarray, theirs: np.ndarray) -> int:
    """Every step within TOLERANCE_MS of Hypatia's, unreachable where it is; returns how many steps match only
    Hypatia's step before or after.

    That one-sample shift happens where the path changes (a satellite crosses the 1,260 km ground-link limit,
    or a better path appears) within a few ms of a 100 ms sample: our satellite ranges differ from Hypatia's
    (pyephem's SGP4 and frames) by at most about 30 m (measured against pyephem at 0, 100 and 200 s), and the
    range changes by several km/s near the limit, so the crossing moves by a few ms."""
    def close(a, b):
        both = np.isfinite(a) & np.isfinite(b)
        return (np.isinf(a) & np.isinf(b)) | (both & (np.abs(np.where(both, a, 0.0) - np.where(both, b, 0.0))
                                                      <= TOLERANCE_MS))

    exact = close(ours, theirs)
    jump = np.zeros(len(theirs), bool)  # Hypatia's series changes path between step i - 1 and i
    jump[1:] = ~close(theirs[1:], theirs[:-1])
    near_jump = jump | np.r_[jump[1:], False]
    shifted = close(ours, np.r_[theirs[:1], theirs[:-1]]) | close(ours, np.r_[theirs[1:], theirs[-1:]])
    assert (exact | (near_jump & shifted)).all(), np.flatnonzero(~exact)[:10]
    return int((~exact).sum())


def test_duo_manila_dalian_with_hypatias_tle_and_laser_files():
    elements = read_elements(DATA / "tles.txt", header_lines=1).elements
    assert len(elements) == 12 and elements.jdsatepoch[0] + elements.jdsatepochF[0] == 2451544.5  # 2000-01-01
    lasers = read_laser_list(DATA / "isls.txt", len(elements))
    (ours,) = round_trips(elements, lasers, [(1173, 1241)])
    theirs = published(1173, 1241)
    assert assert_matches(ours, theirs) == 0  # no threshold crossing lands near a sample here
    # The path changes at 18.0 s (4 satellites -> 3) and 27.6 s (to the other planes): the round trip jumps
    # from about 29.0 ms to 25.3 ms, then to 41.1 ms (networkx_path_1173_to_1241.txt).
    assert 28.9 < ours[179] < 29.0 and 25.3 < ours[180] < 25.4 and 41.1 < ours[276] < 41.2


def kuiper_triangle() -> tuple[Elements, np.ndarray]:
    """The satellites of the triangle's reference paths (README), their elements and +Grid lasers."""
    used = sorted({int(node) for name in ("1173_to_1241", "1229_to_1173", "1229_to_1241")
                   for line in (DATA / f"networkx_path_{name}.txt").read_text().split()
                   if not line.endswith("Unreachable") for node in line.split(",")[1].split("-")[1:-1]})
    planes = per_plane = 34
    plane, slot = np.divmod(np.asarray(used), per_plane)
    # Hypatia writes its angles with four decimals, its mean motion with eight
    raan = np.round(plane * 360.0 / planes, 4)
    anomaly = np.round(np.where(plane % 2 == 1, 360.0 / (2 * per_plane), 0.0) + slot * 360.0 / per_plane, 4)
    n = len(used)
    elements = Elements(no_kozai=np.full(n, 14.80 * 2 * math.pi / 1440.0), ecco=np.full(n, 1e-7),
                        inclo=np.full(n, math.radians(51.9)), nodeo=np.radians(raan), argpo=np.zeros(n),
                        mo=np.radians(anomaly), bstar=np.zeros(n), jdsatepoch=np.full(n, 2451544.5),
                        jdsatepochF=np.zeros(n))
    index = {sat: i for i, sat in enumerate(used)}
    lasers = np.full((n, 4), -1, np.int32)
    for sat in used:
        o, j = divmod(sat, per_plane)
        for other in (o * per_plane + (j + 1) % per_plane, ((o + 1) % planes) * per_plane + j):
            if other in index:
                a, b = index[sat], index[other]
                lasers[a, np.flatnonzero(lasers[a] < 0)[0]] = b
                lasers[b, np.flatnonzero(lasers[b] < 0)[0]] = a
    return elements, lasers


def test_triangle_manila_dalian_saint_petersburg_with_an_unreachable_interval():
    elements, lasers = kuiper_triangle()
    pairs = [(1173, 1229), (1229, 1241)]
    shifted = 0
    for ours, pair in zip(round_trips(elements, lasers, pairs), pairs):
        theirs = published(*pair)
        assert (~np.isfinite(theirs)).sum() == 98  # 155.4 s to 165.1 s: no path (networkx_path_*.txt)
        shifted += assert_matches(ours, theirs)
    # measured: at 3.2 s (the path change Hypatia has at 3.3 s: Saint Petersburg's ground link) and at 165.1 s
    # (Hypatia regains a path at 165.2 s), for both pairs: 3,996 of the 4,000 steps agree within 0.5 ms at the
    # same instant (the median difference is 0.4 us)
    assert shifted <= 4


def test_readers_name_the_bad_line(tmp_path):
    bad = tmp_path / "isls.txt"
    bad.write_text("0 1\n1 2\n1 x\n")
    with pytest.raises(InputError) as error:
        read_laser_list(bad, 3)
    assert error.value.line == 3 and str(bad) in str(error.value)
    bad.write_text("0 1\n0 2\n0 3\n0 4\n0 5\n")
    with pytest.raises(InputError, match="more than 4 lasers") as error:
        read_laser_list(bad, 6)
    assert error.value.line == 5
    bad.write_text("0 1\n1 0\n")
    with pytest.raises(InputError, match="each link once"):
        read_laser_list(bad, 2)
    with pytest.raises(InputError) as error:  # the header read as an element set
        read_elements(DATA / "tles.txt")
    assert error.value.line == 2
