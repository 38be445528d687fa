"""Nothing lost, nothing silently wrong (issue 18): --overwrite replaces only directories this tool wrote, an
output is claimed before anything is computed, interrupted and killed jobs leave nothing behind (or nothing
the next job does not clear), and every failure ends in one `placement: error:` line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from placement import cli, pipeline, sweep
from placement.errors import InputError
from placement.results import MARKER, claim, marker_kind

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.toml"
# `placement propagate` of 40 satellites: the quickest job that claims and writes an output directory.
SMALL = ["constellation.max_satellites=40", "time.duration_h=1.0"]
# The same, streamed in 30-step chunks over 2,000 hours: it stays in its staging folder for many seconds,
# between which Python runs signal handlers. Its end is 83 days from the Walker epoch, over the 30 days a run
# accepts by default (scenario.py, element-set age): positions that far out do not matter here.
LONG = ["constellation.max_satellites=40", "time.duration_h=2000", "propagation.chunk_steps=30",
        "constellation.max_element_age_days=90"]


def sets(overrides: list[str]) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


def start(out: Path, overrides: list[str]) -> subprocess.Popen:
    """`placement propagate` in its own process, as a user or a scheduler starts it."""
    code = "import sys; from placement.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, "propagate", str(QUICKSTART), "--out", str(out),
                             *sets(overrides)], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_staging(job: subprocess.Popen, out: Path, timeout_s: float = 60.0) -> None:
    """Until the job's staging folder exists (it has claimed the output and is writing)."""
    deadline = time.monotonic() + timeout_s
    while not list(out.parent.glob(f".{out.name}.partial-*")):
        assert job.poll() is None, job.communicate()
        assert time.monotonic() < deadline, "the job never started writing"
        time.sleep(0.05)


def last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# 1. --overwrite replaces only what placement wrote


def test_overwrite_refuses_a_folder_placement_did_not_write(tmp_path, capsys):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("months of work")
    assert cli.main(["propagate", str(QUICKSTART), "--out", str(out), "--overwrite", *sets(SMALL)]) == 2
    err = capsys.readouterr().err
    assert last_line(err).startswith("placement: error:") and "'--out'" in err and MARKER in err
    assert (out / "chapter1.tex").read_text() == "months of work"
    assert [p.name for p in tmp_path.iterdir()] == ["thesis"]  # no lock, no staging folder left


def test_overwrite_replaces_a_directory_placement_wrote(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["propagate", str(QUICKSTART), "--out", str(out), *sets(SMALL)]) == 0
    assert marker_kind(out) == "propagate"
    (out / "note.txt").write_text("stale")
    assert cli.main(["propagate", str(QUICKSTART), "--out", str(out), "--overwrite", *sets(SMALL)]) == 0
    assert marker_kind(out) == "propagate" and not (out / "note.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_forged_or_unreadable_marker_is_not_ours(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    assert marker_kind(folder) is None
    (folder / MARKER).write_text("not json")
    assert marker_kind(folder) is None
    (folder / MARKER).write_text(json.dumps({"kind": "photos"}))
    assert marker_kind(folder) is None
    (folder / MARKER).write_text(json.dumps({"kind": "sweep"}))
    assert marker_kind(folder) == "sweep"


# 2. the output is claimed at the start


def test_a_claimed_output_is_refused_before_anything_is_computed(tmp_path, monkeypatch, capsys):
    def never(scenario, progress):
        raise AssertionError("computed while another job held the output")

    out = tmp_path / "run"
    monkeypatch.setattr(pipeline, "prepare", never)
    with claim(out):
        with pytest.raises(InputError, match="is writing it now"), claim(out):
            pass
        assert cli.main(["run", str(QUICKSTART), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert last_line(err).startswith("placement: error:") and f"process {os.getpid()}" in err
    assert list(tmp_path.iterdir()) == []  # released: the lock file is gone
    with claim(out):  # and can be claimed again
        pass


def test_two_jobs_into_one_output_end_with_one_complete_directory(tmp_path):
    out = tmp_path / "run"
    overrides = ["constellation.max_satellites=40", "time.duration_h=100", "propagation.chunk_steps=30"]
    jobs = [start(out, overrides) for _ in range(2)]
    outcomes = sorted((job.wait(timeout=120), job.communicate()[1]) for job in jobs)
    (ok, _), (refused, err) = outcomes
    assert (ok, refused) == (0, 2), outcomes
    assert last_line(err).startswith("placement: error:") and "Traceback" not in err
    assert json.loads((out / "summary.json").read_text())["satellites"] == 40
    assert leftovers(tmp_path) == []


# 3. interrupted and killed jobs


@pytest.mark.parametrize("sig, code, line", [(signal.SIGTERM, 143, "placement: terminated"),
                                             (signal.SIGINT, 130, "placement: interrupted")])
def test_a_signalled_job_removes_its_staging_folder(tmp_path, sig, code, line):
    out = tmp_path / "run"
    job = start(out, LONG)
    wait_for_staging(job, out)
    job.send_signal(sig)
    _, err = job.communicate(timeout=60)
    assert job.returncode == code
    assert last_line(err) == line and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_job_terminated_while_starting_leaves_nothing(tmp_path):
    job = start(tmp_path / "run", LONG)
    time.sleep(0.5)  # still importing: before the output is claimed
    job.send_signal(signal.SIGTERM)
    job.communicate(timeout=60)
    assert job.returncode in (-signal.SIGTERM, 143)  # ended by the default action, or unwound
    assert list(tmp_path.iterdir()) == []


def test_the_next_job_clears_what_a_killed_one_left(tmp_path, capsys):
    out = tmp_path / "run"
    job = start(out, LONG)
    wait_for_staging(job, out)
    job.kill()  # SIGKILL: no handler runs
    job.communicate(timeout=60)
    assert [p for p in leftovers(tmp_path) if ".partial-" in p] and f".{out.name}.lock" in leftovers(tmp_path)
    unrelated = tmp_path / f".{out.name}.partial-mine"  # the same name pattern, but not written by placement
    unrelated.mkdir()

    assert cli.main(["propagate", str(QUICKSTART), "--out", str(out), *sets(SMALL)]) == 0
    assert json.loads((out / "summary.json").read_text())["satellites"] == 40
    assert leftovers(tmp_path) == [unrelated.name]


# 4. every failure is one line: exit 2 for bad input, 1 for a failed run


def decayed_tle(path: Path) -> Path:
    """Two Starlink element sets with a drag term of 0.5: SGP4 cannot propagate them a day later."""
    lines = (ROOT / "configs" / "data" / "starlink_2026-02-23.tle").read_text().splitlines()[:6]
    records = []
    for name, line1, line2 in zip(lines[0::3], lines[1::3], lines[2::3]):
        line1 = line1[:53] + " 50000-0" + line1[61:68]
        records += [name, line1 + str(tle_checksum(line1)), line2]
    path.write_text("\n".join(records) + "\n")
    return path


def tle_checksum(line: str) -> int:
    return sum(int(c) if c.isdigit() else c == "-" for c in line[:68]) % 10


@pytest.mark.parametrize("overrides, field", [
    (["time.duration_h=inf"], "time.duration_h"),
    (["time.duration_h=nan"], "time.duration_h"),
    (["solver.milp.time_limit_s=inf"], "solver.milp.time_limit_s"),
    (["solver.strategies=[]"], "solver.strategies"),
    (["seed=-1", "solver.strategies=['random']"], "seed"),
    (["seed=99999999999999999999"], "seed"),
    (["workloads=[{model='yolov8n', rate_per_s=1e300, slo_ms=100.0}]"], "workloads[0].rate_per_s"),
    (["problem.epoch_s=1e300"], "time"),
    (["time.step_s=1e-300"], "time"),
])
def test_bad_numbers_are_refused_by_validate_naming_the_field(overrides, field, capsys):
    assert cli.main(["validate", str(QUICKSTART), *sets(overrides)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("placement: error:") and f"field {field!r}" in err and "Traceback" not in err


def test_a_binary_config_is_bad_input(tmp_path, capsys):
    config = tmp_path / "photo.toml"
    config.write_bytes(bytes(range(256)) * 4)
    assert cli.main(["validate", str(config)]) == 2
    assert "not a UTF-8 text file" in capsys.readouterr().err


def test_a_catalog_of_decayed_satellites_is_refused_before_running(tmp_path, capsys):
    decayed_tle(tmp_path / "old.tle")
    config = tmp_path / "config.toml"
    config.write_text(f'extends = "{QUICKSTART}"\n[constellation]\nfile = "old.tle"\n[time]\nduration_h = 24.0\n')
    for argv in (["validate", str(config)], ["propagate", str(config), "--out", str(tmp_path / "run")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert "field 'constellation.file'" in err and "SGP4 error" in err and "'STARLINK-1008'" in err
    assert not (tmp_path / "run").exists()


def test_an_unexpected_error_is_one_line_and_its_traceback_on_request(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(pipeline, "propagate", broken)
    argv = ["propagate", str(QUICKSTART), "--out", str(tmp_path / "run"), *sets(SMALL)]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err == "placement: error: RuntimeError: the disk is full (run again with -v for the traceback)\n"
    assert cli.main([*argv, "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("placement: error: RuntimeError: the disk is full\n")


# 5. a run without any feasible placement fails


def test_a_run_where_every_strategy_is_infeasible_exits_1_with_the_reason(tmp_path, capsys):
    # Every request must be served, and a hundred thousand language-model requests a second per site are far
    # beyond what the hosts in reach compute.
    out = tmp_path / "run"
    overrides = ["time.duration_h=0.34", "time.step_s=300", "solver.strategies=['greedy','cloud_only']",
                 "solver.certify=false", "problem.serve_all=true",
                 "workloads=[{model='llama-3.2-1b-instruct-q4', rate_per_s=1e5, slo_ms=1500.0}]"]
    assert cli.main(["run", str(QUICKSTART), "--out", str(out), *sets(overrides)]) == 1
    line = last_line(capsys.readouterr().err)
    assert line.startswith("placement: error: no strategy found a feasible placement: compute: demand")
    metrics = json.loads((out / "metrics.json").read_text())
    assert [m["status"] for m in metrics["strategies"].values()] == ["infeasible", "infeasible"]
    assert metrics["infeasible"] in line


# 6. what editors and spreadsheets write


def test_toml_datetimes_are_accepted_where_times_are_given(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'extends = "{QUICKSTART}"\n[time]\nstart = 2026-02-24T03:00:00+03:00\n'
                      "[constellation]\nepoch = 2026-02-24\n")
    assert cli.main(["validate", str(config), "--set", "time.duration_h=2.0"]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert (resolved["time"]["start"], resolved["constellation"]["epoch"]) == ("2026-02-24T03:00:00+03:00",
                                                                             "2026-02-24")
    assert cli.main(["validate", str(QUICKSTART), "--set", "time.start=2026-02-24T00:00:00Z"]) == 0
    assert json.loads(capsys.readouterr().out)["time"]["start"] == "2026-02-24T00:00:00+00:00"
    assert cli.main(["validate", str(QUICKSTART), "--set", "time.start=12:00:00"]) == 2  # a time of day alone
    assert "field 'time.start'" in capsys.readouterr().err


def test_a_site_table_saved_with_a_byte_order_mark_is_read(tmp_path, capsys):
    (tmp_path / "towns.csv").write_text("city,lat,lon,population\nNairobi,-1.28333,36.81667,4397073\n",
                                        encoding="utf-8-sig")
    config = tmp_path / "config.toml"
    config.write_text(f'extends = "{QUICKSTART}"\n[demand]\nsites = []\nsites_file = "towns.csv"\n'
                      "[[workloads]]\nmodel = 'yolov8n'\nrate_per_s = 1.0\nslo_ms = 100.0\n")
    assert cli.main(["validate", str(config)]) == 0
    assert "1 sites" in capsys.readouterr().err


# 7. the same satellite or site twice


def test_a_satellite_twice_is_refused_naming_the_line_or_skipped_and_counted(tmp_path, capsys):
    lines = (ROOT / "configs" / "data" / "starlink_2026-02-23.tle").read_text().splitlines()
    (tmp_path / "sats.tle").write_text("\n".join(lines[:6] + lines[:3]) + "\n")  # the first one again
    config = tmp_path / "config.toml"
    config.write_text(f'extends = "{QUICKSTART}"\n[constellation]\nfile = "sats.tle"\n')
    argv = ["propagate", str(config), "--out", str(tmp_path / "run"), "--set", "time.duration_h=0.5"]
    assert cli.main(argv) == 2
    err = last_line(capsys.readouterr().err)
    assert "sats.tle, line 7" in err and "catalog number 44714 appears again (first at line 1)" in err

    assert cli.main([*argv, "--set", "constellation.skip_bad_records=true"]) == 0
    assert "1 malformed or repeated records of sats.tle skipped" in capsys.readouterr().err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["satellites"], summary["rejected_records"]) == (2, 1)


def test_a_site_named_twice_is_refused(capsys):
    twice = "demand.sites=[{name='a', lat_deg=0.0, lon_deg=0.0}, {name='a', lat_deg=1.0, lon_deg=1.0}]"
    assert cli.main(["validate", str(QUICKSTART), "--set", twice]) == 2
    assert "field 'demand.sites[1].name': site 'a' is given twice" in capsys.readouterr().err


# 8. a local Ray instance is not reachable from the network


def test_a_local_ray_instance_listens_on_loopback_without_the_dashboard():
    class Started(Exception):
        pass

    calls = []

    class FakeRay:
        def is_initialized(self):
            return False

        def init(self, **kwargs):
            calls.append(kwargs)
            raise Started

    for address, expected in ((None, {"_node_ip_address": "127.0.0.1", "include_dashboard": False}),
                              ("ray://head:10001", {"address": "ray://head:10001"})):
        with pytest.raises(Started):
            next(sweep._ray_points(FakeRay(), str(QUICKSTART), [], address))
        assert calls[-1] == expected
