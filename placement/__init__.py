"""placement: where should each lightweight AI model run in a LEO edge cloud.

Data flow (see README): config -> scenario -> constellation elements -> propagation -> network tensors
-> placement problem -> solvers -> evaluation -> results. Importing the package changes no global setting:
the jobs (`placement.pipeline`) switch JAX's float64 on where they need it (`pipeline.enable_float64`), and a
float64 propagation asked for without it is refused rather than silently run in float32.
"""

__version__ = "0.1.0"
