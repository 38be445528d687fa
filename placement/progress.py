"""Progress of long jobs on stderr: a bar on a terminal, plain lines in a log.

A job reports through a callable taking one message (`pipeline.Progress`), so tests can silence it and
other callers can route it. `Reporter` is the default one: it prints each message as a line on stderr.
`Stage(progress, label, total)` reports a counted stage (the strategies of a run, one solve each): with a
`Reporter` writing to a terminal it redraws one bar in place (done/total, elapsed time, what runs now);
anywhere else (a file, a pipe, CI, a callable of the caller's) each finished step is one message line, so
logs stay readable and greppable.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

BAR_WIDTH = 24


class Reporter:
    """Messages as lines on a stream (default: stderr at the time of writing, so redirection is honoured)."""

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream
        self._bar_shown = False

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    @property
    def interactive(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def __call__(self, message: str) -> None:
        self._clear_bar()
        print(message, file=self.stream, flush=True)

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
