"""Slots of one host within a demand-epoch: a host offers one slot per model it may run the demand with, and
those slots share the host's reachable share (constraint 12)."""

from __future__ import annotations

import numpy as np


def first_slot_of_host(candidate_host: np.ndarray) -> np.ndarray:
    """[epoch, demand, slot]: the first slot of the demand-epoch with the same host (its own index where the
    host appears once, or where the slot is padding, host -1)."""
    K = candidate_host.shape[-1]
    order = np.argsort(candidate_host, axis=2, kind="stable")  # a host's slots together, in slot order
    ranked = np.take_along_axis(candidate_host, order, axis=2)
    starts = np.ones(ranked.shape, bool)
    starts[..., 1:] = ranked[..., 1:] != ranked[..., :-1]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(K), 0), axis=2)
    group = np.empty_like(order)
    np.put_along_axis(group, order, np.take_along_axis(order, run_start, axis=2), axis=2)
    return np.where(candidate_host >= 0, group, np.arange(K))


def share_by_group(group: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """[epoch, demand, slot]: the sum of `assignment` over the slots of each slot's `group` (the first slot of
    its host). One bincount over flat indices: np.add.at took 0.5 s of each of the repair's rounds at the
    optimizer benchmark's 8.6M slots."""
    T, D, K = assignment.shape
    flat = (np.arange(T * D)[:, None] * K + group.reshape(T * D, K)).ravel()
    return np.bincount(flat, assignment.ravel(), flat.size)[flat].reshape(assignment.shape)
