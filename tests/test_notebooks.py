"""The scenario notebooks (experiments/notebooks/*.py, jupytext percent scripts) run headless on a shrunk quick
start run and write their figures and summary. Each one but the quick start is given the same run twice, so
its comparison between runs is exercised (degenerately: every difference is zero)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from placement import pipeline
from placement.config import load_config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "experiments" / "notebooks").glob("*.py"))
QUICK = ["time.duration_h=0.34", "solver.strategies=['milp', 'greedy', 'nearest_gateway', 'cloud_only']"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks") / "quickstart"
    pipeline.run(load_config(ROOT / "configs" / "quickstart.toml", QUICK), out, progress=lambda message: None)
    return out


def test_every_scenario_has_a_notebook():
    assert {p.stem for p in NOTEBOOKS} == {"quickstart", "kenya_hubs", "north_sea_rigs", "brazil_agri_drones",
                                           "d2c_dead_zones", "remote_datacenter_backhaul", "starlink_vs_kuiper",
                                           "sovereignty"}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_headless_and_writes_its_figures(notebook, run_dir, tmp_path):
    twice = notebook.stem != "quickstart"
    figures = tmp_path / "figures"
    env = {**os.environ, "MPLBACKEND": "Agg", "PLACEMENT_FIGURES": str(figures),
           "PLACEMENT_RUNS": os.pathsep.join([str(run_dir)] * (2 if twice else 1))}
    done = subprocess.run([sys.executable, str(notebook)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "# " in (figures / "summary.md").read_text()
    pngs = list(figures.glob("*.png"))
    assert len(pngs) >= 2 and (figures / "latency_cdf.png") in pngs
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png.name
    with open(figures / "comparison.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * (2 if twice else 1)  # runs x strategies
    if twice:
        with open(figures / "differences.csv") as f:
            differences = list(csv.DictReader(f))
        assert len(differences) == 4
        for row in differences:
            deltas = [float(v) for k, v in row.items() if k.startswith("delta_")]
            assert deltas and all(d == 0 or np.isnan(d) for d in deltas), row
    else:
        assert not (figures / "differences.csv").exists()
