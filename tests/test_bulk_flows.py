"""Bulk flows (placement/problem/bulk.py, placement/evaluation/bulk.py): a hand-derived split of one link
between a bulk flow and inference requests, the config's checks naming their field, and the backhaul
scenario's flow going only to its destinations without touching compute or memory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from placement import pipeline
from placement.config import load_config
from placement.errors import InputError
from placement.evaluation import evaluate
from placement.evaluation.bulk import bulk_demands, bulk_report
from placement.problem import CLOUD, GATEWAY, PlacementProblem, Solution
from placement.problem.bulk import ACK_SHARE, bulk_model, chunk_rate_per_s
from placement.problem.link_rows import LINK_KINDS
from placement.scenario import resolve
from placement.solvers import solve

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
CHUNK_BYTES = 1e6


def shared_feeder(capacity_gbps: float) -> PlacementProblem:
    """A city's 60 requests/s (model m: 1e12 FLOPs, 10 kB up, nothing down) and a data centre's 1 Gbps bulk
    flow (1 MB chunks), each with one slot: cloud region C, rtt 80 ms, 1 Gbps each way, through one gateway's
    receive side F (`capacity_gbps`; its transmit side F' carries the acknowledgements), one epoch of 1 s."""
    chunk = bulk_model(CHUNK_BYTES)
    return PlacementProblem(
        host_name=["G", "C"], host_kind=[GATEWAY, CLOUD], host_jurisdiction=[0, 0], jurisdictions=["ZA"],
        memory_bytes=[2e9, 1e12], peak_flops_s=[1e14, 1e18], service_flops_s=[1e14, 1e15],
        flops_per_joule=[1e12, 1e12], power_budget_w=[[np.inf, np.inf]], link_gbps=[[10.0, 100.0]],
        model_name=["m", chunk.name], model_flops=[1e12, chunk.flops_per_inference],
        model_memory_bytes=[1e9, chunk.memory_bytes], memory_bandwidth_bytes_s=[1e12, 1e12],
        demand_name=["m@city", "bulk@dc"], demand_model=[0, 1], demand_site=[0, 1],
        rate_per_s=[[60.0, chunk_rate_per_s(1.0, CHUNK_BYTES)]],
        request_bytes=[10_000.0, chunk.request_bytes], response_bytes=[0.0, chunk.response_bytes],
        slo_ms=[500.0, 500.0], allowed=[[True], [True]], site_name=["city", "dc"],
        site_uplink_gbps=[[1.0, 10.0]], site_downlink_gbps=[[1.0, 10.0]],
        candidate_host=[[[1], [1]]], candidate_rtt_ms=[[[80.0], [80.0]]],
        candidate_up_gbps=[[[1.0], [1.0]]], candidate_down_gbps=[[[1.0], [1.0]]],
        epoch_s=[1.0], opening_cost=[[0.0, 0.0], [0.0, 0.0]], unserved_penalty_ms=1000.0,
        link_name=["G1 receive", "G1 transmit"],
        link_kind=[LINK_KINDS.index("gateway-receive"), LINK_KINDS.index("gateway-transmit")], link_reverse=[1, 0],
        link_capacity_gbps=[[capacity_gbps, 10.0]], candidate_link=[[[[0]], [[0]]]],
        candidate_link_share=[[[[1.0]], [[1.0]]]])


def test_a_bulk_flow_gets_what_the_requests_leave_of_a_shared_link():
    # The flow: 1e9 / 8 / 1e6 = 125 chunks/s; a chunk acknowledged by 1e6 x 40 / 3000 = 13,333 bytes.
    # A chunk at C: 80 ms + (8e6 + 106,667) bits / 1 Gbps = 88.107 ms; a request: 80 + 0.08 (80,000 bits)
    # + 1 (1e12 FLOPs at 1e15) = 81.08 ms. Each unserved one costs 1000 ms, so a request saves 918.92 ms
    # per 80,000 bits of F and a chunk 911.89 ms per 8e6 bits: the requests go first (4.8 Mbps), the flow
    # gets the rest of F. F = 0.5 Gbps: 495.2 Mbps carried (61.9 chunks/s); F = 2 Gbps: all 1 Gbps.
    assert ACK_SHARE == pytest.approx(40 / 3000)
    chunk_ms = 80.0 + 8.0 + 8.0 * 1e6 * 40 / 3000 / 1e6  # rtt + chunk + acknowledgement at 1 Gbps
    for capacity_gbps, carried_gbps in ((0.5, 0.4952), (2.0, 1.0)):
        problem = shared_feeder(capacity_gbps)
        result = solve("milp", problem)
        evaluation = evaluate(problem, result.solution)
        assert evaluation.feasible
        assert result.solution.assignment[0, 0, 0] == pytest.approx(1.0, abs=1e-9)  # every request served
        report = bulk_report(problem, result.solution, evaluation)
        assert report["offered_gbps"] == pytest.approx(1.0)
        assert report["carried_gbps"] == pytest.approx(carried_gbps, rel=1e-9)
        assert report["mean_latency_ms"] == pytest.approx(chunk_ms, rel=1e-12)
        assert report["destinations_gbps"] == pytest.approx({"C": carried_gbps}, rel=1e-9)
        assert report["gateways_gbps"] == pytest.approx({"G1 receive": carried_gbps}, rel=1e-9)
        binding = [(link["kind"], link["name"]) for link in report["binding_links"]]
        assert binding == ([("gateway-receive", "G1 receive")] if capacity_gbps == 0.5 else [])
        assert report["steady_carried_gbps"] == report["carried_gbps"]  # no network steps recorded
        unserved = 125.0 * (1.0 - carried_gbps)
        assert result.objective == pytest.approx(60 * 81.08 + (125.0 - unserved) * chunk_ms + 1000.0 * unserved,
                                                 rel=1e-9)


def test_a_flow_whose_path_crosses_the_link_half_the_time_is_steady_at_half():
    # F crossed in the first of two network steps (share 0.5): (16) bounds the epoch mean, 0.5 x (4.8 Mbps +
    # flow) <= 500 Mbps, so 995.2 Mbps are carried; in that step F holds 1000 Mbps, twice its capacity, and the
    # constant rate no step overflows is 995.2 / 2 = 497.6 Mbps.
    problem = shared_feeder(0.5)
    problem = dataclasses.replace(problem, candidate_link_share=problem.candidate_link_share * 0.5,
                                  candidate_link_steps=np.ones(problem.candidate_link.shape, np.uint64))
    result = solve("milp", problem)
    report = bulk_report(problem, result.solution, evaluate(problem, result.solution))
    assert report["carried_gbps"] == pytest.approx(0.9952, rel=1e-9)
    assert report["crossed_links_worst_step_utilization_max"] == pytest.approx(2.0, rel=1e-9)
    assert report["steady_carried_gbps"] == pytest.approx(0.4976, rel=1e-9)


def workload_error(*workloads: str) -> InputError:
    """The error of the quick start with these [[workloads]] (inline TOML tables) resolved."""
    with pytest.raises(InputError) as caught:
        resolve(load_config(CONFIGS / "quickstart.toml", [f"workloads=[{', '.join(workloads)}]"]))
    return caught.value


@pytest.mark.parametrize(("workload", "field"), [
    ('{kind = "bulk", destinations = ["azure:uaenorth"], slo_ms = 1000.0}', "workloads[0].rate_gbps"),
    ('{kind = "bulk", rate_gbps = 1.0, slo_ms = 1000.0}', "workloads[0].destinations"),
    ('{kind = "bulk", rate_gbps = 1.0, destinations = ["azure:uaenorth"], model = "whisper-base", slo_ms = 1.0}',
     "workloads[0].model"),
    ('{model = "whisper-base", slo_ms = 1000.0}', "workloads[0].rate_per_s"),
    ('{model = "whisper-base", rate_per_s = 1.0, rate_gbps = 1.0, slo_ms = 1000.0}', "workloads[0].rate_gbps"),
    ('{kind = "bulk", rate_gbps = 1.0, destinations = ["uaenorth"], slo_ms = 1000.0}', "workloads[0].destinations"),
    ('{kind = "bulk", rate_gbps = 1.0, destinations = ["azure:uaenorth", "azure:uaecentral", "azure:qatarcentral"], '
     + 'slo_ms = 1000.0}', "workloads[0].destinations"),
    ('{kind = "bulk", rate_gbps = -1.0, destinations = ["azure:uaenorth"], slo_ms = 1000.0}', "workloads[0].rate_gbps"),
    ('{kind = "bulk", rate_gbps = 1.0, chunk_bytes = 10.0, destinations = ["azure:uaenorth"], slo_ms = 1000.0}',
     "workloads[0].chunk_bytes"),
])
def test_config_errors_name_the_field(workload, field):
    error = workload_error(workload)
    assert error.field == field
    assert str(error).startswith(str(CONFIGS / "quickstart.toml"))


@pytest.fixture(scope="module")
def backhaul():
    """The backhaul scenario over one epoch of three network steps, its problem and the MILP's solution."""
    scenario = resolve(load_config(CONFIGS / "remote-datacenter-backhaul.toml",
                                   ["time.duration_h=0.17", "time.step_s=300", "solver.strategies=['milp']"]))
    problem = pipeline.placement_problem(scenario)
    return scenario, problem, solve("milp", problem, scenario.options("milp")).solution


def test_the_backhaul_flow_goes_to_its_destinations_and_touches_no_compute_and_no_copy(backhaul):
    scenario, problem, solution = backhaul
    bulk = bulk_demands(problem)
    assert [problem.demand_name[d] for d in np.flatnonzero(bulk)] == ["bulk-1e+06B@Lake Turkana AI cluster terminals"]
    hosts = problem.candidate_host[:, bulk]
    assert {problem.host_name[h] for h in hosts[hosts >= 0]} <= {"azure:southafricanorth", "azure:uaenorth"}
    evaluation = evaluate(problem, solution)
    assert evaluation.feasible
    report = bulk_report(problem, solution, evaluation)
    assert 0.0 < report["carried_gbps"] <= report["offered_gbps"] == pytest.approx(10.0, rel=0.05)
    # Without the flow's shares, every host's compute, power and memory are as they were: it needs none.
    without = Solution(solution.placement, np.where(bulk[None, :, None], 0.0, solution.assignment))
    alone = evaluate(problem, without)
    for field in ("compute_flops_s", "power_w", "memory_utilization", "energy_j"):
        np.testing.assert_array_equal(getattr(evaluation, field), getattr(alone, field), err_msg=field)
    assert evaluation.migration_term == alone.migration_term
    model = problem.demand_model[bulk][0]
    assert (problem.model_flops[model], problem.model_memory_bytes[model]) == (0.0, 0.0)
    # ... and the inference demands stay those of the 13 cities
    assert {problem.site_name[s] for s in problem.demand_site[~bulk]} == set(scenario.demand.sites.name[:13])
