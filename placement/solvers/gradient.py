"""Gradient heuristic: relaxations of the MILP of `placement.solvers.milp` optimised in JAX, then rounded,
repaired and improved on the host, so the result satisfies every constraint (1)-(11) exactly.

0. Lagrangian prices (`placement.solvers.lagrangian`, `dual_steps`): dual ascent on the capacity rows of
   the copy-free relaxation. It certifies a lower bound (the result's dual_bound, so every result has a
   gap) and its averaged shares, repaired with the slots ranked by latency plus prices
   (`placement.solvers.repair`, all demand-epochs at once; the per-demand repair below under
   single_source), are the first candidate solution. At constellation scale this is the whole relaxation.
1. Augmented Lagrangian relaxation, run when `restarts` x epochs x demands x slots fits
   `max_relaxed_shares` (fewer restarts, or none, above it). JAX; fixed-shape arrays built once per
   problem (`Relaxation`); compiled once per problem shape, restart count and step count. Each demand-epoch's shares x are a softmax over its usable slots
   plus, when requests may go unserved, an "unserved" option; each copy y (a (model, host) pair some usable
   slot could use; per epoch in per_epoch mode) is a sigmoid. The objective (latency + unserved + opening
   + migration with uploads relu(y[t] - y[t-1])) is divided by all requests x their mean best latency, so
   it is about 1 on every instance and one learning rate fits all. The linking rows (2) x <= y, the
   capacity rows (3)-(4) compute, (6) host link (requests and uploads), (7) site access and (5) memory
   enter by an augmented Lagrangian: multipliers updated every `multiplier_every` steps, the penalty weight
   growing geometrically; each row's penalty is weighted by the requests that fill its limit, so one
   schedule fits every row. A concave pull v (1 - v), rising over the last steps, drives copies (and, under
   single_source, shares) to 0 or 1; temperatures divide the logits (default: constant 1, see
   `GradientOptions`). Adam (optax) takes the steps in one `lax.scan`; `restarts` random initial logits run
   under `vmap`. A second phase (`reassign`) starts from where each restart ended, with its copies rounded
   and clamped, so its shares fit the copies it will get. Schedules, learning rate and clamps are arrays.
2. Rounding and repair (numpy, exact): splittable demands by `placement.solvers.repair`, all at once, as
   the prices' shares. Single-source demands one demand-epoch at a time: for each restart and phase, the
   copies with y above a threshold are offered; demand-epochs (by decreasing requests x latency spread between
   their two best offered slots) take their relaxed shares where they fit, then fill what is left at offered or placed copies by
   increasing latency, then at new copies only where that pays for itself (latency + the copy's cost per
   request below the unserved penalty; any usable slot when every request must be served). `Residuals`
   from the baselines tracks every limit.
3. Local improvement (numpy, exact; bounded by `max_moves` and `time_budget_s`) of the `polish` best
   repaired solutions with different placements: re-serving a demand-epoch at its fastest placed copies;
   ejection (a demand-epoch served first at a faster full copy, that host's other demand-epochs served again
   after it); closing a copy; opening a copy; moving a copy to another host; in per_epoch mode copies are
   closed and opened one epoch at a time and over the whole horizon. A move releases the demand-epochs it
   touches, changes the copies and serves them again at their fastest placed copies; it is kept only if
   the exact objective falls and every limit holds. Moves rejected with nothing changed around them since
   are not tried again. At the end, copies that serve nothing are removed where that does not raise the
   objective (in per_epoch mode an idle copy can save the next epoch's upload). The best result by exact
   objective is returned; as a guard against a bug in a move, an improved solution the evaluator rejects
   is replaced by the repaired one (the message says so).
4. The assignment LP (splittable demands, at most `exact_assignment_slots` usable slots): with the best
   solution's copies fixed, the MILP of `placement.solvers.milp` is an LP whose optimum is the best
   assignment at those copies; HiGHS solves it (about 3 s per 100k slots on 2 cores) and idle copies are
   then dropped. The repair and the moves serve demands greedily, one row at a time; on the optimizer
   benchmark's instances this step takes the gap to the optimum from up to 3.5% to at most 1.2%
   (experiments/benchmarks/optimizers.py). It is kept when it lowers the objective and passes the evaluator.

The result is FEASIBLE (a heuristic proves no optimality); with `unserved_penalty_ms=None` and not every
request served it is INFEASIBLE when a capacity argument (`placement.problem.shortfalls`) proves it, else
NO_SOLUTION. The same seed gives the same result unless `time_budget_s` cuts the work short.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from placement.evaluation.metrics import evaluate
from placement.problem.objective import objective
from placement.problem.spec import PlacementProblem, Solution, SolveResult, Status
from placement.solvers import lagrangian, milp
from placement.solvers.baselines import EPS, Residuals, no_solution
from placement.solvers.repair import choose_copies, relaxed_use, repair, uploads_bps


@dataclasses.dataclass(frozen=True)
class GradientOptions:
    """Effort, schedules and precision. Changing a value does not recompile the relaxation, except
    restarts, steps and multiplier_every (array shapes) and dtype.

    temperature divides the logits of shares and copies (geometric from first to last). It does not change
    what the relaxation can represent, only how far an Adam step moves the softmax and sigmoid: annealing it
    down saturates them and stalls the augmented Lagrangian (measured: 0.75% mean gap to the MILP optimum
    with (1, 0.5), 0.51% with (1, 1) on 30x75x3x3 instances), so the default keeps it at 1 and integrality
    comes from the concave pull `integrality` instead.
    """

    restarts: int = 16  # relaxations run in parallel from random initial logits
    max_relaxed_shares: int = 1_000_000  # restarts x epochs x demands x slots at most (fewer restarts, or none)
    dual_steps: int = 600  # Lagrangian price ascent (`placement.solvers.lagrangian`); 0 skips it
    steps: int = 600  # Adam steps per restart and phase
    multiplier_every: int = 50  # steps between multiplier updates (steps is rounded up to a multiple)
    learning_rate: float = 0.1
    temperature: tuple[float, float] = (1.0, 1.0)  # softmax and sigmoid temperature, first and last step
    penalty: tuple[float, float] = (1.0, 1000.0)  # augmented Lagrangian weight, first and last (geometric)
    integrality: float = 1.0  # final weight of the pull of copies (and single-source shares) towards 0/1
    integrality_share: float = 0.5  # of the steps, at the end, over which that weight rises from 0
    init_scale: float = 1.0  # standard deviation of the random initial logits
    dtype: str = "float32"  # inside the relaxation; rounding, repair and scoring are float64
    thresholds: tuple[float, ...] = (0.25, 0.5)  # phase 1 is rounded with copies offered where y > each
    reassign: bool = True  # phase 2: relax again with the rounded copies clamped (twice the relaxation time)
    rounding_noise: float = 0.6  # largest jitter of a copy's rounding threshold before phase 2 (last restart)
    improve: bool = True  # local improvement of the best repaired solutions
    polish: int = 3  # how many of the best repaired solutions (with different placements) are improved
    max_moves: int = 20_000  # improvement moves tried per polished solution, at most
    time_budget_s: float = 10.0  # for repair and improvement together (the relaxations run to the end)
    exact_assignment_slots: int = 200_000  # usable slots at most for the assignment LP at the final copies; 0: never


# ---------------------------------------------------------------------------------------------------
# 1. The relaxation

ADAM_B2 = 0.99  # Adam's second-moment decay: the penalty weight grows 1000x, so its memory must be short


@functools.partial(jax.tree_util.register_dataclass, meta_fields=[], data_fields=[
    "slot_ok", "cost", "unserved_ok", "unserved_cost", "slot_pair", "slot_row", "slot_flops", "slot_bits",
    "site_row", "site_bits", "pair_ok", "open_cost", "migration_cost", "upload", "memory",
    "mass_xy", "mass_compute", "mass_link", "mass_site", "mass_memory", "integral_y", "integral_x"])
@dataclasses.dataclass(frozen=True)
class Relaxation:
    """The problem as fixed-shape arrays (Ty = 1 in fixed placement, T in per_epoch), costs divided by
    `scale` and loads by their limits (a row is violated when its load exceeds 1).

    slot_ok [T, D, K]        usable slot that could carry requests at all (the model fits, links > 0)
    cost [T, D, K]           R x latency of serving the whole demand-epoch there
    unserved_ok, unserved_cost [T, D]   the unserved option (R x penalty)
    slot_pair [T, D, K]      flat index into [Ty, M, H] of the copy a slot needs
    slot_row [T, D, K]       flat (epoch, host) row of the slot; slot_flops, slot_bits: its compute and link
                             load per unit share, as a fraction of that host's limit (0 where unlimited)
    site_row, site_bits [T, D]          (epoch, site) row and its access load per unit served share
    pair_ok [Ty, M, H]       copies some usable slot could use; open_cost [Ty, M, H] per copy placed;
    migration_cost [M, H]    per upload (per_epoch); upload [Ty, M, H] its link load (fraction of the limit)
    memory [M, H]            model bytes / host memory
    mass_*                   per row: the requests (share of all) that fill its limit (penalty weights)
    integral_y [Ty, M, H], integral_x [T, D, K]   weights of the pull towards 0/1: a copy's opening cost
                             plus the requests that could use it; a share's requests (single_source only)
    """

    slot_ok: jax.Array
    cost: jax.Array
    unserved_ok: jax.Array
    unserved_cost: jax.Array
    slot_pair: jax.Array
    slot_row: jax.Array
    slot_flops: jax.Array
    slot_bits: jax.Array
    site_row: jax.Array
    site_bits: jax.Array
    pair_ok: jax.Array
    open_cost: jax.Array
    migration_cost: jax.Array
    upload: jax.Array
    memory: jax.Array
    mass_xy: jax.Array
    mass_compute: jax.Array
    mass_link: jax.Array
    mass_site: jax.Array
    mass_memory: jax.Array
    integral_y: jax.Array
    integral_x: jax.Array


def _inverse(limit: np.ndarray) -> np.ndarray:
    """1 / limit where finite and positive, 0 where unlimited (a zero limit never gets load: see slot_ok)."""
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(limit) & (limit > 0), 1.0 / limit, 0.0)


def build_relaxation(problem: PlacementProblem, dtype="float32") -> tuple[Relaxation, float]:
    """The relaxation's arrays, and the scale (request-ms) its objective is measured in."""
    p = problem
    T, D, K, H, M = p.n_epochs, p.n_demands, p.n_slots, p.n_hosts, p.n_models
    S = p.site_access_gbps.shape[1]
    fixed = p.placement == "fixed"
    Ty = 1 if fixed else T
    R = p.requests()
    L = p.latency_ms()
    host = np.maximum(p.candidate_host, 0)
    model = np.broadcast_to(p.demand_model[None, :, None], (T, D, K))
    t_ix = np.broadcast_to(np.arange(T)[:, None, None], (T, D, K))
    bits = 8.0 * (p.request_bytes + p.response_bytes)  # [D]
    flops_rate = p.rate_per_s * p.model_flops[p.demand_model][None, :]  # [T, D] flop/s of the whole demand
    bits_rate = p.rate_per_s * bits[None, :]  # [T, D] bit/s
    compute = p.compute_budget_flops_s()
    link_bps = 1e9 * p.link_gbps
    site_bps = 1e9 * p.site_access_gbps
    site = np.broadcast_to(p.demand_site[None, :], (T, D))

    ok = p.carrying_slots()

    # Scale: all requests x their mean best latency, so the objective of a good solution is about 1.
    total = float(R.sum())
    best = np.where(ok, L, np.inf).min(axis=2)
    served = np.isfinite(best) & (R > 0)
    mean_best = float((R * np.where(served, best, 0.0)).sum() / max(R[served].sum(), 1e-300)) if served.any() else 1.0
    scale = max(total * max(mean_best, 1e-3), 1e-9)
    w = R / max(total, 1e-300)  # [T, D] share of all requests

    # The unserved option: priced at the penalty, or, when every request must be served, only where no slot
    # can carry the demand-epoch (a stiff price: the repair reports such problems infeasible).
    if p.unserved_penalty_ms is None:
        penalty = 100.0 * max(float(np.where(ok, L, 0.0).max(initial=0.0)), mean_best, 1.0)
        unserved_ok = ~ok.any(axis=2)
    else:
        penalty = p.unserved_penalty_ms
        unserved_ok = np.ones((T, D), bool)

    pair = (np.zeros_like(t_ix) if fixed else t_ix) * M * H + model * H + host
    pair_ok = np.zeros(Ty * M * H, bool)
    pair_ok[pair[ok]] = True
    pair_ok = pair_ok.reshape(Ty, M, H)
    opening = (T if fixed else 1) * p.opening_cost[None] * np.ones((Ty, 1, 1))
    gb = p.model_memory_bytes / 1e9
    migration = (0.0 if fixed else p.migration_cost_per_gb) * np.broadcast_to(gb[:, None], (M, H))
    upload = np.zeros((Ty, M, H))
    if not fixed:
        upload = 8.0 * p.model_memory_bytes[None, :, None] / p.epoch_s[:, None, None] * _inverse(link_bps)[:, None, :]

    # Penalty weights: each row's limit counted in requests (as a share of all requests), so a penalty of
    # rho x violation per request is comparable to the objective's latency per request (about 1 here).
    # Each demand-epoch counts as spread over its usable slots.
    n_ok = np.maximum(ok.sum(axis=2, keepdims=True), 1)
    spread = np.where(ok, w[:, :, None], 0.0) / n_ok  # [T, D, K]
    row = t_ix * H + host
    slot_flops = np.where(ok, flops_rate[:, :, None] * _inverse(compute)[t_ix, host], 0.0)
    slot_bits = np.where(ok, bits_rate[:, :, None] * _inverse(link_bps)[t_ix, host], 0.0)
    site_bits = bits_rate * _inverse(site_bps)[np.arange(T)[:, None], site]  # [T, D]

    def requests_per_limit(keys, n, weight, load):
        """Per row: the requests (share of all) that fill its limit, sum of weight / sum of weight x load per
        unit of request share; `load` is the load (fraction of the limit) of each term's whole demand."""
        per_request = np.divide(load, np.broadcast_to(w if load.ndim == 2 else w[:, :, None], load.shape),
                                out=np.zeros(load.shape), where=weight > 0)
        num = np.bincount(keys.ravel(), weight.ravel(), n)
        den = np.bincount(keys.ravel(), (weight * per_request).ravel(), n)
        return np.divide(num, den, out=np.zeros(n), where=den > 0)

    mass_compute = requests_per_limit(row, T * H, spread, slot_flops).reshape(T, H)
    mass_link = requests_per_limit(row, T * H, spread, slot_bits).reshape(T, H)
    site_key = np.arange(T)[:, None] * S + site
    mass_site = requests_per_limit(site_key, T * S, w, site_bits).reshape(T, S)
    through_pair = np.bincount(pair[ok], spread[ok], Ty * M * H).reshape(Ty, M, H)
    # Memory rows constrain copies: weight them by the requests their host could serve per copy.
    through = np.bincount(row.ravel(), spread.ravel(), T * H).reshape(T, H)
    through = through.sum(axis=0, keepdims=True) if fixed else through
    memory_frac = p.model_memory_bytes[:, None] * _inverse(p.memory_bytes)[None, :]  # [M, H]
    copies_load = (pair_ok * memory_frac).sum(axis=1)  # [Ty, H] memory if every candidate copy were placed
    mass_memory = np.divide(through, copies_load, out=np.zeros(through.shape), where=copies_load > 0)

    f = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    i = lambda a: jnp.asarray(a, jnp.int32)  # noqa: E731
    relaxation = Relaxation(
        slot_ok=jnp.asarray(ok), cost=f(np.where(ok, R[:, :, None] * np.where(ok, L, 0.0), 0.0) / scale),
        unserved_ok=jnp.asarray(unserved_ok), unserved_cost=f(R * penalty / scale),
        slot_pair=i(np.where(ok, pair, 0)), slot_row=i(np.where(ok, row, 0)),
        slot_flops=f(slot_flops), slot_bits=f(slot_bits), site_row=i(site_key), site_bits=f(site_bits),
        pair_ok=jnp.asarray(pair_ok), open_cost=f(np.where(pair_ok, opening, 0.0) / scale),
        migration_cost=f(migration / scale), upload=f(upload),
        memory=f(memory_frac), mass_xy=f(np.where(ok, w[:, :, None], 0.0)), mass_compute=f(mass_compute),
        mass_link=f(mass_link), mass_site=f(mass_site), mass_memory=f(mass_memory),
        integral_y=f(np.where(pair_ok, opening / scale + through_pair, 0.0)),
        integral_x=f(np.where(ok & p.single_source, w[:, :, None], 0.0)))
    return relaxation, scale


def _relaxed(params, r: Relaxation, tau_x, tau_y, clamp):
    """Shares x [T, D, K], unserved u [T, D] and placement y [Ty, M, H] from the logits; y is clamp where
    clamp >= 0 (a rounded placement), free where clamp < 0."""
    a, b = params
    mask = jnp.concatenate([r.slot_ok, r.unserved_ok[..., None]], axis=-1)
    share = jax.nn.softmax(jnp.where(mask, a / tau_x, -1e9), axis=-1) * mask
    y = jnp.where(clamp >= 0, clamp, jax.nn.sigmoid(b / tau_y)) * r.pair_ok
    return share[..., :-1], share[..., -1], y


def _terms(params, r: Relaxation, tau_x, tau_y, clamp):
    """Objective (scaled) and the rows g <= 0 with their penalty weights."""
    x, u, y = _relaxed(params, r, tau_x, tau_y, clamp)
    T, H = r.mass_compute.shape
    S = r.mass_site.shape[1]
    uploads = jax.nn.relu(y[1:] - y[:-1])  # [Ty - 1, M, H], empty in fixed placement
    obj = ((r.cost * x).sum() + (r.unserved_cost * u).sum() + (r.open_cost * y).sum()
           + (r.migration_cost * uploads).sum())
    compute = jax.ops.segment_sum((x * r.slot_flops).ravel(), r.slot_row.ravel(), T * H).reshape(T, H)
    link = jax.ops.segment_sum((x * r.slot_bits).ravel(), r.slot_row.ravel(), T * H).reshape(T, H)
    link = link.at[1:].add((r.upload[1:] * uploads).sum(axis=1)) if y.shape[0] > 1 else link
    served = x.sum(axis=-1)
    site = jax.ops.segment_sum((served * r.site_bits).ravel(), r.site_row.ravel(), T * S).reshape(T, S)
    memory = (y * r.memory[None]).sum(axis=1)  # [Ty, H]
    y_slot = y.ravel()[r.slot_pair]
    rows = {"xy": (jnp.where(r.slot_ok, x - y_slot, 0.0), r.mass_xy),
            "compute": (compute - 1.0, r.mass_compute), "link": (link - 1.0, r.mass_link),
            "site": (site - 1.0, r.mass_site), "memory": (memory - 1.0, r.mass_memory)}
    return obj, rows


def _augmented(g, lam, rho, mass):
    """Augmented Lagrangian of rows g <= 0: mass x (relu(lam + rho g)^2 - lam^2) / (2 rho)."""
    return (mass * (jax.nn.relu(lam + rho * g) ** 2 - lam ** 2)).sum() / (2.0 * rho)


def _integrality(params, r: Relaxation, tau, clamp):
    """Concave pull towards 0/1: sum of weight x v (1 - v) over copies y and, under single_source, shares x."""
    x, _, y = _relaxed(params, r, tau, tau, clamp)
    return (r.integral_y * y * (1.0 - y)).sum() + (r.integral_x * x * (1.0 - x)).sum()


def _one_restart(init, clamp, r: Relaxation, schedule, lr):
    """One relaxation from initial logits (a [T, D, K + 1], b [Ty, M, H]) with copies clamped where
    clamp >= 0: Adam steps in one scan. Step i uses temperature tau[i], penalty weight rho[i] and
    integrality weight mu[i]; the multipliers are updated after the steps where update[i]."""
    adam = optax.scale_by_adam(b2=ADAM_B2)

    def loss(params, lams, tau, rho, mu):
        obj, rows = _terms(params, r, tau, tau, clamp)
        penalty = sum(_augmented(g, lams[n], rho, m) for n, (g, m) in rows.items())
        return obj + penalty + mu * _integrality(params, r, tau, clamp), {n: g for n, (g, _) in rows.items()}

    grad = jax.grad(loss, has_aux=True)

    def step(carry, s):
        params, opt_state, lams = carry
        grads, rows = grad(params, lams, s["tau"], s["rho"], s["mu"])
        updates, opt_state = adam.update(grads, opt_state)
        params = jax.tree.map(lambda p_, u: p_ - lr * u, params, updates)
        lams = {n: jnp.where(s["update"], jax.nn.relu(lams[n] + s["rho"] * g), lams[n]) for n, g in rows.items()}
        return (params, opt_state, lams), None

    tau = schedule["tau"]
    _, rows = _terms(init, r, tau[0], tau[0], clamp)
    lams = {n: jnp.zeros_like(g) for n, (g, _) in rows.items()}
    (params, _, _), _ = jax.lax.scan(step, (init, adam.init(init), lams), schedule)
    x, u, y = _relaxed(params, r, tau[-1], tau[-1], clamp)
    obj, rows = _terms(params, r, tau[-1], tau[-1], clamp)
    violation = jnp.stack([jnp.max(g, initial=0.0) for g, _ in rows.values()])
    return x, u, y, obj, violation, params


ROWS = ("xy", "compute", "link", "site", "memory")  # the order of `relax`'s violations


@jax.jit
def _relax(init, clamp, r: Relaxation, schedule, lr):
    """All restarts at once (vmap over the initial logits and clamps). Compiled once per problem shape,
    restart count and step count; schedules, learning rate and clamps are arrays, so other values do not
    recompile."""
    return jax.vmap(_one_restart, in_axes=(0, 0, None, None, None))(init, clamp, r, schedule, lr)


def schedules(options: GradientOptions) -> dict[str, np.ndarray]:
    """Per step: temperature tau (geometric from first to last), penalty weight rho (geometric, constant
    between multiplier updates), integrality weight mu (0, then rising linearly over the last
    `integrality_share` of the steps) and update (the multipliers are updated after the step)."""
    every = max(1, options.multiplier_every)
    n = max(every, -(-options.steps // every) * every)
    geometric = lambda ends, f: ends[0] * (ends[1] / ends[0]) ** f  # noqa: E731
    block = np.arange(n) // every
    start = (1.0 - options.integrality_share) * n
    return {"tau": geometric(options.temperature, np.linspace(0.0, 1.0, n)),
            "rho": geometric(options.penalty, block / max(block[-1], 1)),
            "mu": options.integrality * np.clip((np.arange(n) + 1 - start) / max(n - start, 1), 0.0, 1.0),
            "update": (np.arange(n) % every) == every - 1}


def relax(problem: PlacementProblem, options: GradientOptions = GradientOptions(), *, seed: int = 0):
    """Run the relaxation from `options.restarts` random starts (numpy generator seeded by `seed`), then,
    with `options.reassign`, again from where each ended with its copies rounded (restart i at
    thresholds[i % len(thresholds)]) and clamped, so its shares fit the copies it will get.

    Returns (phases, scale): one dict per phase with x [restart, T, D, K], u [restart, T, D],
    y [restart, Ty, M, H], objective [restart] (scaled), violation [restart, len(ROWS)] (the largest of each
    row kind, in fractions of the limits; shares for "xy"), numpy float64."""
    r, scale = build_relaxation(problem, options.dtype)
    dtype = jnp.dtype(options.dtype)
    rng = np.random.default_rng(seed)
    n = options.restarts
    params = (jnp.asarray(options.init_scale * rng.standard_normal((n,) + r.cost.shape[:2] + (r.cost.shape[2] + 1,)), dtype),
              jnp.asarray(options.init_scale * rng.standard_normal((n,) + r.pair_ok.shape), dtype))
    schedule = {k: jnp.asarray(v, dtype if v.dtype != bool else bool) for k, v in schedules(options).items()}
    lr = jnp.asarray(options.learning_rate, dtype)
    clamp = -np.ones((n,) + r.pair_ok.shape)
    phases = []
    for phase in range(2 if options.reassign else 1):
        *out, params = _relax(params, jnp.asarray(clamp, dtype), r, schedule, lr)
        phases.append(dict(zip(("x", "u", "y", "objective", "violation"), (np.asarray(a, np.float64) for a in out))))
        # Rounding for phase 2: restart i at thresholds[i % len], each copy's threshold jittered by up to
        # rounding_noise x i / (restarts - 1), so that restarts which relaxed alike still round differently
        y = phases[-1]["y"]
        centre = np.resize(np.asarray(options.thresholds, float), n)[:, None, None, None]
        jitter = options.rounding_noise * (np.arange(n) / max(n - 1, 1))[:, None, None, None]
        clamp = (y > np.clip(centre + jitter * rng.uniform(-1.0, 1.0, y.shape), 0.01, 0.99)).astype(float)
    return phases, scale


# ---------------------------------------------------------------------------------------------------
# 2. Rounding and repair; 3. local improvement


class _State(Residuals):
    """`Residuals` that can also give shares and copies back (for local moves), and be saved and restored."""

    _LIMITS = ("compute", "link", "site", "memory", "y")

    def __init__(self, problem: PlacementProblem):
        super().__init__(problem)
        p = problem
        self.penalty = p.unserved_penalty_ms
        self.host = np.maximum(p.candidate_host, 0)
        self.model = p.demand_model
        self.gb = p.model_memory_bytes / 1e9
        self.slack_link = 1e-9 * np.where(np.isfinite(self.link), np.abs(self.link), 0.0)
        self.slack_memory = 1e-9 * np.abs(self.memory)

    @classmethod
    def of(cls, problem: PlacementProblem, solution: Solution) -> "_State":
        """The state of a complete solution: its copies, shares and what they leave of every limit."""
        p = problem
        state = cls(p)
        state.y, state.x = solution.placement.copy(), solution.assignment.copy()
        T, H, S = p.n_epochs, p.n_hosts, p.site_access_gbps.shape[1]
        row = np.arange(T)[:, None, None] * H + state.host
        state.compute -= np.bincount(row.ravel(), (state.x * state.flops_per_share[:, :, None]).ravel(), T * H).reshape(T, H)
        state.link -= np.bincount(row.ravel(), (state.x * state.bits_per_share[:, :, None]).ravel(), T * H).reshape(T, H)
        state.link -= uploads_bps(p, state.y)
        site_row = np.arange(T)[:, None] * S + p.demand_site[None, :]
        state.site -= np.bincount(site_row.ravel(), (state.x.sum(axis=2) * state.bits_per_share).ravel(), T * S).reshape(T, S)
        state.memory -= (state.y * p.model_memory_bytes[None, :, None]).sum(axis=1)
        state.remaining = np.where(state.requests > 0, np.maximum(1.0 - state.x.sum(axis=2), 0.0), 0.0)
        return state

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
        np.add.at(self.compute[t], h[used], self.flops_per_share[t, d] * x[used])
        np.add.at(self.link[t], h[used], self.bits_per_share[t, d] * x[used])
        self.site[t, p.demand_site[d]] += self.bits_per_share[t, d] * x[used].sum()
        self.x[t, d] = 0.0
        self.remaining[t, d] = 1.0 if self.requests[t, d] > 0 else 0.0

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
            cost += p.migration_cost_per_gb * self.gb[m] * (y[1:] & ~y[:-1]).sum()
        return float(cost)

    def placed_slots(self, t: int, d: int) -> np.ndarray:
        """Usable slots of (t, d) whose copy is placed, by increasing latency."""
        k = np.flatnonzero(self.usable[t, d] & self.y[t, self.model[d], self.host[t, d]])
        return k[np.argsort(self.latency[t, d][k], kind="stable")]



def _demand_order(state: _State, keys: np.ndarray) -> np.ndarray:
    """(epoch, demand) pairs with requests by decreasing key; epoch by epoch in per_epoch placement."""
    t, d = np.nonzero(state.requests > 0)
    sort = (-keys[t, d],) + (() if state.fixed else (t,))
    order = np.lexsort(sort)
    return np.stack([t[order], d[order]], axis=1)


def _repair(problem: PlacementProblem, x: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> _State:
    """A feasible solution from relaxed shares x [T, D, K] and placement probabilities y [Ty, M, H]: the
    copies with y > threshold are offered first."""
    p = problem
    state = _State(p)
    T = p.n_epochs
    offered_copy = np.broadcast_to(y > threshold, (T,) + y.shape[1:])  # [T, M, H]
    t_ix = np.arange(T)[:, None, None]
    offered = state.usable & offered_copy[t_ix, p.demand_model[None, :, None], state.host]
    penalty = np.inf if p.unserved_penalty_ms is None else p.unserved_penalty_ms
    # Visit order: requests x spread between the two best offered slots (unserved when only one).
    L = np.sort(np.where(offered, state.latency, np.inf), axis=2)
    best = L[:, :, 0]
    second = np.minimum(L[:, :, 1] if L.shape[2] > 1 else np.inf, penalty)
    with np.errstate(invalid="ignore"):
        spread = np.nan_to_num(state.requests * (second - best), nan=0.0, posinf=1e300)
    order = _demand_order(state, np.where(np.isfinite(best), spread, -1.0))

    # Relaxed shares where they fit (not under single_source: there a slot takes the whole demand)
    if not p.single_source:
        for t, d in order:
            ks = np.flatnonzero(offered[t, d] & (x[t, d] > 1e-3))
            for k in ks[np.argsort(-x[t, d, ks], kind="stable")]:
                share = min(state.shares(t, d)[k], x[t, d, k], state.remaining[t, d])
                if share > EPS:
                    state.assign(t, d, k, share)
    # What is left: offered or placed copies by decreasing relaxed share (single_source) or latency
    for t, d in order:
        if state.remaining[t, d] <= EPS:
            continue
        placed = state.y[t, p.demand_model[d], state.host[t, d]]
        ks = np.flatnonzero(state.usable[t, d] & (offered[t, d] | placed))
        key = -x[t, d, ks] if p.single_source else state.latency[t, d, ks]
        state.fill(t, d, ks[np.argsort(key, kind="stable")])
    # Still left: a new copy where it pays for itself on this demand-epoch (anywhere when all must be served)
    for t, d in order:
        state.serve_where_it_pays(t, d, np.full(p.n_slots, state.requests[t, d]), penalty)
    return state


EJECT_SLOTS = 3  # faster full copies tried per demand-epoch by an ejection
SWAP_HOSTS = 4  # hosts a copy may move to, per copy and pass


class _Improver:
    """Local moves on a `_State`, each scored by its exact change of objective and kept only if it lowers it."""

    def __init__(self, state: _State, max_moves: int, deadline: float):
        self.s = state
        self.p = state.problem
        self.moves = self.accepted = 0
        self.max_moves, self.deadline = max_moves, deadline
        p = self.p
        # For each (model, host): the (epoch, demand, slot) triples that a copy there could serve.
        usable = np.argwhere(state.usable)
        t, d, k = usable.T
        key = p.demand_model[d] * p.n_hosts + state.host[t, d, k]
        order = np.argsort(key, kind="stable")
        self.pair_keys, starts = np.unique(key[order], return_index=True)
        self.pair_slots = np.split(usable[order], starts[1:])
        # "Don't look" marks: a move rejected when nothing in its neighbourhood (the hosts its demands could
        # use or its copies sit on, their sites) has changed since is rejected again, so it is not retried.
        self.version = 0  # accepted moves so far
        self.host_stamp = np.zeros(p.n_epochs * p.n_hosts, int)  # version of the last change per (epoch, host)
        self.site_stamp = np.zeros(p.n_epochs * p.site_access_gbps.shape[1], int)
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
        T, H, S = p.n_epochs, p.n_hosts, p.site_access_gbps.shape[1]
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
        before = sum(s.demand_cost(t, d) for t, d in demands) + sum(s.copy_cost(m, h) for m, h in pairs)
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
        after = sum(s.demand_cost(t, d) for t, d in demands) + sum(s.copy_cost(m, h) for m, h in pairs)
        if after < before - 1e-9 * max(abs(before), 1.0):
            self.accepted += 1
            self.version += 1
            self.host_stamp[hosts] = self.version
            self.site_stamp[sites] = self.version
            return True
        s.restore(saved)
        self.rejected[move] = self.version
        return False

    def refill_pass(self) -> bool:
        """Each demand-epoch whose slowest part could go to a faster placed copy: served again."""
        s, improved = self.s, False
        marginal = self._marginal()
        for t, d in _demand_order(s, s.requests):
            if not self.budget_left():
                break
            placed = s.placed_slots(t, d)
            if placed.size and s.latency[t, d, placed[0]] < marginal[t, d]:
                improved |= self._try(("refill", t, d), [(t, d)], lambda: None, [])
        return improved

    def eject_pass(self) -> bool:
        """Each demand-epoch whose slowest part could go to a faster placed copy that is full: served there
        first, the host's other demand-epochs of that epoch served again after it (its cheapest
        `EJECT_SLOTS` such copies are tried)."""
        s, improved = self.s, False
        marginal = self._marginal()
        for t, d in _demand_order(s, s.requests):
            if not self.budget_left():
                break
            placed = s.placed_slots(t, d)
            faster = placed[s.latency[t, d, placed] < marginal[t, d]]
            for k in faster[:EJECT_SLOTS]:
                h = s.host[t, d, k]
                others = np.flatnonzero(((s.host[t] == h) & (s.x[t] > 0)).any(axis=1))
                others = others[others != d]
                if others.size == 0 or s.x[t, d, k] >= 1.0 - EPS:
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
        np.add.at(load, (t_ix, np.broadcast_to(p.demand_model[None, :, None], s.x.shape), s.host),
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
            hit[epochs] = (s.host[epochs] == h) & (p.demand_model[None, :, None] == m)
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
            hit[epochs] = (s.host[epochs] == h) & (p.demand_model[None, :, None] == m)
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
        mode, where an idle copy saves the next epoch's upload) and the links still carry the uploads."""
        s = self.s
        served = self._served() > 0
        idle = ~served.any(axis=0, keepdims=True) & s.y[:1] if s.fixed else s.y & ~served
        for t, m, h in np.argwhere(idle)[::-1]:  # last epochs first: a later idle copy no longer needs an upload
            saved = s.save([])  # no share changes
            before = s.copy_cost(m, h)
            s.unplace(t, m, h)
            if not (s.ok() and s.copy_cost(m, h) <= before):
                s.restore(saved)

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


def relaxed_restarts(problem: PlacementProblem, options: GradientOptions) -> int:
    """Restarts of the augmented Lagrangian that fit `max_relaxed_shares` (0: the relaxation is skipped)."""
    per_restart = problem.n_epochs * problem.n_demands * problem.n_slots
    return min(options.restarts, options.max_relaxed_shares // max(per_restart, 1))


def solve(problem: PlacementProblem, options: GradientOptions = GradientOptions(), *, seed: int = 0) -> SolveResult:
    """Lagrangian prices and the augmented Lagrangian relaxation (JAX), each relaxed solution rounded and
    repaired (numpy, exact), the best improved; see the module docstring."""
    start = time.perf_counter()
    hosts = problem.candidate_hosts()
    if 0 < len(hosts) < problem.n_hosts:
        # Hosts that are no demand's candidate carry nothing; without them every array scales with the hosts
        # in use (a few hundred of a 9,543-satellite catalog over one country), not with the constellation.
        result = solve(problem.restricted_to(hosts), options, seed=seed)
        solution = None if result.solution is None else result.solution.on_hosts(hosts, problem.n_hosts)
        return dataclasses.replace(result, solution=solution, solve_seconds=time.perf_counter() - start,
                                   message=f"{len(hosts)} of {problem.n_hosts} hosts are candidates; {result.message}")
    p = problem
    repaired = []  # (objective, order, tag, state)

    def offer(tag, state):
        value = objective(p, state.solution()) if _complete(state) else np.inf
        repaired.append((value, len(repaired), tag, state))

    notes = []
    bound = np.nan
    if options.dual_steps > 0:
        dual = lagrangian.DualOptions(steps=options.dual_steps, dtype=options.dtype)
        prices = lagrangian.ascend(p, dual)
        bound = prices.bound
        # Then, if the memory does not let the first prices have every copy they use, again within the
        # copies it lets them have, so that the shares fit those copies.
        use = relaxed_use(p, prices.x)
        copies = choose_copies(p, use)
        passes = [("prices", None)] + ([("prices within copies", copies)] if (use[~copies] > 0).any() else [])
        for tag, within in passes:
            if within is not None:
                prices = lagrangian.ascend(p, dual, within)
            if p.single_source:
                use = relaxed_use(p, prices.x)
                offer((tag,), _repair(p, prices.x, (use.sum(axis=0, keepdims=True) if p.placement == "fixed" else use) > 0))
            else:
                offer((tag,), _State.of(p, repair(p, prices.x, prices.reduced_cost(p))))
        notes.append(f"Lagrangian bound {bound:.6g} ({options.dual_steps} steps x {len(passes)}, "
                     f"{time.perf_counter() - start:.2f} s); repaired from its prices "
                     + ", within its copies ".join(f"{value:.6g}" for value, *_ in repaired))

    restarts = relaxed_restarts(p, options)
    if restarts > 0:
        started = time.perf_counter()
        phases, scale = relax(p, dataclasses.replace(options, restarts=restarts), seed=seed)
        relax_seconds = time.perf_counter() - started
        deadline = time.perf_counter() + options.time_budget_s
        # Repair every restart all at once where demands split (the copies follow the shares), and the
        # `polish` best of each phase (every restart under single_source) demand by demand, at the copies
        # their rounding offers (phase 0 at each threshold, phase 1 at its clamped copies): the first
        # finds better assignments, the second keeps the relaxation's judgement of which copies pay.
        for phase, d in enumerate(phases):
            exact = set(np.argsort(d["objective"], kind="stable")[:max(1, options.polish)].tolist())
            for i in range(restarts):
                if not p.single_source:
                    offer((phase, i), _State.of(p, repair(p, d["x"][i], p.latency_ms())))
                    if i not in exact:
                        continue
                offered = set()  # a threshold that offers the same copies as another gives the same repair
                for threshold in (options.thresholds if phase == 0 else (0.5,)):
                    key = (d["y"][i] > threshold).tobytes()
                    if key not in offered:
                        offered.add(key)
                        offer((phase, i, threshold), _repair(p, d["x"][i], d["y"][i], threshold))
            if time.perf_counter() > deadline:
                break
        relaxed = phases[0]["objective"]
        first = int(relaxed.argmin())
        notes.append(f"{restarts} restarts x {options.steps} steps x {len(phases)} phases ({relax_seconds:.2f} s); "
                     f"best relaxed objective {float(relaxed[first]) * scale:.6g} (largest row violation "
                     f"{float(phases[0]['violation'][first].max()):.2g})")
    else:
        deadline = time.perf_counter() + options.time_budget_s
        notes.append("augmented Lagrangian skipped (max_relaxed_shares)")
    if not repaired:
        raise ValueError("GradientOptions: dual_steps = 0 and no relaxed restart fits max_relaxed_shares")
    repaired.sort(key=lambda r: r[:2])
    value, _, tag, best = repaired[0]
    where = tag[0] if len(tag) == 1 else ", ".join(f"{k} {v}" for k, v in zip(("phase", "restart", "threshold"), tag))
    notes.append(f"best repaired {value:.6g} ({where})")
    message = "; ".join(notes)
    if not _complete(best):
        return no_solution("gradient", p, best.remaining, start, message)

    if options.improve:
        # Improve the best `polish` repaired solutions with different placements; keep the best result.
        chosen, seen = [], set()
        for value, _, tag, state in repaired:
            key = state.y.tobytes()
            if np.isfinite(value) and key not in seen and len(chosen) < max(1, options.polish):
                seen.add(key)
                chosen.append(state)
        finals = []
        moves = accepted = 0
        for state in chosen:
            before = state.save()
            improver = _Improver(state, options.max_moves, deadline)
            improver.run()
            moves, accepted = moves + improver.moves, accepted + improver.accepted
            if not evaluate(p, state.solution()).feasible:  # a bug in a move: keep the repaired solution
                state.restore(before)
                message += "; an improvement was discarded (it failed the evaluator)"
            finals.append((objective(p, state.solution()), len(finals), state))
        value, _, best = min(finals, key=lambda f: f[:2])
        message += f"; improved {len(chosen)} of them ({accepted} of {moves} moves kept): {value:.6g}"
    if not p.single_source and 0 < int(p.usable_slots().sum()) <= options.exact_assignment_slots:
        exact = _exact_assignment(best)
        if exact is not None:
            value = objective(p, exact.solution())
            message += f"; assignment LP at its copies {value:.6g}"
            if value < objective(p, best.solution()) and evaluate(p, exact.solution()).feasible:
                best = exact
    solution = best.solution()
    return SolveResult("gradient", Status.FEASIBLE, solution, objective=objective(p, solution), dual_bound=bound,
                       solve_seconds=time.perf_counter() - start, message=message)


ASSIGNMENT_LP_LIMIT_S = 60.0  # well above what exact_assignment_slots lets it take (about 3 s per 100k slots, 2 cores)


def _exact_assignment(state: _State) -> _State | None:
    """The best shares at `state`'s copies (the MILP with every y fixed: an LP for splittable demands) and
    the copies left idle dropped; None if the LP finds no solution in its time."""
    result = milp.solve(state.problem, milp.MilpOptions(relax=True, time_limit_s=ASSIGNMENT_LP_LIMIT_S),
                        placement=state.y)
    if result.solution is None:
        return None
    exact = _State.of(state.problem, result.solution)
    _Improver(exact, 0, 0.0).drop_idle()
    return exact


def _complete(state: _State) -> bool:
    """Every request served, when that is required."""
    return state.problem.unserved_penalty_ms is not None or not (state.remaining > EPS).any()
