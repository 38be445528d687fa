"""The published hour-of-day profiles (placement/problem/data/diurnal.csv) a workload may name, and the
satellite battery a config may set: read back exactly, used as the problem's rates, bad names refused."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from placement import cli
from placement.config import load_config
from placement.errors import InputError
from placement.problem import catalog
from placement.problem.build import diurnal_factor
from placement.scenario import host_options, resolve

ROOT = Path(__file__).resolve().parents[1]
DIURNAL_CSV = ROOT / "placement" / "problem" / "data" / "diurnal.csv"
QUICKSTART = ROOT / "configs" / "quickstart.toml"


def csv_profiles() -> dict[str, list[float]]:
    """The file read with the standard library's csv module, rows sorted by hour: the reference."""
    rows: dict[str, list[tuple[int, float]]] = {}
    with open(DIURNAL_CSV, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["profile"], []).append((int(row["hour"]), float(row["relative_rate"])))
    return {name: [rate for _, rate in sorted(hours)] for name, hours in rows.items()}


def test_named_profiles_read_back_exactly_and_every_row_has_its_source():
    reference = csv_profiles()
    assert set(reference) == {"orange-fr-fixed-2013", "orange-fr-mobile-2013"}
    for name, rates in catalog.diurnal_profiles().items():
        assert list(rates) == reference[name] and len(rates) == 24, name
    with open(DIURNAL_CSV, newline="", encoding="utf-8") as f:
        assert all(row["source"].startswith("https://") and row["date"] for row in csv.DictReader(f))


def test_a_named_profile_sets_the_rates_by_local_hour_with_a_mean_of_one():
    fixed = csv_profiles()["orange-fr-fixed-2013"]
    # At longitude 0 the local solar hour is the UTC hour: the factor is the CSV's rate over its daily mean
    factor = diurnal_factor(catalog.diurnal_profiles()["orange-fr-fixed-2013"], np.arange(24) + 0.5, np.zeros(1))
    assert factor[:, 0] == pytest.approx(np.array(fixed) / np.mean(fixed), rel=1e-12)
    assert factor.mean() == pytest.approx(1.0, rel=1e-12)
    # The measured curve: lowest at 06:00 and highest at 22:00 (the residential evening peak)
    assert int(np.argmin(fixed)) == 6 and int(np.argmax(fixed)) == 22


def workload(profile: str) -> list[str]:
    return [f"workloads=[{{model='yolov8n', rate_per_s=10.0, slo_ms=100.0, diurnal_profile={profile}}}]"]


def test_a_workload_names_a_profile_and_the_scenario_holds_its_rates():
    scenario = resolve(load_config(QUICKSTART, workload("'orange-fr-mobile-2013'")))
    assert list(scenario.demand.workloads[0].diurnal) == csv_profiles()["orange-fr-mobile-2013"]
    # 24 numbers are still taken as given, and none is constant
    given = [float(h % 5 + 1) for h in range(24)]
    assert list(resolve(load_config(QUICKSTART, workload(str(given)))).demand.workloads[0].diurnal) == given
    assert resolve(load_config(QUICKSTART)).demand.workloads[0].diurnal is None


def test_an_unknown_profile_name_is_refused_naming_the_field_and_the_known_names(capsys):
    with pytest.raises(InputError) as error:
        resolve(load_config(QUICKSTART, workload("'orange-fr-2099'")))
    assert error.value.field == "workloads[0].diurnal_profile"
    assert "'orange-fr-2099'" in str(error.value) and "orange-fr-fixed-2013" in str(error.value)
    assert cli.main(["validate", str(QUICKSTART), "--set", workload("'orange-fr-2099'")[0]]) == 2
    assert "field 'workloads[0].diurnal_profile'" in capsys.readouterr().err
    with pytest.raises(InputError) as error:  # an empty name is no profile (the constant default is [])
        load_config(QUICKSTART, workload("' '"))
    assert error.value.field == "workloads[0].diurnal_profile" and "a profile's name" in str(error.value)


@pytest.mark.parametrize("text,field", [
    ("profile,hour,relative_rate,source,date,notes\np,24,1.0,https://x,2013,\n", "hour"),
    ("profile,hour,relative_rate,source,date,notes\np,0,1.0,https://x,2013,\np,0,1.0,https://x,2013,\n", "hour"),
    ("profile,hour,relative_rate,source,date,notes\np,0,-1.0,https://x,2013,\n", "relative_rate"),
    ("profile,hour,relative_rate,source,date,notes\np,0,1.0,,2013,\n", "source"),
    ("profile,hour,relative_rate,source,date,notes\np,0,1.0,https://x,2013,\n", "hour"),  # 23 hours missing
])
def test_a_bad_profile_file_is_refused_naming_the_field(tmp_path, text, field):
    path = tmp_path / "diurnal.csv"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        catalog.diurnal_profiles(path=path)
    assert error.value.field == field and str(path) in str(error.value)


def test_the_satellite_battery_can_be_set_and_defaults_to_the_catalog():
    shipped = catalog.satellite_power()
    assert host_options(load_config(QUICKSTART), 1).power == shipped
    power = host_options(load_config(QUICKSTART, ["hosts.satellite_battery_wh=1000"]), 1).power
    assert power.battery_wh == 1000 and power.usable_battery_j == pytest.approx(1000 * 0.3 * 3600)
    assert power.sun_w == shipped.sun_w
    with pytest.raises(InputError) as error:
        load_config(QUICKSTART, ["hosts.satellite_battery_wh=-1"])
    assert error.value.field == "hosts.satellite_battery_wh"
