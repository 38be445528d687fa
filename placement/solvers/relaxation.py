"""The augmented Lagrangian relaxation of the MILP of `placement.solvers.milp`, optimised in JAX.

`build_relaxation` turns a problem into fixed-shape arrays (`Relaxation`), built once per problem, with costs
divided by a scale (all requests x their mean best latency, so the objective is about 1 on every instance and
one learning rate fits all) and loads by their limits. The Lagrangian prices (`placement.solvers.lagrangian`)
use the same arrays.

`relax` runs the relaxation from `restarts` random initial logits under `vmap`, compiled once per problem
shape, restart count and step count (schedules, learning rate and clamps are arrays). Each demand-epoch's
shares x are a capped softmax (`capped_softmax`) over its usable slots plus, when requests may go unserved,
an "unserved" option: a softmax whose shares are held at most at their slots' candidate_share, so (12)
holds by construction; each copy y (a (model, host) pair some usable slot could use; per epoch in per_epoch
mode) is a sigmoid. The objective is latency + unserved + opening + migration with uploads
relu(y[t] - y[t-1]), plus, where requests queue, the waiting of (13) at each host-epoch's compute load. The linking rows (2) x <= y, the capacity rows (3)-(4) compute, (6) host link
(requests and uploads), (7a) site uplink, (7b) site downlink, (16) shared links and (5) memory enter by an augmented
Lagrangian: multipliers updated every `multiplier_every` steps, the penalty weight growing geometrically;
each row's penalty is weighted by the requests that fill its limit, so one schedule fits every row. A
concave pull v (1 - v), rising over the last steps, drives copies (and, under single_source, shares) to 0
or 1; temperatures divide the logits (default: constant 1, see `GradientOptions`). Adam (optax) takes the
steps in one `lax.scan`. A second phase (`reassign`) starts from where each restart ended, with its copies
rounded and clamped, so its shares fit the copies it will get.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from placement.problem.queueing import queue_length
from placement.problem.spec import PlacementProblem, inverse_limit
from placement.solvers.options import GradientOptions

ADAM_B2 = 0.99  # Adam's second-moment decay: the penalty weight grows 1000x, so its memory must be short


@functools.partial(jax.tree_util.register_dataclass, meta_fields=["capped"], data_fields=[
    "slot_ok", "slot_share", "cost", "unserved_ok", "unserved_cost", "slot_pair", "slot_row", "slot_flops",
    "slot_bits", "slot_via", "site_row", "site_up", "site_down", "shared_row", "shared_load", "pair_ok", "open_cost", "migration_cost", "upload", "memory",
    "mass_xy", "mass_compute", "mass_link", "mass_uplink", "mass_downlink", "mass_shared", "mass_memory", "integral_y",
    "integral_x", "wait_cost", "wait_intercept", "wait_slope"])
@dataclasses.dataclass(frozen=True)
class Relaxation:
    """The problem as fixed-shape arrays (Ty = 1 in fixed placement, T in per_epoch), costs divided by
    `scale` and loads by their limits (a row is violated when its load exceeds 1).

    slot_ok [T, D, K]        usable slot that could carry requests at all (the model fits, links > 0)
    slot_share [T, D, K]     the most of the demand-epoch the slot may serve (12; 1 where not slot_ok);
                             capped: whether any is below 1
    cost [T, D, K]           R x latency of serving the whole demand-epoch there
    unserved_ok, unserved_cost [T, D]   the unserved option (R x penalty)
    slot_pair [T, D, K]      flat index into [Ty, M, H] of the copy a slot needs
    slot_row [T, D, K]       flat (epoch, host) row of the slot; slot_flops, slot_bits: its compute and link
                             load per unit share, as a fraction of that host's limit (0 where unlimited)
    slot_via [T, D, K]       1 where the slot's requests cross the site's terminals (not a local host)
    site_row, site_up, site_down [T, D] (epoch, site) row and its uplink and downlink load per unit share
                             served through the terminals, as fractions of the site's limits (0: unlimited)
    shared_row, shared_load [T, D, K, 2L]  the (epoch, link) rows of (16) each slot loads (flat; padding on a
                             spare last row) and its load per unit share, as fractions of the link's capacity
    pair_ok [Ty, M, H]       copies some usable slot could use; open_cost [Ty, M, H] per copy placed;
    migration_cost [M, H]    per upload (per_epoch); upload [Ty, M, H] its link load (fraction of the limit)
    memory [M, H]            model bytes / host memory
    mass_*                   per row: the requests (share of all) that fill its limit (penalty weights)
    integral_y [Ty, M, H], integral_x [T, D, K]   weights of the pull towards 0/1: a copy's opening cost
                             plus the requests that could use it; a share's requests (single_source only)
    wait_cost [T, H]         objective per request waiting on average at the host (1e3 epoch_s; 0 where
                             requests do not queue); wait_intercept, wait_slope [H, chord] the chords of the
                             mean queue against the compute row's load (a fraction of the ceiling's budget)
    """

    slot_ok: jax.Array
    slot_share: jax.Array
    cost: jax.Array
    unserved_ok: jax.Array
    unserved_cost: jax.Array
    slot_pair: jax.Array
    slot_row: jax.Array
    slot_flops: jax.Array
    slot_bits: jax.Array
    slot_via: jax.Array
    site_row: jax.Array
    site_up: jax.Array
    site_down: jax.Array
    shared_row: jax.Array
    shared_load: jax.Array
    pair_ok: jax.Array
    open_cost: jax.Array
    migration_cost: jax.Array
    upload: jax.Array
    memory: jax.Array
    mass_xy: jax.Array
    mass_compute: jax.Array
    mass_link: jax.Array
    mass_uplink: jax.Array
    mass_downlink: jax.Array
    mass_shared: jax.Array  # [T x links + 1]: the spare row last
    mass_memory: jax.Array
    integral_y: jax.Array
    integral_x: jax.Array
    wait_cost: jax.Array
    wait_intercept: jax.Array
    wait_slope: jax.Array
    capped: bool  # static: some slot_share is below 1 (else the shares are plain softmaxes, see capped_softmax)


def row_loads(problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """float64: the load a whole demand-epoch puts on each of its rows, as a fraction of the row's limit (0
    where unlimited): compute (3)-(4) and host link (6) [T, D, K] at each carrying slot (0 elsewhere), site
    uplink (7a) and downlink (7b) [T, D] (of the share served through the site's terminals). The relaxation and the Lagrangian prices weigh the same rows with
    these."""
    p = problem
    t, host = np.arange(p.n_epochs)[:, None, None], np.maximum(p.candidate_host, 0)
    ok = p.carrying_slots()
    compute = np.where(ok, p.slot_flops_per_s() * inverse_limit(p.compute_budget_flops_s())[t, host], 0.0)
    link = np.where(ok, p.bits_per_s()[:, :, None] * inverse_limit(p.link_bps())[t, host], 0.0)
    at_site = t[:, :, 0], p.demand_site[None, :]  # [T, D] index of each demand-epoch's (epoch, site)
    uplink = p.request_bits_per_s() * inverse_limit(p.site_uplink_bps())[at_site]
    downlink = p.response_bits_per_s() * inverse_limit(p.site_downlink_bps())[at_site]
    return compute, link, uplink, downlink


def shared_loads(problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray]:
    """float64 [T, D, K, 2L] each: the (epoch, link) rows of (16) each carrying slot loads (flat epoch x link;
    padding on a spare last row, T x links) and the load of its whole demand-epoch there, as a fraction of the
    link's capacity (0 where unlimited)."""
    p = problem
    spare = p.n_epochs * p.n_links
    row, bits = p.link_terms()
    row = np.where(row >= 0, row, spare)
    per_capacity = np.append(inverse_limit(p.network_link_bps()).ravel(), 0.0)[row]
    return row, np.where(p.carrying_slots()[..., None], bits * per_capacity, 0.0)


def reachable(slot_ok: np.ndarray, slot_share: np.ndarray) -> np.ndarray:
    """[T, D] bool: the demand-epoch's slot_ok slots may serve all of it together (their shares add up to
    1): where they do not, the relaxations keep the unserved option even where every request must be served
    (at a stiff price), so that their shares exist."""
    return np.where(slot_ok, slot_share, 0.0).sum(axis=-1) >= 1.0


def build_relaxation(problem: PlacementProblem, dtype="float32") -> tuple[Relaxation, float]:
    """The relaxation's arrays, and the scale (request-ms) its objective is measured in."""
    p = problem
    T, D, K, H, M = p.n_epochs, p.n_demands, p.n_slots, p.n_hosts, p.n_models
    S = p.site_uplink_gbps.shape[1]
    fixed = p.placement == "fixed"
    Ty = 1 if fixed else T
    R = p.requests()
    L = p.slot_cost_ms()
    host = np.maximum(p.candidate_host, 0)
    model = p.candidate_model
    t_ix = np.broadcast_to(np.arange(T)[:, None, None], (T, D, K))
    site = np.broadcast_to(p.demand_site[None, :], (T, D))

    ok = p.carrying_slots()

    # Scale: all requests x their mean best latency, so the objective of a good solution is about 1.
    total = float(R.sum())
    best = np.where(ok, L, np.inf).min(axis=2)
    served = np.isfinite(best) & (R > 0)
    mean_best = float((R * np.where(served, best, 0.0)).sum() / max(R[served].sum(), 1e-300)) if served.any() else 1.0
    scale = max(total * max(mean_best, 1e-3), 1e-9)
    w = R / max(total, 1e-300)  # [T, D] share of all requests

    # The unserved option: priced at the penalty, or, when every request must be served, only where the
    # slots cannot carry all of the demand-epoch (a stiff price: the repair reports such problems infeasible).
    slot_share = np.where(ok, p.candidate_share, 1.0)
    if p.unserved_penalty_ms is None:
        penalty = 100.0 * max(float(np.where(ok, L, 0.0).max(initial=0.0)), mean_best, 1.0)
        unserved_ok = ~reachable(ok, slot_share)
    else:
        penalty = p.unserved_penalty_ms
        unserved_ok = np.ones((T, D), bool)

    pair = (np.zeros_like(t_ix) if fixed else t_ix) * M * H + model * H + host
    pair_ok = np.zeros(Ty * M * H, bool)
    pair_ok[pair[ok]] = True
    pair_ok = pair_ok.reshape(Ty, M, H)
    opening = (T if fixed else 1) * p.opening_cost[None] * np.ones((Ty, 1, 1))
    migration = np.zeros((M, H)) if fixed else np.broadcast_to(p.migration_cost()[:, None], (M, H))
    upload = np.zeros((Ty, M, H)) if fixed else p.upload_bps()[:, :, None] * inverse_limit(p.link_bps())[:, None, :]

    # Penalty weights: each row's limit counted in requests (as a share of all requests), so a penalty of
    # rho x violation per request is comparable to the objective's latency per request (about 1 here).
    # Each demand-epoch counts as spread over its usable slots.
    n_ok = np.maximum(ok.sum(axis=2, keepdims=True), 1)
    spread = np.where(ok, w[:, :, None], 0.0) / n_ok  # [T, D, K]
    row = t_ix * H + host
    slot_flops, slot_bits, site_up, site_down = row_loads(p)

    def requests_per_limit(keys, n, weight, load):
        """Per row: the requests (share of all) that fill its limit, sum of weight / sum of weight x load per
        unit of request share; `load` is the load (fraction of the limit) of each term's whole demand."""
        per_request = np.divide(load, np.broadcast_to(w.reshape(w.shape + (1,) * (load.ndim - 2)), load.shape),
                                out=np.zeros(load.shape), where=weight > 0)
        num = np.bincount(keys.ravel(), weight.ravel(), n)
        den = np.bincount(keys.ravel(), (weight * per_request).ravel(), n)
        return np.divide(num, den, out=np.zeros(n), where=den > 0)

    mass_compute = requests_per_limit(row, T * H, spread, slot_flops).reshape(T, H)
    mass_link = requests_per_limit(row, T * H, spread, slot_bits).reshape(T, H)
    site_key = np.arange(T)[:, None] * S + site
    mass_uplink = requests_per_limit(site_key, T * S, w, site_up).reshape(T, S)
    mass_downlink = requests_per_limit(site_key, T * S, w, site_down).reshape(T, S)
    shared_row, shared_load = shared_loads(p)
    mass_shared = requests_per_limit(shared_row, T * p.n_links + 1,
                                     np.broadcast_to(spread[..., None], shared_row.shape), shared_load)
    through_pair = np.bincount(pair[ok], spread[ok], Ty * M * H).reshape(Ty, M, H)
    # Memory rows constrain copies: weight them by the requests their host could serve per copy.
    through = np.bincount(row.ravel(), spread.ravel(), T * H).reshape(T, H)
    through = through.sum(axis=0, keepdims=True) if fixed else through
    memory_frac = p.model_memory_bytes[:, None] * inverse_limit(p.memory_bytes)[None, :]  # [M, H]
    copies_load = (pair_ok * memory_frac).sum(axis=1)  # [Ty, H] memory if every candidate copy were placed
    mass_memory = np.divide(through, copies_load, out=np.zeros(through.shape), where=copies_load > 0)

    # Waiting (13): the compute row's load is utilisation / ceiling, so the chords' slopes take the ceiling.
    queues = p.queueing & np.isfinite(p.compute_capacity_flops_s())
    wait_cost = np.where(queues, 1e3 * p.epoch_s[:, None], 0.0) / scale
    wait_intercept, wait_slope = p.waiting_chords()

    f = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    i = lambda a: jnp.asarray(a, jnp.int32)  # noqa: E731
    relaxation = Relaxation(
        slot_ok=jnp.asarray(ok), slot_share=f(slot_share),
        cost=f(np.where(ok, R[:, :, None] * np.where(ok, L, 0.0), 0.0) / scale),
        unserved_ok=jnp.asarray(unserved_ok), unserved_cost=f(R * penalty / scale),
        slot_pair=i(np.where(ok, pair, 0)), slot_row=i(np.where(ok, row, 0)),
        slot_flops=f(slot_flops), slot_bits=f(slot_bits), slot_via=f(p.via_site()), site_row=i(site_key), site_up=f(site_up),
        site_down=f(site_down), shared_row=i(shared_row), shared_load=f(shared_load),
        pair_ok=jnp.asarray(pair_ok), open_cost=f(np.where(pair_ok, opening, 0.0) / scale),
        migration_cost=f(migration / scale), upload=f(upload),
        memory=f(memory_frac), mass_xy=f(np.where(ok, w[:, :, None], 0.0)), mass_compute=f(mass_compute),
        mass_link=f(mass_link), mass_uplink=f(mass_uplink), mass_downlink=f(mass_downlink),
        mass_shared=f(mass_shared), mass_memory=f(mass_memory),
        integral_y=f(np.where(pair_ok, opening / scale + through_pair, 0.0)),
        integral_x=f(np.where(ok & p.single_source, w[:, :, None], 0.0)), wait_cost=f(wait_cost),
        wait_intercept=f(wait_intercept), wait_slope=f(wait_slope * p.utilization_ceiling),
        capped=bool((slot_share < 1).any()))
    return relaxation, scale


HOLD_MARGIN = 1e-6  # relative: a share is held at its cap only above it by more than float32 rounding


def _free_mass(cap, held):
    """[...] what the options not held leave to share: 1 less the caps of those held."""
    return 1.0 - jnp.where(held, cap, 0.0).sum(axis=-1)


def _capped(z, cap, held):
    """[..., n] shares: `cap` where held, the free mass spread over the other options in proportion to exp(z)."""
    free = jax.nn.softmax(jnp.where(held, -jnp.inf, z), axis=-1)
    return jnp.where(held, cap, _free_mass(cap, held)[..., None] * free)


def _held(z, cap):
    """[..., n] bool: the options `capped_softmax` holds at their caps (a choice: no gradient flows through
    it). Shares above their caps are held there and the others share what is left, again until none is
    above its cap: holding some only raises the others, so an option once held stays held and at most n
    rounds are needed. Every option with finite z is never held at once: where their caps add up to less
    than 1 (the callers keep the unserved option, cap 1, for that; float32 rounding of the caps may still
    do it) the last ones take the rest above their caps."""
    z, cap = jax.lax.stop_gradient(z), jax.lax.stop_gradient(cap)

    def hold(state):
        held, _ = state
        more = held | (_capped(z, cap, held) > cap * (1.0 + HOLD_MARGIN))
        more = jnp.where((~more & jnp.isfinite(z)).any(axis=-1, keepdims=True), more, held)
        return more, (more != held).any()

    return jax.lax.while_loop(lambda state: state[1], hold, (jnp.zeros(z.shape, bool), jnp.asarray(True)))[0]


def capped_softmax(z, cap, capped: bool = True):
    """[..., n] the shares x that maximise x.z - sum x log x over 0 <= x <= cap, sum x = 1 (last axis): the
    softmax of z where no cap binds, else x = cap on the options held (`_held`) and the rest in proportion
    to exp(z) (the conditions of optimality: x = min(cap, exp(z - nu)) with one nu per row). With `capped`
    (static) False, where no cap is below 1, the plain softmax: the program of a problem without shares, to
    the last bit of float32 (the capped one, equal in exact arithmetic, differs in the gradient's last bit,
    and a relaxation amplifies that), and no hold rounds."""
    return _capped(z, cap, _held(z, cap)) if capped else jax.nn.softmax(z, axis=-1)


def capped_logsumexp(z, cap, capped: bool = True):
    """[...] the maximum of `capped_softmax` itself, logsumexp(z) where no cap binds: with the held options at
    their caps c and the free mass m over the others, sum_held c (z - log c) + m (logsumexp_free(z) - log m).
    Its gradient in z is `capped_softmax(z, cap)` (the held set is fixed around its optimum). `capped` as
    there."""
    if not capped:
        return jax.nn.logsumexp(z, axis=-1)
    held = _held(z, cap)
    mass = _free_mass(cap, held)
    held_part = jnp.where(held, cap * (z - jnp.log(cap)), 0.0).sum(axis=-1)
    return held_part + mass * (jax.nn.logsumexp(jnp.where(held, -jnp.inf, z), axis=-1) - jnp.log(mass))


def option_caps(r: Relaxation) -> jax.Array:
    """[T, D, K + 1] the caps of a demand-epoch's options: its slots' shares (12), then 1 for unserved."""
    return jnp.concatenate([r.slot_share, jnp.ones(r.slot_share.shape[:2] + (1,), r.slot_share.dtype)], axis=-1)


def _relaxed(params, r: Relaxation, tau_x, tau_y, clamp):
    """Shares x [T, D, K], unserved u [T, D] and placement y [Ty, M, H] from the logits; y is clamp where
    clamp >= 0 (a rounded placement), free where clamp < 0."""
    a, b = params
    mask = jnp.concatenate([r.slot_ok, r.unserved_ok[..., None]], axis=-1)
    share = capped_softmax(jnp.where(mask, a / tau_x, -1e9), option_caps(r), r.capped) * mask
    y = jnp.where(clamp >= 0, clamp, jax.nn.sigmoid(b / tau_y)) * r.pair_ok
    return share[..., :-1], share[..., -1], y


def _terms(params, r: Relaxation, tau_x, tau_y, clamp):
    """Objective (scaled) and the rows g <= 0 with their penalty weights."""
    x, u, y = _relaxed(params, r, tau_x, tau_y, clamp)
    T, H = r.mass_compute.shape
    S = r.mass_uplink.shape[1]
    uploads = jax.nn.relu(y[1:] - y[:-1])  # [Ty - 1, M, H], empty in fixed placement
    compute = jax.ops.segment_sum((x * r.slot_flops).ravel(), r.slot_row.ravel(), T * H).reshape(T, H)
    obj = ((r.cost * x).sum() + (r.unserved_cost * u).sum() + (r.open_cost * y).sum()
           + (r.migration_cost[None] * uploads).sum()
           + (r.wait_cost * queue_length(compute, r.wait_intercept[None], r.wait_slope[None])).sum())
    link = jax.ops.segment_sum((x * r.slot_bits).ravel(), r.slot_row.ravel(), T * H).reshape(T, H)
    link = link.at[1:].add((r.upload[1:] * uploads).sum(axis=1)) if y.shape[0] > 1 else link
    served = (x * r.slot_via).sum(axis=-1)  # through the site's terminals

    def site(load):  # [T, S] the load of the shares served through the terminals on each site row
        return jax.ops.segment_sum((served * load).ravel(), r.site_row.ravel(), T * S).reshape(T, S)

    memory = (y * r.memory[None]).sum(axis=1)  # [Ty, H]
    shared = jax.ops.segment_sum((x[..., None] * r.shared_load).ravel(), r.shared_row.ravel(), r.mass_shared.shape[0])
    y_slot = y.ravel()[r.slot_pair]
    rows = {"xy": (jnp.where(r.slot_ok, x - y_slot, 0.0), r.mass_xy),
            "compute": (compute - 1.0, r.mass_compute), "link": (link - 1.0, r.mass_link),
            "uplink": (site(r.site_up) - 1.0, r.mass_uplink), "downlink": (site(r.site_down) - 1.0, r.mass_downlink),
            "shared": (shared - 1.0, r.mass_shared), "memory": (memory - 1.0, r.mass_memory)}
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


ROWS = ("xy", "compute", "link", "uplink", "downlink", "shared", "memory")  # the order of `relax`'s violations


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


def relaxed_restarts(problem: PlacementProblem, options: GradientOptions) -> int:
    """Restarts of the augmented Lagrangian that fit `max_relaxed_shares` (0: the relaxation is skipped)."""
    per_restart = problem.n_epochs * problem.n_demands * problem.n_slots
    return min(options.restarts, options.max_relaxed_shares // max(per_restart, 1))
