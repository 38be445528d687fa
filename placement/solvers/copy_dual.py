"""Lagrangian relaxation of the demand rows: a knapsack per copy, a certified bound, and copies fixed by it.

`placement.solvers.lagrangian` prices the capacity rows and drops the copies, so its bound never sees an
opening cost. This relaxation keeps the copies and prices instead each demand-epoch's row (1) with a price
mu[t,d] per request (request-ms). Drop from the MILP of `placement.solvers.milp` what only adds cost or
removes options: migration (8) and waiting (13) (costs >= 0), memory (5), the site rows (7a-b), the shared
links (16), the host-share rows (12) over several models, the battery (14). Keep each copy's capacity row (15) and each slot's share
bound a. What is left separates by placement variable y (a copy (t, m, h), or (m, h) over every epoch in
fixed placement):

    L(mu) = sum_{t,d} R mu  +  sum_{t,d} R min(0, P - mu)  +  sum_y min(0, v_y(mu))
    v_y(mu) = f_y + sum over its epochs t of  min { sum_k R (c_k - mu) x_k : sum_k w_k x_k <= 1, 0 <= x_k <= a_k }

(the second term only where requests may go unserved, P = unserved_penalty_ms; c_k the slot's cost per
request, `slot_cost_ms`; w_k the share of the host's compute, or of its link where that is the tighter of the
two over the copy's slots, that slot takes with the whole demand; f_y the copy's opening cost). Each inner
minimum is a continuous knapsack: slots with c_k < mu by increasing R (c_k - mu) / w_k until the capacity
is full. L(mu) <= optimum for every mu (weak duality, every dropped row a relaxation), and on the
capacitated facility location problem its maximum is the textbook strong LP bound.

The prices follow the subgradient g = R (1 - u - sum_k x_k) with Polyak's step theta (UB - L) / |g|^2, theta
halved when the bound stalls (Held, Wolfe and Crowder 1974; Beasley 1993, "Lagrangean relaxation", in
Modern Heuristic Techniques for Combinatorial Problems). Reduced-cost fixing (the same sources): forcing
y open raises the bound by max(0, v_y), forcing it closed by max(0, -v_y); where that rise takes L above the
best known objective UB, no solution better than UB has that copy open (closed), at any prices, so the
fixings of every step accumulate. What is left free is the MILP a solver can finish exactly
(`placement.solvers.milp.build(..., copies=...)`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from placement.problem.spec import PlacementProblem

FIX_TOLERANCE = 1e-9  # relative margin above UB before a copy is fixed, against rounding in float64 sums


@dataclasses.dataclass(frozen=True, eq=False)
class Knapsacks:
    """The relaxation's data, one entry per carrying slot (epoch t, demand d, slot k) and per copy."""

    t: np.ndarray
    d: np.ndarray
    k: np.ndarray
    requests: np.ndarray  # R[t,d] of each slot
    cost: np.ndarray  # R c_k: request-ms of serving the whole demand-epoch there
    weight: np.ndarray  # w_k, share of the copy's capacity row the whole demand-epoch takes (0: unlimited)
    share: np.ndarray  # a_k
    segment: np.ndarray  # knapsack (epoch, model, host) of each slot, numbered 0..n_segments-1
    copy_of_segment: np.ndarray  # placement variable y of each knapsack
    copy_index: np.ndarray  # [n_copies, 3] (epoch or -1 in fixed placement, model, host) of each y
    opening: np.ndarray  # f_y, request-ms


def knapsacks(problem: PlacementProblem) -> Knapsacks:
    """The relaxation's arrays for `problem` (see the module docstring)."""
    p = problem
    T, H = p.n_epochs, p.n_hosts
    t, d, k = np.nonzero(p.carrying_slots())
    h, m = p.candidate_host[t, d, k], p.candidate_model[t, d, k]
    R = p.requests()[t, d]
    segments, segment = np.unique((t * p.n_models + m) * H + h, return_inverse=True)
    n = len(segments)
    with np.errstate(divide="ignore", invalid="ignore"):
        compute = p.slot_flops_per_s()[t, d, k] / p.compute_budget_flops_s()[t, h]
        link = p.bits_per_s()[t, d] / p.link_bps()[t, h]
    compute, link = (np.nan_to_num(w, nan=0.0, posinf=0.0) for w in (compute, link))  # unlimited or idle
    # One row per knapsack, a surrogate of the two that is valid whichever it is: the one the copy's slots
    # fill most.
    use_link = np.bincount(segment, link, n) > np.bincount(segment, compute, n)
    weight = np.where(use_link[segment], link, compute)
    s_t, s_mh = segments // (p.n_models * H), segments % (p.n_models * H)
    if p.placement == "fixed":
        copies, copy_of_segment = np.unique(s_mh, return_inverse=True)
        copy_index = np.stack([np.full(len(copies), -1), copies // H, copies % H], axis=1)
        opening = T * p.opening_cost[copies // H, copies % H]
    else:
        copy_of_segment = np.arange(n)
        copy_index = np.stack([s_t, s_mh // H, s_mh % H], axis=1)
        opening = p.opening_cost[s_mh // H, s_mh % H]
    return Knapsacks(t=t, d=d, k=k, requests=R, cost=R * p.slot_cost_ms()[t, d, k], weight=weight,
                     share=p.candidate_share[t, d, k], segment=segment, copy_of_segment=copy_of_segment,
                     copy_index=copy_index, opening=opening)


def fill(ks: Knapsacks, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At prices `price` [T, D] (request-ms per request): each knapsack's optimal shares x (per slot) and each
    copy's value v_y (request-ms)."""
    gain = ks.cost - ks.requests * price[ks.t, ks.d]  # < 0: the slot pays at this price
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ks.weight > 0, gain / ks.weight, -np.inf)
    ratio = np.where(gain < 0, ratio, np.inf)
    order = np.lexsort((ratio, ks.segment))
    seg, w, a = ks.segment[order], ks.weight[order], ks.share[order]
    take = (gain[order] < 0) & (ks.share[order] > 0)
    load = np.where(take, w * a, 0.0)
    before = np.cumsum(load) - load
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    before -= np.repeat(before[starts], np.diff(np.r_[starts, len(seg)]))  # load of the segment's earlier slots
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(w > 0, (1.0 - before) / w, np.inf)
    x_sorted = np.where(take, np.clip(room, 0.0, a), 0.0)
    x = np.empty_like(x_sorted)
    x[order] = x_sorted
    value = ks.opening + np.bincount(ks.copy_of_segment[ks.segment], gain * x, len(ks.opening))
    return x, value


@dataclasses.dataclass(frozen=True, eq=False)
class Dual:
    """Result of `ascend`: the best bound (request-ms; -inf when none), its prices [T, D], each copy's value
    there, and the copies proven closed / open in every solution better than `upper` (bool per copy of
    `Knapsacks.copy_index`)."""

    bound: float
    price: np.ndarray
    value: np.ndarray
    closed: np.ndarray
    opened: np.ndarray
    upper: float
    steps: int


def ascend(problem: PlacementProblem, ks: Knapsacks, upper: float, steps: int, *, theta: float = 2.0,
           patience: int = 20, on_step=None) -> Dual:
    """Subgradient ascent of L(mu) from the cheapest slot's cost per request, for `steps` steps or until
    theta falls below 1e-4 or the bound reaches `upper` (the best known objective; `on_step(step, value)` may
    return a better one, from a primal heuristic at the copies' values)."""
    p = problem
    T, D = p.n_epochs, p.n_demands
    R = p.requests()
    may_drop = p.unserved_penalty_ms is not None
    penalty = p.unserved_penalty_ms if may_drop else np.inf
    active = R > 0
    cheapest = np.full((T, D), np.inf)
    np.minimum.at(cheapest, (ks.t, ks.d), ks.cost / np.maximum(ks.requests, 1e-300))
    price = np.where(active & np.isfinite(cheapest), np.minimum(cheapest, penalty), 0.0)
    best = (-np.inf, price, None)
    closed = np.zeros(len(ks.opening), bool)
    opened = np.zeros(len(ks.opening), bool)
    stall, step = 0, 0
    for step in range(1, steps + 1):
        x, value = fill(ks, price)
        opened_share = (value < 0).astype(float)
        served = np.zeros((T, D))
        np.add.at(served, (ks.t, ks.d), x * opened_share[ks.copy_of_segment[ks.segment]])
        unserved = (price > penalty) & may_drop
        drop_gain = R * np.minimum(0.0, penalty - price) if may_drop else np.zeros_like(R)
        bound = float((R * price).sum() + drop_gain.sum() + (opened_share * value).sum())
        if on_step is not None:
            upper = min(upper, on_step(step, value))
        if bound > best[0]:
            best, stall = (bound, price.copy(), value), 0
        else:
            stall += 1
        if np.isfinite(upper):
            margin = upper * (1.0 + FIX_TOLERANCE) + FIX_TOLERANCE
            closed |= bound + np.maximum(value, 0.0) > margin
            opened |= bound + np.maximum(-value, 0.0) > margin
        if stall >= patience:
            theta, stall = theta / 2.0, 0
        g = np.where(active, R * (1.0 - served - unserved), 0.0)
        norm = float((g * g).sum())
        if theta < 1e-4 or norm == 0.0 or bound >= upper * (1.0 - 1e-12):
            break
        gap = (upper - bound) if np.isfinite(upper) else max(abs(bound), 1.0) * 0.1
        price = np.maximum(price + theta * gap / norm * g, 0.0)
    return Dual(bound=best[0], price=best[1], value=best[2] if best[2] is not None else fill(ks, price)[1],
                closed=closed & ~opened, opened=opened & ~closed, upper=upper, steps=step)


def copy_mask(problem: PlacementProblem, ks: Knapsacks, which: np.ndarray) -> np.ndarray:
    """[epoch, model, host] bool: the copies `which` (bool per copy) on the problem's axes; a fixed-placement
    copy in every epoch."""
    mask = np.zeros((problem.n_epochs, problem.n_models, problem.n_hosts), bool)
    t, m, h = ks.copy_index[which].T
    if problem.placement == "fixed":
        mask[:, m, h] = True
    else:
        mask[t, m, h] = True
    return mask


def primal_copies(problem: PlacementProblem, ks: Knapsacks, value: np.ndarray, forced: np.ndarray | None = None
                  ) -> np.ndarray:
    """A Lagrangian heuristic's copies (bool per copy): those that pay at the prices (v_y < 0, and `forced`),
    kept by increasing v_y while each host's memory (5) lasts; then, where every request must be served,
    more copies by increasing v_y that fit in memory until every demand-epoch reaches one and each epoch's
    open compute covers its load at each demand's lightest slot. The assignment at them is an LP
    (`placement.solvers.milp.best_assignment`)."""
    p = problem
    n = len(value)
    t_c, m_c, h_c = ks.copy_index.T
    room_key = np.where(t_c >= 0, t_c, 0) * p.n_hosts + h_c  # memory per (epoch, host); fixed: per host
    left = np.tile(p.memory_bytes, p.n_epochs if p.placement == "per_epoch" else 1).astype(float)
    size = p.model_memory_bytes[m_c]
    chosen = np.zeros(n, bool)

    def take(candidates: np.ndarray, most: int | None = None) -> None:
        """Choose `candidates` by increasing value where memory is left, at most `most` of them."""
        for c in candidates[np.argsort(value[candidates], kind="stable")]:
            if most == 0:
                return
            if not chosen[c] and size[c] <= left[room_key[c]]:
                chosen[c] = True
                left[room_key[c]] -= size[c]
                most = None if most is None else most - 1

    take(np.flatnonzero((value < 0) | (forced if forced is not None else False)))
    if p.unserved_penalty_ms is not None:
        return chosen
    copy_of_slot = ks.copy_of_segment[ks.segment]
    R = p.requests()
    # every demand-epoch with requests reaches some chosen copy: its cheapest one otherwise
    reached = np.zeros(R.shape, bool)
    reached[ks.t[chosen[copy_of_slot]], ks.d[chosen[copy_of_slot]]] = True
    for t, d in zip(*np.nonzero((R > 0) & ~reached)):
        mine = copy_of_slot[(ks.t == t) & (ks.d == d)]
        take(mine, most=1)
    # each epoch's chosen compute covers its load (each demand at its lightest slot); a second model on a
    # host adds no compute
    flops = p.slot_flops_per_s()[ks.t, ks.d, ks.k]
    need = np.full(R.shape, np.inf)
    np.minimum.at(need, (ks.t, ks.d), flops)
    need = np.where(np.isfinite(need), need, 0.0).sum(axis=1)
    budget = p.compute_budget_flops_s()
    by_value = np.argsort(value, kind="stable")
    for t in range(p.n_epochs):
        in_epoch = (t_c == t) | (t_c < 0)
        hosts = np.unique(h_c[chosen & in_epoch])
        have = budget[t, hosts].sum()
        for c in by_value[in_epoch[by_value] & ~chosen[by_value]]:
            if have >= need[t]:
                break
            if size[c] <= left[room_key[c]] and not np.isin(h_c[c], hosts):
                chosen[c] = True
                left[room_key[c]] -= size[c]
                hosts = np.append(hosts, h_c[c])
                have += budget[t, h_c[c]]
    return chosen
