"""Exact placement: a mixed-integer program solved through OR-Tools MathOpt (HiGHS by default, SCIP or CP-SAT).

The model (sets and arrays as in `placement.problem.spec.PlacementProblem`; t epoch, d demand, k candidate
slot of d in epoch t, h = host(t, d, k), m model, m(d) the model demand d asks for, s site):

  Data   R[t,d] = rate_per_s[t,d] * epoch_s[t]            requests of d in epoch t
         L[t,d,k]                                        latency of one request in slot k before waiting, plus
                                                         the SLO penalty where it exceeds the SLO under
                                                         slo_mode 'penalty' (problem.slot_cost_ms)
         F[m], W[m]                                      FLOPs per inference, memory bytes of model m
         Bu[d] = 8 request_bytes[d], Bd[d] = 8 response_bytes[d]   bits a request moves up, its response down
         B[d] = Bu[d] + Bd[d]                            bits moved per request through the host's link
         a[t,d,k] = candidate_share[t,d,k]               share of epoch t in which slot k's host is reachable
         P = unserved_penalty_ms, f[m,h] = opening_cost, c = migration_cost_per_gb
  Vars   x[t,d,k] in [0, 1] (binary if single_source)    share of d's requests served in slot k
         u[t,d] >= 0                                     share of d's requests not served
         y[t,m,h] in {0, 1}                              model m is placed on host h in epoch t
         z[t,m,h] >= 0                                   model m uploaded to host h at the start of epoch t

         rho[t,h] in [0, ceiling], w[t,h] >= 0               with queueing: utilisation, requests waiting

  minimise  sum_t,d R[t,d] (sum_k L[t,d,k] x[t,d,k] + P u[t,d])
          + sum_t,m,h f[m,h] y[t,m,h] + c sum_t,m,h W[m]/1e9 z[t,m,h]
          + sum_t,h 1e3 epoch_s[t] w[t,h]                   with queueing: request-ms spent waiting

  (1)  sum_k x[t,d,k] + u[t,d] = 1                          every request is served or counted unserved
                                                            (u = 0 when P is None: all must be served)
  (2)  x[t,d,k] <= y[t,m(d),h]                              only a placed copy serves (disaggregated:
                                                            one row per demand and slot, the strong form)
  (3)  sum_{d,k: h} rate[t,d] F[m(d)] x[t,d,k] <= peak_flops_s[h]                          compute
  (4)  sum_{d,k: h} rate[t,d] F[m(d)] x[t,d,k] <= power_budget_w[t,h] flops_per_joule[h]   power
  (5)  sum_m W[m] y[t,m,h] <= memory_bytes[h]                                              memory
  (6)  sum_{d,k: h} rate[t,d] B[d] x[t,d,k] + sum_m 8 W[m] z[t,m,h] / epoch_s[t]
           <= 1e9 link_gbps[t,h]                            host ingress: requests and model uploads
  (7a) sum_{d: site s} rate[t,d] Bu[d] sum_{k via s} x[t,d,k] <= 1e9 site_uplink_gbps[t,s]   site uplink
  (7b) sum_{d: site s} rate[t,d] Bd[d] sum_{k via s} x[t,d,k] <= 1e9 site_downlink_gbps[t,s] site downlink
                                                            (k via s: every slot but a local host's,
                                                            problem.via_site)
  (8)  z[t,m,h] >= y[t,m,h] - y[t-1,m,h]  for t >= 1       uploads (per_epoch placement; the first
                                                            epoch's copies are loaded before the horizon);
                                                            y only in the epochs where a copy can serve or
                                                            usefully stay loaded (copy_epochs), 0 elsewhere
  (9)  y[t,m,h] = y[0,m,h]                                  fixed placement: one variable per (m, h)
  (10) x[t,d,k] = 0 where slot k is not usable              padding, a jurisdiction d does not allow, a
                                                            host with no power, a share a = 0, or a latency
                                                            over the SLO under slo_mode 'constraint'
                                                            (problem.usable_slots)
  (11) x[t,d,k] in {0, 1}                                   single_source only
  (12) x[t,d,k] <= a[t,d,k]                                 a host serves no more than the share of the
                                                            epoch in which the site reaches it (under
                                                            (11) a slot with a < 1 serves nothing); where
                                                            the demand is offered the host with several
                                                            models (candidate_model), over those slots:
       sum_{k: host h} x[t,d,k] <= a[t,d,h]
  (14) with a battery (problem.harvest_w, battery_j; placement.problem.battery), per satellite h and epoch t:
       e[t+1,h] - e[t,h] + epoch_s[t] / flops_per_joule[h] sum_{d,k: h} rate[t,d] F[m(d)] x[t,d,k]
           <= epoch_s[t] harvest_w[t,h],   0 <= e[t,h] <= battery_j[h],   e[0,h] = battery_j[h]
                                                            energy carried between epochs; (4) is then the
                                                            most the host may draw at any moment
  (13) with queueing, (3)+(4) become the definition
       rho[t,h] = sum_{d,k: h} rate[t,d] F[m(d)] x[t,d,k] / min(peak_flops_s[h], power x efficiency)
       with rho <= utilization_ceiling (its bound), and
       w[t,h] >= a_j[h] + b_j[h] rho[t,h]  for every chord j  the mean queue Lq(rho) of an M/D/c host
                                                            (problem.queueing: convex, so the chords'
                                                            maximum; a chord starting above the largest
                                                            load the host's candidates could bring is left
                                                            out). Without queueing the ceiling scales the
                                                            right-hand side of (3)+(4).
  (15) per copy, the capacity linking (options.copy_capacity_rows, not with CP-SAT; redundant in integers, not
       in the LP):
       sum_{d: m(d) = m, k: h} rate[t,d] F[m] x[t,d,k] <= ceiling min(peak, power x efficiency)[t,h] y[t,m,h]
       sum_{d: m(d) = m, k: h} rate[t,d] B[d] x[t,d,k] <= 1e9 link_gbps[t,h] y[t,m,h]
                                                            (only where the copy's slots could exceed it)

  (16) per shared link l and epoch t (problem.link_name; none without them), its epoch-mean load:
       sum_{d,k} rate[t,d] (Bu[d] a_l[t,d,k] + Bd[d] a'_l[t,d,k]) x[t,d,k] <= 1e9 link_capacity_gbps[t,l]
                                                            a_l: the share of slot k's served requests
                                                            whose path crosses l site -> host (requests),
                                                            a'_l: host -> site (responses): a laser, user
                                                            or Direct-to-Cell beam, feeder, gateway
                                                            (placement.problem.link_rows)
  (17) with options.epoch_rounds (per_epoch placement, no battery; placement.solvers.epoch_dual), per epoch t:
       the objective's terms of epoch t (all but the uploads') + sum_m,h (lam[t] - lam[t+1]) y[t,m,h] >= D_t
                                                            D_t: epoch t's own MILP's bound at the copy
                                                            prices lam[t] - lam[t+1], 0 <= lam <= c W[m]/1e9
  (18) with queueing under slo_mode 'constraint', per slot the host's wait could push over its SLO
       (S[t,d,k] = slo_ms[d] - L[t,d,k], its slack; problem.slo_slack_ms), with r[t,h] = sum_{d,k: h}
       rate[t,d] x[t,d,k] the host-epoch's arrivals and v[t,d,k] in {0, 1} (x itself under (11)):
       x[t,d,k] <= a[t,d,k] v[t,d,k],   1e3 w[t,h] - S[t,d,k] r[t,h] <= 1e3 max(w[t,h]) (1 - v[t,d,k])
                                                            a request's mean wait, 1e3 Lq / r (Little),
                                                            within the slack of every slot that serves
                                                            (milp_rows.slo_waiting_rows: which slots need it)

Rows (3) and (4) are merged into one with the tighter right-hand side (problem.compute_budget_flops_s);
the evaluator checks them apart. Rows whose right-hand side is infinite are not built. (12) is the upper
bound of the variable x, not a row. The load coefficients (rate F, rate B, rate Bu, rate Bd, 8 W / epoch_s,
the link terms of (16)) are the problem's (`PlacementProblem.slot_flops_per_s`, `bits_per_s`, `request_bits_per_s`, ...).

`solve` runs the model under the solver contract (options `MilpOptions`, a seed, a starting hint: without
one, the solution of the strategy `options.warm_start` names); `best_assignment` fixes every y to a given
placement, which leaves the best assignment at those copies (an LP for splittable demands).
"""

from __future__ import annotations

import dataclasses
import datetime
import time

import numpy as np
from ortools.math_opt import model_parameters_pb2, model_pb2, result_pb2
from ortools.math_opt.core.python import solver as mathopt_core
from ortools.math_opt.python import mathopt
from pybind11_abseil.status import StatusNotOk

from placement.errors import InputError
from placement.problem.shortfalls import explain_infeasible
from placement.problem.solution import Solution, SolveResult, Status
from placement.problem.spec import PlacementProblem
from placement.solvers import SOLVERS, lp_bound
from placement.solvers.copy_epochs import copy_epochs, upload_may_bind
from placement.solvers.milp_rows import (Builder, battery_rows, capacity_rows, copy_capacity_rows, require_integral,
                                          slo_waiting_rows, waiting_rows)
from placement.solvers.options import MilpOptions

SOLVER_TYPES = {"highs": mathopt.SolverType.HIGHS, "scip": mathopt.SolverType.GSCIP,
                "cp-sat": mathopt.SolverType.CP_SAT, "pdlp": mathopt.SolverType.PDLP}  # options.MilpSolver


@dataclasses.dataclass(frozen=True, eq=False)
class MilpModel:
    """The model as numpy triplets plus the maps from variable ids back to the problem's axes."""

    proto: model_pb2.ModelProto
    objective_scale: float  # model objective x scale = problem objective (request-ms)
    x_index: np.ndarray  # [n_x, 3]: (epoch, demand, slot) of each assignment variable
    y_index: np.ndarray  # [n_y, 3]: (epoch, model, host); epoch -1 = every epoch (fixed placement)
    x_ids: np.ndarray
    y_ids: np.ndarray
    upload_rows: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))  # rows (8)
    upload_index: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 3), np.int64))  # (t, m, h)

    @property
    def n_variables(self) -> int:
        return len(self.proto.variables.ids)

    @property
    def n_constraints(self) -> int:
        return len(self.proto.linear_constraints.ids)


def build(problem: PlacementProblem, options: MilpOptions = MilpOptions(),
          copies: tuple[np.ndarray, np.ndarray] | None = None, slots: np.ndarray | None = None,
          floors: tuple[np.ndarray, np.ndarray] | None = None, copy_prices: np.ndarray | None = None
          ) -> MilpModel:
    """The MILP of the module docstring as a MathOpt model proto, built from arrays. `copies` = (lower,
    upper), each [epoch, model, host] bool, bounds every y: a copy with upper False is closed (its slots get
    no variable), one with lower True is placed; lower = upper = a placement leaves the best assignment at
    those copies. In fixed placement a copy's bounds are read at epoch 0. `slots` ([epoch, demand, slot] bool)
    keeps only those slots' variables: a restriction whose solutions are the problem's. In per_epoch placement,
    `copy_prices` [epoch, model, host] (request-ms) is added to each y's objective coefficient, and `floors` =
    (prices [epoch, model, host], floor [epoch]) adds the rows (17) of `placement.solvers.epoch_dual`."""
    p = problem
    T, D, H = p.n_epochs, p.n_demands, p.n_hosts
    integral = options.solver == "cp-sat"
    R = p.requests()
    # Scaling keeps the objective near the mean latency in ms and every capacity row's right side at 1.
    # CP-SAT takes the data as it is, and only if it is integral (it would round it silently).
    scale = 1.0 if integral else max(float(R.sum()), 1e-12)
    b = Builder()

    # Assignment variables x: one per usable slot (10), at most its share (12); a binary one (11) is 0 where
    # the share is below 1.
    usable = p.usable_slots()
    if copies is not None:
        usable &= copies[1][np.arange(T)[:, None, None] if p.placement == "per_epoch" else 0, p.candidate_model,
                            np.maximum(p.candidate_host, 0)]
    if slots is not None:
        usable &= slots
    t_x, d_x, k_x = np.nonzero(usable)
    h_x = p.candidate_host[t_x, d_x, k_x]
    m_x = p.candidate_model[t_x, d_x, k_x]
    x_cost = R[t_x, d_x] * p.slot_cost_ms()[t_x, d_x, k_x]
    binary = p.single_source and not options.relax
    share = p.candidate_share[t_x, d_x, k_x]
    x = b.variables(len(t_x), 0.0, np.floor(share) if binary else share, binary, x_cost / scale, t_x)

    # Unserved share u per (epoch, demand); zero when nothing may go unserved.
    must_serve = (p.unserved_penalty_ms is None) & (R > 0)
    penalty = p.unserved_penalty_ms or 0.0
    u = b.variables(T * D, 0.0, np.where(must_serve, 0.0, 1.0).ravel(), False, (R * penalty).ravel() / scale,
                    np.repeat(np.arange(T), D))

    # Placement variables y: only (model, host) pairs some usable slot could use; other copies never help. In
    # per_epoch placement only the epochs in which a copy could serve or usefully stay loaded (copy_epochs).
    pair = np.unique(m_x * H + h_x)
    pm, ph = pair // H, pair % H
    pair_x = np.searchsorted(pair, m_x * H + h_x)
    bits_rate = p.bits_per_s()[t_x, d_x]
    link_bps = p.link_bps()
    if p.placement == "fixed":
        kept = np.ones((1, len(pair)), bool)
        t_y, pair_y = np.zeros(len(pair), int), np.arange(len(pair))
        y_index = np.stack([np.full(len(pair), -1), pm, ph], axis=1)
        y_cost = T * p.opening_cost[pm, ph]
    else:
        active = np.zeros((T, len(pair)), bool)
        active[t_x, pair_x] = True
        host_load = np.zeros((T, H))
        np.add.at(host_load, (t_x, h_x), bits_rate * share)
        kept = copy_epochs(active, p.opening_cost[pm, ph], p.migration_cost()[pm],
                           upload_may_bind(link_bps, host_load, p.upload_bps(), pm, ph),
                           None if copies is None else copies[0][:, pm, ph])
        t_y, pair_y = np.nonzero(kept)
        y_index = np.stack([t_y, pm[pair_y], ph[pair_y]], axis=1)
        y_cost = p.opening_cost[pm[pair_y], ph[pair_y]]
        if copy_prices is not None:
            y_cost = y_cost + copy_prices[t_y, pm[pair_y], ph[pair_y]]
    if copies is None:
        y = b.variables(len(y_index), 0.0, 1.0, not options.relax, y_cost / scale, y_index[:, 0])
    else:
        lower, upper = (c[np.maximum(y_index[:, 0], 0), y_index[:, 1], y_index[:, 2]].astype(float) for c in copies)
        y = b.variables(len(y_index), lower, upper, not options.relax, y_cost / scale, y_index[:, 0])
    y_at = np.full(kept.shape, -1)  # [epoch (one in fixed placement), pair]: y's id, -1 where it has none
    y_at[t_y, pair_y] = y
    y_of_x = y_at[0 if p.placement == "fixed" else t_x, pair_x]

    # (1) sum_k x + u = 1
    b.rows_(np.concatenate([t_x * D + d_x, np.arange(T * D)]), np.concatenate([x, u]),
            np.ones(len(x) + T * D), np.ones(T * D), np.ones(T * D))
    # (12) over the slots of one host with different models (the demand's model choice), where there are some
    group = p.host_group()[t_x, d_x, k_x]
    key = (t_x * D + d_x) * p.n_slots + group
    _, first, count = np.unique(key, return_index=True, return_counts=True)
    shared = np.isin(key, key[first[count > 1]])
    if shared.any():
        capacity_rows(b, key[shared], x[shared], np.ones(int(shared.sum())), p.candidate_share.ravel(), integral)

    # (2) x - y <= 0, one row per slot: the disaggregated (strong) linking
    n = len(x)
    b.rows_(np.concatenate([np.arange(n), np.arange(n)]), np.concatenate([x, y_of_x]),
            np.concatenate([np.ones(n), -np.ones(n)]), np.full(n, -np.inf), np.zeros(n))

    # (3)+(4) compute within min(peak, power x efficiency), per (epoch, host) with any assignment
    flops_rate = p.slot_flops_per_s()[t_x, d_x, k_x]
    if p.queueing:
        waiting = waiting_rows(b, p, t_x * H + h_x, x, flops_rate, scale)
        if waiting is not None and p.slo_counts_waiting:
            slo_waiting_rows(b, waiting, t_x * H + h_x, x, share, binary, not options.relax, p.rate_per_s[t_x, d_x],
                             p.flops_per_request()[m_x, h_x], p.slo_slack_ms()[t_x, d_x, k_x], t_x)
    else:
        capacity_rows(b, t_x * H + h_x, x, flops_rate, p.compute_budget_flops_s().ravel(), integral)

    if p.harvest_w is not None:
        battery_rows(b, p, t_x, h_x, x, flops_rate)
    if options.copy_capacity_rows and not integral:  # its normalised coefficients are fractions
        copy = (t_x * p.n_models + m_x) * H + h_x
        copy_capacity_rows(b, copy, x, y_of_x, flops_rate, p.compute_budget_flops_s()[t_x, h_x])
        copy_capacity_rows(b, copy, x, y_of_x, p.bits_per_s()[t_x, d_x], p.link_bps()[t_x, h_x])

    # (6) host link: requests, plus model uploads in per_epoch mode (their z columns join below)
    uploads = {}
    if p.placement == "per_epoch" and T > 1:
        # (8) z >= y[t] - y[t-1] for each y with t >= 1 (a y[t-1] without a variable is 0), z continuous in [0, 1]
        later = t_y >= 1
        t_z, pair_z = t_y[later], pair_y[later]
        z = b.variables(len(t_z), 0.0, 1.0, False, p.migration_cost()[pm[pair_z]] / scale)
        before = y_at[t_z - 1, pair_z]
        rows, held = np.arange(len(z)), before >= 0
        uploads = {"upload_rows": b.n_rows + rows, "upload_index": np.stack([t_z, pm[pair_z], ph[pair_z]], axis=1)}
        b.rows_(np.concatenate([rows, rows, rows[held]]), np.concatenate([z, y[later], before[held]]),
                np.concatenate([np.ones(len(z)), -np.ones(len(z)), np.ones(int(held.sum()))]),
                np.zeros(len(z)), np.full(len(z), np.inf))
        upload_bps = p.upload_bps()[t_z, pm[pair_z]]
        capacity_rows(b, np.concatenate([t_x * H + h_x, t_z * H + ph[pair_z]]), np.concatenate([x, z]),
                       np.concatenate([bits_rate, upload_bps]), link_bps.ravel(), integral)
    else:
        capacity_rows(b, t_x * H + h_x, x, bits_rate, link_bps.ravel(), integral)

    # (5) memory: per host (fixed) or per (epoch, host); only where the candidate models could overflow it
    if p.placement == "fixed":
        capacity_rows(b, ph, y, p.model_memory_bytes[pm], p.memory_bytes, integral, only_binding=True)
    else:
        t_y = y_index[:, 0]
        capacity_rows(b, t_y * H + y_index[:, 2], y, p.model_memory_bytes[y_index[:, 1]],
                       np.tile(p.memory_bytes, T), integral, only_binding=True)

    # (7a) site uplink (requests) and (7b) downlink (responses), per (epoch, site)
    via = p.via_site()[t_x, d_x, k_x]  # a local host's slot does not cross the site's terminals
    site_x = (t_x * p.site_uplink_gbps.shape[1] + p.demand_site[d_x])[via]
    t_v, d_v = t_x[via], d_x[via]
    capacity_rows(b, site_x, x[via], p.request_bits_per_s()[t_v, d_v], p.site_uplink_bps().ravel(), integral)
    capacity_rows(b, site_x, x[via], p.response_bits_per_s()[t_v, d_v], p.site_downlink_bps().ravel(), integral)

    # (16) shared links: each slot's terms on the (epoch, link) rows it loads
    link_row, link_bits = (a[t_x, d_x, k_x] for a in p.link_terms())  # [n_x, 2L]
    on = link_row >= 0
    capacity_rows(b, link_row[on], np.broadcast_to(x[:, None], on.shape)[on], link_bits[on],
                   p.network_link_bps().ravel(), integral)

    if floors is not None:
        prices, floor = floors
        b.epoch_floors(np.asarray(floor, float) / scale, y, prices[tuple(y_index.T)] / scale)
    proto = b.proto()
    if integral:
        require_integral(proto)
    return MilpModel(proto=proto, objective_scale=scale, x_index=np.stack([t_x, d_x, k_x], axis=1),
                     y_index=y_index, x_ids=x, y_ids=y, **uploads)


_TERMINATION = result_pb2.TerminationReasonProto


def solve(problem: PlacementProblem, options: MilpOptions = MilpOptions(), *, seed: int = 0,
          hint: Solution | None = None) -> SolveResult:
    """Build and solve; the result carries status, incumbent (if any), objective, dual bound and times.
    `seed` is the solver's random seed; `hint` a starting solution. Without a hint (and unless `options.relax`:
    an LP has no incumbent to start from) the strategy `options.warm_start` names gives one, with the same
    seed; its time counts in build_seconds. With `options.regions`, a problem that splits into regions
    (`placement.solvers.regions`, or `shared_hosts` with `coordinated_hosts`) is solved region by region.
    `options.epoch_rounds` is read by the registry's 'milp' (`placement.solvers.epoch_dual.solve_milp`), which
    decomposes over epochs before calling this."""
    _check(options)
    if options.regions and not options.relax and hint is None:
        from placement.solvers.shared_hosts import by_regions  # imports this module

        split = by_regions(problem, "milp", options, seed)
        if split is not None:
            return split
    if hint is not None or options.warm_start == "none" or options.relax:
        return _solve(problem, options, seed, hint)
    start = time.perf_counter()
    warm = SOLVERS[options.warm_start].solve(problem, seed=seed)
    warm_seconds = time.perf_counter() - start
    result = _solve(problem, options, seed, warm.solution)
    started = f"started from {options.warm_start} ({warm.status.value}, {warm_seconds:.2f} s)"
    return dataclasses.replace(result, build_seconds=result.build_seconds + warm_seconds,
                               message=f"{started}; {result.message}")


def best_assignment(problem: PlacementProblem, placement: np.ndarray, options: MilpOptions = MilpOptions()
                    ) -> SolveResult:
    """The MILP with every copy fixed to `placement` ([epoch, model, host] bool): what is left is the best
    assignment at those copies. With `options.relax` and splittable demands that is an LP whose solution is
    the assignment itself (the gradient heuristic's last step); under single_source it needs relax=False."""
    _check(options)
    return _solve(problem, options, 0, None, (placement, placement))


def _check(options: MilpOptions) -> None:
    """What the options' types cannot say: a known solver, and no thread count for HiGHS."""
    if options.solver not in SOLVER_TYPES:
        raise InputError(f"unknown solver {options.solver!r}", field="solver.milp.solver",
                         expected=" or ".join(repr(s) for s in SOLVER_TYPES))
    if options.threads is not None and options.solver == "highs":
        raise InputError("HiGHS takes no thread count through MathOpt", field="solver.milp.threads",
                         expected="no value with solver 'highs'")
    if options.solver == "pdlp" and not options.relax:
        raise InputError("PDLP solves linear programs only", field="solver.milp.solver",
                         expected="relax = true with solver 'pdlp'")


def solve_within(problem: PlacementProblem, copies: tuple[np.ndarray, np.ndarray], options: MilpOptions,
                 hint: Solution | None = None, slots: np.ndarray | None = None) -> SolveResult:
    """The MILP with each copy's y between the bounds `copies`, on the `slots` only if given (see `build`),
    started from `hint` (which must respect them)."""
    _check(options)
    return _solve(problem, options, 0, hint, copies, slots)


def solve_priced(problem: PlacementProblem, options: MilpOptions, seed: int, hint: Solution | None,
                 copy_prices: np.ndarray | None = None, floors: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> SolveResult:
    """The MILP with `copy_prices` added to the copies' costs and the rows (17) of `floors` (see `build`;
    `placement.solvers.epoch_dual`), started from `hint`."""
    _check(options)
    return _solve(problem, options, seed, hint, floors=floors, copy_prices=copy_prices)


def _solve(problem: PlacementProblem, options: MilpOptions, seed: int, hint: Solution | None,
           copies: tuple[np.ndarray, np.ndarray] | None = None, slots: np.ndarray | None = None,
           floors: tuple[np.ndarray, np.ndarray] | None = None, copy_prices: np.ndarray | None = None
           ) -> SolveResult:
    """Build the model (copies within the bounds `copies`, on `slots`, with `floors` and `copy_prices`, if
    given: see `build`), start it from `hint`, solve it."""
    start = time.perf_counter()
    model = build(problem, options, copies, slots, floors, copy_prices)
    build_seconds = time.perf_counter() - start

    model_params = model_parameters_pb2.ModelSolveParametersProto()
    if hint is not None:
        _add_hint(model_params, model, problem, hint)
    start = time.perf_counter()
    name = f"milp-{options.solver}" + ("-lp" if options.relax else "")
    try:
        proto = _run(model, options, seed, model_params)
    except StatusNotOk as e:  # the solver itself failed (HiGHS reports kError on rare models): no result
        return SolveResult(solver=name, status=Status.ERROR, solution=None, build_seconds=build_seconds,
                           solve_seconds=time.perf_counter() - start,
                           message=f"{options.solver} failed: {e} ({model.n_variables} variables, "
                                   f"{model.n_constraints} rows)")
    solve_seconds = time.perf_counter() - start

    reason = proto.termination.reason
    bounds = proto.termination.objective_bounds
    dual = bounds.dual_bound * model.objective_scale if np.isfinite(bounds.dual_bound) else float("nan")
    primal = next((s.primal_solution for s in proto.solutions if s.HasField("primal_solution")), None)
    if options.relax:  # the bound certified from the solver's row multipliers, not the solver's word for it
        duals = next((s.dual_solution for s in proto.solutions if s.HasField("dual_solution")), None)
        if duals is not None:
            dual = lp_bound.dual_bound(model.proto, duals.dual_values) * model.objective_scale
    # With the copies given and shares splittable, the relaxation is the assignment problem itself.
    fixed = copies is not None and np.array_equal(copies[0], copies[1])
    exact = not options.relax or (fixed and not problem.single_source)
    solution = _solution(problem, model, primal) if primal is not None and exact else None
    objective = primal.objective_value * model.objective_scale if primal is not None else float("nan")
    if reason == _TERMINATION.TERMINATION_REASON_OPTIMAL:
        status = Status.OPTIMAL
    elif reason in (_TERMINATION.TERMINATION_REASON_INFEASIBLE,
                    _TERMINATION.TERMINATION_REASON_INFEASIBLE_OR_UNBOUNDED):
        status = Status.INFEASIBLE
    elif primal is not None and reason in (_TERMINATION.TERMINATION_REASON_FEASIBLE,
                                           _TERMINATION.TERMINATION_REASON_IMPRECISE):
        status = Status.FEASIBLE
    elif reason == _TERMINATION.TERMINATION_REASON_NO_SOLUTION_FOUND:
        status = Status.NO_SOLUTION
    else:
        status = Status.ERROR
    message = f"{_TERMINATION.Name(reason).removeprefix('TERMINATION_REASON_').lower()}: {proto.termination.detail}"
    if status is Status.INFEASIBLE:
        message += f" - {explain_infeasible(problem)}"
    return SolveResult(solver=name, status=status, solution=solution, objective=objective, dual_bound=dual,
                       build_seconds=build_seconds, solve_seconds=solve_seconds,
                       message=f"{message} ({model.n_variables} variables, {model.n_constraints} rows)")


def _run(model: MilpModel, options: MilpOptions, seed: int, model_params) -> result_pb2.SolveResultProto:
    """The solver on the model, within the options' time limit and gap."""
    first_order = options.solver == "pdlp"  # no seed, and its own optimality tolerances
    params = mathopt.SolveParameters(time_limit=datetime.timedelta(seconds=options.time_limit_s),
                                     relative_gap_tolerance=None if first_order else options.relative_gap,
                                     threads=options.threads, random_seed=None if first_order else seed,
                                     enable_output=options.verbose)
    params = params.to_proto()
    if first_order:
        optimality = params.pdlp.termination_criteria.simple_optimality_criteria
        optimality.eps_optimal_relative = optimality.eps_optimal_absolute = options.relative_gap
    return mathopt_core.solve(model.proto, SOLVER_TYPES[options.solver].value,
                              mathopt.StreamableSolverInitArguments().to_proto(), params,
                              model_params, None, mathopt.CallbackRegistration().to_proto(), None, None)


def upload_duals(problem: PlacementProblem, options: MilpOptions) -> np.ndarray:
    """[epoch, model, host]: the multipliers of the uploads' rows (8) in the LP relaxation (request-ms per
    upload; 0 where the relaxation stops without duals or the copy has no row)."""
    relax = dataclasses.replace(options, relax=True)
    model = build(problem, relax)
    proto = _run(model, relax, 0, model_parameters_pb2.ModelSolveParametersProto())
    prices = np.zeros((problem.n_epochs, problem.n_models, problem.n_hosts))
    duals = next((s.dual_solution for s in proto.solutions if s.HasField("dual_solution")), None)
    if duals is not None and len(model.upload_rows):
        value = np.zeros(model.n_constraints)
        value[np.asarray(duals.dual_values.ids, np.int64)] = duals.dual_values.values
        prices[tuple(model.upload_index.T)] = value[model.upload_rows] * model.objective_scale
    return prices


def _solution(problem: PlacementProblem, model: MilpModel, primal) -> Solution:
    """Map solver values back onto the problem's axes; integers rounded, shares clipped to [0, a] (12)."""
    values = np.zeros(model.n_variables)
    ids = np.asarray(primal.variable_values.ids, dtype=np.int64)
    values[ids] = np.asarray(primal.variable_values.values)
    sol = Solution.empty(problem)
    placement = sol.placement
    on = values[model.y_ids] > 0.5
    t, m, h = model.y_index.T
    if problem.placement == "fixed":
        placement[:, m[on], h[on]] = True
    else:
        placement[t[on], m[on], h[on]] = True
    tx, dx, kx = model.x_index.T
    share = np.clip(values[model.x_ids], 0.0, problem.candidate_share[tx, dx, kx])
    if problem.single_source:
        share = np.round(share)  # a binary x is 0 where a < 1: its bound is floor(a)
    host = problem.candidate_host[tx, dx, kx]
    share = np.where(placement[tx, problem.candidate_model[tx, dx, kx], host], share, 0.0)  # x <= y after rounding
    sol.assignment[tx, dx, kx] = share
    return sol


def _add_hint(model_params, model: MilpModel, problem: PlacementProblem, hint: Solution) -> None:
    """A complete starting point (x, y; u, z follow from them in the solver's completion)."""
    tx, dx, kx = model.x_index.T
    x_values = hint.assignment[tx, dx, kx]
    t, m, h = model.y_index.T
    y_values = hint.placement[np.maximum(t, 0), m, h].astype(float)
    ids = np.concatenate([model.x_ids, model.y_ids])
    values = np.concatenate([x_values, y_values])
    order = np.argsort(ids)
    h_proto = model_params.solution_hints.add()
    h_proto.variable_values.ids.extend(ids[order].tolist())
    h_proto.variable_values.values.extend(values[order].tolist())
