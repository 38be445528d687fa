"""Which elements are down: named outages and random ones, and the scenario inputs without them.

A `FailureSpec` (the config's [failures] section) names outages (satellites, whole orbital planes of a Walker
constellation, gateway sites, cloud regions, the accelerators of a host) and gives random ones at rates. A
rate is the probability that each element of its kind is down for the whole horizon, independently of every
other element (a Bernoulli draw per element, seeded by `seed`): a snapshot of the constellation in which some
elements have failed, not a process in time. Every rate is 0 by default; this module ships no failure rate,
so a rate in a config or a benchmark is that file's assumption and says so.

`draw` resolves a spec into an `Outage` (indices of the failed elements); `failed_inputs` gives the
propagation, laser graph and scenario without them, which `placement.pipeline.prepare_on` turns into the
network and placement problem of the failed constellation:
  satellite   its positions and sunlight become NaN, as for a satellite SGP4 cannot propagate: no links,
              not a host (network.routes, problem.build);
  laser       both ends' neighbour slots for each other become -1 (a Walker +Grid becomes its table);
  gateway,    left out of the ground segment (with its own profile and link, if it has them);
  cloud region
  accelerator the host keeps relaying (its links are up) but no slot serves at it (`without_accelerators`).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from placement.errors import InputError
from placement.fields import FRACTION, fraction, option
from placement.network.isl import plus_grid
from placement.problem.spec import PlacementProblem
from placement.propagation.orbits import Orbits

KINDS = ("satellite", "laser", "gateway", "cloud", "accelerator")  # the order of the random draws


@dataclasses.dataclass(frozen=True)
class FailureSpec:
    """Named outages and random ones at rates (the [failures] section; see the module docstring)."""

    satellites: list[str] = option([], help="satellites down for the horizon, by name (as in the results)")
    planes: list[str] = option(
        [], help="orbital planes down for the horizon, by the prefix of their satellites' names: '<shell>-Pkk' "
                 "(a built-in Walker constellation, e.g. 'STARLINK-GEN1-S1-P03')")
    gateways: list[str] = option([], help="gateway sites down for the horizon, by name")
    clouds: list[str] = option([], help="cloud regions down for the horizon, by name (e.g. 'azure:eastus')")
    accelerators: list[str] = option(
        [], help="hosts whose accelerators are down (they still relay traffic), by host name")
    satellite_rate: float = option(0.0, check=fraction, expected=FRACTION,
                                   help="probability that each satellite is down for the horizon (independent)")
    laser_rate: float = option(0.0, check=fraction, expected=FRACTION,
                               help="probability that each laser link is down for the horizon (independent)")
    gateway_rate: float = option(0.0, check=fraction, expected=FRACTION,
                                 help="probability that each gateway is down for the horizon (independent)")
    cloud_rate: float = option(0.0, check=fraction, expected=FRACTION,
                               help="probability that each cloud region is down for the horizon (independent)")
    accelerator_rate: float = option(0.0, check=fraction, expected=FRACTION,
                                     help="probability that each host's accelerators are down (independent)")
    seed: int = option(0, check=lambda x: 0 <= x < 2**63, expected="an integer >= 0",
                       help="seed of the random draw (apart from the run's seed, so a sweep over it keeps the "
                            "solvers' own randomness)")
    reserve: Literal["", "satellite", "gateway", "cloud"] = option(
        "", help="also run the strategy 'milp_reserve': the MILP whose served demand survives the loss of any one "
                 "host's accelerators of this kind (placement/failures/reserve.py); '' none")

    @property
    def active(self) -> bool:
        """Whether anything can fail."""
        return any(getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("seed", "reserve"))


@dataclasses.dataclass(frozen=True, eq=False)
class Outage:
    """The failed elements of one draw."""

    satellites: np.ndarray  # [sat] bool
    lasers: np.ndarray  # [laser, 2] satellite indices of each failed link, smaller first
    gateways: np.ndarray  # [gateway] bool
    clouds: np.ndarray  # [cloud] bool
    accelerators: np.ndarray  # [host] bool, over the nominal problem's hosts

    def counts(self) -> dict[str, int]:
        """How many elements of each kind are down."""
        return {"satellites": int(self.satellites.sum()), "lasers": len(self.lasers),
                "gateways": int(self.gateways.sum()), "clouds": int(self.clouds.sum()),
                "accelerators": int(self.accelerators.sum())}


def check_names(spec: FailureSpec, satellite_names: tuple[str, ...], walker: bool, gateway_names: tuple[str, ...],
                cloud_names: tuple[str, ...], host_names: tuple[str, ...], source: str | None = None) -> None:
    """Raise InputError naming the field (failures.gateways[2]) of a name that matches nothing."""
    known = {"satellites": (set(satellite_names), "names of the constellation's satellites"),
             "gateways": (set(gateway_names), "names of the run's gateways (placement/network/data/gateways.csv "
                                               "and network.extra_gateways)"),
             "clouds": (set(cloud_names), "names of the run's cloud regions (network.cloud_provider)"),
             "accelerators": (set(host_names), "host names: satellites, gateways, cloud regions or local hosts")}
    for field, (names, expected) in known.items():
        for i, name in enumerate(getattr(spec, field)):
            if name not in names:
                raise InputError(f"no {field[:-1]} {name!r}", source=source, field=f"failures.{field}[{i}]",
                                 expected=expected)
    for i, plane in enumerate(spec.planes):
        if not walker:
            raise InputError("planes are named in a built-in Walker constellation", source=source,
                             field=f"failures.planes[{i}]", expected="constellation.builtin, or failures.satellites")
        if not any(name.startswith(plane + "-") for name in satellite_names):
            raise InputError(f"no plane {plane!r}", source=source, field=f"failures.planes[{i}]",
                             expected=f"'<shell>-Pkk', the prefix of its satellites' names (e.g. "
                                      f"{satellite_names[0].rsplit('-', 1)[0]!r})")


def laser_links(lasers: tuple | np.ndarray, n_sat: int) -> np.ndarray:
    """[laser, 2] every laser link of the graph once (smaller index first), from a Walker grid or a table."""
    table = plus_grid(lasers) if isinstance(lasers, tuple) else np.asarray(lasers)
    a = np.repeat(np.arange(n_sat), table.shape[1])
    b = table.ravel()
    return np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)[b >= 0], axis=0)


def draw(spec: FailureSpec, satellite_names: tuple[str, ...], lasers: tuple | np.ndarray,
         gateway_names: tuple[str, ...], cloud_names: tuple[str, ...], host_names: tuple[str, ...]) -> Outage:
    """The named outages of `spec` and its random ones (names already checked by `check_names`). One uniform
    number per element, kind by kind in the order of KINDS, whatever the rates: the same seed fails the same
    elements of a kind at any rate of another kind, and a higher rate fails a superset."""
    rng = np.random.default_rng(spec.seed)
    links = laser_links(lasers, len(satellite_names))
    sizes = (len(satellite_names), len(links), len(gateway_names), len(cloud_names), len(host_names))
    rates = (spec.satellite_rate, spec.laser_rate, spec.gateway_rate, spec.cloud_rate, spec.accelerator_rate)
    down = [rng.random(n) < rate for n, rate in zip(sizes, rates)]
    satellites, laser, gateways, clouds, accelerators = down
    satellites |= np.isin(satellite_names, spec.satellites)
    satellites |= np.array([any(n.startswith(p + "-") for p in spec.planes) for n in satellite_names], bool)
    gateways |= np.isin(gateway_names, spec.gateways)
    clouds |= np.isin(cloud_names, spec.clouds)
    accelerators |= np.isin(host_names, spec.accelerators)
    return Outage(satellites, links[laser], gateways, clouds, accelerators)


def failed_orbits(orbits: Orbits, satellites: np.ndarray) -> Orbits:
    """`orbits` with the failed satellites' positions and sunlight NaN (SGP4's failure rows)."""
    r = np.array(orbits.r_ecef_km)
    sunlit = np.array(orbits.sunlit_fraction)
    r[satellites] = np.nan
    sunlit[satellites] = np.nan
    return dataclasses.replace(orbits, r_ecef_km=r, sunlit_fraction=sunlit)


def failed_lasers(lasers: tuple | np.ndarray, n_sat: int, failed: np.ndarray) -> tuple | np.ndarray:
    """The laser graph without the `failed` links [laser, 2] (unchanged when none failed)."""
    if not len(failed):
        return lasers
    table = plus_grid(lasers) if isinstance(lasers, tuple) else np.array(lasers, np.int32)
    for a, b in failed:
        table[a][table[a] == b] = -1
        table[b][table[b] == a] = -1
    return table


def without_accelerators(problem: PlacementProblem, hosts: np.ndarray) -> PlacementProblem:
    """`problem` with no slot at the `hosts` [host] bool (their accelerators are down), the way problem.build
    removes a satellite SGP4 cannot propagate."""
    cand = problem.candidate_host
    return problem.without_slots((cand >= 0) & hosts[np.maximum(cand, 0)])
