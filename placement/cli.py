"""The `placement` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from placement.errors import InputError

DESCRIPTION = """\
placement: where should each lightweight AI model run in a LEO edge cloud.

Stages available today: constellation (TLE/OMM files, Walker shells) and SGP4 propagation in JAX.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="placement", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    propagate = commands.add_parser(
        "propagate", help="propagate a constellation over a time grid and write a run directory",
        description="Propagate the configured constellation (SGP4 in JAX) and write positions, "
                    "geodetic tracks, sunlight and a summary into a run directory.")
    propagate.add_argument("config", type=Path, help="TOML config file (see configs/quickstart.toml)")
    propagate.add_argument("--out", type=Path, default=None,
                           help="run directory to create (default: runs/<config name>)")
    propagate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                           help="override a config field, e.g. --set time.duration_h=2 (repeatable)")
    propagate.add_argument("--overwrite", action="store_true",
                           help="replace an existing run directory once the new one is complete")

    validate = commands.add_parser("validate", help="check a config file and print it resolved",
                                   description="Validate a config file; print the resolved config as JSON.")
    validate.add_argument("config", type=Path)
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return parser


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
        summary = pipeline.propagate(config, out_dir, overwrite=args.overwrite)
        print(json.dumps(summary, indent=2))
        print(f"run directory: {out_dir}", file=sys.stderr)
        return 0
    except InputError as error:
        print(f"placement: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
