"""The scenario notebooks (experiments/notebooks/*.py, jupytext percent scripts) run headless on shrunk quick
start runs and write their figures and summary. Each one but the quick start compares two runs that differ
(terrestrial fiber 1.3 and 2.0 times the great circle): the differences it reports are the second run's
figures minus the first's, and cloud-only requests got slower."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from placement import pipeline
from placement.config import load_config
from placement.scenario import resolve

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "experiments" / "notebooks").glob("*.py"))
QUICK = ["time.duration_h=0.34", "time.step_s=300", "solver.strategies=['milp', 'greedy', 'nearest_gateway', 'cloud_only']"]


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    """The shrunk quick start, and the same with fiber routes twice the great circle (cloud paths get longer)."""
    outs = []
    for label, extra in (("quickstart", []), ("quickstart-long-fiber", ["network.fiber_route_factor=2.0"])):
        out = tmp_path_factory.mktemp("notebooks") / label
        pipeline.run(resolve(load_config(ROOT / "configs" / "quickstart.toml", QUICK + extra)), out,
                     progress=lambda message: None)
        outs.append(out)
    return outs


def test_every_scenario_has_a_notebook():
    assert {p.stem for p in NOTEBOOKS} == {"quickstart", "kenya_hubs", "north_sea_rigs", "brazil_agri_drones",
                                           "d2c_dead_zones", "remote_datacenter_backhaul", "starlink_vs_kuiper",
                                           "sovereignty", "evening_peak_eclipse"}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_headless_and_writes_its_figures(notebook, run_dirs, tmp_path):
    twice = notebook.stem != "quickstart"
    figures = tmp_path / "figures"
    runs = run_dirs if twice else run_dirs[:1]
    env = {**os.environ, "MPLBACKEND": "Agg", "PLACEMENT_FIGURES": str(figures),
           "PLACEMENT_RUNS": os.pathsep.join(str(r) for r in runs)}
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
        by_run = {(r["run"], r["strategy"]): r for r in rows}
        for row in differences:  # the second run minus the first, as the comparison table has them
            first, second = by_run[(row["versus"], row["strategy"])], by_run[(row["run"], row["strategy"])]
            assert (row["versus"], row["run"]) == tuple(r.name for r in runs)
            for metric in ("mean_latency_ms", "share_cloud", "unserved_share"):
                expected = float(second[metric]) - float(first[metric])
                assert float(row[f"delta_{metric}"]) == pytest.approx(expected, rel=1e-6, abs=1e-9), (row, metric)
        cloud = next(row for row in differences if row["strategy"] == "cloud_only")
        assert float(cloud["delta_mean_latency_ms"]) > 0  # longer fiber, slower cloud
    else:
        assert not (figures / "differences.csv").exists()
