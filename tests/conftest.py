"""Test-wide JAX settings: float64 available (the reference precision the tests compare against) and strict
rank promotion, so an implicit broadcast between arrays of different ranks is an error rather than a silent
bug (JAX's own test setups do the same). And a tiny run directory that several test modules read, built once."""

import jax
import pytest

from tiny_run import prepare_tiny, run_tiny

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(scope="session")
def tiny_prepared():
    """The tiny quick start's scenario and network, built once per test session."""
    return prepare_tiny()


@pytest.fixture(scope="session")
def tiny_run_dir(tiny_prepared, tmp_path_factory):
    """A run directory of the tiny quick start, with its report.html."""
    return run_tiny(tmp_path_factory.mktemp("tiny") / "run", tiny_prepared)
