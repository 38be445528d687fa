"""Inter-satellite laser topology: the +Grid, as fixed neighbour slots [sat, 4].

Each satellite of a Walker shell links to the satellites ahead of and behind it in its plane
and to the satellites with the same slot in the two neighbouring planes (Bhattacherjee and
Singla, "Network topology design at 27,000 km/hour", CoNEXT 2019, call this +Grid; Starlink
satellites carry four lasers for it, shared/reference/starlink_performance_facts.csv).
Shells are not cross-linked.

Slots, always in this order:  0 = in-plane ahead (j + 1), 1 = in-plane behind (j - 1),
                              2 = next plane (k + 1),     3 = previous plane (k - 1).
An absent link is -1 (a plane of one satellite, or the edge planes of a partial RAAN spread).

The seam of a full Walker delta: going once round the equator from plane P-1 to plane 0, the
phasing F has accumulated P * F * 360/T = F * 360/S degrees, so the neighbour of (P-1, j) in
plane 0 is slot j + F, not j (equation 2 of walker.py with k = P). Linking (P-1, j) to (0, j)
would give every seam laser a needlessly long, diagonal path.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from placement.constellation.elements import Elements
from placement.constellation.walker import WalkerShell
from placement.errors import InputError
from placement.propagation.sgp4 import Propagator
from placement.propagation.timegrid import TimeGrid

AHEAD, BEHIND, NEXT_PLANE, PREVIOUS_PLANE = range(4)
SLOTS = 4


class GridShell(NamedTuple):
    """Where one shell's satellites sit in the satellite axis, and its grid (static metadata)."""

    first: int
    planes: int
    per_plane: int
    phasing: int
    full_circle: bool  # planes spread over 360 deg (a Walker delta): plane P-1 links to plane 0


def grid_shells(shells: Sequence[WalkerShell]) -> tuple[GridShell, ...]:
    """The grid of each shell of `walker.constellation(shells, ...)`, in its satellite order."""
    grids, first = [], 0
    for shell in shells:
        grids.append(GridShell(first, shell.planes, shell.sats_per_plane, shell.phasing,
                               shell.raan_spread_deg >= 360.0))
        first += shell.total_sats
    return tuple(grids)


def _shifted(x, grid: GridShell):
    """The four neighbours' values of one shell's [plane, slot, ...] block, as slices and
    concatenations (contiguous copies that XLA fuses, instead of a gather)."""
    f = grid.phasing
    ahead = jnp.concatenate([x[:, 1:], x[:, :1]], axis=1)
    behind = jnp.concatenate([x[:, -1:], x[:, :-1]], axis=1)
    # across the seam, plane 0 is reached with the slot shifted by the phasing (module docstring)
    seam_next = jnp.roll(x[:1], -f, axis=1)
    seam_previous = jnp.roll(x[-1:], f, axis=1)
    next_plane = jnp.concatenate([x[1:], seam_next], axis=0)
    previous_plane = jnp.concatenate([seam_previous, x[:-1]], axis=0)
    return ahead, behind, next_plane, previous_plane


def _blocks(values, grids: Sequence[GridShell]):
    for grid in grids:
        block = values[grid.first: grid.first + grid.planes * grid.per_plane]
        yield grid, block.reshape((grid.planes, grid.per_plane) + values.shape[1:])


def neighbour_values(values, grids: Sequence[GridShell]):
    """values[neighbour[v, s]] for every satellite v and slot s: [sat, ...] -> [sat, 4, ...].

    The same as indexing with `plus_grid`, but built from shifts of each shell's block. Where a
    link is absent (partial RAAN spread, single plane) the value returned is that of the wrapped
    neighbour; the link's infinite latency makes it irrelevant.
    """
    out = []
    for grid, x in _blocks(values, grids):
        block = jnp.stack(_shifted(x, grid), axis=2)
        out.append(block.reshape((grid.planes * grid.per_plane, SLOTS) + values.shape[1:]))
    return jnp.concatenate(out, axis=0)


def min_through_neighbours(values, latency, grids: Sequence[GridShell]):
    """min over slots s of values[neighbour[v, s]] + latency[v, s]: [sat, ...] -> [sat, ...].

    The inner step of shortest-path relaxation on the +Grid, without materialising [sat, 4, ...].
    `latency` is [sat, 4] (inf where there is no link) and broadcasts over the trailing axes.
    """
    return best_through_neighbours(values, latency, grids)[0]  # XLA drops the unused slot


def best_through_neighbours(values, latency, grids: Sequence[GridShell]):
    """`min_through_neighbours` and the slot that attains it (the first one on ties, as argmin):
    [sat, ...] -> ([sat, ...], int32 [sat, ...]). The slot comes from comparing each slot's value
    with the min, not from an argmin reduction (a slow variadic reduce on a CPU)."""
    best_out, slot_out = [], []
    extra = (1,) * (values.ndim - 1)
    for (grid, x), (_, lat) in zip(_blocks(values, grids), _blocks(latency, grids)):
        best, slot = _best_of([shifted + lat[:, :, s].reshape(lat.shape[:2] + extra)
                               for s, shifted in enumerate(_shifted(x, grid))])
        best_out.append(best.reshape((grid.planes * grid.per_plane,) + values.shape[1:]))
        slot_out.append(slot.reshape((grid.planes * grid.per_plane,) + values.shape[1:]))
    return jnp.concatenate(best_out, axis=0), jnp.concatenate(slot_out, axis=0)


def best_through_table(values, latency, neighbour):
    """`best_through_neighbours` on any laser graph of at most four links per satellite: neighbour
    [sat, 4] int (-1 for none, its latency inf), by gathers of whole rows."""
    extra = (1,) * (values.ndim - 1)
    return _best_of([values[jnp.maximum(neighbour[:, s], 0)] + latency[:, s].reshape((-1,) + extra)
                     for s in range(SLOTS)])


def _best_of(through):
    """(min of the four slots' values, the first slot attaining it), elementwise."""
    best = jnp.minimum(jnp.minimum(through[0], through[1]), jnp.minimum(through[2], through[3]))
    slot = jnp.select([t == best for t in through[:3]], [jnp.int32(s) for s in range(3)], jnp.int32(3))
    return best, slot


def _sweep(values, link_ms, axis: int, reverse: bool, laps: int = 1):
    """y[j] = min(values[j], link_ms[j] + y[j - 1]) along `axis` (from the far end if `reverse`):
    the exact shortest distances along a line whose link j joins positions j - 1 and j (j + 1 and j
    if reverse). A ring takes `laps=2`: the second lap carries paths through the wrap round, each
    position's first-lap value standing in for `values`, which the carry can only improve on.
    A sequential loop: one pass a lap, and no prefix sums to lose precision to. It updates one
    buffer in place, with no transposes and no stacked output (what `lax.scan` would add)."""
    n = values.shape[axis]

    def step(j, state):
        y, carry = state
        at = n - 1 - j % n if reverse else j % n
        carry = jnp.minimum(jax.lax.dynamic_index_in_dim(y, at, axis),
                            jax.lax.dynamic_index_in_dim(link_ms, at, axis) + carry)
        return jax.lax.dynamic_update_index_in_dim(y, carry, at, axis), carry

    start = jnp.full_like(jax.lax.index_in_dim(values, 0, axis), jnp.inf)
    return jax.lax.fori_loop(0, laps * n, step, (values, start))[0]


def relax_along_lines(values, latency, grids: Sequence[GridShell]):
    """Shortest-path relaxation along whole lines of the +Grid at once: [sat, ...] -> [sat, ...].

    Each plane's ring is relaxed exactly, in both directions (twice round, so paths through the
    wrap are found), then each line of same-slot satellites across the planes, in both directions.
    Only the seam links of a full Walker delta (plane P-1 to plane 0) are left to a single-hop
    step. A Bellman-Ford round built from this needs as many rounds as a shortest path has turns
    between in-plane and cross-plane runs (about 5 on Starlink Gen1), instead of one per hop
    (about 49).
    """
    out = []
    extra = (1,) * (values.ndim - 1)
    for (grid, x), (_, lat) in zip(_blocks(values, grids), _blocks(latency, grids)):
        link = lambda slot: lat[:, :, slot].reshape(lat.shape[:2] + extra)  # noqa: E731
        y = _sweep(x, link(BEHIND), axis=1, reverse=False, laps=2)
        y = _sweep(y, link(AHEAD), axis=1, reverse=True, laps=2)
        y = _sweep(y, link(PREVIOUS_PLANE), axis=0, reverse=False)
        y = _sweep(y, link(NEXT_PLANE), axis=0, reverse=True)
        out.append(y.reshape((grid.planes * grid.per_plane,) + values.shape[1:]))
    return jnp.concatenate(out, axis=0)


def min_through_unsettled(values, latency, grids: Sequence[GridShell]):
    """min over the links that `relax_along_lines` leaves unsettled, of values[neighbour] + latency:
    the in-plane slots (the rings were swept before the cross-plane lines, which may since have lowered a
    neighbour) and the seam links; [sat, ...] -> [sat, ...]. On the output of `relax_along_lines` no other
    link can lower a value (its cross-plane line sweep ran last), so this is all a one-hop step needs there,
    and half of what `min_through_neighbours` reads."""
    out = []
    extra = (1,) * (values.ndim - 1)
    for (grid, x), (_, lat) in zip(_blocks(values, grids), _blocks(latency, grids)):
        link = lambda slot: lat[:, :, slot].reshape(lat.shape[:2] + extra)  # noqa: E731
        ahead, behind, *_ = _shifted(x, grid)
        best = jnp.minimum(ahead + link(AHEAD), behind + link(BEHIND))
        # across the seam, as in _shifted: plane P-1's next plane is plane 0 shifted by the phasing
        seam_next = jnp.roll(x[:1], -grid.phasing, axis=1) + link(NEXT_PLANE)[-1:]
        seam_previous = jnp.roll(x[-1:], grid.phasing, axis=1) + link(PREVIOUS_PLANE)[:1]
        best = best.at[-1:].min(seam_next).at[:1].min(seam_previous)
        out.append(best.reshape((grid.planes * grid.per_plane,) + values.shape[1:]))
    return jnp.concatenate(out, axis=0)


def plus_grid(grids: Sequence[GridShell]) -> np.ndarray:
    """Neighbour indices [sat, 4] (int32, -1 for none) of the satellites of these shells."""
    blocks = []
    for grid in grids:
        local = _shell_grid(grid)
        blocks.append(np.where(local >= 0, local + grid.first, -1))
    return np.concatenate(blocks).astype(np.int32)


def _shell_grid(grid: GridShell) -> np.ndarray:
    planes, per_plane, phasing = grid.planes, grid.per_plane, grid.phasing
    k, j = np.meshgrid(np.arange(planes), np.arange(per_plane), indexing="ij")
    index = lambda plane, slot: plane * per_plane + slot % per_plane  # noqa: E731
    neighbours = np.full((planes, per_plane, SLOTS), -1, dtype=np.int64)
    if per_plane > 1:
        neighbours[..., AHEAD] = index(k, j + 1)
        neighbours[..., BEHIND] = index(k, j - 1)
    if planes > 1:
        full_circle = grid.full_circle
        # plane k + 1; across the seam of a full delta, plane 0 with the slot shifted by F
        seam_next = (k == planes - 1)
        next_plane = np.where(seam_next, index(0, j + phasing), index(k + 1, j))
        neighbours[..., NEXT_PLANE] = np.where(seam_next & ~full_circle, -1, next_plane)
        seam_previous = (k == 0)
        previous_plane = np.where(seam_previous, index(planes - 1, j - phasing), index(k - 1, j))
        neighbours[..., PREVIOUS_PLANE] = np.where(seam_previous & ~full_circle, -1, previous_plane)
    return neighbours.reshape(planes * per_plane, SLOTS)


# ---------------------------------------------------------------------------------------------------
# +Grid of a catalog: satellites without a Walker description (a TLE snapshot), from their orbits

def infer_plus_grid(inclination_deg: np.ndarray, altitude_km: np.ndarray, r_km: np.ndarray, v_km_s: np.ndarray, *,
                    inclination_gap_deg: float = 0.05, altitude_bin_km: float = 5.0, plane_gap_deg: float = 1.0,
                    min_shell_sats: int = 20) -> np.ndarray:
    """Neighbour slots [sat, 4] (int32, -1 for none; slots as `plus_grid`) of satellites given by their
    mean inclination and altitude [sat] and their position and velocity [sat, 3] at one instant (any
    Earth-centred inertial frame, e.g. TEME from SGP4).

    1. Shells: satellites sorted by inclination, a new group where the next differs by more than
       `inclination_gap_deg`; in each group, altitudes binned by `altitude_bin_km`, and each run of bins
       holding at least `min_shell_sats` satellites each is a shell. Satellites in sparser bins (raising or
       lowering their orbit between shells) get no lasers.
    2. Planes: in a shell, the right ascensions of the ascending node (RAAN, from the angular momentum
       h = r x v) sorted round the circle; a new plane where the next is more than `plane_gap_deg` away.
    3. In a plane, satellites ordered by argument of latitude u (the angle from the ascending node to r,
       in the direction of motion) form a ring: AHEAD the next, BEHIND the previous.
    4. Across planes: each plane with the next by RAAN (the last with the first when the planes go round
       the circle, that is when the gap between them is at most 1.5x the median gap between planes).
       Pairs (one satellite from each plane) are taken by increasing difference of u, each satellite at most
       once per side and never more than one in-plane spacing (nor `MAX_PAIR_DEG`) apart: NEXT_PLANE of one,
       PREVIOUS_PLANE of the other.
    On a Walker delta this gives `plus_grid` itself, its seam shifted by the phasing included (tests). The
    links are symmetric; whether each exists at a time step is for `routes.laser_links` (range, line of
    sight). Satellites with a NaN state get none.
    """
    n = len(inclination_deg)
    neighbour = np.full((n, SLOTS), -1, np.int32)
    r, v = np.asarray(r_km, float), np.asarray(v_km_s, float)
    h = np.cross(r, v)
    raan_deg = np.degrees(np.arctan2(h[:, 0], -h[:, 1])) % 360.0
    node = np.stack([-h[:, 1], h[:, 0], np.zeros(n)], axis=1)  # towards the ascending node
    with np.errstate(invalid="ignore", divide="ignore"):
        node /= np.linalg.norm(node, axis=1, keepdims=True)
        normal = np.cross(h / np.linalg.norm(h, axis=1, keepdims=True), node)  # in the plane, 90 deg past the node
    u_deg = np.degrees(np.arctan2(np.einsum("sx,sx->s", r, normal), np.einsum("sx,sx->s", r, node))) % 360.0
    valid = np.isfinite(u_deg) & np.isfinite(raan_deg) & np.isfinite(inclination_deg) & np.isfinite(altitude_km)

    for group in _split(np.flatnonzero(valid), inclination_deg, inclination_gap_deg):
        for members in _dense_runs(group, altitude_km, altitude_bin_km, min_shell_sats):
            _link_shell(neighbour, members, raan_deg[members], u_deg[members], plane_gap_deg)
    return neighbour


def read_laser_list(path, n_sat: int) -> np.ndarray:
    """Neighbour slots [sat, 4] (int32, -1 for none) from a laser list: one link per line, two satellite
    indices (0-based, in the order of the constellation's element sets) separated by spaces or a comma, as
    Hypatia's isls.txt; '#' starts a comment. Links are undirected; a satellite takes at most four (each is
    one slot, in the order listed)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror}", source=str(path), expected="a laser list file") from None
    neighbour = np.full((n_sat, SLOTS), -1, np.int32)
    seen = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].replace(",", " ").split()
        if not line:
            continue
        if len(line) != 2 or not all(word.isdigit() for word in line):
            raise InputError(f"{raw.strip()!r} is not a link", source=str(path), line=number,
                             expected="two satellite indices, e.g. '0 1'")
        a, b = int(line[0]), int(line[1])
        if max(a, b) >= n_sat or a == b or (min(a, b), max(a, b)) in seen:
            raise InputError(f"link {a}-{b}", source=str(path), line=number,
                             expected=f"two different satellites in 0..{n_sat - 1}, each link once")
        seen.add((min(a, b), max(a, b)))
        for v, w in ((a, b), (b, a)):
            free = np.flatnonzero(neighbour[v] < 0)
            if not free.size:
                raise InputError(f"satellite {v} has more than {SLOTS} lasers", source=str(path), line=number,
                                 expected=f"at most {SLOTS} links per satellite")
            neighbour[v, free[0]] = w
    return neighbour


def constellation_lasers(elements: Elements, shells: Sequence[WalkerShell] | None, grid: TimeGrid,
                         given: np.ndarray | None = None) -> tuple[GridShell, ...] | np.ndarray:
    """The lasers a constellation routes over: a `given` neighbour table (a laser list, `read_laser_list`;
    all -1 for none), the +Grid of the Walker `shells` that generated every satellite (`grid_shells`), or for
    a catalog the grid inferred from the orbits at the first instant of `grid` (`infer_plus_grid`: one SGP4
    call at that instant, float64, for the TEME state it needs)."""
    if given is not None:
        return np.asarray(given, np.int32)
    if shells is not None:
        return grid_shells(shells)
    first = Propagator.create(elements, np.float64).tsince(grid.tsince_min(elements)[:, :1])
    return infer_plus_grid(np.degrees(elements.inclo), elements.mean_altitude_km(),
                           np.asarray(first.r_km, np.float64)[:, 0], np.asarray(first.v_km_s, np.float64)[:, 0])


def _split(members: np.ndarray, key: np.ndarray, gap: float) -> list[np.ndarray]:
    """`members` sorted by `key`, cut where consecutive keys differ by more than `gap`."""
    ordered = members[np.argsort(key[members], kind="stable")]
    cuts = np.flatnonzero(np.diff(key[ordered]) > gap) + 1
    return np.split(ordered, cuts)


def _dense_runs(members: np.ndarray, key: np.ndarray, width: float, at_least: int) -> list[np.ndarray]:
    """`members` whose `key` falls in runs of consecutive bins of `width` that hold `at_least` each."""
    bins = np.floor(key[members] / width).astype(np.int64)
    low = bins.min()
    counts = np.bincount(bins - low)
    dense = counts >= at_least
    run = np.cumsum(np.r_[dense[:1], dense[1:] & ~dense[:-1]]) * dense  # 1, 2, ... per run; 0 where sparse
    of_member = run[bins - low]
    return [members[of_member == r] for r in range(1, int(run.max(initial=0)) + 1)]


MAX_PAIR_DEG = 30.0  # cross-plane partners at most this far apart in u (lasers reach ~41 deg of arc at 550 km)


def _link_shell(neighbour: np.ndarray, members: np.ndarray, raan_deg: np.ndarray, u_deg: np.ndarray,
                plane_gap_deg: float) -> None:
    """Steps 2-4 of `infer_plus_grid` for one shell (`members` are satellite indices)."""
    # Planes round the circle, starting after the widest gap between RAANs
    order = np.argsort(raan_deg, kind="stable")
    gaps = np.diff(np.r_[raan_deg[order], raan_deg[order][0] + 360.0])
    start = (int(np.argmax(gaps)) + 1) % len(order)
    order, gaps = np.roll(order, -start), np.roll(gaps, -start)
    planes = np.split(order, np.flatnonzero(gaps[:-1] > plane_gap_deg) + 1)
    planes = [p[np.argsort(u_deg[p], kind="stable")] for p in planes]

    for p in planes:  # rings by argument of latitude
        if len(p) > 1:
            neighbour[members[p], AHEAD] = members[np.roll(p, -1)]
        if len(p) > 2:
            neighbour[members[p], BEHIND] = members[np.roll(p, 1)]
    if len(planes) < 2:
        return
    centre = np.array([_circular_mean(raan_deg[p]) for p in planes])
    between = (np.diff(np.r_[centre, centre[0]]) + 360.0) % 360.0  # plane k to k + 1, the last to the first
    pairs = list(zip(planes[:-1], planes[1:]))
    if len(planes) > 2 and between[-1] <= 1.5 * np.median(between[:-1]):
        pairs.append((planes[-1], planes[0]))
    for a, b in pairs:
        du = np.abs((u_deg[a][:, None] - u_deg[b][None, :] + 180.0) % 360.0 - 180.0)
        spacing = min(360.0 / max(len(a), len(b)), MAX_PAIR_DEG)
        ia, ib = np.nonzero(du <= spacing)
        closest = np.argsort(du[ia, ib], kind="stable")
        taken_a, taken_b = np.zeros(len(a), bool), np.zeros(len(b), bool)
        for i, j in zip(ia[closest], ib[closest]):
            if not (taken_a[i] or taken_b[j]):
                taken_a[i] = taken_b[j] = True
                neighbour[members[a[i]], NEXT_PLANE] = members[b[j]]
                neighbour[members[b[j]], PREVIOUS_PLANE] = members[a[i]]


def _circular_mean(angles_deg: np.ndarray) -> float:
    a = np.radians(angles_deg)
    return float(np.degrees(np.arctan2(np.sin(a).mean(), np.cos(a).mean())) % 360.0)
