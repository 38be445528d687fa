"""Epochs apart: a Lagrangian decomposition of per-epoch placement over its epochs, its bound, and the MILP
started from it.

In per_epoch placement without a battery, the only rows of `placement.solvers.milp` that join epochs are the
uploads (8), z[t,m,h] >= y[t,m,h] - y[t-1,m,h], and the uploads' share of the host link (6). For prices
0 <= lam[t,m,h] <= c[m] (c: the model's migration cost, `PlacementProblem.migration_cost`; lam[0] = lam[T] = 0,
the first epoch's copies being loaded before the horizon), every feasible point has
c z >= c z - lam (z - y[t] + y[t-1]) >= lam (y[t] - y[t-1]), so the objective is at least

    sum_t [ cost_t(x, u, y, w) + sum_m,h (lam[t] - lam[t+1])[m,h] y[t,m,h] ]

with cost_t the objective's terms of epoch t (all but the uploads'). Without (8) and the uploads' share of (6)
(dropping both only relaxes) the epochs are independent: each is the MILP of one epoch whose copies cost
opening + lam[t] - lam[t+1] (`milp.build`'s copy_prices). The sum of their bounds, D(lam), bounds the whole
problem from below, and their copies side by side, assigned at their best (`milp.best_assignment`), are a
solution whenever the uploads fit. A copy the whole model keeps loaded in an epoch where it serves nothing
(`copy_epochs`) has no variable in that epoch's MILP; its price, where negative, is added to the epoch's bound.

`solve` starts from the multipliers of (8) in the LP relaxation (and the warm-start strategy's solution,
unless 'none') and raises D by projected subgradient steps (the subgradient at lam[t] is y[t] - y[t-1] of the
epochs' copies; Polyak's step, twice the gap to the best objective so far, halved after two rounds in a row
that do not raise the best bound), keeping the best solution, until the gap is within the MILP's relative_gap
(the decomposition then proves optimality on its own), `MilpOptions.epoch_rounds` rounds are done or
ROUNDS_SHARE of the time limit is spent. Then, unless proven, one round of blocks of BLOCK_EPOCHS epochs at the
best prices: each block's MILP keeps its inner uploads exact and prices only those into and out of it, so
its bound is at least its epochs' apart at the same prices, and its copies are one more solution. The whole
MILP then starts from the best solution with one more row per epoch (17):

    cost_t + sum_m,h (lam[t] - lam[t+1])[m,h] y[t,m,h] >= the epoch's bound at the best lam

valid for every solution (each epoch's part is a solution of that epoch's problem), so the root relaxation is
at least D(lam) rather than the LP bound. The optimizer benchmark's synthetic 120x300x5x6 (`python
experiments/benchmarks/optimizers.py --families '' --largest`, 2-core Xeon): the LP bounds the optimum 0.39%
below the best solution known; after 600 s the MILP alone ends 0.098% from its bound. Here 7 epoch rounds
(the gap after each: 0.033, 0.027, 0.021, 0.017, 0.015, 0.015, 0.013%) leave 0.013%, where 11 rounds alone had
reached only 0.0129%; the blocks of two at the best prices raise the bound by 0.0022% and their copies lower the
best solution by 0.001-0.002%: 0.0090%, proven (0.01%) in 548 s. At 80x200x5x6 the rounds alone prove it
(289 s; the MILP alone 246 s). Where uploads are dear (a few percent of
the objective) the epochs' copies side by side upload too often to be a good solution, and the rounds leave
the incumbent to the whole MILP; their bound stays valid (tests/test_epoch_dual.py).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import time

import numpy as np

from placement.problem.solution import Solution, SolveResult, Status
from placement.problem.spec import PlacementProblem
from placement.solvers import SOLVERS, milp
from placement.solvers.options import MilpOptions

# The share of the time limit the decomposition may take; the whole MILP has the rest. On the 120x300x5x6 instance
# the whole MILP from the rounds' bound and solution gained nothing in 150 or 300 s (rounds to 75% or 50%).
DECOMPOSITION_SHARE = 0.9
# The epochs' rounds take up to ROUNDS_SHARE of the time limit, then one round of blocks of BLOCK_EPOCHS epochs
# at the best prices (to DECOMPOSITION_SHARE). On 120x300x5x6 the epochs' bound gained 0.0004-0.0005% a round
# by the sixth; the blocks of two at the prices of the seventh, 0.0019% (the three blocks 112, 126 and 70 s).
ROUNDS_SHARE = 0.5
BLOCK_EPOCHS = 2

# Every field with an epoch axis first (PlacementProblem checks the shapes: a field missing here fails them).
EPOCH_FIELDS = ("power_budget_w", "link_gbps", "rate_per_s", "site_uplink_gbps", "site_downlink_gbps",
                "candidate_host", "candidate_rtt_ms", "candidate_up_gbps", "candidate_down_gbps", "candidate_share",
                "candidate_model", "candidate_link", "candidate_link_share", "candidate_link_steps",
                "candidate_transit", "epoch_s", "link_capacity_gbps")


def separable(problem: PlacementProblem) -> bool:
    """Whether only the uploads join the epochs: per_epoch placement, several epochs, no battery carried."""
    return problem.placement == "per_epoch" and problem.n_epochs > 1 and problem.harvest_w is None


def epochs(problem: PlacementProblem, first: int, end: int) -> PlacementProblem:
    """Epochs first..end-1 alone (the first one's copies loaded before it, as a first epoch's)."""
    return dataclasses.replace(problem, **{name: getattr(problem, name)[first:end] for name in EPOCH_FIELDS
                                           if getattr(problem, name) is not None})


def copies_with_slots(problem: PlacementProblem) -> np.ndarray:
    """[epoch, model, host] bool: copies some usable slot of the epoch could use (those with a variable in the
    epoch's own MILP)."""
    p = problem
    t, d, k = np.nonzero(p.usable_slots())
    present = np.zeros((p.n_epochs, p.n_models, p.n_hosts), bool)
    present[t, p.candidate_model[t, d, k], p.candidate_host[t, d, k]] = True
    return present


@dataclasses.dataclass(frozen=True)
class Round:
    """One evaluation of the dual: each block's bound (request-ms, the prices' unplaced part included), the
    blocks' copies side by side, the copy prices they were found at, and the multipliers."""

    bounds: np.ndarray  # [block]
    placement: np.ndarray  # [epoch, model, host] bool
    prices: np.ndarray  # [epoch, model, host]: lam[t] - lam[t+1] with blocks of one epoch
    hints: tuple  # each block's solution (the next round starts from it)
    lam: np.ndarray  # [epoch + 1, model, host]

    @property
    def bound(self) -> float:
        return float(self.bounds.sum())


def dual_round(problem: PlacementProblem, lam: np.ndarray, options: MilpOptions, seed: int, deadline: float,
               hints: tuple = (), absent: np.ndarray | None = None, block: int = 1) -> Round:
    """D(lam) over blocks of `block` epochs: each block's MILP, its inner uploads exact, at the copy prices of
    the uploads (8) into and out of it (+lam[first] on its first epoch's copies, -lam[end] on its last's; with
    one epoch a block, lam[t] - lam[t+1]), `threads` at a time (HiGHS lets go of Python's lock while it solves:
    two epochs of 120x300x5 in 11.5 s on 2 cores, 23.0 s one after the other), each within an equal share of
    the threads' time left to `deadline` and within the deadline. A block relaxes less than its epochs apart,
    so at the same lam its bound is at least theirs. `absent`: ~copies_with_slots(problem), if the caller has
    it."""
    p = problem
    starts = list(range(0, p.n_epochs, block))
    ends = starts[1:] + [p.n_epochs]
    prices = np.zeros((p.n_epochs, p.n_models, p.n_hosts))
    for first, end in zip(starts, ends):
        prices[first] += lam[first]
        prices[end - 1] -= lam[end]
    absent = ~copies_with_slots(p) if absent is None else absent
    threads = min(os.cpu_count() or 1, len(starts))
    share = (deadline - time.perf_counter()) * threads / len(starts)

    def solve_block(i: int) -> SolveResult:
        # an equal share of the threads' time, but never past the deadline (three blocks on two threads: the
        # third starts after the first ends)
        limit = max(min(share, deadline - time.perf_counter()), 1.0)
        first, end = starts[i], ends[i]
        return milp.solve_priced(epochs(p, first, end), dataclasses.replace(options, time_limit_s=limit), seed,
                                 hints[i] if hints else None, prices[first:end])

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(solve_block, range(len(starts))))
    # A copy with no slot in a block's last epoch has no variable there (nothing after it in the block to stay
    # loaded for), yet may lower the bound where its price is negative; elsewhere in a block prices are >= 0.
    last = np.array(ends) - 1
    unplaced = np.where(absent[last], np.minimum(p.opening_cost + prices[last], 0.0), 0.0).sum(axis=(1, 2))
    bounds = np.array([r.dual_bound if np.isfinite(r.dual_bound) else -np.inf for r in results]) + unplaced
    placement = np.concatenate([r.solution.placement if r.solution is not None
                                else np.zeros((end - first,) + absent.shape[1:], bool)
                                for r, first, end in zip(results, starts, ends)])
    return Round(bounds, placement, prices, tuple(r.solution for r in results), lam)


def assign(problem: PlacementProblem, placement: np.ndarray, options: MilpOptions, deadline: float) -> tuple:
    """(solution, objective) of the best assignment at the copies `placement` ((None, inf) if there is none:
    uploads that overflow a host's link)."""
    result = milp.best_assignment(problem, placement, dataclasses.replace(
        options, relax=not problem.single_source, time_limit_s=max(deadline - time.perf_counter(), 1.0)))
    return (result.solution, result.objective) if result.solution is not None else (None, np.inf)


def solve_milp(problem: PlacementProblem, options: MilpOptions = MilpOptions(), *, seed: int = 0,
               hint: Solution | None = None) -> SolveResult:
    """The registry's 'milp': the decomposition first where `options.epoch_rounds` asks for it and only the
    uploads join the epochs (and no hint is given), otherwise `milp.solve` as it is."""
    if options.epoch_rounds and hint is None and not options.relax and separable(problem):
        return solve(problem, options, seed)
    return milp.solve(problem, options, seed=seed, hint=hint)


def solve(problem: PlacementProblem, options: MilpOptions, seed: int = 0) -> SolveResult:
    """The decomposition, then (unless it proved optimality) the whole MILP from its best solution with (17)."""
    p = problem
    start = time.perf_counter()
    deadline = start + DECOMPOSITION_SHARE * options.time_limit_s
    c = p.migration_cost()[None, :, None]
    lam = np.zeros((p.n_epochs + 1, p.n_models, p.n_hosts))
    lam[1:-1] = np.clip(milp.upload_duals(p, options)[1:], 0.0, c)
    best, best_objective, best_round, hints = None, np.inf, None, ()
    if options.warm_start != "none":  # a first solution, so that the first steps aim at a sound objective
        warm = SOLVERS[options.warm_start].solve(p, seed=seed)
        if warm.solution is not None:
            best, best_objective = assign(p, warm.solution.placement, options, deadline)
    # The epochs' bounds add up to D: each within a tenth of the gap sought (at a quarter, D stalled 0.003% lower).
    sub_options = dataclasses.replace(options, relative_gap=options.relative_gap / 10)
    rounds, theta, stalled, history = 0, 2.0, 0, []
    absent = ~copies_with_slots(p)  # the same every round
    rounds_deadline = start + ROUNDS_SHARE * options.time_limit_s
    while rounds < options.epoch_rounds and time.perf_counter() < rounds_deadline:
        this = dual_round(p, lam, sub_options, seed, rounds_deadline, hints, absent)
        rounds, hints = rounds + 1, this.hints
        if best_round is None or this.bound > best_round.bound:
            best_round, stalled = this, 0
        else:
            stalled += 1
            if stalled == 2:  # stepping past the maximum: shorter steps from here
                theta, stalled = theta / 2, 0
        if all(s is not None for s in this.hints):
            solution, objective = assign(p, this.placement, options, deadline)
            if objective < best_objective:
                best, best_objective = solution, objective
        history.append(f"{100 * (best_objective - best_round.bound) / abs(best_objective):.4f}%")
        if best_objective - best_round.bound <= options.relative_gap * abs(best_objective):
            break
        y = this.placement.astype(float)
        step = np.zeros_like(lam)
        step[1:-1] = y[1:] - y[:-1]
        norm = float((step ** 2).sum())
        if norm == 0 or not np.isfinite(best_objective) or not np.isfinite(this.bound):
            break  # no upload to price, no solution to step towards yet, or an epoch without a bound
        lam = np.clip(lam + theta * (best_objective - this.bound) / norm * step, 0.0, c)
        lam[0] = lam[-1] = 0.0
    bound = best_round.bound if best_round is not None else -np.inf
    message = (f"{rounds} epoch-dual rounds: bound {bound:.8g}, best {best_objective:.8g} "
               f"(gap after each round {', '.join(history)})")
    if (best_round is not None and p.n_epochs > BLOCK_EPOCHS and time.perf_counter() < deadline
            and best_objective - bound > options.relative_gap * abs(best_objective)):
        blocks = dual_round(p, best_round.lam, sub_options, seed, deadline, (), absent, BLOCK_EPOCHS)
        if all(s is not None for s in blocks.hints):
            solution, objective = assign(p, blocks.placement, options, deadline)
            if objective < best_objective:
                best, best_objective = solution, objective
        bound = max(bound, blocks.bound)
        message += (f"; blocks of {BLOCK_EPOCHS} epochs at the best prices: bound {blocks.bound:.8g}, "
                    f"best {best_objective:.8g}")
    if best is not None and best_objective - bound <= options.relative_gap * abs(best_objective):
        return SolveResult(solver=f"milp-{options.solver}-epochs", status=Status.OPTIMAL, solution=best,
                           objective=best_objective, dual_bound=bound, build_seconds=0.0,
                           solve_seconds=time.perf_counter() - start, message=message)
    floors = None if best_round is None else (best_round.prices, best_round.bounds)
    left = max(options.time_limit_s - (time.perf_counter() - start), 1.0)
    whole = milp.solve_priced(p, dataclasses.replace(options, time_limit_s=left), seed, best, floors=floors)
    if best is not None and (whole.solution is None or whole.objective > best_objective):  # keep the start
        status = whole.status if whole.status is Status.OPTIMAL else Status.FEASIBLE
        whole = dataclasses.replace(whole, status=status, solution=best, objective=best_objective)
    dual = float(np.nanmax([whole.dual_bound, bound])) if np.isfinite(bound) else whole.dual_bound
    return dataclasses.replace(whole, dual_bound=dual,
                               build_seconds=0.0, solve_seconds=time.perf_counter() - start,
                               message=f"{message}; the whole MILP: {whole.message}")
