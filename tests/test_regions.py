"""Decomposition into regions: the regions' optima add up to the monolithic MILP's optimum."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from placement.evaluation import evaluate
from placement.problem import Status, random_problem
from placement.solvers import milp
from placement.solvers.options import MilpOptions
from placement.solvers.regions import regions, solve_by_region, subproblem


def split_in_two(seed: int, placement: str = "per_epoch"):
    """A synthetic instance whose even sites see only even hosts and odd sites only odd ones: two regions."""
    problem = random_problem(seed, 16, 40, 3, 2, n_slots=8, placement=placement, opening_cost=1e5,
                             migration_cost_per_gb=1e6, load=0.9)
    site_parity = problem.demand_site % 2
    host_parity = np.maximum(problem.candidate_host, 0) % 2
    apart = host_parity != site_parity[None, :, None]
    return dataclasses.replace(problem, candidate_share=np.where(apart, 0.0, problem.candidate_share))


@pytest.mark.parametrize("seed, placement", [(0, "per_epoch"), (1, "fixed"), (2, "per_epoch")])
def test_regions_add_up_to_the_monolithic_optimum(seed, placement):
    problem = split_in_two(seed, placement)
    parts = regions(problem)
    assert len(parts) == 2
    assert sorted(np.concatenate(parts).tolist()) == list(range(problem.n_demands))
    for demands in parts:
        assert len(np.unique(problem.demand_site[demands] % 2)) == 1
    whole = milp.solve(problem, MilpOptions(warm_start="none", regions=False))
    by_region = solve_by_region(problem, "milp", MilpOptions(warm_start="none", regions=False), workers=2)
    assert "2 regions" in milp.solve(problem, MilpOptions(warm_start="none")).message  # the default splits
    assert whole.status is Status.OPTIMAL and by_region.status is Status.OPTIMAL, by_region.message
    assert by_region.objective == pytest.approx(whole.objective, rel=2e-4)
    report = evaluate(problem, by_region.solution)
    assert report.feasible, report.violations[:3]
    assert report.objective == pytest.approx(by_region.objective, rel=1e-6)
    assert by_region.dual_bound <= whole.objective * (1 + 1e-6)


def test_one_shared_host_joins_the_regions():
    problem = random_problem(0, 16, 40, 3, 2, n_slots=8, load=0.9)
    site_parity = problem.demand_site % 2
    host = np.maximum(problem.candidate_host, 0)
    apart = (host % 2 != site_parity[None, :, None]) & (host != 1)  # host 1 (odd) stays open to every site
    joined = dataclasses.replace(problem, candidate_share=np.where(apart, 0.0, problem.candidate_share))
    even_sees_host_1 = ((joined.candidate_host == 1) & joined.usable_slots() & (site_parity == 0)[None, :, None]).any()
    assert even_sees_host_1
    assert len(regions(joined)) == 1


def test_subproblem_keeps_the_demands_rows():
    problem = split_in_two(0)
    demands = regions(problem)[1]
    sub = subproblem(problem, demands)
    assert sub.n_demands == len(demands) and sub.n_hosts == problem.n_hosts
    np.testing.assert_array_equal(sub.rate_per_s, problem.rate_per_s[:, demands])
    np.testing.assert_array_equal(sub.candidate_host, problem.candidate_host[:, demands])
    assert sub.demand_name == tuple(problem.demand_name[i] for i in demands)


def test_regions_as_ray_tasks_give_the_same_solution():
    """region_executor 'ray': each region a Ray task on a local instance (started and shut down here), the
    same solution as in this process."""
    ray = pytest.importorskip("ray")
    problem = split_in_two(0)
    options = MilpOptions(warm_start="none")
    here = milp.solve(problem, options)
    try:
        remote = milp.solve(problem, dataclasses.replace(options, region_executor="ray"))
        assert not ray.is_initialized()  # the local instance it started is shut down
    finally:
        ray.shutdown()
    assert "2 regions" in remote.message and remote.status is Status.OPTIMAL
    assert remote.objective == pytest.approx(here.objective, rel=1e-9)
    assert np.array_equal(remote.solution.placement, here.solution.placement)
