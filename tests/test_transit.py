"""Transit rules (placement.network.transit): under an EU-only rule the paths of the 27 EU capitals' demands land,
reach fiber and (with the overflight rule) fly only over EU countries or the sea; the evaluator flags a path that
does not; the default rule ('processing') builds today's problem.

One shrunk sovereignty scenario (Starlink Gen1 shell 1, one 600 s epoch in two steps) with both rules at once:
the video workload 'landing', the language model 'overflight', satellites registered in France so that orbit
is allowed for processing and overflight decides which satellite hosts are usable. The references are the
capitals' own countries in configs/sovereignty.toml (the 27 member states, written there from LEOCraft's
capitals table), the shipped gateway, PoP and region tables' countries, and the Natural Earth polygons
themselves (point in polygon, not the library's country grid).
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from placement import pipeline, solvers
from placement.config import load_config
from placement.errors import InputError
from placement.evaluation import evaluate
from placement.evaluation.transit import path_violations
from placement.network.paths import served_paths
from placement.network.tensors import build_network
from placement.network.transit import countries_at, landing_countries, subsatellite_countries
from placement.problem.build import (build_problem, demand_networks, demand_transit_groups, slot_p95_rtt_ms,
                                     transit_group)
from placement.problem.spec import CLOUD, GATEWAY, SATELLITE
from placement.propagation.frames import ecef_to_geodetic
from placement.results import load_run
from placement.results.reader import read_run
from placement.scenario import resolve
from shared_reference import REFERENCE, needs

SOVEREIGNTY = Path(__file__).resolve().parents[1] / "configs" / "sovereignty.toml"
RULES = {"yolov8n": "landing", "llama-3.2-3b-instruct-q4": "overflight"}
SHRUNK = ["constellation.shells=[1]", "time.duration_h=0.17", "time.step_s=300", "hosts.satellite_jurisdiction=FR",
          "workloads=[{model='yolov8n', rate_per_s=10.0, slo_ms=100.0, allowed_jurisdictions=['EU'], "
          "transit='landing'}, {model='llama-3.2-3b-instruct-q4', rate_per_s=5.0, slo_ms=2000.0, "
          "allowed_jurisdictions=['EU'], transit='overflight'}]",
          "solver.strategies=['greedy', 'nearest_gateway', 'cloud_only']"]  # paths to satellites, gateways, clouds
STRATEGIES = ("greedy", "nearest_gateway", "cloud_only")


@pytest.fixture(scope="module")
def eu():
    """The shrunk scenario, prepared; each strategy's solution; and the path of every slot each strategy serves,
    at every step of its epoch, traced on the network of its demand's group: {rule: [(strategy, demand, step,
    path)]} (one tracing per network: each compiles)."""
    scenario = resolve(load_config(SOVEREIGNTY, SHRUNK))
    prepared = pipeline.prepare(scenario)
    p = prepared.problem
    solutions = {name: solvers.solve(name, p, scenario.options(name), seed=0).solution for name in STRATEGIES}
    workload = {w.model: w for w in scenario.demand.workloads}
    n_sat, n_gateway = int((p.host_kind == SATELLITE).sum()), int((p.host_kind == GATEWAY).sum())
    per_step = scenario.horizon.steps_per_epoch
    paths = {}
    for group, network in prepared.transit.items():
        targets = []  # (strategy, demand, step, host)
        for name, solution in solutions.items():
            for d in range(p.n_demands):
                if transit_group(workload[p.model_name[p.demand_model[d]]], scenario.problem) != group:
                    continue
                t, k = np.nonzero(solution.assignment[:, d] > 0)
                targets += [(name, d, int(e) * per_step + i, int(h))
                            for e, h in zip(t, p.candidate_host[t, d, k]) for i in range(per_step)]
        name, d, step, host = (np.array(a) for a in zip(*targets))
        kind = p.host_kind[host]
        index = host - np.select([kind == GATEWAY, kind == CLOUD], [n_sat, n_sat + n_gateway], 0)
        traced = served_paths(network.positions, prepared.lasers, network.ground, scenario.network,
                              network.network.access_sat, step, p.demand_site[d],
                              np.array(["satellite", "gateway", "cloud"])[kind], index)
        paths[group.rule] = [(n, int(dd), int(s), path) for n, dd, s, path in zip(name, d, step, traced) if path]
    return scenario, prepared, solutions, paths


def _member_states(scenario) -> set[str]:
    return set(scenario.demand.sites.country)


def _ground_countries(scenario, path) -> list[str]:
    g = scenario.ground
    tables = {"gateway": g.gateways.country, "pop": g.pops.country, "cloud": g.clouds.country}
    return [tables[kind][i] for kind, i in path if kind in tables]


def test_eu_paths_land_reach_fiber_and_are_processed_in_the_eu(eu):
    scenario, prepared, solutions, paths = eu
    members = _member_states(scenario)
    assert len(members) == 27
    p = prepared.problem
    for name, solution in solutions.items():
        e = evaluate(p, solution)
        assert e.feasible and e.unserved_share < 1e-9, (name, e.violations[:3])
        served = p.host_jurisdiction[p.candidate_host[solution.assignment > 0]]
        assert {p.jurisdictions[j] for j in served} <= members, name
    for rule in RULES.values():
        assert {name for name, *_ in paths[rule]} == set(STRATEGIES), rule
        for name, d, step, path in paths[rule]:
            outside = set(_ground_countries(scenario, path)) - members
            assert not outside, (name, p.demand_name[d], step, path)
    # the cloud paths were exercised for every capital, each landing at a gateway and a PoP
    clouds = [(d, path) for name, d, _, path in paths["landing"] if name == "cloud_only"]
    assert {p.demand_site[d] for d, _ in clouds} == set(range(27))
    assert all(len(_ground_countries(scenario, path)) == 3 for _, path in clouds)


def test_the_open_network_lands_dublin_in_britain_and_the_rule_does_not(eu):
    """The issue's finding, so the test above can fail: Dublin's fastest route to a cloud region comes down in
    the UK (and reaches fiber in London) when only processing is checked."""
    scenario, prepared, *_ = eu
    dublin = scenario.demand.sites.name.index("Dublin")
    g = scenario.ground
    open_ground = g.arrays(scenario.demand.sites)
    in_ireland = [c for c, country in enumerate(g.clouds.country) if country == "IE"]
    open_path, = served_paths(prepared.orbits.r_ecef_km, prepared.lasers, open_ground, scenario.network,
                              prepared.network.access_sat, [0], [dublin], ["cloud"], in_ireland[:1])
    assert "GB" in _ground_countries(scenario, open_path), open_path
    landing = next(t for grp, t in prepared.transit.items() if grp.rule == "landing")
    ruled_path, = served_paths(landing.positions, prepared.lasers, landing.ground, scenario.network,
                               landing.network.access_sat, [0], [dublin], ["cloud"], in_ireland[:1])
    assert ruled_path and set(_ground_countries(scenario, ruled_path)) <= _member_states(scenario), ruled_path


def _inside_forbidden(countries, members, lat: float, lon: float) -> str | None:
    """The non-member country whose 1:110m polygons hold a box of +-0.2 deg about the point wholly (the
    library's grid has 0.25 deg cells, so a point nearer a border may fall either side)."""
    from curate_ground_tables import point_in_rings
    corners = [(lon + dx, lat + dy) for dx in (-0.2, 0.2) for dy in (-0.2, 0.2)]
    for c in countries:
        if c.iso2 in members:
            continue
        xmin, ymin, xmax, ymax = c.bbox
        if xmin <= lon <= xmax and ymin <= lat <= ymax and all(point_in_rings(x, y, c.rings) for x, y in corners):
            return c.iso2
    return None


@needs("naturalearth_110m/naturalearth_lowres.shp")
def test_overflight_paths_fly_over_member_states_or_the_sea(eu):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
    from curate_ground_tables import load_countries
    countries = load_countries(REFERENCE)
    scenario, prepared, _, paths = eu
    members = _member_states(scenario)
    overflight = next(t for grp, t in prepared.transit.items() if grp.rule == "overflight")
    r = prepared.orbits.r_ecef_km
    lat, lon, _ = (np.degrees(np.asarray(a)) for a in ecef_to_geodetic(np.asarray(r, float)))
    flown = {(v, step) for *_, step, path in paths["overflight"] for kind, v in path if kind == "satellite"}
    assert flown
    for v, step in flown:
        assert _inside_forbidden(countries, members, lat[v, step], lon[v, step]) is None, (v, step)
    # and the rule had something to avoid: satellites of the open network above non-members left out
    beneath = subsatellite_countries(r[:, :scenario.horizon.n_steps])
    out = np.isnan(overflight.positions[:, :scenario.horizon.n_steps, 0])
    assert (out == ((beneath != "") & ~np.isin(beneath, list(members)))).all() and out.any()


def test_evaluator_flags_a_planted_transit_violation(eu):
    scenario, prepared, solutions, _ = eu
    p, solution = prepared.problem, solutions["cloud_only"]
    assert evaluate(p, solution).feasible
    t, d, k = (int(i[0]) for i in np.nonzero(solution.assignment > 0))
    planted = np.array(p.candidate_transit)
    planted[t, d, k, p.jurisdictions.index("GB")] = True
    e = evaluate(dataclasses.replace(p, candidate_transit=planted), solution)
    assert not e.feasible
    assert [v.constraint for v in e.violations] == ["(10) transit"]
    assert e.violations[0].where == f"epoch {t}, demand {p.demand_name[d]}, slot {k}"


def test_the_open_networks_record_is_flagged_for_an_eu_landing_rule(eu):
    """The open network's landings, recorded as the rules' are, mark Dublin's cloud routes as touching the UK;
    planted into the EU problem, they make the evaluator flag exactly the served slots whose record leaves the
    EU."""
    scenario, prepared, solutions, _ = eu
    h = scenario.horizon
    g = scenario.ground
    countries = tuple(sorted(set(g.gateways.country) | set(g.pops.country) | set(g.clouds.country)))
    recorded = []
    build_network(prepared.orbits.r_ecef_km[:, :h.n_steps], prepared.lasers, g.arrays(scenario.demand.sites),
                  scenario.network, steps_per_epoch=h.steps_per_epoch, step_s=h.step_s,
                  on_steps=lambda steps: recorded.append(landing_countries(
                      steps, g.arrays(scenario.demand.sites), h.steps_per_epoch,
                      {c: i for i, c in enumerate(countries)}, g.gateways.country, g.pops.country, g.clouds.country)))
    touched = np.concatenate(recorded)  # [epoch, site, cloud, country]
    dublin = scenario.demand.sites.name.index("Dublin")
    assert touched[:, dublin, :, countries.index("GB")].any()
    p = prepared.problem
    n_sat, n_gateway = int((p.host_kind == SATELLITE).sum()), int((p.host_kind == GATEWAY).sum())
    planted = np.array(p.candidate_transit)
    cloud = p.host_kind[np.maximum(p.candidate_host, 0)] == CLOUD
    t, d, k = np.nonzero(cloud & (p.candidate_host >= 0))
    column = [p.jurisdictions.index(c) for c in countries]
    planted[t[:, None], d[:, None], k[:, None], np.array(column)[None, :]] = touched[
        t, p.demand_site[d], p.candidate_host[t, d, k] - n_sat - n_gateway]
    solution = solutions["cloud_only"]
    e = evaluate(dataclasses.replace(p, candidate_transit=planted), solution)
    flagged = {v.where for v in e.violations if v.constraint == "(10) transit"}
    foreign = planted[..., [j for j, c in enumerate(p.jurisdictions) if c not in _member_states(scenario)]].any(axis=3)
    expected = {f"epoch {t}, demand {p.demand_name[d]}, slot {k}" for t, d, k in np.argwhere(
        foreign & (solution.assignment > 0))}
    assert expected and flagged == expected


def test_processing_rule_builds_todays_problem(eu):
    """The default rule routes on the open network and records nothing: the problem is the one built without
    any transit networks, field by field."""
    scenario, prepared, *_ = eu
    h = scenario.horizon
    args = (prepared.network, np.full(h.n_epochs, h.epoch_s), pipeline.epoch_sunlight(prepared.orbits.sunlit_fraction, h),
            scenario.demand.sites, scenario.ground.gateways, scenario.ground.clouds, scenario.demand.models)
    kwargs = dict(hosts=scenario.hosts, satellite_names=scenario.constellation.satellite_names,
                  epoch_utc_h=h.epoch_utc_h())
    today = build_problem(*args, tuple(dataclasses.replace(w, transit="processing") for w in scenario.demand.workloads),
                          options=scenario.problem, **kwargs)
    ruled = build_problem(*args, scenario.demand.workloads, transit=prepared.transit,
                          options=dataclasses.replace(scenario.problem, transit="processing"), **kwargs)
    assert today.candidate_transit is None and ruled.candidate_transit is None
    for field in dataclasses.fields(today):
        a, b = getattr(today, field.name), getattr(ruled, field.name)
        same = (np.array_equal(a, b, equal_nan=np.issubdtype(a.dtype, np.floating)) if isinstance(a, np.ndarray)
                else a == b)  # NaN where a figure is absent (batch_s: the roofline)
        assert same, field.name
    # the rules differ from it where they should: fewer cloud routes, all through allowed countries
    assert prepared.problem.candidate_transit is not None
    with pytest.raises(InputError, match="transit group"):
        build_problem(*args, scenario.demand.workloads, options=scenario.problem, **kwargs)


def test_a_run_checks_its_traced_paths_and_flags_planted_crossings(eu, tmp_path, monkeypatch):
    """`placement run` checks every path it traced under a rule (placement.evaluation.transit): none crosses a
    forbidden country here; a landing path moved to a UK gateway and an overflight path through a satellite
    above a non-member are both flagged."""
    scenario, prepared, *_ = eu
    monkeypatch.setattr(pipeline, "prepare", lambda scenario, progress=None: prepared)
    metrics = pipeline.run(scenario, tmp_path / "run", draw_plots=False, report=False, progress=lambda m: None)
    assert metrics["transit_path_violations"] == []
    # a site's two rules may reach one host on two networks: each assignment's link is still one path
    view = read_run(tmp_path / "run")
    ends = [(path.split(" > ")[0], path.split(" > ")[-1], path.count(" > ")) for path in view.links["path"]]
    assert all(first == site and last == host and hops == len(set(path.split(" > "))) - 1
               for (first, last, hops), site, host, path in zip(ends, view.links["site"], view.links["host"],
                                                                 view.links["path"]))
    paths = {c: np.array(v, dtype=object) for c, v in load_run(tmp_path / "run").table("paths").items()}
    assert set(paths["transit"]) == {group.label for group in prepared.transit}
    g = scenario.ground
    label = {group.rule: group.label for group in prepared.transit}
    landed = np.flatnonzero((paths["transit"] == label["landing"]) & (paths["node_kind"] == "gateway"))[0]
    flown = np.flatnonzero((paths["transit"] == label["overflight"]) & (paths["node_kind"] == "satellite"))[0]
    beneath = subsatellite_countries(prepared.orbits.r_ecef_km[:, paths["step"][flown]])
    abroad = int(np.flatnonzero((beneath != "") & ~np.isin(beneath, list(_member_states(scenario))))[0])
    paths["node"][landed] = "Chalfont Grove, UK"
    paths["node"][flown] = prepared.problem.host_name[abroad]
    flagged = path_violations(paths, prepared.transit, {"gateway": g.gateways, "pop": g.pops, "cloud": g.clouds},
                              prepared.problem.host_name[:prepared.orbits.n_satellites], prepared.orbits.r_ecef_km)
    assert len(flagged) == 2
    assert sum("gateway Chalfont Grove, UK in GB (landing)" in f for f in flagged) == 1
    assert sum(f"satellite {prepared.problem.host_name[abroad]} in {beneath[abroad]} (overflight)" in f
               for f in flagged) == 1


def test_slot_percentiles_come_from_the_network_each_demand_routed_on(eu):
    scenario, prepared, *_ = eu
    p = prepared.problem
    routed_on = demand_networks(prepared.network, prepared.transit, scenario.demand.workloads,
                                len(scenario.demand.sites.name), scenario.problem)
    p95 = slot_p95_rtt_ms(prepared.network, p, routed_on)
    groups = demand_transit_groups(scenario.demand.workloads, len(scenario.demand.sites.name), scenario.problem)
    for group, network in prepared.transit.items():
        mine = np.array([g == group for g in groups])
        np.testing.assert_array_equal(p95[:, mine], slot_p95_rtt_ms(network.network, p)[:, mine])
    assert not np.array_equal(p95, slot_p95_rtt_ms(prepared.network, p), equal_nan=True)


@pytest.mark.parametrize("lat, lon, country", [
    (51.507, -0.128, "GB"), (48.853, 2.349, "FR"), (53.333, -6.249, "IE"), (-1.286, 36.817, "KE"),
    (56.0, 3.0, ""), (0.0, -30.0, ""), (float("nan"), 0.0, "")])
def test_countries_at_known_points(lat, lon, country):
    """London, Paris, Dublin, Nairobi; the North Sea and the mid-Atlantic; a failed position."""
    assert countries_at(np.array([lat]), np.array([lon]))[0] == country


@pytest.mark.parametrize("override, field", [
    ("workloads=[{model='yolov8n', rate_per_s=1.0, slo_ms=100.0, transit='orbit'}]", "workloads[0].transit"),
    ("problem.transit=everywhere", "problem.transit")])
def test_config_rejects_an_unknown_rule(override, field):
    with pytest.raises(InputError) as error:
        load_config(SOVEREIGNTY, [override])
    assert error.value.field == field and "processing" in str(error.value)
