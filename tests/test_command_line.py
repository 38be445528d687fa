"""The command line's face (issue 17): `--version` from the installed distribution's metadata, -q and -v through
the standard logging module (every command, `export` and `report` included), `placement list`, checked against
the shipped tables read by Python's csv module and against ../shared/reference's constellation shells, and
where --compile-cache keeps JAX's programs."""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.resources
import io
import json
import logging
from pathlib import Path

import pytest

from placement import cli, compile_cache
from placement.errors import InputError
from placement.progress import Reporter
from shared_reference import REFERENCE, needs

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.toml"
# Five days after the built-in constellation's epoch: a warning (placement/scenario.py, element-set age).
LATER = ["--set", "time.start='2026-03-01T00:00:00Z'", "--set", "time.duration_h=1.0"]


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    line = capsys.readouterr().out.strip()
    (name,) = set(importlib.metadata.packages_distributions()["placement"])
    assert line == f"placement {importlib.metadata.version(name)} (distribution {name})"


def test_quiet_keeps_warnings_and_verbose_adds_debug(capsys):
    assert cli.main(["validate", str(QUICKSTART), *LATER]) == 0
    err = capsys.readouterr().err
    assert "placement: warning: constellation.epoch: the horizon reaches 5.0 days" in err
    assert "valid: 1584 satellites" in err  # the summary line is progress: INFO
    assert cli.main(["validate", str(QUICKSTART), *LATER, "-q"]) == 0
    assert capsys.readouterr().err.splitlines() == [line for line in err.splitlines() if "warning" in line]
    assert cli.main(["validate", "absent.toml", "-q"]) == 2  # errors stay, as one line
    assert capsys.readouterr().err.startswith("placement: error: absent.toml: cannot read config")
    with pytest.raises(SystemExit) as refused:
        cli.main(["validate", str(QUICKSTART), "-q", "-v"])
    assert refused.value.code == 2
    logger = logging.getLogger("placement")  # as it was before the command: an in-process caller's own setup
    assert (logger.handlers, logger.level, logger.propagate) == ([], logging.NOTSET, True)


@pytest.mark.parametrize("command, written", [(["report"], "r.html"), (["export", "--format", "geojson"], "e.json")])
def test_export_and_report_take_quiet_and_verbose(run_dir, tmp_path, capsys, command, written):
    out = tmp_path / written
    argv = [command[0], str(run_dir[0]), *command[1:], "--out", str(out)]
    assert cli.main([*argv, "-q"]) == 0
    assert capsys.readouterr() == (f"{out}\n", "")  # the file written is the command's output
    assert cli.main([*argv, "-q"]) == 2  # it exists now: refused, in one line even under -q
    err = capsys.readouterr().err
    assert err.startswith("placement: error:") and str(out) in err and len(err.splitlines()) == 1
    assert cli.main([*argv, "--overwrite", "-v"]) == 0
    with pytest.raises(SystemExit) as refused:
        cli.main([*argv, "-q", "-v"])
    assert refused.value.code == 2


def test_progress_is_info_records_of_the_placement_logger_outside_the_command(caplog):
    with caplog.at_level(logging.INFO, logger="placement"):
        Reporter()("network: 3 satellites")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == \
        [("placement", logging.INFO, "network: 3 satellites")]


def _listed(kind: str, fmt: str, capsys) -> str:
    assert cli.main(["list", kind, "--format", fmt]) == 0
    return capsys.readouterr().out


def _shipped(package: str, filename: str) -> list[dict]:
    with (importlib.resources.files(package) / "data" / filename).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("kind, package, filename, key", [
    ("models", "placement.problem", "models.csv", "name"),
    ("profiles", "placement.problem", "hosts.csv", "profile"),
    ("gateways", "placement.network", "gateways.csv", "name"),
    ("pops", "placement.network", "pops.csv", "name"),
    ("regions", "placement.network", "cloud_regions.csv", "name"),
])
def test_list_gives_every_shipped_row_with_its_source(kind, package, filename, key, capsys):
    shipped = _shipped(package, filename)
    listed = list(csv.DictReader(io.StringIO(_listed(kind, "csv", capsys))))
    assert [(r[key], r["source"]) for r in listed] == [(r[key], r["source"]) for r in shipped]
    assert all(r["source"].strip() for r in listed)
    as_json = json.loads(_listed(kind, "json", capsys))
    assert [r[key] for r in as_json] == [r[key] for r in shipped]
    table = _listed(kind, "table", capsys).splitlines()
    assert table[0].split()[-1] == "source" and len(table) == len(shipped) + 1


@needs("constellation_shells.csv")
def test_list_constellations_matches_the_filings(capsys):
    listed = json.loads(_listed("constellations", "json", capsys))
    with (REFERENCE / "constellation_shells.csv").open(newline="") as f:
        reference = [r for r in csv.DictReader(f) if r["constellation"] == "Starlink Gen1"]
    gen1 = [r for r in listed if r["constellation"] == "starlink-gen1"]
    assert len(gen1) == len(reference) == 5
    for ours, filed in zip(gen1, reference):
        assert (ours["altitude_km"], ours["inclination_deg"], ours["planes"], ours["sats_per_plane"],
                ours["satellites"]) == (float(filed["altitude_km"]), float(filed["inclination_deg"]),
                                        int(filed["planes"]), int(filed["sats_per_plane"]), int(filed["total_sats"]))
        assert ours["source"].startswith("FCC SAT-MOD-20200417-00037")
    assert {r["constellation"] for r in listed} == {"starlink-gen1", "kuiper", "iris2"}


def test_the_compile_cache_folder_is_the_option_the_environment_or_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("PLACEMENT_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.cache_dir(None) == tmp_path / "xdg" / "placement" / "jax"
    monkeypatch.setenv("PLACEMENT_COMPILE_CACHE", str(tmp_path / "env"))
    assert compile_cache.cache_dir(None) == tmp_path / "env"
    assert compile_cache.cache_dir(str(tmp_path / "given")) == tmp_path / "given"
    assert compile_cache.cache_dir("none") is None and compile_cache.cache_dir("None") is None
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="'--compile-cache'"):  # before JAX is touched
        compile_cache.use_cache(tmp_path / "file" / "jax")
