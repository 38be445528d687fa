"""The `placement` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from placement.errors import InputError

DESCRIPTION = """\
placement: where should each lightweight AI model run in a LEO edge cloud.

  placement run CONFIG        build the placement problem (constellation -> network -> hosts, models,
                              demands), solve it with each configured strategy, score every solution
                              with the independent evaluator and write a run directory
  placement propagate CONFIG  propagate the constellation only (positions, tracks, sunlight)
  placement validate CONFIG   check a config and print it resolved

Every config field is documented in placement/config.py; see configs/quickstart.toml.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="placement", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", help="solve the placement problem of a config with every strategy and write a run directory",
        description="Build the network and the placement problem of the config, solve it with each strategy in "
                    "solver.strategies, score each with the evaluator and write metrics.json, demands.csv and "
                    "hosts.csv into a run directory. Prints a comparison table.")
    _run_arguments(run)
    propagate = commands.add_parser(
        "propagate", help="propagate a constellation over a time grid and write a run directory",
        description="Propagate the configured constellation (SGP4 in JAX) and write positions, "
                    "geodetic tracks, sunlight and a summary into a run directory.")
    _run_arguments(propagate)

    validate = commands.add_parser("validate", help="check a config file and print it resolved",
                                   description="Validate a config file; print the resolved config as JSON.")
    validate.add_argument("config", type=Path)
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return parser


def _run_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("config", type=Path, help="TOML config file (see configs/quickstart.toml)")
    command.add_argument("--out", type=Path, default=None, help="run directory to create (default: runs/<config name>)")
    command.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                         help="override a config field, e.g. --set time.duration_h=2 (repeatable)")
    command.add_argument("--overwrite", action="store_true",
                         help="replace an existing run directory once the new one is complete")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from placement.config import config_to_dict, load_config

        config = load_config(args.config, args.overrides)
        if args.command == "validate":
            print(json.dumps(config_to_dict(config), indent=2))
            return 0
        from placement import pipeline

        out_dir = args.out if args.out is not None else Path("runs") / args.config.stem
        if args.command == "run":
            metrics = pipeline.run(config, out_dir, overwrite=args.overwrite)
            print(pipeline.summary_table(metrics))
        else:
            print(json.dumps(pipeline.propagate(config, out_dir, overwrite=args.overwrite), indent=2))
        print(f"run directory: {out_dir}", file=sys.stderr)
        return 0
    except InputError as error:
        print(f"placement: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
