"""One contract over every registered strategy (in the style of optax's contrib/_common_test.py): the solve
function's signature, a result whose solution passes the evaluator, a hint accepted, documented and checked
options, presets that differ from the defaults where they should, and a registry that imports light."""

from __future__ import annotations

import dataclasses
import inspect
import os
import subprocess
import sys
import types
import typing

import pytest

from placement.errors import InputError
from placement.evaluation import evaluate
from placement.problem import SolveResult, Status, random_problem
from placement.solvers import SOLVERS, solve
from placement.solvers.options import (GRADIENT_FAST, GRADIENT_THOROUGH, BaselineOptions, CopyDualOptions, DualOptions,
                                       GradientOptions, MilpOptions)

NAMES = list(SOLVERS)


def small(partial_share: float = 0.0):
    """Per-epoch placement with opening and migration costs: every term of the objective is exercised
    (with `partial_share`, satellite slots reachable for part of their epoch too: the share bound (12))."""
    return random_problem(0, 8, 12, 2, 2, n_slots=4, placement="per_epoch", opening_cost=1e3,
                          migration_cost_per_gb=1e4, partial_share=partial_share)


def test_the_registry_names():
    assert NAMES == ["milp", "gradient", "gradient_fast", "gradient_thorough", "greedy", "nearest_gateway",
                     "cloud_only", "random"]
    assert all(s.name == name and s.help for name, s in SOLVERS.items())


@pytest.mark.parametrize("name", NAMES)
def test_signature(name):
    strategy = SOLVERS[name]
    parameters = inspect.signature(strategy.load()).parameters
    assert list(parameters) == ["problem", "options", "seed", "hint"]
    p = inspect.Parameter
    assert parameters["options"].kind is p.POSITIONAL_OR_KEYWORD
    assert type(parameters["options"].default) is type(strategy.options)
    assert (parameters["seed"].kind, parameters["seed"].default) == (p.KEYWORD_ONLY, 0)
    assert (parameters["hint"].kind, parameters["hint"].default) == (p.KEYWORD_ONLY, None)


def assert_passes_the_evaluator(problem, result):
    assert isinstance(result, SolveResult)
    assert result.status in (Status.OPTIMAL, Status.FEASIBLE), result.message
    report = evaluate(problem, result.solution)
    assert report.feasible, report.violations[:3]
    assert report.objective == pytest.approx(result.objective, rel=1e-6)


@pytest.mark.parametrize("partial_share", [0.0, 1.0])
@pytest.mark.parametrize("name", NAMES)
def test_solves_and_passes_the_evaluator(name, partial_share):
    problem = small(partial_share)
    assert partial_share == 0.0 or (problem.candidate_share[problem.usable_slots()] < 1).any()
    assert_passes_the_evaluator(problem, solve(name, problem, seed=0))


@pytest.mark.parametrize("name", NAMES)
def test_accepts_a_hint(name):
    problem = small()
    hint = solve("greedy", problem).solution
    result = solve(name, problem, seed=1, hint=hint)
    assert_passes_the_evaluator(problem, result)
    if isinstance(SOLVERS[name].options, MilpOptions):  # the MILP starts from it, and no warm start runs
        assert not result.message.startswith("started from")
        assert result.objective <= evaluate(problem, hint).objective * (1 + 1e-6)


def option_classes() -> set[type]:
    """Every options class the registry uses, nested ones included."""
    found, todo = set(), [type(s.options) for s in SOLVERS.values()]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.add(cls)
            todo += [t for t in typing.get_type_hints(cls).values() if dataclasses.is_dataclass(t)]
    return found


def config_type(tp) -> bool:
    """The types the config reader supports."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp in (bool, int, float, str):
        return True
    if origin is typing.Literal:
        return all(isinstance(a, str) for a in args)
    if origin in (types.UnionType, typing.Union):
        return len(args) == 2 and type(None) in args and config_type(next(a for a in args if a is not type(None)))
    if origin is tuple:  # a pair of numbers, or a list of one config type (placement.fields.coerce)
        return args == (float, float) or (len(args) == 2 and args[1] is Ellipsis and config_type(args[0]))
    return dataclasses.is_dataclass(tp) and tp.__module__ == "placement.solvers.options"


def test_the_option_classes():
    assert option_classes() == {MilpOptions, CopyDualOptions, DualOptions, GradientOptions, BaselineOptions}


@pytest.mark.parametrize("cls", sorted(option_classes(), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_option_is_documented_typed_and_its_default_in_range(cls):
    hints = typing.get_type_hints(cls)
    default = cls()
    for f in dataclasses.fields(cls):
        assert f.metadata.get("help", "").strip(), f"{cls.__name__}.{f.name} has no help"
        assert config_type(hints[f.name]), f"{cls.__name__}.{f.name}: {hints[f.name]} is not a config type"
        check, value = f.metadata.get("check"), getattr(default, f.name)
        if check is not None and value is not None:
            assert check(value), f"{cls.__name__}.{f.name}: the default {value!r} fails its check"
            assert f.metadata.get("expected"), f"{cls.__name__}.{f.name} checks without saying what it expects"


def test_defaults_are_what_placement_run_used():
    # The config's [solver] defaults before the options moved here: HiGHS, 60 s, gap 1e-4, greedy warm start
    assert MilpOptions() == MilpOptions(solver="highs", time_limit_s=60.0, relative_gap=1e-4, threads=None,
                                        relax=False, warm_start="greedy", verbose=False)
    assert SOLVERS["milp"].options == MilpOptions()
    assert SOLVERS["gradient"].options == GradientOptions()
    assert GradientOptions().dual == DualOptions()


def changed(preset, default) -> set[str]:
    return {f.name for f in dataclasses.fields(default) if getattr(preset, f.name) != getattr(default, f.name)}


def test_presets_differ_from_the_defaults_where_they_should():
    default = GradientOptions()
    assert SOLVERS["gradient_fast"].options is GRADIENT_FAST
    assert SOLVERS["gradient_thorough"].options is GRADIENT_THOROUGH
    # Fast: no restarts, half the price steps, no local moves, a quarter of the budget; nothing else
    assert changed(GRADIENT_FAST, default) == {"restarts", "dual", "improve", "time_budget_s"}
    assert changed(GRADIENT_FAST.dual, default.dual) == {"steps"}
    assert (GRADIENT_FAST.restarts, GRADIENT_FAST.dual.steps, GRADIENT_FAST.improve) == (0, 300, False)
    assert GRADIENT_FAST.time_budget_s == default.time_budget_s / 4
    # Thorough: more of every effort, the same algorithm
    thorough = GRADIENT_THOROUGH
    assert thorough.restarts > default.restarts and thorough.time_budget_s > default.time_budget_s
    assert thorough.polish >= default.polish and thorough.max_moves >= default.max_moves
    assert thorough.max_relaxed_shares >= default.max_relaxed_shares * thorough.restarts // default.restarts
    assert changed(thorough.dual, default.dual) == set()


def test_options_are_checked_by_type_and_range():
    problem = small()
    with pytest.raises(InputError, match="restarts"):
        solve("gradient", problem, dataclasses.replace(GRADIENT_FAST, restarts=-1))
    with pytest.raises(InputError, match="steps"):  # nested options are checked too
        solve("gradient", problem, dataclasses.replace(GRADIENT_FAST, dual=DualOptions(steps=-1)))
    with pytest.raises(InputError, match="warm_start"):
        solve("milp", problem, MilpOptions(warm_start="gradeint"))
    with pytest.raises(TypeError, match="MilpOptions"):
        solve("milp", problem, GRADIENT_FAST)
    with pytest.raises(InputError, match="unknown solver 'simplex'"):
        solve("simplex", problem)


def run_python(code: str) -> None:
    """Run `code` in a fresh interpreter, without a JAX_ENABLE_X64 this process may have set."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr


def test_the_registry_and_the_options_import_without_jax():
    # The config loader imports them: no JAX, OR-Tools or optax until a strategy runs.
    run_python("import sys\n"
               "import placement.solvers.options, placement.solvers\n"
               "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'ortools', 'optax'))\n"
               "assert not heavy, heavy\n")


def test_no_solver_imports_the_evaluator_and_the_prices_do_not_import_the_heuristic():
    run_python("import sys\n"
               "import placement.solvers.lagrangian\n"
               "assert 'placement.solvers.gradient' not in sys.modules\n"
               "import placement.solvers.gradient, placement.solvers.milp, placement.solvers.baselines\n"
               "assert 'placement.evaluation' not in sys.modules\n")


def test_importing_placement_changes_no_jax_setting_and_float64_is_asked_for():
    # No import-time side effects: JAX keeps its own default (float32) until a job asks for float64, and a
    # float64 propagation asked for without it is refused instead of silently run in float32.
    run_python("import placement, placement.solvers, placement.scenario, placement.pipeline\n"
               "import jax.numpy as jnp\n"
               "assert jnp.zeros(1).dtype == jnp.float32\n"
               "from placement.constellation.walker import KUIPER, constellation\n"
               "from placement.errors import InputError\n"
               "from placement.propagation.sgp4 import Propagator\n"
               "elements = constellation(KUIPER[:1], 2461094.5, 0.0)\n"
               "try:\n"
               "    Propagator.create(elements, jnp.float64)\n"
               "    raise SystemExit('a float64 propagator was made without float64 mode')\n"
               "except InputError as error:\n"
               "    assert 'jax_enable_x64' in str(error)\n"
               "placement.pipeline.enable_float64()\n"
               "assert jnp.zeros(1, jnp.float64).dtype == jnp.float64\n"
               "Propagator.create(elements, jnp.float64)\n")
