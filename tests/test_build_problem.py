"""A placement problem from a real network: Starlink Gen1 over four sites, every gateway, Azure regions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.errors import InputError
from placement.evaluation import evaluate
from placement.network import ground as tables
from placement.network.isl import grid_shells
from placement.network.tensors import Ground, NetworkSpec, build_network
from placement.problem import CLOUD, GATEWAY, SATELLITE, Status, random_problem
from placement.problem.build import HostOptions, ProblemOptions, Workload, build_problem, cover, outage_share
from placement.problem.catalog import host_profiles, models, satellite_power
from placement.propagation.orbits import propagate_orbits
from placement.propagation.timegrid import TimeGrid
from placement.solvers.baselines import cloud_only
from placement.solvers.milp import solve

GRID = TimeGrid(2461094.5, 0.25, 30.0, 5)  # two epochs of two 30 s network steps, then the horizon's end
SITES = tables.demand_sites([-1.29, -4.04, 58.4, -23.55], [36.82, 39.67, 1.9, -46.63],
                            names=["nairobi", "mombasa", "north-sea-rig", "sao-paulo"], country=["KE", "KE", "GB", "BR"])
SPEC = NetworkSpec()
EUROPE = ("NO", "GB", "IE", "NL", "SE", "DE", "FR", "CH", "PL", "IT", "ES", "BE", "AT", "FI", "DK")


@pytest.fixture(scope="module")
def network():
    elements = constellation(STARLINK_GEN1, 2461094.5, 0.0)
    gateways, clouds = tables.gateways(), tables.cloud_regions("azure")
    ground = Ground.from_nodes(SITES, gateways, tables.pops(), clouds)
    orbits = propagate_orbits(elements, GRID, np.float64)
    tensors = build_network(orbits.r_ecef_km, grid_shells(STARLINK_GEN1), ground, SPEC, steps_per_epoch=2,
                            step_s=30.0)
    sunlit = np.ones((2, len(elements.satnum)))  # [epoch, satellite]
    sunlit[:, ::2] = 0.0  # every other satellite in eclipse
    return tensors, sunlit, gateways, clouds


def hosts():
    profiles = host_profiles()
    return HostOptions(profiles["satellite-orin"], profiles["gateway-l4"], profiles["cloud-h100"], satellite_power())


def problem_from(network, workloads, **kw):
    tensors, sunlit, gateways, clouds = network
    return build_problem(tensors, [60.0, 60.0], sunlit, SITES, gateways, clouds,
                         models(["yolov8n", "llama-3.2-1b-instruct-q4"]), workloads, hosts(), **kw)


def test_hosts_candidates_and_physics(network):
    p = problem_from(network, [Workload("yolov8n", 5.0, 100.0), Workload("llama-3.2-1b-instruct-q4", 0.2, 2000.0)])
    assert p.n_hosts == 4408 + len(network[2].name) + len(network[3].name)
    assert p.n_demands == 8 and p.n_epochs == 2 and p.n_slots == SPEC.satellite_candidates + 2 + 2
    assert p.epoch_s.tolist() == [60.0, 60.0]
    kind = p.host_kind[np.maximum(p.candidate_host, 0)]
    real = p.candidate_host >= 0
    # Round trips: at least 540 km up and 540 km down at c (shells at 540-570 km) and two radio hops' fixed
    # delay; clouds further away.
    assert (p.candidate_rtt_ms[real & (kind == SATELLITE)] >= 2 * (540 / 299_792.458 * 1e3 + SPEC.radio_hop_ms)).all()
    sat_best = np.where(real & (kind == SATELLITE), p.candidate_rtt_ms, np.inf).min(axis=2)
    cloud_best = np.where(real & (kind == CLOUD), p.candidate_rtt_ms, np.inf).min(axis=2)
    assert (cloud_best > sat_best).all()
    assert (real & (kind == GATEWAY)).any(axis=2).all()
    # Power, battery carried (the default): any satellite may draw the module's 60 W, from its panels when
    # sunlit (harvest 60 W) or its battery in eclipse (harvest 0); 60 Wh x 0.3 usable = 64.8 kJ each.
    power = satellite_power()
    assert (p.power_budget_w[:, :4408] == power.sun_w).all()
    assert p.harvest_w[0, 1] == pytest.approx(power.sun_w) and p.harvest_w[0, 0] == 0.0
    assert (p.battery_j[:4408] == pytest.approx(64_800.0)) and (p.battery_j[4408:] == 0).all()
    assert np.isinf(p.power_budget_w[:, 4408:]).all() and np.isinf(p.harvest_w[:, 4408:]).all()
    # Epoch by epoch: sunlit satellites get the full budget, eclipsed ones the battery's share.
    q = problem_from(network, [Workload("yolov8n", 5.0, 100.0)], options=ProblemOptions(battery="epoch"))
    assert q.power_budget_w[0, 1] == pytest.approx(power.sun_w)
    assert q.power_budget_w[0, 0] == pytest.approx(power.eclipse_w)
    assert q.harvest_w is None
    assert p.jurisdictions[p.host_jurisdiction[0]] == "US"


def test_solved_end_to_end_and_in_orbit_beats_the_cloud(network):
    p = problem_from(network, [Workload("yolov8n", 5.0, 100.0), Workload("llama-3.2-1b-instruct-q4", 0.2, 2000.0)])
    result = solve(p)
    assert result.status is Status.OPTIMAL
    best, cloud = evaluate(p, result.solution), evaluate(p, cloud_only(p).solution)
    assert best.feasible and cloud.feasible
    assert best.mean_latency_ms < cloud.mean_latency_ms
    # Detection is light enough for the satellite overhead: some requests run in orbit.
    served = result.solution.assignment > 0
    assert (p.host_kind[p.candidate_host[served]] == SATELLITE).any()


def test_sovereignty_keeps_processing_in_allowed_countries(network):
    rig = Workload("yolov8n", 5.0, 100.0, sites=(2,), allowed_jurisdictions=EUROPE)
    p = problem_from(network, [rig])
    result = solve(p)
    hosts_used = p.candidate_host[result.solution.assignment > 0]
    assert hosts_used.size and all(p.jurisdictions[p.host_jurisdiction[h]] in EUROPE for h in hosts_used)
    # Kenya has no gateway or Azure region in the tables: a Kenya-only rule leaves no host, and says so.
    with pytest.raises(InputError, match="yolov8n@nairobi"):
        problem_from(network, [Workload("yolov8n", 5.0, 100.0, sites=(0,), allowed_jurisdictions=("KE",))])


def test_bad_workload_and_epochs_are_named(network):
    with pytest.raises(InputError, match=r"workloads\[0\].model"):
        problem_from(network, [Workload("resnet-9000", 1.0, 100.0)])
    tensors, sunlit, gateways, clouds = network
    with pytest.raises(InputError, match="epoch_s"):  # one duration for two epochs
        build_problem(tensors, [60.0], sunlit, SITES, gateways, clouds, models(["yolov8n"]),
                      [Workload("yolov8n", 1.0, 100.0)], hosts())
    with pytest.raises(InputError, match="sunlit_fraction"):  # [satellite, epoch] instead of [epoch, satellite]
        build_problem(tensors, [60.0, 60.0], sunlit.T, SITES, gateways, clouds, models(["yolov8n"]),
                      [Workload("yolov8n", 1.0, 100.0)], hosts())


def test_directions_and_availability_come_from_the_network(network):
    tensors, *_ = network
    p = problem_from(network, [Workload("yolov8n", 5.0, 100.0)])
    # one terminal per site and one unit: the terminal's own capacity, the least over the epoch's steps
    np.testing.assert_allclose(p.site_uplink_gbps, tensors.site_up_gbps)
    np.testing.assert_allclose(p.site_downlink_gbps, tensors.site_down_gbps)
    real = p.candidate_host >= 0
    assert ((p.candidate_share[real] > 0) & (p.candidate_share[real] <= 1)).all()
    assert (p.candidate_up_gbps[real] < p.candidate_down_gbps[real]).all()  # a terminal sends less than it gets
    # each slot is the network's candidate for that site and host: twice its mean one-way latency, its share
    kind = p.host_kind[np.maximum(p.candidate_host, 0)]
    for t, d, k in zip(*np.nonzero(real & (kind == SATELLITE))):
        site, host = p.demand_site[d], p.candidate_host[t, d, k]
        slot = tensors.satellites.host[t, site].tolist().index(host)
        assert p.candidate_rtt_ms[t, d, k] == pytest.approx(2 * tensors.satellites.latency_ms[t, site, slot])
        assert p.candidate_share[t, d, k] == tensors.satellites.share[t, site, slot]
    for t, d, k in zip(*np.nonzero(real & (kind == GATEWAY))):
        g = p.candidate_host[t, d, k] - 4408
        assert p.candidate_rtt_ms[t, d, k] == pytest.approx(2 * tensors.gateways.latency_ms[t, p.demand_site[d], g])


def test_requests_issued_while_a_site_sees_no_satellite_are_an_outage_no_placement_serves():
    # Two sites over two epochs; site 1 has an access satellite in half of epoch 0's steps. Every slot of it
    # is reachable in those same steps (share 0.5 each): bounded one by one they would let three slots serve
    # 150% of the epoch.
    issued = random_problem(3, 10, 4, 2, n_epochs=2, n_slots=3, n_sites=2, unserved_penalty_ms=None, load=0.2)
    issued = dataclasses.replace(issued, demand_site=np.array([0, 1, 0, 1]),
                                 site_uplink_gbps=np.full((2, 2), np.inf), site_downlink_gbps=np.full((2, 2), np.inf))
    coverage = np.array([[1.0, 0.5], [1.0, 1.0]])
    gap = (np.arange(2)[:, None] == 0) & (issued.demand_site[None, :] == 1)  # [epoch, demand] site 1, epoch 0
    usable = issued.usable_slots()
    issued = dataclasses.replace(issued, candidate_share=np.where(gap[:, :, None] & usable, 0.5,
                                                                   issued.candidate_share))
    covered = cover(issued, coverage)
    assert covered.requests() == pytest.approx(issued.requests() * np.where(gap, 0.5, 1.0))
    # Slots reachable in every covered step serve all of the covered requests; the others keep their share.
    assert covered.candidate_share[gap] == pytest.approx(np.where(usable[gap], 1.0, 0.0))
    assert covered.candidate_share[~gap] == pytest.approx(issued.candidate_share[~gap])
    assert outage_share(issued, covered) == pytest.approx(
        issued.requests()[gap].sum() * 0.5 / issued.requests().sum())
    # With every request to be served, the covered problem is solved and serves each demand-epoch's covered
    # requests exactly once.
    result = solve(covered)
    assert result.status == Status.OPTIMAL
    assert result.solution.assignment.sum(axis=2) == pytest.approx(1.0)
    assert cover(covered, np.ones((2, 2))) is covered


def test_diurnal_profile_follows_each_sites_local_time(network):
    # Evening peak: 3x the rate from 18:00 to 22:00 local solar time, 1x otherwise (mean (20 + 12) / 24).
    profile = tuple(3.0 if 18 <= hour < 22 else 1.0 for hour in range(24))
    mean = (20 * 1.0 + 4 * 3.0) / 24
    # Epoch 0 at 17:30 UTC: Nairobi (36.82 E, +2.45 h) is at 19:57 and Mombasa (39.67 E) at 20:09 (peak),
    # the rig (1.9 E) at 17:38, Sao Paulo (46.63 W, -3.11 h) at 14:23. Epoch 1 at 21:00 UTC: Nairobi 23:27,
    # Mombasa 23:39, the rig 21:08 (peak), Sao Paulo 17:53.
    p = problem_from(network, [Workload("yolov8n", 6.0, 100.0, diurnal=profile)], epoch_utc_h=[17.5, 21.0])
    expected = 6.0 / mean * np.array([[3.0, 3.0, 1.0, 1.0], [1.0, 1.0, 3.0, 1.0]])  # [epoch, site]
    assert p.rate_per_s == pytest.approx(expected)
    # Without the epochs' times a diurnal workload cannot be placed in time
    with pytest.raises(InputError, match="epoch_utc_h"):
        problem_from(network, [Workload("yolov8n", 6.0, 100.0, diurnal=profile)])
    with pytest.raises(InputError, match="diurnal"):
        problem_from(network, [Workload("yolov8n", 6.0, 100.0, diurnal=(1.0,) * 23)], epoch_utc_h=[0.0, 1.0])


def test_a_site_no_satellite_ever_reaches_is_an_outage_not_an_error():
    """A partial deployment: the 53 deg shell alone never rises above a 25 deg mask at 85 S (its footprint
    ends near 62 deg of latitude), so that site's demands have no candidate at all. The problem is still built,
    its requests are all an outage, and the other site is served."""
    shell = STARLINK_GEN1[:1]
    sites = tables.demand_sites([-1.29, -85.0], [36.82, 0.0], names=["nairobi", "far-south"], country=["KE", "AQ"])
    gateways, clouds = tables.gateways(), tables.cloud_regions("azure")
    orbits = propagate_orbits(constellation(shell, 2461094.5, 0.0), GRID, np.float64)
    ground = Ground.from_nodes(sites, gateways, tables.pops(), clouds)
    tensors = build_network(orbits.r_ecef_km, grid_shells(shell), ground, SPEC, steps_per_epoch=2, step_s=30.0)
    assert tensors.site_coverage[:, 1].max() == 0.0 and tensors.site_coverage[:, 0].min() == 1.0
    issued = build_problem(tensors, [60.0, 60.0], np.ones((2, shell[0].total_sats)), sites, gateways, clouds,
                           models(["yolov8n"]), [Workload("yolov8n", 5.0, 100.0)], hosts(), covered=False)
    assert (issued.candidate_host[:, issued.demand_site == 1] < 0).all()
    covered = cover(issued, tensors.site_coverage)
    assert outage_share(issued, covered) == pytest.approx(0.5)  # the same rate at both sites
    result = solve(covered)
    assert result.status == Status.OPTIMAL and evaluate(covered, result.solution).feasible
    assert result.solution.assignment[:, covered.demand_site == 0].sum(axis=-1) == pytest.approx(1.0)


def test_a_demand_whose_candidates_are_all_unusable_is_refused():
    p = random_problem(0, 6, 3, 2, n_slots=3)
    share = p.candidate_share.copy()
    share[:, 1] = 0.0  # demand 1 keeps its candidate hosts, none of them ever reachable
    with pytest.raises(InputError, match="no usable candidate host"):
        dataclasses.replace(p, candidate_share=share)
