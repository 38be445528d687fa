"""A signal whose exception is dropped is sent again until the job unwinds (placement/interrupts.py); once it
unwinds, the re-sends leave its cleanup alone, and none outlives the block. In-process with SIGINT, whose
exception (KeyboardInterrupt) the tests can catch; SIGTERM takes the same path (test_output_safety.py runs it
end to end)."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from placement import interrupts

WAIT_S = 10 * interrupts.RESEND_S


def busy(seconds: float) -> None:
    """Python bytecode for `seconds`, between which handlers run."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_an_interrupt_swallowed_once_is_raised_again():
    swallowed = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts.unwinding():
            try:
                os.kill(os.getpid(), signal.SIGINT)
                busy(WAIT_S)
            except KeyboardInterrupt:
                swallowed = True  # and dropped, as C code that clears every error would
            busy(WAIT_S)  # the re-send raises here
    assert swallowed


def test_an_interrupt_dropped_inside_del_is_raised_again_without_a_traceback(monkeypatch):
    class Slow:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs in here: Python drops its exception
            busy(interrupts.RESEND_S / 2)
            dropped.append(True)

    dropped, printed = [], []
    monkeypatch.setattr(sys, "unraisablehook", printed.append)  # Python's own prints "Exception ignored in"
    with pytest.raises(KeyboardInterrupt):
        with interrupts.unwinding():
            Slow()  # dropped at once: __del__ runs on this line
            busy(WAIT_S)
    assert dropped == []  # the exception cut __del__ short
    assert printed == []


def test_a_resend_leaves_the_cleanup_of_a_handled_interrupt_alone():
    cleaned = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.unwinding():
            try:
                os.kill(os.getpid(), signal.SIGINT)
                busy(WAIT_S)
            finally:
                busy(3 * interrupts.RESEND_S)  # re-sends land here and must not cut it short
                cleaned.append(True)
    assert cleaned == [True]
    busy(3 * interrupts.RESEND_S)  # no re-send outlives the block: it would raise here


def test_the_handlers_before_the_block_come_back():
    before = {signum: signal.getsignal(signum) for signum in interrupts.RAISES}
    with interrupts.unwinding():
        assert all(signal.getsignal(signum) != before[signum] for signum in interrupts.RAISES)
    assert {signum: signal.getsignal(signum) for signum in interrupts.RAISES} == before
