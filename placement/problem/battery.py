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
whatever it does in other epochs (each eclipse given an even share of what the battery holds), which is
what the heuristics (serving epochs in any order) work with; the MILP has the exact rows.
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
    """[epoch, host] a power budget per epoch, at most `limit_w`, whose own charge trajectory never goes
    below empty: an epoch whose harvest covers the limit may draw the limit; a run of epochs whose harvest
    does not (an eclipse, or its edges) draws its harvest plus an even share per second of what the battery
    held when the run began. Any solution within it keeps every battery above empty, since drawing less in
    an epoch never leaves less in the battery later (e[t+1] is non-decreasing in e[t] and non-increasing in
    p[t]). It is conservative: it spends a battery within each run and recharges only from harvest above
    the limit, so over a horizon longer than an orbit it leaves later eclipses less than the MILP's exact
    rows (14) allow."""
    T, H = limit_w.shape
    budget = np.array(limit_w, float)
    energy = np.asarray(battery_j, float).copy()
    elapsed = np.concatenate([[0.0], np.cumsum(epoch_s)])
    for t in range(T):
        short = harvest_w[t] < limit_w[t]  # [host]: this epoch draws on the battery at the limit
        end = np.full(H, t + 1)
        for u in range(t + 1, T):  # each host's run of short epochs from t
            end = np.where(short & (end == u) & (harvest_w[u] < limit_w[u]), u + 1, end)
        run_s = elapsed[end] - elapsed[t]
        share_w = np.where(short, energy / run_s, np.inf)
        budget[t] = np.minimum(limit_w[t], harvest_w[t] + share_w)
        with np.errstate(invalid="ignore"):  # inf harvest on the ground
            after = energy + epoch_s[t] * (harvest_w[t] - budget[t])
        energy = np.where(np.isfinite(harvest_w[t]), np.clip(after, 0.0, battery_j), battery_j)
    return budget
