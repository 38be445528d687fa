"""Progress of long jobs, as log records of the `placement` logger: a bar on a terminal, plain lines in a log.

A job reports through a callable taking one message (`pipeline.Progress`), so tests can silence it and
other callers can route it. `Reporter` is the default one: each message is an INFO record of the `placement`
logger (`LOG`), which the command line writes on stderr (`log_to_stderr`: -q keeps warnings and errors, -v
adds debug records); a library caller sees them once it configures logging. What a job finds doubtful it logs
as a warning. `Stage(progress, label, total)` reports a counted stage (the strategies of a run, one solve
each): with a `Reporter` on a terminal, while progress is shown, it redraws one bar in place (done/total,
elapsed time, what runs now); anywhere else (a file, a pipe, CI, a callable of the caller's) each finished
step is one message line, so logs stay readable and greppable.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Callable, Iterator, TextIO

BAR_WIDTH = 24
LOG = logging.getLogger("placement")


class Reporter:
    """Messages as INFO records of `LOG`, or as lines on `stream` when one is given. The bar is drawn on that
    stream (default: stderr at the time of writing, so redirection is honoured)."""

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream
        self._bar_shown = False

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    @property
    def interactive(self) -> bool:
        """A terminal, and progress is shown there (not under -q, where a bar would be all that is said)."""
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty()) and (self._stream is not None or LOG.isEnabledFor(logging.INFO))

    def __call__(self, message: str) -> None:
        self._clear_bar()
        if self._stream is None:
            LOG.info(message)
        else:
            print(message, file=self._stream, flush=True)

    def draw(self, text: str) -> None:
        """Replace the bar line with `text` (terminals only)."""
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\033[K")
            self._bar_shown = False


class Stage:
    """A counted stage, used as a context manager: `start(item)` before each step, `done(item, note)` after."""

    def __init__(self, progress: Callable[[str], None], label: str, total: int):
        self.progress, self.label, self.total = progress, label, total
        self.count = 0
        self.started = time.perf_counter()
        self.bar = progress if isinstance(progress, Reporter) and progress.interactive else None

    def start(self, item: str) -> None:
        if self.bar is not None:
            self.bar.draw(self._line(f"{item} ..."))

    def done(self, item: str, note: str) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.draw(self._line(f"{item}: {note}"))
        else:
            self.progress(f"{self.label} {self.count}/{self.total}: {item}: {note}")

    def _line(self, text: str) -> str:
        filled = BAR_WIDTH * self.count // max(self.total, 1)
        elapsed = time.perf_counter() - self.started
        return (f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.count}/{self.total} "
                f"{elapsed:5.1f} s  {text}")

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, kind, *_) -> None:
        if self.bar is not None:  # leave the last bar on screen as a line of its own
            self.bar(self._line("done" if kind is None else f"stopped by {kind.__name__}"))


class _CommandFormatter(logging.Formatter):
    """Progress as it is; a warning or an error as the command's one line, `placement: error: ...`."""

    PREFIXES = {logging.WARNING: "placement: warning: ", logging.ERROR: "placement: error: ",
                logging.CRITICAL: "placement: error: "}

    def formatMessage(self, record: logging.LogRecord) -> str:
        return self.PREFIXES.get(record.levelno, "") + record.getMessage()


@contextlib.contextmanager
def log_to_stderr(level: int) -> Iterator[None]:
    """Write `LOG`'s records of `level` and above on stderr for the block (the command line's -q, -v), and
    put the logger back as it was afterwards, so an in-process caller's logging setup is left alone."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CommandFormatter())
    previous = LOG.level, LOG.propagate
    LOG.addHandler(handler)
    LOG.setLevel(level)
    LOG.propagate = False  # said once, here, not again by a handler of the caller's root logger
    try:
        yield
    finally:
        handler.flush()
        LOG.removeHandler(handler)
        LOG.setLevel(previous[0])
        LOG.propagate = previous[1]
