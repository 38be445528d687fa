"""Idle copies removed after the local moves (placement.solvers.local_search.Improver.drop_idle): checked on
random instances against the evaluator, the exact objective and a fresh recount of every limit."""

import numpy as np
from hypothesis import given, settings, strategies as st

from placement.evaluation import evaluate
from placement.problem import random_problem
from placement.problem.objective import objective
from placement.solvers.baselines import greedy
from placement.solvers.local_search import Improver
from placement.solvers.residuals import State


def with_idle_copies(problem, seed: int) -> State:
    """Greedy's solution plus random copies that serve nothing, each kept only where memory and links allow."""
    state = State.of(problem, greedy(problem).solution)
    rng = np.random.default_rng(seed)
    for _ in range(40):
        t, m, h = rng.integers(problem.n_epochs), rng.integers(problem.n_models), rng.integers(problem.n_hosts)
        if state.y[t, m, h] or state.memory[t, h] < problem.model_memory_bytes[m]:
            continue
        state._place(t, m, h)
        if not state.ok():
            state.unplace(t, m, h)
    return state


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), placement=st.sampled_from(["per_epoch", "fixed"]),
       migration=st.sampled_from([0.0, 0.05, 5.0]))
def test_removals_keep_every_limit_and_never_raise_the_objective(seed, placement, migration):
    p = random_problem(seed, 12, 20, 3, 4, placement=placement, opening_cost=1.0,
                       migration_cost_per_gb=migration * 1e4, load=0.5)
    state = with_idle_copies(p, seed)
    before = objective(p, state.solution())
    Improver(state, 0, 0.0).drop_idle()
    solution = state.solution()
    assert evaluate(p, solution).feasible
    assert objective(p, solution) <= before * (1 + 1e-12)
    # The local undo leaves the running limits exactly what a recount of the solution gives
    recount = State.of(p, solution)
    np.testing.assert_allclose(state.link, recount.link, rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(state.memory, recount.memory, rtol=1e-12)
    served = Improver(state, 0, 0.0)._served() > 0
    idle = solution.placement & ~served
    if placement == "fixed":
        # a copy stays the whole horizon: one serving nothing in any epoch saves nothing
        assert not (solution.placement[0] & ~served.any(axis=0)).any()
    else:
        # An idle copy with none after it saves no upload: removing it only lowers the cost and frees room
        last = np.concatenate([~solution.placement[1:], np.ones((1,) + solution.placement.shape[1:], bool)])
        assert not (idle & last).any()
