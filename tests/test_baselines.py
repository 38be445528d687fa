"""The baseline solvers: every solution satisfies constraints (1)-(12) of placement.solvers.milp exactly (an
independent checker below, and the project evaluator), reports its own objective, and each baseline keeps to
its rule (cloud only, no satellites, ...)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from placement.errors import InputError
from placement.evaluation import evaluate
from placement.problem import CLOUD, GATEWAY, SATELLITE, Status, random_problem
from placement.solvers import SOLVERS
from placement.solvers.options import BaselineOptions, MilpOptions
from placement.solvers.residuals import EPS

from placement_instances import tiny

BASELINES = [name for name, strategy in SOLVERS.items() if isinstance(strategy.options, BaselineOptions)]
# The host kinds each baseline may use (the others may use every candidate)
KINDS = {"cloud_only": (CLOUD,), "nearest_gateway": (GATEWAY, CLOUD)}

RTOL = 1e-9
SIZE = dict(n_hosts=30, n_demands=24, n_models=4, n_epochs=4, n_slots=8)
CONFIGS = {
    "fixed": dict(),
    "fixed_opening": dict(opening_cost=2e5),
    "per_epoch": dict(placement="per_epoch", opening_cost=2e5, migration_cost_per_gb=1e5),
    "single_source": dict(single_source=True),
    "single_source_per_epoch": dict(single_source=True, placement="per_epoch", migration_cost_per_gb=1e4),
    "tight": dict(load=1.5),
    "tight_single_source_per_epoch": dict(load=1.5, single_source=True, placement="per_epoch"),
    "partly_reachable": dict(load=1.5, partial_share=0.7, placement="per_epoch", opening_cost=2e5),
    "partly_reachable_single_source": dict(partial_share=0.7, single_source=True),
}


def roomy(problem):
    """The instance with wider host and site links: low load then lets every request be served."""
    return dataclasses.replace(problem, link_gbps=problem.link_gbps * 10,
                               site_uplink_gbps=problem.site_uplink_gbps * 3,
                               site_downlink_gbps=problem.site_downlink_gbps * 3)


def check(problem, solution):
    """Constraint (number) -> largest relative excess over its limit, each left side summed with np.add.at."""
    p = problem
    T, D, K = p.candidate_host.shape
    H, M = p.n_hosts, p.n_models
    x, y = solution.assignment, solution.placement
    assert x.shape == (T, D, K) and y.shape == (T, M, H) and y.dtype == bool
    host = np.maximum(p.candidate_host, 0)
    tt = np.broadcast_to(np.arange(T)[:, None, None], x.shape)
    mm = np.broadcast_to(p.demand_model[None, :, None], x.shape)
    R = p.rate_per_s * p.epoch_s[:, None]
    served = x.sum(axis=2)
    bits = 8.0 * (p.request_bytes + p.response_bytes)
    out = {}

    out["x in [0,1]"] = max(-x.min(), x.max() - 1)
    over = served - 1
    if p.unserved_penalty_ms is None:
        over = np.maximum(over, np.where(R > 0, 1 - served, 0))
    out["(1)"] = over.max()
    out["(2)"] = np.where(~y[tt, mm, host], x, 0).max()
    flops = np.zeros((T, H))
    np.add.at(flops, (tt, host), p.rate_per_s[:, :, None] * p.model_flops[mm] * x)
    out["(3)"] = (flops / p.peak_flops_s - 1).max()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["(4)"] = np.nan_to_num(flops / p.flops_per_joule / p.power_budget_w - 1, nan=-1.0, posinf=1.0).max()
    memory = (y * p.model_memory_bytes[None, :, None]).sum(axis=1)
    out["(5)"] = (memory / p.memory_bytes - 1).max()
    z = np.zeros(y.shape, bool)
    if p.placement == "per_epoch":
        z[1:] = y[1:] & ~y[:-1]
    link = np.zeros((T, H))
    np.add.at(link, (tt, host), p.rate_per_s[:, :, None] * bits[None, :, None] * x)
    link += (z * 8.0 * p.model_memory_bytes[None, :, None] / p.epoch_s[:, None, None]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["(6)"] = np.nan_to_num(link / (1e9 * p.link_gbps) - 1, nan=-1.0, posinf=1.0).max()
        for number, payload_bytes, limit_gbps in (("(7a)", p.request_bytes, p.site_uplink_gbps),
                                                  ("(7b)", p.response_bytes, p.site_downlink_gbps)):
            site = np.zeros(limit_gbps.shape)
            np.add.at(site, (np.arange(T)[:, None], np.broadcast_to(p.demand_site, (T, D))),
                      p.rate_per_s * 8.0 * payload_bytes * served)
            out[number] = np.nan_to_num(site / (1e9 * limit_gbps) - 1, nan=-1.0, posinf=1.0).max()
    out["(9)"] = float(p.placement == "fixed" and (y != y[:1]).any())
    out["(10)"] = np.where(~p.usable_slots(), x, 0).max()
    out["(12)"] = (x - p.candidate_share).max()
    if p.single_source:
        out["(11)"] = max(np.minimum(x, 1 - x).max(), ((x > 0).sum(axis=2) - 1).max())
    # y is exactly the copies used: each placed (epoch, model, host) serves some share (any epoch if fixed)
    used = np.zeros(y.shape, bool)
    np.logical_or.at(used, (tt, mm, host), x > 0)
    if p.placement == "fixed":
        used[:] = used.any(axis=0)
    out["unused copies"] = float((y & ~used).sum())
    return out


def objective(problem, solution):
    p = problem
    x, y = solution.assignment, solution.placement
    R = p.rate_per_s * p.epoch_s[:, None]
    L = p.latency_ms()
    latency = sum(R[t, d] * x[t, d, k] * L[t, d, k] for t, d, k in zip(*np.nonzero(x)))
    unserved = (p.unserved_penalty_ms or 0.0) * (R * np.clip(1 - x.sum(axis=2), 0, 1)).sum()
    opening = (y * p.opening_cost).sum()
    z = (y[1:] & ~y[:-1]) if p.placement == "per_epoch" else np.zeros((0,) + y.shape[1:], bool)
    migration = p.migration_cost_per_gb * (z * p.model_memory_bytes[None, :, None] / 1e9).sum()
    return latency + unserved + opening + migration


def solve(name, problem, seed=0):
    result = SOLVERS[name].solve(problem, seed=seed)
    assert result.solver == name
    assert result.solve_seconds > 0 and np.isnan(result.dual_bound)
    return result


def assert_valid(problem, result):
    assert result.status is Status.FEASIBLE, result.message
    excess = check(problem, result.solution)
    bad = {k: v for k, v in excess.items() if v > RTOL}
    assert not bad, bad
    assert result.objective == pytest.approx(objective(problem, result.solution), rel=RTOL)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", BASELINES)
def test_every_constraint_holds_and_the_objective_is_right(name, config):
    for seed in range(3):
        problem = random_problem(seed, **SIZE, **CONFIGS[config])
        result = solve(name, problem, seed)
        assert_valid(problem, result)
        assert result.solution.assignment.sum() > 0


def only_kinds(problem, kinds):
    """The problem with the candidate slots on hosts of other kinds made padding (InputError when some
    demand is left without a usable candidate in every epoch)."""
    kind = problem.host_kind[np.maximum(problem.candidate_host, 0)]
    return dataclasses.replace(problem, candidate_host=np.where(np.isin(kind, kinds), problem.candidate_host, -1))


def assert_all_served_or_kinds_cannot(name, problem, result):
    """Every request served; or the baseline is held to some host kinds and those cannot serve them all:
    some demand has no candidate of those kinds, or the MILP on them alone proves it infeasible."""
    if result.status is Status.FEASIBLE:
        assert_valid(problem, result)
        R = problem.requests()
        assert (result.solution.assignment.sum(axis=2)[R > 0] >= 1 - EPS).all()
        return
    assert name in KINDS and result.status in (Status.INFEASIBLE, Status.NO_SOLUTION), result.message
    try:
        restricted = only_kinds(problem, KINDS[name])
    except InputError:
        return
    exact = SOLVERS["milp"].solve(restricted, MilpOptions(warm_start="none"))
    assert exact.status is Status.INFEASIBLE, exact.message


@pytest.mark.parametrize("partial_share", [0.0, 0.7])
@pytest.mark.parametrize("name", BASELINES)
def test_everything_served_when_it_must_be_and_can(name, partial_share):
    problem = roomy(random_problem(3, **SIZE, load=0.2, unserved_penalty_ms=None, partial_share=partial_share))
    # An exact solver serves every request with every candidate, so greedy and random must too.
    assert SOLVERS["milp"].solve(problem, MilpOptions(warm_start="none")).status is Status.OPTIMAL
    assert_all_served_or_kinds_cannot(name, problem, solve(name, problem))


@pytest.mark.parametrize("name", list(KINDS))
def test_a_baseline_held_to_some_kinds_fails_only_where_they_cannot_serve(name):
    # The roomy instance with clouds of a tenth of one epoch's compute: neither baseline serves it all.
    problem = roomy(random_problem(3, **SIZE, load=0.2, unserved_penalty_ms=None))
    small = problem.slot_flops_per_s()[:, :, 0].sum(axis=1).max() / 10  # one model per demand here
    peak = np.where(problem.host_kind == CLOUD, small, problem.peak_flops_s)
    problem = dataclasses.replace(problem, peak_flops_s=peak)
    result = solve(name, problem)
    assert result.status is not Status.FEASIBLE
    assert_all_served_or_kinds_cannot(name, problem, result)


@pytest.mark.parametrize("name", BASELINES)
def test_agrees_with_the_evaluator(name):
    for config in ("per_epoch", "tight_single_source_per_epoch", "partly_reachable"):
        problem = random_problem(5, **SIZE, **CONFIGS[config])
        result = solve(name, problem)
        report = evaluate(problem, result.solution)
        assert report.feasible, report.violations
        assert report.objective == pytest.approx(result.objective, rel=RTOL)


def test_per_epoch_uploads_are_exercised():
    """The per_epoch instances re-place copies, so link capacity for uploads is really checked."""
    problem = random_problem(0, **SIZE, **CONFIGS["per_epoch"])
    y = solve("random", problem).solution.placement
    assert (y[1:] & ~y[:-1]).any()


@pytest.mark.parametrize("config", ["fixed", "per_epoch", "tight"])
def test_greedy_beats_random(config):
    wins = 0
    for seed in range(5):
        problem = random_problem(10 + seed, **SIZE, **CONFIGS[config])
        wins += solve("greedy", problem, seed).objective <= solve("random", problem, seed).objective
    assert wins >= 4


def test_greedy_places_no_copy_that_costs_more_than_it_saves():
    """Opening a copy costs more than leaving all its requests unserved: greedy serves nothing."""
    problem = random_problem(0, **SIZE, opening_cost=1e18)
    result = solve("greedy", problem)
    assert_valid(problem, result)
    assert not result.solution.placement.any()
    assert result.objective <= solve("random", problem).objective


def test_cloud_only_uses_only_clouds_and_nearest_gateway_no_satellites():
    for seed in range(3):
        problem = random_problem(seed, **SIZE, **CONFIGS["tight"])
        for name, banned in (("cloud_only", problem.host_kind != CLOUD),
                             ("nearest_gateway", problem.host_kind == SATELLITE)):
            solution = solve(name, problem).solution
            assert not solution.placement[:, :, banned].any(), name
            served_at = problem.candidate_host[solution.assignment > 0]
            assert not banned[served_at].any(), name


def test_nearest_gateway_prefers_gateways_over_the_cloud():
    problem = random_problem(1, **SIZE)
    x = solve("nearest_gateway", problem).solution.assignment
    kind = problem.host_kind[np.maximum(problem.candidate_host, 0)]
    assert x[kind == GATEWAY].sum() > 0 and x[kind == CLOUD].sum() > 0


def test_random_is_seeded():
    problem = random_problem(0, **SIZE)
    a, b, c = (solve("random", problem, seed).solution.assignment for seed in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", BASELINES)
def test_overload_without_unserved_is_infeasible_not_an_error(name):
    # 120 requests/s that must all be served, and only G (100 requests/s) to serve them.
    problem = tiny(unserved_penalty_ms=None, candidate_host=[[[0, -1], [0, -1]]])
    result = solve(name, problem)
    assert result.status is Status.INFEASIBLE and result.solution is None
    assert "proven infeasible" in result.message and name in result.message
