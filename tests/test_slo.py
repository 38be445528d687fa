"""`slo_reach`: the SLO attainment no placement can exceed. Checked as a bound (no solver's solution, scored
by the independent evaluator, beats it), as tight (with capacity unlimited, a placement built by hand from
the definition reaches it exactly), per tier, and in words on a problem whose SLO no tier can meet."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from placement import solvers
from placement.evaluation import evaluate
from placement.problem import HOST_KINDS, Solution, random_problem
from placement.problem.slo import slo_reach

SEEDS = range(4)


def tight_slos(problem, quantile: float):
    """The problem with each demand's SLO at a quantile of its usable slots' latencies, so some slots meet
    it and some do not."""
    latency = problem.latency_ms()
    slo = np.array([np.quantile(latency[:, d][np.isfinite(latency[:, d])], quantile)
                    for d in range(problem.n_demands)])
    return dataclasses.replace(problem, slo_ms=slo)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_solution_beats_the_bound(seed):
    problem = tight_slos(random_problem(seed, 12, 10, 3, n_epochs=2, n_slots=5, partial_share=0.4), 0.4)
    reach = slo_reach(problem)
    bound = reach.share(reach.attainable)
    assert 0 < bound < 1
    for strategy in ("milp", "greedy", "nearest_gateway"):
        result = solvers.solve(strategy, problem, seed=seed)
        attained = evaluate(problem, result.solution).slo_attainment
        assert attained <= bound + 1e-9, strategy


@pytest.mark.parametrize("seed", SEEDS)
def test_bound_is_reached_when_capacity_is_unlimited(seed):
    p = random_problem(seed, 12, 10, 3, n_epochs=2, n_slots=5, partial_share=0.4)
    unlimited = dataclasses.replace(
        p, memory_bytes=np.full(p.n_hosts, 1e18), peak_flops_s=np.full(p.n_hosts, 1e30),
        power_budget_w=np.full(p.power_budget_w.shape, np.inf), link_gbps=np.full(p.link_gbps.shape, np.inf),
        site_uplink_gbps=np.full(p.site_uplink_gbps.shape, np.inf),
        site_downlink_gbps=np.full(p.site_downlink_gbps.shape, np.inf))
    problem = tight_slos(unlimited, 0.5)
    # Every model on every host; each demand-epoch filled from its slots within the SLO, each up to its share.
    latency, share = problem.latency_ms(), problem.candidate_share
    x = np.zeros(latency.shape)
    for t, d in np.ndindex(problem.n_epochs, problem.n_demands):
        left = 1.0
        for k in np.flatnonzero(latency[t, d] <= problem.slo_ms[d]):
            x[t, d, k] = min(share[t, d, k], left)
            left -= x[t, d, k]
    solution = Solution(np.ones((problem.n_epochs, problem.n_models, problem.n_hosts), bool), x)
    scored = evaluate(problem, solution)
    assert scored.feasible
    reach = slo_reach(problem)
    assert scored.slo_attainment == pytest.approx(reach.share(reach.attainable), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_tiers_split_the_bound(seed):
    problem = tight_slos(random_problem(seed, 12, 10, 3, n_epochs=2, n_slots=6, partial_share=0.4), 0.6)
    reach = slo_reach(problem)
    present = [tier for k, tier in enumerate(HOST_KINDS) if (problem.host_kind == k).any()]  # no local hosts
    tiers = np.stack([reach.by_tier[tier] for tier in present])
    assert list(reach.by_tier) == present == ["satellite", "gateway", "cloud"]
    assert (tiers <= reach.attainable + 1e-12).all()
    assert (reach.attainable <= tiers.sum(axis=0) + 1e-12).all()  # min(1, sum) of the tiers' sums of shares


def test_an_slo_no_tier_meets_is_explained():
    problem = random_problem(0, 12, 4, 2, n_slots=5)
    rtt, transmission, compute = problem.latency_parts_ms()
    slow = dataclasses.replace(problem, slo_ms=np.full(problem.n_demands, 0.5))  # below any round trip here
    reach = slo_reach(slow)
    summary = reach.summary()
    assert summary["attainable_share"] == 0 and set(summary["by_tier"].values()) == {0.0}
    assert len(summary["short"]) == problem.n_demands
    latency = problem.latency_ms()
    for d, fastest in reach.fastest.items():
        assert fastest.latency_ms == pytest.approx(
            latency[:, d][problem.memory_bytes[np.maximum(problem.candidate_host[:, d], 0)]
                          >= problem.model_memory_bytes[problem.demand_model[d]]].min())
        assert fastest.rtt_ms + fastest.transmission_ms + fastest.compute_ms == pytest.approx(fastest.latency_ms)
        assert f"demand {problem.demand_name[d]!r} (SLO 0.5 ms)" in " ".join(summary["short"])
