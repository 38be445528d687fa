"""Failures: which elements are down (`outage`) and what each strategy's placement is then worth, kept,
re-routed or re-optimised (`impact`, imported on its own: it runs the pipeline's stages)."""

from placement.failures.outage import FailureSpec, Outage, check_names, draw

__all__ = ["FailureSpec", "Outage", "check_names", "draw"]
