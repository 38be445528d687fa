"""Score and check a placement from the raw problem arrays, independently of every solver.

`evaluate(problem, solution)` recomputes the objective of `placement.solvers.milp` term by term and checks
each of its constraints (1)-(16) and (18) with its own sums (np.add.at over the candidate hosts, not the solver's
matrices), so a solver bug shows up here instead of being trusted. It reports each violated constraint and
by how much, a latency breakdown per demand, and the load on every host and site link against its limits.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from placement.problem.battery import state_of_charge
from placement.problem.link_rows import LINK_KINDS
from placement.problem.queueing import formation_request_ms, queue_length, waiting_ms
from placement.problem.solution import Solution
from placement.problem.spec import HOST_KINDS, LOCAL, PlacementProblem

DEFAULT_TOLERANCE = 1e-6  # relative, on each limit; solvers' own feasibility tolerances are about this
# A battery within this share of full counts as empty: a MILP leaves a few joules of its 64.8 kJ above its
# empty row (HiGHS's feasibility tolerance on the energy balance, scaled by the epoch's seconds).
BATTERY_EMPTY_SHARE = 1e-4


@dataclasses.dataclass(frozen=True)
class Violation:
    constraint: str  # "(3) compute" etc., numbered as in placement.solvers.milp
    where: str  # "epoch 0, host sat3"
    amount: float  # by how much the limit is exceeded (in the limit's unit)
    limit: float


@dataclasses.dataclass(frozen=True, eq=False)
class Evaluation:
    """Objective terms (request-ms), constraint violations, per-demand latency and per-host load."""

    feasible: bool
    violations: tuple[Violation, ...]
    objective: float
    latency_term: float
    waiting_term: float  # request-ms spent waiting for an accelerator (0 without queueing)
    slo_term: float  # slo_penalty_ms x requests served over their SLO before waiting (slo_mode 'penalty')
    choice_term: float  # choice_cost_ms of the model each request is served with (the accuracy given up)
    unserved_term: float
    opening_term: float  # without the batch formation waiting
    migration_term: float
    batching_term: float  # request-ms waiting for batches to fill, per placed copy (placement.problem.batching)
    requests: float  # all requests over the horizon
    served_requests: float
    mean_latency_ms: float  # over served requests, waiting and the wait for a batch to fill included
    p95_latency_ms: float  # over served requests
    slo_attainment: float  # share of all requests served within their demand's SLO
    demand_mean_latency_ms: np.ndarray  # [demand] waiting included (nan when nothing is served)
    demand_mean_waiting_ms: np.ndarray  # [demand] mean wait for an accelerator (nan when nothing is served)
    demand_p95_latency_ms: np.ndarray  # [demand]
    demand_slo_attainment: np.ndarray  # [demand]
    demand_unserved_share: np.ndarray  # [demand]
    compute_flops_s: np.ndarray  # [epoch, host] load
    compute_utilization: np.ndarray  # [epoch, host] load / min(peak, power x efficiency)
    host_waiting_ms: np.ndarray  # [epoch, host] mean wait of a request there (0 where nothing is served)
    power_w: np.ndarray  # [epoch, host] compute power drawn
    energy_j: np.ndarray  # [host kind] accelerator energy over the horizon, by HOST_KINDS (power x epoch_s)
    battery_soc_j: np.ndarray  # [epoch + 1, host] energy in each battery at the epochs' boundaries (nan: none)
    memory_utilization: np.ndarray  # [epoch, host]
    link_utilization: np.ndarray  # [epoch, host] (requests + uploads) / capacity
    site_uplink_utilization: np.ndarray  # [epoch, site] request bits / what the site's terminals carry up
    site_downlink_utilization: np.ndarray  # [epoch, site] response bits / what they carry down
    shared_link_utilization: np.ndarray  # [epoch, link] epoch-mean load / capacity of each shared link (16)
    # [epoch, link] the load of the link's worst network step / capacity (nan: the problem has no steps)
    shared_link_peak_utilization: np.ndarray

    @property
    def unserved_share(self) -> float:
        return 1.0 - self.served_requests / self.requests if self.requests > 0 else 0.0

    @property
    def battery_empty_host_epochs(self) -> int:
        """(epoch, host) pairs in which a host draws power and its battery ends the epoch empty (within
        BATTERY_EMPTY_SHARE of full): where the battery row (14) binds and limits its compute."""
        with np.errstate(invalid="ignore"):  # nan: no battery
            empty = self.battery_soc_j[1:] <= BATTERY_EMPTY_SHARE * self.battery_soc_j[:1]
        return int((empty & (self.power_w > 0)).sum())

    def summary(self) -> dict:
        """The scalar metrics, JSON-ready."""
        return {
            "feasible": self.feasible, "violations": len(self.violations), "objective": self.objective,
            "latency_term": self.latency_term, "waiting_term": self.waiting_term, "slo_term": self.slo_term,
            "choice_term": self.choice_term,
            "unserved_term": self.unserved_term,
            "opening_term": self.opening_term, "migration_term": self.migration_term,
            "batching_term": self.batching_term,
            "requests": self.requests, "unserved_share": self.unserved_share,
            "mean_latency_ms": self.mean_latency_ms, "p95_latency_ms": self.p95_latency_ms,
            "mean_waiting_ms": self.waiting_term / self.served_requests if self.served_requests > 0 else 0.0,
            "slo_attainment": self.slo_attainment,
            "battery_empty_host_epochs": self.battery_empty_host_epochs,
            "energy_kwh": float(self.energy_j.sum()) / 3.6e6,
            "energy_j_per_request": float(self.energy_j.sum()) / self.served_requests if self.served_requests > 0 else 0.0,
            **{f"energy_kwh_{kind}": float(e) / 3.6e6 for kind, e in zip(HOST_KINDS, self.energy_j)},
            **({"shared_link_utilization_max": float(self.shared_link_utilization.max()),
                "shared_link_worst_step_utilization_max": float(np.nanmax(self.shared_link_peak_utilization))
                if not np.isnan(self.shared_link_peak_utilization).all() else None}
               if self.shared_link_utilization.size else {}),
        }


def _worst_step_bps(p: PlacementProblem, served_rate: np.ndarray, t_ix: np.ndarray) -> np.ndarray:
    """[epoch, link] the load of each shared link in its busiest network step (nan without candidate_link_steps):
    a slot's requests spread evenly over the steps in which its host is reachable (its share a of the
    epoch), so at each step whose path crosses the link it sends rate x / a."""
    T, N = p.link_capacity_gbps.shape
    if p.candidate_link_steps is None:
        return np.full((T, N), np.nan)
    link = p.candidate_link
    on = link >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        per_step = np.where(p.candidate_share > 0, served_rate / p.candidate_share, 0.0)[..., None]
    masks = p.candidate_link_steps[on]
    crossed = ((masks[:, None] >> np.arange(64, dtype=np.uint64)[None, :]) & np.uint64(1)).astype(bool)  # [entry, step]
    n_steps = int(np.flatnonzero(crossed.any(axis=0)).max(initial=-1)) + 1
    entry, step = np.nonzero(crossed[:, :n_steps])
    t = np.broadcast_to(t_ix[..., None], link.shape)[on][entry]
    load = np.zeros((T, N, max(n_steps, 1)))
    for ends, payload in ((link[on], p.request_bytes), (p.link_reverse[link[on]], p.response_bytes)):
        bits = np.broadcast_to(per_step * 8.0 * payload[None, :, None, None], link.shape)[on][entry]
        load += np.bincount((t * N + ends[entry]) * max(n_steps, 1) + step, bits, load.size).reshape(load.shape)
    return load.max(axis=2)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Per row: the smallest value with at least q of the row's weight at or below it (nan: no weight)."""
    order = np.argsort(values, axis=-1)
    v = np.take_along_axis(values, order, -1)
    cum = np.cumsum(np.take_along_axis(weights, order, -1), axis=-1)
    total = cum[..., -1:]
    index = np.minimum((cum < q * total).sum(axis=-1, keepdims=True), v.shape[-1] - 1)
    return np.where(total[..., 0] > 0, np.take_along_axis(v, index, -1)[..., 0], np.nan)


def evaluate(problem: PlacementProblem, solution: Solution, tolerance: float = DEFAULT_TOLERANCE) -> Evaluation:
    p = problem
    T, D, K, H, M = p.n_epochs, p.n_demands, p.n_slots, p.n_hosts, p.n_models
    violations: list[Violation] = []

    def flag(constraint: str, excess: np.ndarray, limit: np.ndarray, where) -> None:
        for index in np.argwhere(excess > 0):
            i = tuple(int(j) for j in index)
            violations.append(Violation(constraint, where(*i), float(excess[i]), float(limit[i])))

    x, y = solution.assignment, solution.placement
    if x.shape != (T, D, K) or y.shape != (T, M, H):
        raise ValueError(f"solution shapes {x.shape}, {y.shape} do not match the problem "
                         f"({T}, {D}, {K}) and ({T}, {M}, {H})")
    host_label = lambda h: f"{HOST_KINDS[p.host_kind[h]]} {p.host_name[h]}"  # noqa: E731
    slot_label = lambda t, d, k: f"epoch {t}, demand {p.demand_name[d]}, slot {k}"  # noqa: E731
    flag("(0) share in [0, 1]", np.maximum(-x, x - 1) - tolerance, np.ones_like(x), slot_label)
    x = np.clip(x, 0.0, 1.0)
    used = x > tolerance
    served = x.sum(axis=2)
    unserved = np.maximum(1.0 - served, 0.0)
    R = p.requests()

    # (1) each demand's shares add up to at most 1; to exactly 1 when nothing may go unserved
    flag("(1) served share", served - 1 - tolerance, np.ones((T, D)), lambda t, d: f"epoch {t}, demand {p.demand_name[d]}")
    if p.unserved_penalty_ms is None:
        flag("(1) all requests served", np.where(R > 0, unserved - tolerance, 0), np.ones((T, D)),
             lambda t, d: f"epoch {t}, demand {p.demand_name[d]}")

    # (10) only real candidates, in allowed jurisdictions, on powered hosts
    host = np.maximum(p.candidate_host, 0)
    t_ix = np.arange(T)[:, None, None]
    d_ix = np.arange(D)[None, :, None]
    padding = p.candidate_host < 0
    foreign = ~padding & ~p.allowed[d_ix, p.host_jurisdiction[host]]
    budget = np.minimum(p.peak_flops_s[None, :], p.power_budget_w * p.flops_per_joule[None, :])  # [T, H]
    unpowered = ~padding & (budget[t_ix, host] <= 0)
    over_slo = ~padding & p.over_slo()
    # the path's record, not the routing's restriction: a country touched on the way that the demand forbids
    transit = np.zeros_like(padding) if p.candidate_transit is None else ~padding & (
        p.candidate_transit & ~p.allowed[None, :, None, :]).any(axis=3)
    for name, bad in (("(10) padding slot", padding), ("(10) jurisdiction", foreign), ("(10) transit", transit),
                      ("(10) unpowered host", unpowered),
                      ("(10) over its SLO", over_slo if p.slo_mode == "constraint" else np.zeros_like(padding))):
        flag(name, np.where(bad & used, x, 0), np.zeros_like(x), slot_label)

    # (12) no more than the share of the epoch in which the host is reachable, over all the models it serves
    # the demand with (on real slots: padding is (10))
    by_host = np.zeros(x.shape)
    t3, d3, _ = np.indices(x.shape)
    first = p.host_group()  # a host's first slot
    np.add.at(by_host, (t3, d3, first), np.where(padding, 0.0, x))
    flag("(12) reachable share", np.where(padding | (first != np.arange(K)), 0.0, by_host - p.candidate_share - tolerance),
         p.candidate_share, slot_label)

    # (2) a share is served only by a placed copy of the demand's model
    model = p.candidate_model  # the model each slot runs
    placed = y[t_ix, model, host]
    flag("(2) served by a placed copy", np.where(used & ~placed & ~padding, x, 0), np.zeros_like(x), slot_label)

    # (11) single source
    if p.single_source:
        fractional = np.minimum(x, 1 - x)
        flag("(11) single source: whole demand", fractional - tolerance, np.zeros_like(x), slot_label)
        flag("(11) single source: one host", (used.sum(axis=2) - 1).astype(float), np.ones((T, D)),
             lambda t, d: f"epoch {t}, demand {p.demand_name[d]}")

    # (3), (4) compute and power per (epoch, host)
    flops_rate = np.where(padding, 0.0, p.rate_per_s[:, :, None] * p.flops_per_request()[model, host] * x)
    compute = np.zeros((T, H))
    np.add.at(compute, (np.broadcast_to(t_ix, x.shape), host), flops_rate)
    limit_peak = np.broadcast_to(p.peak_flops_s, (T, H))
    flag("(3) compute", compute - limit_peak * (1 + tolerance), limit_peak,
         lambda t, h: f"epoch {t}, {host_label(h)}")
    power = compute / p.flops_per_joule[None, :]
    # (14) the battery carried between epochs never runs out
    soc = np.full((T + 1, H), np.nan)
    if p.harvest_w is not None:
        battery = p.battery_hosts()
        soc_b, lacking = state_of_charge(power[:, battery], p.harvest_w[:, battery], p.battery_j[battery], p.epoch_s)
        soc[:, battery] = soc_b
        hosts_b = np.flatnonzero(battery)
        drawn_j = p.epoch_s[:, None] * power[:, battery]  # the tolerance is relative to the larger energy
        flag("(14) battery", lacking - tolerance * np.maximum(p.battery_j[battery], drawn_j),
             np.broadcast_to(p.battery_j[battery], lacking.shape), lambda t, i: f"epoch {t}, {host_label(hosts_b[i])}")
    # (13) utilisation within the ceiling; the mean queue at that utilisation (Little's law: each request
    # there waits Lq / arrival rate)
    ceiling = p.utilization_ceiling * budget
    flag("(13) utilisation ceiling", np.where(np.isfinite(ceiling), compute - ceiling * (1 + tolerance), 0), ceiling,
         lambda t, h: f"epoch {t}, {host_label(h)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        utilization = np.where(budget > 0, compute / budget, np.where(compute > 0, np.inf, 0.0))
    queue = queue_length(np.where(np.isfinite(budget), utilization, 0.0), *p.waiting_chords())  # [T, H]
    arrivals = np.zeros((T, H))
    np.add.at(arrivals, (np.broadcast_to(t_ix, x.shape), host), np.where(padding, 0.0, p.rate_per_s[:, :, None] * x))
    host_waiting_ms = waiting_ms(queue, arrivals)
    if p.slo_counts_waiting:  # (18) no slot serves where its host's wait exceeds its slack
        slack = np.where(padding, np.inf, p.slo_slack_ms())
        flag("(18) SLO with waiting", np.where(used, host_waiting_ms[t_ix, host] - slack, 0)
             - tolerance * p.slo_ms[None, :, None], slack, slot_label)
    flag("(4) power", np.where(np.isfinite(p.power_budget_w), power - p.power_budget_w * (1 + tolerance), 0),
         p.power_budget_w, lambda t, h: f"epoch {t}, {host_label(h)}")

    # (5) memory per (epoch, host)
    memory = np.einsum("tmh,m->th", y.astype(float), p.model_memory_bytes)
    limit_memory = np.broadcast_to(p.memory_bytes, (T, H))
    flag("(5) memory", memory - limit_memory * (1 + tolerance), limit_memory,
         lambda t, h: f"epoch {t}, {host_label(h)}")

    # (9) fixed placement; (8) uploads between epochs
    if p.placement == "fixed":
        changed = (y != y[:1]).any(axis=1)
        flag("(9) fixed placement", changed.astype(float), np.zeros((T, H)), lambda t, h: f"epoch {t}, {host_label(h)}")
        uploads = np.zeros((T, M, H))
    else:
        uploads = np.concatenate([np.zeros((1, M, H)), np.maximum(y[1:].astype(float) - y[:-1], 0)])

    # (6) host ingress: requests and model uploads, bits/s
    bits = 8.0 * (p.request_bytes + p.response_bytes)
    request_bps = np.zeros((T, H))
    np.add.at(request_bps, (np.broadcast_to(t_ix, x.shape), host),
              np.where(padding, 0.0, (p.rate_per_s * bits[None, :])[:, :, None] * x))
    upload_bps = np.einsum("tmh,m->th", uploads, 8.0 * p.model_memory_bytes) / p.epoch_s[:, None]
    link_bps = request_bps + upload_bps
    flag("(6) host link", np.where(np.isfinite(p.link_gbps), link_bps - 1e9 * p.link_gbps * (1 + tolerance), 0),
         1e9 * p.link_gbps, lambda t, h: f"epoch {t}, {host_label(h)}")

    # (7a) site uplink: the requests of the site's shares served through its terminals (every host but a
    # local one); (7b) site downlink: their responses
    through_site = np.where(padding | (p.host_kind[host] == LOCAL), 0.0, x).sum(axis=2)
    site_ix = (np.broadcast_to(np.arange(T)[:, None], (T, D)), np.broadcast_to(p.demand_site, (T, D)))
    site_bps = {}
    for number, direction, payload_bytes, limit_gbps in (("(7a)", "uplink", p.request_bytes, p.site_uplink_gbps),
                                                          ("(7b)", "downlink", p.response_bytes, p.site_downlink_gbps)):
        load = np.zeros(limit_gbps.shape)
        np.add.at(load, site_ix, p.rate_per_s * 8.0 * payload_bytes[None, :] * through_site)
        excess = np.where(np.isfinite(limit_gbps), load - 1e9 * limit_gbps * (1 + tolerance), 0)
        flag(f"{number} site {direction}", excess, 1e9 * limit_gbps, lambda t, s: f"epoch {t}, site {p.site_name[s]}")
        site_bps[direction] = load

    # (16) shared links: requests on each link their slot's path crosses toward the host, responses on its
    # reverse, each weighted by the share of the slot's requests that path carries (epoch-mean load)
    shared_bps = np.zeros(p.link_capacity_gbps.shape)
    served_rate = np.where(padding, 0.0, p.rate_per_s[:, :, None] * x)  # [T, D, K] requests/s
    for j in range(p.candidate_link.shape[3]):
        link = p.candidate_link[..., j]
        on = link >= 0
        carried = served_rate * p.candidate_link_share[..., j]
        t_on = np.broadcast_to(t_ix, x.shape)[on]
        np.add.at(shared_bps, (t_on, link[on]), (carried * 8.0 * p.request_bytes[None, :, None])[on])
        np.add.at(shared_bps, (t_on, p.link_reverse[link[on]]), (carried * 8.0 * p.response_bytes[None, :, None])[on])
    limit_bps = 1e9 * p.link_capacity_gbps
    peak_bps = _worst_step_bps(p, served_rate, t_ix)
    flag("(16) shared link", np.where(np.isfinite(limit_bps), shared_bps - limit_bps * (1 + tolerance), 0), limit_bps,
         lambda t, n: f"epoch {t}, {LINK_KINDS[p.link_kind[n]]} {p.link_name[n]}")

    # Objective, term by term
    latency = p.latency_ms() + host_waiting_ms[t_ix, host]
    weight = R[:, :, None] * x  # requests served in each slot
    with np.errstate(invalid="ignore"):  # inf latency x 0 share on unusable slots
        latency_term = float(np.where(weight > 0, weight * latency, 0.0).sum())
    choice_term = float(np.where(padding, 0.0, weight * p.choice_cost_ms[d_ix, model]).sum())
    slo_term = float(p.slo_penalty_ms * np.where(over_slo, weight, 0.0).sum()) if p.slo_mode == "penalty" else 0.0
    waiting_term = float((1e3 * p.epoch_s[:, None] * np.where(arrivals > 0, queue, 0.0)).sum())
    unserved_term = float((p.unserved_penalty_ms or 0.0) * (R * unserved).sum())
    # the wait for batches to fill is priced per copy inside opening_cost (placement.problem.batching); reported apart
    batching_term = float((y * formation_request_ms(p.batch_size[None], p.epoch_s[:, None, None])).sum())
    opening_term = float((y * p.opening_cost[None]).sum()) - batching_term
    migration_term = float(p.migration_cost_per_gb * np.einsum("tmh,m->", uploads, p.model_memory_bytes / 1e9))

    # Latency distribution: per demand over (epoch, slot), and over everything, each request's wait for its batch
    # to fill included: (b - 1) / (2 x its copy's arrival rate) (placement.problem.batching)
    copy_rate = np.zeros((T, M, H))
    np.add.at(copy_rate, (np.broadcast_to(t_ix, x.shape), model, host),
              np.where(padding, 0.0, p.rate_per_s[:, :, None] * x))
    with np.errstate(divide="ignore", invalid="ignore"):
        formation_ms = np.where(copy_rate > 0, 1e3 * (p.batch_size[None] - 1) / (2.0 * copy_rate), 0.0)
    formation_ms = formation_ms[t_ix, model, host]
    formation_served = float(np.where(weight > 0, weight * formation_ms, 0.0).sum())
    latency = latency + formation_ms
    values = np.where(weight > 0, latency, np.inf).transpose(1, 0, 2).reshape(D, T * K)
    w = weight.transpose(1, 0, 2).reshape(D, T * K)
    served_requests = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        demand_mean = np.where(served_requests > 0, np.where(w > 0, w * values, 0).sum(axis=1) / served_requests, np.nan)
        waits = np.broadcast_to(host_waiting_ms[t_ix, host], x.shape).transpose(1, 0, 2).reshape(D, T * K)
        demand_waiting = np.where(served_requests > 0, (w * waits).sum(axis=1) / served_requests, np.nan)
        within = np.where(values <= p.slo_ms[:, None], w, 0).sum(axis=1)
        total_requests = R.sum(axis=0)
        demand_slo = np.where(total_requests > 0, within / total_requests, 1.0)
        demand_unserved = np.where(total_requests > 0, 1 - served_requests / total_requests, 0.0)
        memory_util = memory / p.memory_bytes[None, :]
        link_util = link_bps / (1e9 * p.link_gbps)
        uplink_util = site_bps["uplink"] / (1e9 * p.site_uplink_gbps)
        downlink_util = site_bps["downlink"] / (1e9 * p.site_downlink_gbps)
        shared_util = shared_bps / limit_bps
        shared_peak_util = peak_bps / limit_bps
    all_served = served_requests.sum()

    return Evaluation(
        feasible=not violations, violations=tuple(violations),
        objective=latency_term + slo_term + choice_term + unserved_term + opening_term + batching_term + migration_term,
        latency_term=latency_term - waiting_term, waiting_term=waiting_term, slo_term=slo_term, choice_term=choice_term, unserved_term=unserved_term, opening_term=opening_term,
        migration_term=migration_term, batching_term=batching_term, requests=float(R.sum()),
        served_requests=float(all_served),
        mean_latency_ms=float((latency_term + formation_served) / all_served) if all_served > 0 else float("nan"),
        p95_latency_ms=float(_weighted_quantile(values.reshape(1, -1), w.reshape(1, -1), 0.95)[0]),
        slo_attainment=float(within.sum() / R.sum()) if R.sum() > 0 else 1.0,
        demand_mean_latency_ms=demand_mean, demand_mean_waiting_ms=demand_waiting, demand_p95_latency_ms=_weighted_quantile(values, w, 0.95),
        demand_slo_attainment=demand_slo, demand_unserved_share=demand_unserved,
        compute_flops_s=compute, compute_utilization=utilization, host_waiting_ms=host_waiting_ms, power_w=power,
        battery_soc_j=soc, energy_j=np.bincount(p.host_kind, (power * p.epoch_s[:, None]).sum(axis=0), len(HOST_KINDS)),
        memory_utilization=memory_util, link_utilization=np.nan_to_num(link_util),
        site_uplink_utilization=np.nan_to_num(uplink_util), site_downlink_utilization=np.nan_to_num(downlink_util),
        shared_link_utilization=np.nan_to_num(shared_util),
        shared_link_peak_utilization=np.where(np.isnan(peak_bps), np.nan, np.nan_to_num(shared_peak_util)))
