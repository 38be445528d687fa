"""Which epochs of a copy the MILP needs a placement variable for (per_epoch placement).

A copy (model m on host h) can serve only in the epochs where some usable slot uses it (its active epochs).
Placed in an idle epoch it serves nothing: it costs opening_cost f and memory there, and its only use is to
stay loaded across a run of g idle epochs (a gap between two active epochs, or the g epochs from the
horizon's start, which are loaded before the horizon) so that the next active epoch t_b needs no upload.
Dropping the y of a gap (y = 0 there) therefore loses nothing when

  g f >= c                 the upload it saves costs c = migration_cost, no more than g epochs of the copy, and
  the link row (6) of (t_b, h) cannot bind, even with every copy of h uploading then: the upload's bits at
                           t_b are then free.

Proof (for a fractional y too, so the LP bound is kept): let mu be the least y over the gap; the z of the gap
and of t_b sum to at least y[t_b] - mu, and its y cost to at least g f mu, so it costs at least
c y[t_b] + mu (g f - c) >= c y[t_b], which is what the gap costs with y = 0 and z[t_b] = y[t_b]; memory rows
(5) only lose load, and the link row of t_b cannot bind. Epochs after the last active one are dropped
outright (no later upload to save). On a day of the Starlink catalog (configs/starlink-catalog.toml) most
(model, satellite) pairs are candidates in a few of the 144 epochs, and keeping every epoch made the model
2.8 million placement variables with as many upload variables and rows (the run's 13.8 GB peak).
"""

from __future__ import annotations

import numpy as np


def copy_epochs(active: np.ndarray, opening_cost: np.ndarray, migration_cost: np.ndarray,
                upload_may_bind: np.ndarray, forced: np.ndarray | None = None) -> np.ndarray:
    """[epoch, copy] bool: the epochs each copy gets a placement variable in. `active` [epoch, copy]: some
    usable slot uses the copy; `opening_cost`, `migration_cost` [copy]: per epoch placed, per upload;
    `upload_may_bind` [epoch, copy]: the copy's host link row (6) could bind in that epoch; `forced` [epoch,
    copy]: placed by the caller's bounds, kept wherever it is."""
    T = active.shape[0]
    epoch = np.arange(T)[:, None]
    # the last active epoch at or before each epoch (-1: none) and the next at or after it (T: none)
    previous = np.maximum.accumulate(np.where(active, epoch, -1), axis=0)
    following = np.minimum.accumulate(np.where(active, epoch, T)[::-1], axis=0)[::-1]
    gap = following - previous - 1  # idle epochs in the run holding each idle epoch
    ends = following < T
    binds = np.take_along_axis(upload_may_bind, np.minimum(following, T - 1), axis=0)
    bridge = ends & ((gap * opening_cost[None, :] < migration_cost[None, :]) | binds)
    kept = active | bridge
    return kept if forced is None else kept | forced


def upload_may_bind(link_bps: np.ndarray, host_load_bps: np.ndarray, upload_bps: np.ndarray, copy_model: np.ndarray,
                    copy_host: np.ndarray) -> np.ndarray:
    """[epoch, copy]: whether the link row (6) of the copy's host could bind in an epoch, with its slots all
    at their share (`host_load_bps` [epoch, host]) and every copy of the host uploading its model
    (`upload_bps` [epoch, model]); `link_bps` [epoch, host] (inf: no row)."""
    uploads = np.zeros_like(host_load_bps)
    np.add.at(uploads, (slice(None), copy_host), upload_bps[:, copy_model])
    return (host_load_bps + uploads > link_bps)[:, copy_host]
