"""Link budget: hand-computed path loss and Shannon capacity, preset calibration, validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import placement  # noqa: F401  (float64 switch)
from placement.errors import InputError
from placement.network.geometry import max_range_km
from placement.network.links import (
    DIRECT_TO_CELL, KA_GATEWAY, KU_USER_DOWNLINK, LASER_ISL, FixedRate, LinkBudget,
    free_space_path_loss_db, shannon_capacity_gbps,
)

ZENITH_KM = 550.0
MASK_25_KM = float(max_range_km(550.0, math.radians(25.0)))   # ~1,123 km
PRESETS = [KU_USER_DOWNLINK, KA_GATEWAY, DIRECT_TO_CELL]


def test_fspl_by_hand():
    # lambda = c / f = 299792458 / 12e9 = 0.0249827 m; 4 pi d / lambda = 4 pi * 5.5e5 / 0.0249827
    # = 2.76653e8; 20 log10(2.76653e8) = 20 * 8.441936 = 168.839 dB
    assert abs(float(free_space_path_loss_db(550.0, 12.0)) - 168.839) < 1e-3
    # inverse square law: doubling range or frequency adds 20 log10(2) = 6.0206 dB
    np.testing.assert_allclose(free_space_path_loss_db(1100.0, 12.0) - free_space_path_loss_db(550.0, 12.0), 6.0206, atol=1e-4)
    np.testing.assert_allclose(free_space_path_loss_db(550.0, 24.0) - free_space_path_loss_db(550.0, 12.0), 6.0206, atol=1e-4)


def test_shannon_by_hand():
    # 100 MHz at 10 dB: 100e6 * log2(11) = 345.94 Mbps; at 0 dB (SNR 1): exactly 100 Mbps
    assert abs(float(shannon_capacity_gbps(100.0, 10.0)) - 0.345943) < 1e-6
    assert abs(float(shannon_capacity_gbps(100.0, 0.0)) - 0.1) < 1e-15
    assert abs(float(shannon_capacity_gbps(100.0, 10.0, 0.5)) - 0.5 * 0.345943) < 1e-6
    assert float(shannon_capacity_gbps(100.0, -jnp.inf)) == 0.0
    # low SNR: B * SNR / ln 2, kept by log1p
    assert abs(float(shannon_capacity_gbps(100.0, -100.0)) / (0.1 * 1e-10 / math.log(2)) - 1) < 1e-9


def test_snr_by_hand():
    lb = LinkBudget(frequency_ghz=12.0, bandwidth_mhz=100.0, eirp_dbw=30.0, g_over_t_db_k=10.0, losses_db=2.0, efficiency=1.0)
    # 30 - 168.839 + 10 - 2 + 228.6 - 10 log10(1e8) = 17.761 dB
    assert abs(float(lb.snr_db(550.0)) - 17.761) < 1e-3
    assert abs(float(lb.capacity_gbps(550.0)) - 0.1 * math.log2(1 + 10 ** (float(lb.snr_db(550.0)) / 10))) < 1e-12


@pytest.mark.parametrize("link", PRESETS, ids=["ku", "ka", "d2c"])
def test_capacity_decreases_with_range(link):
    ranges = np.linspace(300.0, 3000.0, 200)
    cap = np.asarray(link.capacity_gbps(ranges))
    assert np.all(np.diff(cap) < 0) and np.all(cap > 0)
    out = np.asarray(link.capacity_gbps(np.array([np.inf, np.nan])))
    assert out[0] == 0.0 and np.isnan(out[1])


def test_presets_calibration():
    mbps = lambda link, r: 1e3 * float(link.capacity_gbps(r))  # noqa: E731
    # Direct-to-Cell: a few Mbps per beam (facts csv: ~4 Mbps)
    assert 4.0 < mbps(DIRECT_TO_CELL, ZENITH_KM) < 10.0
    assert 1.0 < mbps(DIRECT_TO_CELL, MASK_25_KM) < 4.0
    # Ku user link: hundreds of Mbps from zenith to the 25 deg mask
    assert 500.0 < mbps(KU_USER_DOWNLINK, ZENITH_KM) < 1000.0
    assert 200.0 < mbps(KU_USER_DOWNLINK, MASK_25_KM) < 500.0
    # gateway feeder: Gbps; laser: 100 Gbps at any range
    assert 3000.0 < mbps(KA_GATEWAY, float(max_range_km(550.0, math.radians(40.0)))) < mbps(KA_GATEWAY, ZENITH_KM) < 10000.0
    assert mbps(LASER_ISL, 4000.0) == 100000.0


def test_fixed_rate():
    fr = FixedRate(capacity=2.5)
    out = np.asarray(fr.capacity_gbps(np.array([[100.0, np.inf, np.nan]])))
    assert out.shape == (1, 3) and out[0, 0] == 2.5 and out[0, 1] == 0.0 and np.isnan(out[0, 2])


def test_jit_and_float32():
    r32 = jnp.asarray([550.0, 1100.0], jnp.float32)
    for link in PRESETS + [LASER_ISL]:
        out = jax.jit(link.capacity_gbps)(r32)
        assert out.dtype == jnp.float32
        np.testing.assert_allclose(np.asarray(out), np.asarray(link.capacity_gbps(np.asarray(r32, np.float64))), rtol=1e-5)


GOOD = dict(frequency_ghz=12.0, bandwidth_mhz=100.0, eirp_dbw=30.0, g_over_t_db_k=10.0, losses_db=2.0, efficiency=0.5)


@pytest.mark.parametrize("field,value", [
    ("bandwidth_mhz", 0.0), ("bandwidth_mhz", -5.0), ("bandwidth_mhz", float("nan")),
    ("frequency_ghz", -1.0), ("efficiency", 0.0), ("efficiency", 1.5), ("efficiency", -0.1),
    ("eirp_dbw", "thirty"), ("losses_db", float("inf")), ("g_over_t_db_k", None),
])
def test_bad_parameters(field, value):
    with pytest.raises(InputError) as info:
        LinkBudget(**{**GOOD, field: value})
    assert info.value.field == field and field in str(info.value)


def test_good_edge_parameters_and_frozen():
    lb = LinkBudget(**{**GOOD, "efficiency": 1.0, "losses_db": 0})
    assert lb.efficiency == 1.0 and isinstance(lb.losses_db, float)
    with pytest.raises(Exception):
        lb.bandwidth_mhz = 5.0
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(InputError) as info:
            FixedRate(capacity=bad)
        assert info.value.field == "capacity"
