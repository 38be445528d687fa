"""What each strategy's placement is worth when elements fail: the quick start under one failure of each kind.

The quick start (configs/quickstart.toml, one hour of Starlink Gen1 shell 1, eight sites; without the gradient
heuristic, whose compilation alone outlasts the rest) is built and solved once; then, per failure kind, one
outage, and per strategy the unserved share (of the nominal requests) and mean latency (of the requests
served) of its placement kept as it was, re-routed (copies kept, the network rebuilt without the failed
elements, the requests reassigned among the surviving copies) and re-optimised (the strategy run again on
the rebuilt problem), each scored by the evaluator (placement/failures/impact.py).

Named failures hit the busiest element of their kind under the nominal solutions (requests served at a host,
or for a plane the busiest satellite's plane). The random ones use rates that are assumptions of this
benchmark, not published figures: 5% of the satellites, 5% of the laser links, 10% of the gateways, each
element independently down for the whole horizon, over three seeds.

    python experiments/benchmarks/failures.py

Writes experiments/results/failures.json (format: shared BENCHMARKS.md); summary: per failure kind, the
MILP placement's unserved share kept, re-routed and re-optimised.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from placement import pipeline, solvers
from placement.config import load_config
from placement.failures import FailureSpec
from placement.failures import impact
from placement.problem.spec import CLOUD, GATEWAY, SATELLITE
from placement.results import save_benchmark
from placement.results.paths import paths_table
from placement.scenario import resolve

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = ["milp", "greedy", "nearest_gateway", "cloud_only"]
# Random failure rates: assumptions of this benchmark (each element down for the horizon with this probability)
RANDOM = {"random satellites 5%": {"satellite_rate": 0.05}, "random lasers 5%": {"laser_rate": 0.05},
          "random gateways 10%": {"gateway_rate": 0.10}}
SEEDS = (1, 2, 3)


def busiest(problem, solutions: dict, kind: int) -> str:
    """The host of `kind` serving the most requests over all the solutions."""
    served = sum(np.bincount(np.maximum(problem.candidate_host, 0).ravel(),
                             np.where(problem.candidate_host >= 0,
                                      s.assignment * problem.requests()[:, :, None], 0.0).ravel(), problem.n_hosts)
                 for s in solutions.values())
    return problem.host_name[int(np.argmax(np.where(problem.host_kind == kind, served, -1.0)))]


def named_failures(problem, solutions: dict) -> dict[str, FailureSpec]:
    satellite = busiest(problem, solutions, SATELLITE)
    return {"gateway (busiest)": FailureSpec(gateways=[busiest(problem, solutions, GATEWAY)]),
            "cloud region (busiest)": FailureSpec(clouds=[busiest(problem, solutions, CLOUD)]),
            "satellite (busiest)": FailureSpec(satellites=[satellite]),
            "its accelerators only": FailureSpec(accelerators=[satellite]),
            "its orbital plane": FailureSpec(planes=[satellite.rsplit("-", 1)[0]])}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(ROOT / "experiments" / "results"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scenario = resolve(load_config(ROOT / "configs" / "quickstart.toml", [f"solver.strategies={STRATEGIES}"]))
    prepared = pipeline.prepare(scenario)
    problem = prepared.problem
    solutions = {name: solvers.solve(name, problem, scenario.options(name), seed=scenario.seed).solution
                 for name in STRATEGIES}
    paths = paths_table(problem, list(solutions.values()), scenario.demand.sites, scenario.ground.pops,
                        prepared.orbits, prepared.lasers, scenario.ground.arrays(scenario.demand.sites),
                        scenario.network, prepared.network.access_sat, scenario.horizon.steps_per_epoch)
    cases = {kind: [spec] for kind, spec in named_failures(problem, solutions).items()}
    cases |= {kind: [FailureSpec(**rates, seed=seed) for seed in SEEDS] for kind, rates in RANDOM.items()}
    rows, summary = [], {}
    for case, specs in cases.items():
        case_started = time.perf_counter()
        figures = []  # one impact per draw; the rows hold their mean
        for spec in specs:
            failing = dataclasses.replace(scenario, failures=spec)
            figures.append(impact.failure_impact(failing, prepared, solutions, impact.outage_of(failing, prepared),
                                                 pipeline.prepare_on, paths))
        down = {k: float(np.mean([f["down"][k] for f in figures])) for k in figures[0]["down"]}
        rows += [{"case": case, "impl": "outage", "metric": f"{k}_down", "value": v, "unit": "elements"}
                 for k, v in down.items() if v]
        for name in STRATEGIES:
            for way in ("nominal",) + impact.WAYS:
                for figure, unit in (("unserved_share", "share"), ("mean_latency_ms", "ms")):
                    values = [f["strategies"][name][way][figure] for f in figures]
                    value = None if None in values else float(np.mean(values))
                    rows.append({"case": case, "impl": name, "metric": f"{way}_{figure}", "value": value,
                                 "unit": unit})
                    if name == "milp" and figure == "unserved_share" and way != "nominal":
                        summary[f"{case}: milp {way} unserved_share"] = value
        rows.append({"case": case, "impl": "all strategies", "metric": "seconds",
                     "value": time.perf_counter() - case_started, "unit": "s"})
        print(f"{case}: {time.perf_counter() - case_started:.0f} s", flush=True)
    summary["seconds"] = time.perf_counter() - started
    save_benchmark("failures", rows, summary, args.results)


if __name__ == "__main__":
    main()
