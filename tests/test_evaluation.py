"""The evaluator: it scores by hand-checkable arithmetic and flags each constraint kind when planted."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from placement.evaluation import evaluate
from placement.problem import Solution, random_problem
from placement.solvers import SOLVERS
from placement.solvers.options import MilpOptions

from placement_instances import tiny


def solution(problem, x, y):
    T, M, H = problem.n_epochs, problem.n_models, problem.n_hosts
    return Solution(np.broadcast_to(np.asarray(y, bool), (T, M, H)), np.asarray(x, float).reshape(problem.candidate_host.shape))


def test_scores_a_hand_checked_solution():
    problem = tiny()
    # d0 all on G (60 requests/s at 30 ms), d1 half on C (30 at 81 ms) and half unserved (30 x 1000 ms).
    report = evaluate(problem, solution(problem, [[1.0, 0.0], [0.0, 0.5]], [[[1, 1, 0]]]))
    assert report.feasible
    assert report.latency_term == pytest.approx(60 * 30 + 30 * 81)
    assert report.unserved_term == pytest.approx(30 * 1000)
    assert report.mean_latency_ms == pytest.approx((60 * 30 + 30 * 81) / 90)
    assert report.unserved_share == pytest.approx(0.25)
    # SLO 50 ms: the 60 on G meet it, the 30 on C do not, the 30 unserved do not: 60 / 120.
    assert report.slo_attainment == pytest.approx(0.5)
    assert report.demand_unserved_share.tolist() == pytest.approx([0.0, 0.5])
    assert report.demand_p95_latency_ms.tolist() == pytest.approx([30.0, 81.0])
    assert report.compute_utilization[0, 0] == pytest.approx(0.6)  # 60 x 1e12 of 1e14
    # Energy over the 1 s epoch: G 60 x 1e12 FLOP / 1e12 FLOP/J = 60 J, C 30 x 1e12 / 1e12 = 30 J
    assert report.energy_j.tolist() == pytest.approx([0.0, 60.0, 30.0, 0.0])  # satellite, gateway, cloud, local
    assert report.summary()["energy_j_per_request"] == pytest.approx(90.0 / 90)


ALL_ON_G = ([[1.0, 0.0], [1.0, 0.0]], [[[1, 0, 0]]])


@pytest.mark.parametrize("constraint, problem_overrides, x, y", [
    ("(0) share in [0, 1]", {}, [[1.2, 0.0], [0.0, 1.0]], [[[1, 1, 0]]]),
    ("(1) served share", {}, [[0.7, 0.7], [0.0, 1.0]], [[[1, 1, 0]]]),
    ("(1) all requests served", {"unserved_penalty_ms": None}, [[0.5, 0.0], [0.0, 1.0]], [[[1, 1, 0]]]),
    ("(2) served by a placed copy", {}, [[0.0, 1.0], [0.0, 1.0]], [[[1, 0, 0]]]),
    ("(3) compute", {}, *ALL_ON_G),  # 120 requests/s on G, which holds 100
    ("(4) power", {"host_kind": [2, 2, 0], "candidate_host": [[[2, 1], [2, 1]]]},
     [[1.0, 0.0], [0.0, 1.0]], [[[0, 1, 1]]]),  # S: 60 x 1e12 FLOP/s = 600 W > 50 W (and > its peak)
    ("(5) memory", {"model_name": ["a", "b"], "model_flops": [1e12, 1e12], "model_memory_bytes": [1.5e9, 1.5e9],
                    "demand_model": [0, 1], "opening_cost": np.zeros((2, 3))},
     [[0.5, 0.0], [0.5, 0.0]], [[[1, 0, 0], [1, 0, 0]]]),  # two 1.5 GB models on G's 2 GB
    ("(6) host link", {"request_bytes": [1e6, 1e6], "link_gbps": [[0.5, 100.0, 1.0]]},
     *ALL_ON_G),  # 120 x 8 Mbit/s = 0.96 Gbps into G's 0.5
    ("(7a) site uplink", {"request_bytes": [1e6, 1e6], "site_uplink_gbps": [[0.5]]},
     [[0.0, 1.0], [0.0, 1.0]], [[[0, 1, 0]]]),  # 120 x 8 Mbit/s = 0.96 Gbps up the site's 0.5
    ("(7b) site downlink", {"response_bytes": [1e6, 1e6], "site_downlink_gbps": [[0.5]]},
     [[0.0, 1.0], [0.0, 1.0]], [[[0, 1, 0]]]),  # and down
    ("(12) reachable share", {"candidate_share": [[[0.4, 1.0], [1.0, 1.0]]]},
     [[1.0, 0.0], [0.0, 1.0]], [[[1, 1, 0]]]),  # d0 all on G, reachable 40% of the epoch
    ("(10) jurisdiction", {"allowed": [[True, False], [True, True]]},
     [[0.0, 1.0], [0.0, 1.0]], [[[0, 1, 0]]]),  # d0 may only use KE hosts; C is in ZA
    ("(10) padding slot", {"candidate_host": [[[0, -1], [0, 1]]]}, [[0.0, 1.0], [0.0, 1.0]], [[[1, 1, 0]]]),
    ("(11) single source: whole demand", {"single_source": True}, [[0.5, 0.5], [0.0, 1.0]], [[[1, 1, 0]]]),
])
def test_flags_each_planted_violation(constraint, problem_overrides, x, y):
    problem = tiny(**problem_overrides)
    report = evaluate(problem, solution(problem, x, y))
    assert not report.feasible
    kinds = {v.constraint for v in report.violations}
    assert constraint in kinds, kinds
    flagged = next(v for v in report.violations if v.constraint == constraint)
    assert flagged.amount > 0


def test_flags_changed_fixed_placement_and_counts_uploads_per_epoch():
    two_epochs = dict(power_budget_w=[[np.inf, np.inf, 50.0]] * 2, link_gbps=[[10.0, 100.0, 1.0]] * 2,
                      rate_per_s=[[60.0, 60.0]] * 2, site_uplink_gbps=[[1.0]] * 2, site_downlink_gbps=[[1.0]] * 2,
                      candidate_host=[[[0, 1], [0, 1]]] * 2, candidate_rtt_ms=[[[20.0, 80.0]] * 2] * 2,
                      candidate_up_gbps=[[[1.0, 1.0]] * 2] * 2, candidate_down_gbps=[[[1.0, 1.0]] * 2] * 2,
                      epoch_s=[1.0, 1.0])
    x = [[[0.0, 1.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]]
    y = [[[0, 1, 0]], [[1, 1, 0]]]  # G opens in epoch 1
    fixed = tiny(**two_epochs)
    report = evaluate(fixed, Solution(np.array(y, bool), np.array(x)))
    assert {v.constraint for v in report.violations} == {"(9) fixed placement"}
    # Per epoch: uploading the 1 GB model to G in 1 s needs 8 Gbps of G's 10: fine; with 5 Gbps it is not.
    moving = tiny(**two_epochs, placement="per_epoch", migration_cost_per_gb=100.0)
    report = evaluate(moving, Solution(np.array(y, bool), np.array(x)))
    assert report.feasible
    assert report.migration_term == pytest.approx(100.0)
    assert report.link_utilization[1, 0] == pytest.approx(0.8)
    slow = tiny(**{**two_epochs, "link_gbps": [[5.0, 100.0, 1.0]] * 2}, placement="per_epoch")
    assert "(6) host link" in {v.constraint for v in evaluate(slow, Solution(np.array(y, bool), np.array(x))).violations}


# Eight random instances: each new shape compiles the JAX solvers again (about 7 s an instance on 2 cores).
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), hosts=st.integers(2, 12), demands=st.integers(1, 25),
       models=st.integers(1, 3), epochs=st.integers(1, 3), mode=st.sampled_from(["fixed", "per_epoch"]),
       single=st.booleans(), load=st.floats(0.2, 2.0), partial=st.sampled_from([0.0, 0.5, 1.0]))
def test_every_solver_passes_the_evaluator(seed, hosts, demands, models, epochs, mode, single, load, partial):
    # partial: the fraction of satellite slots reachable for only part of their epoch (12)
    problem = random_problem(seed, hosts, demands, models, epochs, placement=mode, single_source=single,
                             load=load, opening_cost=1e4, migration_cost_per_gb=1e6, partial_share=partial)
    options = {"milp": MilpOptions(time_limit_s=5.0)}
    results = {name: strategy.solve(problem, options.get(name), seed=seed) for name, strategy in SOLVERS.items()}
    for name, result in results.items():
        assert result.solution is not None, name
        report = evaluate(problem, result.solution)
        assert report.feasible, (name, report.violations[:3])
        assert report.objective == pytest.approx(result.objective, rel=1e-5), name
        # No solver beats a proven optimum.
        if results["milp"].status.value == "optimal":
            assert report.objective >= results["milp"].dual_bound * (1 - 1e-6), name
