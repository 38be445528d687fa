"""Input that would run and come out silently wrong, or fail only after the work (issue 18): element sets far
from the horizon, element values the TLE copy of a run cannot hold, problems too large for the machine, and
whatever else a config may hold."""

from __future__ import annotations

import datetime
import json
import math
import os
from pathlib import Path

import pytest

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
    assert "3676.6 days" in err and "about 1 km" in err and "max_element_age_days" in err
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


def test_a_run_days_after_the_elements_says_and_records_the_warning(tmp_path, capsys):
    out = tmp_path / "run"
    overrides = ["time.start='2026-03-01T00:00:00Z'", "time.duration_h=0.34", "time.step_s=300",
                 "solver.strategies=['greedy']", "solver.certify=false"]
    assert cli.main(["run", str(QUICKSTART), "--out", str(out), *sets(overrides)]) == 0
    assert "warning: constellation.epoch: the horizon reaches 5.0 days" in capsys.readouterr().err
    (warning,) = json.loads((out / "metrics.json").read_text())["warnings"]
    assert warning.startswith("constellation.epoch: the horizon reaches 5.0 days")


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


# 2. element values the run's TLE copy (satellites.tle) cannot hold, refused when the file is read

# One OMM record, CelesTrak's keywords and units (values of STARLINK-1008 in the shipped snapshot).
OMM_RECORD = {"OBJECT_NAME": "STARLINK-1008", "OBJECT_ID": "2019-074B", "EPOCH": "2026-02-22T22:52:52.307616",
              "MEAN_MOTION": 15.31035506, "ECCENTRICITY": 0.0001251, "INCLINATION": 53.1565,
              "RA_OF_ASC_NODE": 247.2957, "ARG_OF_PERICENTER": 94.4223, "MEAN_ANOMALY": 265.6921,
              "EPHEMERIS_TYPE": 0, "CLASSIFICATION_TYPE": "U", "NORAD_CAT_ID": 44714, "ELEMENT_SET_NO": 999,
              "REV_AT_EPOCH": 34661, "BSTAR": 6.1711e-05, "MEAN_MOTION_DOT": 1.514e-05, "MEAN_MOTION_DDOT": 0}


def omm_config(tmp_path: Path, records: list[dict], suffix: str = ".json") -> Path:
    path = tmp_path / f"sats{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(records))
    else:
        path.write_text(",".join(records[0]) + "\n" + "".join(",".join(str(v) for v in r.values()) + "\n"
                                                              for r in records))
    config = tmp_path / "config.toml"
    config.write_text(f'extends = "{QUICKSTART}"\n[constellation]\nfile = "{path.name}"\n'
                      '[time]\nstart = "2026-02-23T00:00:00Z"\n')
    return config


@pytest.mark.parametrize("key, value, words", [
    ("INCLINATION", 250.0, "0 to 180 degrees"),
    ("MEAN_MOTION", 100.0, "17.04 rev/day"),  # the TLE field holds 99.99999999, no orbit more than 17.04
    ("MEAN_MOTION", 16.0, None),  # a 90-minute orbit (inside 17.04): accepted
    ("NORAD_CAT_ID", 340000, "0 to 339999 (Alpha-5 Z9999)"),
    ("NORAD_CAT_ID", 339999, None),
    ("ECCENTRICITY", 0.99999999, "0 <= e < 0.99999995"),
    ("EPOCH", "2060-01-01T00:00:00", "1957-2056"),
    ("BSTAR", 1e12, "a magnitude below 1e9"),
])
def test_an_omm_value_a_tle_cannot_hold_is_refused_naming_record_and_key(tmp_path, capsys, key, value, words):
    good = dict(OMM_RECORD, NORAD_CAT_ID=44718)
    config = omm_config(tmp_path, [good, {**OMM_RECORD, key: value}])
    argv = ["validate", str(config), "--set", "constellation.max_element_age_days=20000"]
    if words is None:
        assert cli.main(argv) == 0
        return
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"placement: error: {tmp_path / 'sats.json'}, field '{key}': JSON item [1]:")
    assert words in err
    # skipped and counted like any malformed record when the config says so
    assert cli.main([*argv, "--set", "constellation.skip_bad_records=true"]) == 0
    assert "valid: 1 satellites" in capsys.readouterr().err


def test_an_omm_csv_value_a_tle_cannot_hold_is_refused_naming_the_line(tmp_path, capsys):
    config = omm_config(tmp_path, [OMM_RECORD, {**OMM_RECORD, "NORAD_CAT_ID": 44718, "INCLINATION": 250.0}], ".csv")
    assert cli.main(["validate", str(config)]) == 2
    assert f"{tmp_path / 'sats.csv'}, line 3, field 'INCLINATION'" in capsys.readouterr().err


@pytest.mark.parametrize("overrides, field, words", [
    (["constellation.epoch=2060-01-01", "time.start=2060-01-01"], "constellation.epoch", "1957-2056"),
    (["constellation.bstar=1e10"], "constellation.bstar", "a magnitude below 1e9"),
])
def test_walker_elements_a_tle_cannot_hold_are_refused_naming_the_field(capsys, overrides, field, words):
    assert cli.main(["validate", str(QUICKSTART), *sets(overrides)]) == 2
    err = capsys.readouterr().err
    assert f"field '{field}'" in err and words in err


# 3. sizes before work


def test_shipped_configs_fit_a_24_gb_machine(capsys):
    for config in sorted((ROOT / "configs").glob("*.toml")):
        assert cli.main(["validate", str(config), "--set", "limits.max_memory_gb=24"]) == 0, capsys.readouterr().err


def test_a_horizon_too_long_for_memory_is_refused_naming_the_field(capsys, monkeypatch):
    # 1,584 satellites x 6 million steps of 30 s x 17 bytes (float32 positions and sunlight, the SGP4 code):
    # 162 GB at least
    long = ["time.duration_h=50000", "constellation.max_element_age_days=1e6"]
    assert cli.main(["validate", str(QUICKSTART), *sets([*long, "limits.max_memory_gb=24"])]) == 2
    err = capsys.readouterr().err
    assert "field 'time.duration_h': this run needs about 162 GB" in err and "over the 24 GB of limits" in err
    monkeypatch.setenv("PLACEMENT_MAX_MEMORY_GB", "24")
    assert cli.main(["validate", str(QUICKSTART), *sets(long)]) == 2
    assert "over the 24 GB of $PLACEMENT_MAX_MEMORY_GB" in capsys.readouterr().err
    monkeypatch.setenv("PLACEMENT_MAX_MEMORY_GB", "1e3")  # a larger machine: then it fits
    assert cli.main(["validate", str(QUICKSTART), *sets(long)]) == 0
    monkeypatch.setenv("PLACEMENT_MAX_MEMORY_GB", "lots")
    assert cli.main(["validate", str(QUICKSTART)]) == 2
    assert "field 'PLACEMENT_MAX_MEMORY_GB'" in capsys.readouterr().err
    # and a horizon of a billion hours is refused by its step count, before anything is built
    assert cli.main(["validate", str(QUICKSTART), "--set", "time.duration_h=1e9"]) == 2
    assert "field 'time'" in capsys.readouterr().err


def test_a_million_sites_are_refused_naming_the_demand(tmp_path, capsys):
    rows = "".join(f"town{i},{i % 170 - 85}.5,{i % 359 - 179}.5,1000\n" for i in range(1_000_000))
    (tmp_path / "towns.csv").write_text("city,lat,lon,population\n" + rows)
    config = tmp_path / "config.toml"
    config.write_text(f'extends = "{QUICKSTART}"\n[demand]\nsites = []\nsites_file = "towns.csv"\n'
                      "[[workloads]]\nmodel = 'yolov8n'\nrate_per_s = 1.0\nslo_ms = 100.0\n")
    assert cli.main(["validate", str(config), "--set", "limits.max_memory_gb=24"]) == 2
    err = capsys.readouterr().err
    # 1,000,222 sites and gateways x 1,584 satellites x 16 bytes (float32 height, squared range and score, an
    # int32 index) = 25.3 GB, the one hour's orbits 0.003 GB
    assert "field 'demand': this run needs about 25.4 GB" in err and "1000222 sites and gateways" in err


# 4. whatever a config holds: exit 0, or 2 with one error line, never a traceback or a crash (exit 1)

# Fields of each kind: times, numbers, lists, names, whole arrays of tables.
FUZZED_FIELDS = ["time.start", "time.duration_h", "time.step_s", "problem.epoch_s", "constellation.epoch",
                 "constellation.shells", "constellation.builtin", "constellation.bstar",
                 "constellation.max_element_age_days", "network.site_min_elevation_deg", "hosts.terminals_per_site",
                 "solver.strategies", "seed", "workloads", "demand.sites", "limits.max_memory_gb", "extends",
                 "propagation.precision", "problem"]


def toml_values():
    """TOML value text: numbers (inf, nan, huge, negative), strings, booleans, datetimes, lists, tables."""
    from hypothesis import strategies as st

    def number_text(x):
        return {math.inf: "inf", -math.inf: "-inf"}.get(x, "nan" if x != x else repr(x))

    scalars = st.one_of(
        st.integers(min_value=-10**30, max_value=10**30).map(str),
        st.floats().map(number_text),
        st.sampled_from(["0", "-1", "1e300", "-1e-300", "0.0", "2147483648"]),
        st.floats(min_value=1e-3, max_value=1e5).map(repr),  # plausible sizes, which get further into resolve
        st.integers(min_value=0, max_value=5).map(str),
        st.text(max_size=12).map(json.dumps),
        st.booleans().map(lambda b: str(b).lower()),
        st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)).map(lambda d: d.isoformat()),
        st.dates().map(lambda d: d.isoformat()),
        st.sampled_from(["'greedy'", "'starlink-gen1'", "'float64'", "'yolov8n'", "'2026-02-24T00:00:00Z'"]),
    )
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(st.sampled_from(["name", "lat_deg", "lon_deg", "model", "rate_per_s", "slo_ms", "x"]),
                        inner, max_size=3).map(lambda t: "{" + ", ".join(f"{k} = {v}" for k, v in t.items()) + "}"),
    ), max_leaves=4)


def assert_clean_outcome(code: int, err: str, source: Path) -> None:
    """Exit 0, or 2 with one line that names the config file."""
    assert "Traceback" not in err, err
    assert code == 0 or (code == 2 and err.startswith(f"placement: error: {source}") and len(err.splitlines()) == 1), (
        code, err)


def test_random_config_values_end_in_a_result_or_one_error_line(capsys):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)), deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.sampled_from(FUZZED_FIELDS), toml_values()), min_size=1, max_size=2))
    def check(overrides):
        capsys.readouterr()
        code = cli.main(["validate", str(QUICKSTART), *sets([f"{k}={v}" for k, v in overrides])])
        assert_clean_outcome(code, capsys.readouterr().err, QUICKSTART)

    check()


def test_random_bytes_as_a_config_are_one_error_line(tmp_path, capsys):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    config = tmp_path / "config.toml"

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
    def check(data):
        capsys.readouterr()
        config.write_bytes(data)
        assert_clean_outcome(cli.main(["validate", str(config)]), capsys.readouterr().err, config)

    check()


@pytest.mark.parametrize("override, field, words", [
    # found by the test above: each ran on (or named no file) before
    ("problem.epoch_s=1e-300", "problem.epoch_s", "3.6e+303 placement epochs"),
    ("constellation.shells=[1, 2, 1]", "constellation.shells", "shell 1 is given twice"),
    ("workloads=[{model='yolov8n', rate_per_s=1.0, slo_ms=100.0, diurnal_profile=[1e308, " + "1e308, " * 22 + "1e308]}]",
     "workloads[0].diurnal_profile", "with a finite sum"),
    ("problem.epoch_s.x=1", "problem.epoch_s.x", "goes through a non-table"),
])
def test_values_the_fuzzing_found_are_refused_naming_file_and_field(capsys, override, field, words):
    assert cli.main(["validate", str(QUICKSTART), "--set", override]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"placement: error: {QUICKSTART}, field '{field}'") and words in err
