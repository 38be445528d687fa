"""Service time of a model on a host: measured where published, the roofline elsewhere, and batching.

One accelerator serves a batch of b requests of one model in (seconds, at full power)

    t(b) = t0 + b t1

  t1  the arithmetic of one request at the accelerator's achievable speed, flops / service_flops_s: what grows
      with the batch;
  t0  what a batch pays once: reading the weights, memory traffic / achievable bandwidth (the roofline: S. Williams,
      A. Waterman and D. Patterson, "Roofline", Communications of the ACM 52(4), 2009), or, where a batch-1 time
      is published (catalog measured.csv), that time less t1 (at least 0), so that t(1) is the measurement.

A language model's published decoding rate r (generated tokens/s at batch 1) becomes the time of one catalog
request as LM_GENERATED_TOKENS / r plus its prompt's prefill at the roofline, 2 x params x LM_PROMPT_TOKENS /
service_flops_s (prefill is arithmetic-bound; the sources time decoding alone).

Batching rule: a model of BATCHING_TASKS is served in batches of the configured size b at every host
(`batch_rule` 'fixed'), or (`batch_rule` 'load', `best_batch`) in the batch, a power of two up to b, that
minimises one request's time at the rate Lambda of that model's demands that can reach the host (the largest
over the epochs: what a copy there serves at most) on its c accelerators (peak / one accelerator's speed):

    time(b) = t(b) + (b - 1) / (2 Lambda) + Lq(c, rho_b) / Lambda,   rho_b = Lambda t(b) / (b c) <= ceiling,

compute, the formation wait and the queue of each term below (Lq: the M/D/c mean queue of
`placement.problem.queueing`; at b = 1 without a figure the roofline's max(t0, t1) and occupancy t1). Where no
b keeps rho under the ceiling it is the largest. The others are served at batch 1. Each request then
  occupies an accelerator for t(b) / b: its compute load (constraints 3-4) is that time in FLOP-equivalents of
      the accelerator's speed, so capacity grows with b towards 1 / t1 requests/s per accelerator;
  computes for t(b): its batch's whole time is in its latency;
  waits for its batch to fill: with Poisson arrivals at rate lambda at a copy, the i-th request of a batch waits
      for the b - i arrivals after it, (b - 1) / (2 lambda) on average. Over all requests of a copy that is
      (b - 1) / 2 request-seconds per second whatever lambda is, so every solver prices it as a cost per copy
      and epoch, `queueing.formation_request_ms` (added to the opening cost): exact for a copy that serves, overstated
      for a placed copy that serves nothing (it forms no batch);
  queues as before: the batches are the customers, with Erlang-b interarrival times (squared coefficient of
      variation 1 / b) and fixed service. Allen-Cunneen (placement.problem.queueing) gives
      Lq_batches = ErlangC x rho / (1 - rho) x (1/b + 0) / 2, and b requests per batch make the requests
      waiting ErlangC x rho / (1 - rho) / 2: the batch-1 function of utilisation rho, now measured with the
      per-request occupancy t(b) / b. So queueing.py serves batches unchanged.

The trade: a larger b lowers each request's occupancy (less waiting for an accelerator, more capacity) and
raises its compute time and the formation wait; tests/test_batching.py checks the objective against this
closed form. Without a measurement and at b = 1 the problem keeps its roofline (latency max(t0, t1), capacity
counted in FLOPs): `batch_seconds` is NaN there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from placement.errors import InputError
from placement.problem.catalog import LM_GENERATED_TOKENS, LM_PROMPT_TOKENS, HostProfile, MeasuredService, ModelSpec
from placement.problem.queueing import mean_queue_md_c

BATCHING_TASKS = ("text-generation", "object-detection")  # models whose serving stacks batch requests


def measured_request_s(model: ModelSpec, profile: HostProfile, measured: MeasuredService) -> float:
    """Seconds one request of `model` takes on one accelerator of `profile` at batch 1, from a published figure."""
    if measured.unit == "ms_per_request":
        return measured.value / 1e3
    if model.task != "text-generation":
        raise InputError(f"a decoding rate for {model.name!r}, a {model.task} model", source="measured.csv",
                         field="unit", expected="ms_per_request for models that do not generate text")
    prefill_s = 2.0 * model.params * LM_PROMPT_TOKENS / profile.service_flops_s
    return LM_GENERATED_TOKENS / measured.value + prefill_s


def batch_curve(model: ModelSpec, profile: HostProfile, measured: MeasuredService | None) -> tuple[float, float]:
    """(t0, t1) in seconds: a batch of b requests takes t0 + b t1 on one accelerator at full power."""
    t1 = model.flops_per_inference / profile.service_flops_s
    if measured is not None:
        return max(measured_request_s(model, profile, measured) - t1, 0.0), t1
    bandwidth = profile.achievable_bandwidth_bytes_s
    return (0.0 if bandwidth is None else model.memory_traffic_bytes / bandwidth), t1


def batch_sizes(models: Sequence[ModelSpec], batch_size: int) -> np.ndarray:
    """[model] the batch each model is served in: `batch_size` for BATCHING_TASKS, 1 for the others."""
    return np.array([batch_size if m.task in BATCHING_TASKS else 1 for m in models], dtype=np.int64)


def batch_seconds(models: Sequence[ModelSpec], host_profiles: Sequence[HostProfile], batch_size: int | np.ndarray,
                  measured: Mapping[tuple[str, str], MeasuredService]) -> tuple[np.ndarray, np.ndarray]:
    """(batch size [model, host], seconds of one batch [model, host] at full power), NaN seconds where the
    roofline stands (no measurement, batch 1). `batch_size`: one size (`batch_sizes`' rule) or [model, host]
    sizes (`batch_sizes_for_load`). One curve per distinct (model, profile)."""
    shape = (len(models), len(host_profiles))
    sizes = (np.broadcast_to(batch_sizes(models, batch_size)[:, None], shape) if np.ndim(batch_size) == 0
             else np.asarray(batch_size, np.int64))
    seconds = np.full(shape, np.nan)
    curves: dict[tuple[int, str], tuple[float, float]] = {}
    for h, profile in enumerate(host_profiles):
        for m, model in enumerate(models):
            figure = measured.get((model.name, profile.profile))
            if figure is None and sizes[m, h] == 1:
                continue
            key = (m, profile.profile)
            if key not in curves:
                curves[key] = batch_curve(model, profile, figure)
            t0, t1 = curves[key]
            seconds[m, h] = t0 + sizes[m, h] * t1
    return sizes.copy(), seconds


def best_batch(t0: float, t1: float, measured: bool, rate_per_s: float, accelerators: int, ceiling: float,
               max_batch: int) -> int:
    """The 'load' rule's batch (module docstring) for a curve t(b) = t0 + b t1 (`measured`: t(1) is a published
    time, else the roofline holds at b = 1) at `rate_per_s` on `accelerators` within `ceiling`."""
    best, best_time = max_batch, np.inf
    b = 1
    while b <= max_batch:
        compute = t0 + b * t1 if b > 1 or measured else max(t0, t1)
        occupancy = (t0 + b * t1) / b if b > 1 or measured else t1
        rho = rate_per_s * occupancy / accelerators
        if rho <= ceiling:
            queue = float(mean_queue_md_c(np.array(accelerators), np.array(rho)))
            time = compute + (b - 1) / (2.0 * rate_per_s) + queue / rate_per_s
            if time < best_time:
                best, best_time = b, time
        b *= 2
    return best


def batch_sizes_for_load(models: Sequence[ModelSpec], host_profiles: Sequence[HostProfile], max_batch: int,
                         measured: Mapping[tuple[str, str], MeasuredService], reach_rate_per_s: np.ndarray,
                         accelerators: np.ndarray, ceiling: float) -> np.ndarray:
    """[model, host] `best_batch` of each batching model at each host, at `reach_rate_per_s` [model, host]
    (requests/s of the model's demands that can reach the host) on its `accelerators` [host]; 1 elsewhere."""
    sizes = np.ones((len(models), len(host_profiles)), np.int64)
    chosen: dict[tuple[int, str, float, int], int] = {}  # hosts of one profile and load choose alike
    for h, profile in enumerate(host_profiles):
        for m, model in enumerate(models):
            rate = float(reach_rate_per_s[m, h])
            if model.task not in BATCHING_TASKS or max_batch == 1 or rate <= 0:
                continue
            key = (m, profile.profile, rate, int(accelerators[h]))
            if key not in chosen:
                figure = measured.get((model.name, profile.profile))
                t0, t1 = batch_curve(model, profile, figure)
                chosen[key] = best_batch(t0, t1, figure is not None, rate, int(accelerators[h]), ceiling, max_batch)
            sizes[m, h] = chosen[key]
    return sizes
