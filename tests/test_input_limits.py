"""Input that would run and come out silently wrong, or fail only after the work (issue 18): element sets far
from the horizon, element values the TLE copy of a run cannot hold, problems too large for the machine, and
whatever else a config may hold."""

from __future__ import annotations

import json
from pathlib import Path

from placement import cli

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.toml"
CATALOG = ROOT / "configs" / "starlink-catalog.toml"
SNAPSHOT = ROOT / "configs" / "data" / "starlink_2026-02-23.tle"


def sets(overrides: list[str]) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


# 1. element sets far from the horizon


def test_a_horizon_ten_years_after_the_catalog_is_refused_naming_the_file(capsys):
    argv = ["validate", str(CATALOG), *sets(["time.start='2036-02-24T00:00:00Z'"])]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("placement: error:") and "field 'constellation.file'" in err
    assert "3676.6 days" in err and "1-3 km per day" in err and "max_element_age_days" in err
    # the limit is the config's to set
    assert cli.main([*argv, "--set", "constellation.max_element_age_days=4000"]) == 0


def test_a_walker_epoch_far_from_the_horizon_is_refused_naming_the_epoch(tmp_path, capsys):
    assert cli.main(["propagate", str(QUICKSTART), "--out", str(tmp_path / "run"),
                     *sets(["time.start='2036-02-24T00:00:00Z'", "constellation.max_satellites=40"])]) == 2
    assert "field 'constellation.epoch'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_horizon_days_after_the_elements_warns_and_records_it(tmp_path, capsys):
    later = ["time.start='2026-03-01T00:00:00Z'", "time.duration_h=1.0"]  # 5 days after the Walker epoch
    assert cli.main(["validate", str(QUICKSTART), *sets(later)]) == 0
    err = capsys.readouterr().err
    assert "placement: warning: constellation.epoch: the horizon reaches 5.0 days" in err
    out = tmp_path / "run"
    assert cli.main(["propagate", str(QUICKSTART), "--out", str(out),
                     *sets([*later, "constellation.max_satellites=40"])]) == 0
    assert "warning: constellation.epoch" in capsys.readouterr().err
    (warning,) = json.loads((out / "summary.json").read_text())["warnings"]
    assert "5.0 days" in warning
    # within the warning limit: nothing said
    assert cli.main(["validate", str(QUICKSTART), *sets(["time.start='2026-02-26T00:00:00Z'"])]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_catalog_days_old_warns_naming_its_stalest_satellite(tmp_path, capsys):
    lines = SNAPSHOT.read_text().splitlines()
    (tmp_path / "two.tle").write_text("\n".join(lines[:6]) + "\n")
    config = tmp_path / "config.toml"
    config.write_text(f'extends = "{QUICKSTART}"\n[constellation]\nfile = "two.tle"\n'
                      '[time]\nstart = "2026-03-01T00:00:00Z"\n')
    assert cli.main(["validate", str(config)]) == 0
    err = capsys.readouterr().err
    # STARLINK-1012's epoch (day 53.795 of 2026) is older than STARLINK-1008's (53.953)
    assert "placement: warning: constellation.file: the horizon reaches 6.2 days" in err
    assert "of 2 of 2 satellites (the furthest: 'STARLINK-1012', epoch 2026-02-22 19:04 UTC)" in err


def test_every_shipped_config_validates(capsys):
    for config in sorted((ROOT / "configs").glob("*.toml")):
        assert cli.main(["validate", str(config)]) == 0, capsys.readouterr().err
