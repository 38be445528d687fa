"""Waiting for an accelerator (placement.problem.queueing, constraint 13): closed forms, a simulated queue,
the interpolant's error, and solvers that spread load to avoid waiting."""

import dataclasses
import heapq
import itertools

import numpy as np
import pytest

from placement.evaluation.metrics import evaluate
from placement.problem import SATELLITE, PlacementProblem, Solution
from placement.problem.queueing import breakpoints, chords, erlang_c, mean_queue_md_c, queue_length
from placement.problem.synthetic import random_problem
from placement.solvers.milp import solve
from placement.solvers.options import MilpOptions
from tests.placement_instances import solve_with_every_strategy


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.99])
def test_one_accelerator_is_pollaczek_khinchine(rho):
    # M/D/1: Lq = rho^2 / (2 (1 - rho)), each request waiting rho S / (2 (1 - rho))
    assert mean_queue_md_c(1, rho) == pytest.approx(rho**2 / (2 * (1 - rho)), rel=1e-12)


def test_the_issues_north_sea_figures():
    # A satellite at 90% load with a 3.3 ms service time: 0.9 x 3.3 / (2 x 0.1) = 14.85 ms of waiting;
    # at 99%, 0.99 x 3.3 / 0.02 = 163.35 ms (the issue's "about 15" and "about 165")
    for rho, wait_ms in ((0.9, 14.85), (0.99, 163.35)):
        arrivals_per_ms = rho / 3.3
        assert mean_queue_md_c(1, rho) / arrivals_per_ms == pytest.approx(wait_ms, rel=1e-9)


def test_erlang_c_against_its_closed_form():
    # c = 2, offered load a = 1 (rho = 0.5): P(wait) = (a^2/2! x 2/(2-a)) / (1 + a + a^2/2! x 2/(2-a)) = 1/3
    assert erlang_c(2, 0.5) == pytest.approx(1 / 3, rel=1e-12)
    # c = 3, a = 2: a^3/3! x 3/(3-2) = 4; 1 + 2 + 2 = 5; P = 4 / 9
    assert erlang_c(3, 2 / 3) == pytest.approx(4 / 9, rel=1e-12)
    # Many servers at moderate load hardly ever wait; one server waits with probability rho
    assert erlang_c(64, 0.5) < 1e-6
    assert erlang_c(1, 0.7) == pytest.approx(0.7)


def simulated_mean_queue(servers: int, rho: float, n: int, seed: int) -> float:
    """Lq of a FIFO M/D/c queue with service time 1 by simulation: arrival rate x mean wait."""
    rng = np.random.default_rng(seed)
    rate = servers * rho
    arrivals = np.cumsum(rng.exponential(1 / rate, n))
    free = [0.0] * servers  # when each server is next free
    waits = np.empty(n)
    for i, t in enumerate(arrivals):
        start = max(t, heapq.heappop(free))
        waits[i] = start - t
        heapq.heappush(free, start + 1.0)
    return rate * waits[n // 10:].mean()  # the first tenth warms the queue up


@pytest.mark.parametrize("servers, rho, tolerance", [(1, 0.8, 0.06), (4, 0.8, 0.10), (4, 0.6, 0.10)])
def test_against_a_simulated_queue(servers, rho, tolerance):
    # One server: the formula is exact, the tolerance is the simulation's noise (200,000 requests).
    # Four: Allen-Cunneen's approximation; the simulation says how close it is.
    simulated = simulated_mean_queue(servers, rho, 200_000, seed=servers)
    assert mean_queue_md_c(servers, rho) == pytest.approx(simulated, rel=tolerance)


@pytest.mark.parametrize("servers, bound", [(1, 0.081), (4, 0.014), (64, 0.001)])
def test_interpolant_never_understates_and_is_close(servers, bound):
    ceiling = 0.95
    intercept, slope = chords(np.array([servers]), ceiling)
    rho = np.linspace(1e-4, ceiling, 20_001)
    exact = mean_queue_md_c(servers, rho)
    interpolated = queue_length(rho[:, None], intercept, slope)[:, 0]
    assert (interpolated >= exact - 1e-12).all()
    # exact at the breakpoints
    knots = breakpoints(ceiling)
    assert queue_length(knots[:, None], intercept, slope)[:, 0] == pytest.approx(
        mean_queue_md_c(servers, knots), rel=1e-9, abs=1e-15)
    # A request's mean wait is Lq / arrival rate = Lq / (c rho) service times: overstated by less than `bound`
    assert ((interpolated - exact) / (servers * rho)).max() < bound


def two_satellites(rate_per_s: float, **overrides) -> PlacementProblem:
    """One demand, two satellites A and B with one accelerator each (1e13 FLOP/s, 1e11 FLOPs a request:
    10 ms of service, so 100 requests/s fill one), both 20 ms away; one 100 s epoch; payloads 0 bytes."""
    fields = dict(
        host_name=["A", "B"], host_kind=[SATELLITE] * 2, host_jurisdiction=[0, 0], jurisdictions=["X"],
        memory_bytes=[1e10] * 2, peak_flops_s=[1e13] * 2, service_flops_s=[1e13] * 2, flops_per_joule=[1e12] * 2,
        power_budget_w=[[np.inf, np.inf]], link_gbps=[[10.0, 10.0]], model_name=["m"], model_flops=[1e11],
        model_memory_bytes=[1e9], demand_name=["d"], demand_model=[0], demand_site=[0], rate_per_s=[[rate_per_s]],
        request_bytes=[0.0], response_bytes=[0.0], slo_ms=[100.0], allowed=[[True]], site_name=["s"],
        site_uplink_gbps=[[1.0]], site_downlink_gbps=[[1.0]], candidate_host=[[[0, 1]]],
        candidate_rtt_ms=[[[20.0, 20.0]]], candidate_up_gbps=[[[1.0, 1.0]]], candidate_down_gbps=[[[1.0, 1.0]]],
        epoch_s=[100.0], opening_cost=[[0.0, 0.0]], unserved_penalty_ms=1000.0, queueing=True,
        utilization_ceiling=0.95)
    fields.update(overrides)
    return PlacementProblem(**fields)


def test_the_optimum_spreads_load_to_avoid_waiting():
    # 80 requests/s. All on A: rho = 0.8, Lq = 0.64 / 0.4 = 1.6 requests waiting, 1.6 / 80 s = 20 ms each.
    # Split evenly: rho = 0.4 on each, Lq = 0.16 / 1.2 = 0.1333 each, 0.2667 in all: 3.3 ms a request.
    # Latency alone (30 ms either way) cannot tell them apart; waiting makes the split 6x cheaper.
    problem = two_satellites(80.0)
    result = solve(problem)
    report = evaluate(problem, result.solution)
    assert report.feasible
    split = result.solution.assignment[0, 0]
    assert split == pytest.approx([0.5, 0.5], abs=0.1)  # chords are flat between breakpoints: near, not at
    # waiting over the epoch: 100 s x 0.2667 x 1000 = 26,667 request-ms (the interpolant overstates by < 5%)
    assert 26_667 <= report.waiting_term <= 26_667 * 1.05
    assert report.objective == pytest.approx(8000 * 30.0 + report.waiting_term, rel=1e-9)
    all_on_a = Solution(np.ones((1, 1, 2), bool), np.array([[[1.0, 0.0]]]))
    assert evaluate(problem, all_on_a).waiting_term == pytest.approx(160_000, rel=0.01)
    assert evaluate(problem, all_on_a).demand_mean_waiting_ms[0] == pytest.approx(20.0, rel=0.01)


def test_the_ceiling_leaves_the_rest_unserved():
    # 194 requests/s. One more request/s on a host at rho costs 1e3 Lq'(rho) S request-ms per second,
    # Lq' = rho (2 - rho) / (2 (1 - rho)^2): 199.5 at the 0.95 ceiling, so 1,995 ms a request. Above the
    # 1,000 ms penalty the hosts stop short of the ceiling; with a 1e5 ms penalty both reach it and carry
    # 190 requests/s, and 4 go unserved.
    cheap = evaluate(two_satellites(194.0), solve(two_satellites(194.0)).solution)
    assert cheap.feasible and (cheap.compute_utilization[0] < 0.945).all()
    problem = two_satellites(194.0, unserved_penalty_ms=1e5)
    report = evaluate(problem, solve(problem).solution)
    assert report.feasible
    assert report.compute_utilization[0] == pytest.approx([0.95, 0.95], rel=1e-6)
    assert report.served_requests == pytest.approx(190 * 100.0, rel=1e-6)


def test_evaluator_flags_a_host_above_the_ceiling():
    problem = two_satellites(80.0, utilization_ceiling=0.7)
    over = Solution(np.ones((1, 1, 2), bool), np.array([[[1.0, 0.0]]]))  # rho = 0.8 on A
    constraints = {v.constraint for v in evaluate(problem, over).violations}
    assert constraints == {"(13) utilisation ceiling"}


def test_queueing_needs_a_ceiling_below_one():
    with pytest.raises(Exception, match="utilization_ceiling"):
        two_satellites(80.0, utilization_ceiling=1.0)


def enumerate_with_waiting(problem: PlacementProblem) -> float:
    """Single-source brute force: every assignment of each demand to a slot or to unserved, copies where
    used; the evaluator scores (waiting included) and checks each."""
    T, D, K = problem.candidate_host.shape
    best = np.inf
    for choice in itertools.product(range(K + 1), repeat=T * D):
        x = np.zeros((T, D, K))
        y = np.zeros((T, problem.n_models, problem.n_hosts), bool)
        for i, k in enumerate(choice):
            t, d = divmod(i, D)
            if k < K and problem.candidate_host[t, d, k] >= 0:
                x[t, d, k] = 1.0
                y[t, problem.demand_model[d], problem.candidate_host[t, d, k]] = True
        if problem.placement == "fixed":
            y[:] = y.any(axis=0)
        report = evaluate(problem, Solution(y, x))
        if report.feasible:
            best = min(best, report.objective)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_milp_matches_enumeration_with_waiting(seed):
    # Loads near capacity, so the waiting decides between hosts; zero opening costs, so using only the
    # copies the assignment needs loses nothing and the enumeration over assignments is complete.
    problem = dataclasses.replace(
        random_problem(seed, n_hosts=3, n_demands=4, n_models=1, n_epochs=1, single_source=True,
                       load=0.5 + 0.15 * seed, unserved_penalty_ms=300.0),
        queueing=True, utilization_ceiling=0.9)
    expected = enumerate_with_waiting(problem)
    result = solve(problem, MilpOptions(relative_gap=1e-9))
    assert evaluate(problem, result.solution).objective == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_every_solver_prices_waiting_as_the_evaluator_does(seed):
    problem = dataclasses.replace(
        random_problem(seed, n_hosts=8, n_demands=12, n_models=2, n_epochs=2, placement="per_epoch",
                       load=0.9, opening_cost=1e3), queueing=True, utilization_ceiling=0.95)
    results = solve_with_every_strategy(problem, seed)
    optimum = results["milp"]
    # The gradient heuristic prices waiting in its relaxation and its moves: within 1% of the optimum here
    assert results["gradient"].objective <= optimum.objective * 1.01
