"""Failures: which elements are down (`outage`), what each strategy's placement is then worth, kept,
re-routed or re-optimised (`impact`), and a placement that survives any single failure (`reserve`); the last
two are imported on their own (they run the solvers)."""

from placement.failures.outage import FailureSpec, Outage, check_names, draw

__all__ = ["FailureSpec", "Outage", "check_names", "draw"]
