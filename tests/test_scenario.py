"""Resolution of configs into Scenarios: `placement validate` rejects what `placement run` would, naming the file
and field, before computing anything; every shipped config resolves from a clone with no ../shared beside it;
the config-free path (scenario -> problem -> solve -> evaluate) runs without a config."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from placement import cli
from placement.config import load_config
from placement.errors import InputError
from placement.propagation.timegrid import Horizon
from placement.scenario import resolve

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.toml"
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))


def validate(capsys, config: Path, *overrides: str) -> tuple[int, str]:
    code = cli.main(["validate", str(config), *sum([["--set", o] for o in overrides], [])])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("override, field, words", [
    ("workloads=[{model='resnet-9000', rate_per_s=1.0, slo_ms=100.0}]", "workloads[0].model", "unknown model"),
    ("hosts.satellite_profile=satellite-xyz", "hosts.satellite_profile", "unknown profile"),
    ("workloads=[{model='yolov8n', rate_per_s=1.0, slo_ms=100.0, sites=['atlantis']}]", "workloads[0].sites",
     "unknown site"),
    ("constellation.file=missing.tle", "constellation.file", "no file"),
    ("time.start=2026-02-30T00:00:00Z", "time.start", "does not exist"),
    ("constellation.epoch=yesterday", "constellation.epoch", "cannot parse"),
    ("constellation.builtin=starlink-gen9", "constellation.builtin", "unknown constellation"),
    ("constellation.shells=[7]", "constellation.shells", "does not exist"),
    ("workloads=[{model='yolov8n', rate_per_s=1.0, slo_ms=100.0, allowed_jurisdictions=['Europe']}]",
     "workloads[0].allowed_jurisdictions", "unknown jurisdiction"),
    ("network.extra_gateways=[{name='x', lat_deg=0.0, lon_deg=0.0, pop='nowhere'}]",
     "network.extra_gateways[0].pop", "unknown point of presence"),
    ("workloads=[]", "workloads", "no workloads"),
    ("solver.strategies=['milp', 'annealing']", "solver.strategies", "out of range"),
    ("solver.gradient.steps=0", "solver.gradient.steps", "out of range"),
    ("network.fiber_route_factor=inf", "network.fiber_route_factor", "not a finite number"),
])
def test_validate_rejects_what_run_would_naming_file_and_field(capsys, tmp_path, override, field, words):
    code, err = validate(capsys, QUICKSTART, override)
    assert code == 2, err
    assert err.startswith("placement: error: ") and str(QUICKSTART) in err
    assert f"field {field!r}" in err and words in err
    # the sweep's pre-check is the same resolution: nothing runs, the point is refused at once
    assert cli.main(["sweep", str(QUICKSTART), "--grid", "seed=1,2", "--set", override,
                     "--out", str(tmp_path / "sweep")]) == 2
    assert not (tmp_path / "sweep").exists()


def test_a_missing_sites_file_is_named(capsys, tmp_path):
    config = tmp_path / "sites.toml"
    config.write_text('extends = "%s"\n[demand]\nsites_file = "towns.csv"\n' % QUICKSTART.as_posix())
    code, err = validate(capsys, config, "demand.sites=[]")
    assert code == 2 and f"{config}, field 'demand.sites_file': no file 'towns.csv'" in err


def test_every_shipped_config_resolves_in_a_clone_without_shared(tmp_path, monkeypatch, capsys):
    """A user's clone has the project only: no ../shared beside it. Every config must resolve there (`placement
    validate` run from the clone, in this process: a subprocess per config cost a JAX start each)."""
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "configs", clone / "configs")
    assert not (tmp_path / "shared").exists()
    monkeypatch.chdir(clone)
    for path in sorted((clone / "configs").glob("*.toml")):
        text = path.read_text()
        assert "shared/reference" not in text, path.name  # nothing in configs/ points outside the project
        code = cli.main(["validate", str(path)])
        out, err = capsys.readouterr()
        assert code == 0, (path.name, err[-2000:])
        *warnings, summary = err.splitlines()  # the catalog's stale element sets are warned about
        assert all(w.startswith("placement: warning: ") for w in warnings), err
        assert summary.startswith("valid: ") and json.loads(out)["seed"] >= 0
    assert {p.name for p in CONFIGS} == {p.name for p in (clone / "configs").glob("*.toml")}


def test_data_files_are_reproduced_by_their_curation_script(tmp_path):
    from shared_reference import REFERENCE

    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not present at {REFERENCE}")
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "curate_config_data.py"), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    shipped = ROOT / "configs" / "data"
    for made in tmp_path.iterdir():
        assert made.read_bytes() == (shipped / made.name).read_bytes(), made.name
    named = {m for text in (p.read_text() for p in CONFIGS) for m in re.findall(r'"data/([^"]+)"', text)}
    assert named and named <= {p.name for p in tmp_path.iterdir()}
    assert named <= set((shipped / "README.md").read_text().replace("`", " ").split())


def test_resolution_builds_the_horizon_and_the_solver_options():
    scenario = resolve(load_config(QUICKSTART, ["time.step_s=30", "solver.gradient.steps=300",
                                                "solver.milp.time_limit_s=5"]))
    h = scenario.horizon
    assert isinstance(h, Horizon) and (h.n_epochs, h.epoch_s, h.steps_per_epoch, h.step_s) == (6, 600.0, 20, 30.0)
    assert h.steps().n_steps == 6 * 20 + 1 and list(h.epoch_starts()) == [0, 20, 40, 60, 80, 100]
    assert scenario.options("gradient").steps == 300 and scenario.options("milp").time_limit_s == 5.0
    assert scenario.strategies == ("milp", "gradient", "greedy", "nearest_gateway", "cloud_only")
    assert len(scenario.demand.sites) == 8 and scenario.demand.site_units.tolist() == [1] * 8
    assert [m.name for m in scenario.demand.models] == ["llama-3.2-1b-instruct-q4", "yolov8n"]
    assert scenario.config["solver"]["gradient"]["steps"] == 300  # what a run directory records
    # an epoch that the step does not divide is cut into equal steps no longer than time.step_s
    assert resolve(load_config(QUICKSTART, ["time.step_s=70"])).horizon.step_s == pytest.approx(600 / 9)


def test_a_preset_keeps_its_values_under_a_partial_table():
    from placement.solvers import SOLVERS

    fast = SOLVERS["gradient_fast"].options
    config = load_config(QUICKSTART, ["solver.gradient_fast.learning_rate=0.05"])
    got = config.solver.gradient_fast
    assert got.learning_rate == 0.05 and got.restarts == fast.restarts and got.improve == fast.improve
    assert got != SOLVERS["gradient"].options


def test_library_path_from_the_readme_runs():
    """The README's Library section, run as it is written (its first python block after '## Library')."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Library"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    evaluation, result = namespace["evaluation"], namespace["result"]
    assert evaluation.feasible and result.solution is not None
    assert np.isfinite(evaluation.mean_latency_ms) and evaluation.served_requests > 0


def test_thinning_a_builtin_for_a_run_is_refused():
    with pytest.raises(InputError) as error:
        resolve(load_config(QUICKSTART, ["constellation.max_satellites=40"]))
    assert error.value.field == "constellation.max_satellites"


def test_without_lasers_a_site_reaches_only_its_access_satellite():
    """network.lasers = false (bent pipe): every satellite host of a site in an epoch is the site's access
    satellite at one of that epoch's steps, reached with no laser hop; a laser list beside it is refused."""
    from placement import pipeline

    small = ["time.duration_h=0.34", "problem.epoch_s=600.0", "time.step_s=60.0", "demand.limit=3"]
    scenario = resolve(load_config(QUICKSTART, small + ["network.lasers=false"]))
    assert (scenario.constellation.lasers == -1).all()
    network = pipeline.prepare(scenario, lambda message: None).network
    steps = scenario.horizon.steps_per_epoch
    hosts = network.satellites.host
    for t, d, k in zip(*np.nonzero(hosts >= 0)):
        assert hosts[t, d, k] in network.access_sat[t * steps:(t + 1) * steps, d]
    assert (hosts >= 0).any()
    with pytest.raises(InputError) as error:
        resolve(load_config(QUICKSTART, ["network.lasers=false", "network.lasers_file=x.txt"]))
    assert error.value.field == "network.lasers_file"
