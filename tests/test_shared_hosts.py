"""Regions coupled only through shared cloud hosts (placement.solvers.shared_hosts): the coordinated solve
against the monolithic MILP on small instances where the cloud host alone joins the regions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from placement.evaluation import evaluate
from placement.problem import Status, random_problem
from placement.problem.spec import CLOUD
from placement.solvers import milp
from placement.solvers.options import MilpOptions
from placement.solvers.regions import regions
from placement.solvers.shared_hosts import divide, shared_hosts

EXACT = MilpOptions(warm_start="none", regions=False)
COORDINATED = MilpOptions(warm_start="none", coordinated_hosts=("cloud",))


def joined_by_the_cloud(seed: int, placement: str = "fixed", cloud_scale: float = 1.0, opening: float = 0.0):
    """Even sites see only even satellites and gateways, odd sites odd ones, and every site the cloud hosts:
    one region, two once the cloud hosts link no demands. `cloud_scale` scales the cloud hosts' compute and
    link, `opening` their opening cost (the other hosts' stays 1e5)."""
    problem = random_problem(seed, 16, 40, 3, 2, n_slots=8, placement=placement, opening_cost=1e5,
                             migration_cost_per_gb=1e6 if placement == "per_epoch" else 0.0, load=0.9)
    host = np.maximum(problem.candidate_host, 0)
    cloud = problem.host_kind == CLOUD
    apart = (host % 2 != (problem.demand_site % 2)[None, :, None]) & ~cloud[host]
    scale = np.where(cloud, cloud_scale, 1.0)
    return dataclasses.replace(
        problem, candidate_share=np.where(apart, 0.0, problem.candidate_share),
        peak_flops_s=problem.peak_flops_s * scale, link_gbps=problem.link_gbps * scale[None, :],
        opening_cost=np.where(cloud[None, :], opening, problem.opening_cost))


def cloud_load_share(problem, solution) -> float:
    """Largest share of a cloud host's compute the solution uses in an epoch."""
    cloud = problem.host_kind == CLOUD
    return float((problem.host_flops_s(solution.assignment) / problem.compute_budget_flops_s())[:, cloud].max())


@pytest.mark.parametrize("seed, placement", [(0, "fixed"), (1, "per_epoch")])
def test_an_ample_cloud_gives_the_monolithic_optimum(seed, placement):
    problem = joined_by_the_cloud(seed, placement, cloud_scale=100.0)
    assert len(regions(problem)) == 1
    assert len(regions(problem, apart=shared_hosts(problem, ("cloud",)))) == 2
    whole = milp.solve(problem, EXACT)
    coordinated = milp.solve(problem, COORDINATED)
    assert whole.status is Status.OPTIMAL
    assert "coordinated on" in coordinated.message, coordinated.message
    # Fixed placement: round 0 drops nothing the solution pays, so it is proven; per_epoch: round 0 drops the
    # migration cost (a shared copy's upload could be counted twice), so the bound is below what is paid
    assert (coordinated.status is Status.OPTIMAL) == (placement == "fixed"), coordinated.message
    assert coordinated.objective == pytest.approx(whole.objective, rel=2e-4)
    report = evaluate(problem, coordinated.solution)
    assert report.feasible, report.violations[:3]
    assert report.objective == pytest.approx(coordinated.objective, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 2])
def test_a_tight_cloud_divided_stays_feasible_and_bounded(seed):
    # The cloud host at a hundredth of its compute and link: both regions want more of it than it has, so the
    # round-0 solutions side by side overload it and the division decides
    problem = joined_by_the_cloud(seed, "fixed", cloud_scale=0.01, opening=5e4)
    whole = milp.solve(problem, EXACT)
    coordinated = milp.solve(problem, COORDINATED)
    assert whole.status is Status.OPTIMAL and coordinated.solution is not None, coordinated.message
    report = evaluate(problem, coordinated.solution)
    assert report.feasible, report.violations[:3]
    assert report.objective == pytest.approx(coordinated.objective, rel=1e-9)
    # the bound is a bound, the solution no better than the optimum (both within the MILP's relative gap)
    assert coordinated.dual_bound <= whole.objective * (1 + 1e-4)
    assert coordinated.objective >= whole.objective * (1 - 1e-4)
    assert cloud_load_share(problem, coordinated.solution) <= 1 + 1e-9
    if seed == 0:
        # Here the optimum gives the whole cloud host to one region; the saving-per-need order finds it (a
        # division in proportion to the needs was 17.9% above the optimum)
        assert coordinated.objective == pytest.approx(whole.objective, rel=1e-4)


def test_divide_gives_each_region_its_need_and_never_more_than_the_whole():
    need = np.array([[0.2, 0.9, 0.0, 0.0],
                     [0.3, 0.6, 0.5, 0.0]])
    # Host 0 fits (0.5): each its need and half the rest; host 2 fits with one user: it gets all; host 3
    # nobody needs: halves. Host 1 does not fit (1.5): region 1 saves more per unit of its needs
    # (10 / 1.4 against 5 / 1.1), so it gets its 0.6 whole and region 0 the 0.4 left.
    f = divide(need, np.array([5.0, 10.0]))
    np.testing.assert_allclose(f, [[0.45, 0.4, 0.0, 0.5],
                                   [0.55, 0.6, 1.0, 0.5]])
    assert (f.sum(axis=0) <= 1 + 1e-12).all()
    # a region that cannot do without the shared hosts (saving inf) comes first
    np.testing.assert_allclose(divide(need, np.array([np.inf, 10.0]))[:, 1], [0.9, 0.1])


def test_the_option_reads_from_a_config_and_rejects_unknown_kinds():
    from placement.config import load_config
    from placement.errors import InputError

    quickstart = Path(__file__).resolve().parents[1] / "configs" / "quickstart.toml"
    assert load_config(quickstart, ['solver.milp.coordinated_hosts=["cloud"]']).solver.milp.coordinated_hosts == ("cloud",)
    with pytest.raises(InputError, match="coordinated_hosts"):
        load_config(quickstart, ['solver.milp.coordinated_hosts=["cloud", "moon"]'])
