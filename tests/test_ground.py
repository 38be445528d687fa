"""Ground nodes, shipped tables, country assignment and terrestrial fiber (placement.network.ground)."""

from __future__ import annotations

import csv
import importlib.util
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement.errors import InputError
from placement.network import ground
from placement.network.ground import (EARTH_MEAN_RADIUS_KM, GroundNodes, cloud_regions, demand_sites,
                                      demand_sites_from_table, fiber_latency_ms, gateways, great_circle_km, load_table,
                                      nearest, pop_of_gateway, pops)
from placement.propagation.frames import geodetic_to_ecef
from shared_reference import REFERENCE, needs

CONFIG_DATA = Path(__file__).resolve().parents[1] / "configs" / "data"  # copies the configs read

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "curate_ground_tables.py"


@pytest.fixture(scope="module")
def curate():
    spec = importlib.util.spec_from_file_location("curate_ground_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def countries(curate):
    if not (REFERENCE / "naturalearth_110m").is_dir():
        pytest.skip(f"reference data not present at {REFERENCE}")
    return curate.load_countries(REFERENCE)


# --------------------------------------------------------------------------------- tables

def test_table_sizes_and_uniqueness():
    g, p, c = gateways(), pops(), cloud_regions()
    assert len(g) == 222
    assert len(p) == 23  # the reference file holds POP1..POP23 (its README says 24)
    assert len(cloud_regions("azure")) == 55 - 4  # brazilus, eastusstg, eastus2euap, centraluseuap
    assert len(cloud_regions("aws")) == 23
    assert len(c) == 74
    for nodes in (g, p, c):
        assert len(set(nodes.name)) == len(nodes)
        coords = set(zip(nodes.lat_deg.round(6), nodes.lon_deg.round(6)))
        assert len(coords) == len(nodes) or nodes is c  # Azure pairs (e.g. australiacentral/2) share a site
        assert not np.any((nodes.lat_deg == 0) & (nodes.lon_deg == 0))
    assert set(g.kind) == {"gateway"} and set(p.kind) == {"pop"} and set(c.kind) == {"cloud"}
    names = set(c.name)
    for dropped in ("brazilus", "eastusstg", "eastus2euap", "centraluseuap"):
        assert f"azure:{dropped}" not in names


def test_every_row_has_country_and_source():
    for filename in ("gateways.csv", "pops.csv", "cloud_regions.csv"):
        rows = load_table(filename)
        assert rows
        for row in rows:
            assert re.fullmatch(r"[A-Z]{2}", row["country"]), (filename, row)
            assert row["source"].strip(), (filename, row)


def test_spaincentral_fixed_and_noted():
    c = cloud_regions("azure")
    i = c.name.index("azure:spaincentral")
    assert -4.0 < c.lon_deg[i] < -3.0  # Madrid area (~ -3.7); the source had +3.4209
    assert c.country[i] == "ES"
    row = next(r for r in load_table("cloud_regions.csv") if r["name"] == "spaincentral")
    assert "sign" in row["note"]


@needs("starlink_gateways.csv")
def test_gateway_merge_keeps_antennas_and_bands():
    with open(REFERENCE / "starlink_gateways.csv", encoding="utf-8") as f:
        raw = list(csv.DictReader(f))
    rows = load_table("gateways.csv")
    assert sum(int(r["antennas"]) for r in rows) == sum(int(r["Antenna_Count"]) for r in raw)
    assert sum(int(r["antennas_e"]) for r in rows) == sum(
        int(r["Antenna_Count"]) for r in raw if r["Frequency"] == "E")
    york = next(r for r in rows if r["name"].startswith("York, PA"))
    assert (int(york["antennas"]), york["bands"]) == (72, "Ka;E")  # 40 Ka + 32 E
    ids = [i for r in rows for i in r["source"].split("; StarPerf")[0].split()[-1].split(";")]
    assert sorted(ids) == sorted(r["id"] for r in raw)  # every entry used exactly once


@needs("starlink_gateways.csv")
def test_curation_script_reproduces_shipped_tables(curate, tmp_path, capsys):
    assert curate.main(["--reference", str(REFERENCE), "--out", str(tmp_path)]) == 0
    shipped = ROOT / "placement" / "network" / "data"
    for name in ("gateways.csv", "pops.csv", "cloud_regions.csv"):
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name
    out = capsys.readouterr().out
    assert "DISAGREE azure israelcentral" in out  # reported, not silently fixed


# --------------------------------------------------------------------------------- countries

def test_gateway_countries_agree_with_source_text():
    """Descriptions ending in a country code ("Camaçari, BR", "Anakie, VIC, AU") name the country."""
    us_states = {"AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "IA", "ID", "IL",
                 "IN", "KS", "MD", "ME", "MI", "MN", "MO", "MT", "NC", "ND", "NE", "NJ", "NM", "NV",
                 "NY", "OH", "OK", "OR", "PA", "SC", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WY"}
    checked = 0
    for row in load_table("gateways.csv"):
        text = row["name"].split(" | ")[0].split(" / ")[-1].split(" - ")[0].replace("(backhaul only)", "").strip()
        tokens = [t.strip() for t in text.split(",")]
        code = {"UK": "GB"}.get(tokens[-1], tokens[-1])
        if row["name"] == "Isle of Man, UK":
            assert row["country"] == "IM"
        elif len(tokens) == 3 or (len(tokens) == 2 and code not in us_states and len(code) == 2):
            assert row["country"] == code, row
            checked += 1
        elif len(tokens) == 2 and code in us_states:
            # a US state, or an ISO country with the same letters
            assert row["country"] in {"US", code}, row
    assert checked > 60
    by_name = {r["name"]: r["country"] for r in load_table("gateways.csv")}
    assert by_name["Colburn, ID"] == "US"  # Idaho
    assert by_name["Kendari, ID (backhaul only)"] == "ID"  # Indonesia
    assert by_name["Falda del Carmen, AR"] == "AR"  # Argentina, not Arkansas
    assert by_name["Frankfurt, DE"] == "DE"  # Germany, not Delaware


def test_pop_and_cloud_countries():
    p = pops()
    assert dict(zip(p.name, p.country))["MAD - MDRDESP1"] == "ES"
    assert dict(zip(p.name, p.country))["QRO/MEX - QRTOMEX1"] == "MX"
    assert dict(zip(p.name, p.country))["SIN - SNGESGP1"] == "SG"
    c = cloud_regions()
    country = dict(zip(c.name, c.country))
    assert country["azure:westeurope"] == "NL" and country["aws:ap-east-1"] == "HK"
    assert country["aws:me-south-1"] == "BH" and country["azure:israelcentral"] == "IL"


def test_known_points_locate(curate, countries):
    assert curate.locate(-1.28333, 36.81667, countries) == ("KE", 0.0)  # Nairobi
    assert curate.locate(40.4168, -3.7038, countries) == ("ES", 0.0)  # Madrid
    assert curate.locate(-33.87, 151.21, countries)[0] == "AU"  # Sydney (coastal)
    assert curate.locate(0.0, -140.0, countries)[0] is None  # mid Pacific
    # Antimeridian wrap: a Norwegian Sea point must not snap to Chukotka (Russia)
    assert curate.locate(65.067371, 7.491138, countries)[0] is None


@needs("north_sea_platforms.csv")
def test_north_sea_platforms(curate, countries):
    with open(REFERENCE / "north_sea_platforms.csv", encoding="utf-8", errors="replace") as f:
        rows = {r["platform_id"]: r for r in csv.DictReader(f)}
    for pid, expected in (("NL10", "NL"), ("UK1088", "GB")):  # near-shore platforms
        r = rows[pid]
        assert curate.locate(float(r["lat"]), float(r["lon"]), countries)[0] == expected
    agree = total = 0
    for pid, r in rows.items():
        c, _ = curate.locate(float(r["lat"]), float(r["lon"]), countries)
        if c is None:
            continue  # > 50 km offshore: no maritime zones in Natural Earth admin-0
        total += 1
        agree += c == {"UK": "GB"}.get(pid[:2], pid[:2])
    assert total > 100 and agree / total > 0.95


def test_shapefile_reader(curate, countries):
    assert len(countries) == 177
    assert len({c.iso2 for c in countries}) >= 175
    for c in countries:
        for xs, ys in c.rings:
            assert xs[0] == xs[-1] and ys[0] == ys[-1]  # shapefile rings are closed
            assert np.all(np.abs(xs) <= 180.0 + 1e-9) and np.all(np.abs(ys) <= 90.0 + 1e-9)


def _winding_inside(x, y, rings):
    """Brute force: a point is inside a multi-ring polygon (even-odd) when an odd number of rings
    wind around it; a ring winds around it when its summed turning angle is +-2 pi."""
    count = 0
    for xs, ys in rings:
        ang = np.arctan2(ys - y, xs - x)
        d = np.diff(np.append(ang, ang[0]))
        d = (d + np.pi) % (2 * np.pi) - np.pi
        count += abs(d.sum()) > np.pi
    return count % 2 == 1


def _ring(pts):
    a = np.array(pts + [pts[0]], dtype=float)
    return a[:, 0], a[:, 1]


HAND_POLYGONS = {
    "square_with_hole": [_ring([(0, 0), (10, 0), (10, 10), (0, 10)]),
                         _ring([(3, 3), (3, 7), (7, 7), (7, 3)])],
    "concave_c": [_ring([(0, 0), (6, 0), (6, 2), (2, 2), (2, 4), (6, 4), (6, 6), (0, 6)])],
    "star": [_ring([(5 + (4 if k % 2 == 0 else 1.5) * math.cos(k * math.pi / 5),
                     5 + (4 if k % 2 == 0 else 1.5) * math.sin(k * math.pi / 5)) for k in range(10)])],
    "two_islands": [_ring([(0, 0), (2, 0), (1, 3)]), _ring([(5, 5), (9, 5), (9, 6), (5, 6)])],
}


@pytest.mark.parametrize("shape", sorted(HAND_POLYGONS))
def test_point_in_polygon_matches_brute_force(curate, shape):
    rings = HAND_POLYGONS[shape]
    rng = np.random.default_rng(7)
    pts = rng.uniform(-1.0, 11.0, size=(600, 2))
    inside = [curate.point_in_rings(x, y, rings) for x, y in pts]
    expected = [_winding_inside(x, y, rings) for x, y in pts]
    assert inside == expected
    assert 0 < sum(inside) < len(pts)


def test_point_in_polygon_hole_and_concavity(curate):
    hole = HAND_POLYGONS["square_with_hole"]
    assert curate.point_in_rings(1.0, 1.0, hole) and not curate.point_in_rings(5.0, 5.0, hole)
    c = HAND_POLYGONS["concave_c"]
    assert curate.point_in_rings(1.0, 3.0, c) and not curate.point_in_rings(4.0, 3.0, c)


def test_distance_to_rings(curate):
    square = [_ring([(0, 0), (1, 0), (1, 1), (0, 1)])]
    km_per_deg = math.radians(1.0) * curate.EARTH_MEAN_RADIUS_KM
    assert curate.distance_to_rings_km(0.5, 1.2, square) == pytest.approx(0.2 * km_per_deg * math.cos(math.radians(0.5)), rel=1e-9)
    assert curate.distance_to_rings_km(-0.1, 0.5, square) == pytest.approx(0.1 * km_per_deg, rel=1e-9)


# --------------------------------------------------------------------------------- fiber

def test_great_circle_known_distances():
    assert great_circle_km(51.5074, -0.1278, 40.7128, -74.0060) == pytest.approx(5570, abs=15)
    assert great_circle_km(90.0, 0.0, 0.0, 123.0) == pytest.approx(math.pi / 2 * EARTH_MEAN_RADIUS_KM, rel=1e-12)
    assert great_circle_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_MEAN_RADIUS_KM, rel=1e-12)
    assert great_circle_km(10.0, 20.0, 10.0, 20.0) == 0.0
    d = great_circle_km(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((1, 4)), np.arange(4.0)[None, :])
    assert d.shape == (3, 4)
    np.testing.assert_allclose(d[0], np.radians(np.arange(4.0)) * EARTH_MEAN_RADIUS_KM, rtol=1e-12)


lat = st.floats(-90, 90, allow_nan=False)
lon = st.floats(-180, 180, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(lat, lon, lat, lon, lat, lon)
def test_great_circle_metric(a1, o1, a2, o2, a3, o3):
    d12 = great_circle_km(a1, o1, a2, o2)
    assert d12 == pytest.approx(great_circle_km(a2, o2, a1, o1), abs=1e-9)
    assert 0.0 <= d12 <= math.pi * EARTH_MEAN_RADIUS_KM + 1e-9
    assert d12 <= great_circle_km(a1, o1, a3, o3) + great_circle_km(a3, o3, a2, o2) + 1e-6


def test_fiber_latency():
    assert fiber_latency_ms(1000.0, route_factor=1.0) == pytest.approx(4.8967, abs=1e-4)
    assert fiber_latency_ms(1000.0) == pytest.approx(4.8967 * ground.DEFAULT_FIBER_ROUTE_FACTOR, abs=1e-3)
    np.testing.assert_allclose(fiber_latency_ms(np.array([0.0, 2000.0]), 1.0), [0.0, 9.7934], atol=1e-3)
    with pytest.raises(InputError) as e:
        fiber_latency_ms(100.0, route_factor=0.5)
    assert e.value.field == "route_factor"
    with pytest.raises(InputError):
        fiber_latency_ms(-1.0)


def test_nearest_matches_brute_force_and_pop_assignment():
    g, p = gateways(), pops()
    idx, dist = nearest(g, p, return_distance=True)
    for i in range(0, len(g), 17):
        d = [great_circle_km(g.lat_deg[i], g.lon_deg[i], p.lat_deg[j], p.lon_deg[j]) for j in range(len(p))]
        assert idx[i] == int(np.argmin(d)) and dist[i] == pytest.approx(min(d))
    assignment = dict(zip(g.name, (p.name[j] for j in pop_of_gateway())))
    assert assignment["Frankfurt, DE"] == "FRA - FRNTDEU1"
    assert assignment["Ikire, NG"] == "LOS - LGOSNGA1"
    assert assignment["Aerzen, DE"] == "FRA - FRNTDEU1"
    assert np.array_equal(pop_of_gateway(), idx)


# --------------------------------------------------------------------------------- demand

def test_kenya_demand_sites_top_n():
    path = CONFIG_DATA / "kenya_towns.csv"
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    top = sorted(rows, key=lambda r: -float(r["population"]))[:25]
    sites = demand_sites_from_table(path, country="KE", limit=25)
    assert sites.name == tuple(r["city"] for r in top)
    assert sites.name[0] == "Nairobi"
    assert set(sites.kind) == {"demand"} and set(sites.country) == {"KE"}
    assert np.all((sites.lat_deg > -4.8) & (sites.lat_deg < 5.1))  # Kenya's bounding box
    assert np.all((sites.lon_deg > 33.9) & (sites.lon_deg < 42.0))
    big = demand_sites_from_table(path, min_population=100_000)
    assert 0 < len(big) == sum(float(r["population"]) >= 100_000 for r in rows)
    assert big.country == ("",) * len(big)


def test_brazil_and_platform_tables():
    b = demand_sites_from_table(CONFIG_DATA / "brazil_agri_towns.csv", country="BR", limit=5)
    assert b.name[0] == "Salvador" and len(b) == 5
    ns = demand_sites_from_table(CONFIG_DATA / "north_sea_platforms.csv", name_column="name",
                                 population_column=None, limit=3)
    assert len(ns) == 3 and ns.name[0] == "Manslagt Z1"


def test_malformed_csv_errors_name_line_and_column(tmp_path):
    bad = tmp_path / "towns.csv"
    bad.write_text("city,lat,lon,population\nA,1.0,36.0,100\nB,north,36.0,200\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        demand_sites_from_table(bad)
    assert (e.value.line, e.value.field) == (3, "lat")
    assert "towns.csv" in str(e.value) and "line 3" in str(e.value)

    bad.write_text("city,lat,lon,population\nA,1.0,36.0,100\nB,1.0,236.0,200\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        demand_sites_from_table(bad)
    assert (e.value.line, e.value.field) == (3, "lon")

    bad.write_text("city,lat,lon\nA,1.0,36.0\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        demand_sites_from_table(bad)
    assert (e.value.line, e.value.field) == (1, "population")

    bad.write_text("city,lat,lon,population\nA,1.0,36.0,100\nB,1.0\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        demand_sites_from_table(bad)
    assert e.value.line == 3 and e.value.field == "lon"

    bad.write_text("city,lat,lon,population\nA,1.0,36.0,-5\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        demand_sites_from_table(bad)
    assert (e.value.line, e.value.field) == (2, "population")


# --------------------------------------------------------------------------------- GroundNodes

def test_ground_nodes_validation_names_field_and_node():
    with pytest.raises(InputError) as e:
        GroundNodes(("a", "b"), ("demand", "demand"), [0.0, 95.0], [0.0, 0.0])
    assert e.value.field == "lat_deg" and "'b'" in str(e.value) and "node 1" in str(e.value)
    with pytest.raises(InputError) as e:
        GroundNodes(("a",), ("demand",), [0.0], [-181.0])
    assert e.value.field == "lon_deg"
    with pytest.raises(InputError) as e:
        GroundNodes(("a", "b"), ("demand",), [0.0, 1.0], [0.0, 1.0])
    assert e.value.field == "kind"
    with pytest.raises(InputError) as e:
        GroundNodes(("a",), ("satellite",), [0.0], [0.0])
    assert e.value.field == "kind"
    with pytest.raises(InputError) as e:
        GroundNodes(("a",), ("demand",), [float("nan")], [0.0])
    assert e.value.field == "lat_deg"
    with pytest.raises(InputError) as e:
        demand_sites([1.0], [2.0], country="Kenya")
    assert e.value.field == "country"


def test_ground_nodes_take_concatenate_ecef():
    a = demand_sites([0.0, 10.0], [0.0, 20.0], names=["x", "y"], country="KE")
    g = gateways()
    both = a.concatenate(g)
    assert len(both) == len(g) + 2 and both.kind[:2] == ("demand", "demand")
    assert both.of_kind("gateway").name == g.name
    sub = both.take([3, 0])
    assert sub.name == (g.name[1], "x") and sub.country[1] == "KE"
    assert both.take(np.array([k == "demand" for k in both.kind])).name == ("x", "y")
    r = a.ecef_km()
    assert r.dtype == np.float64 and r.shape == (2, 3)
    np.testing.assert_allclose(r[0], [6378.137, 0.0, 0.0], atol=1e-9)
    expected = np.asarray(geodetic_to_ecef(np.radians(10.0), np.radians(20.0), 0.0))
    np.testing.assert_allclose(r[1], expected, atol=1e-9)
    assert np.linalg.norm(g.ecef_km(), axis=1).min() > 6356.0
    with pytest.raises(ValueError):
        a.lat_deg[0] = 5.0  # read-only
    with pytest.raises(AttributeError):
        a.name = ("z",)
