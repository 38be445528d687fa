"""Checks a scenario's resolution makes before any work: the horizon's step count, the element sets' age and
whether SGP4 can propagate them, and the memory the run's arrays need against what the machine allows. Each
refuses with an InputError naming the config field, or returns a warning."""

from __future__ import annotations

import datetime
import math
import os
from typing import TYPE_CHECKING

import numpy as np

from placement.config import Config
from placement.errors import InputError
from placement.propagation.sgp4 import to_satrecs

if TYPE_CHECKING:
    from placement.scenario import Constellation

# More time steps than this is a typo in time.duration_h, time.step_s or problem.epoch_s (ten million are 19
# years of 60 s steps): arrays over them would not fit in memory, and the step counts overflow first.
MAX_STEPS = 10_000_000
# SGP4 predicts from mean elements fitted to observations around their epoch. In LEO it is good to about 1 km
# within a few days of the epoch (Kelso, "Validation of SGP4 and IS-GPS-200D against GPS precision
# ephemerides", AAS 07-127, 2007), and its error grows the further a prediction is from it (Vallado &
# Crawford, "SGP4 orbit determination", AIAA 2008-6770, discuss the growth); years out SGP4's drag terms put
# a satellite at absurd altitudes. constellation.warn_element_age_days and max_element_age_days
# (3 and 30 days by default) say how much of that a run accepts.
SGP4_DRIFT = ("SGP4 is good to about 1 km within a few days of the element epoch in LEO (Kelso, AAS 07-127) "
              "and its error grows every day further from it")
# An estimate of a run's memory, in values of the propagation's precision (itemsize bytes each): the propagation
# over the whole horizon is held, [sat, step] x (3 ECEF coordinates + sunlit fraction), plus SGP4's int8 code
# (propagation/orbits.py, Orbits); and each step the access rule forms [site or gateway, sat] arrays: height,
# squared range and score in the precision and an int32 index (network/access.py), which XLA may fuse into
# fewer. The network per epoch and the placement problem come on top, so the estimate errs low: it refuses runs
# far over the machine (a million sites, years of steps) and leaves the shipped configs alone (the largest,
# starlink-catalog.toml, needs 0.27 GB by it).
ORBIT_VALUES_PER_STEP = 4  # and 1 byte of SGP4 code
ACCESS_VALUES_PER_PAIR = 3  # and a 4-byte index
MEMORY_ENV = "PLACEMENT_MAX_MEMORY_GB"
# SGP4's error codes (Vallado et al. 2006; the sgp4 package), for a catalog it cannot propagate.
SGP4_ERRORS = {1: "mean eccentricity out of range", 2: "mean motion below zero",
               3: "perturbed eccentricity out of range", 4: "semi-latus rectum below zero", 6: "decayed"}


def check_steps(config: Config, span_s: float) -> None:
    steps = span_s / config.time.step_s  # infinite where the numbers overflow
    if not steps <= MAX_STEPS:
        raise InputError(f"{steps:.3g} time steps of {config.time.step_s:g} s over {span_s:.3g} s",
                         source=config.source, field="time",
                         expected=f"at most {MAX_STEPS:,} steps: time.step_s, time.duration_h and problem.epoch_s "
                                  "in seconds and hours")


def check_element_age(config: Config, constellation: Constellation, start_jd: float, start_fr: float,
                       span_s: float) -> tuple[str, ...]:
    """Refuse a horizon further than constellation.max_element_age_days from some satellite's element-set
    epoch, and return a warning when it is further than warn_element_age_days (SGP4_DRIFT): a stale catalog
    or a mistyped year otherwise runs to the end on positions that are wrong."""
    c, e = config.constellation, constellation.elements
    if not len(e):
        return ()
    from_start_days = (start_jd - e.jdsatepoch) + (start_fr - e.jdsatepochF)  # [sat], > 0: epoch before start
    gap_days = np.maximum(np.abs(from_start_days), np.abs(from_start_days + span_s / 86400.0))  # [sat]
    worst = int(np.argmax(gap_days))
    epoch = datetime.datetime(2000, 1, 1, 12) + datetime.timedelta(
        days=float(e.jdsatepoch[worst] - 2451545.0 + e.jdsatepochF[worst]))  # JD 2451545.0: 2000-01-01 12:00 UTC
    field = "constellation.file" if c.file else "constellation.epoch"
    detail = (f"the horizon reaches {gap_days[worst]:.1f} days from the element-set epoch of "
              f"{int((gap_days > c.warn_element_age_days).sum())} of {len(e)} satellites (the furthest: "
              f"{e.name[worst]!r}, epoch {epoch:%Y-%m-%d %H:%M} UTC); {SGP4_DRIFT}")
    if gap_days[worst] > c.max_element_age_days:
        raise InputError(detail, source=config.source, field=field,
                         expected=f"time.start and time.duration_h within constellation.max_element_age_days = "
                                  f"{c.max_element_age_days:g} days of the element epochs (element sets of the "
                                  "horizon's dates, e.g. from CelesTrak, or a larger limit)")
    if gap_days[worst] > c.warn_element_age_days:
        return (f"{field}: {detail} (over constellation.warn_element_age_days = {c.warn_element_age_days:g})",)
    return ()


def memory_limit_bytes(config: Config) -> tuple[float, str]:
    """The memory a run may count on, and where that number came from."""
    if config.limits.max_memory_gb is not None:
        return config.limits.max_memory_gb * 1e9, "limits.max_memory_gb"
    text = os.environ.get(MEMORY_ENV)
    if text is not None:
        try:
            gb = float(text)
        except ValueError:
            gb = math.nan
        if not (math.isfinite(gb) and gb > 0):
            raise InputError(f"{MEMORY_ENV}={text!r}", source="environment", field=MEMORY_ENV,
                             expected="a positive number of GB")
        return gb * 1e9, f"${MEMORY_ENV}"
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")), "the machine's physical memory"


def check_memory(config: Config, n_sat: int, n_steps: int, n_ground: int) -> None:
    """Refuse a run whose arrays (estimated by ORBIT_VALUES_PER_STEP and ACCESS_VALUES_PER_PAIR) exceed the
    memory it may count on, before any work: otherwise it runs for minutes and dies of memory, or takes the
    machine's swap with it."""
    itemsize = np.dtype(config.propagation.precision).itemsize
    orbits = float(n_sat) * n_steps * (ORBIT_VALUES_PER_STEP * itemsize + 1)
    access = float(n_ground) * n_sat * (ACCESS_VALUES_PER_PAIR * itemsize + 4)
    limit, origin = memory_limit_bytes(config)
    if orbits + access > limit:
        field = "time.duration_h" if orbits >= access else "demand"
        raise InputError(
            f"this run needs about {(orbits + access) / 1e9:.3g} GB (estimate in placement/scenario_checks.py): "
            f"{n_sat} satellites x {n_steps} steps held "
            f"({orbits / 1e9:.3g} GB) and {n_ground} sites and gateways x {n_sat} satellites at each step "
            f"({access / 1e9:.3g} GB), over the {limit / 1e9:.3g} GB of {origin}", source=config.source,
            field=field, expected="fewer steps (time.duration_h, time.step_s), satellites (constellation) or sites "
                                  f"(demand), or a larger limits.max_memory_gb or ${MEMORY_ENV} on a larger machine")


def check_in_orbit(config: Config, constellation: Constellation, start_jd: float, start_fr: float,
                    span_s: float) -> None:
    """Refuse satellites none of which SGP4 can propagate at both ends of the horizon (decayed, or elements out
    of range): every later stage would run on NaN rows and fail far from the cause. A few such satellites are
    the propagation's NaN rows, as the pipeline expects (no host while they fail). The sgp4 package, one
    evaluation per satellite and end: milliseconds for thousands."""
    errors = np.array([[satrec.sgp4(start_jd, start_fr + dt)[0] for dt in (0.0, span_s / 86400.0)]
                       for satrec in to_satrecs(constellation.elements)]).max(axis=1, initial=0)
    if len(errors) and errors.all():
        code = int(np.bincount(errors).argmax())
        raise InputError(f"none of its {len(errors)} satellites can be propagated over the horizon: SGP4 error "
                         f"{code} ({SGP4_ERRORS.get(code, 'unknown')}), e.g. {constellation.elements.name[0]!r}",
                         source=config.source, field="constellation.file" if config.constellation.file
                         else "constellation", expected="element sets of satellites in orbit from time.start "
                                                        "to its end (recent ones, e.g. from CelesTrak)")
