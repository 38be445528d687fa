"""SLOs as a penalty or a constraint (PlacementProblem.slo_mode): hand-derived optima, brute force, and the
evaluator flagging a slot used over its SLO."""

import dataclasses

import numpy as np
import pytest

from placement.evaluation.metrics import evaluate
from placement.problem import Solution
from placement.problem.synthetic import random_problem
from placement.solvers.milp import solve
from tests.placement_instances import solve_with_every_strategy, with_fast_satellite
from tests.test_milp import brute_force

# with_fast_satellite: two demands of 60 requests/s; S 20 ms (up to 100 requests/s), G 30 ms (100/s),
# C 81 ms; 1 s epoch, unserved 1000 ms. Without SLO terms S takes 100, G 20: 100 x 20 + 20 x 30 = 2600.
SLO_25 = dict(slo_ms=[25.0, 25.0])  # only S is within 25 ms


@pytest.mark.parametrize("mode, penalty, optimum", [
    ("report", 0.0, 2600.0),
    # G costs 30 + 5 = 35 per request, still below unserved (1000): 100 x 20 + 20 x 35
    ("penalty", 5.0, 2700.0),
    # G costs 30 + 2000, more than leaving the 20 unserved: 100 x 20 + 20 x 1000
    ("penalty", 2000.0, 22_000.0),
    # G and C are unusable: the 20 S cannot carry go unserved
    ("constraint", 0.0, 22_000.0),
])
def test_hand_derived_optima(mode, penalty, optimum):
    problem = with_fast_satellite(**SLO_25, slo_mode=mode, slo_penalty_ms=penalty)
    result = solve(problem)
    assert result.objective == pytest.approx(optimum)
    report = evaluate(problem, result.solution)
    assert report.feasible and report.objective == pytest.approx(optimum)
    assert report.slo_term == pytest.approx(20 * 5.0 if optimum == 2700.0 else 0.0)


def test_a_demand_no_slot_serves_within_its_slo_goes_unserved_not_an_error():
    problem = with_fast_satellite(slo_ms=[15.0, 15.0], slo_mode="constraint")  # S is 20 ms: none within
    assert not problem.usable_slots().any()
    assert evaluate(problem, solve(problem).solution).served_requests == 0.0


def test_evaluator_flags_a_slot_over_its_slo():
    problem = with_fast_satellite(**SLO_25, slo_mode="constraint")
    y = np.zeros((1, 1, 3), bool)
    y[0, 0, 0] = True
    on_g = Solution(y, np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]))  # d0 at G (30 ms > 25)
    assert {v.constraint for v in evaluate(problem, on_g).violations} == {"(10) over its SLO"}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("mode", ["penalty", "constraint"])
def test_milp_matches_brute_force(seed, mode):
    base = random_problem(seed, n_hosts=2, n_demands=3, n_models=1, single_source=True, load=0.6 + 0.2 * seed,
                          opening_cost=100.0 * seed, unserved_penalty_ms=500.0)
    latency = np.where(base.usable_slots(), base.latency_ms(), np.nan)
    # SLOs between each demand's fastest and slowest slot, so the mode decides between them
    slo = np.nanmean(latency, axis=(0, 2))
    problem = dataclasses.replace(base, slo_ms=slo, slo_mode=mode, slo_penalty_ms=40.0 * (seed + 1))
    expected, n_feasible = brute_force(problem)
    assert n_feasible > 0
    assert solve(problem).objective == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("mode", ["penalty", "constraint"])
def test_every_solver_passes_the_evaluator(mode):
    base = random_problem(3, n_hosts=8, n_demands=12, n_models=2, n_epochs=2, placement="per_epoch", load=0.8,
                          opening_cost=1e3)
    slo = np.nanmedian(np.where(base.usable_slots(), base.latency_ms(), np.nan), axis=(0, 2))
    problem = dataclasses.replace(base, slo_ms=slo, slo_mode=mode, slo_penalty_ms=100.0, queueing=True,
                                  utilization_ceiling=0.95)
    solve_with_every_strategy(problem)
