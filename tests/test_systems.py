"""Operators' systems (placement/systems/): each built-in system's figures against their sources (shells and
counts, band edges, laser range, registry), and a run on a system uses that system's ground segment and link
budgets only: AWS + Kuiper touches no Azure region and no Starlink gateway. Also the config mechanics: a
system lies beneath the config's own values, `system` drops the constellation chosen before it."""

from __future__ import annotations

import csv
import functools
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from placement import pipeline, systems
from placement.config import config_from_dict, load_config
from placement.errors import InputError
from placement.network import ground as ground_tables
from placement.network.geometry import max_isl_range_km
from placement.network.links import KA_GATEWAY, KA_GATEWAY_UPLINK, KU_USER_DOWNLINK, KU_USER_UPLINK
from placement.problem.build import JURISDICTION_GROUPS
from placement.scenario import resolve
from shared_reference import REFERENCE, needs

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
QUICKSTART = CONFIGS / "quickstart.toml"
# FCC 20-102 (Kuiper's Order and Authorization, 2020-07-30), paragraph 2, as published: the bands granted.
FCC_20_102 = ("17.7-17.8 GHz, 17.8-18.6 GHz, 18.8-19.3 GHz, 19.3-19.7 GHz, 19.7-20.2 GHz, 27.5-28.6 GHz, "
              "28.6-29.1 GHz, 29.1-29.5 GHz, and 29.5-30.0 GHz bands")


def on_system(name: str, **sections) -> dict:
    """The quick start's sites and workloads on system `name` (its own constellation left out)."""
    data = tomllib.loads(QUICKSTART.read_text())
    del data["constellation"]
    for section, table in sections.items():
        data[section] = {**data.get(section, {}), **table}
    return {**data, "system": name}


def scenario_of(name: str, **sections):
    if not sections:
        return system_scenario(name)
    return resolve(config_from_dict(on_system(name, **sections), source=str(QUICKSTART)))


@functools.cache
def system_scenario(name: str):
    """The quick start on system `name`, resolved once (the Starlink catalog takes a second to read)."""
    return resolve(config_from_dict(on_system(name), source=str(QUICKSTART)))


def granted_bands() -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in re.findall(r"(\d+\.\d+)-(\d+\.\d+) GHz", FCC_20_102)]


def test_every_system_is_listed_with_sources_and_resolves():
    assert systems.names() == ("aws-kuiper", "aws-kuiper-2025", "azure-starlink", "eu-iris2")
    for name in systems.names():
        about = systems.about(name)
        assert about["title"] and about["as_of"] and about["sources"] and about["assumptions"], name


@needs("constellation_shells.csv")
def test_kuiper_filing_matches_the_reference_shells_and_mask():
    with (REFERENCE / "constellation_shells.csv").open(newline="") as f:
        filed = [r for r in csv.DictReader(f) if r["constellation"] == "Kuiper"]
    scenario = scenario_of("aws-kuiper")
    shells = scenario.constellation.shells
    assert [(s.altitude_km, s.inclination_deg, s.planes, s.sats_per_plane) for s in shells] == [
        (float(r["altitude_km"]), float(r["inclination_deg"]), int(r["planes"]), int(r["sats_per_plane"]))
        for r in filed]
    assert len(scenario.constellation.elements) == sum(int(r["total_sats"]) for r in filed) == 3236
    assert scenario.network.site_reach.min_elevation_deg == float(filed[0]["min_elevation_deg"]) == 35.0
    assert scenario.hosts.satellite_jurisdiction == "US"


def test_kuiper_deployed_is_153_satellites_of_its_630_km_shell():
    c = scenario_of("aws-kuiper-2025").constellation
    assert len(c.elements) == 153 and c.shells is None  # lasers follow the orbits: not the filed grid
    assert np.allclose(np.degrees(c.elements.inclo), 51.9)
    assert np.allclose(c.elements.mean_altitude_km(), 630.0, atol=10.0)
    assert len(set(name.split("-P")[1][:2] for name in c.elements.name)) == 5  # 4 planes of 34 and 17 more


def test_kuiper_ka_user_links_sit_in_the_granted_bands_and_match_the_ku_budget_by_aperture():
    n = scenario_of("aws-kuiper").network
    granted = granted_bands()
    raw = tomllib.loads((Path(systems.__file__).parent / "data" / "aws-kuiper.toml").read_text())["network"]
    for budget, table in ((n.site_downlink, raw["user_downlink"]), (n.site_uplink, raw["user_uplink"])):
        low, high = table["band_ghz"]
        assert any(a <= budget.frequency_ghz <= b for a, b in granted)  # a carrier inside a granted band
        assert (low, high) in {(17.7, 20.2), (27.5, 30.0)}
        assert low == min(a for a, b in granted if a >= low) and high == max(b for a, b in granted if b <= high)
    # The stated assumption, by closed form: a terminal of the same aperture gains 20 log10(f_ka / f_ku) dB,
    # which the extra free-space loss takes back, so capacities at any range equal the Ku budget's.
    range_km = np.array([630.0, 900.0, 1200.0])
    for ka, ku in ((n.site_downlink, KU_USER_DOWNLINK), (n.site_uplink, KU_USER_UPLINK)):
        np.testing.assert_allclose(np.asarray(ka.capacity_gbps(range_km)), np.asarray(ku.capacity_gbps(range_km)),
                                   rtol=2e-3)


def test_iris2_layers_are_the_published_counts_and_altitudes():
    c = scenario_of("eu-iris2").constellation
    altitude = c.elements.mean_altitude_km()
    # advanced-television.com, 2026-01-05: 272 LEO satellites at about 1,200 km, 18 MEO at 8,000 km.
    # (mean_altitude_km is Kozai's a1, a few km from the filed height; the layers are thousands of km apart)
    assert (np.abs(altitude - 1200.0) < 10.0).sum() == 272 and (np.abs(altitude - 8000.0) < 10.0).sum() == 18
    scenario = scenario_of("eu-iris2")
    eu = set(JURISDICTION_GROUPS["EU"])
    assert set(scenario.ground.clouds.country) <= eu and set(scenario.ground.gateways.country) <= eu
    assert scenario.hosts.satellite_jurisdiction in eu


def test_iris2_links_close_at_1200_km_as_starlinks_at_550():
    n = scenario_of("eu-iris2").network
    range_km = np.array([550.0, 749.0, 1123.0])  # Starlink's slant ranges at 90, 45 and 25 deg (links.py)
    farther = range_km * 1200.0 / 550.0  # the same geometry scaled to the higher shell
    for iris2, starlink in ((n.site_downlink, KU_USER_DOWNLINK), (n.site_uplink, KU_USER_UPLINK),
                            (n.gateway_downlink, KA_GATEWAY), (n.gateway_uplink, KA_GATEWAY_UPLINK)):
        np.testing.assert_allclose(np.asarray(iris2.capacity_gbps(farther)),
                                   np.asarray(starlink.capacity_gbps(range_km)), rtol=2e-3)


@pytest.mark.parametrize("name, lowest_km", [("azure-starlink", 550.0), ("aws-kuiper", 590.0), ("eu-iris2", 1200.0)])
def test_laser_range_is_the_clear_range_of_the_lowest_shell(name, lowest_km):
    assert scenario_of(name).network.laser_max_range_km == pytest.approx(float(max_isl_range_km(lowest_km)), abs=0.1)


def test_starlink_as_it_flies_is_the_shipped_catalog_on_its_own_ground():
    scenario = scenario_of("azure-starlink")
    c = scenario.constellation
    shipped = CONFIGS / "data" / "starlink_2026-02-23.tle"
    assert Path(c.label).name == shipped.name and (Path(systems.__file__).parent / "data" / shipped.name).read_bytes() \
        == shipped.read_bytes()  # the packaged copy is the configs' catalog
    catalog = shipped.read_text().splitlines()
    assert len(c.elements) + c.rejected_records == sum(line.startswith("1 ") for line in catalog) == 9543
    assert scenario.ground.gateways.name == ground_tables.gateways().name
    assert all(name.startswith("azure:") for name in scenario.ground.clouds.name)
    assert scenario.network.site_downlink is KU_USER_DOWNLINK


@pytest.fixture(scope="module")
def kuiper_run():
    """A small run on AWS + Kuiper (its 630 km shell, one epoch of one step, the quick start's Kenyan sites: its
    North Sea ones lie beyond the 51.9 deg shell's reach), through the stages of `placement run` short of
    writing the run directory: the scenario, its problem and each strategy's solution."""
    kenya = [site for site in on_system("aws-kuiper")["demand"]["sites"] if site["country"] == "KE"]
    scenario = scenario_of("aws-kuiper", constellation={"shells": [1]}, time={"duration_h": 0.17, "step_s": 600.0},
                           demand={"sites": kenya},
                           solver={"strategies": ["greedy", "nearest_gateway", "cloud_only"], "certify": False})
    problem = pipeline.prepare(scenario).problem
    results, _ = pipeline.solve_all(problem, scenario)
    return scenario, problem, {name: result.solution for name, (result, _) in results.items()}


def test_a_kuiper_run_touches_no_azure_region_and_no_starlink_gateway(kuiper_run):
    scenario, problem, solutions = kuiper_run
    starlink = set(ground_tables.gateways().name) | set(ground_tables.pops().name)
    aws = set(ground_tables.cloud_regions("aws").name)
    assert set(scenario.ground.clouds.name) == aws
    assert not starlink & (set(scenario.ground.gateways.name) | set(scenario.ground.pops.name))
    on_ground = {name for name in problem.host_name if not name.startswith("KUIPER-")}
    assert on_ground == aws | {f"gateway at {name}" for name in aws}  # every ground host is at an AWS region
    used = set()
    for name, solution in solutions.items():
        served = solution.assignment > 0  # [epoch, demand, slot]
        used |= {problem.host_name[h] for h in problem.candidate_host[served]}
        assert served.any(), name
    assert {h.removeprefix("gateway at ") for h in used if not h.startswith("KUIPER-")} <= aws
    assert not any(h.startswith("azure:") for h in used) and not used & starlink
    assert scenario.config["system"] == "aws-kuiper"
    assert scenario.network.site_downlink.frequency_ghz == 18.95  # the system's Ka budget is the one used


def test_a_config_value_wins_over_the_system_and_errors_name_the_right_file(tmp_path):
    scenario = scenario_of("aws-kuiper", network={"cloud_provider": "azure", "ground_tables": "starlink-starperf"})
    assert all(name.startswith("azure:") for name in scenario.ground.clouds.name)
    assert scenario.network.site_reach.min_elevation_deg == 35.0  # still the system's
    with pytest.raises(InputError, match="unknown system 'starlink'") as error:
        config_from_dict(on_system("starlink"), source=str(QUICKSTART))
    assert error.value.field == "system" and error.value.source == str(QUICKSTART)
    with pytest.raises(InputError, match="2000 satellites of 1156 filed"):
        scenario_of("aws-kuiper-2025", constellation={"satellites": 2000})


def test_system_drops_the_constellation_chosen_before_it():
    config = load_config(CONFIGS / "starlink-vs-kuiper.toml")  # extends the filings, which choose a builtin
    assert config.system == "azure-starlink" and config.constellation.builtin is None
    assert Path(config.constellation.file).name == "starlink_2026-02-23.tle"
    kuiper = load_config(CONFIGS / "starlink-vs-kuiper.toml", ["system=aws-kuiper"])
    assert kuiper.constellation.builtin == "kuiper" and kuiper.constellation.file is None
    control = load_config(CONFIGS / "starlink-vs-kuiper-filings.toml", ["constellation.builtin=kuiper"])
    assert control.system is None and control.network.cloud_provider == "azure"


def test_announced_regions_only_when_asked():
    rows = ground_tables.load_table("cloud_regions.csv")
    assert {r["status"] for r in rows} == {"available", "announced"}
    announced = {f"{r['provider']}:{r['name']}" for r in rows if r["status"] == "announced"}
    assert "azure:eastafrica" in announced
    assert not announced & set(ground_tables.cloud_regions("azure").name)
    assert announced <= set(ground_tables.cloud_regions(announced=True).name)
    kenya = scenario_of("azure-starlink", network={"announced_regions": True}).ground.clouds
    assert kenya.country[kenya.name.index("azure:eastafrica")] == "KE"
    with pytest.raises(InputError, match="unknown jurisdiction 'Europe'"):
        scenario_of("eu-iris2", network={"cloud_jurisdictions": ["Europe"]})
