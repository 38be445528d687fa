"""Every solver's options: one frozen dataclass per solver family, the one place their defaults are written.

The config loader builds one `[solver.<name>]` section per strategy of the registry (`placement.solvers`),
typed as that strategy's options class with its preset's values as defaults, so this module imports nothing
heavy (no numpy, JAX or OR-Tools). Each field is declared with `placement.fields.option`: its annotation is
the type the config reader coerces to, `help` says what it means and in which unit, `check` and `expected`
its range (the registry runs the checks on options built in code too).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from placement.fields import (FRACTION, NON_NEGATIVE, NON_NEGATIVE_INTEGER, POSITIVE, POSITIVE_INTEGER, fraction,
                              non_negative, option, positive)

MilpSolver = Literal["highs", "scip", "cp-sat", "pdlp"]
RegionExecutor = Literal["processes", "ray"]
Precision = Literal["float32", "float64"]


def _at_least(n: int):
    return lambda x: x >= n


def _positive_pair(pair) -> bool:
    return len(pair) == 2 and all(positive(v) for v in pair)


POSITIVE_PAIR = "two numbers > 0: (first step, last step)"


def _warm_start(name: str) -> bool:
    from placement.solvers import SOLVERS  # the registry imports this module: look it up when checking

    return name == "none" or name in SOLVERS


@dataclasses.dataclass(frozen=True)
class MilpOptions:
    """The exact MILP (`placement.solvers.milp`) through OR-Tools MathOpt."""

    solver: MilpSolver = option("highs", help="MILP solver behind OR-Tools MathOpt ('cp-sat' takes integral data "
                                              "only; 'pdlp', a first-order LP method, the relaxation only)")
    time_limit_s: float = option(60.0, check=positive, expected=POSITIVE, help="wall-clock limit of the solve, s")
    relative_gap: float = option(1e-4, check=non_negative, expected=NON_NEGATIVE,
                                 help="relative gap between incumbent and bound at which a solution counts as optimal")
    threads: int | None = option(None, check=_at_least(1), expected=POSITIVE_INTEGER,
                                 help="solver threads (None: the solver's default; HiGHS takes no thread count "
                                      "through MathOpt)")
    relax: bool = option(False, help="solve the LP relaxation (integrality dropped): a lower bound, no solution")
    regions: bool = option(True, help="solve each region (demands sharing no host and no site with the others, "
                                      "placement.solvers.regions) as its own MILP")
    coordinated_hosts: tuple[str, ...] = option(
        # placement.problem.spec.HOST_KINDS, written out: this module imports no numpy
        (), check=lambda kinds: all(k in ("satellite", "gateway", "cloud", "local") for k in kinds),
        expected="host kinds among satellite, gateway, cloud, local",
        help="host kinds (say cloud) that do not join regions: where they alone join them, the regions are solved "
             "apart with those hosts' limits divided among them (placement.solvers.shared_hosts; a bound, and "
             "optimal only where the division costs nothing)")
    region_workers: int = option(1, check=_at_least(1), expected=POSITIVE_INTEGER,
                                 help="processes solving regions in parallel (region_executor 'processes')")
    region_executor: RegionExecutor = option("processes", help="where regions are solved: local processes, or "
                                                               "'ray': one Ray task each")
    region_address: str | None = option(None, help="the Ray cluster's address for region_executor 'ray' "
                                                    "(empty: a new local instance), as `placement sweep --address`")
    copy_capacity_rows: bool = option(True, help="add constraint (15), each copy's load within its host's compute "
                                                 "and link capacity times y: same optimum, a tighter relaxation")
    epoch_rounds: int = option(
        0, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
        help="per_epoch placement: rounds of the epochs' Lagrangian decomposition (placement.solvers.epoch_dual: "
             "one MILP per epoch, uploads priced) within half the time limit, then one round of two-epoch blocks "
             "(to 90%), whose best solution and bound start the whole MILP (0: none). 120 x 300 x 5 x 6: proven "
             "optimal in 548 s with them, 0.098% gap after 600 s without")
    warm_start: str = option(
        "greedy", check=_warm_start, expected="'none' or a strategy of placement.solvers.SOLVERS",
        help="strategy whose solution starts the MILP when no hint is given ('none': no start; not used with "
             "relax). HiGHS at 120 hosts x 300 demands: 2.8% gap in 60 s from greedy, 63% after 600 s without")
    verbose: bool = option(False, help="print the solver's log")


@dataclasses.dataclass(frozen=True)
class DualOptions:
    """The Lagrangian prices of the capacity rows (`placement.solvers.lagrangian`): Adam ascent of the smoothed
    dual over log-prices; prices and temperatures per request, in mean best latencies."""

    steps: int = option(600, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                        help="Adam steps of the ascent (in the gradient heuristic, 0 skips the prices: no bound)")
    learning_rate: tuple[float, float] = option((0.2, 0.01), check=_positive_pair, expected=POSITIVE_PAIR,
                                                help="Adam's step on the log-prices, first and last step (geometric)")
    # Colder at the end leaves the averaged shares less over the limits: on 8 synthetic 20x50x3x2 and
    # 40x100x4x4 instances (600 steps) the repair lands a median 0.37% above the optimum at 0.003, 0.63% at
    # 0.01 (before local moves).
    temperature: tuple[float, float] = option((0.3, 0.003), check=_positive_pair, expected=POSITIVE_PAIR,
                                              help="softmin temperature over the slots, first and last step "
                                                   "(geometric), in mean best latencies per request")
    initial_price: float = option(0.01, check=positive, expected=POSITIVE,
                                  help="starting price of every row, in mean best latencies per request")
    dtype: Precision = option("float32", help="precision of the ascent (the bound is evaluated in float64)")


@dataclasses.dataclass(frozen=True)
class CopyDualOptions:
    """The Lagrangian relaxation of the demand rows (`placement.solvers.copy_dual`): a knapsack per copy, its
    bound, the copies fixed by it, and the MILP over the copies left free."""

    steps: int = option(300, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                        help="subgradient steps (0 skips this stage)")
    heuristic_every: int = option(25, check=_at_least(1), expected=POSITIVE_INTEGER,
                                  help="steps between Lagrangian heuristics (the copies that pay, the assignment LP)")
    max_slots: int = option(200_000, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                            help="carrying slots at most for this stage (each heuristic solves an LP over them)")
    exact_slots: int = option(30_000, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                              help="slots at most left free for the MILP over the copies not fixed (0: never)")
    exact_share: float = option(1.0, check=fraction, expected=FRACTION,
                                help="share of time_budget_s that MILP may take, and the neighbourhoods after it")
    neighbourhood_copies: int = option(6, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                                       help="unused copies added to the incumbent's in each neighbourhood MILP "
                                            "(0: no neighbourhoods)")
    neighbourhood_slots: int = option(5, check=_at_least(1), expected=POSITIVE_INTEGER,
                                      help="cheapest slots per demand-epoch kept in a neighbourhood MILP")
    neighbourhood_s: float = option(5.0, check=positive, expected=POSITIVE,
                                    help="time limit of one neighbourhood MILP, s")


@dataclasses.dataclass(frozen=True)
class GradientOptions:
    """The gradient heuristic (`placement.solvers.gradient`): effort, schedules and precision. Changing a value
    does not recompile the relaxation, except restarts, steps and multiplier_every (array shapes) and dtype.

    temperature divides the logits of shares and copies (geometric from first to last). It does not change
    what the relaxation can represent, only how far an Adam step moves the softmax and sigmoid: annealing it
    down saturates them and stalls the augmented Lagrangian (measured: 0.75% mean gap to the MILP optimum
    with (1, 0.5), 0.51% with (1, 1) on 30x75x3x3 instances), so the default keeps it at 1 and integrality
    comes from the concave pull `integrality` instead.
    """

    restarts: int = option(16, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                           help="augmented Lagrangian relaxations run in parallel from random initial logits")
    max_relaxed_shares: int = option(1_000_000, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                                     help="restarts x epochs x demands x slots at most (fewer restarts above it, "
                                          "or none)")
    copies: CopyDualOptions = option(CopyDualOptions(), help="Lagrangian relaxation of the demand rows, its "
                                                             "heuristic and the MILP over the copies it leaves")
    dual: DualOptions = option(DualOptions(), help="Lagrangian prices (steps = 0 skips them)")
    steps: int = option(600, check=_at_least(1), expected=POSITIVE_INTEGER,
                        help="Adam steps per restart and phase (rounded up to a multiple of multiplier_every)")
    multiplier_every: int = option(50, check=_at_least(1), expected=POSITIVE_INTEGER,
                                   help="steps between multiplier updates")
    learning_rate: float = option(0.1, check=positive, expected=POSITIVE, help="Adam's step on the logits")
    temperature: tuple[float, float] = option((1.0, 1.0), check=_positive_pair, expected=POSITIVE_PAIR,
                                              help="softmax and sigmoid temperature, first and last step "
                                                   "(geometric; see the class docstring)")
    penalty: tuple[float, float] = option((1.0, 1000.0), check=_positive_pair, expected=POSITIVE_PAIR,
                                          help="augmented Lagrangian weight, first and last step (geometric)")
    integrality: float = option(1.0, check=non_negative, expected=NON_NEGATIVE,
                                help="final weight of the pull of copies (and single-source shares) towards 0/1")
    integrality_share: float = option(0.5, check=fraction, expected=FRACTION,
                                      help="share of the steps, at the end, over which that weight rises from 0")
    init_scale: float = option(1.0, check=non_negative, expected=NON_NEGATIVE,
                               help="standard deviation of the random initial logits")
    dtype: Precision = option("float32", help="precision inside the relaxation; rounding, repair and scoring are "
                                              "float64")
    thresholds: tuple[float, ...] = option((0.25, 0.5), check=lambda t: len(t) > 0 and all(map(fraction, t)),
                                           expected="one or more numbers in [0, 1]",
                                           help="phase 1 is rounded with copies offered where y > each")
    reassign: bool = option(True, help="phase 2: relax again with the rounded copies clamped (twice the "
                                       "relaxation time)")
    rounding_noise: float = option(0.6, check=non_negative, expected=NON_NEGATIVE,
                                   help="largest jitter of a copy's rounding threshold before phase 2 (last "
                                        "restart)")
    improve: bool = option(True, help="local improvement of the best repaired solutions")
    polish: int = option(3, check=_at_least(1), expected=POSITIVE_INTEGER,
                         help="how many of the best repaired solutions (with different placements) are improved")
    max_moves: int = option(20_000, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                            help="improvement moves tried per polished solution, at most")
    # 20 s: on OR-Library's capa (100 x 1,000) local moves take about 10 s and two neighbourhoods the rest,
    # 0.0-0.3% above the published optima in 25-28 s in all (experiments/benchmarks/optimizers.py).
    time_budget_s: float = option(20.0, check=non_negative, expected=NON_NEGATIVE,
                                  help="repair, local moves and neighbourhoods together, s; the second half goes "
                                       "to the neighbourhoods where they run (the relaxations run to the end)")
    exact_assignment_slots: int = option(200_000, check=_at_least(0), expected=NON_NEGATIVE_INTEGER,
                                         help="usable slots at most for the assignment LP at the final copies "
                                              "(0: never)")


@dataclasses.dataclass(frozen=True)
class BaselineOptions:
    """The baselines (`placement.solvers.baselines`) have no options: each is one fixed rule."""


# The configuration for speed (preset "fast"): the copy prices with their MILP and 2.5 s of neighbourhoods
# where they fit, else capacity prices (300 steps), the vectorized repair and the assignment LP at its copies;
# no augmented Lagrangian restarts and no local moves. Measured before the copy prices existed on the 11 small
# and medium instances of experiments/benchmarks/optimizers.py: 300 price steps instead of 600 and no moves
# changed the median and the max gap by less than 0.03 points in about half the time.
GRADIENT_FAST = GradientOptions(restarts=0, dual=DualOptions(steps=300), improve=False, time_budget_s=5.0)

# The configuration for quality: four times the restarts (and the relaxed shares, so the same instances get
# them all), 8 solutions polished, five times the moves and six times the time for repair and local moves.
# Measured on the 11 instances where the defaults end above the optimum (tests/test_gradient.py's families,
# seeds 2-4, and optimizers.py's 40x100x4x4 seed 0; 2 shared cores): mean gap 0.172% instead of 0.217%,
# largest 0.720% for both, in 55 s instead of 22 s in all. 32 restarts and 6 polished gave 0.198%; 1200
# steps per relaxation and price ascent 0.194-0.204%, with a larger worst gap (0.86-0.92%).
GRADIENT_THOROUGH = GradientOptions(restarts=64, max_relaxed_shares=4_000_000, polish=8, max_moves=100_000,
                                    time_budget_s=60.0)
