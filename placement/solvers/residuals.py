"""Capacity bookkeeping the heuristics share: what is left of every limit as shares and copies are assigned.

`Residuals` tracks, per (epoch, host), compute (constraints 3-4), ingress (6, requests and model uploads)
and memory (5), per (epoch, site) uplink (7a) and downlink (7b), per (epoch, shared link) its capacity (16),
and per slot the share it may still take (12), while a heuristic serves demand-epochs one at a time; it places a copy when a slot first serves a
share, so placement y is exactly the copies some share uses. The baselines build their solutions with it,
the gradient heuristic its per-demand repair. `State` adds what local search needs: giving shares and
copies back, the exact objective of the pieces a move touches (waiting included), and a save/restore of everything a move may
change. `no_solution` is the result of a heuristic that left requests unserved where every one must be
served.
"""

from __future__ import annotations

import time

import numpy as np

from placement.problem.queueing import queue_length, waiting_ms
from placement.problem.shortfalls import shortfalls
from placement.problem.solution import Solution, SolveResult, Status
from placement.problem.spec import PlacementProblem, inverse_limit

EPS = 1e-12  # a share below this is not worth a copy; a remainder below it counts as served
BISECTIONS = 40  # halvings of the largest share within the SLO's slack (18): 1e-12 of the share


class Residuals:
    """What is left of every limit as shares are assigned, and the placement and assignment built so far.

    Per (epoch, host): compute flop/s (min(peak, power x efficiency), constraints 3-4; with a battery, the
    sustained budget that keeps it above empty whatever other epochs use, 14), ingress bits/s net
    of requests and model uploads (6), memory bytes (5); per (epoch, site): uplink bits/s net of the
    requests (7a), downlink bits/s net of the responses (7b); per (epoch, shared link): bits/s net of
    the requests and responses crossing it (16); per slot: its share (12) less what it serves. A copy is placed when a slot first serves a share: in fixed mode in every epoch (9), so its
    memory is taken in every epoch; in per_epoch mode in that epoch only, and when the host did not hold
    the model in the previous epoch the upload (8 x model bytes / epoch_s) is taken from the host link of
    that epoch before any request (an earlier placement in the next epoch stops needing its upload, which
    is given back).
    Only usable slots (10) are offered; under single_source only the whole demand (11).
    """

    def __init__(self, problem: PlacementProblem):
        p = self.problem = problem
        self.fixed = p.placement == "fixed"
        self.compute = p.sustained_budget_flops_s()  # [epoch, host] flop/s left (batteries kept above empty)
        self.link = p.link_bps()  # [epoch, host] bits/s left
        self.uplink = p.site_uplink_bps()  # [epoch, site] bits/s left up
        self.downlink = p.site_downlink_bps()  # [epoch, site] bits/s left down
        self.shared = p.network_link_bps().ravel()  # [epoch x link] bits/s left on each shared link (16)
        self.shared_row, self.shared_per_share = p.link_terms()  # [epoch, demand, slot, 2L] rows (-1 none), bits/s
        self.memory = np.tile(p.memory_bytes, (p.n_epochs, 1))  # [epoch, host] bytes left
        self.y = np.zeros((p.n_epochs, p.n_models, p.n_hosts), bool)
        self.x = np.zeros(p.candidate_host.shape)
        self.requests = p.requests()  # [epoch, demand]
        self.remaining = np.where(self.requests > 0, 1.0, 0.0)  # [epoch, demand] share still to serve
        self.usable = p.usable_slots()
        self.latency = p.slot_cost_ms()  # latency, with the SLO penalty where one is set
        self.host = np.maximum(p.candidate_host, 0)  # [epoch, demand, slot] (padding as host 0, never usable)
        self.via = p.via_site()  # [epoch, demand, slot] crosses the site's terminals (not a local host)
        self.group = p.host_group()  # [epoch, demand, slot] the first slot of the same host
        self.flops_per_share = p.slot_flops_per_s()  # [epoch, demand, slot] with the slot's model
        self.bits_per_share = p.bits_per_s()  # [epoch, demand] through the host link
        self.up_per_share = p.request_bits_per_s()  # [epoch, demand] through the site uplink
        self.down_per_share = p.response_bits_per_s()  # [epoch, demand] through the site downlink
        self.upload_bps = p.upload_bps()  # [epoch, model]
        self.upload_cost = p.migration_cost()  # [model] request-ms per upload
        self.budget = p.sustained_budget_flops_s()  # what `compute` counts down from
        self.per_capacity = inverse_limit(p.compute_capacity_flops_s())  # load -> utilisation
        self.chords = p.waiting_chords()
        # (18): with queueing under slo_mode 'constraint', per (epoch, host) the requests/s it serves and the
        # smallest slack (SLO less latency before waiting, ms) of the slots it serves; None otherwise
        self.slack = p.slo_slack_ms() if p.slo_counts_waiting else None
        self.arrivals = np.zeros((p.n_epochs, p.n_hosts))
        self.tightest = np.full((p.n_epochs, p.n_hosts), np.inf)

    def _upload(self, t: int, m: int, h: np.ndarray) -> np.ndarray:
        """[len(h)] bits/s a new copy of m on h would upload in epoch t (per_epoch mode, t >= 1)."""
        if self.fixed or t == 0:
            return np.zeros(h.shape)
        return np.where(self.y[t - 1, m, h], 0.0, self.upload_bps[t, m])

    def shares(self, t: int, d: int) -> np.ndarray:
        """[slot] the largest share of demand d's remaining requests in epoch t each slot can take now: 0
        where unusable, where the model is missing and does not fit (or its upload does not), or full; at
        most the slot's candidate_share less what it already serves (12); under single_source the whole
        remainder or 0."""
        p = self.problem
        rem = self.remaining[t, d]
        if rem <= 0:
            return np.zeros(p.n_slots)
        h, m = self.host[t, d], p.candidate_model[t, d]
        placed = self.y[t, m, h]
        fits = placed | (self.memory[t, h] >= p.model_memory_bytes[m])
        link = self.link[t, h] - np.where(placed, 0.0, self._upload(t, m, h))
        group = self.group[t, d]  # a host's slots (one per model) share its reachable share (12)
        share = np.minimum(rem, p.candidate_share[t, d] - np.bincount(group, self.x[t, d], p.n_slots)[group])
        s = p.demand_site[d]
        for room, per_share, applies in ((self.compute[t, h], self.flops_per_share[t, d], True),
                                         (link, self.bits_per_share[t, d], True),
                                         (self.uplink[t, s], self.up_per_share[t, d], self.via[t, d]),
                                         (self.downlink[t, s], self.down_per_share[t, d], self.via[t, d])):
            loads = applies & (per_share > 0)  # per slot: the compute load is the slot's model's
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(loads, np.minimum(share, room / np.where(loads, per_share, 1.0)), share)
        row, per_share = self.shared_row[t, d], self.shared_per_share[t, d]  # [slot, 2L]
        loads = (row >= 0) & (per_share > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(loads, self.shared[np.maximum(row, 0)] / np.where(loads, per_share, 1.0), np.inf)
        share = np.minimum(share, room.min(axis=1, initial=np.inf))
        if self.slack is not None:
            share = self._within_slo(t, d, h, share)
        ok = self.usable[t, d] & fits & (link >= 0) & (share > EPS)
        if p.single_source:
            ok &= share >= rem
        return np.where(ok, share, 0.0)

    def _within_slo(self, t: int, d: int, h: np.ndarray, share: np.ndarray) -> np.ndarray:
        """[slot] at most `share`, the largest share after which the mean wait at the slot's host (`waiting_ms`
        of its queue and arrivals) is within the slack of every slot the host serves and of this one (18).
        The excess wait less slack is convex in the share (the queue is convex in the load, the slack times
        the arrivals linear), so where the host is within it now the shares that keep it so are an interval
        from 0, found by bisection; a host already past this slot's slack offers 0."""
        rate = self.problem.rate_per_s[t, d]
        if rate <= 0:
            return share
        slack = np.minimum(self.slack[t, d], self.tightest[t, h])
        per, flops = self.per_capacity[t, h], self.flops_per_share[t, d]
        with np.errstate(invalid="ignore"):  # an unlimited host (per = 0) has no queue: its inf - inf is unused
            load = np.where(per > 0, self.budget[t, h] - self.compute[t, h], 0.0)
        intercept, slope = self.chords[0][h], self.chords[1][h]

        def excess(a):
            rho = np.where(per > 0, (load + a * flops) * per, 0.0)
            return waiting_ms(queue_length(rho, intercept, slope), self.arrivals[t, h] + a * rate) - slack

        low, high = np.zeros_like(share), np.where(excess(np.zeros_like(share)) <= 0, share, 0.0)
        whole = excess(high) <= 0
        for _ in range(BISECTIONS):
            middle = 0.5 * (low + high)
            fits = excess(middle) <= 0
            low, high = np.where(fits, middle, low), np.where(fits, high, middle)
        return np.where(whole, high, low)

    def new_copy_cost(self, t: int, d: int) -> np.ndarray:
        """[slot] objective added by placing the slot's model on its host for epoch t (0 if there)."""
        p = self.problem
        h, m = self.host[t, d], p.candidate_model[t, d]
        if self.fixed:
            cost = p.n_epochs * p.opening_cost[m, h]
        else:
            upload = (t >= 1) & ~self.y[max(t - 1, 0), m, h]
            saved = (t + 1 < p.n_epochs) & self.y[min(t + 1, p.n_epochs - 1), m, h]  # next epoch's upload
            cost = p.opening_cost[m, h] + self.upload_cost[m] * (upload.astype(float) - saved)
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
        h, m = int(p.candidate_host[t, d, k]), int(p.candidate_model[t, d, k])
        if not self.y[t, m, h]:
            self._place(t, m, h)
        self.x[t, d, k] += share
        self.remaining[t, d] = max(self.remaining[t, d] - share, 0.0)
        self.compute[t, h] -= self.flops_per_share[t, d, k] * share
        self.link[t, h] -= self.bits_per_share[t, d] * share
        if self.via[t, d, k]:
            self.uplink[t, p.demand_site[d]] -= self.up_per_share[t, d] * share
            self.downlink[t, p.demand_site[d]] -= self.down_per_share[t, d] * share
        self._take_shared(self.shared_row[t, d, k], self.shared_per_share[t, d, k] * share)
        if self.slack is not None:
            self.arrivals[t, h] += p.rate_per_s[t, d] * share
            self.tightest[t, h] = min(self.tightest[t, h], self.slack[t, d, k])

    def _take_shared(self, rows: np.ndarray, bits: np.ndarray) -> None:
        """Take `bits` [n] bits/s from the shared links' rows [n] (-1: none)."""
        on = rows >= 0
        np.subtract.at(self.shared, rows[on], bits[on])

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

    def complete(self) -> bool:
        """Every request served, where that is required (unserved_penalty_ms=None)."""
        return self.problem.unserved_penalty_ms is not None or not (self.remaining > EPS).any()

    def solution(self) -> Solution:
        return Solution(self.y.copy(), self.x.copy())


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


def within_slo(state: State) -> State:
    """`state` with (18) made to hold where a solver that does not see it (the vectorized repair, an LP's
    shares) left a host waiting longer than the slack of a slot it serves: each such host gives up its slots
    of the smallest slack, round after round until every slot it still serves is within its slack (each
    round frees one slack level at least, so the rounds end); the requests given up are then served again
    where they fit and pay (`serve_where_it_pays`, which keeps (18)). `state` itself where nothing waits
    too long."""
    p = state.problem
    if state.slack is None:
        return state
    x = state.x.copy()
    T, H = p.n_epochs, p.n_hosts
    row = np.arange(T)[:, None, None] * H + state.host
    shed = False
    while True:
        load = np.bincount(row.ravel(), (x * state.flops_per_share).ravel(), T * H).reshape(T, H)
        arrivals = np.bincount(row.ravel(), (x * p.rate_per_s[:, :, None]).ravel(), T * H).reshape(T, H)
        rho = np.where(state.per_capacity > 0, load * state.per_capacity, 0.0)
        wait = waiting_ms(queue_length(rho, *state.chords), arrivals)
        used = x > 0
        late = used & (wait.ravel()[row] > state.slack)
        if not late.any():
            break
        tightest = np.full(T * H, np.inf)
        np.minimum.at(tightest, row[used], state.slack[used])
        late_host = np.zeros(T * H, bool)
        late_host[row[late]] = True
        x[used & late_host[row] & (state.slack <= tightest[row])] = 0.0
        shed = True
    if not shed:
        return state
    state = State.of(p, Solution(state.y, x))
    penalty = np.inf if p.unserved_penalty_ms is None else p.unserved_penalty_ms
    for t, d in np.argwhere(state.remaining > EPS):
        state.serve_where_it_pays(t, d, np.full(p.n_slots, state.requests[t, d]), penalty)
    return state


def uploads_bps(problem: PlacementProblem, y: np.ndarray) -> np.ndarray:
    """[T, H] bits/s the copies new in each epoch upload over the host link (per_epoch placement, t >= 1)."""
    p = problem
    if p.placement == "fixed" or p.n_epochs == 1:
        return np.zeros((p.n_epochs, p.n_hosts))
    new = y[1:] & ~y[:-1]  # [T - 1, M, H]
    return np.concatenate([np.zeros((1, p.n_hosts)), (new * p.upload_bps()[1:, :, None]).sum(axis=1)])


class State(Residuals):
    """`Residuals` that can also give shares and copies back (for local moves), and be saved and restored."""

    _LIMITS = ("compute", "link", "uplink", "downlink", "shared", "memory", "y", "arrivals", "tightest")

    def __init__(self, problem: PlacementProblem):
        super().__init__(problem)
        p = problem
        self.penalty = p.unserved_penalty_ms
        self.model = p.candidate_model  # [epoch, demand, slot]
        self.slack_link = 1e-9 * np.where(np.isfinite(self.link), np.abs(self.link), 0.0)
        self.slack_memory = 1e-9 * np.abs(self.memory)

    @classmethod
    def of(cls, problem: PlacementProblem, solution: Solution) -> State:
        """The state of a complete solution: its copies, shares and what they leave of every limit."""
        p = problem
        state = cls(p)
        state.y, state.x = solution.placement.copy(), solution.assignment.copy()
        T, H, S = p.n_epochs, p.n_hosts, p.site_uplink_gbps.shape[1]
        row = np.arange(T)[:, None, None] * H + state.host
        state.compute -= np.bincount(row.ravel(), (state.x * state.flops_per_share).ravel(), T * H).reshape(T, H)
        state.link -= np.bincount(row.ravel(), (state.x * state.bits_per_share[:, :, None]).ravel(), T * H).reshape(T, H)
        state.link -= uploads_bps(p, state.y)
        site_row = np.arange(T)[:, None] * S + p.demand_site[None, :]
        served = (state.x * state.via).sum(axis=2)  # through the site's terminals
        state.uplink -= np.bincount(site_row.ravel(), (served * state.up_per_share).ravel(), T * S).reshape(T, S)
        state.downlink -= np.bincount(site_row.ravel(), (served * state.down_per_share).ravel(), T * S).reshape(T, S)
        state._take_shared(state.shared_row.ravel(), (state.x[..., None] * state.shared_per_share).ravel())
        state.memory -= (state.y * p.model_memory_bytes[None, :, None]).sum(axis=1)
        state.remaining = np.where(state.requests > 0, np.maximum(1.0 - state.x.sum(axis=2), 0.0), 0.0)
        if state.slack is not None:
            state.arrivals = np.bincount(row.ravel(), (state.x * p.rate_per_s[:, :, None]).ravel(), T * H).reshape(T, H)
            for t in range(T):
                state._tighten(t)
        return state

    def _tighten(self, t: int) -> None:
        """The smallest slack of the slots each host serves in epoch t, from the shares (18)."""
        used = self.x[t] > 0
        self.tightest[t] = np.inf
        np.minimum.at(self.tightest[t], self.host[t][used], self.slack[t][used])

    def save(self, demands=None) -> tuple:
        """What `restore` needs to undo a change: the limits and copies, and the shares of `demands`
        ((epoch, demand) pairs; all when None), the only ones the change may touch."""
        limits = tuple(getattr(self, a).copy() for a in self._LIMITS)
        if demands is None:
            return limits, None, self.x.copy(), self.remaining.copy()
        index = tuple(np.asarray(demands, int).reshape(-1, 2).T)
        return limits, index, self.x[index], self.remaining[index]

    def restore(self, saved: tuple) -> None:
        limits, index, x, remaining = saved
        for a, v in zip(self._LIMITS, limits):
            setattr(self, a, v)
        if index is None:
            self.x, self.remaining = x.copy(), remaining.copy()
        else:
            self.x[index], self.remaining[index] = x, remaining

    def release(self, t: int, d: int) -> None:
        """Give back every share of demand d in epoch t (copies stay)."""
        p = self.problem
        x = self.x[t, d]
        h = self.host[t, d]
        used = x > 0
        np.add.at(self.compute[t], h[used], self.flops_per_share[t, d][used] * x[used])
        np.add.at(self.link[t], h[used], self.bits_per_share[t, d] * x[used])
        through_site = x[used & self.via[t, d]].sum()
        self.uplink[t, p.demand_site[d]] += self.up_per_share[t, d] * through_site
        self.downlink[t, p.demand_site[d]] += self.down_per_share[t, d] * through_site
        self._take_shared(self.shared_row[t, d].ravel(), -(x[:, None] * self.shared_per_share[t, d]).ravel())
        if self.slack is not None:
            np.subtract.at(self.arrivals[t], h[used], p.rate_per_s[t, d] * x[used])
        self.x[t, d] = 0.0
        self.remaining[t, d] = 1.0 if self.requests[t, d] > 0 else 0.0
        if self.slack is not None:
            self._tighten(t)

    def unplace(self, t: int, m: int, h: int) -> None:
        """Remove copy (m, h) in epoch t (in every epoch in fixed placement); its shares must be released.
        In per_epoch mode the next epoch's copy, if any, now needs an upload: the link may go negative,
        which `ok` reports."""
        w = self.problem.model_memory_bytes[m]
        if self.fixed:
            self.y[:, m, h] = False
            self.memory[:, h] += w
            return
        self.y[t, m, h] = False
        self.memory[t, h] += w
        if t >= 1 and not self.y[t - 1, m, h]:
            self.link[t, h] += self.upload_bps[t, m]
        if t + 1 < self.problem.n_epochs and self.y[t + 1, m, h]:
            self.link[t + 1, h] -= self.upload_bps[t + 1, m]

    def ok(self) -> bool:
        """Links and memory within their limits (up to rounding of the running sums)."""
        return bool((self.link >= -self.slack_link).all() and (self.memory >= -self.slack_memory).all())

    # Exact objective pieces
    def waiting_cost(self, rows: np.ndarray) -> float:
        """Waiting terms (13) of the (epoch, host) rows (flat epoch x n_hosts + host), request-ms."""
        p = self.problem
        if not p.queueing:
            return 0.0
        t, h = np.divmod(np.unique(rows), p.n_hosts)
        unlimited = self.per_capacity[t, h] == 0  # inf - inf: no utilisation, no queue
        rho = np.where(unlimited, 0.0, (self.budget[t, h] - self.compute[t, h]) * self.per_capacity[t, h])
        intercept, slope = self.chords
        return float((1e3 * p.epoch_s[t] * queue_length(rho, intercept[h], slope[h])).sum())

    def demand_cost(self, t: int, d: int) -> float:
        """Latency and unserved terms of demand d in epoch t (inf if unserved requests are not allowed)."""
        x = self.x[t, d]
        used = x > 0
        cost = self.requests[t, d] * float((self.latency[t, d][used] * x[used]).sum())
        if self.penalty is None:
            return np.inf if self.remaining[t, d] > EPS else cost
        return cost + self.penalty * self.requests[t, d] * max(1.0 - x.sum(), 0.0)

    def copy_cost(self, m: int, h: int) -> float:
        """Opening and migration terms of model m on host h over the horizon."""
        p = self.problem
        y = self.y[:, m, h]
        cost = p.opening_cost[m, h] * y.sum()
        if not self.fixed:
            cost += self.upload_cost[m] * (y[1:] & ~y[:-1]).sum()
        return float(cost)

    def placed_slots(self, t: int, d: int) -> np.ndarray:
        """Usable slots of (t, d) whose copy is placed, by increasing latency."""
        k = np.flatnonzero(self.usable[t, d] & self.y[t, self.model[t, d], self.host[t, d]])
        return k[np.argsort(self.latency[t, d][k], kind="stable")]

    def demand_order(self, keys: np.ndarray) -> np.ndarray:
        """(epoch, demand) pairs with requests by decreasing `keys` [epoch, demand]; epoch by epoch in
        per_epoch placement (each epoch's copies then know the previous epoch's)."""
        t, d = np.nonzero(self.requests > 0)
        order = np.lexsort((-keys[t, d],) + (() if self.fixed else (t,)))
        return np.stack([t[order], d[order]], axis=1)
