"""The placement problem as validated, frozen arrays (its solutions and results: `placement.problem.solution`).

Axes: hosts `[host]`, models `[model]`, demands `[demand]`, demand sites `[site]`, epochs `[epoch]` and the
candidate slots of each demand `[epoch, demand, slot]`. A demand may only be served by the hosts in its
candidate slots (the network's pruning: the K satellites a site sees, the best gateways and cloud regions);
slot -1 is padding. The mathematical model (numbered constraints) is stated once, in
`placement.solvers.milp`; the evaluator (`placement.evaluation.metrics`) checks the same constraints.

Units are in the names. The objective is in request-milliseconds: every request served adds its latency,
every request not served adds `unserved_penalty_ms`, and deployment and migration costs are priced in the
same unit (latency-equivalent), so one number ranks solutions.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

import numpy as np

from placement.errors import InputError
from placement.problem.battery import sustained_power_w
from placement.problem.host_groups import first_slot_of_host, share_by_group
from placement.problem.link_rows import check_links, link_shapes, slot_link_terms
from placement.problem.queueing import chords, formation_request_ms, queue_length, servers

SATELLITE, GATEWAY, CLOUD, LOCAL = 0, 1, 2, 3
HOST_KINDS = ("satellite", "gateway", "cloud", "local")  # local: at the site itself, no network path


def _array(name: str, value, dtype, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(value)
    if a.shape != shape:
        raise InputError(f"has shape {a.shape}", field=name, expected=f"shape {shape}")
    if np.issubdtype(np.dtype(dtype), np.floating) and not np.issubdtype(a.dtype, np.number):
        raise InputError(f"has dtype {a.dtype}", field=name, expected="numbers")
    a = a.astype(dtype)
    a.setflags(write=False)
    return a


def _check(ok, name: str, message: str, expected: str, where=None):
    """Raise unless `ok` holds everywhere; name the first offending index."""
    ok = np.asarray(ok)
    if ok.all():
        return
    first = tuple(int(i) for i in np.argwhere(~ok)[0]) if ok.ndim else ()
    label = where(first) if where else (f"{name}{list(first)}" if first else name)
    raise InputError(f"{message} at {label}", field=name, expected=expected)


@dataclasses.dataclass(frozen=True, eq=False)
class PlacementProblem:
    """Hosts, models, demands, candidates and prices; checked on construction (`InputError` names the field).

    Hosts
      host_name [host], host_kind [host] (SATELLITE, GATEWAY, CLOUD, LOCAL), host_jurisdiction [host] (index into
      `jurisdictions`), memory_bytes [host], peak_flops_s [host] (the host's whole compute throughput),
      service_flops_s [host] (the speed one request sees: one accelerator), flops_per_joule [host]
      (accelerator efficiency), power_budget_w [epoch, host] (compute power available; inf on the ground),
      link_gbps [epoch, host] (ingress capacity that served requests and model uploads share),
      memory_bandwidth_bytes_s [host] (one accelerator's; optional).
    Models
      model_name [model], model_flops [model] (per inference), model_memory_bytes [model] (weights and
      runtime; also what a migration uploads), model_memory_traffic_bytes [model] (read from memory per
      request; optional).
    Demands
      demand_name [demand], demand_model [demand], demand_site [demand], rate_per_s [epoch, demand],
      request_bytes [demand], response_bytes [demand], slo_ms [demand], allowed [demand, jurisdiction].
    Sites
      site_name [site], site_uplink_gbps [epoch, site] (what the site's terminals carry up: the requests of
      all its demands), site_downlink_gbps [epoch, site] (what they carry down: the responses); inf unlimited.
    Candidates
      candidate_host [epoch, demand, slot] (-1 = none), candidate_rtt_ms [epoch, demand, slot] (round-trip
      propagation), candidate_up_gbps [epoch, demand, slot] (bottleneck of the path the requests take, site
      -> host: user-terminal uplink, lasers, feeder; sets the request's transmission time),
      candidate_down_gbps [epoch, demand, slot] (bottleneck of the path back, host -> site: the response's),
      candidate_share [epoch, demand, slot] (in [0, 1]: the largest share of the demand-epoch's requests the
      slot's host may serve, the share of the epoch's network steps in which it is reachable from the site,
      whatever model it runs; optional, ones; a slot with share 0 is not usable), candidate_model [epoch,
      demand, slot] (the model the slot runs the demand's requests with: a demand may be offered several
      models of one task, a host once per model; optional, demand_model in every slot), choice_cost_ms
      [demand, model] (request-ms per request served with that model: the accuracy it gives up; optional,
      zeros), candidate_transit [epoch, demand, slot, jurisdiction] (bool: the jurisdictions the slot's path
      touches in some step of the epoch that the demand's transit rule checks, `placement.network.transit`;
      a slot is usable only if they are all allowed (10); optional, None: no transit rule).
    Time and prices
      epoch_s [epoch] (duration), opening_cost [model, host] (per epoch a copy is placed),
      migration_cost_per_gb (per GB of weights uploaded to a host between epochs), unserved_penalty_ms
      (per request not served; None: every request must be served), placement ('fixed': one placement for
      the horizon; 'per_epoch': re-placed each epoch, uploads use the host's link), single_source (each
      demand served by one host per epoch).
    Shared links (optional; constraint 16, `placement.problem.link_rows`; absent: no link rows)
      link_name [link], link_kind [link] (index into LINK_KINDS), link_reverse [link] (the same link's other
      direction: a laser's, or the downlink beam of an uplink beam), link_capacity_gbps [epoch, link] (inf:
      no row), candidate_link [epoch, demand, slot, L] (the links the slot's requests cross, site -> host,
      -1 padding; its responses cross each one's link_reverse), candidate_link_share [epoch, demand, slot, L]
      (in [0, 1]: the share of the slot's served requests whose path crosses that link, the share of the
      steps in which the host is reachable whose path crosses it), candidate_link_steps [epoch, demand, slot,
      L] (optional, uint64: bit i set where the path crosses the link at the epoch's step i; lets the
      evaluator report the worst step). A row bounds the link's epoch-mean load, not each step's.
    Queueing
      queueing (requests wait for an accelerator: the M/D/c waiting of `placement.problem.queueing`, a
      convex function of each host-epoch's utilisation, is added to the objective and to each request's
      latency), utilization_ceiling (in (0, 1]; the share of min(peak, power x efficiency) a host may be
      loaded to; below 1 when queueing, where waiting grows without bound as utilisation nears 1).
    Battery (optional; constraint 14, `placement.problem.battery`)
      harvest_w [epoch, host] (mean power the panels give the host's compute over the epoch; inf: a ground
      host, no battery), battery_j [host] (usable energy of its battery share, full at the start); with
      them, power_budget_w is the most the host may draw at any moment (panels or battery), and what the
      battery holds carries from one epoch to the next. None: power_budget_w is each epoch's average budget.
    Measured service and batching (optional; `placement.problem.batching`)
      batch_size [model, host] (requests a copy serves together; ones), batch_s [model, host] (seconds one
      batch takes on one accelerator at full power, measured where published; NaN: the roofline): a request
      then occupies an accelerator for batch_s / batch_size (its compute load) and computes for batch_s (its
      latency); the wait for a batch to fill is in opening_cost (`queueing.formation_request_ms`).
    Service-level objectives
      slo_mode ('report': attainment only; 'penalty': each request served in a slot whose latency before
      waiting exceeds its SLO adds slo_penalty_ms; 'constraint': such slots are unusable (10), with queueing a
      slot serves only where its host's mean wait is within the SLO less its latency (18), and a demand
      none of whose slots meets its SLO goes unserved), slo_penalty_ms (request-ms).
    """

    host_name: tuple[str, ...]
    host_kind: np.ndarray
    host_jurisdiction: np.ndarray
    jurisdictions: tuple[str, ...]
    memory_bytes: np.ndarray
    peak_flops_s: np.ndarray
    service_flops_s: np.ndarray
    flops_per_joule: np.ndarray
    power_budget_w: np.ndarray
    link_gbps: np.ndarray
    model_name: tuple[str, ...]
    model_flops: np.ndarray
    model_memory_bytes: np.ndarray
    demand_name: tuple[str, ...]
    demand_model: np.ndarray
    demand_site: np.ndarray
    rate_per_s: np.ndarray
    request_bytes: np.ndarray
    response_bytes: np.ndarray
    slo_ms: np.ndarray
    allowed: np.ndarray
    site_name: tuple[str, ...]
    site_uplink_gbps: np.ndarray
    site_downlink_gbps: np.ndarray
    candidate_host: np.ndarray
    candidate_rtt_ms: np.ndarray
    candidate_up_gbps: np.ndarray
    candidate_down_gbps: np.ndarray
    epoch_s: np.ndarray
    opening_cost: np.ndarray
    migration_cost_per_gb: float = 0.0
    unserved_penalty_ms: float | None = 10_000.0
    placement: Literal["fixed", "per_epoch"] = "fixed"
    single_source: bool = False
    model_memory_traffic_bytes: np.ndarray | None = None  # [model] read per request (None: not limiting)
    memory_bandwidth_bytes_s: np.ndarray | None = None  # [host] one accelerator's (None: unlimited)
    candidate_share: np.ndarray | None = None  # [epoch, demand, slot] reachable share (None: ones)
    candidate_model: np.ndarray | None = None  # [epoch, demand, slot] (None: demand_model everywhere)
    choice_cost_ms: np.ndarray | None = None  # [demand, model] (None: zeros)
    queueing: bool = False
    utilization_ceiling: float = 1.0
    slo_mode: Literal["report", "penalty", "constraint"] = "report"
    slo_penalty_ms: float = 0.0
    harvest_w: np.ndarray | None = None  # [epoch, host] (None: no battery carried)
    battery_j: np.ndarray | None = None  # [host]
    batch_size: np.ndarray | None = None  # [model, host] (None: ones)
    batch_s: np.ndarray | None = None  # [model, host] seconds of one batch (None or NaN: the roofline)
    link_name: tuple[str, ...] = ()  # [link] (empty: no link rows)
    link_kind: np.ndarray | None = None  # [link] (None: none)
    link_reverse: np.ndarray | None = None  # [link]
    link_capacity_gbps: np.ndarray | None = None  # [epoch, link]
    candidate_link: np.ndarray | None = None  # [epoch, demand, slot, L] (None: no links, L = 0)
    candidate_link_share: np.ndarray | None = None  # [epoch, demand, slot, L]
    candidate_link_steps: np.ndarray | None = None  # [epoch, demand, slot, L] uint64 (None: not known)
    candidate_transit: np.ndarray | None = None  # [epoch, demand, slot, jurisdiction] bool (None: no rule)

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        for name in ("host_name", "jurisdictions", "model_name", "demand_name", "site_name", "link_name"):
            set_(name, tuple(str(s) for s in getattr(self, name)))
        H, M, D, S, J = (len(self.host_name), len(self.model_name), len(self.demand_name),
                         len(self.site_name), len(self.jurisdictions))
        if self.model_memory_traffic_bytes is None:
            set_("model_memory_traffic_bytes", np.zeros(M))
        if self.memory_bandwidth_bytes_s is None:
            set_("memory_bandwidth_bytes_s", np.full(H, np.inf))
        T = np.asarray(self.epoch_s).shape[0] if np.ndim(self.epoch_s) == 1 else -1
        if T < 1:
            raise InputError("must be a non-empty 1-D array", field="epoch_s", expected="shape (epoch,)")
        cand = np.asarray(self.candidate_host)
        if cand.ndim != 3 or cand.shape[:2] != (T, D):
            raise InputError(f"has shape {cand.shape}", field="candidate_host",
                             expected=f"shape ({T}, {D}, slot)")
        K = cand.shape[2]
        if self.candidate_share is None:
            set_("candidate_share", np.ones(cand.shape))
        if self.candidate_model is None:
            set_("candidate_model", np.broadcast_to(np.asarray(self.demand_model)[None, :, None], cand.shape))
        if self.choice_cost_ms is None:
            set_("choice_cost_ms", np.zeros((D, M)))
        if self.batch_size is None:
            set_("batch_size", np.ones((M, H), np.int64))
        if self.batch_s is None:
            set_("batch_s", np.full((M, H), np.nan))
        shapes = {
            "host_kind": (np.int8, (H,)), "host_jurisdiction": (np.int32, (H,)),
            "memory_bytes": (np.float64, (H,)), "peak_flops_s": (np.float64, (H,)),
            "service_flops_s": (np.float64, (H,)), "flops_per_joule": (np.float64, (H,)),
            "power_budget_w": (np.float64, (T, H)), "link_gbps": (np.float64, (T, H)),
            "model_flops": (np.float64, (M,)), "model_memory_bytes": (np.float64, (M,)),
            "demand_model": (np.int32, (D,)), "demand_site": (np.int32, (D,)),
            "rate_per_s": (np.float64, (T, D)), "request_bytes": (np.float64, (D,)),
            "response_bytes": (np.float64, (D,)), "slo_ms": (np.float64, (D,)), "allowed": (bool, (D, J)),
            "site_uplink_gbps": (np.float64, (T, S)), "site_downlink_gbps": (np.float64, (T, S)),
            "candidate_host": (np.int32, (T, D, K)), "candidate_rtt_ms": (np.float64, (T, D, K)),
            "candidate_up_gbps": (np.float64, (T, D, K)), "candidate_down_gbps": (np.float64, (T, D, K)),
            "candidate_share": (np.float64, (T, D, K)), "candidate_model": (np.int32, (T, D, K)),
            "choice_cost_ms": (np.float64, (D, M)),
            "epoch_s": (np.float64, (T,)), "opening_cost": (np.float64, (M, H)),
            "model_memory_traffic_bytes": (np.float64, (M,)), "memory_bandwidth_bytes_s": (np.float64, (H,)),
            "batch_size": (np.int64, (M, H)), "batch_s": (np.float64, (M, H)),
        }
        if (self.harvest_w is None) != (self.battery_j is None):
            raise InputError("one of harvest_w and battery_j is given", field="battery_j",
                             expected="both (a battery carried between epochs) or neither")
        if self.harvest_w is not None:
            shapes |= {"harvest_w": (np.float64, (T, H)), "battery_j": (np.float64, (H,))}
        shapes |= link_shapes(self, set_, (T, D, K))
        if self.candidate_transit is not None:
            shapes["candidate_transit"] = (bool, (T, D, K, J))
        for name, (dtype, shape) in shapes.items():
            set_(name, _array(name, getattr(self, name), dtype, shape))
        if self.placement not in ("fixed", "per_epoch"):
            raise InputError(f"is {self.placement!r}", field="placement", expected="'fixed' or 'per_epoch'")
        if self.unserved_penalty_ms is not None and not (np.isfinite(self.unserved_penalty_ms)
                                                         and self.unserved_penalty_ms >= 0):
            raise InputError(f"is {self.unserved_penalty_ms}", field="unserved_penalty_ms",
                             expected="a finite number >= 0, or None to require every request served")
        if not 0.0 < self.utilization_ceiling <= 1.0 or (self.queueing and self.utilization_ceiling == 1.0):
            raise InputError(f"is {self.utilization_ceiling}", field="utilization_ceiling",
                             expected="a share in (0, 1), below 1 with queueing" if self.queueing else "a share in (0, 1]")
        if self.slo_mode not in ("report", "penalty", "constraint"):
            raise InputError(f"is {self.slo_mode!r}", field="slo_mode", expected="'report', 'penalty' or 'constraint'")
        if not (np.isfinite(self.slo_penalty_ms) and self.slo_penalty_ms >= 0):
            raise InputError(f"is {self.slo_penalty_ms}", field="slo_penalty_ms", expected="a finite number >= 0")
        if not (np.isfinite(self.migration_cost_per_gb) and self.migration_cost_per_gb >= 0):
            raise InputError(f"is {self.migration_cost_per_gb}", field="migration_cost_per_gb",
                             expected="a finite number >= 0")

        _check(np.isin(self.host_kind, (SATELLITE, GATEWAY, CLOUD, LOCAL)), "host_kind", "unknown kind",
               "0 (satellite), 1 (gateway), 2 (cloud) or 3 (local)")
        _check((self.host_jurisdiction >= 0) & (self.host_jurisdiction < J), "host_jurisdiction",
               "index out of range", f"an index into the {J} jurisdictions")
        _check((self.demand_model >= 0) & (self.demand_model < M), "demand_model", "index out of range",
               f"an index into the {M} models")
        _check((self.demand_site >= 0) & (self.demand_site < S), "demand_site", "index out of range",
               f"an index into the {S} sites")
        _check((self.candidate_model >= 0) & (self.candidate_model < M), "candidate_model", "index out of range",
               f"an index into the {M} models")
        _check((cand >= -1) & (cand < H), "candidate_host", "index out of range", f"-1 or a host index < {H}")
        for name in ("memory_bytes", "model_flops", "model_memory_bytes", "request_bytes", "response_bytes",
                     "opening_cost", "rate_per_s", "model_memory_traffic_bytes", "choice_cost_ms"):
            _check(np.isfinite(getattr(self, name)) & (getattr(self, name) >= 0), name,
                   "negative or not finite", "finite values >= 0")
        for name in ("peak_flops_s", "service_flops_s", "flops_per_joule", "epoch_s", "slo_ms",
                     "memory_bandwidth_bytes_s"):
            _check(getattr(self, name) > 0, name, "not positive", "values > 0")
        _check(self.batch_size >= 1, "batch_size", "below 1", "integers >= 1")
        _check(self.opening_cost >= formation_request_ms(self.batch_size, self.epoch_s.max()) * (1 - 1e-12),
               "opening_cost", "below the wait for batches to fill",
               "opening_cost including 1e3 x epoch_s x (batch_size - 1) / 2 (placement.problem.batching)")
        _check(np.isnan(self.batch_s) | (np.isfinite(self.batch_s) & (self.batch_s > 0)), "batch_s",
               "not positive", "seconds > 0, or NaN for the roofline")
        if self.harvest_w is not None:
            _check(np.isfinite(self.battery_j) & (self.battery_j >= 0), "battery_j", "negative or not finite",
                   "finite energies >= 0 (J)")
        for name in ("power_budget_w", "link_gbps", "site_uplink_gbps", "site_downlink_gbps") + (
                ("harvest_w",) if self.harvest_w is not None else ()):
            _check(~np.isnan(getattr(self, name)) & (getattr(self, name) >= 0), name,
                   "negative or NaN", "values >= 0 (inf: unlimited)")
        real = cand >= 0
        _check(~real | (np.isfinite(self.candidate_rtt_ms) & (self.candidate_rtt_ms >= 0)), "candidate_rtt_ms",
               "negative or not finite on a candidate", "finite values >= 0 where candidate_host >= 0")
        for name in ("candidate_up_gbps", "candidate_down_gbps"):
            _check(~real | (getattr(self, name) > 0), name, "not positive on a candidate",
                   "values > 0 where candidate_host >= 0")
        _check((self.candidate_share >= 0) & (self.candidate_share <= 1), "candidate_share", "outside [0, 1]",
               "shares in [0, 1]")
        pair = np.where(real, cand.astype(np.int64) * M + self.candidate_model, -1 - np.arange(K))  # padding distinct
        ordered = np.sort(pair, axis=2)
        _check((np.diff(ordered, axis=2) != 0).all(axis=2), "candidate_host", "a host repeated with one model",
               "distinct (host, model) pairs in the slots of one demand and epoch")
        first = np.take_along_axis(self.candidate_share, self.host_group(), axis=2)
        _check(~real | (self.candidate_share == first), "candidate_share", "differs between two slots of one host",
               "one share per host and demand-epoch")
        check_links(self, _check)
        usable = self.usable_slots(slo=False)  # a demand no slot serves within its SLO is a finding, not an error
        # A demand with no candidate at all is one whose site nothing reaches (a partial deployment's gap, said
        # by the pipeline): its requests are an outage. One whose candidates are all unusable is an input error.
        _check(usable.any(axis=(0, 2)) | ~real.any(axis=(0, 2)), "candidate_host",
               "a demand has no usable candidate host (allowed jurisdiction, with power, share > 0) in any epoch",
               "at least one usable candidate per demand",
               where=lambda i: f"demand {self.demand_name[i[0]]!r}")

    # Sizes
    @property
    def n_hosts(self) -> int:
        return len(self.host_name)

    @property
    def n_models(self) -> int:
        return len(self.model_name)

    @property
    def n_demands(self) -> int:
        return len(self.demand_name)

    @property
    def n_epochs(self) -> int:
        return self.epoch_s.shape[0]

    @property
    def n_slots(self) -> int:
        return self.candidate_host.shape[2]

    @property
    def size(self) -> str:
        """hosts x demands x models x epochs, the way benchmarks label instances."""
        return f"{self.n_hosts}x{self.n_demands}x{self.n_models}x{self.n_epochs}"

    def usable_slots(self, slo: bool = True) -> np.ndarray:
        """[epoch, demand, slot] bool: a real candidate, in a jurisdiction the demand allows and reached through
        allowed ones only (constraint 10), on a host that has compute power in that epoch and is reachable for
        some of it (share > 0, (12));
        under slo_mode 'constraint' (and `slo`) also within the demand's SLO before waiting."""
        host = np.maximum(self.candidate_host, 0)
        allowed = self.allowed[np.arange(self.n_demands)[None, :, None], self.host_jurisdiction[host]]
        powered = self.compute_budget_flops_s()[np.arange(self.n_epochs)[:, None, None], host] > 0
        usable = (self.candidate_host >= 0) & allowed & powered & (self.candidate_share > 0)
        if self.candidate_transit is not None:  # and a path through allowed jurisdictions only (10)
            usable &= ~(self.candidate_transit & ~self.allowed[None, :, None, :]).any(axis=3)
        if slo and self.slo_mode == "constraint":
            usable &= ~self.over_slo()
        return usable

    def over_slo(self) -> np.ndarray:
        """[epoch, demand, slot] bool: the slot's latency before waiting exceeds the demand's SLO."""
        return self.slo_slack_ms() < 0

    @property
    def slo_counts_waiting(self) -> bool:
        """Whether (18) applies: the SLO is a constraint and requests queue, so the wait counts against it."""
        return self.queueing and self.slo_mode == "constraint"

    def slo_slack_ms(self) -> np.ndarray:
        """[epoch, demand, slot]: the demand's SLO less the slot's latency before waiting: the most a request
        there may wait for an accelerator under slo_mode 'constraint' (18)."""
        return self.slo_ms[None, :, None] - sum(self.latency_parts_ms())

    def slot_cost_ms(self) -> np.ndarray:
        """[epoch, demand, slot]: what one request served in the slot adds to the objective before waiting:
        its latency, the choice cost of the slot's model, and slo_penalty_ms where the latency exceeds the SLO
        under slo_mode 'penalty'. Read-only: computed once per problem."""
        return self._slot_cost_ms

    @functools.cached_property
    def _slot_cost_ms(self) -> np.ndarray:
        # once per problem: the objective, every State and the repair ask for it (about 3 s each on the
        # optimizer benchmark's 8.6M slots); read-only, so that no caller can change it for the others
        choice = self.choice_cost_ms[np.arange(self.n_demands)[None, :, None], self.candidate_model]
        penalty = np.where(self.over_slo(), self.slo_penalty_ms, 0.0) if self.slo_mode == "penalty" else 0.0
        cost = self.latency_ms() + choice + penalty
        cost.setflags(write=False)
        return cost

    def carrying_slots(self) -> np.ndarray:
        """[epoch, demand, slot] bool: usable slots that can carry some of the demand at all: the model fits
        the host's memory, and where requests move bits or need FLOPs the links and compute are not zero
        (the host link where either direction moves bits, the site uplink where requests do, the downlink
        where responses do, both only on slots through the site's terminals; every shared link the slot
        loads, 16). Any feasible solution has x = 0 elsewhere."""
        host = np.maximum(self.candidate_host, 0)
        t = np.arange(self.n_epochs)[:, None, None]
        site = self.demand_site[None, :, None]
        up = (self.request_bits_per_s() > 0)[:, :, None]
        down = (self.response_bits_per_s() > 0)[:, :, None]
        flops = self.slot_flops_per_s() > 0
        ok = self.usable_slots() & (self.model_memory_bytes[self.candidate_model] <= self.memory_bytes[host])
        ok &= ~(up | down) | (self.link_gbps[t, host] > 0)
        via = self.via_site()
        ok &= ~up | ~via | (self.site_uplink_gbps[t, site] > 0)
        ok &= ~down | ~via | (self.site_downlink_gbps[t, site] > 0)
        row, bits = self.link_terms()
        closed = (row >= 0) & (bits > 0) & (self.network_link_bps().ravel()[np.maximum(row, 0)] <= 0)
        ok &= ~closed.any(axis=3)  # a shared link with no capacity on the path (16)
        return ok & (~flops | (self.compute_budget_flops_s()[t, host] > 0))

    def via_site(self) -> np.ndarray:
        """[epoch, demand, slot] bool: a real slot whose requests cross the site's terminals (7a, 7b): any
        host but a local one, which sits at the site."""
        return (self.candidate_host >= 0) & (self.host_kind[np.maximum(self.candidate_host, 0)] != LOCAL)

    def candidate_hosts(self) -> np.ndarray:
        """Sorted indices of the hosts that are some demand's candidate in some epoch: no other host can
        carry anything, so a solver may work on `restricted_to(candidate_hosts())` alone."""
        return np.unique(self.candidate_host[self.candidate_host >= 0])

    def restricted_to(self, hosts: np.ndarray) -> PlacementProblem:
        """The same problem on the sorted `hosts` only (every candidate host among them): host arrays taken
        at `hosts`, candidate slots renumbered (their rates, round trips and shares are per slot and stay).
        A solution of it is one of this problem through `Solution.on_hosts`, with the same objective."""
        hosts = np.asarray(hosts)
        if not np.isin(self.candidate_host[self.candidate_host >= 0], hosts).all():
            raise ValueError("restricted_to: every candidate host must be kept")
        renumber = np.full(self.n_hosts, -1)
        renumber[hosts] = np.arange(len(hosts))
        per_host = lambda a: None if a is None else a[..., hosts]  # noqa: E731 (host is the last axis)
        return dataclasses.replace(
            self, host_name=tuple(self.host_name[h] for h in hosts), host_kind=self.host_kind[hosts],
            host_jurisdiction=self.host_jurisdiction[hosts], memory_bytes=per_host(self.memory_bytes),
            peak_flops_s=per_host(self.peak_flops_s), service_flops_s=per_host(self.service_flops_s),
            flops_per_joule=per_host(self.flops_per_joule), power_budget_w=per_host(self.power_budget_w),
            link_gbps=per_host(self.link_gbps), opening_cost=per_host(self.opening_cost),
            harvest_w=per_host(self.harvest_w), battery_j=per_host(self.battery_j),
            memory_bandwidth_bytes_s=per_host(self.memory_bandwidth_bytes_s),
            batch_size=per_host(self.batch_size), batch_s=per_host(self.batch_s),
            candidate_host=np.where(self.candidate_host >= 0, renumber[np.maximum(self.candidate_host, 0)], -1))

    def without_slots(self, drop: np.ndarray) -> PlacementProblem:
        """The same problem with the `drop` [epoch, demand, slot] slots made padding (a failed host's): no host,
        and none of the links their paths crossed."""
        if not drop.any():
            return self
        fields = {"candidate_host": np.where(drop, -1, self.candidate_host)}
        if self.candidate_link is not None:
            gone = drop[..., None]
            fields |= {"candidate_link": np.where(gone, -1, self.candidate_link),
                       "candidate_link_share": np.where(gone, 0.0, self.candidate_link_share)}
            if self.candidate_link_steps is not None:
                fields["candidate_link_steps"] = np.where(gone, 0, self.candidate_link_steps)
        return dataclasses.replace(self, **fields)

    def requests(self) -> np.ndarray:
        """[epoch, demand]: requests issued in each epoch."""
        return self.rate_per_s * self.epoch_s[:, None]

    # Load coefficients and limits in the units the constraints of `placement.solvers.milp` sum them in,
    # defined once for every solver (the evaluator derives its own on purpose).
    def compute_capacity_flops_s(self) -> np.ndarray:
        """[epoch, host]: throughput the host can run at, the tighter of its peak and power x efficiency: what
        its utilisation is measured against."""
        return np.minimum(self.peak_flops_s[None, :], self.power_budget_w * self.flops_per_joule[None, :])

    def compute_budget_flops_s(self) -> np.ndarray:
        """[epoch, host]: throughput the host may use (constraints 3-4): its capacity times the ceiling."""
        return self.utilization_ceiling * self.compute_capacity_flops_s()

    def host_flops_s(self, assignment: np.ndarray) -> np.ndarray:
        """[epoch, host]: compute load in FLOP/s of the shares `assignment` [epoch, demand, slot] (3-4)."""
        T, H = self.n_epochs, self.n_hosts
        row = np.arange(T)[:, None, None] * H + np.maximum(self.candidate_host, 0)
        load = np.where(self.candidate_host >= 0, assignment * self.slot_flops_per_s(), 0.0)
        return np.bincount(row.ravel(), load.ravel(), T * H).reshape(T, H)

    def sustained_budget_flops_s(self) -> np.ndarray:
        """[epoch, host]: a compute budget per epoch that keeps every battery above empty whatever the other
        epochs use (`battery.sustained_power_w`; the ceiling applied), for solvers that fill epochs one at a
        time; `compute_budget_flops_s` without a battery."""
        if self.harvest_w is None:
            return self.compute_budget_flops_s()
        power = sustained_power_w(self.power_budget_w, self.harvest_w, self.battery_j, self.epoch_s)
        return self.utilization_ceiling * np.minimum(self.peak_flops_s[None, :], power * self.flops_per_joule[None, :])

    def battery_hosts(self) -> np.ndarray:
        """[host] bool: a battery carried between epochs (finite harvest in every epoch)."""
        if self.harvest_w is None:
            return np.zeros(self.n_hosts, bool)
        return np.isfinite(self.harvest_w).all(axis=0)

    def queue_servers(self) -> np.ndarray:
        """[host] accelerators that serve requests in parallel (`queueing.servers`)."""
        return servers(self.peak_flops_s, self.service_flops_s)

    def waiting_chords(self) -> tuple[np.ndarray, np.ndarray]:
        """Intercepts and slopes [host, chord] of each host's mean queue against utilisation
        (`placement.problem.queueing.chords`); zero when requests do not queue."""
        if not self.queueing:
            return np.zeros((self.n_hosts, 1)), np.zeros((self.n_hosts, 1))
        return chords(self.queue_servers(), self.utilization_ceiling)

    def waiting_request_ms(self, compute_flops_s: np.ndarray) -> np.ndarray:
        """[epoch, host]: request-ms all requests at the host wait over the epoch, given its compute load
        [epoch, host] in FLOP/s: 1e3 x epoch_s x Lq(utilisation) (constraint 13; Little's law)."""
        rho = compute_flops_s * inverse_limit(self.compute_capacity_flops_s())
        return 1e3 * self.epoch_s[:, None] * queue_length(rho, *self.waiting_chords())

    def link_bps(self) -> np.ndarray:
        """[epoch, host]: host ingress capacity in bits/s (constraint 6)."""
        return 1e9 * self.link_gbps

    @property
    def n_links(self) -> int:
        return len(self.link_name)

    def network_link_bps(self) -> np.ndarray:
        """[epoch, link]: each shared link's capacity in bits/s (constraint 16)."""
        return 1e9 * self.link_capacity_gbps

    def link_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, bits_per_s) [epoch, demand, slot, 2L]: the (epoch, link) rows of (16) each slot loads and the
        load of the whole demand there (`placement.problem.link_rows.slot_link_terms`; rows -1: none)."""
        return self._link_terms

    @functools.cached_property
    def _link_terms(self) -> tuple[np.ndarray, np.ndarray]:
        return slot_link_terms(self)

    def site_uplink_bps(self) -> np.ndarray:
        """[epoch, site]: what the site's terminals carry up in bits/s (constraint 7a)."""
        return 1e9 * self.site_uplink_gbps

    def site_downlink_bps(self) -> np.ndarray:
        """[epoch, site]: what the site's terminals carry down in bits/s (constraint 7b)."""
        return 1e9 * self.site_downlink_gbps

    def slot_flops_per_s(self) -> np.ndarray:
        """[epoch, demand, slot]: FLOP/s the whole demand needs where it is all served in the slot, with the
        slot's model (constraints 3-4)."""
        return self.rate_per_s[:, :, None] * self.flops_per_request()[self.candidate_model,
                                                                      np.maximum(self.candidate_host, 0)]

    def flops_per_request(self) -> np.ndarray:
        """[model, host]: the compute one request costs the host (3-4): the model's FLOPs, or where a batch time
        is given, its share of an accelerator, batch_s / batch_size, in FLOP-equivalents of its speed."""
        batched = self.batch_s / self.batch_size * self.service_flops_s[None, :]
        return np.where(np.isnan(self.batch_s), self.model_flops[:, None], batched)

    def host_group(self) -> np.ndarray:
        """[epoch, demand, slot]: the first slot of the demand-epoch with the same host (its own index where
        the host appears once): slots of one host, with different models, share its reachable share (12)."""
        return self._host_group

    @functools.cached_property
    def _host_group(self) -> np.ndarray:  # once per problem: the repair asks every round (the arrays are frozen)
        return first_slot_of_host(self.candidate_host)

    def host_share_served(self, assignment: np.ndarray) -> np.ndarray:
        """[epoch, demand, slot]: the share the slot's host serves of the demand-epoch, over all its models."""
        return share_by_group(self.host_group(), assignment)

    def request_bits_per_s(self) -> np.ndarray:
        """[epoch, demand]: bits/s the whole demand's requests move up where it is all served (constraint 7a)."""
        return self.rate_per_s * (8.0 * self.request_bytes)[None, :]

    def response_bits_per_s(self) -> np.ndarray:
        """[epoch, demand]: bits/s the whole demand's responses move down where it is all served (7b)."""
        return self.rate_per_s * (8.0 * self.response_bytes)[None, :]

    def bits_per_s(self) -> np.ndarray:
        """[epoch, demand]: bits/s the whole demand moves through its host's link, requests and responses,
        where it is all served (constraint 6)."""
        return self.rate_per_s * (8.0 * (self.request_bytes + self.response_bytes))[None, :]

    def upload_bps(self) -> np.ndarray:
        """[epoch, model]: bits/s an upload of the model's weights takes from a host link over the epoch
        (per_epoch placement, constraints 6 and 8)."""
        return 8.0 * self.model_memory_bytes[None, :] / self.epoch_s[:, None]

    def migration_cost(self) -> np.ndarray:
        """[model]: objective added by one upload of the model (request-ms; per_epoch placement)."""
        return self.migration_cost_per_gb * (self.model_memory_bytes / 1e9)

    def latency_ms(self) -> np.ndarray:
        """[epoch, demand, slot]: latency of one request served in that slot (inf where unusable): the sum
        of `latency_parts_ms`."""
        rtt_ms, transmission_ms, compute_ms = self.latency_parts_ms()
        return np.where(self.usable_slots(), rtt_ms + transmission_ms + compute_ms, np.inf)

    def latency_parts_ms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """[epoch, demand, slot] each: (round trip, transmission, compute) of one request in that slot,
        on every slot (padding and unusable slots hold meaningless values; `latency_ms` masks them).

        Round-trip propagation; transmission of the request at the bottleneck of the path up
        (candidate_up_gbps) and of the response at the bottleneck of the path down (candidate_down_gbps);
        compute on one accelerator: the slower of its arithmetic (FLOPs at its speed, lower when the power
        budget cannot run it at peak) and its memory traffic at the accelerator's bandwidth (a roofline; what
        bounds language-model decoding at batch 1), or where batch_s is given its batch's time, stretched
        likewise when the power budget slows the accelerator. Without batch_s capacity stays FLOP-based
        (constraint 3): requests served together are taken to share each weight read, so bandwidth limits one
        request's latency, not the host's throughput; with it, a request occupies batch_s / batch_size.
        """
        host = np.maximum(self.candidate_host, 0)
        up, down = self.candidate_up_gbps, self.candidate_down_gbps
        # request bits / up + response bits / down, as one quotient: equal rates then give exactly
        # (request + response bits) / rate, the figure of a path with one rate, to the last bit
        with np.errstate(divide="ignore", invalid="ignore"):  # padding slots may hold no rate
            bits = 8.0 * (self.request_bytes[None, :, None] + self.response_bytes[None, :, None] * (up / down))
            transmission_ms = 1e3 * bits / (up * 1e9)
        # One accelerator's speed, lower when the power budget cannot feed it (eclipse)
        speed = np.minimum(self.service_flops_s[None, :], self.power_budget_w * self.flops_per_joule[None, :])
        t = np.arange(self.n_epochs)[:, None, None]
        model = self.candidate_model
        with np.errstate(divide="ignore"):
            arithmetic_s = self.model_flops[model] / speed[t, host]
        memory_s = self.model_memory_traffic_bytes[model] / self.memory_bandwidth_bytes_s[host]
        with np.errstate(divide="ignore"):
            batch_s = self.batch_s[model, host] * (self.service_flops_s[host] / speed[t, host])
        compute_ms = 1e3 * np.where(np.isnan(batch_s), np.maximum(arithmetic_s, memory_s), batch_s)
        return self.candidate_rtt_ms, transmission_ms, compute_ms


def inverse_limit(limit: np.ndarray) -> np.ndarray:
    """1 / limit where it is finite and > 0, else 0: a load as a fraction of its limit is load x this, 0 where
    the limit is unlimited (a zero limit gets no load: `PlacementProblem.carrying_slots` leaves it out)."""
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(limit) & (limit > 0), 1.0 / limit, 0.0)
