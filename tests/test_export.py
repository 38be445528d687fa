"""`placement export`: each format checked by a parser or schema no one here wrote (czml3's pydantic models of
Cesium's CZML packets, geojson-pydantic's RFC 7946 models, the OGC KML 2.2 XSD shipped with pykml), and its
content counted against the run's own Parquet tables and config, read here independently of the reader."""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow.parquet as pq
import pytest
from czml3 import Packet
from geojson_pydantic import FeatureCollection
from lxml import etree
from pykml.parser import Schema

from placement import cli
from placement.results.export import export
from placement.results.layers import antimeridian_parts

STRATEGY = "milp"
EPOCH = 1
KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def run_path(run_dir):
    return run_dir[0]


@pytest.fixture(scope="module")
def truth(run_path):
    """What the files must show, from the run directory's own files: the tracks' satellites, the epochs' UTC
    intervals, the milp assignments and the hosts with a milp copy per epoch."""
    config = json.loads((run_path / "config.json").read_text())
    metrics = json.loads((run_path / "metrics.json").read_text())
    start = datetime.datetime.fromisoformat(config["time"]["start"].replace("Z", "+00:00"))
    step = datetime.timedelta(seconds=config["problem"]["epoch_s"])
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    epochs = [(iso(start + e * step), iso(start + (e + 1) * step)) for e in range(metrics["problem"]["epochs"])]
    assignments = pq.read_table(run_path / "assignments.parquet").to_pylist()
    chosen = [row for row in assignments if row["strategy"] == STRATEGY]
    copies = [row for row in pq.read_table(run_path / "placements.parquet").to_pylist() if row["strategy"] == STRATEGY]
    return {"satellites": set(pq.read_table(run_path / "tracks.parquet")["satellite"].to_pylist()),
            "epochs": epochs, "assignments": chosen,
            "hosts": {e: {row["host"] for row in copies if row["epoch"] == e} for e in range(len(epochs))}}


@pytest.fixture(scope="module")
def files(run_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    return {fmt: export(run_path, fmt, folder / f"all.{fmt}", STRATEGY) for fmt in ("czml", "geojson", "kml")} | {
        "geojson_epoch": export(run_path, "geojson", folder / "one.geojson", STRATEGY, EPOCH)}


def test_czml_is_valid_cesium_packets_with_the_runs_objects_and_times(files, truth):
    packets = json.loads(files["czml"].read_text())
    for packet in packets:
        Packet.model_validate(packet)  # raises on a property or value the CZML packet schema does not allow
    assert packets[0]["id"] == "document" and packets[0]["version"] == "1.0"
    ids = {p["id"] for p in packets}
    assert len(ids) == len(packets)
    satellites = {p["id"].split("/", 1)[1] for p in packets if p["id"].startswith("satellite/")}
    assert satellites == truth["satellites"]
    for e, interval in enumerate(truth["epochs"]):
        copies = [p for p in packets if p["id"].startswith(f"copy/{e}/")]
        links = [p for p in packets if p["id"].startswith(f"link/{e}/")]
        assert {p["properties"]["host"] for p in copies} == truth["hosts"][e]
        assert len(links) == sum(row["epoch"] == e for row in truth["assignments"])
        assert {p["availability"] for p in copies + links} == {"/".join(interval)}
        for link in links:  # both ends are objects of the file
            assert {ref.split("#")[0] for ref in link["polyline"]["positions"]["references"]} <= ids
    for copy in (p for p in packets if p["id"].startswith("copy/")):
        reference = copy["position"].get("reference")
        assert reference is None or reference.split("#")[0] in ids


def test_czml_satellite_samples_are_the_tracks(files, run_path):
    tracks = pq.read_table(run_path / "tracks.parquet").to_pylist()
    name = tracks[0]["satellite"]
    mine = [row for row in tracks if row["satellite"] == name]
    packet = next(p for p in json.loads(files["czml"].read_text()) if p["id"] == f"satellite/{name}")
    samples = np.reshape(packet["position"]["cartographicDegrees"], (-1, 4))
    np.testing.assert_allclose(samples[:, 0], [row["time_min"] * 60 for row in mine])
    np.testing.assert_allclose(samples[:, 1], [row["lon_deg"] for row in mine])
    np.testing.assert_allclose(samples[:, 2], [row["lat_deg"] for row in mine])
    # Starlink Gen1 shell 1 flies at 550 km (FCC SAT-MOD-20190830-00087); geodetic height varies by some 20 km
    # with latitude because the Earth is flattened.
    assert np.all((samples[:, 3] > 540e3) & (samples[:, 3] < 580e3))


def test_geojson_is_rfc7946_with_a_line_per_assignment_of_the_epoch(files, truth):
    one = json.loads(files["geojson_epoch"].read_text())
    FeatureCollection.model_validate(one)
    every = json.loads(files["geojson"].read_text())
    FeatureCollection.model_validate(every)
    kinds = lambda fc, kind: [f for f in fc["features"] if f["properties"]["kind"] == kind]  # noqa: E731
    links = kinds(one, "link")
    expected = [row for row in truth["assignments"] if row["epoch"] == EPOCH]
    assert sorted((f["properties"]["demand"], f["properties"]["host"]) for f in links) == \
        sorted((row["demand"], row["host"]) for row in expected)
    assert {(f["properties"]["epoch_start_utc"], f["properties"]["epoch_end_utc"]) for f in links} == \
        {truth["epochs"][EPOCH]}
    assert {f["properties"]["host"] for f in kinds(one, "host")} == truth["hosts"][EPOCH]
    assert len(kinds(every, "link")) == len(truth["assignments"])
    tracks = kinds(every, "satellite")
    assert {f["properties"]["name"] for f in tracks} == truth["satellites"]
    for feature in tracks + kinds(every, "link"):
        geometry = feature["geometry"]
        lines = geometry["coordinates"] if geometry["type"] == "MultiLineString" else [geometry["coordinates"]]
        for line in lines:
            lon, lat = np.array(line)[:, 0], np.array(line)[:, 1]
            assert np.all(np.abs(lon) <= 180) and np.all(np.abs(lat) <= 90)
            assert np.all(np.abs(np.diff(lon)) <= 180)  # RFC 7946 3.1.9: cut at the antimeridian
        if feature["properties"]["kind"] == "satellite":
            assert len(feature["properties"]["times_utc"]) == sum(len(line) for line in lines)


def test_kml_validates_against_the_ogc_schema_with_epoch_time_spans(files, truth):
    assert Schema("ogckml22.xsd").validate(etree.parse(str(files["kml"])))
    root = ET.parse(files["kml"]).getroot()
    assert root.tag == f"{KML}kml"
    folders = {f.findtext(f"{KML}name"): f for f in root.find(f"{KML}Document").findall(f"{KML}Folder")}
    assert {f.findtext(f"{KML}name") for f in folders["Satellites"].findall(f"{KML}Folder")} == truth["satellites"]
    link_epochs = folders["Links"].findall(f"{KML}Folder")
    assert sum(len(f.findall(f"{KML}Placemark")) for f in link_epochs) == len(truth["assignments"])
    for folder in link_epochs + folders["Hosts"].findall(f"{KML}Folder"):
        epoch = int(folder.findtext(f"{KML}name").split()[-1])
        spans = {(p.findtext(f"{KML}TimeSpan/{KML}begin"), p.findtext(f"{KML}TimeSpan/{KML}end"))
                 for p in folder.findall(f"{KML}Placemark")}
        assert spans == {truth["epochs"][epoch]}


def test_links_carry_the_path_from_the_site_to_the_host(files, run_path):
    paths = pq.read_table(run_path / "paths.parquet").to_pylist()
    links = [f["properties"] for f in json.loads(files["geojson"].read_text())["features"]
             if f["properties"]["kind"] == "link"]
    assert links
    for link in links:
        steps = {row["step"] for row in paths if (row["epoch"], row["site"], row["host"]) ==
                 (link["epoch"], link["site"], link["host"])}
        nodes = link["path"].split(" > ")
        if not steps:  # no step of the epoch has a path between them
            assert link["path"] == ""
            continue
        first = [row for row in paths if (row["epoch"], row["step"], row["site"], row["host"]) ==
                 (link["epoch"], min(steps), link["site"], link["host"])]
        assert nodes == [row["node"] for row in sorted(first, key=lambda row: row["hop"])]
        assert nodes[0] == link["site"] and nodes[-1] == link["host"]


def test_a_copy_that_serves_nothing_is_exported(idle_copy_run, tmp_path):
    run_path, idle = idle_copy_run
    name = f"copy/{idle['epoch']}/{idle['host']}"
    packets = json.loads(export(run_path, "czml", tmp_path / "idle.czml", STRATEGY).read_text())
    copy = next(p for p in packets if p["id"] == name)["properties"]
    assert copy["requests"][copy["models"].index(idle["model"])] == 0
    features = json.loads(export(run_path, "geojson", tmp_path / "idle.geojson", STRATEGY).read_text())["features"]
    host = next(f["properties"] for f in features if f["properties"]["kind"] == "host"
                and (f["properties"]["epoch"], f["properties"]["host"]) == (idle["epoch"], idle["host"]))
    assert host["requests"][host["models"].index(idle["model"])] == 0
    assert not any(f["properties"]["kind"] == "link" and f["properties"]["model"] == idle["model"]
                   and (f["properties"]["epoch"], f["properties"]["host"]) == (idle["epoch"], idle["host"])
                   for f in features)


def test_a_polyline_is_cut_where_it_crosses_the_antimeridian():
    parts = antimeridian_parts(np.array([170.0, 178.0, -178.0, -170.0]), np.array([0.0, 10.0, 20.0, 30.0]))
    # From 178 to -178 is 4 degrees east: the crossing is half way, at latitude 15.
    assert [p[0].tolist() for p in parts] == [[170.0, 178.0, 180.0], [-180.0, -178.0, -170.0]]
    assert [p[1].tolist() for p in parts] == [[0.0, 10.0, 15.0], [15.0, 20.0, 30.0]]
    assert len(antimeridian_parts(np.array([10.0, 20.0]), np.array([0.0, 1.0]))) == 1


def test_export_refuses_bad_arguments_and_files_it_did_not_write(run_path, tmp_path, capsys):
    foreign = tmp_path / "mine.kml"
    foreign.write_text("not ours")
    base = ["export", str(run_path), "--format", "kml", "--out", str(foreign)]
    assert cli.main(base) == 2
    assert cli.main(base + ["--overwrite"]) == 2
    assert foreign.read_text() == "not ours"
    assert "--out" in capsys.readouterr().err
    assert cli.main(["export", str(run_path), "--format", "czml", "--strategy", "gradient"]) == 2
    assert "field '--strategy'" in capsys.readouterr().err
    assert cli.main(["export", str(run_path), "--format", "czml", "--epoch", "7", "--out",
                     str(tmp_path / "x.czml")]) == 2
    assert "field '--epoch'" in capsys.readouterr().err and not (tmp_path / "x.czml").exists()
    ours = tmp_path / "ours.geojson"
    assert cli.main(["export", str(run_path), "--format", "geojson", "--out", str(ours)]) == 0
    assert cli.main(["export", str(run_path), "--format", "geojson", "--out", str(ours), "--overwrite"]) == 0
