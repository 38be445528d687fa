"""`placement sweep --executor ray --address` on a Ray cluster of two nodes that share no folder with the driver
(issue 17): a head and a worker, each started by `ray start` in its own working folder and in its own user, mount
and PID namespaces, where the driver's folder (its config, the site table that config reads, the sweep's output)
is covered by an empty tmpfs. Points receive their config and input files through Ray and return their run
directories, which arrive in the driver's folder; a task on each node checks that it cannot see that folder.
The cluster's processes all end with their namespace when the fixture kills `unshare` (--kill-child).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from placement import cli, results
from placement.config import config_to_dict, load_config
from placement.sweep import PointOptions

ROOT = Path(__file__).resolve().parents[1]
# Two epochs of two network steps, two cheap strategies, no LP bound, no plots: a point is mostly its
# worker's JAX compilation.
SHRUNK = ["time.duration_h=0.34", "problem.epoch_s=600", "time.step_s=300", 'solver.strategies=["greedy","cloud_only"]',
          "solver.certify=false"]
NAMES = ["network.fiber_route_factor=1.0", "network.fiber_route_factor=2.0"]
PROBE = """\
import json, os, sys, time
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

ray.init(address=sys.argv[1])
deadline = time.monotonic() + 30
while len(nodes := [n["NodeID"] for n in ray.nodes() if n["Alive"]]) < 2 and time.monotonic() < deadline:
    time.sleep(0.5)

@ray.remote(num_cpus=0)
def look(paths):
    return {"cwd": os.getcwd(), "sees": [p for p in paths if os.path.exists(p)]}

strategy = lambda node: NodeAffinitySchedulingStrategy(node, soft=False)
print(json.dumps(ray.get([look.options(scheduling_strategy=strategy(n)).remote(sys.argv[2:]) for n in nodes])))
"""


def _isolated(hidden: Path) -> list[str]:
    """The command prefix that runs a process as a machine of its own: new user, mount and PID namespaces in
    which `hidden` is an empty tmpfs, every process of the namespace killed when `unshare` dies."""
    return ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child=SIGKILL",
            "--mount-proc", "sh", "-c", 'mount -t tmpfs tmpfs "$0" && exec "$@"', str(hidden)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_started(process: subprocess.Popen, log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while "Ray runtime started" not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, driver folder, environment for a driver, the nodes' working folders)."""
    pytest.importorskip("ray")
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare to give the cluster's nodes a view without the driver's folder")
    driver = tmp_path_factory.mktemp("driver")
    prefix = _isolated(driver)
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("this machine allows no unprivileged user and mount namespaces (unshare --user --mount)")
    address = f"127.0.0.1:{_free_port()}"
    # A token of this cluster's own: Ray's token authentication, which every node and driver presents.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
           "RAY_USAGE_STATS_ENABLED": "0"}
    nodes = []
    try:
        for role in (["--head", f"--port={address.split(':')[1]}", "--include-dashboard=false"],
                     [f"--address={address}"]):
            folder = Path(tempfile.mkdtemp(prefix="placement-node-"))  # short: Ray's socket paths must fit 107 bytes
            log = folder / "ray.log"
            with log.open("w") as out:
                process = subprocess.Popen(
                    [*prefix, sys.executable, "-m", "ray.scripts.scripts", "start", *role, "--num-cpus=1",
                     "--node-ip-address=127.0.0.1", f"--temp-dir={folder / 'ray'}", "--disable-usage-stats", "--block"],
                    cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
            nodes.append((process, folder))
            _wait_started(process, log)
        yield address, driver, env, [folder for _, folder in nodes]
    finally:
        for process, folder in nodes:
            process.kill()  # unshare: its namespace, Ray's daemons and workers with it
            process.wait()
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_sweep(cluster):
    """The sweep, run by a driver process of its own against the cluster: its folder, exit code and stderr."""
    address, driver, env, _ = cluster
    (driver / "sites.csv").write_text("city,lat,lon\nnairobi,-1.28333,36.81667\nkisumu,-0.10221,34.76171\n")
    (driver / "hubs.toml").write_text(textwrap.dedent(f"""\
        extends = "{ROOT / 'configs' / 'quickstart.toml'}"
        [demand]
        sites = []
        sites_file = "sites.csv"
        population_column = ""
        country = "KE"
        [[workloads]]
        model = "yolov8n"
        rate_per_s = 10.0
        slo_ms = 100.0
        """))
    out = driver / "sweep"
    argv = ["sweep", str(driver / "hubs.toml"), "--out", str(out), "--grid", "network.fiber_route_factor=1.0,2.0",
            "--executor", "ray", "--address", address, "--cpus", "1", "--retries", "1", "--no-plots",
            "--compile-cache", "jax-cache",  # relative: in the working folder of the node that compiles
            *[a for s in SHRUNK for a in ("--set", s)]]
    done = subprocess.run([sys.executable, "-m", "placement.cli", *argv], cwd=driver, env=env, capture_output=True,
                          text=True, timeout=240)
    return out, done.returncode, done.stderr


def test_points_run_on_the_cluster_and_arrive_in_the_drivers_folder(cluster_sweep):
    out, code, stderr = cluster_sweep
    assert code == 0, stderr
    record = json.loads((out / "sweep.json").read_text())
    assert record["executor"] == "ray" and [p["status"] for p in record["points"]] == ["done", "done"]
    config = out.parent / "hubs.toml"
    for name in NAMES:
        point = out / name
        assert (point / "metrics.json").is_file() and not (point / "plots").exists()  # --no-plots
        assert f"<title>{name}" in (point / "report.html").read_text()  # the report, written on the worker
        # The driver's resolved config, not the worker's temporary copy of the site table.
        expected = json.loads(json.dumps(config_to_dict(load_config(config, [*SHRUNK, name]))))
        assert json.loads((point / "config.json").read_text()) == expected
        environment = json.loads((point / "environment.json").read_text())
        assert environment["config_source"] == str(config)
        assert "default_worker" in environment["command"]  # written by a Ray worker process
        assert results.load_run(point).to_config().resolve_path("sites.csv") == out.parent / "sites.csv"
    short, long = (json.loads((out / n / "metrics.json").read_text())["strategies"]["cloud_only"] for n in NAMES)
    assert long["mean_latency_ms"] > short["mean_latency_ms"]  # longer fiber, slower cloud
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".placement-run"]


def test_sweep_parquet_has_a_row_per_point_and_strategy_with_the_grid_values(cluster_sweep):
    out = cluster_sweep[0]
    table = pq.read_table(out / "sweep.parquet")
    assert str(table.schema.field("network.fiber_route_factor").type) == "double"
    rows = table.to_pylist()
    assert [(r["point"], r["strategy"]) for r in rows] == [(n, s) for n in NAMES for s in ("greedy", "cloud_only")]
    for row in rows:
        metrics = json.loads((out / row["point"] / "metrics.json").read_text())["strategies"][row["strategy"]]
        assert row["network.fiber_route_factor"] == float(row["point"].split("=")[1])
        assert (row["sweep"], row["status"], row["mean_latency_ms"], row["objective"]) == \
            ("done", metrics["status"], metrics["mean_latency_ms"], metrics["objective"])


def test_no_node_sees_the_drivers_folder(cluster, cluster_sweep):
    address, driver, env, folders = cluster
    paths = [str(driver), str(cluster_sweep[0] / NAMES[0] / "metrics.json"), str(driver / "sites.csv")]
    assert all(Path(p).exists() for p in paths)  # here, in the driver's view
    seen = subprocess.run([sys.executable, "-c", PROBE, address, *paths[1:]], cwd=driver, env=env,
                          capture_output=True, text=True, timeout=60)
    assert seen.returncode == 0, seen.stderr
    views = json.loads(seen.stdout)
    assert sorted(Path(v["cwd"]).resolve() for v in views) == sorted(f.resolve() for f in folders)
    assert [v["sees"] for v in views] == [[], []]
    # JAX's compilation cache went where each point ran, and nowhere near the driver
    assert any(list((folder / "jax-cache").glob("jit_*")) for folder in folders)
    assert not (driver / "jax-cache").exists()


def _task():
    """A task body for Ray's option checks (never run)."""


def test_point_options_are_ray_task_options_ray_accepts():
    ray = pytest.importorskip("ray")
    options = PointOptions(cpus=2, gpus=0.5, memory_gb=1.5, retries=2).ray_options()
    assert options == {"num_cpus": 2, "num_gpus": 0.5, "memory": 1_500_000_000, "max_retries": 2,
                       "retry_exceptions": True}
    ray.remote(**options)(_task)  # Ray checks the names and values of task options here
    with pytest.raises(ValueError):
        ray.remote(**{**options, "num_cpus": -1})(_task)
    assert PointOptions().ray_options() == {"num_cpus": 1, "max_retries": 0, "retry_exceptions": False}


@pytest.mark.parametrize("flags, named", [
    (["--cpus", "2"], "'--cpus'"),  # a Ray request for the local executor
    (["--executor", "ray", "--retries", "-1"], "'--retries'"),
    (["--executor", "ray", "--memory-gb", "0"], "'--memory-gb'"),
    (["--executor", "ray", "--gpus", "nan"], "'--gpus'"),
])
def test_bad_point_options_are_refused_before_anything_runs(tmp_path, capsys, flags, named):
    argv = ["sweep", str(ROOT / "configs" / "quickstart.toml"), "--out", str(tmp_path / "s"), "--grid", "seed=1",
            *flags]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("placement: error:") and named in err
    assert not (tmp_path / "s").exists()
