"""Model choice: a demand offered several models of one task (candidate_model), each host once per model,
the accuracy given up priced per point or floored; hand-derived optima, brute force, the evaluator."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from placement import pipeline
from placement.config import load_config
from placement.errors import InputError
from placement.evaluation.metrics import evaluate
from placement.problem import CLOUD, SATELLITE, PlacementProblem, Solution
from placement.problem.build import Workload, model_options
from placement.problem.catalog import models
from placement.problem.synthetic import random_problem
from placement.scenario import resolve
from placement.solvers import SOLVERS
from placement.solvers.milp import solve
from tests.placement_instances import solve_with_every_strategy
from tests.test_milp import brute_force

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.toml"


def detector_choice(**overrides) -> PlacementProblem:
    """One demand of 100 frames/s; a small detector n (1e10 FLOPs, 44.9 - 37.3 = 7.6 mAP points worse) and a
    large one s (3e10 FLOPs). Satellite S: 10 ms away, one request at 1e13 FLOP/s (n takes 1 ms, s 3 ms),
    2e12 FLOP/s in all (room for 200 n or 66.7 s frames/s), memory for one model only. Cloud C: 80 ms,
    1e15 FLOP/s (n 0.01 ms, s 0.03 ms). Slots: S with n, S with s, C with n, C with s; 1 s epoch; each point
    of accuracy costs 1 ms a request."""
    fields = dict(
        host_name=["S", "C"], host_kind=[SATELLITE, CLOUD], host_jurisdiction=[0, 0], jurisdictions=["X"],
        memory_bytes=[1.5e9, 1e12], peak_flops_s=[2e12, 1e18], service_flops_s=[1e13, 1e15],
        flops_per_joule=[1e12, 1e12], power_budget_w=[[np.inf, np.inf]], link_gbps=[[10.0, np.inf]],
        model_name=["n", "s"], model_flops=[1e10, 3e10], model_memory_bytes=[1e9, 1e9], demand_name=["d"],
        demand_model=[1], demand_site=[0], rate_per_s=[[100.0]], request_bytes=[0.0], response_bytes=[0.0],
        slo_ms=[100.0], allowed=[[True]], site_name=["x"], site_uplink_gbps=[[1.0]], site_downlink_gbps=[[1.0]],
        candidate_host=[[[0, 0, 1, 1]]], candidate_model=[[[0, 1, 0, 1]]],
        candidate_rtt_ms=[[[10.0, 10.0, 80.0, 80.0]]], candidate_up_gbps=np.ones((1, 1, 4)),
        candidate_down_gbps=np.ones((1, 1, 4)), epoch_s=[1.0], opening_cost=np.zeros((2, 2)),
        choice_cost_ms=[[7.6, 0.0]], unserved_penalty_ms=1000.0)
    fields.update(overrides)
    return PlacementProblem(**fields)


def test_the_small_model_in_orbit_beats_the_large_one_far_away():
    # Per request: S with n 10 + 1 + 7.6 = 18.6 ms, S with s 10 + 3 = 13 ms, C with n 87.6, C with s 80.03.
    # S runs one model (memory). With s, S serves 66.7 frames/s (13 ms each), the other 33.3 go to C with s
    # (80.03): 66.67 x 13 + 33.33 x 80.03 = 3,534.3. With n, S serves all 100 (18.6 ms): 1,860. n in orbit.
    problem = detector_choice()
    result = solve(problem)
    assert result.objective == pytest.approx(100 * 18.6)
    assert result.solution.assignment[0, 0].tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0])
    report = evaluate(problem, result.solution)
    assert report.feasible and report.choice_term == pytest.approx(100 * 7.6)
    # Accuracy worth 20 ms a point: n costs 10 + 1 + 152 = 163 ms a request, s in orbit and the cloud wins:
    # 66.67 x 13 + 33.33 x 80.03 = 3,534.3.
    dear = detector_choice(choice_cost_ms=[[152.0, 0.0]])
    assert solve(dear).objective == pytest.approx(200 / 3 * 13 + 100 / 3 * 80.03)


def test_a_hosts_reachable_share_bounds_all_its_models():
    # S reachable 40% of the epoch: S with n and S with s together serve at most 40% (12).
    problem = detector_choice(candidate_share=[[[0.4, 0.4, 1.0, 1.0]]])
    assert problem.host_group()[0, 0].tolist() == [0, 0, 2, 2]  # each slot's host's first slot
    interleaved = detector_choice(candidate_host=[[[1, 0, 1, 0]]], candidate_model=[[[0, 0, 1, 1]]],
                                  candidate_share=[[[1.0, 0.4, 1.0, 0.4]]])
    assert interleaved.host_group()[0, 0].tolist() == [0, 1, 0, 1]
    with pytest.raises(InputError, match="candidate_share"):  # one host, two shares
        detector_choice(candidate_share=[[[0.4, 0.5, 1.0, 1.0]]])
    result = solve(problem)
    assert result.solution.assignment[0, 0, :2].sum() == pytest.approx(0.4)
    y = np.ones((1, 2, 2), bool)
    both = Solution(y, np.array([[[0.4, 0.3, 0.3, 0.0]]]))  # 70% on S across its two models
    assert {v.constraint for v in evaluate(problem, both).violations} >= {"(12) reachable share"}
    for name in ("greedy", "gradient"):
        report = evaluate(problem, SOLVERS[name].solve(problem).solution)
        assert report.feasible, (name, report.violations[:2])


def with_two_models(problem: PlacementProblem, cost_ms: float) -> PlacementProblem:
    """Every slot offered again with the other model (the second copy of the slots), the first model of each
    demand `cost_ms` a request dearer."""
    M = problem.n_models
    other = (problem.demand_model + 1) % M
    K = problem.n_slots
    twice = lambda a: np.concatenate([a, a], axis=2)  # noqa: E731
    model = np.concatenate([np.broadcast_to(problem.demand_model[None, :, None], problem.candidate_host.shape),
                            np.broadcast_to(other[None, :, None], problem.candidate_host.shape)], axis=2)
    cost = np.zeros((problem.n_demands, M))
    cost[np.arange(problem.n_demands), problem.demand_model] = cost_ms
    assert model.shape[2] == 2 * K
    return dataclasses.replace(
        problem, candidate_host=twice(problem.candidate_host), candidate_rtt_ms=twice(problem.candidate_rtt_ms),
        candidate_up_gbps=twice(problem.candidate_up_gbps), candidate_down_gbps=twice(problem.candidate_down_gbps),
        candidate_share=twice(problem.candidate_share), candidate_model=model, choice_cost_ms=cost)


@pytest.mark.parametrize("seed", range(4))
def test_milp_matches_brute_force_with_model_choice(seed):
    base = random_problem(seed, n_hosts=2, n_demands=2, n_models=2, single_source=True, load=0.6 + 0.3 * seed,
                          opening_cost=50.0 * seed, unserved_penalty_ms=2000.0, partial_share=0.5 * (seed % 2))
    problem = with_two_models(base, cost_ms=5.0 * seed)
    expected, n_feasible = brute_force(problem)
    assert n_feasible > 0
    assert solve(problem).objective == pytest.approx(expected, rel=1e-6)


def test_every_solver_passes_the_evaluator_with_model_choice():
    problem = with_two_models(random_problem(4, n_hosts=8, n_demands=10, n_models=2, n_epochs=2,
                                             placement="per_epoch", load=0.9, opening_cost=1e3, partial_share=0.5),
                              cost_ms=3.0)
    solve_with_every_strategy(problem)


def test_options_floor_and_prices_follow_the_catalog():
    catalog = models(["yolov8n", "yolov8s", "whisper-tiny", "whisper-base", "llama-3.2-1b-instruct-q4"])
    # YOLOv8 mAP 37.3 (n) and 44.9 (s): 2 ms a point makes n 15.2 ms dearer; a floor of 40 leaves only s
    options, cost = model_options(Workload("yolov8n", 1.0, 100.0, alternatives=("yolov8s",), ms_per_accuracy_point=2.0),
                                  catalog, "w")
    assert options == [0, 1] and cost.tolist() == pytest.approx([15.2, 0.0])
    options, _ = model_options(Workload("yolov8n", 1.0, 100.0, alternatives=("yolov8s",), min_accuracy=40.0), catalog, "w")
    assert options == [1]
    # Whisper's word error rate is better lower: tiny 7.6%, base 5.0%; a floor is a ceiling on it
    options, cost = model_options(Workload("whisper-tiny", 1.0, 100.0, alternatives=("whisper-base",),
                                           ms_per_accuracy_point=10.0, min_accuracy=8.0), catalog, "w")
    assert options == [2, 3] and cost.tolist() == pytest.approx([26.0, 0.0])
    with pytest.raises(InputError, match="alternatives"):  # another task
        model_options(Workload("yolov8n", 1.0, 100.0, alternatives=("whisper-tiny",)), catalog, "w")
    with pytest.raises(InputError, match="min_accuracy"):
        model_options(Workload("yolov8n", 1.0, 100.0, alternatives=("yolov8s",), min_accuracy=50.0), catalog, "w")


def test_a_run_offers_every_option_at_every_candidate(tmp_path):
    overrides = ["time.duration_h=0.34", "time.step_s=150", "solver.strategies=['milp']",
                 "workloads=[{model='yolov8s', rate_per_s=10.0, slo_ms=100.0, alternatives=['yolov8n'], "
                 "ms_per_accuracy_point=1.0}]"]
    scenario = resolve(load_config(QUICKSTART, overrides))
    p = pipeline.prepare(scenario, lambda message: None).problem
    K = p.n_slots // 2
    s, n = p.model_name.index("yolov8s"), p.model_name.index("yolov8n")
    assert (p.candidate_model[:, :, :K] == s).all() and (p.candidate_model[:, :, K:] == n).all()
    assert (p.candidate_host[:, :, :K] == p.candidate_host[:, :, K:]).all()
    assert p.choice_cost_ms[0, n] == pytest.approx(44.9 - 37.3)
    with pytest.raises(InputError, match="workloads\\[0\\].alternatives"):
        resolve(load_config(QUICKSTART, ["workloads=[{model='yolov8s', rate_per_s=1.0, slo_ms=100.0, "
                                         "alternatives=['whisper-tiny']}]"]))
