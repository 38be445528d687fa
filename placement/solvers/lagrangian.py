"""Lagrangian prices of the capacity rows: a certified lower bound and a share estimate, by dual ascent in JAX.

Drop from the MILP of `placement.solvers.milp` everything that only adds cost or removes options: the
copies y with their opening and migration costs (>= 0), memory (5), the uploads' share of the host links,
integrality. What is left is, per epoch, a transport problem over the usable slots
(`PlacementProblem.carrying_slots`): min sum R L x + P R u subject to (1) sum_k x + u = 1, the share bounds
(12) 0 <= x_k <= a_k, and the compute (3)-(4), host link (6), site uplink (7a), downlink (7b) and shared link
(16) rows. Price
those rows with lam_r >= 0 and keep (1) and (12) in the subproblem: each demand-epoch then solves

    V_td(lam) = min { sum_k c_tdk x_k + R P u : sum_k x_k + u = 1, 0 <= x_k <= a_tdk, u >= 0 },
    c_tdk = R L_tdk + sum_r lam_r a_r,tdk

(a_r,tdk: the fraction of row r's limit the whole demand-epoch takes at slot k), a continuous knapsack with
unit weights: it fills its slots by increasing c up to their shares a while c < R P, and leaves the rest
unserved (where all must be served, P = inf: infeasible, and so no bound, if the shares add up to less than
1). With a = 1 it is min(R P, min_k c_tdk), the transport problem's usual subproblem. Then

    g(lam) = sum_{t,d} V_td(lam) - sum_r lam_r

is a lower bound on the optimum for every lam >= 0 (weak duality: for any x feasible in the transport
problem, and so in the MILP, sum_r lam_r (load_r(x) - 1) <= 0 and x is feasible in each V_td), and the best
lam makes it the optimum of the transport problem (a linear program, (12) kept whole). `ascend` maximises a
smoothed g over lam = mass x exp(theta) with Adam, in one `lax.scan`: V_td with an entropy term at
temperature tau, whose minimiser is the capped softmax of -c / tau (`relaxation.capped_softmax`; the
softmin where no share is below 1). `bound` evaluates the exact g in float64 on the host at the best prices
found. The smoothed shares, averaged over the last half of the steps, estimate the transport problem's
optimal shares (and so where copies pay), and the prices rank the slots for a repair.

Units follow `build_relaxation`: costs are divided by `scale` (all requests x their mean best latency) so
that a price of 1 on a row is about one mean best latency per request filling it.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from placement.problem.spec import PlacementProblem
from placement.solvers.options import DualOptions
from placement.solvers.relaxation import (build_relaxation, capped_logsumexp, capped_softmax, option_caps, reachable,
                                          row_loads, shared_loads)


@dataclasses.dataclass(frozen=True)
class Prices:
    """Result of `ascend`: per-row prices (request-ms per unit of the row's limit), the lower bound they
    certify (request-ms; -inf when some demand-epoch's usable slots cannot take all of it and it has no
    unserved option; nan when restricted to given copies), and the averaged smoothed shares x [T, D, K]
    (each at most its slot's share, (12)) and unserved share u [T, D] (float64)."""

    compute: np.ndarray  # [T, H]
    link: np.ndarray  # [T, H]
    uplink: np.ndarray  # [T, S]
    downlink: np.ndarray  # [T, S]
    shared: np.ndarray  # [T, link] (16)
    bound: float
    x: np.ndarray
    u: np.ndarray

    def reduced_cost(self, problem: PlacementProblem) -> np.ndarray:
        """[T, D, K] latency plus the priced load of each slot, per request (ms); inf where unusable."""
        rows = _rows(problem)
        ok, L, R = rows["ok"], problem.slot_cost_ms(), problem.requests()
        priced = _priced(rows, self.compute, self.link, self.uplink, self.downlink, self.shared)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_request = np.where(R[:, :, None] > 0, priced / R[:, :, None], 0.0)
        return np.where(ok, L + per_request, np.inf)


def _rows(problem: PlacementProblem) -> dict:
    """Row coefficients in float64: a_compute, a_link [T, D, K], a_uplink, a_downlink [T, D] and a_shared
    [T, D, K, 2L] (fraction of the limit the whole demand-epoch takes), the usable slots ok, and the indices
    into the rows (shared_row: flat epoch x link, padding on a spare last row)."""
    p = problem
    T, D, K = p.candidate_host.shape
    host = np.maximum(p.candidate_host, 0)
    t = np.broadcast_to(np.arange(T)[:, None, None], (T, D, K))
    t2 = np.broadcast_to(np.arange(T)[:, None], (T, D))
    site = np.broadcast_to(p.demand_site[None, :], (T, D))
    a_compute, a_link, a_uplink, a_downlink = row_loads(p)
    shared_row, a_shared = shared_loads(p)
    return {"shared_row": shared_row, "a_shared": a_shared,"ok": p.carrying_slots(), "via": p.via_site(), "t": t, "t2": t2, "host": host, "site": site,
            "a_compute": a_compute,
            "a_link": a_link, "a_uplink": a_uplink, "a_downlink": a_downlink}


def _priced(rows: dict, compute, link, uplink, downlink, shared) -> np.ndarray:
    """[T, D, K] the priced load of each slot: sum_r lam_r a_r,tdk (request-ms)."""
    on_shared = (np.append(shared.ravel(), 0.0)[rows["shared_row"]] * rows["a_shared"]).sum(axis=3)
    site = (uplink[rows["t2"], rows["site"]] * rows["a_uplink"]
            + downlink[rows["t2"], rows["site"]] * rows["a_downlink"])
    return (compute[rows["t"], rows["host"]] * rows["a_compute"] + link[rows["t"], rows["host"]] * rows["a_link"]
            + site[:, :, None] * rows["via"] + on_shared)


def _unserved_cost(problem: PlacementProblem) -> np.ndarray:
    """[T, D] cost of leaving each demand-epoch unserved (request-ms; inf when not allowed)."""
    penalty = np.inf if problem.unserved_penalty_ms is None else problem.unserved_penalty_ms
    return np.where(problem.requests() > 0, problem.requests() * penalty, 0.0)


SERVED = 1e-9  # a rest of the unit share below this counts as served: the solvers' feasibility tolerance


def bound(problem: PlacementProblem, compute: np.ndarray, link: np.ndarray, uplink: np.ndarray,
          downlink: np.ndarray, shared: np.ndarray | None = None, rows: dict | None = None) -> float:
    """g(lam) in float64: a lower bound on the optimum for any prices >= 0 (request-ms per unit of limit).
    Each demand-epoch fills its slots by increasing priced cost up to their shares while they cost less
    than leaving requests unserved (V_td of the module docstring). `shared` [T, link]: zeros if not given;
    `rows`: `_rows(problem)` where the caller has it."""
    shared = np.zeros((problem.n_epochs, problem.n_links)) if shared is None else shared
    rows = _rows(problem) if rows is None else rows
    value = np.where(rows["ok"], problem.requests()[:, :, None] * problem.slot_cost_ms()
                     + _priced(rows, compute, link, uplink, downlink, shared), np.inf)
    unserved = _unserved_cost(problem)
    order = np.argsort(value, axis=2, kind="stable")
    value = np.take_along_axis(value, order, axis=2)
    cap = np.take_along_axis(np.where(rows["ok"], problem.candidate_share, 0.0), order, axis=2)
    before = np.cumsum(cap, axis=2) - cap
    take = np.where(value < unserved[:, :, None], np.clip(1.0 - before, 0.0, cap), 0.0)
    rest = 1.0 - take.sum(axis=2)
    with np.errstate(invalid="ignore"):  # inf x 0 where unserved is not allowed and nothing is left
        best = np.where(take > 0, take * value, 0.0).sum(axis=2) + np.where(rest > SERVED, rest * unserved, 0.0)
    best = np.where(problem.requests() > 0, best, 0.0)
    if not np.isfinite(best).all():
        return -np.inf
    return float(best.sum() - compute.sum() - link.sum() - uplink.sum() - downlink.sum() - shared.sum())


def certified_bound(problem: PlacementProblem, prices: tuple[np.ndarray, ...]) -> float:
    """The better of g at the given prices and at zero prices (every request at its cheapest slot)."""
    zero = tuple(np.zeros_like(a) for a in prices)
    rows = _rows(problem)  # about 3 s on the optimizer benchmark's 8.6M-slot family: made once for both
    return max(bound(problem, *prices, rows=rows), bound(problem, *zero, rows=rows))


@functools.partial(jax.jit, static_argnames="capped")
def _ascend(theta0, arrays, schedule, capped: bool):
    """Adam ascent of the smoothed dual over log-prices theta (one vector over all rows); `capped`: some
    slot's share is below 1 (`relaxation.capped_softmax`)."""
    cost, unserved, ok, cap, weight, row_c, row_l, row_u, row_d, row_s, a_c, a_l, a_u, a_d, a_s, mass = arrays
    adam = optax.scale_by_adam()

    def per_request(theta):
        lam = mass * jnp.exp(theta)
        priced = (cost + lam[row_c] * a_c + lam[row_l] * a_l + lam[row_u][..., None] * a_u
                  + lam[row_d][..., None] * a_d + (lam[row_s] * a_s).sum(axis=-1))
        options = jnp.concatenate([jnp.where(ok, priced, jnp.inf), unserved[..., None]], axis=-1)
        return options / jnp.where(weight > 0, weight, 1.0)[..., None], lam

    def smoothed(theta, tau):
        """The dual with each V_td smoothed at temperature tau (its minimum of x.rho + tau sum x log x over
        the shares (1), (12)), and the shares that attain it."""
        rho, lam = per_request(theta)
        softmin = -tau * capped_logsumexp(-rho / tau, cap, capped)
        return (weight * softmin).sum() - lam.sum(), capped_softmax(-rho / tau, cap, capped)

    def descent(theta, tau):
        value, x = smoothed(theta, tau)
        return -value, x

    # The shares come out of the gradient's own forward pass (those at the step's starting prices): a second
    # pass for the prices after the step made a step 2.5x slower on the optimizer benchmark's large family.
    grad = jax.grad(descent, has_aux=True)

    def step(carry, s):
        theta, state, x_sum = carry
        g, x = grad(theta, s["tau"])
        updates, state = adam.update(g, state)
        theta = theta - s["lr"] * updates
        x_sum = x_sum + s["average"] * x
        return (theta, state, x_sum), None

    x0 = jnp.zeros(cost.shape[:2] + (cost.shape[2] + 1,), cost.dtype)
    (theta, _, x_sum), _ = jax.lax.scan(step, (theta0, adam.init(theta0), x0), schedule)
    return theta, x_sum / jnp.maximum(schedule["average"].sum(), 1.0)


def ascend(problem: PlacementProblem, options: DualOptions = DualOptions(), copies: np.ndarray | None = None) -> Prices:
    """Prices by dual ascent (JAX), the bound they certify (float64, host) and the averaged shares.

    With `copies` [T, M, H] (bool) only slots whose copy is there carry requests (the others are left
    unserved at the unserved price, or at a stiff one where none may be): the prices and shares of those
    copies, for a repair that must use them. Its `bound` then holds only for solutions within those
    copies, not for the problem."""
    r, scale = build_relaxation(problem, options.dtype)
    if copies is not None:
        t = np.arange(problem.n_epochs)[:, None, None]
        within = copies[t, problem.candidate_model, np.maximum(problem.candidate_host, 0)]
        slot_ok = np.asarray(r.slot_ok) & within
        unserved_ok = np.asarray(r.unserved_ok) | ~reachable(slot_ok, problem.candidate_share)
        r = dataclasses.replace(r, slot_ok=jnp.asarray(slot_ok), unserved_ok=jnp.asarray(unserved_ok))
    T, H = r.mass_compute.shape
    S = r.mass_uplink.shape[1]
    dtype = jnp.dtype(options.dtype)
    # Rows in one vector: compute (T x H), link (T x H), site uplink (T x S), site downlink (T x S), shared
    # links (T x links, then the spare row of their padding). A row without load has mass 0 and so no price.
    mass = jnp.concatenate([r.mass_compute.ravel(), r.mass_link.ravel(), r.mass_uplink.ravel(),
                            r.mass_downlink.ravel(), r.mass_shared])
    unserved = jnp.where(r.unserved_ok, r.unserved_cost, jnp.inf)
    weight = jnp.asarray(problem.requests() / max(problem.requests().sum(), 1e-300), dtype)
    arrays = (r.cost, unserved, r.slot_ok, option_caps(r), weight, r.slot_row, T * H + r.slot_row,
              2 * T * H + r.site_row, 2 * T * H + T * S + r.site_row, 2 * T * (H + S) + r.shared_row, r.slot_flops,
              r.slot_bits, r.site_up[..., None] * r.slot_via, r.site_down[..., None] * r.slot_via, r.shared_load,
              mass)  # site rows: via slots
    n = options.steps
    f = np.linspace(0.0, 1.0, n)
    geometric = lambda ends: ends[0] * (ends[1] / ends[0]) ** f  # noqa: E731
    schedule = {"tau": jnp.asarray(geometric(options.temperature), dtype),
                "lr": jnp.asarray(geometric(options.learning_rate), dtype),
                "average": jnp.asarray(f >= 0.5, dtype)}
    theta0 = jnp.full(mass.shape, np.log(options.initial_price), dtype)
    theta, x = _ascend(theta0, arrays, schedule, r.capped)
    lam = scale * np.asarray(mass, np.float64) * np.exp(np.asarray(theta, np.float64))
    ends = np.cumsum([T * H, T * H, T * S, T * S])
    compute, link, uplink, downlink, shared = np.split(lam, ends)
    compute, link, uplink, downlink = (part.reshape(T, -1) for part in (compute, link, uplink, downlink))
    shared = shared[:-1].reshape(T, -1)  # the spare row has no load, so no price
    x = np.asarray(x, np.float64)
    value = certified_bound(problem, (compute, link, uplink, downlink, shared)) if copies is None else np.nan
    return Prices(compute, link, uplink, downlink, shared, value, x[..., :-1], x[..., -1])
