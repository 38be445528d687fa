"""SIGTERM and Ctrl-C as exceptions that unwind a job: its staging folder removed, its output released.

Python runs a signal's handler between two bytecodes of the main thread, wherever that is. An exception raised
there can be dropped: inside a garbage-collection callback (jax registers one that runs often during JAX work;
measured: one Ctrl-C in three during a propagation was lost there), a `__del__` or a weakref callback Python
prints it and goes on, and C code that calls back into Python may clear it. A dropped signal means a job that
runs on to its end (a CI run saw a SIGTERM'd propagation exit 0). So every raise arms a re-send: a moment later
the same signal is sent again, and it raises again unless the first exception is already being handled (the
job is unwinding: its `except` and `finally` blocks run with that exception as `sys.exc_info()`), or the block
has been left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator


class Terminated(BaseException):
    """SIGTERM (a scheduler's cancel, `kill`). A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` (a sweep's per-point one) takes it for a failed point."""


RAISES = {signal.SIGTERM: Terminated, signal.SIGINT: KeyboardInterrupt}
# Long enough for a raised exception to reach its first `except` or `finally`, which takes microseconds; short
# enough that a dropped one costs the job little more time.
RESEND_S = 0.05


class _Unwinder:
    """The handler of one `unwinding` block and its re-send timer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # between the timer's send and the block's end
        self.open = True
        self.resent = False
        self.timer: threading.Timer | None = None

    def handle(self, signum, frame) -> None:
        if not self.open:  # a re-send that landed as the block ended
            return
        resent, self.resent = self.resent, False
        self.arm(signum)
        if resent and _being_handled():
            return
        raise RAISES[signum]

    def arm(self, signum: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = threading.Timer(RESEND_S, self.resend, (signum,))
        self.timer.daemon = True
        self.timer.start()

    def resend(self, signum: int) -> None:
        with self.lock:
            if self.open:
                self.resent = True
                os.kill(os.getpid(), signum)

    def close(self) -> None:
        with self.lock:
            self.open = False
            if self.timer is not None:
                self.timer.cancel()


def _being_handled() -> bool:
    """Whether the exception an `except` or `finally` block is handling (or one it led to) is a signal's."""
    error = sys.exc_info()[1]
    while error is not None:
        if isinstance(error, tuple(RAISES.values())):
            return True
        error = error.__context__
    return False


@contextlib.contextmanager
def unwinding() -> Iterator[None]:
    """Inside the block SIGTERM raises Terminated and Ctrl-C KeyboardInterrupt, again and again until one is
    handled; the handlers before it are restored after. Python runs handlers in the main thread only, so in
    another thread the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    unwinder = _Unwinder()
    previous_handlers = {signum: signal.signal(signum, unwinder.handle) for signum in RAISES}
    previous_hook = sys.unraisablehook

    def quiet_when_resent(unraisable) -> None:
        # A dropped signal exception is sent again: no "Exception ignored" traceback for it.
        if not isinstance(unraisable.exc_value, tuple(RAISES.values())):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_when_resent
    try:
        yield
    finally:
        unwinder.close()
        sys.unraisablehook = previous_hook
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
