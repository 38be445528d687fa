"""Folding an epoch's steps into gateway and cloud candidates (network.epochs) against a plain per-cell
computation from the definitions: mean over the reachable steps, nearest-rank P95 (the ceil(0.95 c)-th
smallest of c values), share of steps reachable, harmonic mean of the rates."""

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from placement.network.epochs import _ground_kind, _order_by


def reference(ms, up, down):
    epochs, steps, sites, hosts = ms.shape
    out = {name: np.zeros((epochs, sites, hosts)) for name in ("mean", "p95", "share", "up", "down")}
    for e in range(epochs):
        for d in range(sites):
            for h in range(hosts):
                seen = np.isfinite(ms[e, :, d, h])
                values = sorted(ms[e, seen, d, h].tolist())
                c = len(values)
                out["share"][e, d, h] = c / steps
                if c == 0:
                    out["mean"][e, d, h] = out["p95"][e, d, h] = math.inf
                    continue
                out["mean"][e, d, h] = sum(values) / c
                out["p95"][e, d, h] = values[math.ceil(0.95 * c) - 1]
                out["up"][e, d, h] = c / sum(1.0 / g for g in up[e, seen, d, h])
                out["down"][e, d, h] = c / sum(1.0 / g for g in down[e, seen, d, h])
    return out


@settings(max_examples=25, deadline=None)
@given(steps=st.sampled_from([1, 3, 7, 20, 21, 40, 60]), seed=st.integers(0, 2**32 - 1),
       hole=st.sampled_from([0.0, 0.3, 0.9]))
def test_ground_fold_matches_definitions(steps, seed, hole):
    rng = np.random.default_rng(seed)
    shape = (2, steps, 3, 4)
    # whole milliseconds: many ties, which the P95 must count with their multiplicity
    ms = np.where(rng.random(shape) < hole, np.inf, rng.integers(1, 6, shape).astype(float))
    up, down = rng.uniform(0.01, 1.0, shape), rng.uniform(0.01, 1.0, shape)
    got, want = _ground_kind(ms, up, down), reference(ms, up, down)
    np.testing.assert_array_equal(got.p95_ms, want["p95"])
    np.testing.assert_array_equal(got.share, want["share"])
    np.testing.assert_allclose(got.latency_ms, want["mean"], rtol=1e-12)
    np.testing.assert_allclose(got.up_gbps, want["up"], rtol=1e-12)
    np.testing.assert_allclose(got.down_gbps, want["down"], rtol=1e-12)
    np.testing.assert_array_equal(got.host >= 0, np.isfinite(want["mean"]))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**40), st.sampled_from([np.float32, np.float64]), st.integers(1, 400),
       st.sampled_from([3, 2**31 + 5]))
def test_order_by_is_lexsort(seed, dtype, n, key_range):
    # keys with many repeats and values with ties, zeros and -0.0: the same stable order as np.lexsort, which the
    # satellite fold used (keys past 2**31 take the two-sort path)
    rng = np.random.default_rng(seed)
    key = rng.integers(0, key_range, n) * (rng.integers(0, 2) + 1)
    value = rng.choice(np.array([0.0, -0.0, 1.5, 7.25, 1e-30, 3e5]), n).astype(dtype)
    value = np.where(rng.random(n) < 0.5, value, rng.random(n).astype(dtype) * 40)
    assert np.array_equal(_order_by(key, value), np.lexsort((value, key)))
