"""Test-wide JAX settings: float64 available (the reference precision the tests compare against) and strict
rank promotion, so an implicit broadcast between arrays of different ranks is an error rather than a silent
bug (JAX's own test setups do the same). Jobs run by the tests keep no compiled programs on disk (JAX's
persistent cache, placement/compile_cache.py), unless a test asks: the user's cache folder is left alone and
every test compiles as a fresh run would.

Also the shrunk quick start's run, built once for every test module that reads a run directory
(`quick`, `run_dir`; `run_quick` for another run on the same network; `idle_copy_run`, a copy of it with a
copy that serves nothing), and `strict_json`, the standard's reading of a JSON file."""

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import jax
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from placement import cli, pipeline
from placement.config import load_config
from placement.scenario import resolve

os.environ.setdefault("PLACEMENT_COMPILE_CACHE", "none")

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.toml"
SHORT = ["time.duration_h=0.34", "time.step_s=150"]  # two epochs of 600 s, four network steps each
# The quick start, shrunk: two epochs, and without the gradient heuristic (its JIT compilation alone takes
# longer than the rest; tests/test_gradient.py covers it).
QUICK = SHORT + ["solver.strategies=['milp', 'greedy', 'nearest_gateway', 'cloud_only']"]
quiet = lambda message: None  # noqa: E731


def strict_json(path: Path):
    """A JSON file read by the standard's rules: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise AssertionError(f"{path.name} holds {constant}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture(scope="session")
def quick():
    """The shrunk quick start's scenario and what `pipeline.prepare` computes for it, built once (the network
    is the slow part)."""
    scenario = resolve(load_config(QUICKSTART, QUICK))
    return scenario, pipeline.prepare(scenario, quiet)


@pytest.fixture(scope="session")
def run_dir(quick, tmp_path_factory):
    """`placement run` of the shrunk quick start through the command line (on the network built once), and
    what it printed."""
    out = tmp_path_factory.mktemp("quick") / "run"
    return out, run_quick(out, quick)


def run_quick(out: Path, quick, *extra: str) -> str:
    """`placement run` of the shrunk quick start into `out` through the command line, with `extra` arguments,
    on the network of the `quick` fixture; returns what it printed."""
    args = ["run", str(QUICKSTART), "--out", str(out), *extra] + [a for o in QUICK for a in ("--set", o)]
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout):
        patch.setattr(pipeline, "prepare", lambda scenario, progress: quick[1])
        assert cli.main(args) == 0
    return stdout.getvalue()


@pytest.fixture(scope="session")
def idle_copy_run(run_dir, tmp_path_factory):
    """A copy of `run_dir` whose placements.parquet holds one more copy, serving nothing: the first milp host
    and epoch that lacks a model gets it (the quick start leaves no copy idle, a placement with minimum copies
    or a heuristic's spare would). Returns the directory and the added row."""
    out = tmp_path_factory.mktemp("idle") / "run"
    shutil.copytree(run_dir[0], out)
    table = pq.read_table(out / "placements.parquet")
    rows = table.to_pylist()
    models = sorted({row["model"] for row in rows})
    runs = {}
    for row in rows:
        if row["strategy"] == "milp":
            runs.setdefault((row["epoch"], row["host"]), (row, set()))[1].add(row["model"])
    row, held = next(value for value in runs.values() if len(value[1]) < len(models))
    idle = {**row, "model": next(m for m in models if m not in held), "requests_per_s": 0.0, "requests": 0.0}
    pq.write_table(pa.Table.from_pylist(rows + [idle], schema=table.schema), out / "placements.parquet")
    return out, idle
