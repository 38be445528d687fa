"""The propagate job, configs (typed fields, extends, overrides), their resolution into a Scenario and the
`placement` command, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from placement import cli, pipeline
from placement.config import config_from_dict, load_config
from placement.errors import InputError
from placement.scenario import resolve_propagation

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.toml"
SMALL = ["time.duration_h=1.0", "constellation.max_satellites=40"]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def propagate(config, out_dir, **kwargs) -> dict:
    return pipeline.propagate(resolve_propagation(config), out_dir, progress=lambda m: None, **kwargs)


def test_quickstart_writes_a_complete_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["propagate", str(QUICKSTART), "--out", str(out), "--set", "constellation.max_satellites=288"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    config = load_config(QUICKSTART)
    n_sat, n_time = summary["satellites"], summary["time_steps"]
    assert (n_sat, n_time) == (288, round(config.time.duration_h * 3600 / config.time.step_s) + 1)
    for name, shape in [("r_teme_km", (n_sat, n_time, 3)), ("v_teme_km_s", (n_sat, n_time, 3)),
                        ("lat_deg", (n_sat, n_time)), ("alt_km", (n_sat, n_time)),
                        ("sunlit_fraction", (n_sat, n_time)), ("error", (n_sat, n_time))]:
        assert np.load(out / f"{name}.npy", mmap_mode="r").shape == shape, name
    r = np.load(out / "r_teme_km.npy")
    alt = np.load(out / "alt_km.npy")
    # Shell 1 flies at 550 km; the oblate Earth and SGP4's J2 terms move the
    # geodetic altitude by at most ~25 km.
    assert 520 < summary["altitude_km"]["min"] and summary["altitude_km"]["max"] < 600
    assert np.allclose(np.linalg.norm(r, axis=-1) - alt, 6357 + np.zeros_like(alt), atol=25)
    # A 550 km orbit is in shadow at most ~37% of the time (beta angle 0), less otherwise.
    assert 0.0 < summary["eclipse_fraction"] < 0.38
    assert summary["error_counts"] == {"0": n_sat * n_time}  # JSON keys are strings
    assert (out / "satellites.tle").read_text().count("\n1 ") + 1 >= n_sat
    for name in ("config.json", "environment.json"):
        assert json.loads((out / name).read_text())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_rerun_gives_identical_arrays(tmp_path):
    config = load_config(QUICKSTART, SMALL)
    propagate(config, tmp_path / "a")
    propagate(config, tmp_path / "b")
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "r_teme_km.npy"), np.load(tmp_path / "b" / "r_teme_km.npy"))


def test_existing_run_directory_is_not_touched(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    assert cli.main(["propagate", str(QUICKSTART), "--out", str(out), *sum([["--set", s] for s in SMALL], [])]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "earlier results"


def test_interrupted_run_leaves_nothing(tmp_path):
    def interrupt(message):
        if "steps" in message and "/" in message:
            raise KeyboardInterrupt

    job = resolve_propagation(load_config(QUICKSTART, SMALL))
    with pytest.raises(KeyboardInterrupt):
        pipeline.propagate(job, tmp_path / "run", progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_only_when_complete(tmp_path):
    config = load_config(QUICKSTART, SMALL)
    out = tmp_path / "run"
    propagate(config, out)
    longer = load_config(QUICKSTART, ["time.duration_h=2.0", "time.step_s=60.0", "constellation.max_satellites=40"])
    propagate(longer, out, overwrite=True)
    assert json.loads((out / "summary.json").read_text())["time_steps"] == 121  # 2 h of 60 s steps, both ends
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_tle_file_with_bad_records_is_skipped_and_counted(tmp_path):
    good = resolve_propagation(load_config(QUICKSTART, SMALL)).constellation.elements.take(range(3))
    from placement.constellation.tle import format_tle

    lines = format_tle(good)
    bad = lines[1][:-1] + str((int(lines[1][-1]) + 1) % 10)  # wrong checksum on the first record
    (tmp_path / "sats.tle").write_text("\n".join([lines[0], bad] + lines[2:]) + "\n")
    text = '[constellation]\nfile = "sats.tle"\nskip_bad_records = true\n[time]\nduration_h = 0.5\n'
    summary = propagate(load_config(write_config(tmp_path, text)), tmp_path / "run")
    assert summary["rejected_records"] == 1 and summary["satellites"] == 2

    strict = write_config(tmp_path, text.replace("skip_bad_records = true", "skip_bad_records = false"))
    with pytest.raises(InputError) as error:
        propagate(load_config(strict), tmp_path / "run2")
    assert error.value.line == 2 and "sats.tle" in str(error.value)
    assert not (tmp_path / "run2").exists()


@pytest.mark.parametrize("text,field,expected", [
    ('[constellation]\nbuiltin = "kuiper"\nshels = [1]\n', "constellation.shels", "shells"),
    ('[constellation]\nbuiltin = "kuiper"\n[time]\nstep_s = "60"\n', "time.step_s", "a number"),
    ('[constellation]\nbuiltin = "kuiper"\n[time]\nstep_s = -5\n', "time.step_s", "positive"),
    ('[constellation]\nbuiltin = "kuiper"\n[propagation]\nprecision = "float16"\n', "propagation.precision", "float32"),
    ('[constellation]\nbuiltin = "kuiper"\nfile = "x.tle"\n', "constellation", "exactly one"),
    ('[constellation]\nbuiltin = "kuiper"\nshells = [1, "two"]\n', "constellation.shells[1]", "integer"),
    ('seed = 1.5\n[constellation]\nbuiltin = "kuiper"\n', "seed", "integer"),
    ('[constellation]\nbuiltin = "kuiper"\n[[workloads]]\nmodel = "yolov8n"\nrate_per_s = 1.0\nslo_ms = 50.0\n'
     'diurnal_profile = [1.0, 2.0]\n', "workloads[0].diurnal_profile", "24 finite rates"),
])
def test_bad_config_names_file_and_field(tmp_path, text, field, expected):
    path = write_config(tmp_path, text)
    with pytest.raises(InputError) as error:
        load_config(path)
    assert error.value.field == field and error.value.source == str(path)
    assert expected in str(error.value)


def test_bad_values_found_at_resolution(tmp_path):
    missing = write_config(tmp_path, '[constellation]\nfile = "nowhere.tle"\n')
    with pytest.raises(InputError, match="nowhere.tle") as error:
        propagate(load_config(missing), tmp_path / "run")
    assert error.value.field == "constellation.file" and error.value.source == str(missing)
    with pytest.raises(InputError) as error:
        resolve_propagation(load_config(QUICKSTART, ["constellation.shells=[9]"]))
    assert error.value.field == "constellation.shells"
    bad_start = load_config(QUICKSTART, ["time.start=2026-13-45"])  # a string: well-typed, checked when resolved
    with pytest.raises(InputError) as error:
        resolve_propagation(bad_start)
    assert "time.start" in str(error.value)
    with pytest.raises(InputError):
        load_config(tmp_path / "absent.toml")
    assert not (tmp_path / "run").exists()


def test_overrides_and_validate_command(tmp_path, capsys):
    config = config_from_dict({"constellation": {"builtin": "kuiper"}}, overrides=["time.step_s=30", "seed=7"])
    assert config.time.step_s == 30.0 and config.seed == 7
    assert cli.main(["validate", str(QUICKSTART), "--set", "propagation.precision=float64"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["propagation"]["precision"] == "float64"
    assert cli.main(["validate", str(QUICKSTART), "--set", "nonsense"]) == 2


# ---------------------------------------------------------------------------------------------------------------
# extends: a config built on another

BASE_CONFIG = """\
[constellation]
builtin = "kuiper"
[time]
step_s = 30.0
duration_h = 2.0
[demand]
sites_file = "data/sites.csv"
[[workloads]]
model = "yolov8n"
rate_per_s = 1.0
slo_ms = 100.0
[[workloads]]
model = "whisper-tiny"
rate_per_s = 2.0
slo_ms = 900.0
"""


def test_extends_merges_tables_and_replaces_arrays(tmp_path):
    write_config(tmp_path, BASE_CONFIG).rename(tmp_path / "base.toml")
    (tmp_path / "variants").mkdir()
    child = tmp_path / "variants" / "child.toml"
    child.write_text('extends = "../base.toml"\n[time]\nduration_h = 1.0\n'
                     '[[workloads]]\nmodel = "resnet50"\nrate_per_s = 3.0\nslo_ms = 50.0\n')
    config = load_config(child)
    assert (config.time.step_s, config.time.duration_h) == (30.0, 1.0)  # tables merged key by key
    assert [w.model for w in config.workloads] == ["resnet50"]  # an array of tables replaced wholesale
    assert config.constellation.builtin == "kuiper" and config.source == str(child)
    # A path written in the base stays relative to the base's folder.
    assert config.resolve_path(config.demand.sites_file) == (tmp_path / "data" / "sites.csv").resolve()
    grandchild = tmp_path / "variants" / "grandchild.toml"
    grandchild.write_text('extends = "child.toml"\nseed = 3\n[time]\nstep_s = 10.0\n')
    config = load_config(grandchild, ["time.duration_h=0.5"])  # overrides apply last
    assert (config.time.step_s, config.time.duration_h, config.seed) == (10.0, 0.5, 3)
    assert [w.model for w in config.workloads] == ["resnet50"]
    assert config.resolve_path(config.demand.sites_file) == (tmp_path / "data" / "sites.csv").resolve()


def test_a_catalog_file_replaces_the_base_builtin_and_back(tmp_path):
    write_config(tmp_path, BASE_CONFIG).rename(tmp_path / "base.toml")
    (tmp_path / "catalog.toml").write_text('extends = "base.toml"\n[constellation]\nfile = "sats.tle"\n')
    config = load_config(tmp_path / "catalog.toml")
    assert (config.constellation.builtin, config.constellation.file) == (None, "sats.tle")
    assert config.time.step_s == 30.0  # the rest still comes from the base
    config = load_config(tmp_path / "catalog.toml", ['constellation.builtin="starlink-gen1"'])
    assert (config.constellation.builtin, config.constellation.file) == ("starlink-gen1", None)
    # Both in one file is still an error
    (tmp_path / "both.toml").write_text('extends = "base.toml"\n[constellation]\nfile = "sats.tle"\nbuiltin = "kuiper"\n')
    with pytest.raises(InputError):
        load_config(tmp_path / "both.toml")


def test_extends_cycle_names_the_files(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n[constellation]\nbuiltin = "kuiper"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(InputError) as error:
        load_config(tmp_path / "a.toml")
    assert error.value.field == "extends" and "cycle" in str(error.value)
    assert "a.toml" in str(error.value) and "b.toml" in str(error.value)
    (tmp_path / "self.toml").write_text('extends = "self.toml"\n')
    with pytest.raises(InputError, match="cycle"):
        load_config(tmp_path / "self.toml")


@pytest.mark.parametrize("base_extra, child_text, culprit, field", [
    ("", 'extends = "base.toml"\n[time]\nstpe_s = 5.0\n', "child", "time.stpe_s"),  # unknown field
    ("", 'extends = "base.toml"\n[time]\nduration_h = "1"\n', "child", "time.duration_h"),  # wrong type
    ("", 'extends = "base.toml"\n[[workloads]]\nmodel = "yolov8n"\nrate_per_s = -1.0\nslo_ms = 100.0\n', "child",
     "workloads[0].rate_per_s"),  # negative rate
    ("", 'extends = "nowhere.toml"\n', "child", "extends"),  # missing base
    ("", 'extends = 7\n', "child", "extends"),
    ("[propagation]\nprecision = \"float16\"\n", 'extends = "base.toml"\n', "base", "propagation.precision"),
    ("[output]\nvelocty = true\n", 'extends = "base.toml"\nseed = 1\n', "base", "output.velocty"),
    ("", 'extends = "base.toml"\n[demand]\nlimit = -2\n', "child", "demand.limit"),
])
def test_errors_in_extending_configs_name_file_and_field(tmp_path, base_extra, child_text, culprit, field):
    base = write_config(tmp_path, BASE_CONFIG + base_extra).rename(tmp_path / "base.toml")
    child = tmp_path / "child.toml"
    child.write_text(child_text)
    with pytest.raises(InputError) as error:
        load_config(child)
    assert error.value.field == field
    assert error.value.source == str(base if culprit == "base" else child)


def test_override_of_an_inherited_field_is_the_named_files(tmp_path):
    write_config(tmp_path, BASE_CONFIG).rename(tmp_path / "base.toml")
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\n')
    with pytest.raises(InputError) as error:
        load_config(child, ["time.step_s=-1"])
    assert error.value.field == "time.step_s" and error.value.source == str(child)
