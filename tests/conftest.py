"""Test-wide JAX settings: float64 available (the reference precision the tests compare against) and strict
rank promotion, so an implicit broadcast between arrays of different ranks is an error rather than a silent
bug (JAX's own test setups do the same)."""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
