"""The MILP's rows as arrays (`placement.solvers.milp` states the model and numbers the constraints): a builder
that accumulates variables and rows as numpy triplets, and the row families that take more than a line."""

from __future__ import annotations

import dataclasses

import numpy as np
from ortools.math_opt import model_pb2

from placement.errors import InputError
from placement.problem.queueing import breakpoints, queue_length
from placement.problem.spec import PlacementProblem

class Builder:
    """Accumulates variables and rows as arrays; nothing is built one coefficient at a time."""

    def __init__(self):
        self.lower, self.upper, self.integer, self.cost, self.epoch = [], [], [], [], []
        self.rows_lower, self.rows_upper = [], []
        self.rows, self.cols, self.coefs = [], [], []
        self.n_vars = self.n_rows = 0

    def variables(self, n: int, lower, upper, integer: bool, cost, epoch=-1) -> np.ndarray:
        """`epoch`: the epoch whose cost the variables' objective terms are (-1: none, as the uploads z)."""
        ids = np.arange(self.n_vars, self.n_vars + n)
        self.n_vars += n
        self.lower.append(np.broadcast_to(np.asarray(lower, float), (n,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, float), (n,)))
        self.integer.append(np.full(n, integer))
        self.cost.append(np.broadcast_to(np.asarray(cost, float), (n,)))
        self.epoch.append(np.broadcast_to(np.asarray(epoch, np.int64), (n,)))
        return ids

    def epoch_floors(self, floors: np.ndarray, priced: np.ndarray, prices: np.ndarray) -> None:
        """(17), one row per epoch t: the objective's terms of epoch t (every term but the uploads) plus
        prices[i] x the variable priced[i] (of that epoch) >= floors[t]."""
        coef, epoch = np.concatenate(self.cost).copy(), np.concatenate(self.epoch)
        coef[priced] += prices
        var = np.flatnonzero((coef != 0) & (epoch >= 0))
        self.rows_(epoch[var], var, coef[var], floors, np.full(len(floors), np.inf))

    def rows_(self, row_of_term, var, coef, lower, upper) -> None:
        """Rows numbered 0..n-1 by `row_of_term` (dense local numbering), bounds per row."""
        n = len(lower)
        self.rows.append(np.asarray(row_of_term) + self.n_rows)
        self.cols.append(np.asarray(var))
        self.coefs.append(np.asarray(coef, float))
        self.rows_lower.append(np.asarray(lower, float))
        self.rows_upper.append(np.asarray(upper, float))
        self.n_rows += n

    def proto(self) -> model_pb2.ModelProto:
        m = model_pb2.ModelProto(name="placement")
        v = m.variables
        v.ids.extend(range(self.n_vars))
        v.lower_bounds.extend(np.concatenate(self.lower).tolist())
        v.upper_bounds.extend(np.concatenate(self.upper).tolist())
        v.integers.extend(np.concatenate(self.integer).tolist())
        cost = np.concatenate(self.cost)
        nz = np.flatnonzero(cost)
        m.objective.linear_coefficients.ids.extend(nz.tolist())
        m.objective.linear_coefficients.values.extend(cost[nz].tolist())
        c = m.linear_constraints
        c.ids.extend(range(self.n_rows))
        c.lower_bounds.extend(np.concatenate(self.rows_lower).tolist())
        c.upper_bounds.extend(np.concatenate(self.rows_upper).tolist())
        rows, cols, coefs = (np.concatenate(a) for a in (self.rows, self.cols, self.coefs))
        keep = coefs != 0
        rows, cols, coefs = rows[keep], cols[keep], coefs[keep]
        order = np.lexsort((cols, rows))  # MathOpt wants row-major order
        mat = m.linear_constraint_matrix
        mat.row_ids.extend(rows[order].tolist())
        mat.column_ids.extend(cols[order].tolist())
        mat.coefficients.extend(coefs[order].tolist())
        return m


def dense_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct keys 0..n-1: returns (unique keys, row of each entry)."""
    unique, row = np.unique(keys, return_inverse=True)
    return unique, row


def capacity_rows(b: Builder, key, var, coef, limit, integral: bool, only_binding: bool = False) -> None:
    """sum over terms with the same key of coef x var <= limit[key]; rows with an infinite limit are
    dropped, and with `only_binding` so are rows whose terms cannot reach the limit even all at 1."""
    keys, row = dense_rows(key)
    rhs = limit[keys]
    keep = np.isfinite(rhs)
    if only_binding:
        keep &= np.bincount(row, coef, len(keys)) > rhs
    if not keep.any():
        return
    new_row = np.cumsum(keep) - 1
    term = keep[row]
    # Rows normalised to a right side of 1 (0 stays 0): the data spans 1e3 .. 1e15 otherwise.
    norm = 1.0 if integral else np.where(rhs[keep] > 0, rhs[keep], 1.0)
    upper = rhs[keep] / norm
    coef_n = coef[term] / (norm[new_row[row[term]]] if not integral else 1.0)
    b.rows_(new_row[row[term]], var[term], coef_n, np.full(keep.sum(), -np.inf), upper)


def copy_capacity_rows(b: Builder, copy, x, y_of_x, coef, capacity) -> None:
    """(15) per copy (epoch, model, host): the load of the slots it serves <= the host's capacity x y. Valid
    because an unplaced copy serves nothing, and redundant in integers; in the relaxation it stops a copy
    opened a little from carrying a whole host's load (the textbook facility-location row sum_j d_j x_ij <=
    s_i y_i). Only copies whose slots together could exceed the capacity get a row."""
    keys, row = dense_rows(copy)
    cap = np.zeros(len(keys))
    cap[row] = capacity  # the same for every term of one copy
    first = np.zeros(len(keys), np.int64)
    first[row[::-1]] = np.arange(len(row))[::-1]
    keep = np.isfinite(cap) & (cap > 0) & (np.bincount(row, coef, len(keys)) > cap)
    if not keep.any():
        return
    new_row = np.cumsum(keep) - 1
    term = keep[row]
    n = int(keep.sum())
    # Normalised by the capacity: coef / cap on x, -1 on y, at most 0.
    b.rows_(np.concatenate([new_row[row[term]], np.arange(n)]), np.concatenate([x[term], y_of_x[first[keep]]]),
            np.concatenate([coef[term] / cap[row[term]], -np.ones(n)]), np.full(n, -np.inf), np.zeros(n))


def waiting_rows(b: Builder, p: PlacementProblem, key, var, flops_rate, scale: float) -> Waiting | None:
    """(13): per (epoch, host) key with a finite capacity, rho = its load over the capacity (at most the
    ceiling, the variable's bound) and w at or above each chord of the mean queue that rho can reach."""
    H = p.n_hosts
    keys, row = dense_rows(key)
    capacity = p.compute_capacity_flops_s().ravel()[keys]
    keep = np.isfinite(capacity) & (capacity > 0)  # a zero capacity serves nothing: (10) removed its slots
    if not keep.any():
        return None
    n = int(keep.sum())
    new_row = (np.cumsum(keep) - 1)[row]
    term = keep[row]
    share = flops_rate[term] / capacity[keep][new_row[term]]  # utilisation of each term's whole demand
    rho = b.variables(n, 0.0, p.utilization_ceiling, False, 0.0)
    b.rows_(np.concatenate([new_row[term], np.arange(n)]), np.concatenate([var[term], rho]),
            np.concatenate([share, -np.ones(n)]), np.zeros(n), np.zeros(n))
    t, h = keys[keep] // H, keys[keep] % H
    intercept, slope = p.waiting_chords()
    reach = np.minimum(np.bincount(new_row[term], share, n), p.utilization_ceiling)
    # w is bounded by the interpolant at the highest utilisation it can reach (the chords are increasing, and w
    # is minimised, so no optimum is cut): every variable then has a finite box, which the certified LP bound
    # of a first-order solver's multipliers needs (lp_bound)
    w = b.variables(n, 0.0, np.maximum(queue_length(reach, intercept[h], slope[h]), 0.0), False,
                    1e3 * p.epoch_s[t] / scale, t)
    start = breakpoints(p.utilization_ceiling, intercept.shape[1])[:-1]
    i, j = np.nonzero(start[None, :] < reach[:, None])
    lines = np.arange(len(i))
    b.rows_(np.concatenate([lines, lines]), np.concatenate([rho[i], w[i]]),
            np.concatenate([slope[h[i], j], -np.ones(len(i))]), np.full(len(i), -np.inf), -intercept[h[i], j])
    return Waiting(keys[keep], w, np.maximum(queue_length(reach, intercept[h], slope[h]), 0.0), reach, capacity[keep])


@dataclasses.dataclass(frozen=True)
class Waiting:
    """The (epoch, host) keys of (13) and, per key, its w variable, the most w can be (the queue at the highest
    utilisation the candidates can bring), that utilisation, and the compute capacity."""

    keys: np.ndarray
    w: np.ndarray
    w_upper: np.ndarray
    reach: np.ndarray
    capacity: np.ndarray


def slo_waiting_rows(b: Builder, waiting: Waiting, key, x, x_upper, x_binary: bool, integer: bool, rate, flops,
                     slack_ms, epoch) -> None:
    """(18) per slot whose slack the host's wait could exceed: served (z = 1) only if 1e3 w <= slack x lam,
    lam the host-epoch's arrival rate (requests/s): Lq / lam, the mean wait (Little), within the slack. z is x
    itself when x is binary, else a new variable with x <= a z (`integer`: binary, else in [0, 1]). Terms per
    slot: `key` (epoch x H + host), the variable x and its upper bound a, the demand's rate, the FLOPs of one
    request, the slack (ms), the epoch.

    A slot needs no row when even the longest wait its host can reach is within its slack: Lq(rho) / rho does
    not fall as rho grows (Lq is convex and 0 at 0) and lam >= rho C / F_max, so the wait is at most
    1e3 Lq(reach) / reach x F_max / C."""
    at = np.searchsorted(waiting.keys, key)
    at = np.minimum(at, len(waiting.keys) - 1)
    has = waiting.keys[at] == key
    heaviest = np.zeros(len(waiting.keys))
    np.maximum.at(heaviest, at[has], flops[has])
    with np.errstate(divide="ignore", invalid="ignore"):
        longest_ms = np.where(waiting.reach > 0, 1e3 * waiting.w_upper / waiting.reach * heaviest / waiting.capacity,
                              0.0)
    binds = has & (slack_ms < longest_ms[at])
    if not binds.any():
        return
    # lam per key with a binding slot: lam - sum rate x = 0 over all the key's slots
    lam_keys, lam_row = dense_rows(at[binds])
    lam = b.variables(len(lam_keys), 0.0, np.inf, False, 0.0, epoch[binds][np.unique(lam_row, return_index=True)[1]])
    of_key = np.full(len(waiting.keys), -1)
    of_key[lam_keys] = np.arange(len(lam_keys))
    term = has & (of_key[at] >= 0)
    b.rows_(np.concatenate([of_key[at[term]], np.arange(len(lam))]), np.concatenate([x[term], lam]),
            np.concatenate([-rate[term], np.ones(len(lam))]), np.zeros(len(lam)), np.zeros(len(lam)))
    n = int(binds.sum())
    if x_binary:
        z = x[binds]
    else:
        z = b.variables(n, 0.0, 1.0, integer, 0.0, epoch[binds])
        b.rows_(np.concatenate([np.arange(n), np.arange(n)]), np.concatenate([x[binds], z]),
                np.concatenate([np.ones(n), -x_upper[binds]]), np.full(n, -np.inf), np.zeros(n))
    # normalised by M = 1e3 w_upper, which the row's left side cannot exceed when z = 0
    big = 1e3 * np.maximum(waiting.w_upper[at[binds]], 1e-12)
    lines = np.arange(n)
    b.rows_(np.concatenate([lines, lines, lines]), np.concatenate([waiting.w[at[binds]], lam[of_key[at[binds]]], z]),
            np.concatenate([1e3 / big, -slack_ms[binds] / big, np.ones(n)]), np.full(n, -np.inf), np.ones(n))


def battery_rows(b: Builder, p: PlacementProblem, t_x, h_x, x, flops_rate) -> None:
    """(14) for every battery host some slot uses, in every epoch (an idle epoch charges), each row divided
    by the battery's energy (by the most an epoch harvests where there is no battery)."""
    T = p.n_epochs
    hosts = np.unique(h_x[p.battery_hosts()[h_x]])
    if not hosts.size:
        return
    slot = np.searchsorted(hosts, h_x)
    on = (slot < len(hosts)) & (hosts[np.minimum(slot, len(hosts) - 1)] == h_x)
    harvest_j = p.epoch_s[:, None] * p.harvest_w[:, hosts]
    scale = np.where(p.battery_j[hosts] > 0, p.battery_j[hosts], np.maximum(harvest_j.max(axis=0), 1.0))
    n = len(hosts)
    e = b.variables(T * n, 0.0, np.tile(p.battery_j[hosts] / scale, T), False, 0.0).reshape(T, n)  # e[t+1]
    row = np.arange(T * n).reshape(T, n)
    draw = p.epoch_s[t_x[on]] * flops_rate[on] / p.flops_per_joule[h_x[on]] / scale[slot[on]]
    terms_row = [row[t_x[on], slot[on]], row.ravel(), row[1:].ravel()]
    terms_var = [x[on], e.ravel(), e[:-1].ravel()]
    terms_coef = [draw, np.ones(T * n), -np.ones((T - 1) * n)]
    upper = harvest_j / scale[None, :]
    upper[0] += p.battery_j[hosts] / scale  # e[0] = battery_j, a constant
    b.rows_(np.concatenate(terms_row), np.concatenate(terms_var), np.concatenate(terms_coef),
            np.full(T * n, -np.inf), upper.ravel())


def require_integral(proto: model_pb2.ModelProto) -> None:
    for name, values in (("objective coefficient", proto.objective.linear_coefficients.values),
                         ("constraint coefficient", proto.linear_constraint_matrix.coefficients),
                         ("constraint bound", proto.linear_constraints.upper_bounds),
                         ("variable bound (a share, 12)", proto.variables.upper_bounds)):
        a = np.asarray(values)
        a = a[np.isfinite(a)]
        if a.size and not np.all(a == np.round(a)):
            raise InputError(f"CP-SAT needs integral data, but a {name} is {a[a != np.round(a)][0]!r}",
                             field="solver.milp.solver", expected="'highs' or 'scip' for non-integral data")
