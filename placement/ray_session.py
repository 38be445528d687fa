"""A Ray connection for the parts that hand work to Ray tasks (sweep points, placement regions): Ray is
imported only when asked for, a local instance is closed to the network, and only what was started here is
shut down."""

from __future__ import annotations

import contextlib
import warnings

from placement.errors import InputError


def import_ray(field: str):
    """The ray module, or an InputError naming the option (`field`) that asked for it."""
    try:
        import ray
    except ImportError:
        raise InputError("this needs Ray: pip install 'leo-placement[ray]' (in a checkout: pip install -e '.[ray]')",
                         field=field, expected="Ray installed, or another executor") from None
    return ray


@contextlib.contextmanager
def connected(ray, address: str | None):
    """Connected to the Ray cluster at `address` (default: a new local instance) unless this process is
    connected already; on leaving, shut down only what was started here."""
    started_here = not ray.is_initialized()
    if started_here:
        with warnings.catch_warnings():
            # Ray starts its daemons with fork and exec, which JAX's warning about fork does not tell apart.
            warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
            # A new local instance listens on loopback only, without the dashboard: Ray runs whatever code is
            # submitted to it, and only Ray 2.52 and later can ask for a token (RAY_AUTH_MODE=token; Ray's
            # docs, ray-security/token-auth), which older versions and tokenless clusters lack.
            if address is None:
                ray.init(_node_ip_address="127.0.0.1", include_dashboard=False)
            else:
                ray.init(address=address)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()
