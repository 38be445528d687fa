"""Whether any placement can meet the latency SLOs, from the data alone, before or without a solver.

A solver's `slo_attainment` says what its placement achieved. A planner first asks what any placement
could: one request's latency in a slot (`PlacementProblem.latency_ms`: round trip, transmission, compute at
one accelerator's speed) does not depend on where else models run, so the fastest slots bound every
placement. A demand-epoch's requests can meet the SLO at most in the slots whose latency is within it and
that can carry the demand at all (`carrying_slots`: the model fits, links and compute not zero), each for
at most its reachable share (constraint 12); capacity is left out, so this is an upper bound on SLO
attainment, and a demand below 1 cannot be helped by any solver.

`slo_reach` answers per tier (satellites only, gateways only, cloud only), so a scenario whose SLO no
placement meets says which tier comes closest and what its latency is made of: the round trip, the time to
send the request and response over the path's bottleneck, or the compute.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from placement.problem.spec import HOST_KINDS, PlacementProblem


@dataclasses.dataclass(frozen=True)
class FastestSlot:
    """The fastest slot a demand has in any epoch, and what its latency is made of (ms)."""

    demand: str
    slo_ms: float
    epoch: int
    host: str
    tier: str
    latency_ms: float
    rtt_ms: float
    transmission_ms: float
    compute_ms: float

    def describe(self) -> str:
        return (f"{self.tier} {self.host!r} at {self.latency_ms:.1f} ms (round trip {self.rtt_ms:.1f} + "
                f"transmission {self.transmission_ms:.1f} + compute {self.compute_ms:.1f}) in epoch {self.epoch}")


@dataclasses.dataclass(frozen=True)
class SloReach:
    """attainable [epoch, demand]: the largest share of the demand-epoch's requests any placement can serve
    within the SLO; by_tier {tier: [epoch, demand]} the same with only that tier's hosts; fastest: per demand
    that misses its SLO somewhere, its fastest slot (None when no slot can carry it)."""

    requests: np.ndarray
    attainable: np.ndarray
    by_tier: dict[str, np.ndarray]
    fastest: dict[int, FastestSlot | None]
    demand_name: list[str]
    slo_ms: np.ndarray

    def share(self, attainable: np.ndarray) -> float:
        """Request-weighted share of `attainable` over all demand-epochs (1 with no requests)."""
        total = self.requests.sum()
        return float((self.requests * attainable).sum() / total) if total > 0 else 1.0

    def summary(self) -> dict:
        return {"attainable_share": self.share(self.attainable),
                "by_tier": {tier: self.share(a) for tier, a in self.by_tier.items()},
                "short": self.shortfalls()}

    def shortfalls(self, limit: int = 5) -> list[str]:
        """In words, up to `limit` demands that no placement serves fully within the SLO, most requests
        missed first."""
        missed = (self.requests * (1.0 - self.attainable)).sum(axis=0)
        lines = []
        for d in np.argsort(-missed, kind="stable")[:limit]:
            if missed[d] <= 0:
                break
            share = self.share_of(d)
            fastest = self.fastest[int(d)]
            best = (f"its fastest candidate is {fastest.describe()}" if fastest is not None
                    else "no candidate can carry it (memory, links or compute)")
            tiers = ", ".join(f"{tier} {self.share_of(d, a):.0%}" for tier, a in self.by_tier.items())
            lines.append(f"demand {self.demand_name[d]!r} (SLO {self.slo_ms[d]:g} ms): no placement serves more "
                         f"than {share:.0%} of its requests within it ({tiers} by tier); {best}")
        return lines

    def share_of(self, demand: int, attainable: np.ndarray | None = None) -> float:
        a = self.attainable if attainable is None else attainable
        total = self.requests[:, demand].sum()
        return float((self.requests[:, demand] * a[:, demand]).sum() / total) if total > 0 else 1.0


def slo_reach(problem: PlacementProblem) -> SloReach:
    """The SLO attainment no placement can exceed, overall and per tier (see the module docstring)."""
    p = problem
    host = np.maximum(p.candidate_host, 0)
    latency = p.latency_ms()  # inf on unusable slots
    fits = p.carrying_slots()  # the model fits the host's memory, and the links and compute are not zero
    within = fits & (latency <= p.slo_ms[None, :, None])
    share = p.candidate_share if p.candidate_share is not None else np.ones(latency.shape)
    kind = p.host_kind[host]

    def attainable(slots: np.ndarray) -> np.ndarray:
        return np.minimum(np.where(slots, share, 0.0).sum(axis=2), 1.0)

    overall = attainable(within)
    by_tier = {tier: attainable(within & (kind == k)) for k, tier in enumerate(HOST_KINDS) if (p.host_kind == k).any()}
    requests = p.requests()
    rtt, transmission, compute = p.latency_parts_ms()
    fastest: dict[int, FastestSlot | None] = {}
    for d in np.flatnonzero((requests * (1.0 - overall)).sum(axis=0) > 0):
        ms = np.where(fits[:, d], latency[:, d], np.inf)
        if not np.isfinite(ms).any():
            fastest[int(d)] = None
            continue
        t, k = np.unravel_index(int(np.argmin(ms)), ms.shape)
        h = int(host[t, d, k])
        fastest[int(d)] = FastestSlot(
            demand=p.demand_name[d], slo_ms=float(p.slo_ms[d]), epoch=int(t), host=p.host_name[h],
            tier=HOST_KINDS[p.host_kind[h]], latency_ms=float(ms[t, k]), rtt_ms=float(rtt[t, d, k]),
            transmission_ms=float(transmission[t, d, k]), compute_ms=float(compute[t, d, k]))
    return SloReach(requests=requests, attainable=overall, by_tier=by_tier, fastest=fastest,
                    demand_name=list(p.demand_name), slo_ms=p.slo_ms)
