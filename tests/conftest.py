"""Test-wide JAX settings: float64 available (the reference precision the tests compare against) and strict
rank promotion, so an implicit broadcast between arrays of different ranks is an error rather than a silent
bug (JAX's own test setups do the same). Jobs run by the tests keep no compiled programs on disk (JAX's
persistent cache, placement/compile_cache.py), unless a test asks: the user's cache folder is left alone and
every test compiles as a fresh run would."""

import os

import jax

os.environ.setdefault("PLACEMENT_COMPILE_CACHE", "none")

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
