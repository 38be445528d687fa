"""Absolute time and uniform time grids (host, numpy float64).

Absolute time is carried as two float64 parts, exactly as the `sgp4` package does:

    jd  Julian day of the preceding 0h UTC (a whole number + .5, e.g. 2461094.5)
    fr  fraction of that day, kept in [0, 1)

A single float64 Julian date (~2.46e6) only resolves ~40 microseconds; two parts resolve
well below a nanosecond, and the split lets every consumer (SGP4's `tsince`, GMST, the Sun)
subtract large numbers exactly before adding small ones.

Time scale: UTC throughout. SGP4 epochs are UTC, UT1 - UTC (< 0.9 s) is ignored by the
frame code (see frames.py), and leap seconds are not represented (a grid that crosses one
is uniform in UTC seconds-of-day, which is what SGP4 users conventionally assume).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as _dt
import math
import re
from typing import Iterator

import numpy as np

from placement.errors import InputError

SECONDS_PER_DAY = 86400.0
MINUTES_PER_DAY = 1440.0
_JD_UNIX_EPOCH = 2440587.5  # Julian day of 1970-01-01T00:00:00 UTC


def jday(year, month, day, hour=0, minute=0, second=0.0):
    """Two-part Julian date (jd, fr) of a UTC calendar date and time.

    Same arithmetic as `sgp4.api.jday` (Vallado, "Fundamentals of Astrodynamics and
    Applications", 4th ed., Algorithm 14 JULIANDATE, valid 1900-2100), so results are
    bit-identical to it: `jd` is the Julian day of 0h of the date (ends in .5) and
    `fr = (second + 60 minute + 3600 hour) / 86400`. Works on scalars or numpy arrays
    (broadcast). No range checks here; `parse_utc` validates text input.
    """
    year = np.asarray(year, dtype=np.float64)
    month = np.asarray(month, dtype=np.float64)
    jd = (
        367.0 * year
        - np.floor(7.0 * (year + np.floor((month + 9.0) / 12.0)) * 0.25)
        + np.floor(275.0 * month / 9.0)
        + np.asarray(day, dtype=np.float64)
        + 1721013.5
    )
    fr = (
        np.asarray(second, dtype=np.float64)
        + np.asarray(minute, dtype=np.float64) * 60.0
        + np.asarray(hour, dtype=np.float64) * 3600.0
    ) / SECONDS_PER_DAY
    if jd.ndim == 0 and fr.ndim == 0:
        return float(jd), float(fr)
    jd, fr = np.broadcast_arrays(jd, fr)
    return jd.copy(), fr.copy()


_ISO_RE = re.compile(
    r"^\s*(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}:?\d{2})?\s*$"
)
_ISO_EXPECTED = "ISO-8601 UTC time like '2026-02-23T00:00:00Z' or '2026-02-23T00:00:00.123Z'"


def parse_utc(text: str, *, field: str | None = None, source: str | None = None):
    """(jd, fr) of an ISO-8601 time string, interpreted as UTC.

    Accepts 'YYYY-MM-DDTHH:MM:SS[.fff...]' with a trailing 'Z', a numeric offset
    ('+00:00', '+0530', converted to UTC) or no zone (taken as UTC); a space may replace
    'T'; seconds, or the whole time of day, may be omitted. Leap seconds (':60') are
    rejected. Raises InputError naming the text (and `field`/`source` when given).
    """
    if not isinstance(text, str):
        raise InputError(f"time {text!r} is not a string", field=field, source=source,
                         expected=_ISO_EXPECTED)
    match = _ISO_RE.match(text)
    if match is None:
        raise InputError(f"cannot parse time {text!r}", field=field, source=source,
                         expected=_ISO_EXPECTED)
    year, month, day = int(match["Y"]), int(match["M"]), int(match["D"])
    hour = int(match["h"] or 0)
    minute = int(match["m"] or 0)
    second = int(match["s"] or 0)
    frac = float("0." + match["frac"]) if match["frac"] else 0.0

    def bad(what, expected):
        return InputError(f"time {text!r}: {what}", field=field, source=source,
                          expected=expected)

    if not 1 <= month <= 12:
        raise bad(f"month {month} out of range", "month 01..12")
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise bad(f"day {day} does not exist in {year}-{month:02d}", "a valid calendar day")
    if hour > 23:
        raise bad(f"hour {hour} out of range", "hour 00..23")
    if minute > 59:
        raise bad(f"minute {minute} out of range", "minute 00..59")
    if second > 59:
        raise bad(f"second {second} out of range (leap seconds are not supported)",
                  "second 00..59")
    if not 1900 <= year <= 2100:
        raise bad(f"year {year} outside 1900..2100", "a year in 1900..2100 (jday's validity)")

    jd, fr = jday(year, month, day, hour, minute, second + frac)
    tz = match["tz"]
    if tz and tz not in ("Z", "z"):
        sign = -1.0 if tz[0] == "-" else 1.0
        digits = tz[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:])
        if oh > 23 or om > 59:
            raise bad(f"zone offset {tz!r} out of range", "offset -23:59..+23:59")
        fr -= sign * (oh * 3600.0 + om * 60.0) / SECONDS_PER_DAY  # local - offset = UTC
        carry = math.floor(fr)
        jd, fr = jd + carry, fr - carry
    return jd, fr


def to_datetime(jd, fr=0.0) -> _dt.datetime:
    """Timezone-aware UTC `datetime` of a two-part Julian date (rounded to 1 microsecond).

    Scalars only. `jd` need not end in .5; any split of the date between `jd` and `fr`
    gives the same instant.
    """
    jd = float(jd)
    fr = float(fr)
    if not (math.isfinite(jd) and math.isfinite(fr)):
        raise ValueError(f"to_datetime: non-finite Julian date ({jd}, {fr})")
    base = math.floor(jd - 0.5) + 0.5          # 0h UTC at or before jd (exact)
    fr = fr + (jd - base)                      # jd - base in [0, 1), exact
    whole = math.floor(fr)
    base, fr = base + whole, fr - whole
    micro = round(fr * SECONDS_PER_DAY * 1e6)
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return epoch + _dt.timedelta(days=int(base - _JD_UNIX_EPOCH), microseconds=micro)


def _normalize(jd, fr):
    """Carry whole days of fr into jd so that fr is in [0, 1) (exact)."""
    whole = np.floor(fr)
    return jd + whole, fr - whole


@dataclasses.dataclass(frozen=True)
class TimeGrid:
    """`n_steps` instants starting at (start_jd, start_fr), `step_s` seconds apart (UTC).

    Construction carries whole days of `start_fr` into `start_jd` (so `start_fr` is in
    [0, 1) afterwards). Raises InputError naming the field for a non-positive or
    non-finite step, fewer than one step, or a non-finite start.
    """

    start_jd: float
    start_fr: float
    step_s: float
    n_steps: int

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        for name in ("start_jd", "start_fr", "step_s"):
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError(f"TimeGrid.{name} = {value!r} is not a number",
                                 field=name, expected="a finite number") from None
            if not math.isfinite(value):
                raise InputError(f"TimeGrid.{name} = {value!r} is not finite",
                                 field=name, expected="a finite number")
            set_(name, value)
        if not self.step_s > 0.0:
            raise InputError(f"TimeGrid.step_s = {self.step_s!r} must be positive",
                             field="step_s", expected="step_s > 0 seconds")
        n = self.n_steps
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            if isinstance(n, (float, np.floating)) and float(n).is_integer():
                n = int(n)
            else:
                raise InputError(f"TimeGrid.n_steps = {n!r} is not an integer",
                                 field="n_steps", expected="an integer >= 1")
        n = int(n)
        if n < 1:
            raise InputError(f"TimeGrid.n_steps = {n} must be at least 1",
                             field="n_steps", expected="an integer >= 1")
        set_("n_steps", n)
        jd, fr = _normalize(self.start_jd, self.start_fr)
        set_("start_jd", float(jd))
        set_("start_fr", float(fr))

    @classmethod
    def from_utc(cls, start: str, step_s: float, n_steps: int) -> "TimeGrid":
        """Grid starting at an ISO-8601 UTC string (see `parse_utc`)."""
        jd, fr = parse_utc(start, field="start")
        return cls(jd, fr, step_s, n_steps)

    def __len__(self) -> int:
        return self.n_steps

    @property
    def duration_s(self) -> float:
        """Seconds from the first to the last instant."""
        return (self.n_steps - 1) * self.step_s

    def seconds(self) -> np.ndarray:
        """Seconds since the start, float64 [time]."""
        return np.arange(self.n_steps, dtype=np.float64) * self.step_s

    def minutes(self) -> np.ndarray:
        """Minutes since the start, float64 [time]."""
        return self.seconds() / 60.0

    def utc(self) -> np.ndarray:
        """Every instant as numpy datetime64[us] (UTC; numpy's datetimes carry no zone), rounded to 1 us."""
        jd, fr = self.jd_fr()
        # whole days since the Unix epoch and the day's fraction apart, so the sum keeps microseconds
        days_us = np.round((jd - _JD_UNIX_EPOCH) * SECONDS_PER_DAY * 1e6).astype(np.int64)
        return (days_us + np.round(fr * SECONDS_PER_DAY * 1e6).astype(np.int64)).astype("datetime64[us]")

    def jd_fr(self) -> tuple[np.ndarray, np.ndarray]:
        """Two-part Julian dates (jd [time], fr [time]) of every instant, float64.

        Elapsed seconds are split into whole days and a remainder (fmod, exact) before
        being added to start_fr, and whole days are carried into jd, so fr stays in [0, 1)
        and its absolute precision does not decay with the length of the horizon.
        """
        elapsed = self.seconds()
        days = np.floor(elapsed / SECONDS_PER_DAY)
        rem_s = elapsed - days * SECONDS_PER_DAY
        # guard the rare case where the division rounded across a day boundary
        days = np.where(rem_s < 0.0, days - 1.0, np.where(rem_s >= SECONDS_PER_DAY, days + 1.0, days))
        rem_s = elapsed - days * SECONDS_PER_DAY
        fr = self.start_fr + rem_s / SECONDS_PER_DAY
        jd = self.start_jd + days
        return _normalize(jd, fr)

    def tsince_min(self, elements) -> np.ndarray:
        """Minutes since each satellite's epoch, float64 [sat, time].

        Computed as (jd - jdsatepoch) * 1440 + (fr - jdsatepochF) * 1440, the expression
        the `sgp4` package's Satrec.sgp4 / SatrecArray.sgp4 use, so a JAX propagator fed
        these values sees the same tsince as the reference.
        """
        jd, fr = self.jd_fr()
        ep_jd = np.asarray(elements.jdsatepoch, dtype=np.float64)[:, None]
        ep_fr = np.asarray(elements.jdsatepochF, dtype=np.float64)[:, None]
        return (jd[None, :] - ep_jd) * MINUTES_PER_DAY + (fr[None, :] - ep_fr) * MINUTES_PER_DAY

    def subgrid(self, start_index: int, n_steps: int) -> "TimeGrid":
        """The grid of `n_steps` instants starting at instant `start_index` of this one."""
        if not 0 <= start_index < self.n_steps:
            raise IndexError(f"start_index {start_index} outside 0..{self.n_steps - 1}")
        n_steps = min(int(n_steps), self.n_steps - start_index)
        elapsed = start_index * self.step_s
        days = math.floor(elapsed / SECONDS_PER_DAY)
        rem_s = elapsed - days * SECONDS_PER_DAY
        return TimeGrid(self.start_jd + days, self.start_fr + rem_s / SECONDS_PER_DAY,
                        self.step_s, n_steps)

    def chunks(self, n: int) -> Iterator["TimeGrid"]:
        """Consecutive sub-grids of at most `n` steps covering this grid exactly once, in
        order (chunk i starts at instant i * n). For streaming long horizons."""
        n = int(n)
        if n < 1:
            raise InputError(f"chunk size {n} must be at least 1", field="n",
                             expected="an integer >= 1")
        for start in range(0, self.n_steps, n):
            yield self.subgrid(start, n)


@dataclasses.dataclass(frozen=True)
class Horizon:
    """The placement horizon: `n_epochs` epochs of `epoch_s` seconds from (start_jd, start_fr), each sampled by
    `steps_per_epoch` network steps `step_s = epoch_s / steps_per_epoch` apart.

    Two time scales (../DESIGN.md): satellites move and terminals hand over between network steps (tens of
    seconds); copies are placed, moved and paid for per epoch (minutes). Step i belongs to epoch
    i // steps_per_epoch; `steps()` also holds the horizon's end (one instant after the last epoch's steps),
    so tracks drawn from it cover the whole horizon.
    """

    start_jd: float
    start_fr: float
    epoch_s: float
    n_epochs: int
    steps_per_epoch: int = 1

    def __post_init__(self):
        for name, value, ok, expected in (
                ("epoch_s", self.epoch_s, math.isfinite(self.epoch_s) and self.epoch_s > 0, "seconds > 0"),
                ("n_epochs", self.n_epochs, isinstance(self.n_epochs, (int, np.integer)) and self.n_epochs >= 1,
                 "an integer >= 1"),
                ("steps_per_epoch", self.steps_per_epoch,
                 isinstance(self.steps_per_epoch, (int, np.integer)) and self.steps_per_epoch >= 1,
                 "an integer >= 1")):
            if not ok:
                raise InputError(f"Horizon.{name} = {value!r}", field=name, expected=expected)
        jd, fr = _normalize(float(self.start_jd), float(self.start_fr))
        object.__setattr__(self, "start_jd", float(jd))
        object.__setattr__(self, "start_fr", float(fr))

    @classmethod
    def from_utc(cls, start: str, epoch_s: float, n_epochs: int, steps_per_epoch: int = 1) -> "Horizon":
        jd, fr = parse_utc(start, field="start")
        return cls(jd, fr, epoch_s, n_epochs, steps_per_epoch)

    @property
    def step_s(self) -> float:
        return self.epoch_s / self.steps_per_epoch

    @property
    def n_steps(self) -> int:
        """Network steps inside the epochs (the horizon's end instant not counted)."""
        return self.n_epochs * self.steps_per_epoch

    def steps(self) -> TimeGrid:
        """Every network step, then the horizon's end: n_steps + 1 instants."""
        return TimeGrid(self.start_jd, self.start_fr, self.step_s, self.n_steps + 1)

    def epochs(self) -> TimeGrid:
        """The epochs' first instants."""
        return TimeGrid(self.start_jd, self.start_fr, self.epoch_s, self.n_epochs)

    def epoch_starts(self) -> np.ndarray:
        """[epoch] index into `steps()` of each epoch's first step."""
        return np.arange(self.n_epochs) * self.steps_per_epoch

    def epoch_utc_h(self) -> np.ndarray:
        """[epoch] the UTC hour of day (in [0, 24)) at each epoch's middle."""
        day_fraction = np.mod(np.mod(self.start_jd, 1.0) - 0.5 + self.start_fr, 1.0)  # Julian days begin at noon
        return np.mod(24.0 * day_fraction + (np.arange(self.n_epochs) + 0.5) * self.epoch_s / 3600.0, 24.0)

    def epoch_of_step(self) -> np.ndarray:
        """[step] the epoch each of `steps()` belongs to (the end instant to the last epoch)."""
        return np.minimum(np.arange(self.n_steps + 1) // self.steps_per_epoch, self.n_epochs - 1)
