"""The heuristic presets against the exact MILP, published optima and the best bound, in four families.

Presets (the solver registry's): `gradient_fast` (fast), `gradient` (default), `gradient_thorough`
(thorough). Each is scored on
1. the synthetic family (`milp_scaling`'s: per-epoch placement with migration and opening costs, 12
   candidates per demand, load 0.8), small and medium, where HiGHS proves the optimum;
2. capacitated facility location with published optima (OR-Library, experiments/benchmarks/data/orlib):
   nine instances of 16-50 facilities x 50 customers and capa (100 x 1,000) at its four capacities;
3. the synthetic family with opening and migration costs comparable to the latency they save (one copy's
   opening = 10 ms per request of an average host's share of an epoch; one GB's upload the same) and
   satellites and gateways whose memory holds about one copy of the largest model
   (`random_problem(edge_memory_models=1)`), where HiGHS proves the optimum;
4. large: Starlink Gen1 (4,408 satellites) x the 1,000 largest cities x 10 catalog models x 24 hourly
   epochs, candidates pruned to the 4 satellites each city sees, its 2 nearest gateways and 2 nearest Azure
   regions: the default preset's time (compilation included) and its gap to the best dual bound available
   (the LP relaxation by HiGHS within --lp-limit seconds and by PDLP within --pdlp-limit, each bound certified
   from the solver's multipliers by solvers.lp_bound; the heuristic's own bound; the capacity-free bound).
Every family also runs greedy, nearest gateway and cloud only. A preset's result is checked by the
evaluator; "no solution" is counted (the MILP or a baseline finds one on every instance here).

The MILP's constraint (15) (per copy, its load within the host's capacity times y) is measured on families 1-3:
the LP relaxation's bound with and without it (`lp_bound_gain_pct`, the median rise) and, with --largest,
the largest synthetic size HiGHS proves optimal within --milp-limit, alone and started from the epochs'
Lagrangian decomposition (`placement.solvers.epoch_dual`, up to --epoch-rounds rounds). With --lp-sizes, the LP relaxation by HiGHS
and by PDLP side by side on instances of about 18k, 0.1M and 1M variables (family 4 is the 4M one).

    python experiments/benchmarks/optimizers.py [--lp-limit 1800] [--milp-limit 600] [--seeds 4]
                                                [--families 1,2,3,4] [--largest] [--lp-sizes]
                                                [--pdlp-limit 300]

Times are after a warm-up on the first instance of each shape (JAX compiles once per shape). Writes
experiments/results/optimizers.json (optimizers.<gpu>.json on a GPU).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from placement.constellation.walker import STARLINK_GEN1
from placement.evaluation import evaluate
from placement.network import ground as tables
from placement.pipeline import placement_problem
from placement.problem import PlacementProblem, Status, random_problem
from placement.problem.build import HostOptions, ProblemOptions, Workload
from placement.problem.catalog import models
from placement.problem.facility import read_orlib_cap
from placement.propagation.timegrid import Horizon
from placement.results import save_benchmark
from placement.scenario import Constellation, Demand, GroundSegment, Scenario
from placement import solvers
from placement.solvers.options import MilpOptions

RESULTS = Path(__file__).resolve().parents[1] / "results"
DATA = Path(__file__).resolve().parent / "data"
CITIES = DATA / "cities_top1000.csv"
SMALL = [(20, 50, 3, 2), (40, 100, 4, 4)]
MEDIUM = [(80, 200, 5, 6)]
LARGEST = [(80, 200, 5, 6), (120, 300, 5, 6), (160, 400, 5, 6)]  # --largest: sizes tried in turn
BASELINES = ("greedy", "nearest_gateway", "cloud_only")
PRESETS = {"fast": "gradient_fast", "default": "gradient", "thorough": "gradient_thorough"}

# Requests per second per city, a mix of cameras, classifiers, speech and chat; the language models
# are the heavy tail. Scaled so that neighbouring cities compete for the satellites overhead.
LARGE_RATES = {"yolov8n": 800.0, "yolov8s": 200.0, "mobilenet_v3_large": 1000.0, "efficientnet_b0": 600.0,
               "resnet50": 400.0, "whisper-tiny": 40.0, "whisper-base": 20.0, "llama-3.2-1b-instruct-q4": 10.0,
               "qwen2.5-1.5b-instruct-q4": 6.0, "phi-3-mini-4k-instruct-q4": 4.0}


def synthetic(size: tuple[int, int, int, int], seed: int) -> PlacementProblem:
    return random_problem(seed, *size, n_slots=12, placement="per_epoch", opening_cost=1e5,
                          migration_cost_per_gb=1e6, load=0.8)


def heavy_copies(size: tuple[int, int, int, int], seed: int) -> PlacementProblem:
    """Family 3: the synthetic instance with a copy's opening, and one GB's upload, costing 10 ms per request
    of an average host's share of an epoch's requests, and edge memory for about one copy of the largest
    model."""
    base = random_problem(seed, *size, n_slots=12, placement="per_epoch", load=0.8, edge_memory_models=1.0)
    cost = 10.0 * float(base.requests().sum()) / (size[0] * size[3])
    return dataclasses.replace(base, opening_cost=np.full_like(base.opening_cost, cost), migration_cost_per_gb=cost)


def published_cflp() -> list[tuple[str, PlacementProblem, float]]:
    """Family 2: (name, problem, published optimum) of every row of data/orlib/optima.csv."""
    with open(DATA / "orlib" / "optima.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(r["instance"], read_orlib_cap(DATA / "orlib" / r["file"],
                                           capacity=float(r["capacity"]) if r["capacity"] else None),
             float(r["optimum"])) for r in rows]


def large_instance(n_cities: int = 1000) -> PlacementProblem:
    """Starlink Gen1 x the 1,000 largest cities (or the `n_cities` largest) x 10 models x 24 hourly epochs, as a
    Scenario: the same stages `placement run` goes through."""
    rows = [line.split(",") for line in CITIES.read_text().splitlines()][:n_cities]
    sites = tables.demand_sites([float(r[2]) for r in rows], [float(r[3]) for r in rows],
                                names=[f"{i}:{r[1]}" for i, r in enumerate(rows)])
    chosen = models(list(LARGE_RATES))
    workloads = tuple(Workload(m.name, LARGE_RATES[m.name], 2000.0 if m.task == "text-generation" else 200.0)
                      for m in chosen)
    scenario = Scenario(
        constellation=Constellation.walker(STARLINK_GEN1, "2026-02-24T00:00:00Z", label="starlink-gen1"),
        horizon=Horizon.from_utc("2026-02-24T00:00:00Z", epoch_s=3600.0, n_epochs=24),
        ground=GroundSegment.shipped("azure"), demand=Demand(sites, workloads, chosen),
        hosts=HostOptions(terminals_per_site=20),  # a city runs many user terminals: 20 carry its ~1 Gbps
        problem=ProblemOptions(placement="per_epoch", migration_cost_per_gb=1e4), chunk_steps=25)
    return placement_problem(scenario)


def capacity_free_bound(problem: PlacementProblem) -> float:
    """A lower bound: every request at its cheapest usable candidate (or unserved), all limits dropped.
    Valid because opening and migration costs are >= 0 and limits only remove options."""
    cheapest = problem.latency_ms().min(axis=2)
    if problem.unserved_penalty_ms is not None:
        cheapest = np.minimum(cheapest, problem.unserved_penalty_ms)
    return float((problem.requests() * cheapest).sum())


def run_solver(name: str, problem: PlacementProblem, options=None, seed: int = 0):
    """A registry strategy's evaluated objective (nan without a solution), its wall time (s) and its result;
    exits on an infeasible solution."""
    start = time.perf_counter()
    result = solvers.solve(name, problem, options, seed=seed)
    seconds = time.perf_counter() - start
    if result.solution is None:
        return float("nan"), seconds, result
    report = evaluate(problem, result.solution)
    if not report.feasible:
        sys.exit(f"{name} on {problem.size}: infeasible solution: {report.violations[:3]}")
    return report.objective, seconds, result


EXACT = MilpOptions(warm_start="none")  # the MILP's own time to optimality, without a heuristic's start


def lp_bounds(problem: PlacementProblem) -> tuple[float, float]:
    """The LP relaxation's bound without and with constraint (15)."""
    return tuple(solvers.solve("milp", problem, MilpOptions(relax=True, copy_capacity_rows=rows)).dual_bound
                 for rows in (False, True))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lp-limit", type=float, default=1800.0, help="seconds for the large LP relaxation")
    parser.add_argument("--pdlp-limit", type=float, default=300.0,
                        help="seconds for the large LP relaxation by PDLP (its bound holds wherever it stops)")
    parser.add_argument("--milp-limit", type=float, default=600.0, help="seconds per small/medium MILP")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--families", default="1,2,3,4",
                        help="which families to run, e.g. 4 on a GPU ('' for none: --largest or --lp-sizes alone)")
    parser.add_argument("--skip-large", action="store_true", help="the same as leaving family 4 out")
    parser.add_argument("--largest", action="store_true", help="find the largest synthetic size proven optimal")
    parser.add_argument("--epoch-rounds", type=int, default=50,
                        help="--largest: the epochs' decomposition's most rounds (MilpOptions.epoch_rounds; they "
                             "stop at half of --milp-limit, epoch_dual.ROUNDS_SHARE, its blocks at 90%)")
    parser.add_argument("--lp-sizes", action="store_true",
                        help="the LP relaxation by HiGHS and PDLP side by side at 18k-1M variables")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    families = {int(f) for f in args.families.split(",") if f} - ({4} if args.skip_large else set())

    rows, warmed = [], set()
    gaps = {preset: {1: [], 2: [], 3: []} for preset in PRESETS}
    no_solution, bound_gains, cflp_large_seconds = 0, [], []

    def score(family: int, case: str, problem: PlacementProblem, best: float, shape) -> None:
        nonlocal no_solution
        line = [case]
        for preset, strategy in PRESETS.items():
            if (preset, shape) not in warmed:  # compile once per shape (instances of a size share shapes)
                solvers.solve(strategy, problem)
                warmed.add((preset, shape))
            objective, seconds, result = run_solver(strategy, problem)
            if result.solution is None:
                no_solution += 1
                line.append(f"{preset} NO SOLUTION ({result.status.value})")
                rows.append({"case": case, "impl": preset, "metric": "no_solution", "value": 1, "unit": ""})
                continue
            gap = 100 * (objective - best) / best
            gaps[preset][family].append(gap)
            if preset == "default" and case.startswith("capa"):
                cflp_large_seconds.append(seconds)
            rows.extend([{"case": case, "impl": preset, "metric": "seconds", "value": seconds, "unit": "s"},
                         {"case": case, "impl": preset, "metric": "gap_to_optimum_pct", "value": gap, "unit": "%"},
                         {"case": case, "impl": preset, "metric": "status", "value": result.status.value, "unit": ""}])
            line.append(f"{preset} {gap:.3f}% in {seconds:.2f} s")
        for name in BASELINES:
            b_objective, _, _ = run_solver(name, problem)
            rows.append({"case": case, "impl": name, "metric": "gap_to_optimum_pct",
                         "value": 100 * (b_objective - best) / best, "unit": "%"})
        print(", ".join(line), flush=True)

    def exact(case: str, problem: PlacementProblem) -> float | None:
        """The MILP's proven optimum (None if not proven), its time and the LP bounds recorded."""
        result = solvers.solve("milp", problem, dataclasses.replace(EXACT, time_limit_s=args.milp_limit))
        milp_s = result.build_seconds + result.solve_seconds
        rows.append({"case": case, "impl": "milp-highs", "metric": "seconds", "value": milp_s, "unit": "s"})
        without, with_rows = lp_bounds(problem)
        bound_gains.append(100 * (with_rows - without) / abs(without))
        rows.extend([{"case": case, "impl": "lp-relaxation", "metric": "dual_bound", "value": without, "unit": "objective"},
                     {"case": case, "impl": "lp-relaxation-rows15", "metric": "dual_bound", "value": with_rows,
                      "unit": "objective"}])
        if result.status is not Status.OPTIMAL:
            print(f"{case}: MILP not proven optimal ({result.status.value}) in {milp_s:.0f} s; skipped", flush=True)
            return None
        return result.objective

    for family, make in ((1, synthetic), (3, heavy_copies)):
        if family not in families:
            continue
        for label, sizes in (("small", SMALL), ("medium", MEDIUM)):
            for size in sizes:
                for seed in range(args.seeds):
                    problem = make(size, seed)
                    case = f"family{family} {label} {problem.size} seed {seed}"
                    optimum = exact(case, problem)
                    if optimum is not None:
                        score(family, case, problem, optimum, (family, size))

    for name, problem, optimum in published_cflp() if 2 in families else ():
        if problem.n_demands <= 50:  # the MILP proves these in seconds: a check of the files and the model
            result = solvers.solve("milp", problem, EXACT)
            rows.append({"case": name, "impl": "milp-highs", "metric": "gap_to_optimum_pct",
                         "value": 100 * (result.objective - optimum) / optimum, "unit": "%"})
            without, with_rows = lp_bounds(problem)
            bound_gains.append(100 * (with_rows - without) / abs(without))
        score(2, name, problem, optimum, ("cflp", problem.n_hosts, problem.n_demands))

    default = [g for f in gaps["default"].values() for g in f]
    # the headline figures of families 1-3 only where they ran (a run of family 4 alone keeps the file's)
    summary = {"median_gap_pct": statistics.median(default) if default else None,
               "max_gap_pct": max(default) if default else None,
               "cflp_large_seconds": max(cflp_large_seconds) if cflp_large_seconds else None,
               "no_solution_count": no_solution,
               "lp_bound_gain_pct": statistics.median(bound_gains) if bound_gains else None
               } if families & {1, 2, 3} else {}
    for preset, by_family in gaps.items():
        for family, values in by_family.items():
            if values:
                summary[f"{preset}_family{family}_median_gap_pct"] = statistics.median(values)
                summary[f"{preset}_family{family}_max_gap_pct"] = max(values)

    if args.largest:  # the MILP alone, and started from the epochs' decomposition (epoch_dual)
        for size in LARGEST:
            problem = synthetic(size, 0)
            proven = False
            for impl, rounds in (("milp-highs", 0), ("milp-highs-epochs", args.epoch_rounds)):
                options = dataclasses.replace(EXACT, time_limit_s=args.milp_limit, epoch_rounds=rounds)
                result = solvers.solve("milp", problem, options)
                seconds = result.build_seconds + result.solve_seconds
                gap = 100 * (result.objective - result.dual_bound) / abs(result.objective)
                rows.extend([{"case": f"largest {problem.size}", "impl": impl, "metric": metric, "value": value,
                              "unit": unit} for metric, value, unit in (
                    ("seconds", seconds, "s"), ("status", result.status.value, ""),
                    ("objective", result.objective, "request-ms"), ("dual_bound", result.dual_bound, "request-ms"),
                    ("gap_pct", gap, "%"))])
                print(f"largest {problem.size} {impl}: {result.status.value} in {seconds:.0f} s, gap {gap:.4f}% "
                      f"({result.message[:160]})", flush=True)
                proven |= result.status is Status.OPTIMAL
            if not proven:
                break
            summary["largest_proven_optimal"] = problem.size

    if args.lp_sizes:  # the 4M-variable size is family 4's own
        for case, problem in (("lp-sizes family1 medium seed 0", synthetic(MEDIUM[0], 0)),
                              ("lp-sizes capa-8000", next(q for name, q, _ in published_cflp() if name == "capa-8000")),
                              ("lp-sizes large 250 cities", large_instance(250))):
            lp_relaxations(case, problem, {"highs": args.lp_limit, "pdlp": args.pdlp_limit}, rows)

    save = lambda: save_benchmark("optimizers", kept + rows, {**kept_summary, **summary}, args.results)  # noqa: E731
    kept, kept_summary = previous(Path(args.results), families,
                                  tuple(p for p, on in (("lp-sizes", args.lp_sizes), ("largest", args.largest)) if on))
    if families & {1, 2, 3}:
        save()  # families 1-3 are kept even if the large instance fails
    if 4 in families:
        start = time.perf_counter()
        problem = large_instance()
        case = f"large {problem.size}"
        rows.append({"case": case, "impl": "build", "metric": "seconds", "value": time.perf_counter() - start, "unit": "s"})
        # One run of the default preset, compilation included.
        objective, seconds, result = run_solver("gradient", problem)
        print(f"{case}: gradient {objective:.4g} in {seconds:.1f} s: {result.message}", flush=True)
        bounds = {"capacity-free": capacity_free_bound(problem), "heuristic": result.dual_bound,
                  **lp_relaxations(case, problem, {"highs": args.lp_limit, "pdlp": args.pdlp_limit}, rows)}
        best_bound = max(b for b in bounds.values() if np.isfinite(b))
        for name, value in bounds.items():
            if not name.startswith("lp-"):  # lp_relaxations recorded theirs
                rows.append({"case": case, "impl": name, "metric": "dual_bound", "value": value, "unit": "request-ms"})
        objectives = {"gradient": objective}
        rows.append({"case": case, "impl": "gradient", "metric": "seconds", "value": seconds, "unit": "s"})
        for name in BASELINES:
            objectives[name], b_seconds, _ = run_solver(name, problem)
            rows.append({"case": case, "impl": name, "metric": "seconds", "value": b_seconds, "unit": "s"})
        for name, value in objectives.items():
            rows.append({"case": case, "impl": name, "metric": "gap_to_bound_pct",
                         "value": 100 * (value - best_bound) / best_bound, "unit": "%"})
        summary.update({"large_seconds": seconds, "large_gap_to_bound_pct": 100 * (objective - best_bound) / best_bound})
    save()  # also a run of --largest or --lp-sizes alone


def lp_relaxations(case: str, problem: PlacementProblem, limits: dict[str, float], rows: list) -> dict[str, float]:
    """The LP relaxation by each solver in `limits` (seconds each), side by side: rows of its status, time,
    size and certified bound (solvers.lp_bound: valid wherever the solver stopped); returns the finite
    bounds by name ("lp-relaxation" for HiGHS, as before, "lp-<solver>" for the others)."""
    bounds = {}
    for solver, limit in limits.items():
        impl = "lp-relaxation" if solver == "highs" else f"lp-{solver}"
        lp = solvers.solve("milp", problem, MilpOptions(relax=True, solver=solver, time_limit_s=limit))
        seconds = lp.build_seconds + lp.solve_seconds
        rows.extend([{"case": case, "impl": impl, "metric": "status", "value": lp.status.value, "unit": ""},
                     {"case": case, "impl": impl, "metric": "seconds", "value": seconds, "unit": "s"},
                     {"case": case, "impl": impl, "metric": "dual_bound", "value": lp.dual_bound, "unit": "request-ms"}])
        print(f"{case}: {impl} {lp.status.value} in {seconds:.0f} s, bound {lp.dual_bound:.6g} ({lp.message})", flush=True)
        if np.isfinite(lp.dual_bound):
            bounds[impl] = lp.dual_bound
    return bounds


FAMILY_OF_CASE = (("family1", 1), ("family3", 3), ("cap", 2), ("large ", 4))
LARGE_KEYS = ("large_seconds", "large_gap_to_bound_pct")


def previous(results: Path, families: set[int], rerun: tuple[str, ...] = ()) -> tuple[list[dict], dict]:
    """The rows and summary of the families not run now, from the results file (a run of some families
    keeps the others' figures, as the scenarios benchmark's --only does); of the other sections (--lp-sizes,
    --largest) those not run again (`rerun`: their case prefixes)."""
    path = results / "optimizers.json"
    if families & {1, 2, 3} and not {1, 2, 3} <= families:
        raise SystemExit("--families: run families 1-3 together, 4 alone, or all four")
    if not path.exists():
        return [], {}
    import json

    record = json.loads(path.read_text())
    family = lambda case: next((f for prefix, f in FAMILY_OF_CASE if case.startswith(prefix)), None)  # noqa: E731
    rows = [r for r in record["rows"] if family(r["case"]) not in families and not r["case"].startswith(rerun)]

    def run_again(key: str) -> bool:
        if key in LARGE_KEYS:
            return 4 in families
        if key == "largest_proven_optimal":
            return "largest" in rerun
        return bool(families & {1, 2, 3})

    return rows, {k: v for k, v in record["summary"].items() if not run_again(k)}

if __name__ == "__main__":
    main()
