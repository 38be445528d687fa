import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sgp4.api import Satrec, SatrecArray
from sgp4.api import jday as sgp4_jday

import placement  # noqa: F401  (float64 switch)
from placement.constellation.elements import Elements
from placement.errors import InputError
from placement.propagation.timegrid import Horizon, TimeGrid, jday, parse_utc, to_datetime

# ISS (ZARYA) TLE from the sgp4 package's documentation.
ISS_L1 = "1 25544U 98067A   19343.69339541  .00001764  00000-0  38792-4 0  9991"
ISS_L2 = "2 25544  51.6439 211.2001 0007417  17.6667  85.6398 15.50103472202482"


@settings(max_examples=300, deadline=None)
@given(
    year=st.integers(1900, 2100), month=st.integers(1, 12), day=st.integers(1, 31),
    hour=st.integers(0, 23), minute=st.integers(0, 59),
    second=st.floats(0.0, 59.999999, allow_nan=False),
)
def test_jday_matches_sgp4_bitwise(year, month, day, hour, minute, second):
    assert jday(year, month, day, hour, minute, second) == sgp4_jday(year, month, day, hour, minute, second)


def test_jday_known_value_and_arrays():
    assert jday(2020, 2, 11, 13, 57, 0) == (2458890.5, 0.58125)  # sgp4.api.jday docstring
    jd, fr = jday(np.array([2000, 2026]), np.array([1, 2]), np.array([1, 23]), 12, 0, 0)
    np.testing.assert_array_equal(jd, [2451544.5, 2461094.5])
    np.testing.assert_array_equal(fr, [0.5, 0.5])


def test_parse_utc_forms():
    assert parse_utc("2026-02-23T00:00:00Z") == (2461094.5, 0.0)
    assert parse_utc("2026-02-23T00:00:00") == (2461094.5, 0.0)
    assert parse_utc("2026-02-23") == (2461094.5, 0.0)
    jd, fr = parse_utc("2026-02-23T06:30:15.25Z")
    assert jd == 2461094.5 and fr == pytest.approx((6 * 3600 + 30 * 60 + 15.25) / 86400, abs=1e-16)
    # numeric offsets are converted to UTC, carrying across the date line
    assert parse_utc("2026-02-23T01:00:00+02:00") == parse_utc("2026-02-22T23:00:00Z")
    jd, fr = parse_utc("2026-02-22T23:30:00-01:00")
    assert jd == 2461094.5 and fr == pytest.approx(0.5 / 24, abs=1e-15)


@pytest.mark.parametrize("text", [
    "yesterday", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-02-23T24:00:00Z",
    "2026-02-23T12:60:00Z", "2016-12-31T23:59:60Z", "2026-2-3T00:00:00Z", "",
])
def test_parse_utc_errors_name_the_text(text):
    with pytest.raises(InputError) as info:
        parse_utc(text, field="start")
    assert repr(text) in str(info.value)
    assert info.value.field == "start"
    assert info.value.expected


def test_to_datetime_round_trip():
    when = to_datetime(*parse_utc("2026-02-23T06:30:15.25Z"))
    assert when == dt.datetime(2026, 2, 23, 6, 30, 15, 250000, tzinfo=dt.timezone.utc)
    # any split of the same instant gives the same datetime
    assert to_datetime(2461094.0, 0.75) == dt.datetime(2026, 2, 23, 6, 0, tzinfo=dt.timezone.utc)
    assert to_datetime(2461093.5, 1.25) == dt.datetime(2026, 2, 23, 6, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("kwargs, field", [
    (dict(step_s=0.0, n_steps=10), "step_s"),
    (dict(step_s=-1.0, n_steps=10), "step_s"),
    (dict(step_s=float("nan"), n_steps=10), "step_s"),
    (dict(step_s=60.0, n_steps=0), "n_steps"),
    (dict(step_s=60.0, n_steps=2.5), "n_steps"),
])
def test_timegrid_validation_names_field(kwargs, field):
    with pytest.raises(InputError) as info:
        TimeGrid(2461094.5, 0.0, **kwargs)
    assert info.value.field == field


def test_timegrid_normalises_start():
    g = TimeGrid(2461094.5, 2.25, 60.0, 3)
    assert (g.start_jd, g.start_fr) == (2461096.5, 0.25)
    np.testing.assert_array_equal(g.minutes(), [0.0, 1.0, 2.0])


def test_jd_fr_carries_days_and_keeps_precision():
    # starts 1 min before midnight, 7 s steps, 3.24 days: crosses four day boundaries
    g = TimeGrid.from_utc("2026-02-22T23:59:00Z", 7.0, 40000)
    jd, fr = g.jd_fr()
    assert jd.dtype == fr.dtype == np.float64 and jd.shape == (40000,)
    assert np.all((fr >= 0.0) & (fr < 1.0))
    assert np.all(np.mod(jd, 1.0) == 0.5)
    assert set(np.unique(jd)) == {2461093.5, 2461094.5, 2461095.5, 2461096.5, 2461097.5}
    elapsed_s = (jd - g.start_jd) * 86400.0 + (fr - g.start_fr) * 86400.0
    np.testing.assert_allclose(elapsed_s, 7.0 * np.arange(40000), rtol=0, atol=1e-9)
    # one non-leap year of minutes lands exactly on the next 1 January 0h
    year = TimeGrid.from_utc("2026-01-01T00:00:00Z", 60.0, 365 * 1440 + 1)
    jd, fr = year.jd_fr()
    assert (jd[-1], fr[-1]) == jday(2027, 1, 1, 0, 0, 0)
    assert fr.max() < 1.0


def test_tsince_min_is_the_satrecarray_expression():
    sat = Satrec.twoline2rv(ISS_L1, ISS_L2)
    other = Satrec.twoline2rv(ISS_L1.replace("19343.69339541", "19340.12345678"), ISS_L2)
    els = Elements(
        no_kozai=np.array([sat.no_kozai, other.no_kozai]), ecco=np.array([sat.ecco] * 2),
        inclo=np.array([sat.inclo] * 2), nodeo=np.array([sat.nodeo] * 2),
        argpo=np.array([sat.argpo] * 2), mo=np.array([sat.mo] * 2),
        bstar=np.array([sat.bstar] * 2),
        jdsatepoch=np.array([sat.jdsatepoch, other.jdsatepoch]),
        jdsatepochF=np.array([sat.jdsatepochF, other.jdsatepochF]),
    )
    g = TimeGrid.from_utc("2019-12-09T16:00:00.5Z", 37.3, 500)
    tsince = g.tsince_min(els)
    assert tsince.shape == (2, 500) and tsince.dtype == np.float64
    jd, fr = g.jd_fr()
    expected = (jd[None] - els.jdsatepoch[:, None]) * 1440.0 + (fr[None] - els.jdsatepochF[:, None]) * 1440.0
    np.testing.assert_array_equal(tsince, expected)
    # and the C++ SatrecArray (which forms tsince internally from jd, fr) agrees bitwise
    # with propagating our tsince values directly
    _, r_ref, _ = SatrecArray([sat, other]).sgp4(jd, fr)
    for i, s in enumerate((sat, other)):
        r_ours = np.array([s.sgp4_tsince(t)[1] for t in tsince[i]])
        np.testing.assert_array_equal(r_ours, r_ref[i])


@settings(max_examples=60, deadline=None)
@given(n_steps=st.integers(1, 500), n=st.integers(1, 600),
       step_s=st.floats(0.1, 7200.0), start_fr=st.floats(0.0, 0.999))
def test_chunks_cover_grid_exactly_once(n_steps, n, step_s, start_fr):
    g = TimeGrid(2461094.5, start_fr, step_s, n_steps)
    parts = list(g.chunks(n))
    assert [p.n_steps for p in parts[:-1]] == [n] * (len(parts) - 1)
    assert 1 <= parts[-1].n_steps <= n
    assert sum(p.n_steps for p in parts) == n_steps
    assert all(p.step_s == step_s for p in parts)
    jd, fr = g.jd_fr()
    cjd = np.concatenate([p.jd_fr()[0] for p in parts])
    cfr = np.concatenate([p.jd_fr()[1] for p in parts])
    diff_s = (cjd - jd) * 86400.0 + (cfr - fr) * 86400.0
    np.testing.assert_allclose(diff_s, 0.0, atol=1e-6)
    assert (parts[0].start_jd, parts[0].start_fr) == (g.start_jd, g.start_fr)


def test_chunks_rejects_bad_size():
    with pytest.raises(InputError):
        list(TimeGrid(2461094.5, 0.0, 60.0, 10).chunks(0))


def test_epoch_utc_hours_are_the_epochs_middles():
    h = Horizon.from_utc("2026-02-24T13:00:00Z", 600.0, 3)
    assert h.epoch_utc_h() == pytest.approx([13 + 5 / 60, 13.25, 13 + 25 / 60])
    across_midnight = Horizon.from_utc("2026-02-24T23:00:00Z", 3600.0, 2)
    assert across_midnight.epoch_utc_h() == pytest.approx([23.5, 0.5])
