"""A watchdog for hanging tests: a test still running after ``TEST_HANG_SECONDS`` prints where it waits.

A hang in an asyncio test shows the main thread idle in ``select``; what it waits for is in the stacks of the
event loop's tasks, so these are printed too, next to every thread's stack. The test goes on running.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import pytest

HANG_SECONDS = float(os.environ.get("TEST_HANG_SECONDS", "180"))
_loop: asyncio.AbstractEventLoop | None = None


@pytest.fixture(autouse=True)
async def _remember_event_loop() -> AsyncIterator[None]:
    """Note the loop the tests run in, for the watchdog's thread."""
    global _loop
    _loop = asyncio.get_running_loop()
    yield


def _awaited_frames(coro: object) -> Iterator[FrameType]:
    """The frames of a suspended coroutine and of what it awaits, down to the innermost (a task shows only one)."""
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            yield frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None) or getattr(coro, "ag_await", None)


def _report(item: pytest.Item) -> None:
    capture = item.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)
    try:
        out = sys.stderr
        out.write(f"\n=== {item.nodeid} still runs after {HANG_SECONDS:.0f} s; threads and tasks: ===\n")
        out.flush()
        faulthandler.dump_traceback(file=out, all_threads=True)
        loop = _loop
        if loop is not None and not loop.is_closed():
            for task in asyncio.all_tasks(loop):
                out.write(f"--- task {task.get_name()}\n")
                for frame in _awaited_frames(task.get_coro()):
                    out.write(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}\n")
        out.write("=== end of the watchdog's report ===\n")
        out.flush()
    finally:
        if capture is not None:
            capture.resume_global_capture()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Arm the watchdog for the whole of one test: setup, call and teardown."""
    timer = threading.Timer(HANG_SECONDS, _report, args=(item,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
