"""Shared link rows (constraint 16): the fields that describe them, their checks, and each slot's load terms.

A link is one direction of something the requests of several demands cross: a laser from one satellite to
its neighbour, a satellite's user uplink or downlink beam (or Direct-to-Cell beam), its feeder link down to
a gateway or up from one, a gateway's receive or transmit side, a fiber. Every link has a reverse (the
other direction). A slot lists the links its requests cross from the site to the host
(`candidate_link`), each with the share of its served requests whose path crosses it (the path changes
with the network steps of the epoch); its responses cross the reverses of the same links. So the load of a
slot serving share x of demand d on link l is

    rate[t,d] (Bu[d] a_l + Bd[d] a_l') x    with a_l the slot's share on l as a request link and a_l' on l as
                                            the reverse of one of its request links,

and (16) bounds the sum over slots by the link's capacity, the epoch-mean load (`PlacementProblem` keeps no
per-step incidence; the network layer's `placement.network.incidence` computes it per step and folds it).
"""

from __future__ import annotations

import numpy as np

from placement.errors import InputError

# Link kinds, one per direction of each kind of shared link (LINK_KINDS[link_kind[l]]).
LINK_KINDS = ("laser", "user-uplink", "user-downlink", "feeder-downlink", "feeder-uplink", "gateway-receive",
              "gateway-transmit", "fiber")


def link_shapes(problem, set_, slots_shape: tuple[int, int, int]) -> dict:
    """The link fields' (dtype, shape) for `PlacementProblem.__post_init__`, after filling the absent ones
    (no link names: no links, candidate lists of width 0)."""
    p = problem
    T = slots_shape[0]
    if not p.link_name:
        for name in ("link_kind", "link_reverse", "link_capacity_gbps", "candidate_link", "candidate_link_share",
                     "candidate_link_steps"):
            if getattr(p, name) is not None and np.size(getattr(p, name)):
                raise InputError("is given without link_name", field=name, expected="link_name for every link")
        set_("link_kind", np.zeros(0))
        set_("link_reverse", np.zeros(0))
        set_("link_capacity_gbps", np.zeros((T, 0)))
        set_("candidate_link", np.full(slots_shape + (0,), -1))
        set_("candidate_link_share", np.zeros(slots_shape + (0,)))
    missing = [name for name in ("link_kind", "link_reverse", "link_capacity_gbps", "candidate_link",
                                 "candidate_link_share") if getattr(p, name) is None]
    if missing:
        raise InputError("is missing", field=missing[0], expected="every link field with link_name")
    width = np.shape(p.candidate_link)[-1] if np.ndim(p.candidate_link) == 4 else -1
    if width < 0:
        raise InputError(f"has shape {np.shape(p.candidate_link)}", field="candidate_link",
                         expected=f"shape {slots_shape + ('L',)}")
    n = len(p.link_name)
    steps = {} if p.candidate_link_steps is None else {"candidate_link_steps": (np.uint64, slots_shape + (width,))}
    return steps | {"link_kind": (np.int8, (n,)), "link_reverse": (np.int32, (n,)),
            "link_capacity_gbps": (np.float64, (T, n)), "candidate_link": (np.int32, slots_shape + (width,)),
            "candidate_link_share": (np.float64, slots_shape + (width,))}


def check_links(problem, check) -> None:
    """Index ranges and shares of the link fields; `check` is spec's `_check` (names the first offender)."""
    p = problem
    n = len(p.link_name)
    check((p.link_kind >= 0) & (p.link_kind < len(LINK_KINDS)), "link_kind", "unknown kind",
          f"an index into {LINK_KINDS}")
    check((p.link_reverse >= 0) & (p.link_reverse < n), "link_reverse", "index out of range",
          f"an index into the {n} links")
    if n:
        check(p.link_reverse[p.link_reverse] == np.arange(n), "link_reverse", "not an involution",
              "the reverse of a link's reverse is the link")
    check(~np.isnan(p.link_capacity_gbps) & (p.link_capacity_gbps >= 0), "link_capacity_gbps", "negative or NaN",
          "values >= 0 (inf: unlimited)")
    link, share = p.candidate_link, p.candidate_link_share
    check((link >= -1) & (link < n), "candidate_link", "index out of range", f"-1 or a link index < {n}")
    check((link < 0) | (p.candidate_host >= 0)[..., None], "candidate_link", "a link on a padding slot",
          "links only where candidate_host >= 0")
    check((share >= 0) & (share <= 1) & ((link >= 0) | (share == 0)), "candidate_link_share",
          "outside [0, 1], or not 0 on padding", "shares in [0, 1], 0 where candidate_link is -1")
    if p.candidate_link_steps is not None:
        check((link >= 0) | (p.candidate_link_steps == 0), "candidate_link_steps", "steps on padding",
              "0 where candidate_link is -1")
    ordered = np.sort(np.where(link >= 0, link, -1 - np.arange(link.shape[-1])), axis=-1)
    check((np.diff(ordered, axis=-1) != 0).all(axis=-1), "candidate_link", "a link repeated in one slot",
          "distinct links per slot")


def slot_link_terms(problem) -> tuple[np.ndarray, np.ndarray]:
    """(row, bits_per_s) [epoch, demand, slot, 2L]: the (epoch, link) rows (flat epoch x n_links + link; -1
    none) the whole demand loads where it is all served in the slot, and by how much (16): the requests on
    its request links, the responses on their reverses. A link that is both (the path crossed it each way at
    different steps) has one term, their sum."""
    p = problem
    T, L = p.candidate_link.shape[0], p.candidate_link.shape[3]
    link, share = p.candidate_link, p.candidate_link_share
    on = link >= 0
    reverse = np.where(on, p.link_reverse[np.maximum(link, 0)] if len(p.link_name) else -1, -1)
    ids = np.concatenate([link, reverse], axis=3)
    bits = np.concatenate([p.request_bits_per_s()[:, :, None, None] * share,
                           p.response_bits_per_s()[:, :, None, None] * share], axis=3)
    bits = np.where(ids >= 0, bits, 0.0)
    order = np.argsort(ids, axis=3, kind="stable")
    ids, bits = np.take_along_axis(ids, order, axis=3), np.take_along_axis(bits, order, axis=3)
    start = np.ones(ids.shape, bool)
    start[..., 1:] = ids[..., 1:] != ids[..., :-1]
    run = np.maximum.accumulate(np.where(start, np.arange(2 * L), 0), axis=3)
    total = np.zeros(ids.shape)
    slot = np.indices(ids.shape)[:3]
    np.add.at(total, (*slot, run), bits)
    ids = np.where(start, ids, -1)
    row = np.where(ids >= 0, np.arange(T)[:, None, None, None] * len(p.link_name) + ids, -1)
    return row, np.where(ids >= 0, total, 0.0)
