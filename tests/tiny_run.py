"""The tiny run directory that the export and report tests read: the quick start shrunk, run through the command
line on a network built once (the fixtures are in conftest.py)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.toml"
# The quick start shrunk to two epochs of 600 s with four network steps each, and strategies that place copies
# on satellites (milp), at gateways and in the cloud.
TINY_RUN = ["time.duration_h=0.34", "time.step_s=150",
            "solver.strategies=['milp', 'nearest_gateway', 'cloud_only']"]


def prepare_tiny():
    """The tiny quick start's network and problem (`pipeline.prepare`)."""
    from placement import pipeline
    from placement.config import load_config
    from placement.scenario import resolve

    return pipeline.prepare(resolve(load_config(QUICKSTART, TINY_RUN)), lambda message: None)


def run_tiny(out: Path, prepared, *extra: str) -> Path:
    """`placement run` of the tiny quick start into `out` through the command line (with `extra` arguments), on
    the network `prepared` built once."""
    from placement import cli, pipeline

    args = ["run", str(QUICKSTART), "--out", str(out), *extra] + [a for o in TINY_RUN for a in ("--set", o)]
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()):
        patch.setattr(pipeline, "prepare", lambda scenario, progress: prepared)
        assert cli.main(args) == 0
    return out
