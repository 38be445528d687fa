"""The run's paths table: node by node, the way from a demand site to each host that serves it, at every
network step of the epochs it serves it in (the paths themselves: `placement.network.paths`).

One path per (epoch, step, site, host) that some strategy serves, whatever the strategy or model: strategies
mostly agree and a site's models share their paths, so the table holds each path once, and a strategy's own
paths are its assignments' rows joined on (epoch, site, host). Steps in which the site has no access satellite
or the host is out of reach have no path (the requests of those steps went to the demand's other slots or
were left out: `placement.problem.build.cover`). The demands of a transit rule (`placement.network.transit`)
route on their own network: their paths are traced on it, and `transit` names it ('processing': the open one).
"""

from __future__ import annotations

import numpy as np

from placement.network.ground import GroundNodes
from placement.network.paths import served_paths
from placement.network.tensors import Ground, NetworkSpec
from placement.problem.solution import Solution
from placement.problem.spec import HOST_KINDS, PlacementProblem
from placement.propagation.orbits import Orbits
from placement.results.tables import concatenate_columns

PATHS_COLUMNS = {"epoch": np.int32, "step": np.int32, "time_utc": "datetime64[us]", "site": str, "host": str,
                 "host_kind": str, "hop": np.int32, "node": str, "node_kind": str, "transit": str}


def paths_table(problem: PlacementProblem, solutions: list[Solution], sites: GroundNodes, pops: GroundNodes,
                orbits: Orbits, lasers_of, ground: Ground, spec: NetworkSpec, access_sat: np.ndarray,
                steps_per_epoch: int, *, demands: np.ndarray | None = None, positions: np.ndarray | None = None,
                transit: str = "processing") -> dict:
    """Named columns, one row per node of each served path. `sites` are the problem's sites (its site_name, in
    order), `pops` the points of presence `ground` (the network's ground arrays) indexes; `orbits` the run's
    propagation, with `lasers_of`, `spec` and `access_sat` [step, site] what its network was built from.
    `demands` [demand] bool: the demands whose paths these are (default all), on the network of `transit`
    (its satellites' `positions` [sat, time, 3], default the propagation's, and its `ground` and `access_sat`)."""
    mine = np.ones(problem.n_demands, bool) if demands is None else np.asarray(demands, bool)
    served = np.zeros((problem.n_epochs, len(sites.name), problem.n_hosts), bool)  # [epoch, site, host]
    host = np.maximum(problem.candidate_host, 0)
    site_of = np.broadcast_to(problem.demand_site[None, :, None], host.shape)
    epoch_of = np.broadcast_to(np.arange(problem.n_epochs)[:, None, None], host.shape)
    for solution in solutions:
        used = (problem.candidate_host >= 0) & (solution.assignment > 0) & mine[None, :, None]
        served[epoch_of[used], site_of[used], host[used]] = True
    t, s, h = np.nonzero(served)
    # every network step of each served epoch: [target, step in epoch] flattened
    within = np.arange(steps_per_epoch)
    step = (t[:, None] * steps_per_epoch + within).ravel()
    s, h = np.repeat(s, steps_per_epoch), np.repeat(h, steps_per_epoch)
    # hosts come kind by kind (problem.build); a kind without hosts is never looked up
    first_of_kind = {code: int(np.argmax(problem.host_kind == code)) for code in range(len(HOST_KINDS))}
    kind = problem.host_kind[h]
    index = h - np.array([first_of_kind[k] for k in range(len(HOST_KINDS))])[kind]
    paths = served_paths(orbits.r_ecef_km if positions is None else positions, lasers_of, ground, spec, access_sat, step, s,
                         np.asarray(HOST_KINDS)[kind], index)
    names = {"site": sites.name, "pop": pops.name,
             **{name: problem.host_name[first_of_kind[code]:] for code, name in enumerate(HOST_KINDS)}}
    length = np.array([len(p) for p in paths], int)
    at = np.repeat(np.arange(len(paths)), length)
    nodes = [node for p in paths for node in p]
    columns = {"epoch": (step[at] // steps_per_epoch).astype(np.int32), "step": step[at].astype(np.int32),
               "time_utc": orbits.grid.utc()[step[at]], "site": [sites.name[i] for i in s[at]],
               "host": [problem.host_name[i] for i in h[at]], "host_kind": [HOST_KINDS[k] for k in kind[at]],
               "hop": (np.arange(at.size) - np.repeat(np.cumsum(length) - length, length)).astype(np.int32),
               "node": [names[k][i] for k, i in nodes], "node_kind": [k for k, _ in nodes],
               "transit": [transit] * at.size}
    return concatenate_columns([columns], PATHS_COLUMNS)
