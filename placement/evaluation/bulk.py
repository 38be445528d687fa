"""What a placement does for the bulk flows of a problem (placement.problem.bulk): the bit rate offered and
carried, the mean latency of a carried chunk, where it went, the gateways it landed at, and the shared links
that bound it.

Pure functions of the problem, a solution and its evaluation; rates are means over the horizon (each epoch
weighted by its length), in Gbps (1e9 bits/s) of chunk payload.
"""

from __future__ import annotations

import numpy as np

from placement.evaluation.metrics import Evaluation
from placement.problem import PlacementProblem, Solution
from placement.problem.bulk import BULK_TASK
from placement.problem.link_rows import LINK_KINDS

# A link loaded to this share of its capacity in some epoch binds: the solvers fill links up to their
# capacity, and the evaluator's tolerance (DEFAULT_TOLERANCE) is far below 1% of it.
BINDING_UTILIZATION = 0.99


def bulk_demands(problem: PlacementProblem) -> np.ndarray:
    """[demand] whether each demand is a bulk flow (its model is a bulk flow's chunk, placement.problem.bulk)."""
    return np.array([problem.model_name[m].startswith(f"{BULK_TASK}-") for m in problem.demand_model], bool)


def bulk_report(problem: PlacementProblem, solution: Solution, evaluation: Evaluation) -> dict:
    """The bulk flows' figures, JSON-ready: offered and carried Gbps, in total and per flow; the carried
    rate no network step overflows ("steady": (16) bounds epoch means, and a flow's landing gateway changes
    between steps); the carried chunks' mean latency; the carried Gbps per destination host and per gateway
    landed at; the binding links (`BINDING_UTILIZATION`) some carried chunk crosses, each with its kind,
    name, utilisation (the epoch mean that (16) bounds, in its busiest epoch) and that of its worst network
    step; and the worst step of any link the flows cross (above 1 where a step overflows)."""
    p = problem
    bulk = bulk_demands(p)
    weight = p.epoch_s / p.epoch_s.sum()  # [epoch] share of the horizon
    x = np.where(p.candidate_host >= 0, np.clip(solution.assignment, 0.0, 1.0), 0.0)[:, bulk]  # [T, B, K]
    gbps = p.rate_per_s[:, bulk] * 8.0 * p.request_bytes[bulk][None, :] / 1e9  # [T, B] offered
    carried = gbps[:, :, None] * x  # [T, B, K]
    flow_offered = weight @ gbps
    flow_carried = np.einsum("t,tbk->b", weight, carried)
    latency = evaluation.demand_mean_latency_ms[bulk]
    served = flow_carried > 0
    mean_ms = float(np.average(latency[served], weights=flow_carried[served])) if served.any() else float("nan")

    host = np.maximum(p.candidate_host[:, bulk], 0)
    per_host = np.bincount(host.ravel(), (weight[:, None, None] * carried).ravel(), p.n_hosts)
    per_link = np.zeros(len(p.link_name))  # carried Gbps crossing each link toward the host
    links = p.candidate_link[:, bulk]
    on = links >= 0
    crossing = weight[:, None, None, None] * carried[..., None] * p.candidate_link_share[:, bulk]  # [T, B, K, L]
    np.add.at(per_link, links[on], crossing[on])
    kinds = np.asarray(p.link_kind)
    receive = kinds == LINK_KINDS.index("gateway-receive")
    peak = evaluation.shared_link_utilization.max(axis=0) if p.link_name else np.zeros(0)
    # (16) bounds epoch means: a link may be over its capacity in single network steps (nan: no steps recorded)
    worst_step = np.fmax.reduce(evaluation.shared_link_peak_utilization, axis=0)  # fmax: skips nan
    binding = np.flatnonzero((peak >= BINDING_UTILIZATION) & (per_link > 0))
    # the sites' terminals (7a) bind too, though no other site shares them
    sources = np.unique(p.demand_site[bulk])
    terminals = evaluation.site_uplink_utilization[:, sources].max(axis=0)
    worst_crossed = float(np.fmax.reduce(worst_step[per_link > 0], initial=np.nan))
    return {
        "offered_gbps": float(flow_offered.sum()), "carried_gbps": float(flow_carried.sum()),
        # the same paths and splits at the constant rate no network step overflows (the horizon's worst step;
        # the requests' share of that step, small next to a flow, counted as the flow's)
        "steady_carried_gbps": float(flow_carried.sum()
                                     / (1.0 if np.isnan(worst_crossed) else max(worst_crossed, 1.0))),
        "carried_share": float(flow_carried.sum() / flow_offered.sum()) if flow_offered.sum() > 0 else float("nan"),
        "mean_latency_ms": mean_ms,
        "crossed_links_worst_step_utilization_max": worst_crossed,
        "flows": [{"name": p.demand_name[d], "offered_gbps": float(o), "carried_gbps": float(c),
                   "mean_latency_ms": float(ms)}
                  for d, o, c, ms in zip(np.flatnonzero(bulk), flow_offered, flow_carried, latency)],
        "destinations_gbps": {p.host_name[h]: float(per_host[h]) for h in np.flatnonzero(per_host > 0)},
        "gateways_gbps": {p.link_name[link]: float(per_link[link])
                          for link in np.flatnonzero(receive & (per_link > 0))},
        "binding_links": [{"kind": LINK_KINDS[kinds[link]], "name": p.link_name[link],
                           "utilization": float(peak[link]), "worst_step_utilization": float(worst_step[link]),
                           "bulk_gbps": float(per_link[link])}
                          for link in binding[np.argsort(-per_link[binding], kind="stable")]]
        + [{"kind": "site-uplink", "name": p.site_name[s], "utilization": float(u), "worst_step_utilization": None,
            "bulk_gbps": float(flow_carried[p.demand_site[bulk] == s].sum())}
           for s, u in zip(sources, terminals) if u >= BINDING_UTILIZATION],
    }
