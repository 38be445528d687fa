"""A satellite's battery carried from one epoch to the next (constraint 14 of `placement.solvers.milp`).

The compute payload is given `harvest_w` [epoch, host] by the panels on average over each epoch (its sunlit
fraction times its sunlit allocation) and draws p = load / flops_per_joule, uniform over the epoch as its
requests are. What it does not draw charges its share of the battery, up to `battery_j` (the usable energy:
capacity x depth of discharge; full at the start of the horizon); what it draws beyond the harvest comes
from the battery, which may not go below empty:

    e[t+1] = min(battery_j, e[t] + epoch_s[t] (harvest_w[t] - p[t])) >= 0,     e[0] = battery_j

(spilling what a full battery cannot take). Within an epoch only the net energy is checked: a 300 s epoch
that is half sunlit is taken to charge and draw in whatever order. Hosts with an infinite harvest (on the
ground) have no battery row. The charge and discharge efficiencies are taken as 1 and the battery may
supply the accelerator's whole module power (a 60 W draw from a 60 Wh battery is 1 C): assumptions.

`sustained_power_w` is a per-epoch power budget under which every solution keeps the battery above empty
whatever it does in other epochs, which is what the heuristics (serving epochs in any order) work with;
the MILP has the exact rows.
"""

from __future__ import annotations

import numpy as np


def state_of_charge(power_w: np.ndarray, harvest_w: np.ndarray, battery_j: np.ndarray,
                    epoch_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy in each battery [epoch + 1, host] at the epochs' boundaries for compute power `power_w`
    [epoch, host], and the energy [epoch, host] it lacks in each epoch (0 where the battery suffices; the
    battery is then taken as empty and the simulation goes on)."""
    T, H = power_w.shape
    soc = np.empty((T + 1, H))
    lacking = np.zeros((T, H))
    soc[0] = battery_j
    for t in range(T):
        with np.errstate(invalid="ignore"):  # inf harvest x no draw on the ground
            after = soc[t] + epoch_s[t] * (harvest_w[t] - power_w[t])
        after = np.where(np.isfinite(harvest_w[t]), after, battery_j)
        lacking[t] = np.maximum(-after, 0.0)
        soc[t + 1] = np.clip(after, 0.0, battery_j)
    return soc, lacking


def sustained_power_w(limit_w: np.ndarray, harvest_w: np.ndarray, battery_j: np.ndarray,
                      epoch_s: np.ndarray) -> np.ndarray:
    """[epoch, host] the power each epoch may draw, at most `limit_w`, when every earlier epoch draws all it
    may: the harvest plus what the battery holds, spread over the epoch. A solution within it keeps every
    battery above empty, since drawing less in an epoch never leaves less in the battery later (e[t+1] is
    non-decreasing in e[t] and non-increasing in p[t])."""
    T, H = limit_w.shape
    budget = np.empty((T, H))
    energy = np.asarray(battery_j, float).copy()
    for t in range(T):
        budget[t] = np.minimum(limit_w[t], harvest_w[t] + energy / epoch_s[t])
        with np.errstate(invalid="ignore"):
            after = energy + epoch_s[t] * (harvest_w[t] - budget[t])
        energy = np.where(np.isfinite(harvest_w[t]), np.clip(after, 0.0, battery_j), battery_j)
    return budget
