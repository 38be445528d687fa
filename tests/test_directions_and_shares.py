"""Requests up, responses down, and hosts reachable for part of an epoch: the site rows (7a) and (7b), the
share bound (12) and the per-direction transmission time, against optima derived by hand, for the MILP, the
Lagrangian bound, the evaluator and the infeasibility report."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from placement.errors import InputError
from placement.evaluation import evaluate
from placement.problem import Solution, Status
from placement.problem.shortfalls import shortfalls
from placement.solvers.lagrangian import ascend, bound
from placement.solvers.milp import solve
from placement.solvers.options import GradientOptions, MilpOptions
from placement.solvers.relaxation import capped_logsumexp, capped_softmax, relax

from placement_instances import tiny, with_fast_satellite

# A vision demand: 1 MB frames up, 1 kB of labels down (8e6 and 8e3 bits). Paths: 8 Gbps up, 8 Mbps down,
# so each direction takes 1 ms: G 20 + 1 + 1 + 10 = 32 ms, C 80 + 1 + 1 + 1 = 83 ms.
VISION = dict(request_bytes=[1e6, 1e6], response_bytes=[1e3, 1e3],
              candidate_up_gbps=[[[8.0, 8.0], [8.0, 8.0]]], candidate_down_gbps=[[[8e-3, 8e-3], [8e-3, 8e-3]]])
# Its mirror, an image generator: 1 kB prompts up at 8 Mbps, 1 MB images down at 8 Gbps; the same 32 and 83 ms.
GENERATOR = dict(request_bytes=[1e3, 1e3], response_bytes=[1e6, 1e6],
                 candidate_up_gbps=[[[8e-3, 8e-3], [8e-3, 8e-3]]], candidate_down_gbps=[[[8.0, 8.0], [8.0, 8.0]]])


@pytest.mark.parametrize("payloads, links, binding, slack", [
    (VISION, dict(site_uplink_gbps=[[0.64]], site_downlink_gbps=[[0.01]]), "uplink", "downlink"),
    (GENERATOR, dict(site_uplink_gbps=[[0.01]], site_downlink_gbps=[[0.64]]), "downlink", "uplink"),
])
def test_one_site_direction_binds_and_leaves_the_derived_share_unserved(payloads, links, binding, slack):
    # The site's terminals carry 0.64 Gbps in the heavy direction: 0.64e9 / 8e6 = 80 requests/s of the 120.
    # The light direction carries 80 x 8e3 = 6.4e5 bit/s of its 1e7: 6.4%, far from binding (it would take
    # 1e7 / 8e3 = 1250 requests/s). G holds 100 requests/s, so all 80 go to G at 32 ms and 40 are unserved
    # at 1000 ms: 80 x 32 + 40 x 1000 = 42560, a third of the requests unserved. (The old single row, request
    # and response bits against one 0.64 Gbps, would have let 0.64e9 / 8.008e6 = 79.92 through.)
    problem = tiny(**payloads, **links)
    result = solve(problem)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(42560.0, rel=1e-9)
    report = evaluate(problem, result.solution)
    assert report.feasible, report.violations
    assert report.unserved_share == pytest.approx(1 / 3, rel=1e-9)
    assert report.served_requests == pytest.approx(80.0, rel=1e-9)
    assert getattr(report, f"site_{binding}_utilization")[0, 0] == pytest.approx(1.0, rel=1e-9)
    assert getattr(report, f"site_{slack}_utilization")[0, 0] == pytest.approx(0.064, rel=1e-9)
    # Every request that is served goes to G, the faster host with room
    assert result.solution.assignment[0, :, 1].sum() == pytest.approx(0.0, abs=1e-9)


def test_transmission_takes_the_request_at_the_up_rate_and_the_response_at_the_down_rate():
    # d0 sends 1 MB (8e6 bits) up at 0.1 Gbps: 80 ms, and gets 100 kB (8e5 bits) back at 1 Gbps: 0.8 ms.
    # At G: 20 ms round trip + 80 + 0.8 + 10 ms compute = 110.8 ms; at C: 80 + 80 + 0.8 + 1 = 161.8 ms.
    # d1 moves nothing: 30 and 81 ms as in tiny().
    slow_up = dict(request_bytes=[1e6, 0.0], response_bytes=[1e5, 0.0],
                   candidate_up_gbps=[[[0.1, 0.1], [1.0, 1.0]]], candidate_down_gbps=[[[1.0, 1.0], [1.0, 1.0]]])
    problem = tiny(**slow_up)
    np.testing.assert_allclose(problem.latency_ms()[0], [[110.8, 161.8], [30.0, 81.0]], rtol=1e-12)
    # The rates swapped: 8e6 bits at 1 Gbps = 8 ms, 8e5 bits at 0.1 Gbps = 8 ms: G 20 + 8 + 8 + 10 = 46 ms
    swapped = tiny(**dict(slow_up, candidate_up_gbps=slow_up["candidate_down_gbps"],
                          candidate_down_gbps=slow_up["candidate_up_gbps"]))
    assert swapped.latency_ms()[0, 0, 0] == pytest.approx(46.0, rel=1e-12)
    # The evaluator scores one request of d0 served at G with it: d0 all at G, d1 all at C
    x = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    report = evaluate(problem, Solution(np.ones((1, 1, 3), bool), x))
    assert report.demand_mean_latency_ms.tolist() == pytest.approx([110.8, 81.0], rel=1e-12)
    assert report.latency_term == pytest.approx(60 * 110.8 + 60 * 81.0, rel=1e-12)


# S is every demand's fastest slot (20 ms) but reachable for 40% of the epoch only.
PARTLY_REACHABLE = dict(candidate_share=[[[1.0, 1.0, 0.4], [1.0, 1.0, 0.4]]])


def test_a_slot_reachable_for_40_percent_serves_40_percent_and_the_rest_goes_to_the_next_slot():
    # Unbounded, S would take 100 requests/s and G 20: 100 x 20 + 20 x 30 = 2600 (test_milp's eclipse case).
    # With (12) each demand sends at most 0.4 x 60 = 24 requests/s to S (48 in all, within S's 100), and the
    # rest, 36 each, to the next slot, G (72 in all, within its 100): 48 x 20 + 72 x 30 = 960 + 2160 = 3120.
    problem = with_fast_satellite(**PARTLY_REACHABLE)
    result = solve(problem)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(3120.0, rel=1e-9)
    np.testing.assert_allclose(result.solution.assignment[0], [[0.6, 0.0, 0.4], [0.6, 0.0, 0.4]], atol=1e-9)
    report = evaluate(problem, result.solution)
    assert report.feasible and report.objective == pytest.approx(3120.0, rel=1e-9)
    # The transport relaxation keeps x <= share: at zero prices each demand fills S to 0.4 and G with the
    # rest, 60 x (0.4 x 20 + 0.6 x 30) = 1560 per demand, 3120: the optimum itself (no capacity binds). Had
    # the bound dropped (12), it would be 120 x 20 = 2400.
    zero = (np.zeros((1, 3)), np.zeros((1, 3)), np.zeros((1, 1)), np.zeros((1, 1)))
    assert bound(problem, *zero) == pytest.approx(3120.0, rel=1e-12)
    prices = ascend(problem)
    assert prices.bound == pytest.approx(3120.0, rel=1e-9)
    assert (prices.x <= problem.candidate_share + 1e-5).all()


def test_under_single_source_a_partly_reachable_slot_serves_nothing():
    # A whole demand cannot be served by a host reachable for 40% of the epoch: S is out, and as in tiny()
    # one demand goes to G and the other to C: 60 x 30 + 60 x 81 = 6660.
    problem = with_fast_satellite(**PARTLY_REACHABLE, single_source=True)
    result = solve(problem)
    assert result.objective == pytest.approx(6660.0, rel=1e-9)
    assert (result.solution.assignment[0, :, 2] == 0).all()
    # CP-SAT too: the binary x of S is held at floor(0.4) = 0, an integral bound. Splittable, x <= 0.4 is
    # not integral data, which CP-SAT would round: refused.
    assert solve(problem, MilpOptions(solver="cp-sat")).objective == pytest.approx(6660.0)
    with pytest.raises(InputError, match="variable bound"):
        solve(with_fast_satellite(**PARTLY_REACHABLE), MilpOptions(solver="cp-sat"))


def test_a_share_of_zero_makes_the_slot_unusable():
    problem = with_fast_satellite(candidate_share=[[[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]])
    assert not problem.usable_slots()[0, :, 2].any()
    assert np.isinf(problem.latency_ms()[0, :, 2]).all()
    # Without S: 4620, tiny()'s optimum
    assert solve(problem).objective == pytest.approx(4620.0, rel=1e-9)


def test_restricting_to_the_candidate_hosts_keeps_the_rates_and_shares_of_each_slot():
    # S (host 2) is no candidate of tiny(): without it the slots, their rates each way and shares are the same
    problem = tiny(**VISION, site_uplink_gbps=[[0.64]], candidate_share=[[[0.5, 1.0], [1.0, 1.0]]])
    alone = problem.restricted_to(problem.candidate_hosts())
    assert alone.n_hosts == 2
    for name in ("candidate_up_gbps", "candidate_down_gbps", "candidate_share", "site_uplink_gbps",
                 "site_downlink_gbps"):
        np.testing.assert_array_equal(getattr(alone, name), getattr(problem, name))
    assert solve(alone).objective == pytest.approx(solve(problem).objective, rel=1e-12)


@pytest.mark.parametrize("share", [-0.1, 1.5, np.nan])
def test_shares_outside_0_1_are_refused(share):
    with pytest.raises(InputError, match="candidate_share"):
        with_fast_satellite(candidate_share=[[[1.0, 1.0, share], [1.0, 1.0, 0.4]]])


def test_shortfalls_name_the_direction_and_the_reach():
    # Every request must be served. The uplink carries 80 of the 120 requests/s (see above): proven infeasible.
    problem = tiny(**VISION, site_uplink_gbps=[[0.64]], site_downlink_gbps=[[0.01]], unserved_penalty_ms=None)
    assert solve(problem).status is Status.INFEASIBLE
    assert shortfalls(problem) == ["site uplink: site 'hub' in epoch 0 needs 0.96 Gbps for its requests, its "
                                   "terminals carry 0.64 Gbps up"]
    # d0 loses its slot on G (padding) and may not use C (in ZA): only S is left, reachable for 40% of the
    # epoch. That is the first reason; its compute follows from it (S offers 0.4 x 6e13 FLOP/s of d0's 6e13).
    reach = with_fast_satellite(**PARTLY_REACHABLE, unserved_penalty_ms=None,
                                candidate_host=[[[-1, 1, 2], [0, 1, 2]]], allowed=[[True, False], [True, True]])
    assert shortfalls(reach) == [
        "reach: demand 'd0' in epoch 0: its candidates are reachable for 0.4 of its requests",
        "compute: demand 'd0' in epoch 0 needs 6e+13 FLOP/s, its candidates offer 2.4e+13"]
    assert solve(reach).status is Status.INFEASIBLE


def test_capped_softmax_holds_shares_at_their_caps_and_is_the_gradient_of_its_value():
    # z = (2, 1, 0): softmax (0.665, 0.245, 0.090). The first is above its cap 0.5: held there. The other
    # two share 0.5 as e : 1, 0.366 and 0.134; the second is above its cap 0.3: held. The third takes the
    # remaining 0.2.
    z, cap = jnp.array([2.0, 1.0, 0.0]), jnp.array([0.5, 0.3, 1.0])
    x = capped_softmax(z, cap)
    np.testing.assert_allclose(x, [0.5, 0.3, 0.2], rtol=1e-12)
    # Its value is the maximum of x.z - sum x log x, attained there; its gradient is x
    entropy = -(x * jnp.log(x)).sum()
    assert capped_logsumexp(z, cap) == pytest.approx(float(x @ z + entropy), rel=1e-12)
    np.testing.assert_allclose(jax.grad(capped_logsumexp)(z, cap), x, rtol=1e-12)
    # Where no cap binds, exactly the softmax and logsumexp (so shares of 1 change nothing, bit for bit)
    batch = jnp.asarray(np.random.default_rng(0).normal(size=(4, 5)))
    for loose in (jnp.ones((4, 5)), jnp.full((4, 5), 0.99)):
        np.testing.assert_array_equal(capped_softmax(batch, loose), jax.nn.softmax(batch, axis=-1))
        np.testing.assert_array_equal(capped_logsumexp(batch, loose), jax.nn.logsumexp(batch, axis=-1))


def test_the_augmented_lagrangian_keeps_each_share_within_its_slot():
    # The instance above: each demand's best is 0.4 at S (its cap) and 0.6 at G. The relaxed shares reach the
    # cap and never pass it, in both phases and every restart.
    problem = with_fast_satellite(**PARTLY_REACHABLE)
    phases, _ = relax(problem, GradientOptions(restarts=4), seed=0)
    for phase in phases:
        on_s = phase["x"][:, 0, :, 2]
        assert (on_s <= 0.4 * (1 + 1e-5)).all()
        np.testing.assert_allclose(on_s, 0.4, rtol=1e-3)
