"""A battery carried between epochs (placement.problem.battery, constraint 14): closed forms, a satellite
running out in a long eclipse, brute force, and the evaluator's check."""

import dataclasses

import numpy as np
import pytest

from placement.evaluation.metrics import evaluate
from placement.problem import SATELLITE, PlacementProblem, Solution
from placement.problem.battery import state_of_charge, sustained_power_w
from placement.problem.synthetic import random_problem
from placement.solvers.milp import solve
from tests.placement_instances import solve_with_every_strategy
from tests.test_milp import brute_force

# One satellite's compute: 60 W from the panels while sunlit, a 64.8 kJ battery share (60 Wh x 0.3),
# four 600 s epochs: sunlit, then a long eclipse.
EPOCH_S = np.full(4, 600.0)
HARVEST = np.array([[60.0], [0.0], [0.0], [0.0]])
BATTERY = np.array([64_800.0])


def test_state_of_charge_closed_form():
    # Drawing 60 W throughout: epoch 0 is covered by the panels (the battery stays full); epoch 1 takes
    # 36 kJ (28.8 kJ left); epoch 2 needs 36 kJ and lacks 7.2 kJ; epoch 3 lacks all 36 kJ.
    soc, lacking = state_of_charge(np.full((4, 1), 60.0), HARVEST, BATTERY, EPOCH_S)
    assert soc[:, 0].tolist() == pytest.approx([64_800, 64_800, 28_800, 0, 0])
    assert lacking[:, 0].tolist() == pytest.approx([0, 0, 7_200, 36_000])
    # Drawing 20 W in the sun charges nothing (already full); spilling keeps it at its capacity
    soc, _ = state_of_charge(np.array([[20.0], [0.0], [0.0], [0.0]]), HARVEST, BATTERY, EPOCH_S)
    assert soc.max() == pytest.approx(64_800)


def test_sustained_power_spreads_the_battery_over_the_eclipse():
    # The sunlit epoch draws the panels' 60 W; the three eclipse epochs share the 64.8 kJ evenly over their
    # 1,800 s: 36 W each, ending empty.
    budget = sustained_power_w(np.full((4, 1), 60.0), HARVEST, BATTERY, EPOCH_S)
    assert budget[:, 0].tolist() == pytest.approx([60, 36, 36, 36])
    soc, lacking = state_of_charge(budget, HARVEST, BATTERY, EPOCH_S)
    assert (lacking == 0).all() and soc[-1, 0] == pytest.approx(0.0, abs=1e-6)
    # A half-sunlit epoch (30 W harvest) opens the run: 30 + 64,800 / 2,400 s = 57 W, then 27 W each.
    half = np.array([[30.0], [0.0], [0.0], [0.0]])
    assert sustained_power_w(np.full((4, 1), 60.0), half, BATTERY, EPOCH_S)[:, 0].tolist() == pytest.approx(
        [57, 27, 27, 27])
    # Any draw within the budget keeps the battery above empty (drawing less never leaves less later)
    rng = np.random.default_rng(0)
    for _ in range(20):
        harvest = rng.uniform(0, 80, (6, 3)) * (rng.random((6, 3)) < 0.5)
        battery = rng.uniform(0, 50_000, 3)
        budget = sustained_power_w(np.full((6, 3), 60.0), harvest, battery, np.full(6, 300.0))
        draw = budget * rng.uniform(0, 1, budget.shape)
        assert (state_of_charge(draw, harvest, battery, np.full(6, 300.0))[1] <= 1e-9).all()


def one_satellite(**overrides) -> PlacementProblem:
    """One demand of 2,000 requests/s of 1e10 FLOPs, on satellite S (peak 1.7e13 FLOP/s = 1,700
    requests/s at 60 W: 2.83e11 FLOP/J) or the cloud C (100 ms, unlimited), 1,000 ms per unserved request."""
    fields = dict(
        host_name=["S", "C"], host_kind=[SATELLITE, 2], host_jurisdiction=[0, 0], jurisdictions=["X"],
        memory_bytes=[1e10, 1e12], peak_flops_s=[1.7e13, 1e18], service_flops_s=[1.7e13, 1e15],
        flops_per_joule=[1.7e13 / 60.0, 1e12], power_budget_w=np.tile([60.0, np.inf], (4, 1)),
        link_gbps=np.tile([10.0, np.inf], (4, 1)), model_name=["m"], model_flops=[1e10], model_memory_bytes=[1e9],
        demand_name=["d"], demand_model=[0], demand_site=[0], rate_per_s=np.full((4, 1), 2000.0),
        request_bytes=[0.0], response_bytes=[0.0], slo_ms=[100.0], allowed=[[True]], site_name=["s"],
        site_uplink_gbps=np.ones((4, 1)), site_downlink_gbps=np.ones((4, 1)),
        candidate_host=np.tile([[[0, 1]]], (4, 1, 1)), candidate_rtt_ms=np.tile([[[10.0, 100.0]]], (4, 1, 1)),
        candidate_up_gbps=np.ones((4, 1, 2)), candidate_down_gbps=np.ones((4, 1, 2)), epoch_s=EPOCH_S,
        opening_cost=[[0.0, 0.0]], placement="per_epoch", harvest_w=np.hstack([HARVEST, np.full((4, 1), np.inf)]),
        battery_j=[64_800.0, 0.0])
    fields.update(overrides)
    return PlacementProblem(**fields)


def test_a_long_eclipse_drains_the_battery_and_later_epochs_lose_compute():
    # A request on S takes 10 + 1e10 / 1.7e13 s = 10.59 ms, on C 100 + 0.01 ms: S is worth all it can do.
    # Epoch 0 (sunlit): S at its 60 W peak, 1,700 requests/s. The eclipse (epochs 1-3) has only the
    # battery's 64.8 kJ: 64,800 J x 1.7e13 / 60 FLOP/J / 1e10 FLOPs = 1.836e6 requests in all, however
    # they are spread (each epoch at most 1,700/s x 600 s = 1.02e6), the rest in the cloud.
    problem = one_satellite()
    result = solve(problem)
    report = evaluate(problem, result.solution)
    assert report.feasible
    on_s = problem.requests()[:, 0] * result.solution.assignment[:, 0, 0]
    assert on_s[0] == pytest.approx(1_700 * 600)
    assert on_s[1:].sum() == pytest.approx(64_800 * 1.7e13 / 60 / 1e10, rel=1e-6)
    assert report.battery_soc_j[-1, 0] == pytest.approx(0.0, abs=1e-3)
    # Epoch by epoch the eclipse epochs would each get the budget the longest eclipse allows (30.3 W over
    # 35.6 min, here 3 x 600 s x 30.3 W = 54.6 kJ): less than the battery holds, and not carried
    by_epoch = dataclasses.replace(problem, harvest_w=None, battery_j=None,
                                   power_budget_w=np.tile([[60.0, np.inf]] + [[30.33, np.inf]] * 3, (1, 1)))
    on_s_by_epoch = by_epoch.requests()[:, 0] * solve(by_epoch).solution.assignment[:, 0, 0]
    assert on_s_by_epoch[1:].sum() == pytest.approx(3 * 600 * 30.33 * 1.7e13 / 60 / 1e10, rel=1e-6)


def test_without_a_battery_the_eclipse_serves_nothing_in_orbit():
    problem = one_satellite(battery_j=[0.0, 0.0])
    result = solve(problem)
    assert evaluate(problem, result.solution).feasible
    assert result.solution.assignment[:, 0, 0].tolist() == pytest.approx([1700 / 2000, 0, 0, 0])


def test_evaluator_flags_a_battery_run_out():
    problem = one_satellite()
    y = np.zeros((4, 1, 2), bool)
    y[:, 0, 0] = True
    all_on_s = Solution(y, np.tile([[[1700 / 2000, 0.0]]], (4, 1, 1)))  # 60 W in every epoch
    violations = [v for v in evaluate(problem, all_on_s).violations]
    assert {v.constraint for v in violations} == {"(14) battery"}
    assert [v.where for v in violations] == ["epoch 2, satellite S", "epoch 3, satellite S"]
    assert [v.amount for v in violations] == pytest.approx([7_200, 36_000], rel=1e-5)


def with_battery(problem: PlacementProblem, energy_j: float) -> PlacementProblem:
    """Satellites given a battery of `energy_j` and a quarter of their power budget as harvest."""
    sat = problem.host_kind == SATELLITE
    harvest = np.where(sat[None, :], 0.25 * problem.power_budget_w, np.inf)
    return dataclasses.replace(problem, harvest_w=harvest, battery_j=np.where(sat, energy_j, 0.0))


@pytest.mark.parametrize("seed", range(6))
def test_milp_matches_brute_force_with_battery(seed):
    # one_satellite cut to two epochs and two demands of random rates (each about 21-56 W on S), with a
    # random harvest and battery, single source: S or C per demand and epoch, and the battery decides
    # which epochs S can serve. Every instance is checked to be one where the battery binds.
    rng = np.random.default_rng(seed)
    T = 2
    problem = one_satellite(
        power_budget_w=np.tile([60.0, np.inf], (T, 1)), link_gbps=np.tile([10.0, np.inf], (T, 1)),
        demand_name=["a", "b"], demand_model=[0, 0], demand_site=[0, 0], rate_per_s=rng.uniform(600, 1600, (T, 2)),
        request_bytes=[0.0, 0.0], response_bytes=[0.0, 0.0], slo_ms=[100.0, 100.0], allowed=[[True], [True]],
        site_uplink_gbps=np.ones((T, 1)), site_downlink_gbps=np.ones((T, 1)),
        candidate_host=np.tile([[[0, 1]]], (T, 2, 1)), candidate_rtt_ms=np.tile([[[10.0, 100.0]]], (T, 2, 1)),
        candidate_up_gbps=np.ones((T, 2, 2)), candidate_down_gbps=np.ones((T, 2, 2)), epoch_s=EPOCH_S[:T],
        harvest_w=np.column_stack([rng.uniform(0, 20, T), np.full(T, np.inf)]),
        battery_j=[rng.uniform(0, 20_000), 0.0], single_source=True, unserved_penalty_ms=1000.0)
    expected, n_feasible = brute_force(problem)
    without = brute_force(dataclasses.replace(problem, harvest_w=None, battery_j=None))[0]
    assert n_feasible > 0 and expected > without  # the battery binds
    assert solve(problem).objective == pytest.approx(expected, rel=1e-6)


def test_every_solver_keeps_the_batteries_above_empty():
    problem = with_battery(random_problem(5, n_hosts=8, n_demands=12, n_models=2, n_epochs=3, placement="per_epoch",
                                          load=1.2, opening_cost=1e3), energy_j=3_000.0)
    solve_with_every_strategy(problem)


@pytest.mark.parametrize("draw_w,empty", [
    # 60 W throughout (over the battery): the charge is 64.8, 64.8, 28.8, 0, 0 kJ at the boundaries, so
    # epochs 2 and 3 end empty while drawing
    ([60, 60, 60, 60], 2),
    # the sustained budget (60 W, then 64.8 kJ / 1,800 s = 36 W): 64.8, 64.8, 43.2, 21.6, 0 kJ, only epoch 3
    ([60, 36, 36, 36], 1),
    # 36 kJ then 28.8 kJ empty it at the end of epoch 2; epoch 3 draws nothing, so its empty battery binds nothing
    ([60, 60, 48, 0], 1),
    # 30 W in the eclipse leaves 10.8 kJ
    ([60, 30, 30, 30], 0),
])
def test_evaluator_counts_the_epochs_a_battery_ends_empty(draw_w, empty):
    problem = one_satellite()
    share = np.array(draw_w, float) / 60.0 * 1700 / 2000  # of the 2,000 requests/s: 1,700/s is 60 W
    y = np.zeros((4, 1, 2), bool)
    y[:, 0, 0] = share > 0
    report = evaluate(problem, Solution(y, np.stack([share, np.zeros(4)], axis=1)[:, None, :]))
    assert report.power_w[:, 0] == pytest.approx(draw_w)
    assert report.battery_empty_host_epochs == empty
    assert report.summary()["battery_empty_host_epochs"] == empty
