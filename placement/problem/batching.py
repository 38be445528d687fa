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

Batching rule: a model of BATCHING_TASKS is served in batches of the configured size b at every host, the
others at batch 1. Each request then

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


def batch_seconds(models: Sequence[ModelSpec], host_profiles: Sequence[HostProfile], batch_size: int,
                  measured: Mapping[tuple[str, str], MeasuredService]) -> tuple[np.ndarray, np.ndarray]:
    """(batch size [model, host], seconds of one batch [model, host] at full power), NaN seconds where the
    roofline stands (no measurement, batch 1). One curve per distinct (model, profile)."""
    sizes = batch_sizes(models, batch_size)
    seconds = np.full((len(models), len(host_profiles)), np.nan)
    curves: dict[tuple[int, str], float] = {}
    for h, profile in enumerate(host_profiles):
        for m, model in enumerate(models):
            figure = measured.get((model.name, profile.profile))
            if figure is None and sizes[m] == 1:
                continue
            key = (m, profile.profile)
            if key not in curves:
                t0, t1 = batch_curve(model, profile, figure)
                curves[key] = t0 + sizes[m] * t1
            seconds[m, h] = curves[key]
    return np.broadcast_to(sizes[:, None], seconds.shape).copy(), seconds

