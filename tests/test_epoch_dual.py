"""The epochs' Lagrangian decomposition (placement.solvers.epoch_dual) against the whole MILP on small instances
it proves optimal: every bound at or below the optimum, whatever the prices, the rows (17) cutting no optimum,
and the decomposition's answer the whole MILP's."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from placement import solvers
from placement.evaluation import evaluate
from placement.problem.solution import Status
from placement.problem.synthetic import random_problem
from placement.solvers import epoch_dual, milp
from placement.solvers.options import MilpOptions

EXACT = MilpOptions(time_limit_s=60, warm_start="none")


def instance(seed: int, migration_cost_per_gb: float = 1e6) -> object:
    """The optimizer benchmark's synthetic family at a size HiGHS proves in a second; with a dearer upload (2e8
    request-ms a GB, a few percent of the objective) the epochs' own optima move copies the whole optimum keeps."""
    return random_problem(seed, 20, 50, 3, 3, n_slots=12, placement="per_epoch", opening_cost=1e5,
                          migration_cost_per_gb=migration_cost_per_gb, load=0.8)


@pytest.fixture(scope="module")
def optima():
    problems = [instance(seed, cost) for seed in (0, 1) for cost in (1e6, 2e8)]
    return [(p, milp.solve(p, EXACT)) for p in problems]


def test_every_bound_at_or_below_the_optimum(optima):
    rng = np.random.default_rng(0)
    for p, whole in optima:
        assert whole.status is Status.OPTIMAL
        c = p.migration_cost()[None, :, None]
        for scale in (0.0, 0.5, 1.0):  # no prices, random ones, and the most (8) allows: lam = c
            lam = np.zeros((p.n_epochs + 1, p.n_models, p.n_hosts))
            lam[1:-1] = c * (rng.uniform(0, 1, lam[1:-1].shape) if scale == 0.5 else scale)
            found = epoch_dual.dual_round(p, lam, EXACT, 0, time.perf_counter() + 60)
            # the whole MILP's objective is within its relative gap of the optimum, which bounds any valid bound
            assert found.bound <= whole.objective * (1 + 1e-9), (p.migration_cost_per_gb, scale)
            blocks = epoch_dual.dual_round(p, lam, EXACT, 0, time.perf_counter() + 60, block=2)
            assert blocks.bound <= whole.objective * (1 + 1e-9), (p.migration_cost_per_gb, scale)


def test_blocks_bound_at_least_their_epochs_apart(optima):
    # Epochs 0-1 as one block keep their upload rows exact where the epochs apart price them: at the same
    # prices the block's relaxation is the tighter (both solved to optimality here)
    rng = np.random.default_rng(1)
    tight = dataclasses.replace(EXACT, relative_gap=1e-9)
    for p, whole in optima:
        lam = np.zeros((p.n_epochs + 1, p.n_models, p.n_hosts))
        lam[1:-1] = p.migration_cost()[None, :, None] * rng.uniform(0, 1, lam[1:-1].shape)
        apart = epoch_dual.dual_round(p, lam, tight, 0, time.perf_counter() + 60)
        blocks = epoch_dual.dual_round(p, lam, tight, 0, time.perf_counter() + 60, block=2)
        assert apart.bound <= blocks.bound * (1 + 1e-9) and blocks.bound <= whole.objective * (1 + 1e-9)
        assert len(blocks.bounds) == 2 and blocks.placement.shape == (p.n_epochs, p.n_models, p.n_hosts)


def test_the_dearer_uploads_make_the_prices_matter(optima):
    """With uploads a few percent of the objective, pricing them (lam > 0) raises the epochs' bound above the
    bound without prices: the decomposition is not the plain split."""
    p, whole = optima[1]
    plain = epoch_dual.dual_round(p, np.zeros((p.n_epochs + 1, p.n_models, p.n_hosts)), EXACT, 0,
                                  time.perf_counter() + 60)
    decomposed = epoch_dual.solve(p, dataclasses.replace(EXACT, epoch_rounds=8))
    assert plain.bound < decomposed.dual_bound <= whole.objective * (1 + 1e-9)


def test_the_floors_cut_no_optimum(optima):
    for p, whole in optima:
        lam = np.zeros((p.n_epochs + 1, p.n_models, p.n_hosts))
        lam[1:-1] = 0.5 * p.migration_cost()[None, :, None]
        found = epoch_dual.dual_round(p, lam, EXACT, 0, time.perf_counter() + 60)
        floored = milp.solve_priced(p, EXACT, 0, None, floors=(found.prices, found.bounds))
        assert floored.status is Status.OPTIMAL
        assert floored.objective == pytest.approx(whole.objective, rel=2e-4)


def test_the_decomposition_answers_as_the_whole_milp(optima):
    for p, whole in optima:
        result = solvers.solve("milp", p, dataclasses.replace(EXACT, epoch_rounds=8))
        assert result.status is Status.OPTIMAL
        assert result.objective == pytest.approx(whole.objective, rel=2e-4)
        assert result.dual_bound <= result.objective
        report = evaluate(p, result.solution)
        assert report.feasible, report.violations[:3]
        assert report.objective == pytest.approx(result.objective, rel=1e-6)


def test_free_uploads_leave_independent_epochs_proven_in_one_round():
    p = dataclasses.replace(instance(2), migration_cost_per_gb=0.0)
    result = solvers.solve("milp", p, dataclasses.replace(EXACT, epoch_rounds=8))
    assert result.status is Status.OPTIMAL and result.message.startswith("1 epoch-dual rounds")
    assert result.objective == pytest.approx(milp.solve(p, EXACT).objective, rel=2e-4)


def test_only_per_epoch_placement_without_a_battery_separates():
    assert epoch_dual.separable(instance(0))
    assert not epoch_dual.separable(dataclasses.replace(instance(0), placement="fixed"))
    assert not epoch_dual.separable(random_problem(0, 20, 50, 3, 1, placement="per_epoch"))


def test_a_problem_no_placement_serves_is_infeasible_as_for_the_whole_milp():
    p = instance(0)
    p = dataclasses.replace(p, unserved_penalty_ms=None, rate_per_s=p.rate_per_s * 1e3)  # far past every host
    whole = milp.solve(p, EXACT)
    decomposed = solvers.solve("milp", p, dataclasses.replace(EXACT, epoch_rounds=8))
    assert whole.status is Status.INFEASIBLE and decomposed.status is Status.INFEASIBLE
    assert decomposed.solution is None
