"""The shared link rows (16) of a placement problem built on the network: each slot's path incidence
(`placement.network.incidence`), the links any slot uses (and their reverses, which its responses cross),
renumbered densely, their names, kinds and capacities (`placement.network.link_capacity`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from placement.network.ground import GroundNodes, load_table
from placement.network.incidence import LinkIds, slot_links
from placement.network.isl import GridShell, plus_grid
from placement.network.link_capacity import capacity_gbps
from placement.network.links import DIRECT_TO_CELL
from placement.network.tensors import Ground, NetworkSpec, laser_table
from placement.problem.spec import PlacementProblem
from placement.propagation.frames import WGS84_A_KM


def gateway_antennas(gateways: GroundNodes) -> np.ndarray:
    """[gateway] antennas of each gateway by the shipped table's antenna column (gateways.csv); 1 for one the
    table does not name (a configured gateway: one antenna, an assumption)."""
    listed = {row["name"]: int(row["antennas"]) for row in load_table("gateways.csv")}
    return np.array([max(listed.get(name, 1), 1) for name in gateways.name], float)


def with_network_links(problem: PlacementProblem, r_ecef_km: np.ndarray, lasers_of: tuple[GridShell, ...] | np.ndarray,
                       ground: Ground, spec: NetworkSpec, access_sat: np.ndarray, steps_per_epoch: int,
                       nodes: dict[str, GroundNodes]) -> PlacementProblem:
    """`problem` (built by `problem.build` on this network: r_ecef_km [sat, time, 3], `lasers_of`, `ground`,
    `spec` and access_sat [step, site] as `tensors.build_network` took and gave them) with its shared link
    rows. `nodes`: the 'gateway', 'pop' and 'cloud' nodes (the satellites are named as the problem's hosts)."""
    n_sat = r_ecef_km.shape[0]
    gateways, pops, clouds = nodes["gateway"], nodes["pop"], nodes["cloud"]
    ids = LinkIds(n_sat, len(gateways.name), len(pops.name), len(clouds.name))
    slot_ids, share, steps = slot_links(r_ecef_km, lasers_of, ground, spec, access_sat, steps_per_epoch,
                                 problem.candidate_host, problem.demand_site, ids)
    table, grids = laser_table(lasers_of, n_sat)
    neighbour = plus_grid(grids) if table is None else np.asarray(table)
    used = np.unique(slot_ids[slot_ids >= 0])
    every = np.union1d(used, ids.reverse(used, neighbour))  # responses cross the reverses
    altitude_km = float(np.nanmedian(np.linalg.norm(r_ecef_km[:, 0], axis=-1))) - WGS84_A_KM
    capacity = capacity_gbps(ids, every, spec, gateway_antennas(gateways), altitude_km)
    beam = "direct-to-cell" if spec.site_downlink is DIRECT_TO_CELL else "user"
    names = ids.names(every, neighbour, np.asarray(ground.gateway_pop), beam,
                      {"satellite": problem.host_name[:n_sat], "gateway": gateways.name, "pop": pops.name, "cloud": clouds.name})
    return dataclasses.replace(
        problem, link_name=names, link_kind=ids.kind(every), link_reverse=np.searchsorted(every, ids.reverse(every, neighbour)),
        link_capacity_gbps=np.broadcast_to(capacity, (problem.n_epochs, len(every))),
        candidate_link=np.where(slot_ids >= 0, np.searchsorted(every, np.maximum(slot_ids, 0)), -1),
        candidate_link_share=share, candidate_link_steps=steps)
