"""Why a problem cannot be solved: necessary conditions checked from the data, in plain words.

When every request must be served (`unserved_penalty_ms=None`) a solver can only say "infeasible". These
checks name the demand, site or epoch that cannot be served and by how much, so the report says what to
change. They are necessary conditions, not sufficient: a problem can pass them all and still be
infeasible (capacities that only fail jointly); the message then says so.
"""

from __future__ import annotations

import numpy as np

from placement.problem.spec import PlacementProblem

ROUNDING = 1e-9  # relative margin of a proof over a sum of shares (0.3 + 0.7 may fall short of 1 by rounding)


def shortfalls(problem: PlacementProblem, limit: int = 5) -> list[str]:
    """Up to `limit` reasons per kind that demand which must be served cannot be."""
    p = problem
    if p.unserved_penalty_ms is not None:
        return []
    reasons: list[str] = []
    must = p.rate_per_s > 0  # [epoch, demand]
    usable = p.usable_slots()
    host = np.maximum(p.candidate_host, 0)
    t_ix = np.arange(p.n_epochs)[:, None, None]

    def add(kind: str, bad: np.ndarray, text) -> None:
        for i in np.argwhere(bad)[:limit]:
            reasons.append(f"{kind}: {text(*(int(j) for j in i))}")

    name = p.demand_name
    add("no host", must & ~usable.any(axis=2),
        lambda t, d: f"demand {name[d]!r} has no usable candidate in epoch {t}")
    # (12): a slot serves at most its share; under single source (11) only a slot with share 1 serves at all.
    # Sums of shares are compared with a relative margin (ROUNDING): a proof must not come from rounding.
    share = np.where(usable, p.candidate_share, 0.0)
    if p.single_source:
        share = np.floor(share)
    reach = share.sum(axis=2)
    add("reach", must & usable.any(axis=2) & (reach < 1.0 - ROUNDING),
        lambda t, d: f"demand {name[d]!r} in epoch {t}: "
                     + ("no candidate is reachable for the whole epoch, as single_source needs" if p.single_source
                        else f"its candidates are reachable for {reach[t, d]:.3g} of its requests"))
    model_bytes = p.model_memory_bytes[p.candidate_model]  # [T, D, K] of each slot's model
    fits = usable & (p.memory_bytes[host] >= model_bytes)
    add("memory", must & usable.any(axis=2) & ~fits.any(axis=2),
        lambda t, d: f"demand {name[d]!r} in epoch {t}: no candidate has the "
                     f"{model_bytes[t, d].min() / 1e9:.3g} GB its model needs")
    slot_need = p.slot_flops_per_s()  # [T, D, K] with each slot's model
    need = np.where(fits, slot_need, np.inf).min(axis=2)  # with its cheapest model that fits
    need = np.where(np.isfinite(need), need, 0.0)
    # Each slot serves at most its share of the demand (12) and what its host's budget runs of it, as a
    # share of the demand's requests (counting each of a host's models apart: a weaker, still valid test).
    with np.errstate(divide="ignore", invalid="ignore"):
        slot_share = np.where(slot_need > 0, np.minimum(share, p.compute_budget_flops_s()[t_ix, host] / slot_need), share)
    served = np.where(fits, slot_share, 0.0).sum(axis=2)
    offer = need * served
    add("compute", must & fits.any(axis=2) & (served < 1.0 - ROUNDING),
        lambda t, d: f"demand {name[d]!r} in epoch {t} needs {need[t, d]:.3g} FLOP/s, its candidates "
                     f"offer {offer[t, d]:.3g}")
    hosts_used = np.zeros((p.n_epochs, p.n_hosts), bool)
    hosts_used[np.broadcast_to(t_ix, host.shape)[usable], host[usable]] = True
    epoch_need = np.where(must, need, 0.0).sum(axis=1)
    epoch_offer = np.where(hosts_used, p.compute_budget_flops_s(), 0.0).sum(axis=1)
    add("compute", epoch_need > epoch_offer * (1.0 + ROUNDING),
        lambda t: f"epoch {t} needs {epoch_need[t]:.3g} FLOP/s, all usable candidate hosts together offer "
                  f"{epoch_offer[t]:.3g}")
    for direction, way, what, bits_per_s, limit_gbps in (
            ("uplink", "up", "requests", p.request_bits_per_s(), p.site_uplink_gbps),
            ("downlink", "down", "responses", p.response_bits_per_s(), p.site_downlink_gbps)):
        # only demands with no usable local host must cross the site's terminals
        network_only = ~(usable & ~p.via_site()).any(axis=2)
        site_need = np.zeros(limit_gbps.shape)
        np.add.at(site_need, (slice(None), p.demand_site), np.where(network_only, bits_per_s, 0.0) / 1e9)
        add(f"site {direction}", site_need > limit_gbps,
            lambda t, s: f"site {p.site_name[s]!r} in epoch {t} needs {site_need[t, s]:.3g} Gbps for its {what}, "
                         f"its terminals carry {limit_gbps[t, s]:.3g} Gbps {way}")
    return reasons


def explain_infeasible(problem: PlacementProblem) -> str:
    reasons = shortfalls(problem)
    if not reasons:
        return ("no single demand, site or host explains it: the capacities fail jointly; allow unserved "
                "demand (unserved_penalty_ms) to see which requests are left out")
    return "; ".join(reasons)
