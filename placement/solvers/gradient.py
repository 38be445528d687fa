"""Gradient heuristic: relaxations of the MILP of `placement.solvers.milp` optimised in JAX, then rounded,
repaired and improved on the host, so the result satisfies every constraint (1)-(16) and (18) exactly. This module is
the orchestration and the per-demand repair; each algorithm has its own module.

0a. Copy prices (`placement.solvers.copy_dual`, options `copies`), where the problem has at most
   `copies.max_slots` carrying slots: the Lagrangian relaxation of the demand rows, a knapsack per copy, so
   that its bound sees opening costs; every `heuristic_every` steps the copies that pay, completed where every
   request must be served, get their assignment LP and are offered. Reduced-cost fixing closes (opens) the
   copies no solution better than the best one found can have open (closed); where the copies left free
   have at most `exact_slots` slots, HiGHS solves the MILP over them from the best solution (at most
   `exact_share` x time_budget_s). If that proves the optimum, the result is OPTIMAL and the steps below are
   skipped; otherwise the copy prices replace step 0 and the restarts of step 1 are skipped (they never
   improved on the copy prices' solutions on the optimizer benchmark), and step 5 runs.
0. Lagrangian prices (`placement.solvers.lagrangian`, options `dual`), where the copy prices did not run:
   dual ascent on the capacity rows of the copy-free relaxation. It certifies a lower bound (the result's dual_bound, so every result has a
   gap) and its averaged shares, repaired with the slots ranked by latency plus prices
   (`placement.solvers.repair`, all demand-epochs at once; the per-demand repair below under
   single_source), are the first candidate solution. At constellation scale this is the whole relaxation.
1. Augmented Lagrangian relaxation (`placement.solvers.relaxation`), run when `restarts` x epochs x demands
   x slots fits `max_relaxed_shares` (fewer restarts, or none, above it): `restarts` random initial logits,
   a second phase from each with its copies rounded and clamped.
2. Rounding and repair (numpy, exact): splittable demands by `placement.solvers.repair`, all at once, as
   the prices' shares. Single-source demands one demand-epoch at a time (`_repair`): for each restart and
   phase, the copies with y above a threshold are offered; demand-epochs (by decreasing requests x latency
   spread between their two best offered slots) take their relaxed shares where they fit, then fill what
   is left at offered or placed copies by increasing latency, then at new copies only where that pays for
   itself (latency + the copy's cost per request below the unserved penalty; any usable slot when every
   request must be served). `placement.solvers.residuals.State` tracks every limit.
3. Local improvement (`placement.solvers.local_search`; bounded by `max_moves` and `time_budget_s`) of the
   `polish` best repaired solutions with different placements. The best result by exact objective is kept.
4. The assignment LP (splittable demands, at most `exact_assignment_slots` usable slots): with the best
   solution's copies fixed, the MILP of `placement.solvers.milp` is an LP whose optimum is the best
   assignment at those copies (`milp.best_assignment`); HiGHS solves it (about 3 s per 100k slots on 2
   cores) and idle copies are then dropped. The repair and the moves serve demands greedily, one row at a
   time; on the optimizer benchmark's instances this step takes the gap to the optimum from up to 3.5% to
   at most 1.2% (experiments/benchmarks/optimizers.py). It is kept when it lowers the objective.
5. Neighbourhoods (`placement.solvers.neighbourhood`), after the copy prices, where demand-epochs x
   `copies.neighbourhood_slots` fits `exact_slots`: small MILPs over the incumbent's copies and a few more,
   solved by HiGHS, in the second half of time_budget_s (local moves take the first).

Greedy's solution is also offered where the problem has at most GREEDY_DEMAND_EPOCHS demand-epochs, and
wherever nothing else found a solution, so no result is worse than greedy's there and none is missing where
greedy finds one.

The result is FEASIBLE, or OPTIMAL where step 0a proves it (within MilpOptions' relative gap); with `unserved_penalty_ms=None` and not every
request served it is INFEASIBLE when a capacity argument (`placement.problem.shortfalls`) proves it, else
NO_SOLUTION. The same seed gives the same result unless `time_budget_s` cuts the work short. Every solution
is checked against the evaluator by the tests (tests/test_gradient.py, tests/test_solver_contract.py).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from placement.problem.objective import objective
from placement.problem.solution import Solution, SolveResult, Status
from placement.problem.spec import PlacementProblem
from placement.solvers import baselines, copy_dual, lagrangian, milp, neighbourhood
from placement.solvers.local_search import Improver
from placement.solvers.options import DualOptions, GradientOptions, MilpOptions
from placement.solvers.relaxation import relax, relaxed_restarts
from placement.solvers.repair import choose_copies, relaxed_use, repair
from placement.solvers.residuals import EPS, State, no_solution, within_slo


def _repair(problem: PlacementProblem, x: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> State:
    """A feasible solution from relaxed shares x [T, D, K] and placement probabilities y [Ty, M, H]: the
    copies with y > threshold are offered first."""
    p = problem
    state = State(p)
    T = p.n_epochs
    offered_copy = np.broadcast_to(y > threshold, (T,) + y.shape[1:])  # [T, M, H]
    t_ix = np.arange(T)[:, None, None]
    offered = state.usable & offered_copy[t_ix, p.candidate_model, state.host]
    penalty = np.inf if p.unserved_penalty_ms is None else p.unserved_penalty_ms
    # Visit order: requests x spread between the two best offered slots (unserved when only one).
    L = np.sort(np.where(offered, state.latency, np.inf), axis=2)
    best = L[:, :, 0]
    second = np.minimum(L[:, :, 1] if L.shape[2] > 1 else np.inf, penalty)
    with np.errstate(invalid="ignore"):
        spread = np.nan_to_num(state.requests * (second - best), nan=0.0, posinf=1e300)
    order = state.demand_order(np.where(np.isfinite(best), spread, -1.0))

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
        placed = state.y[t, p.candidate_model[t, d], state.host[t, d]]
        ks = np.flatnonzero(state.usable[t, d] & (offered[t, d] | placed))
        key = -x[t, d, ks] if p.single_source else state.latency[t, d, ks]
        state.fill(t, d, ks[np.argsort(key, kind="stable")])
    # Still left: a new copy where it pays for itself on this demand-epoch (anywhere when all must be served)
    for t, d in order:
        state.serve_where_it_pays(t, d, np.full(p.n_slots, state.requests[t, d]), penalty)
    return state


def solve(problem: PlacementProblem, options: GradientOptions = GradientOptions(), *, seed: int = 0,
          hint: Solution | None = None) -> SolveResult:
    """Lagrangian prices and the augmented Lagrangian relaxation (JAX), each relaxed solution rounded and
    repaired (numpy, exact), the best improved; see the module docstring. `hint` is ignored: every candidate
    comes from the relaxations of this problem."""
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
    repaired = []  # (objective, order offered, tag, state): candidate solutions, sorted below

    def offer(tag: tuple, state: State) -> None:
        state = within_slo(state)
        value = objective(p, state.solution()) if state.complete() else np.inf
        repaired.append((value, len(repaired), tag, state))

    notes = []
    bound = np.nan
    copy_prices = None  # (knapsacks, dual) where the copy prices ran
    if 0 < options.copies.steps and int(p.carrying_slots().sum()) <= options.copies.max_slots:
        bound, optimal, note, copy_prices = _from_copy_prices(p, options, offer, start)
        notes.append(note)
        if optimal is not None:
            return SolveResult("gradient", Status.OPTIMAL, optimal, objective=objective(p, optimal),
                               dual_bound=bound, solve_seconds=time.perf_counter() - start, message="; ".join(notes))
    from_copies = any(np.isfinite(value) for value, *_ in repaired)
    # The capacity prices bound a copy-free relaxation; where the copy prices ran, their bound sees the copies
    # and their candidates were better on every instance of the optimizer benchmark.
    budget_from = None  # when the time budget starts: where the prices ran, before their repairs
    if options.dual.steps > 0 and copy_prices is None:
        before = len(repaired)
        price_bound, ascents, budget_from = _from_prices(p, options.dual, offer)
        bound = np.fmax(bound, price_bound)
        notes.append(f"Lagrangian bound {price_bound:.6g} ({options.dual.steps} steps x {ascents}, "
                     f"{time.perf_counter() - start:.2f} s); repaired from its prices "
                     + ", within its copies ".join(f"{value:.6g}" for value, *_ in repaired[before:]))
    # The augmented Lagrangian's restarts are for problems the copy prices could not take (too many slots)
    # or found no solution of: where they did, the restarts never improved on them on the optimizer
    # benchmark's families and took most of the time (experiments/benchmarks/optimizers.py).
    restarts = 0 if from_copies else relaxed_restarts(p, options)
    if restarts > 0:
        deadline, note = _from_relaxation(p, dataclasses.replace(options, restarts=restarts), seed, offer)
    else:
        deadline = (time.perf_counter() if budget_from is None else budget_from) + options.time_budget_s
        note = "augmented Lagrangian skipped (" + ("the copy prices found solutions" if from_copies else
                                                   "max_relaxed_shares") + ")"
    opts = options.copies
    neighbourhoods = (copy_prices is not None and opts.neighbourhood_copies > 0
                      and p.n_epochs * p.n_demands * opts.neighbourhood_slots <= opts.exact_slots)
    # The neighbourhoods take the second half of the budget the local moves would have alone
    moves_deadline = deadline - options.time_budget_s / 2 if neighbourhoods else deadline
    notes.append(note)
    if small(p) or not any(np.isfinite(value) for value, *_ in repaired):
        fallback = baselines.greedy(p)  # never worse than greedy where it is cheap, and its solution where
        if fallback.solution is not None:  # nothing else found one
            offer(("greedy",), State.of(p, fallback.solution))
    if not repaired:
        raise ValueError("GradientOptions: dual.steps = 0 and no relaxed restart fits max_relaxed_shares")
    repaired.sort(key=lambda r: r[:2])
    value, _, tag, best = repaired[0]
    where = tag[0] if len(tag) == 1 else ", ".join(f"{k} {v}" for k, v in zip(("phase", "restart", "threshold"), tag))
    notes.append(f"best repaired {value:.6g} ({where})")
    if not best.complete():
        return no_solution("gradient", p, best.remaining, start, "; ".join(notes))

    if options.improve:
        best, note = _improve(p, repaired, options, moves_deadline)
        notes.append(note)
    if not p.single_source and 0 < int(p.usable_slots().sum()) <= options.exact_assignment_slots:
        exact = _exact_assignment(best)
        if exact is not None:
            value = objective(p, exact.solution())
            notes.append(f"assignment LP at its copies {value:.6g}")
            if value < objective(p, best.solution()):
                best = exact
    solution = best.solution()
    if neighbourhoods:
        ks, dual = copy_prices
        solution, note = neighbourhood.search(p, solution, ks, dual.value, max(deadline, time.perf_counter() + 1.0),
                                              extra=opts.neighbourhood_copies, slots=opts.neighbourhood_slots,
                                              each_s=opts.neighbourhood_s)
        notes.append(note)
    return SolveResult("gradient", Status.FEASIBLE, solution, objective=objective(p, solution), dual_bound=bound,
                       solve_seconds=time.perf_counter() - start, message="; ".join(notes))


GREEDY_DEMAND_EPOCHS = 20_000  # greedy visits demand-epochs in Python: about 2 s for this many


def small(p: PlacementProblem) -> bool:
    """Small enough that greedy is always run beside the heuristic."""
    return p.n_epochs * p.n_demands <= GREEDY_DEMAND_EPOCHS


def _from_copy_prices(p: PlacementProblem, options: GradientOptions, offer, start: float
                      ) -> tuple[float, Solution | None, str, tuple]:
    """Step 0a: the Lagrangian relaxation of the demand rows (`placement.solvers.copy_dual`); every
    `heuristic_every` steps the copies that pay are completed (`copy_dual.primal_copies`), their assignment
    solved as an LP, and offered. Then the MILP over the copies the bound leaves free, when they have at
    most `exact_slots` slots, from the best solution so far. Returns the bound, the solution when that MILP
    proves it optimal (else None), a note, and (knapsacks, dual) for the neighbourhoods."""
    opts = options.copies
    ks = copy_dual.knapsacks(p)
    best = {"value": np.inf, "solution": None}
    tried = set()
    assignment = MilpOptions(relax=not p.single_source, time_limit_s=ASSIGNMENT_LP_LIMIT_S)

    def heuristic(step: int, value: np.ndarray) -> float:
        if step % opts.heuristic_every:
            return np.inf
        chosen = copy_dual.primal_copies(p, ks, value)
        key = chosen.tobytes()
        if key in tried:
            return np.inf
        tried.add(key)
        mask = copy_dual.copy_mask(p, ks, chosen)
        result = milp.best_assignment(p, mask, assignment)
        if result.solution is None:
            return np.inf
        state = State.of(p, result.solution)
        if not state.complete():
            return np.inf
        Improver(state, 0, 0.0).drop_idle()
        solution = state.solution()
        value = objective(p, solution)
        offer(("copy prices", step), state)
        if value < best["value"]:
            best.update(value=value, solution=solution)
        return value

    dual = copy_dual.ascend(p, ks, np.inf, opts.steps, on_step=heuristic)
    note = (f"copy-price bound {dual.bound:.6g} ({dual.steps} steps, {len(tried)} heuristics, best "
            f"{best['value']:.6g}, {time.perf_counter() - start:.2f} s)")
    if best["solution"] is None:
        return dual.bound, None, note, (ks, dual)
    if dual.bound >= best["value"] * (1.0 - MilpOptions().relative_gap):  # proven within the MILP's tolerance
        return dual.bound, best["solution"], note, (ks, dual)
    # Fixings are relative to the best objective when each was made; they hold for the best one now too.
    lower = copy_dual.copy_mask(p, ks, dual.opened)
    upper = ~copy_dual.copy_mask(p, ks, dual.closed)
    free_slots = int((p.carrying_slots() & upper[np.arange(p.n_epochs)[:, None, None] if p.placement == "per_epoch"
                                                  else 0, p.candidate_model, np.maximum(p.candidate_host, 0)]).sum())
    note += f"; {int(dual.closed.sum())} copies proven closed, {int(dual.opened.sum())} open of {len(dual.value)}"
    if not 0 < free_slots <= opts.exact_slots:
        return dual.bound, None, note, (ks, dual)
    limit = max(opts.exact_share * options.time_budget_s, 1e-3)
    exact = milp.solve_within(p, (lower, upper), MilpOptions(time_limit_s=limit), hint=best["solution"])
    note += f"; MILP over the {free_slots} slots left: {exact.status.value} {exact.objective:.6g} " \
            f"({exact.solve_seconds:.2f} s)"
    bound = dual.bound
    if np.isfinite(exact.dual_bound):  # below the best known, and every solution better than it is in there
        bound = max(bound, min(exact.dual_bound, best["value"]))
    if exact.solution is not None:
        offer(("copy prices MILP",), State.of(p, exact.solution))
        if exact.status is Status.OPTIMAL:
            return bound, exact.solution, note, (ks, dual)
    return bound, None, note, (ks, dual)


def _from_prices(p: PlacementProblem, dual: DualOptions, offer) -> tuple[float, int, float]:
    """Step 0: the Lagrangian prices, their shares repaired and offered; returns the bound they certify, the
    number of ascents and when the first prices were ready (their repairs count towards time_budget_s, as the
    relaxation's do). A second ascent runs within the copies the memory lets the first prices have, when it
    does not let them have every copy they use, so that the shares fit those copies."""
    prices = lagrangian.ascend(p, dual)
    ready = time.perf_counter()
    bound = prices.bound
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
            offer((tag,), State.of(p, repair(p, prices.x, prices.reduced_cost(p))))
    return bound, len(passes), ready


def _from_relaxation(p: PlacementProblem, options: GradientOptions, seed: int, offer) -> tuple[float, str]:
    """Steps 1-2: the augmented Lagrangian from `options.restarts` starts, its solutions repaired and offered;
    returns the deadline of the repair and improvement budget and a note for the message."""
    started = time.perf_counter()
    phases, scale = relax(p, options, seed=seed)
    relax_seconds = time.perf_counter() - started
    deadline = time.perf_counter() + options.time_budget_s
    # Repair every restart all at once where demands split (the copies follow the shares), and the
    # `polish` best of each phase (every restart under single_source) demand by demand, at the copies
    # their rounding offers (phase 0 at each threshold, phase 1 at its clamped copies): the first
    # finds better assignments, the second keeps the relaxation's judgement of which copies pay.
    for phase, d in enumerate(phases):
        exact = set(np.argsort(d["objective"], kind="stable")[:max(1, options.polish)].tolist())
        for i in range(options.restarts):
            if not p.single_source:
                offer((phase, i), State.of(p, repair(p, d["x"][i], p.slot_cost_ms())))
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
    return deadline, (f"{options.restarts} restarts x {options.steps} steps x {len(phases)} phases "
                      f"({relax_seconds:.2f} s); best relaxed objective {float(relaxed[first]) * scale:.6g} "
                      f"(largest row violation {float(phases[0]['violation'][first].max()):.2g})")


def _improve(p: PlacementProblem, repaired: list, options: GradientOptions, deadline: float) -> tuple[State, str]:
    """Step 3: local moves on the `polish` best repaired solutions (sorted) with different placements; returns
    the best result and a note for the message."""
    chosen, seen = [], set()
    for value, _, _, state in repaired:
        key = state.y.tobytes()
        if np.isfinite(value) and key not in seen and len(chosen) < max(1, options.polish):
            seen.add(key)
            chosen.append(state)
    finals = []
    moves = accepted = 0
    for state in chosen:
        improver = Improver(state, options.max_moves, deadline)
        improver.run()
        moves, accepted = moves + improver.moves, accepted + improver.accepted
        finals.append((objective(p, state.solution()), len(finals), state))
    value, _, best = min(finals, key=lambda f: f[:2])
    return best, f"improved {len(chosen)} of them ({accepted} of {moves} moves kept): {value:.6g}"


ASSIGNMENT_LP_LIMIT_S = 60.0  # well above what exact_assignment_slots lets it take (about 3 s per 100k slots, 2 cores)


def _exact_assignment(state: State) -> State | None:
    """Step 4: the best shares at `state`'s copies (the MILP with every y fixed: an LP for splittable demands)
    and the copies left idle dropped; None if the LP finds no solution in its time."""
    p = state.problem
    # (18)'s binaries must stay binary; without them the y are fixed and the rest is continuous: an LP
    relax = not p.slo_counts_waiting
    result = milp.best_assignment(p, state.y, MilpOptions(relax=relax, time_limit_s=ASSIGNMENT_LP_LIMIT_S))
    if result.solution is None:
        return None
    exact = State.of(state.problem, result.solution)
    Improver(exact, 0, 0.0).drop_idle()
    return exact
