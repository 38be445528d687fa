"""The `placement` command."""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import placement
from placement.errors import InputError
from placement.interrupts import Terminated, unwinding
from placement.listing import FORMATS, KINDS
from placement.progress import LOG, log_to_stderr

DESCRIPTION = """\
placement: where should each lightweight AI model run in a LEO edge cloud.

  placement run CONFIG        build the placement problem (constellation -> network -> hosts, models,
                              demands), solve it with each configured strategy, score every solution
                              with the independent evaluator and write a run directory
  placement sweep CONFIG --grid KEY=V1,V2 ...
                              run the config at every point of a grid of field values, one run
                              directory per point (resumable; in this process or on Ray)
  placement propagate CONFIG  propagate the constellation only (positions, tracks, sunlight)
  placement validate CONFIG   check a config and print it resolved
  placement export RUN --format czml|geojson|kml
                              a run's placement for a globe or a GIS (Cesium, QGIS, Google Earth)
  placement report RUN        the run's offline HTML report (report.html, as `run` writes it)
  placement list KIND         the models, host profiles, constellations, gateways, points of presence or
                              cloud regions a config can name, each with its source
  placement schema            a JSON Schema of the config file, for editors
  placement bench [NAME]      run a benchmark of experiments/benchmarks (no name: list them)

Every config field is documented in placement/config.py; see configs/quickstart.toml.
"placement COMMAND --help" describes each command.
"""

# The benchmark scripts of a source checkout (absent from an installed wheel).
BENCHMARKS = Path(placement.__file__).resolve().parents[1] / "experiments" / "benchmarks"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="placement", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version, help="print the installed version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", help="solve the placement problem of a config with every strategy and write a run directory",
        description="Build the network and the placement problem of the config, solve it with each strategy in "
                    "solver.strategies, score each with the evaluator and write metrics.json, Parquet tables "
                    "(demands, hosts, assignments, tracks) and plots into a run directory. Prints a comparison table.")
    _run_arguments(run)
    _no_plots(run)
    _no_report(run)

    sweep = commands.add_parser(
        "sweep", help="run a config at every point of a grid of field values (resumable, local or on Ray)",
        description="Run the config at every point of the cartesian product of the grids: each point is the config "
                    "with the --set overrides and then its own KEY=VALUE pairs, run as by `placement run` into "
                    "OUT/<point name>/ (the pairs joined by ',', e.g. "
                    "problem.epoch_s=300,network.fiber_route_factor=1.0). "
                    "Every point's config is checked before anything runs. OUT/sweep.json records the grid and "
                    "each point's status (done, skipped, failed), error and seconds. A point whose directory holds "
                    "metrics.json is finished and skipped, so an interrupted sweep resumes where it stopped; a re-run "
                    "into the same OUT needs the same config, --set overrides and grid keys, and may add values. "
                    "A failing point does not stop the others; the exit status is 1 if any failed. "
                    "Prints a table of every point and strategy.")
    sweep.add_argument("config", type=Path, help="TOML config file (see configs/quickstart.toml)")
    sweep.add_argument("--grid", action="append", required=True, metavar="KEY=V1,V2,...",
                       help="a config field and its values, each a TOML value as in --set; a comma inside [...], "
                            "{...} or quotes belongs to its value, e.g. --grid 'solver.strategies=[\"greedy\"],"
                            "[\"milp\"]' (repeatable: the points are every combination)")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config field at every point, e.g. --set time.duration_h=2 (repeatable)")
    sweep.add_argument("--out", type=Path, default=None, help="sweep directory (default: runs/<config name>-sweep)")
    sweep.add_argument("--executor", choices=["local", "ray"], default="local",
                       help="local: one point after the other in this process (default); ray: each point a Ray task")
    sweep.add_argument("--address", default=None,
                       help="Ray cluster to run on, e.g. ray://head:10001 or auto (default: a new local Ray instance)")
    sweep.add_argument("--cpus", type=float, default=None,
                       help="CPUs each point's Ray task asks for (Ray's num_cpus; default 1)")
    sweep.add_argument("--gpus", type=float, default=None, help="GPUs each point's Ray task asks for (num_gpus)")
    sweep.add_argument("--memory-gb", type=float, default=None,
                       help="memory each point's Ray task asks for, GB (Ray's memory, in bytes of 1e9)")
    sweep.add_argument("--retries", type=int, default=None,
                       help="times Ray runs a point again whose task failed or whose worker died (max_retries, "
                            "retry_exceptions; a bad config is not retried)")
    _no_plots(sweep)
    _no_report(sweep)
    _compile_cache(sweep)

    propagate = commands.add_parser(
        "propagate", help="propagate a constellation over a time grid and write a run directory",
        description="Propagate the configured constellation (SGP4 in JAX) and write positions, "
                    "geodetic tracks, sunlight and a summary into a run directory.")
    _run_arguments(propagate)

    validate = commands.add_parser(
        "validate", help="check a config file and print it resolved",
        description="Resolve a config as `placement run` does (every file read, every name looked up: sites, "
                    "models, hardware profiles, points of presence, jurisdictions, times) without computing "
                    "anything; print the resolved config as JSON and a summary line.")
    validate.add_argument("config", type=Path)
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    export = commands.add_parser(
        "export", help="write a run's placement as CZML, GeoJSON or KML",
        description="Write one strategy's placement of a run directory (satellites with time-tagged positions, the "
                    "hosts in use per epoch and their models, demand sites, site-to-host lines, gateways and cloud "
                    "regions) as CZML (Cesium), GeoJSON (RFC 7946) or KML 2.2.")
    export.add_argument("run_dir", type=Path, metavar="RUN", help="a run directory written by `placement run`")
    export.add_argument("--format", required=True, choices=["czml", "geojson", "kml"])
    export.add_argument("--out", type=Path, default=None, help="file to write (default: RUN/<strategy>.<format>)")
    export.add_argument("--strategy", default=None, help="strategy to export (default: the run's best)")
    export.add_argument("--epoch", type=int, default=None, help="only this placement epoch (default: all)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing file that placement wrote")

    report = commands.add_parser(
        "report", help="write a run's offline HTML report",
        description="Write one self-contained HTML page (no network needed to view it) with a world map and an "
                    "epoch slider, the latency distribution per strategy, utilisation and power over time and the "
                    "comparison table.")
    report.add_argument("run_dir", type=Path, metavar="RUN", help="a run directory written by `placement run`")
    report.add_argument("--out", type=Path, default=None, help="file to write (default: RUN/report.html)")
    report.add_argument("--overwrite", action="store_true", help="replace an existing file that placement wrote")

    listing = commands.add_parser(
        "list", help="list what a config can name (models, profiles, constellations, gateways, pops, regions)",
        description="List the catalog's models, host hardware profiles, built-in Walker constellations, gateways, "
                    "points of presence or cloud regions, each row with the source of its figures.")
    listing.add_argument("kind", choices=list(KINDS))
    listing.add_argument("--format", choices=FORMATS, default="table")

    commands.add_parser(
        "schema", help="print a JSON Schema of the config file (for editors)",
        description="Print a JSON Schema (draft 2020-12) of the config file, generated from the typed fields of "
                    "placement/config.py: placement schema > placement.schema.json")

    bench = commands.add_parser(
        "bench", help="run a benchmark script of experiments/benchmarks (no name: list them)",
        description="Run experiments/benchmarks/NAME.py of this source checkout with ARGS (see each script's "
                    "--help); it writes its results into experiments/results. Without NAME, list the benchmarks.")
    bench.add_argument("--list", action="store_true", help="list the benchmarks (as does no NAME)")
    bench.add_argument("name", nargs="?", metavar="NAME", help="benchmark name, e.g. milp_scaling")
    bench.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for the script")
    for command in commands.choices.values():
        talk = command.add_mutually_exclusive_group()
        talk.add_argument("-q", "--quiet", action="store_true", help="say warnings and errors only")
        talk.add_argument("-v", "--verbose", action="store_true",
                          help="say debug messages too, and the traceback of an error that is not a bad input")
    return parser


class _Version(argparse.Action):
    """--version: the version of the installed distribution that holds this package, read when asked."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(installed_version())
        parser.exit()


def installed_version() -> str:
    """`placement VERSION (distribution NAME)` from the metadata of the installed distribution that provides
    the `placement` package (the distribution is named leo-placement: pyproject.toml)."""
    for name in dict.fromkeys(importlib.metadata.packages_distributions().get("placement", [])):
        return f"placement {importlib.metadata.version(name)} (distribution {name})"
    return f"placement {placement.__version__} (not installed: imported from {Path(placement.__file__).parent})"


def _run_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("config", type=Path, help="TOML config file (see configs/quickstart.toml)")
    command.add_argument("--out", type=Path, default=None, help="run directory to create (default: runs/<config name>)")
    command.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                         help="override a config field, e.g. --set time.duration_h=2 (repeatable)")
    command.add_argument("--overwrite", action="store_true",
                         help="replace an existing directory that placement wrote (one holding its .placement-run "
                              "marker) once the new one is complete; anything else is refused")
    _compile_cache(command)


def _no_plots(command: argparse.ArgumentParser) -> None:
    command.add_argument("--no-plots", dest="draw_plots", action="store_false",
                         help="write no plots/ (large sweeps: the tables hold what the figures show)")


def _no_report(command: argparse.ArgumentParser) -> None:
    command.add_argument("--no-report", dest="write_report", action="store_false",
                         help="write no report.html (`placement report RUN` writes it later from the tables)")


def _compile_cache(command: argparse.ArgumentParser) -> None:
    command.add_argument("--compile-cache", metavar="DIR", default=None,
                         help="keep JAX's compiled programs in DIR for later runs of the same shapes, or 'none' "
                              "(default: $PLACEMENT_COMPILE_CACHE, else ~/.cache/placement/jax; see "
                              "placement/compile_cache.py)")


def main(argv: list[str] | None = None) -> int:
    """The command: 0 on success; 2 for bad input (InputError), 1 for a run that failed (a traceback only
    with -v), 130 after Ctrl-C, each with one line on stderr. SIGTERM ends the process with 143 once the job
    has unwound."""
    args = _parser().parse_args(argv)
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    with log_to_stderr(level):
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    try:
        return _command(args)
    except InputError as error:
        LOG.error(str(error))
        return 2
    except KeyboardInterrupt:
        print("placement: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("placement: terminated", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # The job has unwound; skip the interpreter's teardown, which crashes under JAX threads still busy with
        # the abandoned work (measured: exit -11 when SIGTERM lands during the first compilation). Ending the
        # process is what SIGTERM asks for, so no in-process caller is denied a return.
        os._exit(143)
    except Exception as error:  # noqa: BLE001 - a bug or a failure of the machine: one line, traceback on request
        if args.verbose:
            traceback.print_exc()
        LOG.error(f"{type(error).__name__}: {error}"
                  + ("" if args.verbose else " (run again with -v for the traceback)"))
        return 1


def _command(args: argparse.Namespace) -> int:
    from placement.results import json_text

    if args.command == "bench":
        return _bench(args.name, args.args, list_only=args.list)
    if args.command in ("export", "report"):
        return _export_or_report(args)
    if args.command == "list":
        from placement import listing

        print(listing.render(listing.rows(args.kind), args.format))
        return 0
    if args.command == "schema":
        from placement.schema import config_schema

        print(json_text(config_schema()))
        return 0
    # Everything the jobs import is imported before SIGTERM is taken over: an exception raised by the handler
    # while a C extension initialises is turned into an ImportError (measured), and until an output is claimed
    # the default action, ending the process at once, leaves nothing behind. Later a dropped one is sent again
    # (placement/interrupts.py).
    from placement import compile_cache, pipeline, sweep  # noqa: F401 - sweep's points import pipeline lazily
    from placement.config import load_config
    from placement.scenario import resolve, resolve_propagation

    with unwinding():
        if args.command == "sweep":
            return _sweep(args)
        config = load_config(args.config, args.overrides)
        if args.command != "validate":
            compile_cache.use_cache(compile_cache.cache_dir(args.compile_cache))
        if args.command == "propagate":
            job = resolve_propagation(config)
        else:
            scenario = resolve(config)  # every reference checked, before any computation
            if args.command == "validate":
                print(json_text(scenario.config))
                for warning in scenario.warnings:
                    LOG.warning(warning)
                LOG.info(_scenario_line(scenario))
                return 0
        out_dir = args.out if args.out is not None else Path("runs") / args.config.stem
        if args.command == "run":
            metrics = pipeline.run(scenario, out_dir, overwrite=args.overwrite, draw_plots=args.draw_plots,
                                   report=args.write_report)
            print(pipeline.summary_table(metrics))
            if "infeasible" in metrics:
                LOG.error(f"no strategy found a feasible placement: {metrics['infeasible']} (run directory: "
                          f"{out_dir})")
                return 1
        else:
            print(json_text(pipeline.propagate(job, out_dir, overwrite=args.overwrite)))
        LOG.info(f"run directory: {out_dir}")
        return 0


def _scenario_line(scenario) -> str:
    h, d = scenario.horizon, scenario.demand
    return (f"valid: {len(scenario.constellation.elements)} satellites ({scenario.constellation.label}), "
            f"{len(d.sites)} sites, {len(d.workloads)} workloads, {h.n_epochs} epochs of {h.epoch_s:g} s "
            f"({h.steps_per_epoch} network steps each), strategies {', '.join(scenario.strategies)}")


def _sweep(args: argparse.Namespace) -> int:
    from placement import sweep

    out_dir = args.out if args.out is not None else Path("runs") / f"{args.config.stem}-sweep"
    options = sweep.PointOptions(cpus=args.cpus, gpus=args.gpus, memory_gb=args.memory_gb, retries=args.retries,
                                 draw_plots=args.draw_plots, write_report=args.write_report,
                                 compile_cache=args.compile_cache)
    record = sweep.sweep(args.config, args.grid, args.overrides, out_dir, args.executor, args.address, options)
    print(sweep.summary_table(record, sweep.point_metrics(record)))
    failed = [p for p in record["points"] if p["status"] == "failed"]
    for point in failed:
        LOG.error(f"point {point['name']} failed: {point['error']}")
    LOG.info(f"sweep directory: {out_dir} ({len(record['points']) - len(failed)} of {len(record['points'])} points "
             "finished)")
    return 1 if failed else 0


def _export_or_report(args: argparse.Namespace) -> int:
    if args.command == "export":
        from placement.results.export import export

        path = export(args.run_dir, args.format, args.out, args.strategy, args.epoch, overwrite=args.overwrite)
    else:
        from placement.results.report import write_html_report

        path = write_html_report(args.run_dir, args.out, overwrite=args.overwrite)
    print(path)
    return 0


def benchmarks() -> dict[str, str]:
    """Each benchmark script's name and the first line of its docstring (read, not imported)."""
    if not BENCHMARKS.is_dir():
        raise InputError("no benchmark scripts: `placement bench` runs them from a source checkout "
                         "(git clone, then pip install -e .)", source=str(BENCHMARKS),
                         expected="the experiments/benchmarks folder of a checkout")
    return {path.stem: (ast.get_docstring(ast.parse(path.read_text())) or "").strip().split("\n")[0]
            for path in sorted(BENCHMARKS.glob("*.py"))}


def _bench(name: str | None, script_args: list[str], *, list_only: bool) -> int:
    from placement.results import format_table

    available = benchmarks()
    if name is None or list_only:
        print(format_table([{"benchmark": n, "what it measures": line} for n, line in available.items()],
                           ["benchmark", "what it measures"]))
        print("\nplacement bench NAME [ARGS...] runs one; placement bench NAME --help lists its arguments.")
        return 0
    if name not in available:
        raise InputError(f"unknown benchmark {name!r}", source=str(BENCHMARKS), field="NAME",
                         expected="one of " + ", ".join(available))
    # Its own process: the scripts parse sys.argv and set up JAX as they need.
    return subprocess.run([sys.executable, str(BENCHMARKS / f"{name}.py"), *script_args]).returncode


if __name__ == "__main__":
    sys.exit(main())
