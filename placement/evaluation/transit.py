"""Transit rules checked on the paths a run traced (placement.results.paths), node by node.

The problem's own record (`PlacementProblem.candidate_transit`, checked by `evaluate`) holds the countries of
each cloud route's gateway, point of presence and region; overflights are kept out by the network of the rule
(placement.network.transit) and recorded nowhere. This check reads the traced paths instead, which
placement.network.paths walks hop by hop apart from the routing: every gateway, PoP and cloud region on a
path of a transit rule must lie in its allowed countries, and under 'overflight' so must the point beneath
every satellite on it at that step.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from placement.network.transit import TransitGroup, subsatellite_countries


def path_violations(paths: Mapping[str, np.ndarray], groups: Mapping[str, TransitGroup],
                    country: Mapping[tuple[str, str], str], satellite: Mapping[str, int],
                    r_ecef_km: np.ndarray) -> list[str]:
    """Each node of a traced path that its transit rule forbids, in words. `paths`: the paths table's columns
    (`transit` names each path's group, 'processing' none); `groups`: the groups by that name; `country`: the
    country of each ground node by (node kind, name); `satellite`: each satellite's index in `r_ecef_km`
    [sat, time, 3] (Earth-fixed positions at the network steps)."""
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
