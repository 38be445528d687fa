"""The gradient heuristic: its solutions pass the evaluator, come within a measured gap of the MILP optimum,
beat greedy, are reproducible from the seed, and the relaxation compiles once per problem shape."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from placement_instances import tiny

from placement.evaluation import evaluate
from placement.problem import Status, random_problem
from placement.solvers import SOLVERS, gradient, relaxation
from placement.solvers.baselines import greedy
from placement.solvers.milp import solve as milp
from placement.solvers.options import GRADIENT_FAST, CopyDualOptions, GradientOptions, MilpOptions

SIZE = (20, 50, 3, 2)  # hosts, demands, models, epochs; HiGHS proves these optimal in about 0.1 s
FAMILIES = {
    # opening (o) and migration per GB (g) costs in units of (all requests x 25 ms) / (models x hosts),
    # so they matter on every instance whatever its traffic
    "fixed": dict(),
    "fixed_opening": dict(o=0.3),
    "per_epoch_migration": dict(placement="per_epoch", o=0.1, g=0.1, load=0.8),
    "single_source": dict(single_source=True, o=0.05),
    "single_source_per_epoch": dict(single_source=True, placement="per_epoch", o=0.05, g=0.05),
    "tight_unserved": dict(load=1.5, o=0.1),
    "must_serve": dict(unserved_penalty_ms=None, load=0.3, o=0.1),
}
# Gap to the MILP optimum, in %, allowed on these instances. Measured on seeds 0 / 1 (default options,
# float32 relaxation, x86 CPU): fixed 0.000 / 0.000, fixed_opening 0.063 / 0.000, per_epoch_migration
# 0.000 / 0.000, single_source 0.000 / 0.000, single_source_per_epoch 0.040 / 0.000, tight_unserved
# 0.000 / 0.035, must_serve 0.000 / 0.000 (greedy: 0.2-10%). Seeds 2-4 reach 0.72% (single_source, seed 3),
# so the bound holds for these seeds, not every instance. The tolerance is the largest measured gap plus
# about 0.4 points: a regression of the relaxation, the repair or the local moves shows, while float32
# differences between machines do not.
TOLERANCE_PCT = 0.5


def instance(family: str, seed: int, size=SIZE):
    kw = dict(FAMILIES[family])
    o, g = kw.pop("o", 0.0), kw.pop("g", 0.0)
    probe = random_problem(seed, *size, n_slots=10, load=kw.get("load", 0.6))
    unit = probe.requests().sum() * 25.0 / (probe.n_models * probe.n_hosts)
    problem = random_problem(seed, *size, n_slots=10, opening_cost=o * unit, migration_cost_per_gb=g * unit, **kw)
    if family == "must_serve":  # wider links, so that every request can be served
        problem = dataclasses.replace(problem, link_gbps=problem.link_gbps * 10,
                                      site_uplink_gbps=problem.site_uplink_gbps * 3,
                                      site_downlink_gbps=problem.site_downlink_gbps * 3)
    return problem


# The path at constellation scale, where the copy prices are skipped (more slots than copies.max_slots)
AT_SCALE = GradientOptions(copies=CopyDualOptions(steps=0))


@functools.lru_cache(maxsize=None)
def solved(family: str, seed: int, options: GradientOptions = GradientOptions()):
    problem = instance(family, seed)
    return problem, gradient.solve(problem, options, seed=0)


@pytest.mark.parametrize("options", [GradientOptions(), AT_SCALE], ids=["default", "at_scale"])
@pytest.mark.parametrize("family", FAMILIES)
def test_feasible_and_near_the_milp_optimum(family, options):
    for seed in (0, 1):
        problem, result = solved(family, seed, options)
        # OPTIMAL where the MILP over the copies the copy prices leave free proved it
        assert result.solver == "gradient" and result.status in (Status.FEASIBLE, Status.OPTIMAL), result.message
        report = evaluate(problem, result.solution)
        assert report.feasible, report.violations[:3]
        assert report.objective == pytest.approx(result.objective, rel=1e-9)
        exact = milp(problem)
        assert exact.status is Status.OPTIMAL
        assert result.objective >= exact.dual_bound * (1 - 1e-6)
        gap_pct = 100 * (result.objective / exact.objective - 1)
        assert gap_pct <= TOLERANCE_PCT, (family, seed, gap_pct, result.message)
        if result.status is Status.OPTIMAL:
            assert gap_pct <= 100 * MilpOptions().relative_gap, (family, seed, gap_pct)
        if problem.unserved_penalty_ms is None:
            assert report.unserved_share <= 1e-9


def test_beats_or_matches_greedy_on_most_seeds():
    # fixed placement with opening costs: greedy pays for copies one demand at a time, 2-7% above optimum
    wins = 0
    for seed in range(5):
        problem, result = solved("fixed_opening", seed)
        wins += result.objective <= greedy(problem).objective * (1 + 1e-9)
    assert wins >= 4


def test_same_seed_same_result_and_one_compilation():
    problem, first = solved("per_epoch_migration", 0, AT_SCALE)
    compiled = relaxation._relax._cache_size()
    again = gradient.solve(problem, AT_SCALE, seed=0)
    np.testing.assert_array_equal(first.solution.assignment, again.solution.assignment)
    np.testing.assert_array_equal(first.solution.placement, again.solution.placement)
    assert again.objective == first.objective
    # Another seed starts from other logits (the solution may or may not differ; the relaxation does)
    other = relaxation.relax(problem, seed=1)[0][0]["x"]
    assert not np.array_equal(other, relaxation.relax(problem, seed=0)[0][0]["x"])
    # Another instance of the same shape, and other schedule values, reuse the compiled relaxation
    options = dataclasses.replace(AT_SCALE, learning_rate=0.05, penalty=(2.0, 500.0), integrality=2.0,
                                  temperature=(1.0, 0.5), improve=False)
    gradient.solve(instance("per_epoch_migration", 1), options, seed=3)
    assert relaxation._relax._cache_size() == compiled


def test_registered_and_infeasible_when_all_must_be_served_but_cannot():
    assert SOLVERS["gradient"].load() is gradient.solve
    # 120 requests/s that must all be served, and only G (100 requests/s) to serve them
    problem = tiny(unserved_penalty_ms=None, candidate_host=[[[0, -1], [0, -1]]])
    result = gradient.solve(problem)
    assert result.status is Status.INFEASIBLE and result.solution is None
    assert "proven infeasible" in result.message


def test_tiny_instance_optimum():
    # Opening G costs 5000 and saves 100 x (81 - 30) = 5100 over all-cloud (test_milp): 4620 + 5000 = 9620
    problem = tiny(opening_cost=[[5000.0, 0.0, 0.0]])
    result = gradient.solve(problem)
    assert evaluate(problem, result.solution).feasible
    assert result.objective == pytest.approx(9620.0)


def test_the_assignment_lp_at_the_final_copies_closes_the_assignment_gap():
    # The optimizer benchmark's smallest instance on which the repaired assignment was furthest from the best
    # one at its own copies (3.5% above the optimum without the LP, 0.000% with it, measured).
    problem = random_problem(2, 20, 50, 3, 2, n_slots=12, placement="per_epoch", opening_cost=1e5,
                             migration_cost_per_gb=1e6, load=0.8)
    fast = dataclasses.replace(GRADIENT_FAST, copies=CopyDualOptions(steps=0))  # the path at scale
    without = gradient.solve(problem, dataclasses.replace(fast, exact_assignment_slots=0))
    result = gradient.solve(problem, fast)
    assert "assignment LP" in result.message and "assignment LP" not in without.message
    assert evaluate(problem, result.solution).feasible
    assert result.objective <= without.objective * (1 + 1e-9)
    assert result.objective <= milp(problem).objective * (1 + 1e-3)
    # The LP keeps the copies it was given, less those it leaves idle
    assert not (result.solution.placement & ~without.solution.placement).any()


def with_idle_hosts(problem, n: int):
    """`problem` with `n` more hosts that no demand has as a candidate (as most of a catalog's satellites)."""
    grow = lambda a, fill: np.concatenate([a, np.full(a.shape[:-1] + (n,), fill, a.dtype)], axis=-1)  # noqa: E731
    return dataclasses.replace(
        problem, host_name=problem.host_name + tuple(f"idle{i}" for i in range(n)),
        host_kind=grow(problem.host_kind, problem.host_kind[0]), host_jurisdiction=grow(problem.host_jurisdiction, 0),
        memory_bytes=grow(problem.memory_bytes, 1e11), peak_flops_s=grow(problem.peak_flops_s, 1e15),
        service_flops_s=grow(problem.service_flops_s, 1e14), flops_per_joule=grow(problem.flops_per_joule, 1e12),
        power_budget_w=grow(problem.power_budget_w, 1e3), link_gbps=grow(problem.link_gbps, 10.0),
        opening_cost=grow(problem.opening_cost, 0.0),
        memory_bandwidth_bytes_s=grow(problem.memory_bandwidth_bytes_s, np.inf),
        batch_size=grow(problem.batch_size, 1), batch_s=grow(problem.batch_s, np.nan))


def test_hosts_no_demand_can_use_change_nothing():
    problem = instance("per_epoch_migration", 0)
    padded = with_idle_hosts(problem, 200)
    np.testing.assert_array_equal(padded.candidate_hosts(), np.arange(problem.n_hosts))
    # The restriction is the original problem again
    restricted = padded.restricted_to(padded.candidate_hosts())
    np.testing.assert_array_equal(restricted.candidate_host, problem.candidate_host)
    assert restricted.host_name == problem.host_name
    alone, among_idle = gradient.solve(problem, GRADIENT_FAST), gradient.solve(padded, GRADIENT_FAST)
    assert among_idle.objective == pytest.approx(alone.objective, rel=1e-12)
    assert "20 of 220 hosts are candidates" in among_idle.message
    assert not among_idle.solution.placement[:, :, problem.n_hosts:].any()
    np.testing.assert_array_equal(among_idle.solution.placement[:, :, :problem.n_hosts], alone.solution.placement)
    assert evaluate(padded, among_idle.solution).objective == pytest.approx(alone.objective, rel=1e-12)
