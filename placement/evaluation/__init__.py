"""Independent checking and scoring of placements."""

from placement.evaluation.metrics import Evaluation, Violation, evaluate

__all__ = ["Evaluation", "Violation", "evaluate"]
