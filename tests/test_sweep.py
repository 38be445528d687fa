"""`placement sweep` (grid points, resume, failures, errors, Ray) and `placement bench`."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from placement import cli
from placement.sweep import point_name, split_values

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.toml"
# Two epochs, two cheap strategies, no LP bound: one point takes about a second once JAX has compiled.
SHRUNK = ["time.duration_h=0.34", "problem.epoch_s=600", "time.step_s=300", 'solver.strategies=["greedy","cloud_only"]',
          "solver.certify=false"]
# Longer terrestrial fiber routes: every cloud-only request gets slower.
FIBER = "network.fiber_route_factor=1.0,2.0"
NAMES = ["network.fiber_route_factor=1.0", "network.fiber_route_factor=2.0"]


def _sweep(out: Path, *grid: str, extra: tuple[str, ...] = ()) -> tuple[int, str, str]:
    """`placement sweep` of the shrunk quick start: exit code, stdout, stderr."""
    argv = ["sweep", str(QUICKSTART), "--out", str(out), *extra]
    argv += [f"--set={s}" for s in SHRUNK] + [f"--grid={g}" for g in grid]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def _record(out: Path) -> dict:
    return json.loads((out / "sweep.json").read_text())


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture(scope="module")
def fiber_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "fiber"
    return out, *_sweep(out, FIBER)


def test_two_point_sweep_writes_a_run_directory_per_point(fiber_sweep):
    out, code, table, _ = fiber_sweep
    assert code == 0
    record = _record(out)
    assert record["grid"] == {"network.fiber_route_factor": ["1.0", "2.0"]}
    assert [p["name"] for p in record["points"]] == NAMES
    assert [p["status"] for p in record["points"]] == ["done", "done"]
    assert record["points"][1]["overrides"] == SHRUNK + ["network.fiber_route_factor=2.0"]
    assert all(p["seconds"] > 0 for p in record["points"])
    for name, factor in zip(NAMES, (1.0, 2.0)):
        assert (out / name / "metrics.json").is_file()
        assert json.loads((out / name / "config.json").read_text())["network"]["fiber_route_factor"] == factor
        assert (out / name / "report.html").is_file() and (out / name / "plots").is_dir()  # as `run` writes
    short, long = (_metrics(out / name)["strategies"]["cloud_only"] for name in NAMES)
    assert long["mean_latency_ms"] > short["mean_latency_ms"]
    rows = [line.split() for line in table.splitlines()[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [(n, "done", s) for n in NAMES for s in ("greedy", "cloud_only")]
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".placement-run"]  # the marker alone


def test_an_interrupted_sweep_resumes_without_redoing_finished_points(fiber_sweep, tmp_path):
    # A sweep killed while running the second point: its directory missing, a staging folder left behind,
    # sweep.json still saying "pending".
    out = tmp_path / "fiber"
    shutil.copytree(fiber_sweep[0], out)
    shutil.rmtree(out / NAMES[1])
    (out / f".{NAMES[1]}.partial-0badc0de").mkdir()
    (out / f".{NAMES[1]}.partial-0badc0de" / "r_teme_km.npy").write_bytes(b"half")
    shutil.copy(out / NAMES[0] / ".placement-run", out / f".{NAMES[1]}.partial-0badc0de")  # written first
    record = _record(out)
    record["points"][1].update(status="pending", seconds=None)
    (out / "sweep.json").write_text(json.dumps(record))
    finished = out / NAMES[0] / "metrics.json"
    before = finished.stat().st_mtime_ns

    code, table, _ = _sweep(out, FIBER)
    assert code == 0
    assert finished.stat().st_mtime_ns == before
    assert [p["status"] for p in _record(out)["points"]] == ["skipped", "done"]
    assert _metrics(out / NAMES[1])["strategies"]["cloud_only"]["objective"] == \
        _metrics(fiber_sweep[0] / NAMES[1])["strategies"]["cloud_only"]["objective"]
    assert not list(out.glob(".*.partial-*"))
    assert "skipped" in table and "done" in table


def test_a_failing_point_is_recorded_and_the_others_run(tmp_path):
    # A mask of 89.9 deg is a valid config, but no satellite passes that close to the zenith of any site in
    # the two epochs: the point fails when it runs (its network is built), not when the sweep is planned.
    out = tmp_path / "mask"
    grid = "network.site_min_elevation_deg=25.0,89.9"
    code, table, stderr = _sweep(out, grid)
    assert code == 1
    done, failed = _record(out)["points"]
    assert (done["name"], done["status"]) == ("network.site_min_elevation_deg=25.0", "done")
    assert (out / done["name"] / "metrics.json").exists()
    assert failed["status"] == "failed" and "no satellite is in reach of any site" in failed["error"]
    assert not (out / failed["name"]).exists()
    assert f"point {failed['name']} failed" in stderr
    # A re-run runs the failed point again and skips the finished one.
    code, _, _ = _sweep(out, grid)
    assert code == 1 and [p["status"] for p in _record(out)["points"]] == ["skipped", "failed"]


@pytest.mark.parametrize("grid, named", [
    ("network.fibre_route_factor=1.0,2.0", "network.fibre_route_factor"),  # no such field
    ("time.step_s=60,-5", "time.step_s"),  # the second point is out of range
    ("problem.placement=fixed,sometimes", "problem.placement"),
    ("constellation.shells=[1],[9]", "constellation.shells"),  # Gen1 has five shells: refused when resolved
    ("time.step_s", "'time.step_s'"),
    ("time.step_s=", "'time.step_s='"),
    ("time.step_s=30,,60", "'time.step_s=30,,60'"),
])
def test_a_bad_grid_fails_before_anything_runs(tmp_path, grid, named):
    code, _, stderr = _sweep(tmp_path / "bad", grid)
    assert code == 2
    assert named in stderr and stderr.startswith("placement: error:")
    assert not (tmp_path / "bad").exists()


def test_a_key_with_two_grids_or_colliding_names_is_refused(tmp_path):
    code, _, stderr = _sweep(tmp_path / "bad", "seed=1", "seed=2")
    assert code == 2 and "'seed' has two grids" in stderr
    code, _, stderr = _sweep(tmp_path / "bad", "hosts.satellite_jurisdiction='US',\"US\"")
    assert code == 2 and "both get the directory name" in stderr


def test_a_directory_holding_another_sweep_is_refused(fiber_sweep, tmp_path):
    out = tmp_path / "fiber"
    shutil.copytree(fiber_sweep[0], out)
    code, _, stderr = _sweep(out, "network.fiber_route_factor=1.0")  # drops a finished point
    assert code == 2 and "'--grid'" in stderr and "network.fiber_route_factor=1.0,2.0" in stderr
    code, _, stderr = _sweep(out, FIBER, extra=("--set=seed=3",))
    assert code == 2 and "'--set'" in stderr
    # A finished point that ran with other settings than the sweep gives it now is not silently kept.
    config = json.loads((out / NAMES[0] / "config.json").read_text())
    config["problem"]["unserved_penalty_ms"] = 1.0
    (out / NAMES[0] / "config.json").write_text(json.dumps(config))
    code, _, stderr = _sweep(out, FIBER)
    assert code == 2 and "'problem.unserved_penalty_ms'" in stderr and str(out / NAMES[0]) in stderr


def test_point_names_are_safe_file_names():
    assert point_name((("problem.epoch_s", "300"), ("seed", "1"))) == "problem.epoch_s=300,seed=1"
    assert point_name((("solver.strategies", '["greedy", "milp"]'),)) == "solver.strategies=_greedy,_milp_"
    assert point_name((("constellation.file", "'../tle/a b.tle'"),)) == "constellation.file=.._tle_a_b.tle"
    long = point_name((("seed", "1" * 300),))
    assert len(long) == 150 and long != point_name((("seed", "1" * 299),))
    assert split_values("1, 2.5") == ["1", "2.5"]
    assert split_values("['a,b', \"c\"],[],{x=1, y=2}") == ["['a,b', \"c\"]", "[]", "{x=1, y=2}"]
    assert split_values("") == []


def test_ray_executor_runs_the_points_as_tasks(fiber_sweep, tmp_path):
    ray = pytest.importorskip("ray")
    try:
        code, _, _ = _sweep(tmp_path / "fiber", FIBER, extra=("--executor=ray", "--no-report"))
        assert not ray.is_initialized()  # the local instance it started is shut down
    finally:
        ray.shutdown()
    assert code == 0
    record = _record(tmp_path / "fiber")
    assert record["executor"] == "ray" and [p["status"] for p in record["points"]] == ["done", "done"]
    for name in NAMES:  # the same results as in this process
        assert not (tmp_path / "fiber" / name / "report.html").exists()  # --no-report
        assert (tmp_path / "fiber" / name / "plots").is_dir()
        local, remote = _metrics(fiber_sweep[0] / name), _metrics(tmp_path / "fiber" / name)
        for strategy in local["strategies"]:
            assert remote["strategies"][strategy]["objective"] == local["strategies"][strategy]["objective"]


def test_address_needs_the_ray_executor(tmp_path):
    code, _, stderr = _sweep(tmp_path / "x", FIBER, extra=("--address=auto",))
    assert code == 2 and "'--address'" in stderr


def test_bench_lists_the_benchmarks(capsys):
    assert cli.main(["bench", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in ("milp_scaling", "network", "optimizers", "propagation"):
        assert f"\n{name} " in listing
    assert "How far the exact MILP scales" in listing
    assert cli.main(["bench"]) == 0 and capsys.readouterr().out == listing


def test_bench_runs_a_script_with_its_arguments(tmp_path, monkeypatch, capfd):
    (tmp_path / "echo.py").write_text('"""Echo."""\nimport sys\nprint(sys.argv[1:])\nsys.exit(3)\n')
    monkeypatch.setattr(cli, "BENCHMARKS", tmp_path)
    assert cli.main(["bench", "echo", "--steps", "8", "-h"]) == 3  # the script's exit status
    assert "['--steps', '8', '-h']" in capfd.readouterr().out
    assert cli.main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capfd.readouterr().err
    monkeypatch.setattr(cli, "BENCHMARKS", tmp_path / "absent")
    assert cli.main(["bench"]) == 2
    assert "source checkout" in capfd.readouterr().err
