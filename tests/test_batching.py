"""Measured service times and batching (placement.problem.batching): the catalog's figures as cited, the time
a request then takes and occupies, and the objective of a batched host against its closed form."""

import dataclasses

import numpy as np
import pytest

from placement.errors import InputError
from placement.evaluation.metrics import evaluate
from placement.problem import SATELLITE, PlacementProblem
from placement.problem.batching import batch_curve, batch_seconds, batch_sizes_for_load, best_batch
from placement.problem.catalog import (ACHIEVABLE_BANDWIDTH_FRACTION, LM_GENERATED_TOKENS, host_profiles,
                                       measured_services, models)
from placement.problem.queueing import formation_request_ms
from placement.problem.synthetic import random_problem
from placement.solvers.milp import solve
from tests.placement_instances import solve_with_every_strategy

# (model, profile): (value, unit, source) as the sources print them (see measured.csv notes)
CITED = {
    ("llama-3.2-3b-instruct-q4", "satellite-orin"):
        (61.21, "generated_tokens_per_s", "https://huggingface.co/spaces/embedl/Edge-Inference-Benchmarks"),
    ("llama-3.2-3b-instruct-q4", "local-orin-nano"):
        (43.07, "generated_tokens_per_s", "https://developer.nvidia.com/blog/nvidia-jetson-orin-nano-developer"),
    ("gemma-2-2b-it-q4", "local-orin-nano"):
        (34.97, "generated_tokens_per_s", "https://developer.nvidia.com/blog/nvidia-jetson-orin-nano-developer"),
    ("yolov8n", "local-orin-nano"): (3.49, "ms_per_request", "https://hokwangchoi.com/blog/vision-benchmarks"),
    ("llama-3.2-1b-instruct-q4", "local-phone-8-elite"):
        (53.6399, "generated_tokens_per_s", "https://github.com/quic/ai-hub-models/blob/33c3d03"),
    # Whisper tiny on a Galaxy S25: encoder 9.327 ms + 100 decoder steps of 1.326 ms
    ("whisper-tiny", "local-phone-8-elite"):
        (9.327 + 100 * 1.326, "ms_per_request", "https://github.com/quic/ai-hub-models/blob/052dc1f"),
    # MLPerf Inference v3.0, one L4, ResNet-50 SingleStream: mean latency 355,504 ns
    ("resnet50", "gateway-l4"):
        (355_504e-6, "ms_per_request", "https://github.com/mlcommons/inference_results_v3.0/blob/main/closed/NVIDIA"),
}


def test_the_catalog_figures_are_the_cited_ones():
    measured = measured_services()
    assert set(measured) == set(CITED)
    names, profiles = {m.name for m in models()}, host_profiles()
    for key, (value, unit, url) in CITED.items():
        row = measured[key]
        assert row.value == pytest.approx(value, rel=1e-12) and row.unit == unit
        assert row.source.startswith(url) and row.date and row.notes
        assert key[0] in names and key[1] in profiles


def test_the_bandwidth_fraction_is_what_published_decoding_achieves():
    # Decoding at batch 1 reads the weights once a token, so a published rate r on a host of peak bandwidth B
    # achieves weight_bytes x r / B of it: 0.48 (3B, AGX Orin), 0.68 (3B, Orin Nano), 0.45 (Gemma 2B, Orin
    # Nano), 0.39 (1B, phone); the roofline's factor is their median
    catalog, profiles = {m.name: m for m in models()}, host_profiles()
    achieved = [catalog[row.model].weight_bytes * row.value / profiles[row.profile].memory_bandwidth_bytes_s
                for row in measured_services().values() if row.unit == "generated_tokens_per_s"]
    assert len(achieved) == 4 and 0.3 < min(achieved) and max(achieved) < 0.7
    assert ACHIEVABLE_BANDWIDTH_FRACTION == round(float(np.median(achieved)), 2)
    orin = profiles["satellite-orin"]
    assert orin.achievable_bandwidth_bytes_s == pytest.approx(0.46 * 204.8e9)


# MLPerf Inference v3.0, closed division, NVIDIA, ResNet-50 v1.5 Offline on one GPU, samples/s
# (github.com/mlcommons/inference_results_v3.0 at dad59af, closed/NVIDIA/results/<system>/resnet50/Offline/
# performance/run_1/mlperf_log_summary.txt, systems DGX-H100_H100-SXM-80GBx1_TRT and L4x1_TRT). Batched
# (gpu_batch_size 2048 on the H100, 32 on the L4: configs/resnet50/Offline/__init__.py) and INT8 (precision
# "int8": configs/resnet50/__init__.py).
MLPERF_OFFLINE_RESNET50 = {"cloud-h100": 91_825.7, "gateway-l4": 13_157.8}


def test_the_arithmetic_fraction_is_what_published_batched_inference_achieves():
    # A batched ResNet-50 is arithmetic-bound: samples/s x FLOPs a sample over the INT8 dense tensor peak (twice
    # the FP16 dense peak on Hopper and Ada: 1,979 and 242.5 dense TOPS on the H100 SXM and L4 data sheets) is
    # the share of peak it reaches: 0.380 on the H100, 0.445 on the L4. The catalog's achievable_fraction
    # (0.4, FP16) is within 12% of both.
    resnet, profiles = {m.name: m for m in models()}["resnet50"], host_profiles()
    for name, samples_s in MLPERF_OFFLINE_RESNET50.items():
        profile = profiles[name]
        achieved = samples_s * resnet.flops_per_inference / (2 * profile.accelerator_peak_flops_s)
        assert achieved == pytest.approx(profile.achievable_fraction, rel=0.12), name
    assert profiles["cloud-h100"].achievable_fraction == profiles["gateway-l4"].achievable_fraction == 0.4


def test_a_measured_host_takes_the_measured_time():
    catalog = {m.name: m for m in models(["llama-3.2-3b-instruct-q4", "yolov8n", "resnet50"])}
    orin, nano, h100 = (host_profiles()[p] for p in ("satellite-orin", "local-orin-nano", "cloud-h100"))
    chosen = list(catalog.values())
    sizes, seconds = batch_seconds(chosen, [orin, nano, h100], 1, measured_services())
    assert (sizes == 1).all()
    # Llama 3.2 3B on the AGX Orin: 128 generated tokens at 61.21 tokens/s, plus the 256-token prompt's
    # prefill at the roofline, 2 x 3.21e9 x 256 / (42.5e12 x 0.4) s
    assert seconds[0, 0] == pytest.approx(128 / 61.21 + 2 * 3.21e9 * 256 / 1.7e13, rel=1e-9)
    assert LM_GENERATED_TOKENS == 128
    assert seconds[1, 1] == pytest.approx(3.49e-3, rel=1e-12)  # YOLOv8n on the Orin Nano: 3.49 ms
    # No figure (ResNet-50 anywhere, anything on the H100): the roofline stands at batch 1
    assert np.isnan(seconds[2]).all() and np.isnan(seconds[:, 2]).all()

    # In a problem, a request served there computes for that time and occupies the accelerator as long
    problem = one_host(rate_per_s=0.2, flops=2.46528e12, speed=orin.service_flops_s, batch_s=seconds[0, 0],
                       batch_size=1)
    compute_ms = problem.latency_parts_ms()[2]
    assert compute_ms[0, 0, 0] == pytest.approx(1e3 * seconds[0, 0], rel=1e-12)
    # 0.2 requests/s x 2.188 s = 0.44 of the accelerator, where the roofline FLOPs would load it 0.029
    assert problem.slot_flops_per_s()[0, 0, 0] / orin.service_flops_s == pytest.approx(0.2 * seconds[0, 0])


def test_the_roofline_curve_without_a_figure():
    # ResNet-50 on the L4 (no figure): t1 = 8.18e9 / (121e12 x 0.4) s, t0 = its fp16 weights, 2 x 25,557,032
    # bytes, read once per batch at 0.46 of 300 GB/s
    resnet, l4 = models(["resnet50"])[0], host_profiles()["gateway-l4"]
    t0, t1 = batch_curve(resnet, l4, None)
    assert t1 == pytest.approx(8.18e9 / 4.84e13)
    assert t0 == pytest.approx(2 * 25_557_032 / (0.46 * 300e9))
    # batch size applies to detectors and language models only
    yolo = models(["yolov8n"])[0]
    sizes, seconds = batch_seconds([resnet, yolo], [l4], 8, {})
    assert sizes[:, 0].tolist() == [1, 8]
    assert np.isnan(seconds[0, 0])
    y0, y1 = batch_curve(yolo, l4, None)
    assert seconds[1, 0] == pytest.approx(y0 + 8 * y1)


def one_host(rate_per_s, flops, speed, batch_s, batch_size, epoch_s=100.0, **overrides) -> PlacementProblem:
    """One satellite with one accelerator (`speed` FLOP/s), one demand 20 ms away, payloads 0 bytes, one epoch;
    the model served in batches of `batch_size` taking `batch_s`, the batch wait in the opening cost."""
    fields = dict(
        host_name=["A"], host_kind=[SATELLITE], host_jurisdiction=[0], jurisdictions=["X"], memory_bytes=[1e10],
        peak_flops_s=[speed], service_flops_s=[speed], flops_per_joule=[1e12], power_budget_w=[[np.inf]],
        link_gbps=[[10.0]], model_name=["m"], model_flops=[flops], model_memory_bytes=[1e9], demand_name=["d"],
        demand_model=[0], demand_site=[0], rate_per_s=[[rate_per_s]], request_bytes=[0.0], response_bytes=[0.0],
        slo_ms=[100.0], allowed=[[True]], site_name=["s"], site_uplink_gbps=[[1.0]], site_downlink_gbps=[[1.0]],
        candidate_host=[[[0]]], candidate_rtt_ms=[[[20.0]]], candidate_up_gbps=[[[1.0]]],
        candidate_down_gbps=[[[1.0]]], epoch_s=[epoch_s],
        opening_cost=formation_request_ms([[batch_size]], epoch_s), unserved_penalty_ms=1e4, queueing=True,
        utilization_ceiling=0.95, batch_size=[[batch_size]], batch_s=[[batch_s]])
    fields.update(overrides)
    return PlacementProblem(**fields)


# A batch of b takes t(b) = 8 + 2 b ms (t0 = 8 ms, t1 = 2 ms on 1e13 FLOP/s: 2e10 FLOPs a request); 150
# requests/s for 100 s. Per request, by hand (M/D/1, Lq = rho^2 / (2 (1 - rho)), rho = 150 t(b) / b):
#   b  t(b)  rho    batch wait (b-1)/(2x150)  queue Lq/150          latency 20 + t(b)  total
#   1  10    1.5    -                         above the ceiling: 95 requests/s at most
#   2  12    0.9    3.33 ms                   4.05 / 150 = 27 ms    32                 62.33 ms
#   4  16    0.6    10 ms                     0.45 / 150 = 3 ms     36                 49 ms
#   8  24    0.45   23.33 ms                  0.1841 / 150 = 1.23   44                 68.56 ms
# so b = 4 trades waiting for throughput best; 15,000 requests x 49 ms = 735,000 request-ms.
HAND = {2: (32.0, 10 / 3, 27.0), 4: (36.0, 10.0, 3.0), 8: (44.0, 70 / 3, 0.2025 / 1.1 / 150 * 1e3)}


@pytest.mark.parametrize("b", sorted(HAND))
def test_a_batched_host_against_its_closed_form(b):
    problem = one_host(150.0, 2e10, 1e13, batch_s=8e-3 + b * 2e-3, batch_size=b)
    report = evaluate(problem, solve(problem).solution)
    latency, formation, queue = HAND[b]
    assert report.feasible and report.unserved_share == pytest.approx(0.0, abs=1e-9)
    assert report.compute_utilization[0, 0] == pytest.approx(150 * (8e-3 + b * 2e-3) / b)
    assert report.batching_term == pytest.approx(15_000 * formation)
    assert report.latency_term == pytest.approx(15_000 * latency)
    # the waiting interpolant never understates and is within 5% here (tests/test_queueing.py)
    assert 15_000 * queue <= report.waiting_term <= 15_000 * queue * 1.05
    assert report.opening_term == pytest.approx(0.0, abs=1e-6)
    assert report.objective == pytest.approx(report.latency_term + report.waiting_term + report.batching_term)
    # each request's reported latency holds its batch's wait: 20 + t(b) + (b - 1) / 300 s + its queue
    assert report.mean_latency_ms == pytest.approx(latency + formation + report.waiting_term / 15_000)


def test_batching_serves_what_batch_one_cannot():
    # b = 1: 10 ms a request fills the accelerator at 100 requests/s, 95 at the ceiling; 55 of 150 go unserved
    single = one_host(150.0, 2e10, 1e13, batch_s=10e-3, batch_size=1)
    assert evaluate(single, solve(single).solution).unserved_share == pytest.approx(55 / 150, rel=1e-6)
    totals = {b: evaluate(p, solve(p).solution).objective / 15_000
              for b, p in ((b, one_host(150.0, 2e10, 1e13, batch_s=8e-3 + b * 2e-3, batch_size=b)) for b in HAND)}
    assert min(totals, key=totals.get) == 4
    assert totals[4] == pytest.approx(49.0, rel=0.01)


def test_the_batch_wait_must_be_priced():
    with pytest.raises(InputError, match="opening_cost"):
        one_host(150.0, 2e10, 1e13, batch_s=16e-3, batch_size=4, opening_cost=[[0.0]])
    with pytest.raises(InputError, match="batch_s"):
        one_host(150.0, 2e10, 1e13, batch_s=-1.0, batch_size=1)


def test_a_bad_measurement_row_names_its_field(tmp_path):
    path = tmp_path / "measured.csv"
    header = "model,profile,batch,value,unit,source,date,notes\n"
    path.write_text(header + "yolov8n,gateway-l4,1,2.0,fps,x,2026,\n")
    with pytest.raises(InputError, match="unit"):
        measured_services(path=path)
    path.write_text(header + "yolov8n,gateway-l4,8,2.0,ms_per_request,x,2026,\n")
    with pytest.raises(InputError, match="batch"):
        measured_services(path=path)


@pytest.mark.parametrize("seed", range(2))
def test_every_solver_prices_batches_as_the_evaluator_does(seed):
    base = random_problem(seed, n_hosts=8, n_demands=10, n_models=2, n_epochs=2, placement="per_epoch", load=0.8)
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 4], size=(2, 8))
    # a batch of b: the model's roofline arithmetic b times plus a fixed part, drawn
    t1 = base.model_flops[:, None] / base.service_flops_s[None, :]
    batch_s = rng.uniform(0.5, 2.0, (2, 8)) * t1 + sizes * t1
    problem = dataclasses.replace(base, batch_size=sizes, batch_s=batch_s, queueing=True, utilization_ceiling=0.95,
                                  opening_cost=base.opening_cost + formation_request_ms(sizes, base.epoch_s.max()))
    results = solve_with_every_strategy(problem, seed)
    report = evaluate(problem, results["milp"].solution)
    y = results["milp"].solution.placement
    by_hand = float((y * formation_request_ms(sizes[None], problem.epoch_s[:, None, None])).sum())
    assert report.batching_term == pytest.approx(by_hand) and by_hand > 0


def test_money_by_hand():
    # One host A (satellite) at 150 requests/s of 2e10 FLOPs for 100 s: 3e12 FLOP/s at 1e12 FLOP/J = 3 W,
    # 300 J = 1/12,000 kWh; at 0.3 a kWh: 2.5e-5. Its copy (1 GB) is uploaded once: 1 GB at 7 a GB.
    from placement.evaluation.money import money_summary

    problem = one_host(150.0, 2e10, 1e13, batch_s=np.nan, batch_size=1, utilization_ceiling=0.99, queueing=False)
    solution = solve(problem).solution
    money = money_summary(problem, solution, evaluate(problem, solution), [0.3, 1.0, 1.0, 1.0], [7.0, 0, 0, 0])
    assert money["money_energy"] == pytest.approx(0.3 * 300 / 3.6e6)
    assert money["money_energy_satellite"] == money["money_energy"]
    assert (money["upload_gb"], money["money_upload"]) == pytest.approx((1.0, 7.0))
    assert money_summary(problem, solution, evaluate(problem, solution), [], []) == {}


@pytest.mark.parametrize("rate, max_batch, expected", [(150.0, 8, 4), (150.0, 2, 2), (50.0, 8, 1), (150.0, 1, 1)])
def test_the_load_rule_picks_the_hand_derived_batch(rate, max_batch, expected):
    # The curve of the table above (t0 = 8 ms, t1 = 2 ms, t(1) measured, one accelerator, ceiling 0.95): at 150
    # requests/s b = 4 (49 ms) beats 2 (62.33) and 8 (68.56), and b = 1 cannot keep up (rho 1.5). At 50/s b = 1:
    # rho 0.5, Lq = 0.25 / (2 x 0.5) = 0.25, 10 + 0.25 / 50 s = 15 ms, against b = 2: rho 0.3, 12 + 10 (batch
    # wait 1 / 100 s) + 0.09 / 1.4 / 50 s = 23.3 ms.
    assert best_batch(8e-3, 2e-3, True, rate, 1, 0.95, max_batch) == expected


def test_the_load_rule_sizes_each_host_for_what_can_reach_it():
    yolo, resnet = models(["yolov8n", "resnet50"])
    l4 = host_profiles()["gateway-l4"]
    y0, y1 = batch_curve(yolo, l4, None)
    # ResNet-50 does not batch; YOLOv8n at a rate one L4 cannot carry at batch 1 (occupancy t1) batches
    heavy = 0.99 / y1
    reach = np.array([[heavy, 1.0], [heavy, heavy]])
    sizes = batch_sizes_for_load([yolo, resnet], [l4, l4], 16, {}, reach, np.array([1, 1]), 0.95)
    assert sizes[1].tolist() == [1, 1]
    assert sizes[0, 1] == 1  # one request a second: no batch pays its wait
    assert sizes[0, 0] == best_batch(y0, y1, False, heavy, 1, 0.95, 16) > 1
