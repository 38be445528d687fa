"""The scenario configs in configs/: each validates, and each runs end to end at reduced size through the same
`pipeline.run` as `placement run` (one shell, two epochs, a few sites, the cheap strategies), with checks of
what its question needs: every strategy's solution passes the evaluator, and the feature the scenario stands
on (a gateway in Kenya, a cluster with no fiber, Direct-to-Cell links, EU-only processing, Kuiper) shows in
the results. Also the config features behind them: demand units, row filters, extra gateways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from placement import pipeline
from placement.config import load_config
from placement.errors import InputError
from placement.network.links import KU_USER_DOWNLINK
from placement.problem import CLOUD, GATEWAY, SATELLITE, catalog
from placement.problem.build import JURISDICTION_GROUPS
from placement.results import load_run
from placement.scenario import ground_segment, host_options, resolve, sites_and_units

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SCENARIOS = sorted(p.name for p in CONFIGS.glob("*.toml") if p.name not in ("quickstart.toml", "starlink-catalog.toml"))
SMALL = ["constellation.shells=[1]", "time.duration_h=0.34", "problem.epoch_s=600.0", "time.step_s=300.0",
         "demand.limit=4",
         "solver.strategies=['milp', 'greedy', 'nearest_gateway', 'cloud_only']", "solver.milp.time_limit_s=20.0"]


def quiet(message: str) -> None:
    pass


def run_small(tmp_path: Path, monkeypatch, name: str, *overrides: str):
    """`pipeline.run` on a scenario at reduced size: (the problem it built, its run directory read back)."""
    scenario = resolve(load_config(CONFIGS / name, SMALL + list(overrides)))
    prepared = pipeline.prepare(scenario, quiet)  # kept, to look at the problem the run solved
    monkeypatch.setattr(pipeline, "prepare", lambda scenario, progress: prepared)
    out = tmp_path / f"{Path(name).stem}-{len(list(tmp_path.iterdir()))}"
    pipeline.run(scenario, out, progress=quiet)
    run = load_run(out)
    metrics = run.metrics
    assert list(metrics["strategies"]) == list(scenario.strategies)
    milp = metrics["strategies"]["milp"]
    assert milp["status"] == "optimal", name
    for strategy, m in metrics["strategies"].items():
        assert m["status"] in ("optimal", "feasible") and m["feasible"], (name, strategy)  # the evaluator's verdict
        assert m["objective"] >= milp["dual_bound"] * (1 - 1e-6), (name, strategy)
        assert m["share_satellite"] + m["share_gateway"] + m["share_cloud"] + m["unserved_share"] == pytest.approx(1.0)
    return prepared.problem, run


def served_at(run, strategy: str, column: str) -> dict[str, float]:
    """Share of a strategy's served requests by value of an assignments column (host, host_jurisdiction...);
    inference requests only (a bulk flow's chunks are not requests for a model: placement/problem/bulk.py)."""
    t = run.table("assignments", strategy)
    inference = np.array([not str(m).startswith("bulk-") for m in t["model"]], bool)
    t = {name: np.asarray(values)[inference] for name, values in t.items()}
    total = t["requests"].sum()
    return {v: float(t["requests"][t[column] == v].sum() / total) for v in set(t[column])}


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_validates_and_says_its_question(name):
    scenario = resolve(load_config(CONFIGS / name))
    text = (CONFIGS / name).read_text()
    assert text.startswith("# Question:") and "placement " in text, name  # the question and the command
    strategies = set(scenario.strategies)
    assert {"nearest_gateway", "cloud_only"} <= strategies and strategies & {"milp", "gradient", "greedy"}, name


def test_kenya_hubs_spread_450_hubs(tmp_path, monkeypatch):
    problem, run = run_small(tmp_path, monkeypatch, "kenya-hubs.toml")
    sites, units = sites_and_units(load_config(CONFIGS / "kenya-hubs.toml", SMALL))
    assert units.sum() == 450 and units.min() >= 1 and sites.name[np.argmax(units)] == "Nairobi"
    # A site's requests scale with its hubs: the classifier's rate is 0.5 per second per hub.
    classifier = [d for d, name in enumerate(problem.demand_name) if name.startswith("efficientnet_b0@")]
    assert problem.rate_per_s[0, classifier].sum() == pytest.approx(0.5 * 450)
    assert "KE" not in served_at(run, "nearest_gateway", "host_jurisdiction")  # no gateway in Kenya


def test_kenya_gateway_variant_serves_from_kenya(tmp_path, monkeypatch):
    problem, run = run_small(tmp_path, monkeypatch, "kenya-hubs-gateway.toml")
    host = problem.host_name.index("Nairobi, KE")
    assert problem.host_kind[host] == GATEWAY and problem.jurisdictions[problem.host_jurisdiction[host]] == "KE"
    assert served_at(run, "nearest_gateway", "host")["Nairobi, KE"] > 0.5
    assert run.config["network"]["extra_gateways"][0]["pop"] == "NBO - Nairobi"  # extends kept the base, added this


def test_kenya_hubs_on_the_real_catalog_reach_nigeria_over_inferred_lasers(tmp_path, monkeypatch):
    problem, run = run_small(tmp_path, monkeypatch, "kenya-hubs-catalog.toml")
    assert run.config["constellation"]["builtin"] is None  # the catalog file replaced the base's Walker shells
    assert (problem.host_kind == SATELLITE).sum() == 9543  # every satellite of the snapshot is a host
    assert problem.host_name[:2] == ("STARLINK-1008", "STARLINK-1012")  # named as in the catalog
    # The nearest gateways are in Nigeria (Ikire, 3,743 km from Nairobi), more than 3,000 km from any Kenyan
    # town: further than a bent pipe spans (two footprints, about 2,200 km at a 25 deg mask), so a finite
    # latency there has crossed the inferred lasers.
    t, d, k = np.nonzero(problem.candidate_host >= 0)
    gateway = problem.host_kind[problem.candidate_host[t, d, k]] == GATEWAY
    assert np.isfinite(problem.latency_ms()[t[gateway], d[gateway], k[gateway]]).any()
    assert run.metrics["strategies"]["milp"]["share_satellite"] > 0


def test_north_sea_rigs_use_operational_platforms(tmp_path, monkeypatch):
    problem, run = run_small(tmp_path, monkeypatch, "north-sea-rigs.toml")
    assert problem.site_name[:2] == ("GULLFAKS C", "TROLL A")  # the heaviest operational installations
    assert problem.slo_ms.max() == 40.0
    strategies = run.metrics["strategies"]
    assert strategies["milp"]["mean_latency_ms"] < strategies["cloud_only"]["mean_latency_ms"]


def test_brazil_drones_five_per_town(tmp_path, monkeypatch):
    sites, units = sites_and_units(load_config(CONFIGS / "brazil-agri-drones.toml"))
    assert len(sites) == 69 and set(units) == {5} and set(sites.country) == {"BR"}
    problem, run = run_small(tmp_path, monkeypatch, "brazil-agri-drones.toml")
    assert problem.rate_per_s[0].sum() == pytest.approx(345 * 10.0)  # 345 drones (over 4 towns) x 10 frames/s
    assert run.metrics["strategies"]["milp"]["share_satellite"] > 0


def test_evening_peak_eclipse_runs_its_batteries_empty(tmp_path, monkeypatch):
    # 04:00-05:00 UTC on 24 February: evening (20:00-01:30 local solar time) along the Canadian band, the
    # satellites above it in Earth's shadow; six 10-minute epochs, all sixteen towns (03:00-04:00 empties none)
    night = ["time.start=2026-02-24T04:00:00Z", "time.duration_h=1.0"]
    problem, run = run_small(tmp_path, monkeypatch, "evening-peak-eclipse.toml", *night)
    profile = catalog.diurnal_profiles()["orange-fr-fixed-2013"]
    # Prince George (122.75 W) at the first epoch's middle, 04:05 UTC: local solar hour 04:05 - 8:11 = 19:54,
    # so hour 19 of the profile over its daily mean, for 3,000 homes of 10 frames/s
    assert problem.rate_per_s[0, 0] == pytest.approx(30_000 * profile[19] / np.mean(profile))
    monkeypatch.undo()  # run_small replaced pipeline.prepare with this run's problem
    _, lifted = run_small(tmp_path, monkeypatch, "evening-peak-eclipse.toml", *night,
                          "hosts.satellite_battery_wh=1000")
    limited, free = run.metrics["strategies"]["milp"], lifted.metrics["strategies"]["milp"]
    assert limited["battery_empty_host_epochs"] > 0 and free["battery_empty_host_epochs"] == 0
    # lifting a limit cannot cost anything, and here it keeps more of the demand in orbit
    assert free["objective"] <= limited["objective"] * (1 + 1e-6)
    assert free["share_satellite"] > limited["share_satellite"]


def test_d2c_sites_get_a_beam_not_a_terminal(tmp_path, monkeypatch):
    sites, _ = sites_and_units(load_config(CONFIGS / "d2c-dead-zones.toml"))
    assert len(sites) == 33 and not {"Garissa", "Lodwar", "Mandera", "Wajir"} & set(sites.name)
    problem, run = run_small(tmp_path, monkeypatch, "d2c-dead-zones.toml")
    # One Direct-to-Cell beam: a few Mbps each way; a Ku terminal gets hundreds even at the 25 deg mask's
    # ~1,100 km slant.
    for site_gbps, path_gbps in ((problem.site_uplink_gbps, problem.candidate_up_gbps),
                                 (problem.site_downlink_gbps, problem.candidate_down_gbps)):
        assert site_gbps[site_gbps > 0].max() < 0.05 < float(KU_USER_DOWNLINK.capacity_gbps(1200.0))
        assert path_gbps[problem.candidate_host >= 0].max() < 0.05
    assert run.metrics["strategies"]["milp"]["unserved_share"] == 0


def test_remote_cluster_is_reached_only_through_the_satellites(tmp_path, monkeypatch):
    ground = ground_segment(load_config(CONFIGS / "remote-datacenter-backhaul.toml", SMALL))
    gateways, attach = ground.gateways, ground.gateway_pop
    assert gateways.name[-1] == "Lake Turkana AI cluster, KE" and attach[-1] == -1 and (attach[:-1] >= 0).all()
    problem, run = run_small(tmp_path, monkeypatch, "remote-datacenter-backhaul.toml")
    cluster = problem.host_name.index("Lake Turkana AI cluster, KE")
    lekki = problem.host_name.index("Lekki, NG")
    assert problem.memory_bytes[cluster] == 64 * 80 * 2**30 > problem.memory_bytes[lekki]  # cloud-h100 profile
    # The cluster is the nearest gateway to every site, but only while a satellite is above its 40 deg mask:
    # the rest of each epoch those requests go to the next host out.
    by_host = served_at(run, "nearest_gateway", "host")
    assert max(by_host, key=by_host.get) == "Lake Turkana AI cluster, KE" and by_host[max(by_host, key=by_host.get)] > 0.5
    assert "Lake Turkana AI cluster, KE" in served_at(run, "milp", "host")
    # The cluster's bulk backhaul (placement/evaluation/bulk.py) is reported per strategy, carried or not.
    for strategy, m in run.metrics["strategies"].items():
        assert 0 <= m["bulk"]["carried_gbps"] <= m["bulk"]["offered_gbps"] <= 10.0 + 1e-9, strategy
    assert run.metrics["strategies"]["milp"]["bulk"]["carried_gbps"] > 0


@pytest.mark.parametrize("enforce", [True, False])
def test_sovereignty_keeps_eu_requests_in_the_eu(tmp_path, monkeypatch, enforce):
    rule = f"problem.enforce_jurisdictions={str(enforce).lower()}"  # what `placement sweep --grid` applies
    problem, run = run_small(tmp_path, monkeypatch, "sovereignty.toml", rule, *sites_override("sovereignty.toml", 6))
    eu = set(JURISDICTION_GROUPS["EU"])
    for strategy in run.strategies:
        assert not enforce or set(served_at(run, strategy, "host_jurisdiction")) <= eu, strategy
    in_orbit = run.metrics["strategies"]["milp"]["share_satellite"]
    assert in_orbit == 0 if enforce else in_orbit > 0
    # Each demand is offered its nearest gateways and regions among those it may use: two EU regions each.
    host = np.maximum(problem.candidate_host, 0)
    cloud = (problem.candidate_host >= 0) & (problem.host_kind[host] == CLOUD)
    assert (cloud.sum(axis=2) == 2).all()
    ground = (problem.candidate_host >= 0) & (problem.host_kind[host] != SATELLITE)
    in_eu = np.isin(np.array(problem.jurisdictions)[problem.host_jurisdiction[host]], list(eu))
    assert in_eu[ground].all() if enforce else not in_eu[ground].all()
    assert run.metrics["strategies"]["cloud_only"]["unserved_share"] == 0


@pytest.mark.parametrize("builtin, satellites, mask", [("starlink-gen1", 1584, 25.0), ("kuiper", 1156, 35.0)])
def test_starlink_and_kuiper_by_one_key(tmp_path, monkeypatch, builtin, satellites, mask):
    grid_value = f"constellation.builtin={builtin}"  # what `placement sweep --grid` applies, as --set does
    config = load_config(CONFIGS / "starlink-vs-kuiper-filings.toml", SMALL + [grid_value])
    assert resolve(config).network.site_reach.min_elevation_deg == mask
    problem, run = run_small(tmp_path, monkeypatch, "starlink-vs-kuiper-filings.toml", grid_value,
                             *sites_override("starlink-vs-kuiper-filings.toml", 6))
    assert (problem.host_kind == SATELLITE).sum() == satellites
    assert run.config["constellation"]["builtin"] == builtin


def sites_override(name: str, n: int) -> list[str]:
    """--set demand.sites=[...] keeping the first `n` sites of a scenario that lists its sites one by one."""
    sites = load_config(CONFIGS / name).demand.sites[:n]
    return ["demand.sites=[" + ", ".join(
        f"{{name='{s.name}', lat_deg={s.lat_deg}, lon_deg={s.lon_deg}, country='{s.country}'}}" for s in sites) + "]"]


# ---------------------------------------------------------------------------------------------------------------
# The config features behind the scenarios

def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


SITES_CSV = "city,lat,lon,population,kind\nA,0,30,500,town\nB,1,31,300,town\nC,2,32,200,camp\nD,3,33,0,town\n"
BASE = '[constellation]\nbuiltin = "kuiper"\n[demand]\nsites_file = "sites.csv"\n'


def test_units_spread_by_population_with_a_floor(tmp_path):
    (tmp_path / "sites.csv").write_text(SITES_CSV)
    path = write(tmp_path, BASE + "units = 13\nunits_min_per_site = 1\n")
    sites, units = sites_and_units(load_config(path))
    # 9 spare units by population 500:300:200:0 = 4.5, 2.7, 1.8, 0 -> 4, 3, 2, 0 by largest remainder.
    assert sites.name == ("A", "B", "C", "D") and units.tolist() == [5, 4, 3, 1]
    sites, units = sites_and_units(load_config(path, ["demand.units=10", "demand.units_min_per_site=0"]))
    assert sites.name == ("A", "B", "C") and units.tolist() == [5, 3, 2]  # D gets none and is dropped
    sites, units = sites_and_units(load_config(path, ["demand.population_column=''", "demand.units=8",
                                                               "demand.units_min_per_site=0"]))
    assert units.tolist() == [2, 2, 2, 2]


def test_rows_filtered_excluded_and_named_uniquely(tmp_path):
    (tmp_path / "sites.csv").write_text(SITES_CSV + "A,4,34,100,town\n")
    path = write(tmp_path, BASE + 'filter_column = "kind"\nfilter_values = ["town"]\nexclude = ["B"]\n')
    sites, units = sites_and_units(load_config(path))
    assert sites.name == ("A", "A #2", "D") and units.tolist() == [1, 1, 1]  # by population: 500, 100, 0
    for override, field in [("demand.exclude=['Z']", "demand.exclude"),
                            ("demand.units=2", "demand.units")]:  # 2 units cannot give 3 sites one each
        with pytest.raises(InputError) as error:
            sites_and_units(load_config(path, [override, "demand.units_min_per_site=1"]))
        assert error.value.field == field and error.value.source == str(path)


def test_extra_gateway_errors_name_the_field(tmp_path):
    gateway = '[[network.extra_gateways]]\nname = "X"\nlat_deg = 0.0\nlon_deg = 30.0\n'
    for extra, field in [('pop = "Atlantis"\n', "network.extra_gateways[0].pop"),
                         ('profile = "abacus"\n', "network.extra_gateways[0].profile")]:
        config = load_config(write(tmp_path, BASE + gateway + extra))
        with pytest.raises(InputError) as error:
            host_options(config, len(ground_segment(config).gateways))
        assert error.value.field == field
    with pytest.raises(InputError) as error:
        load_config(write(tmp_path, BASE + gateway + 'country = "Kenya"\n'))
    assert error.value.field == "network.extra_gateways[0].country"
    with pytest.raises(InputError, match="named twice"):
        ground_segment(load_config(write(tmp_path, BASE + gateway.replace('"X"', '"Lekki, NG"'))))
