"""Local improvement of a complete solution: moves on a `State`, each kept only if the exact objective falls.

numpy, exact, bounded by a number of moves and a deadline. The moves: re-serving a demand-epoch at its
fastest placed copies; ejection (a demand-epoch served first at a faster full copy, that host's other
demand-epochs served again after it); closing a copy; opening a copy; moving a copy to another host; in
per_epoch mode copies are closed and opened one epoch at a time and over the whole horizon. A move releases
the demand-epochs it touches, changes the copies and serves them again at their fastest placed copies; it is
kept only if the exact objective falls and every limit holds (`State.ok`), else undone (`State.restore`).
Moves rejected with nothing changed around them since are not tried again ("don't look" marks). At the end,
copies that serve nothing are removed where that does not raise the objective (in per_epoch mode an idle
copy can save the next epoch's upload).
"""

from __future__ import annotations

import time

import numpy as np

from placement.solvers.residuals import EPS, State

EJECT_SLOTS = 3  # faster full copies tried per demand-epoch by an ejection
SWAP_HOSTS = 4  # hosts a copy may move to, per copy and pass


class Improver:
    """Local moves on a `State`, each scored by its exact change of objective and kept only if it lowers it."""

    def __init__(self, state: State, max_moves: int, deadline: float):
        self.s = state
        self.p = state.problem
        self.moves = self.accepted = 0
        self.max_moves, self.deadline = max_moves, deadline
        p = self.p
        # For each (model, host): the (epoch, demand, slot) triples that a copy there could serve.
        usable = np.argwhere(state.usable)
        t, d, k = usable.T
        key = p.candidate_model[t, d, k] * p.n_hosts + state.host[t, d, k]
        order = np.argsort(key, kind="stable")
        self.pair_keys, starts = np.unique(key[order], return_index=True)
        self.pair_slots = np.split(usable[order], starts[1:])
        # "Don't look" marks: a move rejected when nothing in its neighbourhood (the hosts its demands could
        # use or its copies sit on, their sites) has changed since is rejected again, so it is not retried.
        self.version = 0  # accepted moves so far
        self.host_stamp = np.zeros(p.n_epochs * p.n_hosts, int)  # version of the last change per (epoch, host)
        self.site_stamp = np.zeros(p.n_epochs * p.site_uplink_gbps.shape[1], int)
        self.rejected: dict = {}  # move -> version when it was rejected

    def budget_left(self) -> bool:
        return self.moves < self.max_moves and time.perf_counter() < self.deadline

    def _slots_of(self, m: int, h: int) -> np.ndarray:
        i = np.searchsorted(self.pair_keys, m * self.p.n_hosts + h)
        if i < len(self.pair_keys) and self.pair_keys[i] == m * self.p.n_hosts + h:
            return self.pair_slots[i]
        return np.zeros((0, 3), int)

    def _neighbourhood(self, demands, pairs) -> tuple[np.ndarray, np.ndarray]:
        """Flat (epoch, host) and (epoch, site) indices a move on `demands` and copies `pairs` depends on."""
        s, p = self.s, self.p
        T, H, S = p.n_epochs, p.n_hosts, p.site_uplink_gbps.shape[1]
        t, d = np.asarray(demands, int).reshape(-1, 2).T
        hosts = (t[:, None] * H + s.host[t, d])[s.usable[t, d]]
        copies = (np.arange(T)[:, None] * H + np.array([h for _, h in pairs], int)[None, :]).ravel()
        return np.concatenate([hosts, copies]), t * S + p.demand_site[d]

    def _try(self, move, demands, change, pairs, first=None) -> bool:
        """Release `demands`, apply `change()` (which may place or remove copies), then serve `demands`
        again at their cheapest placed copies, largest first (`first` = (epoch, demand, slot): that demand
        first, at that slot first); keep it if feasible and the exact objective falls, else undo. `move`
        names the move for the "don't look" marks."""
        s = self.s
        demands = sorted(set(map(tuple, demands)), key=lambda td: (-s.requests[td[0], td[1]], td))
        hosts, sites = self._neighbourhood(demands, pairs)
        if move in self.rejected and max(self.host_stamp[hosts].max(initial=0),
                                         self.site_stamp[sites].max(initial=0)) <= self.rejected[move]:
            return False
        self.moves += 1
        if first is not None:
            demands.remove(first[:2])
            demands.insert(0, first[:2])
        before = (sum(s.demand_cost(t, d) for t, d in demands) + sum(s.copy_cost(m, h) for m, h in pairs)
                  + s.waiting_cost(hosts))
        saved = s.save(demands)
        for t, d in demands:
            s.release(t, d)
        if change() is False or not s.ok():
            s.restore(saved)
            self.rejected[move] = self.version
            return False
        for t, d in demands:
            if s.requests[t, d] > 0:
                slots = s.placed_slots(t, d)
                if first is not None and (t, d) == first[:2]:
                    slots = [first[2]] + [k for k in slots if k != first[2]]
                s.fill(t, d, slots)
        after = (sum(s.demand_cost(t, d) for t, d in demands) + sum(s.copy_cost(m, h) for m, h in pairs)
                 + s.waiting_cost(hosts))
        if after < before - 1e-9 * max(abs(before), 1.0):
            self.accepted += 1
            self.version += 1
            self.host_stamp[hosts] = self.version
            self.site_stamp[sites] = self.version
            return True
        s.restore(saved)
        self.rejected[move] = self.version
        return False

    def _faster_slots(self):
        """(epoch, demand, slots) while the budget lasts: each demand-epoch with requests, the largest first,
        and its placed slots faster than its slowest part at the start of the pass, fastest first."""
        s = self.s
        marginal = self._marginal()
        for t, d in s.demand_order(s.requests):
            if not self.budget_left():
                return
            placed = s.placed_slots(t, d)
            yield t, d, placed[s.latency[t, d, placed] < marginal[t, d]]

    def refill_pass(self) -> bool:
        """Each demand-epoch whose slowest part could go to a faster placed copy: served again."""
        improved = False
        for t, d, faster in self._faster_slots():
            if faster.size:
                improved |= self._try(("refill", t, d), [(t, d)], lambda: None, [])
        return improved

    def eject_pass(self) -> bool:
        """Each demand-epoch whose slowest part could go to a faster placed copy that is full: served there
        first, the host's other demand-epochs of that epoch served again after it (its cheapest
        `EJECT_SLOTS` such copies are tried)."""
        s, improved = self.s, False
        for t, d, faster in self._faster_slots():
            for k in faster[:EJECT_SLOTS]:
                h = s.host[t, d, k]
                others = np.flatnonzero(((s.host[t] == h) & (s.x[t] > 0)).any(axis=1))
                others = others[others != d]
                if others.size == 0 or s.x[t, d, k] >= self.p.candidate_share[t, d, k] - EPS:  # nothing to gain
                    continue
                if self._try(("eject", t, d, k), [(t, d)] + [(t, o) for o in others], lambda: None, [], first=(t, d, k)):
                    improved = True
                    break
        return improved

    def _served(self) -> np.ndarray:
        """[epoch, model, host] requests each copy serves."""
        s, p = self.s, self.p
        load = np.zeros((p.n_epochs, p.n_models, p.n_hosts))
        t_ix = np.broadcast_to(np.arange(p.n_epochs)[:, None, None], s.x.shape)
        np.add.at(load, (t_ix, p.candidate_model, s.host),
                  s.x * s.requests[:, :, None])
        return load

    def close_pass(self) -> bool:
        """Each placed copy (in per_epoch mode one epoch at a time, then each (model, host) over the whole
        horizon) closed and its requests served elsewhere; copies serving the fewest requests first."""
        s, p, improved = self.s, self.p, False
        T = p.n_epochs
        served = self._served()
        if s.fixed:
            candidates = [(served[:, m, h].sum(), tuple(range(T)), m, h) for m, h in np.argwhere(s.y[0])]
        else:
            candidates = [(served[t, m, h], (t,), m, h) for t, m, h in np.argwhere(s.y)]
            if T > 1:
                candidates += [(served[:, m, h].sum(), tuple(range(T)), m, h)
                               for m, h in np.argwhere(s.y.sum(axis=0) > 1)]
        candidates.sort(key=lambda c: c[0])
        for _, epochs, m, h in candidates:
            if not self.budget_left():
                break
            epochs = [t for t in epochs if s.y[t, m, h]]
            if not epochs:
                continue
            hit = np.zeros(s.x.shape, bool)
            hit[epochs] = (s.host[epochs] == h) & (p.candidate_model[epochs] == m)
            demands = np.argwhere((hit & (s.x > 0)).any(axis=2))

            def change(epochs=epochs, m=m, h=h):
                for t in (epochs[:1] if s.fixed else epochs):
                    s.unplace(t, m, h)

            improved |= self._try(("close", tuple(epochs), m, h), demands, change, [(m, h)])
        return improved

    def _marginal(self) -> np.ndarray:
        """[epoch, demand] cost per request of the most expensive part of each demand-epoch: the unserved
        penalty if some is unserved, else its slowest used slot (0 if nothing to serve)."""
        s = self.s
        slowest = np.where(s.x > 0, s.latency, -np.inf).max(axis=2, initial=0.0)
        penalty = np.inf if s.penalty is None else s.penalty
        return np.where(s.remaining > EPS, penalty, slowest)

    def open_pass(self) -> bool:
        """Each copy not placed that a usable slot could use (in per_epoch mode one epoch at a time, and
        over the whole horizon) opened, when the requests it could serve more cheaply would pay for it;
        the largest estimated gains first."""
        s, p, improved = self.s, self.p, False
        T = p.n_epochs
        marginal = self._marginal()
        unserved = np.where(s.remaining > EPS, s.remaining, 1.0)
        trials = []
        groups = [tuple(range(T))] if s.fixed else [(e,) for e in range(T)] + ([tuple(range(T))] if T > 1 else [])
        for i, key in enumerate(self.pair_keys):
            if not self.budget_left():
                break
            m, h = divmod(int(key), p.n_hosts)
            t, d, k = self.pair_slots[i].T
            missing = ~s.y[t, m, h]
            if not missing.any():
                continue
            with np.errstate(invalid="ignore"):
                saving = np.maximum(marginal[t, d] - s.latency[t, d, k], 0.0)
            gain = np.where(missing, s.requests[t, d] * unserved[t, d] * np.nan_to_num(saving, posinf=1e300), 0.0)
            per_epoch = np.bincount(t, gain, T)
            for epochs in groups:
                new = [e for e in epochs if not s.y[e, m, h]]
                price = p.opening_cost[m, h] * (T if s.fixed else len(new))
                if new and per_epoch[new].sum() > price:
                    sel = np.isin(t, new) & (gain > 0)
                    trials.append((gain[sel].sum() - price, m, h, new, np.stack([t[sel], d[sel]], axis=1)))
        trials.sort(key=lambda c: -c[0])
        for _, m, h, epochs, demands in trials:
            if not self.budget_left():
                break
            if s.y[epochs, m, h].any() or (s.memory[epochs, h] < p.model_memory_bytes[m]).any():
                continue

            def change(epochs=epochs, m=m, h=h):
                for t in (epochs[:1] if s.fixed else epochs):
                    s._place(t, m, h)

            improved |= self._try(("open", tuple(epochs), m, h), demands, change, [(m, h)])
        return improved

    def swap_pass(self) -> bool:
        """Each placed copy (one epoch at a time in per_epoch mode) moved to another host that its demands
        could use: closed there, opened on the host (among the `SWAP_HOSTS` that could take the most of its
        requests), its demands and those the new copy serves faster served again."""
        s, p, improved = self.s, self.p, False
        T = p.n_epochs
        served = self._served()
        marginal = self._marginal()
        copies = [(tuple(range(T)), m, h) for m, h in np.argwhere(s.y[0])] if s.fixed else \
            [((t,), m, h) for t, m, h in np.argwhere(s.y)]
        copies.sort(key=lambda c: served[list(c[0]), c[1], c[2]].sum())
        for epochs, m, h in copies:
            if not self.budget_left():
                break
            epochs = list(epochs)
            if not s.y[epochs[0], m, h]:
                continue
            hit = np.zeros(s.x.shape, bool)
            hit[epochs] = (s.host[epochs] == h) & (p.candidate_model[epochs] == m)
            mine = np.argwhere((hit & (s.x > 0)).any(axis=2))
            if mine.size == 0:
                continue
            # Other hosts their slots offer, by the requests (share x demand) they could take
            t, d = mine.T
            weight = (s.requests[t, d] * (s.x[t, d] * hit[t, d]).sum(axis=1))[:, None]
            slot_hosts = np.where(s.usable[t, d], s.host[t, d], -1)
            reach = np.zeros(p.n_hosts)
            np.add.at(reach, slot_hosts[slot_hosts >= 0], np.broadcast_to(weight, slot_hosts.shape)[slot_hosts >= 0])
            reach[h] = 0.0
            for b in np.argsort(-reach, kind="stable")[:SWAP_HOSTS]:
                if reach[b] <= 0 or s.y[epochs, m, b].any():
                    continue
                # demands of model m the new copy serves faster than their slowest part now
                slots = self._slots_of(m, b)
                in_epochs = np.isin(slots[:, 0], epochs)
                st, sd, sk = slots[in_epochs].T
                faster = s.latency[st, sd, sk] < marginal[st, sd]
                demands = np.concatenate([mine, np.stack([st[faster], sd[faster]], axis=1)])

                def change(epochs=epochs, m=m, a=h, b=int(b)):
                    for t in (epochs[:1] if s.fixed else epochs):
                        s.unplace(t, m, a)
                    if (s.memory[epochs, b] < p.model_memory_bytes[m]).any():
                        return False
                    for t in (epochs[:1] if s.fixed else epochs):
                        s._place(t, m, b)

                if self._try(("swap", tuple(epochs), m, h, int(b)), demands, change, [(m, h), (m, int(b))]):
                    improved = True
                    marginal = self._marginal()
                    break
        return improved

    def drop_idle(self) -> None:
        """Remove copies that serve nothing where that does not raise the objective (it can in per_epoch
        mode, where an idle copy saves the next epoch's upload) and the links still carry the uploads.

        Removing a copy frees memory in its epochs and, in per_epoch mode, the upload it needed (rows that
        only gain room); the one row that can lose room is the host link of the next epoch, whose copy must
        then be uploaded. So each removal is checked and undone on that row alone, not on every limit: on the
        optimizer benchmark's family 4 (about 30k idle copies) a whole-state save and check per copy took
        27 s of the solve."""
        s, p = self.s, self.p
        served = self._served() > 0
        if s.fixed:
            for m, h in np.argwhere(s.y[0] & ~served.any(axis=0)):
                s.unplace(0, m, h)  # memory back in every epoch; no uploads in fixed placement
            return
        T = p.n_epochs
        for t, m, h in np.argwhere(s.y & ~served)[::-1]:  # last epochs first: a later idle copy then needs no upload
            rows = slice(t, min(t + 2, T))
            link, memory, before = s.link[rows, h].copy(), s.memory[t, h], s.copy_cost(m, h)
            s.unplace(t, m, h)
            if (s.link[rows, h] >= -s.slack_link[rows, h]).all() and s.copy_cost(m, h) <= before:
                continue
            s.y[t, m, h] = True
            s.link[rows, h], s.memory[t, h] = link, memory

    def run(self) -> None:
        while self.budget_left():
            improved = self.refill_pass()
            improved |= self.eject_pass()
            improved |= self.close_pass()
            improved |= self.open_pass()
            improved |= self.swap_pass()
            if not improved:
                break
        self.drop_idle()
