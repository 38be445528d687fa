"""Baseline placements, the yardsticks the MILP is measured against.

Each is a function `(problem, *, seed=0) -> SolveResult` that works from the candidate slots of each demand
and returns a solution satisfying every constraint (1)-(11) of `placement.solvers.milp` exactly:

  cloud_only       every request to the lowest-latency usable cloud slot with spare capacity (split over
                   the next cloud slots when splittable), the rest unserved.
  nearest_gateway  the downlink-point edge: each demand at the usable gateway slot with the lowest
                   round trip (candidate_rtt_ms), the next gateway when that one's compute, link or memory
                   runs out; what no gateway can take goes to the cloud as in cloud_only, then unserved.
  greedy           demands by decreasing regret (requests x (second-best - best latency)); each served at
                   the usable slot, of any kind, with the lowest cost per request, split over further
                   slots when capacity runs out (not under single_source). A slot whose host lacks the
                   model pays for the new copy (opening cost, and in per_epoch mode the upload's migration
                   cost), spread over the requests it would serve; a share is served only if that cost per
                   request is below the unserved penalty, so every copy and every share lowers the objective.
  random           (`random_feasible`) demands in a random order, each filling random usable slots; a floor.

All four share `Residuals`, which tracks what is left of every limit per (epoch, host) and per
(epoch, site), places copies as they are first used (placement y is exactly the copies some share uses)
and assigns the largest feasible share of a demand to a slot. Demand-epochs with no requests are left
unserved (they cost nothing and need no copy). With `unserved_penalty_ms=None` a baseline that cannot
serve every request returns no solution: INFEASIBLE when a capacity argument (placement.problem.shortfalls)
proves that none exists, NO_SOLUTION when only this heuristic failed.
"""

from __future__ import annotations

import time

import numpy as np

from placement.problem.objective import objective
from placement.problem.shortfalls import shortfalls
from placement.problem.spec import CLOUD, GATEWAY, PlacementProblem, Solution, SolveResult, Status

EPS = 1e-12  # a share below this is not worth a copy; a remainder below it counts as served


class Residuals:
    """What is left of every limit as shares are assigned, and the placement and assignment built so far.

    Per (epoch, host): compute flop/s (min(peak, power x efficiency), constraints 3-4), ingress bits/s net
    of requests and model uploads (6), memory bytes (5); per (epoch, site): access bits/s (7). A copy is
    placed when a slot first serves a share: in fixed mode in every epoch (9), so its memory is taken in
    every epoch; in per_epoch mode in that epoch only, and when the host did not hold the model in the
    previous epoch the upload (8 x model bytes / epoch_s) is taken from the host link of that epoch before
    any request (an earlier placement in the next epoch stops needing its upload, which is given back).
    Only usable slots (10) are offered; under single_source only the whole demand (11).
    """

    def __init__(self, problem: PlacementProblem):
        p = self.problem = problem
        self.fixed = p.placement == "fixed"
        self.compute = p.compute_budget_flops_s().copy()  # [epoch, host] flop/s left
        self.link = 1e9 * np.array(p.link_gbps)  # [epoch, host] bits/s left
        self.site = 1e9 * np.array(p.site_access_gbps)  # [epoch, site] bits/s left
        self.memory = np.tile(p.memory_bytes, (p.n_epochs, 1))  # [epoch, host] bytes left
        self.y = np.zeros((p.n_epochs, p.n_models, p.n_hosts), bool)
        self.x = np.zeros(p.candidate_host.shape)
        self.requests = p.requests()  # [epoch, demand]
        self.remaining = np.where(self.requests > 0, 1.0, 0.0)  # [epoch, demand] share still to serve
        self.usable = p.usable_slots()
        self.latency = p.latency_ms()
        bits = 8.0 * (p.request_bytes + p.response_bytes)
        self.flops_per_share = p.rate_per_s * p.model_flops[p.demand_model][None, :]  # [epoch, demand]
        self.bits_per_share = p.rate_per_s * bits[None, :]  # [epoch, demand]
        self.upload_bps = 8.0 * p.model_memory_bytes[None, :] / p.epoch_s[:, None]  # [epoch, model]

    def _hosts(self, t: int, d: int) -> np.ndarray:
        return np.maximum(self.problem.candidate_host[t, d], 0)

    def _upload(self, t: int, m: int, h: np.ndarray) -> np.ndarray:
        """[len(h)] bits/s a new copy of m on h would upload in epoch t (per_epoch mode, t >= 1)."""
        if self.fixed or t == 0:
            return np.zeros(h.shape)
        return np.where(self.y[t - 1, m, h], 0.0, self.upload_bps[t, m])

    def shares(self, t: int, d: int) -> np.ndarray:
        """[slot] the largest share of demand d's remaining requests in epoch t each slot can take now: 0
        where unusable, where the model is missing and does not fit (or its upload does not), or full;
        under single_source the whole remainder or 0."""
        p = self.problem
        rem = self.remaining[t, d]
        if rem <= 0:
            return np.zeros(p.n_slots)
        h, m = self._hosts(t, d), p.demand_model[d]
        placed = self.y[t, m, h]
        fits = placed | (self.memory[t, h] >= p.model_memory_bytes[m])
        link = self.link[t, h] - np.where(placed, 0.0, self._upload(t, m, h))
        share = np.full(p.n_slots, rem)
        flops, bits = self.flops_per_share[t, d], self.bits_per_share[t, d]
        if flops > 0:
            share = np.minimum(share, self.compute[t, h] / flops)
        if bits > 0:
            share = np.minimum(share, np.minimum(link, self.site[t, p.demand_site[d]]) / bits)
        ok = self.usable[t, d] & fits & (link >= 0) & (share > EPS)
        if p.single_source:
            ok &= share >= rem
        return np.where(ok, share, 0.0)

    def new_copy_cost(self, t: int, d: int) -> np.ndarray:
        """[slot] objective added by placing demand d's model on the slot's host for epoch t (0 if there)."""
        p = self.problem
        h, m = self._hosts(t, d), p.demand_model[d]
        if self.fixed:
            cost = p.n_epochs * p.opening_cost[m, h]
        else:
            gb = p.migration_cost_per_gb * p.model_memory_bytes[m] / 1e9
            upload = (t >= 1) & ~self.y[max(t - 1, 0), m, h]
            saved = (t + 1 < p.n_epochs) & self.y[min(t + 1, p.n_epochs - 1), m, h]  # next epoch's upload
            cost = p.opening_cost[m, h] + gb * (upload.astype(float) - saved)
        return np.where(self.y[t, m, h], 0.0, cost)

    def _place(self, t: int, m: int, h: int) -> None:
        w = self.problem.model_memory_bytes[m]
        if self.fixed:
            self.y[:, m, h] = True
            self.memory[:, h] -= w
            return
        self.y[t, m, h] = True
        self.memory[t, h] -= w
        if t >= 1 and not self.y[t - 1, m, h]:
            self.link[t, h] -= self.upload_bps[t, m]
        if t + 1 < self.problem.n_epochs and self.y[t + 1, m, h]:
            self.link[t + 1, h] += self.upload_bps[t + 1, m]  # that copy is now carried over, not uploaded

    def assign(self, t: int, d: int, k: int, share: float) -> None:
        """Serve `share` (from `shares`, so it fits) of demand d in epoch t at slot k, placing the copy."""
        p = self.problem
        h, m = int(p.candidate_host[t, d, k]), int(p.demand_model[d])
        if not self.y[t, m, h]:
            self._place(t, m, h)
        self.x[t, d, k] += share
        self.remaining[t, d] = max(self.remaining[t, d] - share, 0.0)
        bits = self.bits_per_share[t, d] * share
        self.compute[t, h] -= self.flops_per_share[t, d] * share
        self.link[t, h] -= bits
        self.site[t, p.demand_site[d]] -= bits

    def fill(self, t: int, d: int, order) -> None:
        """Serve demand d in epoch t from the slots in `order`, each taking the largest share it can."""
        order = list(order)
        while order and self.remaining[t, d] > EPS:
            shares = self.shares(t, d)
            order = [k for k in order if shares[k] > 0]
            if order:
                self.assign(t, d, order[0], shares[order[0]])
                order = order[1:]

    def serve_where_it_pays(self, t: int, d: int, horizon: np.ndarray, penalty: float) -> None:
        """Serve demand d in epoch t at its cheapest slot per request, again while some is left: latency
        plus, where the host lacks the model, the new copy's cost spread over `horizon` [slot] requests
        times the share taken; only while that is below `penalty` (so every copy and share pays)."""
        while self.remaining[t, d] > EPS:
            shares = self.shares(t, d)
            ok = shares > 0
            if not ok.any():
                return
            with np.errstate(divide="ignore", invalid="ignore"):
                cost = np.where(ok, self.latency[t, d] + self.new_copy_cost(t, d) / (shares * horizon), np.inf)
            k = int(np.argmin(cost))
            if not cost[k] < penalty:
                return
            self.assign(t, d, k, shares[k])

    def solution(self) -> Solution:
        return Solution(self.y.copy(), self.x.copy())


def _result(name: str, problem: PlacementProblem, res: Residuals, start: float) -> SolveResult:
    if problem.unserved_penalty_ms is not None or not (res.remaining > EPS).any():
        solution = res.solution()
        return SolveResult(name, Status.FEASIBLE, solution, objective=objective(problem, solution),
                           solve_seconds=time.perf_counter() - start)
    return no_solution(name, problem, res.remaining, start)


def no_solution(name: str, problem: PlacementProblem, remaining: np.ndarray, start: float,
                note: str = "") -> SolveResult:
    """A heuristic left requests unserved where every one must be: INFEASIBLE when a capacity argument
    (placement.problem.shortfalls) proves that no solution exists, NO_SOLUTION otherwise."""
    left = remaining > EPS
    t, d = np.argwhere(left)[0]
    proof = shortfalls(problem, limit=1)
    why = (f"proven infeasible: {'; '.join(proof)}" if proof else
           "not proven infeasible: this heuristic found no solution, an exact solver may")
    message = (f"{name} cannot serve every request (unserved_penalty_ms=None): {int(left.sum())} "
               f"demand-epochs left partly unserved, first demand {problem.demand_name[d]!r} in epoch {t}; "
               f"{why}" + (f" ({note})" if note else ""))
    return SolveResult(name, Status.INFEASIBLE if proof else Status.NO_SOLUTION, None,
                       solve_seconds=time.perf_counter() - start, message=message)


def _by_kind(res: Residuals, t: int, d: int, kind: int, key: np.ndarray) -> list[int]:
    """Usable slots of (t, d) on hosts of `kind`, by increasing key."""
    p = res.problem
    host = np.maximum(p.candidate_host[t, d], 0)
    slots = np.flatnonzero(res.usable[t, d] & (p.host_kind[host] == kind))
    return slots[np.argsort(key[slots], kind="stable")].tolist()


def cloud_only(problem: PlacementProblem, *, seed: int = 0) -> SolveResult:
    """Every request to the lowest-latency usable cloud slot with spare capacity; the rest unserved."""
    start = time.perf_counter()
    res = Residuals(problem)
    for t, d in np.argwhere(res.remaining > 0):
        res.fill(t, d, _by_kind(res, t, d, CLOUD, res.latency[t, d]))
    return _result("cloud_only", problem, res, start)


def nearest_gateway(problem: PlacementProblem, *, seed: int = 0) -> SolveResult:
    """Each demand at the usable gateway slot with the lowest round trip, the next gateway when that one's
    capacity or memory runs out; what no gateway takes goes to the cloud as in `cloud_only` (lowest
    latency first), the rest unserved. Satellites are never used."""
    start = time.perf_counter()
    res = Residuals(problem)
    for t, d in np.argwhere(res.remaining > 0):
        gateways = _by_kind(res, t, d, GATEWAY, problem.candidate_rtt_ms[t, d])
        res.fill(t, d, gateways + _by_kind(res, t, d, CLOUD, res.latency[t, d]))
    return _result("nearest_gateway", problem, res, start)


def _regret_order(problem: PlacementProblem, res: Residuals) -> np.ndarray:
    """(epoch, demand) pairs with requests by decreasing requests x (second-best - best latency); a
    demand-epoch with one usable slot has infinite regret (it has no alternative, so it goes first).
    In per_epoch mode epoch by epoch, so each epoch's new copies know the previous epoch's (uploads)."""
    L = np.sort(res.latency, axis=2)
    best = L[:, :, 0]
    second = L[:, :, 1] if L.shape[2] > 1 else np.full(best.shape, np.inf)
    with np.errstate(invalid="ignore"):
        regret = np.where(np.isfinite(best), res.requests * (second - best), -np.inf)
    regret = np.where(np.isnan(regret), np.inf, regret)  # inf x 0 requests is filtered out below
    t, d = np.nonzero(res.remaining > 0)
    keys = (d, -res.requests[t, d], -regret[t, d]) + (() if res.fixed else (t,))
    order = np.lexsort(keys)
    return np.stack([t[order], d[order]], axis=1)


def greedy(problem: PlacementProblem, *, seed: int = 0) -> SolveResult:
    """Demands by decreasing regret, each at its cheapest usable slot of any kind, split when it fills.

    The cost of a slot per request is its latency plus, when its host lacks the model, the new copy's cost
    (opening cost over the epochs it is placed for, and in per_epoch mode the upload's migration cost)
    divided by the requests the copy would serve for this demand: in per_epoch mode this epoch's share, in
    fixed mode that share over every epoch in which the host is a usable candidate of the demand (the copy
    stays for the whole horizon). Requests are served only while that cost is below the unserved penalty
    (always when unserved_penalty_ms is None), so a new copy is placed only where it lowers the objective.
    """
    start = time.perf_counter()
    p = problem
    res = Residuals(p)
    penalty = np.inf if p.unserved_penalty_ms is None else p.unserved_penalty_ms
    for t, d in _regret_order(p, res):
        if res.fixed:  # requests of d over the horizon in epochs where each of this epoch's hosts serves it
            same = (p.candidate_host[:, d, :, None] == p.candidate_host[t, d][None, None, :])
            served_by = (same & res.usable[:, d, :, None]).any(axis=1)  # [epoch, slot]
            horizon = res.requests[:, d] @ served_by
        else:
            horizon = np.full(p.n_slots, res.requests[t, d])
        res.serve_where_it_pays(t, d, horizon, penalty)
    return _result("greedy", p, res, start)


def random_feasible(problem: PlacementProblem, *, seed: int = 0) -> SolveResult:
    """(epoch, demand) pairs in a random order, each filling its usable slots in a random order."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    res = Residuals(problem)
    pairs = np.argwhere(res.remaining > 0)
    for t, d in pairs[rng.permutation(len(pairs))]:
        res.fill(t, d, rng.permutation(np.flatnonzero(res.usable[t, d])))
    return _result("random", problem, res, start)
