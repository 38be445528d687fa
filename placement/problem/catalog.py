"""A default catalog of real lightweight AI models and host hardware, with published figures and sources.

Host side, plain Python and numpy: the loaders read three CSV tables shipped in
`placement/problem/data/` (or a file of the same shape given as `path`) and return frozen records.
Every row names its `source` (a model card, paper or data sheet URL, or "assumption"/"derived"),
and its `notes` say which numbers are published and which are derived, with the formula.

models.csv (ModelSpec, one row per model)
  Detectors (YOLOv8n/s: Ultralytics docs), classifiers (MobileNetV3-Large, EfficientNet-B0,
  ResNet-50: torchvision weight tables), speech (Whisper tiny/base: the Whisper paper) and 1-4 B
  language models quantised to 4 bits (Llama 3.2 1B/3B, Qwen2.5 1.5B, Phi-3-mini, Gemma 2 2B:
  model cards). Units: params (count), flops_per_inference (FLOP, a multiply-add counted as 2),
  memory_bytes (weights + runtime, what one copy occupies and what a migration uploads),
  request_bytes / response_bytes (one request's payload), accuracy (as published, in the unit of
  accuracy_metric; empty when no figure is sure; not comparable across metrics).
  Derived columns follow these request assumptions (tests/test_catalog.py checks them):
    language models  flops = 2 x params x (LM_PROMPT_TOKENS + LM_GENERATED_TOKENS)
                     memory = params x 0.5 B (4-bit) x MEMORY_OVERHEAD['text-generation']
                     request/response = tokens x BYTES_PER_TOKEN
    vision, speech   flops = published FLOPs, or 2 x published multiply-adds (torchvision's
                     "GFLOPS" are multiply-adds); Whisper: from its dimensions (formula in notes)
                     memory = params x 2 B (fp16) x MEMORY_OVERHEAD[task]
  FLOPs understate an autoregressive model's time per request: decoding at batch 1 is bound by memory
  bandwidth, not arithmetic. `ModelSpec.memory_traffic_bytes` is what one request reads from memory
  (the weights once per forward pass: 1 + generated tokens passes for language models and Whisper's
  decoder, an upper bound for Whisper, whose decoder is part of the weights), and hosts carry
  `memory_bandwidth_bytes_s`; the problem takes the slower of the two (a roofline), the bandwidth derated to
  ACHIEVABLE_BANDWIDTH_FRACTION of its peak as the arithmetic is to achievable_fraction.

hosts.csv (HostProfile, one row per host kind profile)
  satellite-orin (one Jetson AGX Orin 64GB), gateway-l4 (4 x NVIDIA L4), cloud-h100 (64 x H100
  SXM; pool sizes are assumptions). All FLOP rates are FP16 dense tensor-core figures times an
  achievable fraction of peak (default 0.4, an assumption: real batch-1 inference stays well below
  the spec sheet):
    service_flops_s = accelerator_peak_flops_s x achievable_fraction     (one request, one accelerator)
    peak_flops_s    = accelerators x service_flops_s                     (the whole host)
    flops_per_joule = service_flops_s / power_w                          (power_w per accelerator)
  The loader checks these identities, so an edited row cannot silently contradict itself.

measured.csv (MeasuredService, one row per (model, host profile) with a published measurement)
  A model's measured time on one accelerator of a profile at batch 1, as published (`unit`: ms_per_request,
  or generated_tokens_per_s for a language model's decoding rate), with its source, date and what was
  measured. `placement.problem.batching` turns it into the service time the problem uses instead of the
  roofline; pairs without a row keep the roofline.

diurnal.csv (24 rows per named profile: hour, relative_rate, source, date)
  Published hour-of-day traffic curves a workload may name as its `diurnal_profile` instead of giving 24
  numbers: the rate of local hour h (h:00 to h+1:00) relative to the daily peak, as measured, with how the
  values were read in the notes of each profile's hour-0 row. `diurnal_profiles` returns them by name.

satellite_power.csv (SatellitePower, name/value/unit rows)
  Compute power in sunlight (tied to the Orin's 60 W maximum), battery energy reserved for compute
  and its depth-of-discharge cap (assumptions), and the longest eclipse at the shell altitude
  (derived: `cylindrical_eclipse_min`). `SatellitePower.power_budget_w` turns a sunlit fraction
  per epoch into the `power_budget_w` array of `PlacementProblem`.

Bad input raises `InputError` naming the file, the line, the field and what was expected.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.resources
import math
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from placement.constants import WGS72
from placement.errors import InputError
from placement.problem.spec import HOST_KINDS

_DATA_PACKAGE = "placement.problem"

# Bytes per stored weight for each precision the catalog uses.
BYTES_PER_PARAM = {"fp32": 4.0, "fp16": 2.0, "int8": 1.0, "int4": 0.5}

# The request behind the derived language-model columns (stated again in each row's notes).
LM_PROMPT_TOKENS = 256
LM_GENERATED_TOKENS = 128
BYTES_PER_TOKEN = 4  # ~4 bytes of UTF-8 text per token (English, BPE tokenizers)

# Forward passes that read the whole weights, per request (Whisper: its FLOP count's 100 decoder steps).
FORWARD_PASSES = {"text-generation": 1 + LM_GENERATED_TOKENS, "speech-recognition": 1 + 100}

# Memory of one copy = weights x overhead (assumptions, explained in models.csv notes):
# small CNNs/Whisper at batch 1 need about the weights again for activations and workspace;
# 4-bit LMs need x1.2 for scales and higher-precision embeddings, x1.25 for KV cache and buffers.
MEMORY_OVERHEAD = {"object-detection": 2.0, "image-classification": 2.0, "speech-recognition": 2.0,
                   "text-generation": 1.5}

MODEL_COLUMNS = ("name", "task", "params", "flops_per_inference", "memory_bytes", "request_bytes",
                 "response_bytes", "accuracy", "accuracy_metric", "precision", "source", "notes")
HOST_COLUMNS = ("profile", "kind", "accelerator", "accelerators", "accelerator_peak_flops_s",
                "achievable_fraction", "peak_flops_s", "service_flops_s", "memory_bytes",
                "flops_per_joule", "power_w", "source", "notes")
POWER_COLUMNS = ("name", "value", "unit", "source", "notes")
MEASURED_COLUMNS = ("model", "profile", "batch", "value", "unit", "source", "date", "notes")
DIURNAL_COLUMNS = ("profile", "hour", "relative_rate", "source", "date", "notes")
HOURS_PER_DAY = 24
MEASURED_UNITS = ("ms_per_request", "generated_tokens_per_s")

# satellite_power.csv rows: unit, lower bound, upper bound, whether the lower bound is open.
_POWER_ROWS = {
    "altitude_km": ("km", 100.0, 40_000.0, False),
    "sun_w": ("W", 0.0, math.inf, True),
    "battery_wh": ("Wh", 0.0, math.inf, False),
    "depth_of_discharge": ("1", 0.0, 1.0, True),
    "longest_eclipse_min": ("min", 0.0, math.inf, True),
}

# Share of peak memory bandwidth batch-1 decoding achieves: the published decode rates in measured.csv reach
# 0.39-0.68 of their hosts' peak (weight bytes x tokens/s / bandwidth; median 0.46: tests/test_batching.py).
ACHIEVABLE_BANDWIDTH_FRACTION = 0.46

_DERIVED_RTOL = 1e-3  # CSV figures are rounded to a few significant digits


# ---------------------------------------------------------------------------------------------
# Records

@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model: compute per inference, memory of one copy, payload of one request, accuracy."""

    name: str
    task: str
    params: float
    flops_per_inference: float
    memory_bytes: float
    request_bytes: float
    response_bytes: float
    accuracy: float | None  # as published, in the unit of accuracy_metric; None when not given
    accuracy_metric: str
    precision: str  # key of BYTES_PER_PARAM: how the weights are stored
    source: str
    notes: str

    @property
    def weight_bytes(self) -> float:
        return self.params * BYTES_PER_PARAM[self.precision]

    @property
    def memory_traffic_bytes(self) -> float:
        """Bytes one request reads from memory: the weights once per forward pass (activations and the
        KV cache are small next to them at batch 1)."""
        return self.weight_bytes * FORWARD_PASSES.get(self.task, 1)


@dataclasses.dataclass(frozen=True)
class HostProfile:
    """The hardware of one host kind; FLOP rates already include the achievable fraction of peak."""

    profile: str
    kind: str  # 'satellite' | 'gateway' | 'cloud'
    accelerator: str
    accelerators: int
    accelerator_peak_flops_s: float  # spec sheet, FP16 dense, one accelerator
    achievable_fraction: float
    peak_flops_s: float  # whole host
    service_flops_s: float  # what one request sees: one accelerator
    memory_bytes: float  # whole host
    flops_per_joule: float
    power_w: float  # one accelerator
    memory_bandwidth_bytes_s: float | None  # one accelerator; None when the file has no figure
    source: str
    notes: str

    @property
    def achievable_bandwidth_bytes_s(self) -> float | None:
        """One accelerator's memory bandwidth as batch-1 inference achieves it: peak x
        ACHIEVABLE_BANDWIDTH_FRACTION (None without a figure)."""
        bandwidth = self.memory_bandwidth_bytes_s
        return None if bandwidth is None else bandwidth * ACHIEVABLE_BANDWIDTH_FRACTION

    @property
    def kind_code(self) -> int:
        """SATELLITE, GATEWAY or CLOUD, as `PlacementProblem.host_kind` stores it."""
        return HOST_KINDS.index(self.kind)


@dataclasses.dataclass(frozen=True)
class MeasuredService:
    """A published measurement of one model on one accelerator of a host profile, at batch 1."""

    model: str
    profile: str
    value: float  # in `unit`
    unit: str  # one of MEASURED_UNITS
    source: str
    date: str
    notes: str


@dataclasses.dataclass(frozen=True)
class SatellitePower:
    """Compute power of a satellite: full in sunlight, battery-limited in eclipse."""

    altitude_km: float
    sun_w: float
    battery_wh: float
    depth_of_discharge: float
    longest_eclipse_min: float

    def __post_init__(self):
        for name, (unit, lo, hi, open_lo) in _POWER_ROWS.items():
            value = getattr(self, name)
            if not _in_range(value, lo, hi, open_lo):
                raise InputError(f"{value!r} {unit}", source="SatellitePower", field=name,
                                 expected=_range_text(lo, hi, open_lo, unit))

    @property
    def eclipse_w(self) -> float:
        """Power the reserved battery share sustains through the longest eclipse, at most sun_w."""
        return min(self.battery_wh * self.depth_of_discharge / (self.longest_eclipse_min / 60.0), self.sun_w)

    @property
    def usable_battery_j(self) -> float:
        """Energy of the battery share one discharge may use: battery_wh x depth_of_discharge, in J."""
        return self.battery_wh * self.depth_of_discharge * 3600.0

    def power_budget_w(self, sunlit_fraction) -> np.ndarray:
        """Elementwise f * sun_w + (1 - f) * eclipse_w for the sunlit fraction f of each epoch.

        The average power over an epoch that is partly in shadow. Sizing the battery share by the
        longest eclipse keeps every eclipse within the depth-of-discharge cap; recharging is assumed
        to fit in the sunlit part of the orbit.
        """
        f = np.asarray(sunlit_fraction, dtype=np.float64)
        bad = ~((f >= 0.0) & (f <= 1.0))  # also catches NaN
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0]) if f.ndim else ()
            raise InputError(f"{float(f[first])!r} at index {list(first)}", source="power_budget_w",
                             field="sunlit_fraction", expected="fractions in [0, 1]")
        return f * self.sun_w + (1.0 - f) * self.eclipse_w


def cylindrical_eclipse_min(altitude_km: float, radius_km: float = WGS72.radiusearthkm,
                            mu_km3_s2: float = WGS72.mu) -> float:
    """Longest eclipse (minutes) of a circular orbit: cylindrical shadow, Sun in the orbital plane.

    The satellite is shadowed while r sin(phi) < R (phi measured from the anti-Sun direction), an arc
    of 2 asin(R / r), so eclipse = period x asin(R / r) / pi.
    """
    r = radius_km + altitude_km
    period_s = 2.0 * math.pi * math.sqrt(r**3 / mu_km3_s2)
    return period_s * math.asin(radius_km / r) / math.pi / 60.0


# ---------------------------------------------------------------------------------------------
# Loaders

def models(names: Sequence[str] | None = None, *, path=None) -> tuple[ModelSpec, ...]:
    """The catalog's models in file order, or the named ones in the order given.

    `path` reads a file of the same columns instead of the shipped models.csv.
    """
    source, rows = _read("models.csv", path, MODEL_COLUMNS)
    table: dict[str, ModelSpec] = {}
    for line, row in rows:
        spec = _model(row, source, line)
        if spec.name in table:
            raise InputError(f"model {spec.name!r} listed twice", source=source, line=line, field="name",
                             expected="one row per model")
        table[spec.name] = spec
    if names is None:
        return tuple(table.values())
    if isinstance(names, str):
        raise InputError(f"a single string {names!r}", source="models", field="names",
                         expected="a sequence of model names, or None for all")
    out = []
    for name in names:
        if name not in table:
            raise InputError(f"unknown model {name!r}", source=source, field="name",
                             expected=f"one of {list(table)}")
        out.append(table[name])
    return tuple(out)


def host_profiles(*, path=None) -> dict[str, HostProfile]:
    """Host hardware profiles by name ('satellite-orin', 'gateway-l4', 'cloud-h100'), in file order."""
    source, rows = _read("hosts.csv", path, HOST_COLUMNS)
    out: dict[str, HostProfile] = {}
    for line, row in rows:
        host = _host(row, source, line)
        if host.profile in out:
            raise InputError(f"profile {host.profile!r} listed twice", source=source, line=line,
                             field="profile", expected="one row per profile")
        out[host.profile] = host
    return out


def measured_services(*, path=None) -> dict[tuple[str, str], MeasuredService]:
    """Published measurements by (model, profile), in file order (`path`: a file of the same columns)."""
    source, rows = _read("measured.csv", path, MEASURED_COLUMNS)
    out: dict[tuple[str, str], MeasuredService] = {}
    for line, row in rows:
        key = (_require_text(row, "model", source, line), _require_text(row, "profile", source, line))
        if key in out:
            raise InputError(f"{key} listed twice", source=source, line=line, field="model",
                             expected="one row per (model, profile)")
        if row["batch"].strip() != "1":
            raise InputError(f"batch {row['batch']!r}", source=source, line=line, field="batch",
                             expected="1 (batch-1 figures; placement.problem.batching extends them to a batch)")
        unit = row["unit"].strip()
        if unit not in MEASURED_UNITS:
            raise InputError(f"{unit!r}", source=source, line=line, field="unit",
                             expected=f"one of {list(MEASURED_UNITS)}")
        out[key] = MeasuredService(
            model=key[0], profile=key[1], value=_number(row, "value", source, line, 0.0, math.inf, True, unit),
            unit=unit, source=_require_text(row, "source", source, line),
            date=_require_text(row, "date", source, line), notes=row["notes"].strip())
    return out


def diurnal_profiles(*, path=None) -> dict[str, tuple[float, ...]]:
    """The published hour-of-day profiles by name: 24 relative rates each, hour 0 first, in file order
    (`path`: a file of the same columns). Every profile lists each hour once and is not all zero."""
    source, rows = _read("diurnal.csv", path, DIURNAL_COLUMNS)
    hours: dict[str, dict[int, float]] = {}
    for line, row in rows:
        name = _require_text(row, "profile", source, line)
        hour = row["hour"].strip()
        if hour not in {str(h) for h in range(HOURS_PER_DAY)}:
            raise InputError(f"{hour!r}", source=source, line=line, field="hour",
                             expected=f"a whole hour 0 to {HOURS_PER_DAY - 1}")
        if int(hour) in hours.setdefault(name, {}):
            raise InputError(f"hour {hour} of {name!r} listed twice", source=source, line=line, field="hour",
                             expected="one row per (profile, hour)")
        _require_text(row, "source", source, line)
        _require_text(row, "date", source, line)
        hours[name][int(hour)] = _number(row, "relative_rate", source, line, 0.0, math.inf, False)
    out = {}
    for name, rates in hours.items():
        missing = [h for h in range(HOURS_PER_DAY) if h not in rates]
        if missing or not any(rates.values()):
            raise InputError(f"profile {name!r}: " + (f"no row for hours {missing}" if missing else "all rates 0"),
                             source=source, field="hour", expected=f"{HOURS_PER_DAY} hours, not all 0")
        out[name] = tuple(rates[h] for h in range(HOURS_PER_DAY))
    return out


def satellite_power(*, path=None) -> SatellitePower:
    """The satellite power model (sun power, battery share, depth of discharge, longest eclipse)."""
    source, rows = _read("satellite_power.csv", path, POWER_COLUMNS)
    values: dict[str, float] = {}
    for line, row in rows:
        name = row["name"].strip()
        if name not in _POWER_ROWS:
            raise InputError(f"unknown name {name!r}", source=source, line=line, field="name",
                             expected=f"one of {list(_POWER_ROWS)}")
        if name in values:
            raise InputError(f"{name!r} listed twice", source=source, line=line, field="name",
                             expected="one row per name")
        unit, lo, hi, open_lo = _POWER_ROWS[name]
        if row["unit"].strip() != unit:
            raise InputError(f"unit {row['unit']!r} for {name!r}", source=source, line=line, field="unit",
                             expected=repr(unit))
        _require_text(row, "source", source, line)
        values[name] = _number(row, "value", source, line, lo, hi, open_lo, unit)
    missing = [name for name in _POWER_ROWS if name not in values]
    if missing:
        raise InputError(f"no row for {missing}", source=source, field="name",
                         expected=f"one row for each of {list(_POWER_ROWS)}")
    return SatellitePower(**values)


# ---------------------------------------------------------------------------------------------
# Parsing

def _model(row: dict, source: str, line: int) -> ModelSpec:
    def num(col, open_lo=True):  # sizes: > 0, or >= 0 for payloads
        return _number(row, col, source, line, 0.0, math.inf, open_lo)

    precision = row["precision"].strip()
    if precision not in BYTES_PER_PARAM:
        raise InputError(f"{precision!r}", source=source, line=line, field="precision",
                         expected=f"one of {list(BYTES_PER_PARAM)}")
    accuracy = None
    if row["accuracy"].strip():
        accuracy = _number(row, "accuracy", source, line, -math.inf, math.inf, False)
        _require_text(row, "accuracy_metric", source, line)
    return ModelSpec(
        name=_require_text(row, "name", source, line), task=_require_text(row, "task", source, line),
        params=num("params"), flops_per_inference=num("flops_per_inference"),
        memory_bytes=num("memory_bytes"), request_bytes=num("request_bytes", open_lo=False),
        response_bytes=num("response_bytes", open_lo=False), accuracy=accuracy,
        accuracy_metric=row["accuracy_metric"].strip(), precision=precision,
        source=_require_text(row, "source", source, line), notes=row["notes"].strip())


def _host(row: dict, source: str, line: int) -> HostProfile:
    def num(col, hi=math.inf):
        return _number(row, col, source, line, 0.0, hi, True)

    kind = row["kind"].strip()
    if kind not in HOST_KINDS:
        raise InputError(f"{kind!r}", source=source, line=line, field="kind", expected=f"one of {HOST_KINDS}")
    accelerators = num("accelerators")
    if not accelerators.is_integer():
        raise InputError(f"{row['accelerators']!r}", source=source, line=line, field="accelerators",
                         expected="a whole number >= 1")
    bandwidth = row.get("memory_bandwidth_bytes_s")  # optional column
    host = HostProfile(
        profile=_require_text(row, "profile", source, line), kind=kind,
        accelerator=_require_text(row, "accelerator", source, line), accelerators=int(accelerators),
        accelerator_peak_flops_s=num("accelerator_peak_flops_s"),
        achievable_fraction=num("achievable_fraction", hi=1.0), peak_flops_s=num("peak_flops_s"),
        service_flops_s=num("service_flops_s"), memory_bytes=num("memory_bytes"),
        flops_per_joule=num("flops_per_joule"), power_w=num("power_w"),
        memory_bandwidth_bytes_s=num("memory_bandwidth_bytes_s") if bandwidth and bandwidth.strip() else None,
        source=_require_text(row, "source", source, line), notes=row["notes"].strip())
    # The derived columns must follow from the published ones (see the module docstring).
    service = host.accelerator_peak_flops_s * host.achievable_fraction
    for field, want, formula in (
            ("service_flops_s", service, "accelerator_peak_flops_s x achievable_fraction"),
            ("peak_flops_s", host.accelerators * service, "accelerators x service_flops_s"),
            ("flops_per_joule", service / host.power_w, "service_flops_s / power_w")):
        got = getattr(host, field)
        if not math.isclose(got, want, rel_tol=_DERIVED_RTOL):
            raise InputError(f"{got:.6g} but {formula} = {want:.6g}", source=source, line=line,
                             field=field, expected=f"{formula} (within {_DERIVED_RTOL:.0e})")
    return host


def _in_range(value: float, lo: float, hi: float, open_lo: bool) -> bool:
    return math.isfinite(value) and (value > lo if open_lo else value >= lo) and value <= hi


def _range_text(lo: float, hi: float, open_lo: bool, unit: str = "") -> str:
    low = f"> {lo:g}" if open_lo else f">= {lo:g}"
    text = f"a finite number {low}" + (f" and <= {hi:g}" if math.isfinite(hi) else "")
    return text + (f" {unit}" if unit and unit != "1" else "")


def _number(row: dict, col: str, source: str, line: int, lo: float, hi: float, open_lo: bool,
            unit: str = "") -> float:
    text = row[col].strip()
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number", source=source, line=line, field=col,
                         expected=_range_text(lo, hi, open_lo, unit)) from None
    if not _in_range(value, lo, hi, open_lo):
        raise InputError(f"{text!r} out of range", source=source, line=line, field=col,
                         expected=_range_text(lo, hi, open_lo, unit))
    return value


def _require_text(row: dict, col: str, source: str, line: int) -> str:
    text = row[col].strip()
    if not text:
        raise InputError("empty", source=source, line=line, field=col, expected="a non-empty value")
    return text


def _rows(handle, source: str, required: Iterable[str]) -> Iterator[tuple[int, dict]]:
    """(line, row) for each record of a CSV with a header; malformed rows raise InputError."""
    reader = csv.DictReader(handle)
    header = reader.fieldnames
    if header is None:
        raise InputError("empty file", source=source, line=1, expected="a CSV header row")
    required = list(required)
    for col in required:
        if col not in header:
            raise InputError(f"no column {col!r} in header {header}", source=source, line=1, field=col,
                             expected=f"columns {required}")
    for row in reader:
        line = reader.line_num
        if None in row:
            raise InputError(f"{len(header) + len(row[None])} fields, header has {len(header)}",
                             source=source, line=line, expected=f"{len(header)} comma-separated fields")
        short = [col for col in header if row[col] is None]
        if short:
            raise InputError("missing value (row too short)", source=source, line=line, field=short[0],
                             expected=f"{len(header)} comma-separated fields")
        yield line, row


def _read(filename: str, path, required: Sequence[str]) -> tuple[str, list[tuple[int, dict]]]:
    """(source label, rows) of the shipped table `filename`, or of the file at `path`."""
    if path is None:
        source = f"placement/problem/data/{filename}"
        resource = importlib.resources.files(_DATA_PACKAGE) / "data" / filename
        with resource.open("r", encoding="utf-8", newline="") as f:
            return source, list(_rows(f, source, required))
    source = str(Path(path))
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return source, list(_rows(f, source, required))
    except FileNotFoundError:
        raise InputError("file not found", source=source) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not utf-8 text ({exc.reason} at byte {exc.start})", source=source,
                         expected="a CSV file in utf-8") from None
