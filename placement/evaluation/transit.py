"""Transit rules checked on the paths a run traced (placement.results.paths), node by node.

The problem's own record (`PlacementProblem.candidate_transit`, checked by `evaluate`) holds the countries of
each cloud route's gateway, point of presence and region; overflights are kept out by the network of the rule
(placement.network.transit) and recorded nowhere. This check reads the traced paths instead, which
placement.network.paths walks hop by hop apart from the routing: every gateway, PoP and cloud region on a
path of a transit rule must lie in its allowed countries, and under 'overflight' so must the point beneath
every satellite on it at that step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from placement.network.ground import GroundNodes
from placement.network.transit import TransitGroup, subsatellite_countries


def path_violations(paths: Mapping[str, np.ndarray], groups: Iterable[TransitGroup],
                    ground: Mapping[str, GroundNodes], satellite_names: Sequence[str],
                    r_ecef_km: np.ndarray) -> list[str]:
    """Each node of a traced path that its transit rule forbids, in words. `paths`: the paths table's columns
    (`transit` names each path's group by its label, 'processing' none); `ground`: the gateways, points of
    presence and cloud regions by node kind ("gateway", "pop", "cloud"), whose names the paths use;
    `satellite_names` [sat]: the satellites of `r_ecef_km` [sat, time, 3] (Earth-fixed, at the network steps)."""
    groups = {group.label: group for group in groups}
    country = {(kind, name): code for kind, nodes in ground.items() for name, code in zip(nodes.name, nodes.country)}
    satellite = {name: i for i, name in enumerate(satellite_names)}
    transit, kind, node = (np.asarray(paths[c]) for c in ("transit", "node_kind", "node"))
    step = np.asarray(paths["step"], int)
    ruled = transit != "processing"
    overflight = ruled & np.isin(transit, [name for name, g in groups.items() if g.rule == "overflight"])
    beneath = np.full(kind.shape, "", dtype=object)
    ground = ruled & np.isin(kind, ("gateway", "pop", "cloud"))
    beneath[ground] = [country[(k, n)] for k, n in zip(kind[ground], node[ground])]
    flown = overflight & (kind == "satellite")
    if flown.any():
        index = np.array([satellite[n] for n in node[flown]])
        beneath[flown] = subsatellite_countries(np.asarray(r_ecef_km)[index, step[flown]])
    bad = [i for i in np.flatnonzero(ground | flown)
           if beneath[i] != "" and beneath[i] not in groups[transit[i]].allowed]
    return [f"step {step[i]}, {paths['site'][i]} -> {paths['host'][i]}: {kind[i]} {node[i]} in {beneath[i]} "
            f"({groups[transit[i]].rule})" for i in bad]
