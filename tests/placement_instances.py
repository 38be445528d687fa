"""Hand-made placement instances whose optima are derived in the comments of the tests that use them."""

import numpy as np
import pytest

from placement.problem import CLOUD, GATEWAY, SATELLITE, PlacementProblem


def tiny(**overrides) -> PlacementProblem:
    """One model, a gateway G (host 0), a cloud region C (host 1), a satellite S (host 2, not a candidate
    unless a test gives it slots), two demands of 60 requests/s at one site, one epoch of 1 s.

    Model: 1e12 FLOPs per request, 1 GB. Payloads are 0 bytes, so transmission adds nothing.
    Latency of one request: G: rtt 20 ms + 1e12 / 1e14 s = 20 + 10 = 30 ms; C: 80 + 1e12 / 1e15 s = 81 ms.
    G's whole compute is 1e14 FLOP/s = 100 requests/s; C's is 1e18 (unlimited here).
    """
    fields = dict(
        host_name=["G", "C", "S"], host_kind=[GATEWAY, CLOUD, SATELLITE], host_jurisdiction=[0, 1, 0],
        jurisdictions=["KE", "ZA"], memory_bytes=[2e9, 1e12, 2e9], peak_flops_s=[1e14, 1e18, 1e13],
        service_flops_s=[1e14, 1e15, 1e13], flops_per_joule=[1e12, 1e12, 1e11],
        power_budget_w=[[np.inf, np.inf, 50.0]], link_gbps=[[10.0, 100.0, 1.0]],
        model_name=["m"], model_flops=[1e12], model_memory_bytes=[1e9],
        demand_name=["d0", "d1"], demand_model=[0, 0], demand_site=[0, 0], rate_per_s=[[60.0, 60.0]],
        request_bytes=[0.0, 0.0], response_bytes=[0.0, 0.0], slo_ms=[50.0, 50.0], allowed=[[True, True]] * 2,
        site_name=["hub"], site_uplink_gbps=[[1.0]], site_downlink_gbps=[[1.0]],
        candidate_host=[[[0, 1], [0, 1]]], candidate_rtt_ms=[[[20.0, 80.0], [20.0, 80.0]]],
        candidate_up_gbps=[[[1.0, 1.0], [1.0, 1.0]]], candidate_down_gbps=[[[1.0, 1.0], [1.0, 1.0]]],
        epoch_s=[1.0], opening_cost=[[0.0, 0.0, 0.0]],
        unserved_penalty_ms=1000.0)
    fields.update(overrides)
    return PlacementProblem(**fields)


def with_fast_satellite(**overrides) -> PlacementProblem:
    """tiny() with S as each demand's third slot: rtt 10 ms, peak and one-request speed 1e14 FLOP/s, in
    sunlight (1000 W x 1e11 FLOP/J = 1e14 FLOP/s): 10 + 10 = 20 ms per request, up to 100 requests/s."""
    fields = dict(candidate_host=[[[0, 1, 2], [0, 1, 2]]], candidate_rtt_ms=[[[20.0, 80.0, 10.0]] * 2],
                  candidate_up_gbps=[[[1.0, 1.0, 1.0]] * 2], candidate_down_gbps=[[[1.0, 1.0, 1.0]] * 2],
                  peak_flops_s=[1e14, 1e18, 1e14], service_flops_s=[1e14, 1e15, 1e14],
                  power_budget_w=[[np.inf, np.inf, 1000.0]])
    fields.update(overrides)
    return tiny(**fields)


def solve_with_every_strategy(problem: PlacementProblem, seed: int = 0) -> dict:
    """Every strategy's result on `problem`, each checked by the evaluator: feasible, scored as the solver
    scored itself, and not below the MILP's proven bound."""
    from placement.evaluation.metrics import evaluate
    from placement.solvers import SOLVERS

    results = {name: strategy.solve(problem, seed=seed) for name, strategy in SOLVERS.items()}
    for name, result in results.items():
        report = evaluate(problem, result.solution)
        assert report.feasible, (name, report.violations[:3])
        assert report.objective == pytest.approx(result.objective, rel=1e-5), name
        assert report.objective >= results["milp"].dual_bound * (1 - 1e-6), name
    return results
