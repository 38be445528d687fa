"""placement: where should each lightweight AI model run in a LEO edge cloud.

Data flow (see README): constellation elements -> propagation -> network tensors
-> placement problem -> solvers -> evaluation -> results.
"""

__version__ = "0.1.0"

import os
import sys

# float64 is the reference mode (it matches the `sgp4` package); float32 is asked for
# explicitly where speed matters. Without this switch JAX would silently demote float64.
# JAX reads JAX_ENABLE_X64 when it is first imported, so the switch costs no import of JAX
# here: the config loader and the solver registry stay light.
if "jax" in sys.modules:
    sys.modules["jax"].config.update("jax_enable_x64", True)
else:
    os.environ["JAX_ENABLE_X64"] = "1"
