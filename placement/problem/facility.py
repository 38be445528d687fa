"""The capacitated facility location problem (CFLP) as a placement problem, and OR-Library's files.

CFLP: open facilities i (fixed cost f_i, capacity s_i) and serve each customer j (demand d_j) from open
facilities at cost c_ij for the whole of j's demand; minimise opening + serving cost. As a placement
problem: one model, one epoch of 1 s, facilities are hosts whose compute is s_i (one FLOP per unit of
demand), customers are demands with rate d_j and one candidate slot per facility whose latency is c_ij / d_j
(so serving share x_ij costs d_j x (c_ij / d_j) x x_ij = c_ij x_ij), f_i is the opening cost. Compute
time, transmission and every other limit are made negligible or unlimited (site links infinite, every
facility reachable all the time: shares 1). Splittable CFLP allows any shares; `single_source=True` is the
single-source variant.

OR-Library (J. E. Beasley, http://people.brunel.ac.uk/~mastjjb/jeb/orlib/capinfo.html) distributes the
cap41-cap134 instances in this layout: "m n", then m lines "capacity fixed_cost", then for each customer
its demand followed by m allocation costs (the cost of serving all of its demand from each facility).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from placement.errors import InputError
from placement.problem.spec import CLOUD, PlacementProblem

NEGLIGIBLE_COMPUTE_FLOPS_S = 1e30  # one-request speed: compute time ~1e-27 ms per request


def facility_location(capacity, fixed_cost, demand, cost, *, single_source: bool = False) -> PlacementProblem:
    """capacity [facility], fixed_cost [facility], demand [customer], cost [customer, facility]."""
    capacity, fixed_cost = np.asarray(capacity, float), np.asarray(fixed_cost, float)
    demand, cost = np.asarray(demand, float), np.asarray(cost, float)
    m, n = len(capacity), len(demand)
    if cost.shape != (n, m):
        raise InputError(f"has shape {cost.shape}", field="cost", expected=f"shape ({n}, {m}): customer x facility")
    if (demand <= 0).any():
        raise InputError("a demand is not positive", field="demand", expected="values > 0")
    return PlacementProblem(
        host_name=[f"facility{i}" for i in range(m)], host_kind=np.full(m, CLOUD), host_jurisdiction=np.zeros(m),
        jurisdictions=["any"], memory_bytes=np.ones(m), peak_flops_s=capacity,
        service_flops_s=np.full(m, NEGLIGIBLE_COMPUTE_FLOPS_S), flops_per_joule=np.ones(m),
        power_budget_w=np.full((1, m), np.inf), link_gbps=np.full((1, m), np.inf),
        model_name=["service"], model_flops=[1.0], model_memory_bytes=[0.0],
        demand_name=[f"customer{j}" for j in range(n)], demand_model=np.zeros(n), demand_site=np.arange(n),
        rate_per_s=demand[None, :], request_bytes=np.zeros(n), response_bytes=np.zeros(n),
        slo_ms=np.full(n, np.inf), allowed=np.ones((n, 1), bool), site_name=[f"customer{j}" for j in range(n)],
        site_uplink_gbps=np.full((1, n), np.inf), site_downlink_gbps=np.full((1, n), np.inf),
        candidate_host=np.broadcast_to(np.arange(m), (1, n, m)), candidate_rtt_ms=(cost / demand[:, None])[None],
        candidate_up_gbps=np.ones((1, n, m)), candidate_down_gbps=np.ones((1, n, m)), epoch_s=[1.0],
        opening_cost=fixed_cost[None, :], unserved_penalty_ms=None, placement="fixed",
        single_source=single_source)


def read_orlib_cap(path: str | Path, *, single_source: bool = False, capacity: float | None = None
                   ) -> PlacementProblem:
    """An OR-Library capacitated warehouse location file (cap41 ... cap134 layout); `capacity` replaces every
    facility's capacity (the capa, capb and capc files are templates for four capacities each)."""
    path = Path(path)
    tokens = path.read_text().split()
    try:
        values = [float(t) for t in tokens]
    except ValueError as e:
        raise InputError(f"not a number: {e}", source=str(path), expected="whitespace-separated numbers") from None
    if len(values) < 2:
        raise InputError("empty file", source=str(path), expected="'m n' then the data")
    m, n = int(values[0]), int(values[1])
    expected = 2 + 2 * m + n * (1 + m)
    if len(values) != expected:
        raise InputError(f"{len(values)} numbers for m={m} facilities and n={n} customers", source=str(path),
                         expected=f"{expected} numbers (2 + 2m + n(1 + m))")
    facilities = np.array(values[2:2 + 2 * m]).reshape(m, 2)
    customers = np.array(values[2 + 2 * m:]).reshape(n, 1 + m)
    capacities = facilities[:, 0] if capacity is None else np.full(m, float(capacity))
    return facility_location(capacities, facilities[:, 1], customers[:, 0], customers[:, 1:],
                             single_source=single_source)
