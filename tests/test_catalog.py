"""The default catalog of models, host profiles and satellite power (placement.problem.catalog)."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from placement.errors import InputError
from placement.problem.catalog import (BYTES_PER_PARAM, BYTES_PER_TOKEN, HOST_COLUMNS, LM_GENERATED_TOKENS,
                                       LM_PROMPT_TOKENS, MEMORY_OVERHEAD, MODEL_COLUMNS, SatellitePower,
                                       cylindrical_eclipse_min, host_profiles, models, satellite_power)
from placement.problem.spec import CLOUD, GATEWAY, LOCAL, SATELLITE

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "placement" / "problem" / "data"

# Figures transcribed again, independently of the CSV, from the sources the rows cite:
# name -> (params, published compute, True if that compute is multiply-adds, accuracy).
PUBLISHED = {
    "yolov8n": (3.2e6, 8.7e9, False, 37.3),  # Ultralytics docs, FLOPs at 640 px
    "yolov8s": (11.2e6, 28.6e9, False, 44.9),
    "mobilenet_v3_large": (5_483_032, 0.22e9, True, 74.042),  # torchvision "GFLOPS" = MACs
    "efficientnet_b0": (5_288_548, 0.39e9, True, 77.692),
    "resnet50": (25_557_032, 4.09e9, True, 76.13),
}
LM_PUBLISHED = {  # params from the model cards, MMLU from the cited card or report
    "llama-3.2-1b-instruct-q4": (1.23e9, 49.3),
    "llama-3.2-3b-instruct-q4": (3.21e9, 63.4),
    "qwen2.5-1.5b-instruct-q4": (1.54e9, 60.9),
    "phi-3-mini-4k-instruct-q4": (3.8e9, 68.8),
    "gemma-2-2b-it-q4": (2.61e9, 51.3),
}
WHISPER_DIMS = {"whisper-tiny": (384, 4), "whisper-base": (512, 6)}  # width, layers per stack


@pytest.fixture(scope="module")
def all_models():
    return models()


@pytest.fixture(scope="module")
def hosts():
    return host_profiles()


@pytest.fixture(scope="module")
def power():
    return satellite_power()


# ---------------------------------------------------------------------------------------------
# Shipped tables

def test_every_model_row_loads(all_models):
    with open(DATA / "models.csv", encoding="utf-8") as f:
        n_rows = sum(1 for line in f if line.strip()) - 1
    assert len(all_models) == n_rows >= 10
    names = [m.name for m in all_models]
    assert len(set(names)) == len(names)
    for m in all_models:
        assert m.source.startswith("https://"), m.name
        assert m.notes, m.name
        assert m.precision in BYTES_PER_PARAM
        assert m.accuracy is None or m.accuracy_metric
    assert {m.task for m in all_models} >= {"object-detection", "image-classification",
                                             "speech-recognition", "text-generation"}
    assert set(PUBLISHED) | set(LM_PUBLISHED) | set(WHISPER_DIMS) == set(names)


def test_columns_are_exactly_the_documented_ones():
    with open(DATA / "models.csv", encoding="utf-8") as f:
        assert tuple(f.readline().strip().split(",")) == MODEL_COLUMNS
    with open(DATA / "hosts.csv", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    assert set(HOST_COLUMNS) <= set(header)


def test_packaged_data_is_declared_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["placement"]
    assert "problem/data/*.csv" in patterns and "network/data/*.csv" in patterns


def test_models_selected_by_name_in_the_order_given():
    got = models(["whisper-tiny", "yolov8n"])
    assert [m.name for m in got] == ["whisper-tiny", "yolov8n"]
    assert models([]) == ()


def test_unknown_model_name_raises_naming_it():
    with pytest.raises(InputError) as e:
        models(["yolov8n", "yolov99"])
    assert "'yolov99'" in str(e.value)
    assert e.value.field == "name"
    assert "models.csv" in e.value.source
    assert "yolov8n" in e.value.expected  # the known names are listed


def test_a_single_string_is_not_a_list_of_names():
    with pytest.raises(InputError, match="sequence of model names"):
        models("yolov8n")


# ---------------------------------------------------------------------------------------------
# Derived model columns follow their formulas

def test_published_vision_figures_and_flops_are_twice_macs(all_models):
    by_name = {m.name: m for m in all_models}
    for name, (params, compute, is_macs, accuracy) in PUBLISHED.items():
        m = by_name[name]
        assert m.params == pytest.approx(params, rel=1e-9), name
        assert m.flops_per_inference == pytest.approx(compute * (2 if is_macs else 1), rel=1e-9), name
        assert m.accuracy == pytest.approx(accuracy), name


def test_language_model_flops_memory_and_payload(all_models):
    tokens = LM_PROMPT_TOKENS + LM_GENERATED_TOKENS
    lms = [m for m in all_models if m.task == "text-generation"]
    assert {m.name for m in lms} == set(LM_PUBLISHED)
    for m in lms:
        params, mmlu = LM_PUBLISHED[m.name]
        assert m.params == pytest.approx(params, rel=1e-9)
        assert m.accuracy == pytest.approx(mmlu)
        assert m.precision == "int4"
        assert m.flops_per_inference == pytest.approx(2 * m.params * tokens, rel=1e-9), m.name
        assert m.memory_bytes == pytest.approx(
            m.params * BYTES_PER_PARAM["int4"] * MEMORY_OVERHEAD["text-generation"], rel=1e-9), m.name
        assert m.request_bytes == LM_PROMPT_TOKENS * BYTES_PER_TOKEN
        assert m.response_bytes == LM_GENERATED_TOKENS * BYTES_PER_TOKEN
        assert f"{LM_PROMPT_TOKENS} prompt + {LM_GENERATED_TOKENS} generated" in m.notes


def test_memory_is_weights_times_overhead(all_models):
    for m in all_models:
        want = m.params * BYTES_PER_PARAM[m.precision] * MEMORY_OVERHEAD[m.task]
        assert m.memory_bytes == pytest.approx(want, rel=1e-9), m.name
        assert m.memory_bytes >= m.params * BYTES_PER_PARAM[m.precision]  # never below the weights


def _whisper_flops(d: int, layers: int, vocab: int = 51865, mels: int = 80, frames: int = 1500,
                   tokens: int = 100) -> float:
    """FLOPs of one 30 s window: encoder over 1500 frames, `tokens` greedy decoder steps."""
    macs_encoder = (2 * frames * 3 * mels * d  # conv1 over 3000 mel frames
                    + frames * 3 * d * d  # conv2, stride 2
                    + layers * frames * (4 * d * d + 8 * d * d + 2 * frames * d))  # attention, MLP, scores
    macs_decoder = (layers * frames * 2 * d * d  # cross-attention keys and values, once
                    + tokens * (layers * (4 * d * d + 2 * d * d + 8 * d * d + 2 * frames * d) + d * vocab))
    return 2.0 * (macs_encoder + macs_decoder)


def test_whisper_flops_follow_its_dimensions(all_models):
    by_name = {m.name: m for m in all_models}
    for name, (d, layers) in WHISPER_DIMS.items():
        assert by_name[name].flops_per_inference == pytest.approx(_whisper_flops(d, layers), rel=1e-9)
    # Sanity: the encoder's 1500 frames dominate, so ~2 x params x 1500 is the right magnitude.
    tiny = by_name["whisper-tiny"]
    assert 0.3 < tiny.flops_per_inference / (2 * tiny.params * 1500) < 3


def test_payloads_are_plausible(all_models):
    for m in all_models:
        assert 100 <= m.request_bytes <= 1e6, m.name
        assert 100 <= m.response_bytes <= m.request_bytes, m.name
    for m in all_models:
        if m.task == "object-detection":
            assert 60e3 <= m.request_bytes <= 100e3  # one 640x640 JPEG


# ---------------------------------------------------------------------------------------------
# Hosts

def test_host_profiles_cover_every_kind(hosts):
    assert {"satellite-orin", "gateway-l4", "cloud-h100", "local-orin-nano"} <= set(hosts)
    assert {h.kind for h in hosts.values()} == {"satellite", "gateway", "cloud", "local"}
    assert hosts["local-orin-nano"].kind_code == LOCAL
    assert hosts["satellite-orin"].kind_code == SATELLITE
    assert hosts["gateway-l4"].kind_code == GATEWAY
    assert hosts["cloud-h100"].kind_code == CLOUD


def test_host_derived_columns(hosts):
    for h in hosts.values():
        service = h.accelerator_peak_flops_s * h.achievable_fraction
        assert h.service_flops_s == pytest.approx(service, rel=1e-6), h.profile
        assert h.peak_flops_s == pytest.approx(h.accelerators * service, rel=1e-6), h.profile
        assert h.flops_per_joule == pytest.approx(service / h.power_w, rel=1e-6), h.profile


def test_host_published_figures(hosts):
    orin, l4, h100 = hosts["satellite-orin"], hosts["gateway-l4"], hosts["cloud-h100"]
    assert orin.accelerator_peak_flops_s == pytest.approx(170e12 / 4)  # sparse INT8 -> dense FP16
    assert (orin.power_w, orin.memory_bytes, orin.accelerators) == (60, 64 * 2**30, 1)
    assert l4.accelerator_peak_flops_s == pytest.approx(242e12 / 2)  # sparse -> dense FP16
    assert (l4.power_w, l4.memory_bytes) == (72, l4.accelerators * 24 * 2**30)
    assert h100.accelerator_peak_flops_s == pytest.approx(989e12)
    assert (h100.power_w, h100.memory_bytes) == (700, h100.accelerators * 80 * 2**30)


def test_host_physical_bounds(hosts):
    for h in hosts.values():
        assert 1e10 <= h.flops_per_joule <= 1e13, h.profile
        assert 0 < h.achievable_fraction <= 1
        assert h.service_flops_s <= h.peak_flops_s
        assert h.memory_bandwidth_bytes_s is None or 1e10 < h.memory_bandwidth_bytes_s < 1e13
    # Larger pools on the ground than in orbit.
    assert (hosts["satellite-orin"].peak_flops_s < hosts["gateway-l4"].peak_flops_s
            < hosts["cloud-h100"].peak_flops_s)


def test_every_model_fits_the_satellite_and_runs_in_time(all_models, hosts):
    orin = hosts["satellite-orin"]
    for m in all_models:
        assert m.memory_bytes < 0.1 * orin.memory_bytes, m.name  # 1-4 B models are small
        seconds = m.flops_per_inference / orin.service_flops_s
        limit = 1.0 if m.task == "text-generation" else 0.05
        assert seconds < limit, m.name


# ---------------------------------------------------------------------------------------------
# Satellite power

def test_eclipse_formula_matches_a_sampled_orbit():
    # Sun along +x, orbit in the x-y plane: shadowed where x < 0 and |y| < R (cylindrical shadow).
    R = 6378.135
    for altitude in (350.0, 550.0, 1200.0):
        r = R + altitude
        phi = np.linspace(0.0, 2 * np.pi, 2_000_001)[:-1]
        x, y = r * np.cos(phi), r * np.sin(phi)
        shadow_fraction = np.mean((x < 0) & (np.abs(y) < R))
        period_min = 2 * math.pi * math.sqrt(r**3 / 398600.8) / 60
        assert cylindrical_eclipse_min(altitude) == pytest.approx(shadow_fraction * period_min, abs=1e-3)
    assert cylindrical_eclipse_min(1200.0) < cylindrical_eclipse_min(550.0)  # higher: less shadow


def test_satellite_power_figures(power):
    assert power.altitude_km == 550
    assert power.longest_eclipse_min == pytest.approx(cylindrical_eclipse_min(power.altitude_km), abs=0.01)
    assert 34 < power.longest_eclipse_min < 37  # ~35.6 min at 550 km
    assert 0 < power.depth_of_discharge <= 1
    assert power.sun_w == host_profiles()["satellite-orin"].power_w  # tied to the Orin's maximum
    assert 0 < power.eclipse_w < power.sun_w


def test_power_budget_between_eclipse_and_sun_and_monotonic(power):
    f = np.linspace(0.0, 1.0, 101)
    budget = power.power_budget_w(f)
    assert budget[0] == pytest.approx(power.eclipse_w)
    assert budget[-1] == pytest.approx(power.sun_w)
    assert np.all(np.diff(budget) > 0)
    assert np.all((budget >= power.eclipse_w - 1e-12) & (budget <= power.sun_w + 1e-12))
    eclipse_w = power.battery_wh * power.depth_of_discharge / (power.longest_eclipse_min / 60)
    np.testing.assert_allclose(budget, f * power.sun_w + (1 - f) * eclipse_w)


def test_power_budget_is_elementwise_and_capped(power):
    f = np.array([[0.0, 0.25], [0.75, 1.0]])
    assert power.power_budget_w(f).shape == (2, 2)
    assert np.ndim(power.power_budget_w(0.5)) == 0
    huge = dataclasses.replace(power, battery_wh=1e6)  # more battery than the payload can draw
    assert huge.eclipse_w == huge.sun_w
    np.testing.assert_allclose(huge.power_budget_w(f), huge.sun_w)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_power_budget_rejects_fractions_outside_0_1(power, bad):
    with pytest.raises(InputError) as e:
        power.power_budget_w([0.5, bad])
    assert e.value.field == "sunlit_fraction"
    assert "[1]" in str(e.value)


def test_satellite_power_rejects_bad_values():
    with pytest.raises(InputError) as e:
        SatellitePower(altitude_km=550, sun_w=60, battery_wh=60, depth_of_discharge=1.2,
                       longest_eclipse_min=35.6)
    assert e.value.field == "depth_of_discharge"


# ---------------------------------------------------------------------------------------------
# Malformed files

def _copy_with(tmp_path, name: str, edit) -> Path:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines(keepends=True)
    out = tmp_path / name
    out.write_text("".join(edit(lines)), encoding="utf-8")
    return out


def test_loaders_read_a_given_path(tmp_path):
    assert models(path=_copy_with(tmp_path, "models.csv", lambda ls: ls[:3]))[1].name == "yolov8s"
    assert set(host_profiles(path=_copy_with(tmp_path, "hosts.csv", lambda ls: ls))) >= {"cloud-h100"}
    assert satellite_power(path=_copy_with(tmp_path, "satellite_power.csv", lambda ls: ls)).sun_w == 60


def test_model_row_with_too_many_fields_names_the_line(tmp_path):
    path = _copy_with(tmp_path, "models.csv", lambda ls: ls[:2] + [ls[2].rstrip("\n") + ",extra\n"] + ls[3:])
    with pytest.raises(InputError) as e:
        models(path=path)
    assert e.value.line == 3
    assert str(path) in str(e.value) and "line 3" in str(e.value)


def test_model_row_too_short_names_the_line_and_field(tmp_path):
    path = tmp_path / "models.csv"
    path.write_text(",".join(MODEL_COLUMNS) + "\nm,task,1e6,2e9\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        models(path=path)
    assert (e.value.line, e.value.field) == (2, "memory_bytes")


def test_model_non_numeric_value_names_line_and_field(tmp_path):
    path = tmp_path / "models.csv"
    good = "m,task,1e6,2e9,4e6,1000,100,,,fp16,https://example.org,n"
    bad = "m2,task,1e6,lots,4e6,1000,100,,,fp16,https://example.org,n"
    path.write_text("\n".join([",".join(MODEL_COLUMNS), good, bad]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        models(path=path)
    assert (e.value.line, e.value.field) == (3, "flops_per_inference")
    assert "'lots'" in str(e.value)


@pytest.mark.parametrize("field, value", [("params", "-1"), ("precision", "fp7"), ("source", ""),
                                          ("accuracy", "high"), ("name", "yolov8n")])
def test_model_bad_values(tmp_path, field, value):
    columns = list(MODEL_COLUMNS)
    row = dict(zip(columns, "yolov8n,t,1e6,2e9,4e6,1000,100,50,m,fp16,https://example.org,n".split(",")))
    other = dict(row, name="other")
    other[field] = value
    path = tmp_path / "models.csv"
    path.write_text("\n".join([",".join(columns), ",".join(row.values()), ",".join(other.values())]) + "\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as e:
        models(path=path)
    assert (e.value.line, e.value.field) == (3, field)


def test_missing_column_and_missing_file(tmp_path):
    path = tmp_path / "models.csv"
    path.write_text("name,task\nm,t\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        models(path=path)
    assert e.value.line == 1 and e.value.field == "params"
    with pytest.raises(InputError, match="file not found"):
        models(path=tmp_path / "nope.csv")


def test_host_with_inconsistent_peak_names_the_field(tmp_path):
    def edit(lines):
        lines = list(lines)
        lines[1] = lines[1].replace(",1.7e13,1.7e13,", ",3.4e13,1.7e13,", 1)  # peak doubled
        return lines
    with pytest.raises(InputError) as e:
        host_profiles(path=_copy_with(tmp_path, "hosts.csv", edit))
    assert (e.value.line, e.value.field) == (2, "peak_flops_s")


def test_host_with_unknown_kind_names_the_line(tmp_path):
    def edit(lines):
        return [lines[0], lines[1], lines[2].replace(",gateway,", ",groundstation,", 1), *lines[3:]]
    with pytest.raises(InputError) as e:
        host_profiles(path=_copy_with(tmp_path, "hosts.csv", edit))
    assert (e.value.line, e.value.field) == (3, "kind")


@pytest.mark.parametrize("edit, line, field", [
    (lambda ls: [ls[0], ls[1].replace(",550,km,", ",550,m,")] + ls[2:], 2, "unit"),
    (lambda ls: ls[:4] + [ls[4].replace("depth_of_discharge,0.3,", "depth_of_discharge,0,")] + ls[5:], 5,
     "value"),
    (lambda ls: ls[:4] + [ls[4].replace("depth_of_discharge,", "depth_of_dischrage,")] + ls[5:], 5, "name"),
    (lambda ls: ls[:5], None, "name"),  # longest_eclipse_min row missing
])
def test_satellite_power_malformed(tmp_path, edit, line, field):
    with pytest.raises(InputError) as e:
        satellite_power(path=_copy_with(tmp_path, "satellite_power.csv", edit))
    assert (e.value.line, e.value.field) == (line, field)
    if line is not None:
        assert f"line {line}" in str(e.value)



def test_memory_traffic_reads_the_weights_once_per_forward_pass():
    llama, yolo = models(["llama-3.2-1b-instruct-q4", "yolov8n"])
    # 1.23e9 params x 0.5 B (4-bit) = 0.615 GB, read for the prompt pass and each of 128 tokens.
    assert llama.memory_traffic_bytes == pytest.approx(1.23e9 * 0.5 * 129)
    assert yolo.memory_traffic_bytes == pytest.approx(yolo.weight_bytes)
    # On one Orin (204.8 GB/s) the decode takes ~0.39 s, 7x its FLOP time (0.056 s at 17 TFLOP/s).
    orin = host_profiles()["satellite-orin"]
    assert llama.memory_traffic_bytes / orin.memory_bandwidth_bytes_s > 5 * llama.flops_per_inference / orin.service_flops_s
