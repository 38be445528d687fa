"""The run directory's 'where and when' (issue 17): placements.parquet against the solution arrays and the
assignments, UTC times against the config's start (read by Python's own ISO parser), track altitudes against
the shell's filed altitude, paths against the network's links and `routes.path_to_gateway`, strict JSON, and
the planner figures."""

from __future__ import annotations

import datetime as dt
import json

import jax
import jax.numpy as jnp
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from matplotlib import image

from placement import planner_plots, results, solvers
from placement.constellation.walker import STARLINK_GEN1
from placement.network.access import Access
from placement.network.isl import grid_shells, plus_grid
from placement.network.routes import path_to_gateway
from placement.network.tensors import step_links
from placement.problem.spec import HOST_KINDS

from conftest import strict_json

SHELL_KM = STARLINK_GEN1[0].altitude_km  # the quick start flies Gen1 shell 1 (configs/quickstart.toml)


@pytest.fixture(scope="module")
def run(run_dir):
    return results.load_run(run_dir[0])


def utc(text: str) -> np.datetime64:
    """An ISO time as numpy's UTC datetime, by Python's parser."""
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    return np.datetime64(parsed.replace(tzinfo=None), "us")


def served_per_copy(problem, solution) -> dict:
    """(epoch, model, host) -> requests served, one slot at a time (no vectorised bookkeeping)."""
    out = {}
    requests = problem.requests()
    for t, d, k in zip(*np.nonzero(solution.assignment > 0)):
        key = (int(t), int(problem.candidate_model[t, d, k]), int(problem.candidate_host[t, d, k]))
        out[key] = out.get(key, 0.0) + requests[t, d] * solution.assignment[t, d, k]
    return out


@pytest.mark.parametrize("strategy", ["greedy", "cloud_only"])
def test_placements_are_the_solution_arrays(quick, run, strategy):
    scenario, problem = quick[0], quick[1].problem
    solution = solvers.solve(strategy, problem, scenario.options(strategy), seed=scenario.seed).solution
    p = run.table("placements", strategy)
    rows = {(int(t), problem.model_name.index(m), problem.host_name.index(h)): i
            for i, (t, m, h) in enumerate(zip(p["epoch"], p["model"], p["host"]))}
    assert set(rows) == {tuple(map(int, key)) for key in zip(*np.nonzero(solution.placement))}
    assert (p["copies"] == 1).all()
    served = served_per_copy(problem, solution)
    for key, i in rows.items():
        assert p["requests"][i] == pytest.approx(served.get(key, 0.0), rel=1e-12, abs=1e-9), key
        assert p["requests_per_s"][i] == pytest.approx(p["requests"][i] / problem.epoch_s[key[0]], rel=1e-12)
    assert sum(served.values()) > 0


def test_placements_agree_with_assignments_and_hosts(run):
    table = run.tables
    keys = ["strategy", "epoch", "host"]
    by_copy = table["placements"].group_by(keys + ["model"]).aggregate([("requests", "sum")])
    by_row = table["assignments"].group_by(keys + ["model"]).aggregate([("requests", "sum")])
    joined = by_copy.join(by_row, keys + ["model"], right_suffix="_a")
    served = joined["requests_sum"].to_numpy()
    assert np.allclose(served, np.nan_to_num(joined["requests_sum_a"].to_numpy()), rtol=1e-12, atol=1e-9)
    assert pc.sum(table["assignments"]["requests"]).as_py() == pytest.approx(served.sum(), rel=1e-12)
    # one hosts-table row per host holding copies: as many copies, the same utilisation
    copies = table["placements"].group_by(keys).aggregate([("copies", "sum"), ("host_compute_utilization", "max")])
    hosts = copies.join(table["hosts"], keys)
    assert hosts.num_rows == table["hosts"].num_rows == copies.num_rows
    assert (hosts["copies_sum"].to_numpy() == hosts["copies"].to_numpy()).all()
    assert np.allclose(hosts["host_compute_utilization_max"].to_numpy(), hosts["compute_utilization"].to_numpy())


def test_epoch_and_step_times_are_utc_from_the_start(quick, run):
    horizon = quick[0].horizon
    start = utc(run.config["time"]["start"])
    epoch_s = np.timedelta64(int(horizon.epoch_s * 1e6), "us")
    for name in ("hosts", "assignments", "placements"):
        assert run.tables[name].schema.field("epoch_start_utc").type == pa.timestamp("us", tz="UTC"), name
        t = run.table(name)
        assert t["epoch"].size > 0
        assert (t["epoch_start_utc"] == start + t["epoch"] * epoch_s).all(), name
        assert (t["epoch_end_utc"] == t["epoch_start_utc"] + epoch_s).all(), name
    tracks = run.table("tracks")
    assert (tracks["time_utc"] == start + np.round(tracks["time_min"] * 60e6).astype("timedelta64[us]")).all()
    paths = run.table("paths")
    step_s = np.timedelta64(int(horizon.step_s * 1e6), "us")
    assert (paths["time_utc"] == start + paths["step"] * step_s).all()
    assert (paths["epoch"] == paths["step"] // horizon.steps_per_epoch).all()


def test_track_altitudes_lie_in_the_shell(run):
    alt = run.table("tracks")["alt_km"]
    assert alt.size > 0 and np.all(np.abs(alt - SHELL_KM) < 50.0)


def _groups(paths: dict) -> dict:
    """(epoch, step, site, host) -> [(node, kind)] in hop order."""
    out = {}
    order = np.lexsort((paths["hop"], paths["host"], paths["site"], paths["step"]))
    for i in order:
        key = (int(paths["epoch"][i]), int(paths["step"][i]), paths["site"][i], paths["host"][i])
        out.setdefault(key, []).append((paths["node"][i], paths["node_kind"][i], int(paths["hop"][i])))
    return out


def test_paths_run_from_the_site_to_the_host_over_links(quick, run):
    scenario, prepared = quick
    problem, ground = prepared.problem, scenario.ground
    paths = _groups(run.table("paths"))
    assert paths
    sat_index = {name: i for i, name in enumerate(problem.host_name[:prepared.orbits.n_satellites])}
    neighbours = plus_grid(grid_shells(STARLINK_GEN1[:1]))
    gateway_index = {name: g for g, name in enumerate(ground.gateways.name)}
    pop_of = {name: ground.pops.name[p] for name, p in zip(ground.gateways.name, ground.gateway_pop)}
    site_index = {name: s for s, name in enumerate(scenario.demand.sites.name)}
    # the ground in the propagation's precision, as the network computed in it
    dtype = prepared.orbits.r_ecef_km.dtype
    arrays = jax.tree_util.tree_map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x,
                                    ground.arrays(scenario.demand.sites))
    checked_routes = 0
    for (epoch, step, site, host), nodes in paths.items():
        names, kinds, hops = zip(*nodes)
        assert list(hops) == list(range(len(nodes)))
        assert (names[0], kinds[0]) == (site, "site") and names[-1] == host
        assert kinds[-1] == HOST_KINDS[problem.host_kind[problem.host_name.index(host)]]
        sats = [sat_index[n] for n, k in zip(names, kinds) if k == "satellite"]
        if kinds[-1] != "local":
            assert sats[0] == prepared.network.access_sat[step, site_index[site]]
        assert all(b in neighbours[a] for a, b in zip(sats, sats[1:])), (site, host, step)
        if kinds[-1] == "satellite":  # a satellite host serves only within the network's relay hops
            assert len(sats) - 1 <= scenario.network.relay_hops, (site, host, step)
        expected_kinds = {"satellite": ["satellite"], "gateway": ["gateway"], "cloud": ["gateway", "pop", "cloud"],
                          "local": ["local"]}[kinds[-1]]
        assert list(kinds[len(kinds) - len(expected_kinds):]) == expected_kinds
        if kinds[-1] == "cloud":
            assert names[-2] == pop_of[names[-3]]
        if "gateway" in kinds and checked_routes < 2:  # the shortest route to that gateway, by routes.py
            checked_routes += 1
            r_km = jnp.asarray(prepared.orbits.r_ecef_km[:, step])
            gateways, lasers = step_links(r_km, arrays, None, grid_shells(STARLINK_GEN1[:1]), scenario.network)
            one_site = Access(*(jnp.asarray([[value]], dtype) for value, dtype in (
                (sats[0], jnp.int32), (0.0, r_km.dtype), (1.0, r_km.dtype), (1.0, r_km.dtype))))
            gateway = names[kinds.index("gateway")]
            expected = path_to_gateway(lasers, one_site, gateways, 0, gateway_index[gateway])
            assert [v for k, v in expected if k == "sat"] == sats, (site, host, step)
    assert checked_routes > 0
    # every served (epoch, site, host) of every strategy has a path in some step of its epoch
    a = run.table("assignments")
    with_path = {(e, s, h) for e, _, s, h in paths}
    assert {(int(e), s, h) for e, s, h in zip(a["epoch"], a["site"], a["host"])} <= with_path


def test_every_json_file_is_strict_json(run_dir):
    out = run_dir[0]
    files = sorted(out.glob("*.json")) + [out / ".placement-run"]
    assert {p.name for p in files} >= {"config.json", "environment.json", "metrics.json"}
    for path in files:
        strict_json(path)
    not_finite = {"nan": float("nan"), "inf": [np.inf, -np.float32("inf")], "array": np.array([1.5, np.nan])}
    assert json.loads(results.json_text(not_finite)) == {"nan": None, "inf": [None, None], "array": [1.5, None]}


def test_planner_figures_have_content(run_dir, run):
    a = run.table("assignments", results.best_strategy(run))
    per_epoch = {e: a["requests"][a["epoch"] == e].sum() for e in np.unique(a["epoch"])}
    assert planner_plots.busiest_epoch(a) == max(per_epoch, key=per_epoch.get)
    for name in planner_plots.FIGURES:
        pixels = image.imread(run_dir[0] / "plots" / f"{name}.png")
        assert pixels.shape[0] > 300 and pixels.std() > 0.05, name
