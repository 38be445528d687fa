"""Waiting for an accelerator: the mean queue at a host as a convex function of its utilisation.

A host with c accelerators (`servers`: peak_flops_s / service_flops_s) receives Poisson requests and serves
each in a fixed time: an M/D/c queue. Its mean number of requests waiting, for utilisation rho (load over
what the host may compute, min(peak, power x efficiency)), is taken from the Allen-Cunneen approximation
(A. O. Allen, Probability, Statistics, and Queueing Theory, 2nd ed., Academic Press 1990, sec. 6.6),
W_q(G/G/c) ~ W_q(M/M/c) (c_a^2 + c_s^2) / 2, with c_a^2 = 1 (Poisson arrivals) and c_s^2 = 0 (fixed service):

    Lq(rho, c) = 1/2 x ErlangC(c, c rho) x rho / (1 - rho)          requests waiting, on average

It is exact for one accelerator (Pollaczek-Khinchine, M/D/1: rho^2 / (2 (1 - rho))) and does not depend on
the service time, so the waiting of all requests at a host is Lq seconds per second whatever models it
serves (Little's law): the objective adds 1000 x epoch_s x Lq request-ms per host-epoch, and each request
there waits Lq / lambda on average. With several models on one host the requests are taken to wait as one
class with the host's mean service time (exact for one model per host; mixed service times wait longer).

Solvers and the evaluator use one function, the piecewise-linear interpolant of Lq through breakpoints
0 = rho_0 < ... < rho_n = ceiling, spaced geometrically in 1 - rho (the curve steepens towards 1). Lq is
convex in rho (Lee and Cohen, Operations Research Letters 1983, for the Erlang C delay), so the interpolant
is the largest of its chords: `queue_length` is max_j (a_j + b_j rho), the MILP's epigraph rows are
w >= a_j + b_j rho, and the gradient heuristic differentiates the same maximum. The interpolant lies above
Lq (never understates waiting); tests/test_queueing.py measures by how much. Beyond the ceiling the last
chord extends, which only matters to a relaxation that has not yet met the utilisation row.
"""

from __future__ import annotations

import numpy as np

BREAKPOINTS = 20  # chords from 0 to the ceiling; tests/test_queueing.py bounds the interpolation error


def servers(peak_flops_s: np.ndarray, service_flops_s: np.ndarray) -> np.ndarray:
    """[host] accelerators that serve requests in parallel: peak over one accelerator's speed, at least 1."""
    return np.maximum(np.round(peak_flops_s / service_flops_s), 1).astype(np.int64)


def erlang_c(servers: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Probability that a request waits in an M/M/c queue with `servers` c (integers >= 1) at utilisation
    rho in [0, 1): Erlang B by its stable recurrence B_k = a B_(k-1) / (k + a B_(k-1)), a = c rho, then
    C = B_c / (1 - rho (1 - B_c)). Broadcasts servers against rho."""
    servers, rho = np.broadcast_arrays(np.asarray(servers, dtype=np.int64), np.asarray(rho, dtype=float))
    offered = servers * rho
    blocking = np.ones(rho.shape)
    for k in range(1, int(servers.max(initial=1)) + 1):
        step = offered * blocking / (k + offered * blocking)
        blocking = np.where(k <= servers, step, blocking)
    return blocking / (1.0 - rho * (1.0 - blocking))


def mean_queue_md_c(servers: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Lq: mean number of requests waiting in an M/D/c queue at utilisation rho in [0, 1) (Allen-Cunneen;
    exact for c = 1)."""
    rho = np.asarray(rho, dtype=float)
    return 0.5 * erlang_c(servers, rho) * rho / (1.0 - rho)


def breakpoints(ceiling: float, n: int = BREAKPOINTS) -> np.ndarray:
    """[n + 1] utilisations from 0 to `ceiling` (< 1), geometric in 1 - rho."""
    if not 0.0 < ceiling < 1.0:
        raise ValueError(f"breakpoints: ceiling {ceiling} is not in (0, 1)")
    return 1.0 - (1.0 - ceiling) ** (np.arange(n + 1) / n)


def chords(servers: np.ndarray, ceiling: float, n: int = BREAKPOINTS) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts a [host, n] and slopes b [host, n] of the chords of Lq between consecutive breakpoints,
    one curve per host's `servers` [host]."""
    rho = breakpoints(ceiling, n)
    queue = mean_queue_md_c(np.asarray(servers)[:, None], rho[None, :])  # [host, n + 1]
    slope = np.diff(queue, axis=1) / np.diff(rho)[None, :]
    intercept = queue[:, :-1] - slope * rho[None, :-1]
    return intercept, slope


def queue_length(rho, intercept, slope):
    """[...] Lq of the interpolant: max over chords of a + b rho, with rho [..., host] and the chords
    [host, n]. Plain operators only, so numpy arrays and JAX tracers both go through."""
    return (intercept + slope * rho[..., None]).max(axis=-1)


def formation_request_ms(batch_size, epoch_s):
    """Request-ms the requests of one copy spend waiting for their batches to fill over an epoch of `epoch_s`:
    1e3 x epoch_s x (b - 1) / 2, elementwise over the batch sizes b (derived in placement.problem.batching)."""
    return 1e3 * epoch_s * (np.asarray(batch_size, dtype=float) - 1.0) / 2.0


def waiting_ms(queue: np.ndarray, arrivals_per_s: np.ndarray) -> np.ndarray:
    """[...] the mean wait of a request at a host, ms, from its mean queue Lq and its arrival rate (Little's
    law: Lq / arrival rate); 0 where nothing arrives."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(arrivals_per_s > 0, 1e3 * queue / arrivals_per_s, 0.0)
