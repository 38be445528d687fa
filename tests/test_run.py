"""`placement run`: the quick start end to end, the run directory (Parquet tables, plots, provenance), reading
runs back, reproducibility from the saved config, progress reporting, and the errors bad configs get."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from matplotlib import image

import placement
from placement import cli, pipeline, plots, results, solvers
from placement.config import config_to_dict, load_config
from placement.errors import InputError
from placement.evaluation import evaluate
from placement.problem import CLOUD
from placement.progress import Reporter, Stage
from placement.scenario import resolve

from conftest import QUICK, QUICKSTART, SHORT, quiet, strict_json


PLOTS = ("latency_cdf.png", "map.png", "utilisation.png", "power.png", "map_models.png", "copy_timeline.png",
         "power_headroom.png")


def test_quickstart_run_writes_a_complete_directory(quick, run_dir):
    out, table = run_dir
    scenario, problem = quick[0], quick[1].problem
    metrics = strict_json(out / "metrics.json")
    assert list(metrics["strategies"]) == list(scenario.strategies)
    for name in scenario.strategies:
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
    # cloud_only serves from the cloud every request a route reaches it for: all but the steps in which the
    # site sees no satellite, which the slots' shares leave out.
    cloud = metrics["strategies"]["cloud_only"]
    host = np.maximum(problem.candidate_host, 0)
    on_cloud = np.where(problem.usable_slots() & (problem.host_kind[host] == CLOUD), problem.candidate_share, 0.0)
    reached = (problem.requests() * np.minimum(on_cloud.sum(axis=2), 1.0)).sum() / problem.requests().sum()
    assert cloud["share_cloud"] == pytest.approx(reached) and cloud["unserved_share"] == pytest.approx(1 - reached)
    assert reached > 0.99 and metrics["slo_reach"]["attainable_share"] >= milp["slo_attainment"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".placement-run", "config.json", "environment.json", "metrics.json", "plots", "report.html"]
        + [f"{t}.parquet" for t in results.RUN_TABLES])
    assert pq.read_table(out / "demands.parquet").num_rows == len(scenario.strategies) * problem.n_demands
    recorded = strict_json(out / "config.json")
    assert recorded["solver"]["strategies"] == list(scenario.strategies)
    assert recorded["hosts"]["cloud_link_gbps"] is None  # not modelled: null, not Infinity
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_run_directory_records_version_revision_and_seed(run_dir):
    out, _ = run_dir
    environment = json.loads((out / "environment.json").read_text())
    assert environment["placement"] == placement.__version__
    assert environment["config_source"] == str(QUICKSTART)
    assert environment["ortools"] and environment["jax"]
    try:
        head = subprocess.run(["git", "-C", str(QUICKSTART.parent), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = None
    if head is None:
        assert environment["git_revision"] is None
    else:
        assert environment["git_revision"].removesuffix("-dirty") == head
    assert json.loads((out / "config.json").read_text())["seed"] == 0
    assert json.loads((out / "metrics.json").read_text())["seed"] == 0


def test_tables_are_typed_and_agree_with_the_evaluator(run_dir):
    out, _ = run_dir
    run = results.load_run(out)
    demands, hosts = run.tables["demands"].schema, run.tables["hosts"].schema
    assert demands.field("mean_latency_ms").type == pa.float64() and demands.field("site").type == pa.string()
    assert hosts.field("epoch").type == pa.int32() and hosts.field("copies").type == pa.int32()
    assert run.tables["tracks"].num_rows > 0 and run.tables["assignments"].num_rows > 0
    # The same figures, recomputed from the assignments table, as the evaluator's in metrics.json.
    for name in run.strategies:
        from_tables = results.summarize(run, name)
        for metric in ("mean_latency_ms", "p95_latency_ms", "slo_attainment", "unserved_share", "share_satellite",
                       "share_gateway", "share_cloud"):
            assert from_tables[metric] == pytest.approx(run.metrics["strategies"][name][metric], rel=1e-9,
                                                        abs=1e-12), (name, metric)
    # Satellites used as hosts are where their tracks say at each epoch, and carry their sunlight.
    sat = run.table("hosts", "milp")
    sat = {c: v[sat["host_kind"] == "satellite"] for c, v in sat.items()}
    assert sat["host"].size > 0 and np.isfinite(sat["sunlit_fraction"]).all()
    tracks = run.table("tracks")
    for host, minute, lat in zip(sat["host"], sat["epoch_start_min"], sat["lat_deg"]):
        at = (tracks["satellite"] == host) & np.isclose(tracks["time_min"], minute)
        assert tracks["lat_deg"][at] == pytest.approx([lat])


def test_plots_are_png_images_with_content(run_dir):
    out, _ = run_dir
    for name in PLOTS:
        path = out / "plots" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        pixels = image.imread(path)
        assert pixels.shape[0] > 300 and pixels.shape[1] > 500 and pixels.std() > 0.05, name


def test_a_run_that_fails_while_writing_leaves_nothing(quick, tmp_path, monkeypatch):
    def broken(run, out_dir):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr(pipeline, "prepare", lambda scenario, progress: quick[1])
    monkeypatch.setattr(plots, "run_plots", broken)
    with pytest.raises(RuntimeError, match="plotting failed"):
        pipeline.run(quick[0], tmp_path / "run", progress=quiet)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_out_is_refused_before_anything_is_computed(tmp_path, monkeypatch, capsys):
    def never(scenario, progress):
        raise AssertionError("computed before the output directory was checked")

    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    monkeypatch.setattr(pipeline, "prepare", never)
    assert cli.main(["run", str(QUICKSTART), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_rerun_of_the_saved_config_gives_the_same_metrics(run_dir, tmp_path):
    out, _ = run_dir
    saved = results.load_run(out)
    config = saved.to_config()
    assert config_to_dict(config) == saved.config
    again = pipeline.run(resolve(config), tmp_path / "again", progress=quiet)  # builds the network afresh
    for name, m in saved.metrics["strategies"].items():
        for metric in ("status", "objective", "mean_latency_ms", "p95_latency_ms", "unserved_share", "share_satellite"):
            assert again["strategies"][name][metric] == m[metric], (name, metric)


def test_load_runs_reads_sweeps_in_their_order_and_labels_copies(run_dir, tmp_path, monkeypatch):
    out, _ = run_dir
    sweep = tmp_path / "sweep"
    for point in ("seed=1", "seed=0"):
        shutil.copytree(out, sweep / point)
    (sweep / "sweep.json").write_text(json.dumps({"points": [
        {"name": name, "overrides": [name], "run_dir": str(sweep / name), "status": "done"}
        for name in ("seed=1", "seed=0")]}))
    assert [run.label for run in results.load_runs(sweep)] == ["seed=1", "seed=0"]
    assert [run.label for run in results.load_runs(out)] == [out.name]
    with pytest.raises(InputError, match="neither a run directory nor a sweep"):
        results.load_runs(tmp_path)
    # The same run twice compares with itself: unique labels, every difference zero.
    monkeypatch.setenv("PLACEMENT_RUNS", os.pathsep.join([str(out), str(out)]))
    runs = results.runs_from_environment("quickstart")
    assert [run.label for run in runs] == [out.name, f"{out.name} (2)"]
    differences = results.differences(results.comparison(runs))
    assert len(differences) == len(runs[0].strategies)
    for row in differences:
        assert all(row[k] == 0 or np.isnan(row[k]) for k in row if k.startswith("delta_")), row


def test_progress_draws_a_bar_on_a_terminal_and_lines_elsewhere():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    with Stage(Reporter(terminal), "solve", 2) as stage:
        for item in ("milp", "greedy"):
            stage.start(item)
            stage.done(item, "optimal")
    assert "\r" in terminal.getvalue() and "[" + "#" * 24 + "] 2/2" in terminal.getvalue()
    assert terminal.getvalue().endswith("done\n")

    lines = []
    with Stage(lines.append, "solve", 2) as stage:
        stage.start("milp")
        stage.done("milp", "optimal")
    assert lines == ["solve 1/2: milp: optimal"]


def test_a_solver_option_set_on_the_command_line_is_used_and_recorded(quick, tmp_path, monkeypatch):
    out = tmp_path / "run"
    overrides = SHORT + ["solver.strategies=['gradient']", "solver.gradient.copies.steps=37",
                         "solver.gradient.steps=100", "solver.certify=false"]
    monkeypatch.setattr(pipeline, "prepare", lambda scenario, progress: quick[1])
    assert cli.main(["run", str(QUICKSTART), "--out", str(out)] + [a for o in overrides for a in ("--set", o)]) == 0
    recorded = strict_json(out / "config.json")["solver"]["gradient"]
    assert (recorded["copies"]["steps"], recorded["steps"]) == (37, 100)
    assert "(37 steps," in strict_json(out / "metrics.json")["strategies"]["gradient"]["message"]
    assert results.load_run(out).to_config().solver.gradient.steps == 100


@pytest.mark.parametrize("override, field", [
    ("workloads=[{model='resnet-9000', rate_per_s=1.0, slo_ms=100.0}]", "workloads[0].model"),
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
        pipeline.run(resolve(config), tmp_path / "run", progress=quiet)
    assert field in str(error.value) and str(QUICKSTART) in str(error.value)
    assert not (tmp_path / "run").exists()


def test_direct_to_cell_sites_get_a_few_mbps():
    # Phones over Direct-to-Cell: the site's access link is one beam's few Mbps (starlink_performance_facts:
    # ~4 Mbps), so 300 detector frames/s of 82 kB per site cannot all be carried: most go unserved.
    scenario = resolve(load_config(QUICKSTART, SHORT + ["network.site_link='direct-to-cell'"]))
    problem = pipeline.placement_problem(scenario)
    for site_gbps in (problem.site_uplink_gbps, problem.site_downlink_gbps):
        assert 0.5e-3 < site_gbps[site_gbps > 0].max() < 50e-3
    result = solvers.solve("milp", problem, scenario.options("milp"), seed=scenario.seed)
    assert evaluate(problem, result.solution).unserved_share > 0.5


def test_every_option_at_once_runs_and_passes_the_evaluator(tmp_path):
    """Shared link rows, a fade state, random satellite failures and the gateway reserve in one run: each was
    built and tested alone; together they once stopped after the solve (a failed host's slots kept their
    links). (The quick start's workloads have no jurisdictions, so a transit rule would change nothing here:
    tests/test_transit.py.)"""
    overrides = QUICK + ["network.link_rows=true", "network.weather.exceedance_pct=1.0",
                         "network.weather.rain_zone='K'", "failures.satellite_rate=0.05", "failures.seed=3",
                         "failures.reserve='gateway'"]
    pipeline.run(resolve(load_config(QUICKSTART, overrides)), tmp_path / "run", progress=quiet)
    metrics = strict_json(tmp_path / "run" / "metrics.json")
    assert metrics["weather"]["exceedance_pct"] == 1.0
    assert set(metrics["strategies"]) >= {"milp", "milp_reserve"}
    for name, figures in metrics["strategies"].items():
        assert figures["feasible"], name
        assert {"failed_kept_unserved_share", "failed_rerouted_unserved_share",
                "failed_reoptimised_unserved_share"} <= set(figures), name
        assert figures["failed_kept_unserved_share"] >= figures["unserved_share"] - 1e-12, name
        assert 0 < figures["shared_link_utilization_max"] <= 1 + 1e-6, name  # the link rows were there and held
