"""`placement run`: the quick start end to end, reproducibility, and the errors bad configs get."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from placement import cli, pipeline
from placement.config import STRATEGIES, load_config
from placement.errors import InputError
from placement.solvers import SOLVERS

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.toml"
SHORT = ["time.duration_h=0.34"]  # two epochs of 600 s


def test_quickstart_run_writes_a_complete_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", str(QUICKSTART), "--out", str(out)]) == 0
    table = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    config = load_config(QUICKSTART)
    assert list(metrics["strategies"]) == config.solver.strategies
    for name in config.solver.strategies:
        assert name in table
    milp = metrics["strategies"]["milp"]
    assert milp["status"] == "optimal" and milp["feasible"]
    # No strategy beats the proven optimum, and in-orbit placement is faster than cloud-only here.
    for name, m in metrics["strategies"].items():
        assert m["feasible"], name
        assert m["objective"] >= milp["dual_bound"] * (1 - 1e-6), name
        # Every heuristic carries the LP relaxation's bound: a certified gap.
        assert m["dual_bound"] <= m["objective"] * (1 + 1e-9) and m["gap"] >= 0, name
    assert metrics["lp_bound"] <= milp["objective"] * (1 + 1e-9)
    assert milp["mean_latency_ms"] < metrics["strategies"]["cloud_only"]["mean_latency_ms"]
    assert metrics["strategies"]["cloud_only"]["share_cloud"] == pytest.approx(1.0)
    with open(out / "demands.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(config.solver.strategies) * metrics["problem"]["demands"]
    assert (out / "hosts.csv").read_text().count("\n") > 1
    assert json.loads((out / "config.json").read_text())["solver"]["strategies"] == config.solver.strategies
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_rerun_of_the_saved_config_gives_the_same_metrics(tmp_path):
    config = load_config(QUICKSTART, SHORT)
    quiet = lambda message: None  # noqa: E731
    a = pipeline.run(config, tmp_path / "a", progress=quiet)
    b = pipeline.run(config, tmp_path / "b", progress=quiet)
    for name in a["strategies"]:
        assert a["strategies"][name]["objective"] == b["strategies"][name]["objective"], name


def test_strategy_names_match_the_solver_registry():
    assert set(STRATEGIES) <= set(SOLVERS)


@pytest.mark.parametrize("override, field", [
    ("workloads=[{model='resnet-9000', rate_per_s=1.0, slo_ms=100.0}]", "workloads.model"),
    ("workloads=[{model='yolov8n', rate_per_s=1.0, slo_ms=100.0, sites=['atlantis']}]", "workloads[0].sites"),
    ("workloads=[{model='yolov8n', rate_per_s=-1.0, slo_ms=100.0}]", "workloads[0].rate_per_s"),
    ("constellation.max_satellites=100", "constellation.max_satellites"),
    ("hosts.satellite_profile='abacus'", "hosts.satellite_profile"),
    ("solver.strategies=['milp', 'oracle']", "solver.strategies"),
    ("problem.placement='sometimes'", "problem.placement"),
    ("demand.sites=[]", "demand.sites"),
])
def test_bad_configs_name_the_field(tmp_path, override, field):
    with pytest.raises(InputError) as error:
        config = load_config(QUICKSTART, SHORT + [override])
        pipeline.run(config, tmp_path / "run", progress=lambda m: None)
    assert field in str(error.value) and str(QUICKSTART) in str(error.value)
    assert not (tmp_path / "run").exists()


def test_direct_to_cell_sites_get_a_few_mbps(tmp_path):
    # Phones over Direct-to-Cell: the site's access link is one beam's few Mbps (starlink_performance_facts:
    # ~4 Mbps), so 300 detector frames/s of 82 kB per site cannot all be carried: most go unserved.
    config = load_config(QUICKSTART, SHORT + ["network.site_link='direct-to-cell'", "solver.strategies=['milp']"])
    problem = pipeline.placement_problem(config, progress=lambda m: None)
    assert 0.5e-3 < problem.site_access_gbps[problem.site_access_gbps > 0].max() < 50e-3
    metrics = pipeline.run(config, tmp_path / "run", progress=lambda m: None)
    assert metrics["strategies"]["milp"]["unserved_share"] > 0.5
