"""Vectorized rounding and repair: a feasible solution from relaxed shares, every demand-epoch at once.

The per-demand repair of `placement.solvers.gradient` visits demand-epochs one by one in Python, which is
exact but takes minutes at constellation scale (hundreds of thousands of demand-epochs). This one works on
whole arrays, in numpy float64, for splittable demands (not single_source):

1. Copies. Candidate copies (epoch, model, host) are those some carrying slot
   (`PlacementProblem.carrying_slots`) could use; on each (epoch, host) they are kept by decreasing relaxed
   use (requests the relaxed shares send there) while the memory (5) lasts (in fixed placement the uses of
   all epochs add up and a copy holds in every epoch (9)). Each kept copy that was not on the host in the
   previous epoch takes its upload from the host link first (6, (8)); where the link cannot carry them all,
   the most used are kept while their uploads fit.
2. Relaxed shares where they fit. The relaxed shares, restricted to slots with a kept copy and each at
   most its slot's candidate_share (12), are scaled down on every over-full row (compute (3)-(4), host
   link (6), site uplink (7a) and downlink (7b), shared links (16)) by the row's capacity / load; each share by the smallest
   factor of its rows, so every row then holds (1) <= 1.
3. Rounds. Every demand-epoch with requests left proposes the rest to its cheapest slot (by `slot_cost`,
   for example latency plus the Lagrangian prices of its rows) whose rows still have room and whose
   latency is below the unserved penalty, as much as that slot's rows and its share (12) could take alone;
   each row accepts the proposals it receives in proportion, up to its room. A slot that holds its whole
   share takes no more proposals. A demand-epoch whose slot a host or shared-link row cut proposes to its
   next slot in the next round; a cut by the site's terminals refuses no slot (they carry every slot
   alike), but while they are full the demand-epoch waits. In the first BUMP_ROUNDS, an offer may displace
   a held share of lower priority: on a host or shared-link row, the latency saved against the demand's
   next slot per unit of the row's load; on a site row, the latency saved against unserved per bit, a
   fractional knapsack per site. The rounds stop when nothing moves. What is left is unserved.
4. Copies that serve nothing are removed from the last epoch backwards where no later copy needs them
   (removing one never adds an upload).

Every row is kept within its limit scaled by (1 - SLACK), so the result passes the evaluator; whether the
requests left unserved are allowed (unserved_penalty_ms=None) is for the caller to check.
"""

from __future__ import annotations

import numpy as np

from placement.problem.solution import Solution
from placement.problem.spec import PlacementProblem
from placement.solvers.residuals import uploads_bps

SLACK = 1e-9  # relative room kept on every limit against rounding in the running sums
DONE = 1e-9  # a share left below this counts as served
MAX_ROUNDS = 200
FULL = 1e-6  # a site row with less room left than this share of its capacity takes no more offers
BUMP_ROUNDS = 20  # rounds in which an offer may displace a share held with a lower priority


def _segment_sum(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(index.ravel(), values.ravel(), n)


def choose_copies(problem: PlacementProblem, use: np.ndarray) -> np.ndarray:
    """[T, M, H] copies: on each (epoch, host) every model some carrying slot could use, by decreasing
    `use` [T, M, H] (requests), while the memory lasts; in fixed placement one choice for every epoch; in
    per_epoch placement then less the new copies whose uploads the host link cannot carry
    (`_uploads_that_fit`)."""
    p = problem
    T, D, K = p.candidate_host.shape
    M, H = p.n_models, p.n_hosts
    ok = p.carrying_slots()
    t, d, k = np.nonzero(ok)
    wanted = np.zeros((T, M, H), bool)
    wanted[t, p.candidate_model[t, d, k], p.candidate_host[t, d, k]] = True
    if p.placement == "fixed":
        wanted, use = wanted.any(axis=0, keepdims=True), use.sum(axis=0, keepdims=True)
    e, m, h = np.nonzero(wanted)
    # Per (epoch, host), most used first; a copy is kept if the ones before it and itself fit the memory.
    order = np.lexsort((-use[e, m, h], h, e))
    e, m, h = e[order], m[order], h[order]
    size = p.model_memory_bytes[m]
    group = e * H + h
    start = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    running = np.cumsum(size)
    before = np.repeat(running[start] - size[start], np.diff(np.r_[start, len(size)]))
    # A model too large for the host alone was never wanted (carrying_slots); a smaller one later in the
    # order may still fit after a larger one that did not: keep the simple prefix, the repair does not
    # need the densest packing.
    keep = running - before <= p.memory_bytes[h] * (1.0 + SLACK)
    y = np.zeros(wanted.shape, bool)
    y[e[keep], m[keep], h[keep]] = True
    return np.broadcast_to(y, (T, M, H)).copy() if p.placement == "fixed" else _uploads_that_fit(p, y, use)


def _uploads_that_fit(problem: PlacementProblem, y: np.ndarray, use: np.ndarray) -> np.ndarray:
    """`y` [T, M, H] (per_epoch) less the new copies (not on the host the epoch before) whose uploads the
    host link cannot carry, (6) with (8): on each (epoch, host) the most used are kept while their uploads
    fit, the rest dropped. Epoch by epoch, as dropping a copy makes the next epoch's copy new. (A link
    overfilled by uploads alone serves nothing, but the copies it keeps would still break (6).)"""
    p = problem
    room = (1.0 - SLACK) * p.link_bps()
    for t in range(1, p.n_epochs):
        m, h = np.nonzero(y[t] & ~y[t - 1])
        kept = _keep(h, p.upload_bps()[t, m], room[t], use[t, m, h]) >= 1.0
        y[t, m[~kept], h[~kept]] = False
    return y


def _keep(rows: np.ndarray, load: np.ndarray, room: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """[n] fraction of each entry's load to keep so that every row's kept load fits its room [row]:
    entries of a row by decreasing priority, each kept while the room lasts (the marginal one in part)."""
    if len(rows) == 0:
        return np.ones(0)
    order = np.lexsort((-priority, rows))
    r, l = rows[order], load[order]
    running = np.cumsum(l)
    start = np.r_[True, r[1:] != r[:-1]]
    before = running - l - (running - l)[np.flatnonzero(start)][np.cumsum(start) - 1]  # ahead of it in its row
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = np.where(l > 0, np.clip(room[r] - before, 0.0, l) / l, 1.0)
    out = np.empty(len(rows))
    out[order] = kept
    return out


def relaxed_use(problem: PlacementProblem, shares: np.ndarray) -> np.ndarray:
    """[T, M, H] requests that relaxed shares [T, D, K] send to each copy (carrying slots only)."""
    p = problem
    T, D, K = p.candidate_host.shape
    use = np.zeros((T, p.n_models, p.n_hosts))
    t = np.broadcast_to(np.arange(T)[:, None, None], (T, D, K))
    np.add.at(use, (t, p.candidate_model, np.maximum(p.candidate_host, 0)),
              np.where(p.carrying_slots(), shares * p.requests()[:, :, None], 0.0))
    return use


def repair(problem: PlacementProblem, shares: np.ndarray, slot_cost: np.ndarray) -> Solution:
    """A solution satisfying every limit from relaxed shares [T, D, K] and a per-request cost per slot
    [T, D, K] that orders the slots of each demand-epoch (inf: never). See the module docstring."""
    p = problem
    if p.single_source:
        raise ValueError("the vectorized repair splits demands; single_source needs the per-demand repair")
    T, D, K = p.candidate_host.shape
    H, S = p.n_hosts, p.site_uplink_gbps.shape[1]
    R = p.requests()
    L = p.slot_cost_ms()
    host = np.maximum(p.candidate_host, 0)
    t3 = np.broadcast_to(np.arange(T)[:, None, None], (T, D, K))
    model3 = p.candidate_model
    site2 = np.broadcast_to(p.demand_site[None, :], (T, D))
    row = t3 * H + host  # (epoch, host) row of each slot
    site_row = np.arange(T)[:, None] * S + site2  # (epoch, site) row of each demand-epoch
    slot_site_row = np.broadcast_to(site_row[:, :, None], (T, D, K))
    # The rows a slot's share loads, in the order of `rooms`: compute, host link, site uplink, site downlink,
    # shared links; each [T, D, K, terms]: the rows of each slot, and the load of its whole demand-epoch on
    # them (a slot loads one row of each kind but the shared links, 2L of those: padding on a spare row)
    link_row, link_load = p.link_terms()
    n_links = T * p.n_links
    host_rows, site_rows = row[..., None], slot_site_row[..., None]
    slot_rows = (host_rows, host_rows, site_rows, site_rows, np.where(link_row >= 0, link_row, n_links))
    # per unit share of each slot; a local host's slot does not cross the site's terminals
    via = p.via_site()
    per_share = tuple(a[..., None] for a in (
        p.slot_flops_per_s(), p.bits_per_s()[:, :, None] * np.ones(K),
        p.request_bits_per_s()[:, :, None] * via, p.response_bits_per_s()[:, :, None] * via)) + (link_load,)
    n_rows = (T * H, T * H, T * S, T * S, n_links + 1)
    cap = p.candidate_share

    # 1. Copies, and what their uploads leave of the links
    y = choose_copies(p, relaxed_use(p, shares))
    ok = p.carrying_slots() & y[t3, model3, host]
    penalty = np.inf if p.unserved_penalty_ms is None else p.unserved_penalty_ms
    ok &= L < penalty
    room_compute = (1.0 - SLACK) * p.sustained_budget_flops_s().ravel()  # batteries kept above empty (14)
    room_link = ((1.0 - SLACK) * p.link_bps() - uploads_bps(p, y)).ravel()  # >= 0: the copies' uploads fit
    room_uplink = (1.0 - SLACK) * p.site_uplink_bps().ravel()
    room_downlink = (1.0 - SLACK) * p.site_downlink_bps().ravel()
    room_shared = np.append((1.0 - SLACK) * p.network_link_bps().ravel(), np.inf)
    active = (R > 0)[:, :, None]
    ok &= active

    def fit(wanted, offer, regrets, rooms):
        """`wanted` (held + offered shares) with each row that receives an offer cut to its room, the shares
        that would cost the most to move off the row (requests x regret per unit of the row's load, `regrets`
        one per row kind) kept first. Rows without an offer already fit and keep everything. Also returns
        where a row that refuses the slot (all but the site's) cut it."""
        kept = np.ones((2,) + wanted.shape)  # by the rows that refuse a slot, by the site rows
        entries = {}  # the slots on rows with an offer, per index array (compute and host link share one)
        for index, load_of, room, n, regret, by in zip(slot_rows, per_share, rooms, n_rows, regrets, (0, 0, 1, 1, 0)):
            if id(index) not in entries:
                hit = np.zeros(n, bool)
                hit[index[offer > 0]] = True
                entries[id(index)] = np.nonzero(hit[index] & (wanted > 0)[..., None])
            t, d, k, j = entries[id(index)]
            load = wanted[t, d, k] * load_of[t, d, k, j]
            with np.errstate(divide="ignore", invalid="ignore"):
                priority = np.where(load_of[t, d, k, j] > 0, R[t, d] * regret[t, d, k] / load_of[t, d, k, j], np.inf)
            fraction = _keep(index[t, d, k, j], load, room, priority)
            if index.shape[-1] == 1:  # one row per slot: each (t, d, k) once
                kept[by][t, d, k] = np.minimum(kept[by][t, d, k], fraction)
            else:
                np.minimum.at(kept[by], (t, d, k), fraction)
        return wanted * kept.min(axis=0), kept[0] < 1.0 - 1e-12

    def loads_on_rows(x):
        """The load of shares x [T, D, K] on every row, in the order of `rooms`. A site row is one per
        demand-epoch, so its slots are summed first (K times fewer entries to scatter)."""
        return tuple(np.bincount(site_row.ravel(), (x[..., None] * load).sum(axis=(2, 3)).ravel(), n)
                     if index is site_rows else _segment_sum(index, x[..., None] * load, n)
                     for index, load, n in zip(slot_rows, per_share, n_rows))

    def regrets(available):
        """[T, D, K] per row kind: what a share at each slot saves against the demand-epoch's next option off
        that row, or unserved. For a host row that is its cheapest other available slot (by `slot_cost`). A
        site row is loaded by every slot through the terminals, so there only a local host's slot relieves
        it, and the saving is in latency (the site row's own price, part of `slot_cost`, would make every
        request's saving nil where the uplink is full): divided by the bits a request moves up, the rank of
        a fractional knapsack per site, the order in which the relaxation fills a full uplink."""
        def saving(c, alternative):
            with np.errstate(invalid="ignore"):
                gap = np.minimum(alternative, penalty) - c
            return np.where(gap > 0.0, gap, 0.0)  # nan (inf - inf: no option either way) saves nothing

        c = np.where(available, cost, np.inf)
        first = np.argmin(c, axis=2)
        best = np.take_along_axis(c, first[:, :, None], axis=2)
        second = np.min(np.where(np.arange(K) == first[:, :, None], np.inf, c), axis=2, keepdims=True)
        host = saving(cost, np.where(np.arange(K) == first[:, :, None], second, best))
        site = saving(L, np.min(np.where(available & ~via, L, np.inf), axis=2, keepdims=True))
        return host, host, site, site, host  # a shared link: another slot may avoid it

    # 2-3. Deferred acceptance: rows keep what they hold and what is offered by priority; a share cut
    # from a slot does not offer itself there again. The first offer is the relaxed shares (scaled to sum
    # to at most 1, then each held to its slot's share).
    cost = np.where(ok, slot_cost, np.inf)
    refused = ~ok
    x = np.zeros(ok.shape)
    offer = np.where(ok, np.clip(shares, 0.0, None), 0.0)
    total = offer.sum(axis=2, keepdims=True)
    offer = np.where(total > 1.0, offer / np.maximum(total, 1e-300), offer)
    by_host = p.host_share_served(offer)  # a host's slots (one per model) share its reachable share (12)
    offer = np.where(by_host > cap, offer * cap / np.maximum(by_host, 1e-300), offer)
    rooms = (room_compute, room_link, room_uplink, room_downlink, room_shared)
    for round_ in range(MAX_ROUNDS):
        if round_ < BUMP_ROUNDS:
            wanted = x + offer
            x, cut = fit(wanted, offer, regrets(~refused), rooms)
            refused |= cut
        else:  # what is held stays; offers share what is left
            left = tuple(np.maximum(room - load, 0.0) for room, load in zip(rooms, loads_on_rows(x)))
            accepted, cut = fit(offer, offer, regrets(~refused), left)
            refused |= cut
            x = x + accepted
        rest = np.where(R > 0, 1.0 - x.sum(axis=2), 0.0)
        host_room = cap - p.host_share_served(x)
        # A cut by a host or shared-link row refuses that slot for good; a cut by the site's terminals refuses
        # none (they carry every slot alike, and may have room again once a heavier request is displaced), but
        # while they are full their slots offer nothing.
        loads = loads_on_rows(x)
        full = (rooms[2] - loads[2] <= FULL * rooms[2]) | (rooms[3] - loads[3] <= FULL * rooms[3])
        blocked = full[site_row][:, :, None] & via
        open_cost = np.where(ok & ~refused & ~blocked & (host_room > DONE), cost, np.inf)
        best = np.argmin(open_cost, axis=2)[:, :, None]
        has = np.isfinite(np.take_along_axis(open_cost, best, axis=2)[:, :, 0]) & (rest > DONE)
        if not has.any():
            break
        offer = np.zeros(x.shape)
        room_share = np.take_along_axis(host_room, best, axis=2)[:, :, 0]
        np.put_along_axis(offer, best, np.where(has, np.minimum(rest, room_share), 0.0)[:, :, None], axis=2)

    # 4. Copies that serve nothing, from the last epoch back, where no later copy follows
    served = np.zeros(y.shape, bool)
    served[t3[x > 0], model3[x > 0], host[x > 0]] = True
    if p.placement == "fixed":
        y &= served.any(axis=0, keepdims=True)
    else:
        for e in range(T - 1, -1, -1):
            y[e] &= served[e] | (y[e + 1] if e + 1 < T else False)
    return Solution(y, x)
