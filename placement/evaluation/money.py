"""Money per strategy, reported beside the objective (not part of it): accelerator energy at a price per kWh
by host kind, and the uplink of every copy's weights at a price per GB by host kind.

No prices ship: none could be sourced here for a satellite's energy or for uploading to one, so each run
states its own (`problem.price_per_kwh`, `problem.price_per_gb_upload`), and metrics.json reports money only
where a price was given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from placement.evaluation.metrics import Evaluation
from placement.problem.solution import Solution
from placement.problem.spec import HOST_KINDS, PlacementProblem


def money_summary(problem: PlacementProblem, solution: Solution, evaluation: Evaluation,
                  price_per_kwh: Sequence[float], price_per_gb_upload: Sequence[float]) -> dict:
    """money_energy (and by host kind) from the evaluation's energy; upload_gb and money_upload from the copies
    that appear in each epoch (the first epoch's included: every copy is uploaded once), each priced at its
    host's kind. Prices are per HOST_KINDS; an empty sequence leaves that part out."""
    out = {}
    if price_per_kwh:
        money = evaluation.energy_j / 3.6e6 * np.asarray(price_per_kwh, float)
        out["money_energy"] = float(money.sum())
        out |= {f"money_energy_{kind}": float(m) for kind, m in zip(HOST_KINDS, money)}
    if price_per_gb_upload:
        y = solution.placement
        appears = y & ~np.concatenate([np.zeros_like(y[:1]), y[:-1]])  # [epoch, model, host]
        gb = np.einsum("tmh,m->h", appears.astype(float), problem.model_memory_bytes / 1e9)
        out["upload_gb"] = float(gb.sum())
        out["money_upload"] = float((gb * np.asarray(price_per_gb_upload, float)[problem.host_kind]).sum())
    return out
