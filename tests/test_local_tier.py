"""A host at the site itself (kind local): no network path, so its requests cross none of the site's
terminals (7a, 7b); built into a run by hosts.local_profile."""

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from placement import pipeline
from placement.config import load_config
from placement.errors import InputError
from placement.evaluation.metrics import evaluate
from placement.problem import GATEWAY, LOCAL, SATELLITE, PlacementProblem
from placement.problem.synthetic import random_problem
from placement.scenario import resolve
from placement.solvers import SOLVERS
from placement.solvers.milp import solve
from tests.test_milp import brute_force

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.toml"


def satellite_and_local(**overrides) -> PlacementProblem:
    """One demand of 200 requests/s of 1,000 bytes up, 0 down, at a site whose terminals carry 1 Mbps up.
    Satellite S: 10 ms round trip, transmission 1,000 B x 8 / 1 Gbps = 0.008 ms, compute 1e10 / 1e13 =
    1 ms: 11.008 ms, up to 1,000 requests/s. Local host L: no round trip, 0.008 ms over its 1 Gbps link,
    compute 1e10 / 5e11 = 20 ms on one of its ten accelerators: 20.008 ms, up to 500 requests/s."""
    fields = dict(
        host_name=["S", "L"], host_kind=[SATELLITE, LOCAL], host_jurisdiction=[0, 0], jurisdictions=["X"],
        memory_bytes=[1e10, 1e10], peak_flops_s=[1e13, 5e12], service_flops_s=[1e13, 5e11],
        flops_per_joule=[1e12, 1e12], power_budget_w=[[np.inf, np.inf]], link_gbps=[[10.0, np.inf]],
        model_name=["m"], model_flops=[1e10], model_memory_bytes=[1e9], demand_name=["d"], demand_model=[0],
        demand_site=[0], rate_per_s=[[200.0]], request_bytes=[1000.0], response_bytes=[0.0], slo_ms=[100.0],
        allowed=[[True]], site_name=["s"], site_uplink_gbps=[[1e-3]], site_downlink_gbps=[[1.0]],
        candidate_host=[[[0, 1]]], candidate_rtt_ms=[[[10.0, 0.0]]], candidate_up_gbps=[[[1.0, 1.0]]],
        candidate_down_gbps=[[[1.0, 1.0]]], epoch_s=[1.0], opening_cost=[[0.0, 0.0]], unserved_penalty_ms=1000.0)
    fields.update(overrides)
    return PlacementProblem(**fields)


def test_local_requests_cross_no_terminal():
    # The terminals carry 1e6 / 8,000 bits = 125 requests/s up: those go to S (11.008 ms); the other 75
    # are served at the site (20.008 ms), not left unserved for want of uplink.
    # Objective: 125 x 11.008 + 75 x 20.008 = 1376 + 1500.6 = 2876.6 request-ms.
    problem = satellite_and_local()
    result = solve(problem)
    assert result.solution.assignment[0, 0] == pytest.approx([0.625, 0.375])
    assert result.objective == pytest.approx(125 * 11.008 + 75 * 20.008)
    report = evaluate(problem, result.solution)
    assert report.feasible
    assert report.site_uplink_utilization[0, 0] == pytest.approx(1.0)
    # The same shares with the local host counted as a satellite would overload the terminals 1.6x
    as_satellite = dataclasses.replace(problem, host_kind=np.array([SATELLITE, SATELLITE]))
    violated = {v.constraint for v in evaluate(as_satellite, result.solution).violations}
    assert violated == {"(7a) site uplink"}


@pytest.mark.parametrize("name", ["greedy", "gradient", "milp"])
def test_every_solver_uses_the_local_host_past_the_uplink(name):
    problem = satellite_and_local()
    result = SOLVERS[name].solve(problem)
    report = evaluate(problem, result.solution)
    assert report.feasible and report.unserved_share == pytest.approx(0.0, abs=1e-9)
    assert report.objective <= (125 * 11.008 + 75 * 20.008) * 1.001


@pytest.mark.parametrize("seed", range(4))
def test_milp_matches_brute_force_with_local_hosts(seed):
    # The gateway of a random instance made local: its slots leave the site's terminals alone; tight
    # terminals make that decide the optimum.
    base = random_problem(seed, n_hosts=2, n_demands=3, n_models=1, single_source=True, load=0.5 + 0.2 * seed,
                          opening_cost=50.0 * seed, unserved_penalty_ms=400.0)
    kind = np.where(base.host_kind == GATEWAY, LOCAL, base.host_kind)
    uplink = 0.5 * base.request_bits_per_s().sum() / 1e9
    problem = dataclasses.replace(base, host_kind=kind, site_uplink_gbps=np.full(base.site_uplink_gbps.shape, uplink))
    expected, n_feasible = brute_force(problem)
    assert n_feasible > 0
    assert solve(problem).objective == pytest.approx(expected, rel=1e-6)


def test_a_run_with_a_local_tier(tmp_path):
    # The shrunk quick start with a Jetson at every hub: each demand gets its site's host as one more slot,
    # at the site's position, with no round trip; the SLO reach gains a local tier.
    overrides = ["time.duration_h=0.34", "time.step_s=150", "solver.strategies=['milp']",
                 "hosts.local_profile='local-orin-nano'"]
    scenario = resolve(load_config(QUICKSTART, overrides))
    prepared = pipeline.prepare(scenario, lambda message: None)
    p = prepared.problem
    local = np.flatnonzero(p.host_kind == LOCAL)
    assert [p.host_name[h] for h in local] == [f"{s} (local)" for s in p.site_name]
    slots = p.candidate_host == local[p.demand_site][None, :, None]
    assert (slots.sum(axis=2) == 1).all() and (p.candidate_rtt_ms[slots] == 0).all()
    assert not p.via_site()[slots].any()
    metrics = pipeline.run(scenario, tmp_path / "run")
    assert metrics["strategies"]["milp"]["feasible"]
    assert "local" in metrics["slo_reach"]["by_tier"]
    # The detector runs at the hubs (1.3 ms of compute against tens of ms of upload): no round trip, so its
    # p95 is its mean
    assignments = pq.read_table(tmp_path / "run" / "assignments.parquet").to_pandas()
    local_rows = assignments[assignments.host_kind == "local"]
    assert len(local_rows) > 0
    assert np.allclose(local_rows.p95_latency_ms.to_numpy(), local_rows.latency_ms.to_numpy())


def test_local_profile_must_be_of_kind_local():
    with pytest.raises(InputError, match="hosts.local_profile"):
        resolve(load_config(QUICKSTART, ["hosts.local_profile='satellite-orin'"]))


def test_several_devices_per_unit_pool_at_the_site():
    # 300 phones a site (the Direct-to-Cell variant): each site's local host pools 300 of the profile's NPUs
    # (M/D/300), and the quick start's Llama 3.2 1B computes there for Qualcomm's measured time, 128 tokens
    # at 53.6399 tokens/s plus its 256-token prompt at the roofline, 2 x 1.23e9 x 256 / 9e12 s
    overrides = ["time.duration_h=0.34", "time.step_s=150", "hosts.local_profile='local-phone-8-elite'",
                 "hosts.local_devices_per_unit=300"]
    p = pipeline.prepare(resolve(load_config(QUICKSTART, overrides)), lambda message: None).problem
    local = np.flatnonzero(p.host_kind == LOCAL)
    assert (p.queue_servers()[local] == 300).all()
    llama = p.model_name.index("llama-3.2-1b-instruct-q4")
    slots = (p.candidate_host == local[p.demand_site][None, :, None]) & (p.candidate_model == llama)
    assert slots.any()
    compute_ms = p.latency_parts_ms()[2][slots]
    assert np.allclose(compute_ms, 1e3 * (128 / 53.6399 + 2 * 1.23e9 * 256 / 9e12), rtol=1e-9)
    with pytest.raises(InputError, match="local_devices_per_unit"):
        load_config(QUICKSTART, ["hosts.local_devices_per_unit=0"])
