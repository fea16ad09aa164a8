"""A periodic background job of one process that stops when asked, whatever the awaited code does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

#: How long stopping waits for a round in progress before it cancels it.
STOP_GRACE_SECONDS = 5.0


class PeriodicJob:
    """Runs ``step`` every ``interval`` seconds until ``stop()``.

    Stopping sets a flag that ends the loop after its current round; a round that takes too long is cancelled
    too, and as some database drivers turn a cancellation into an error or swallow it, the flag still ends it.
    """

    def __init__(self, name: str, step: Callable[[], Awaitable[object]], interval: float) -> None:
        self.name = name
        self.step = step
        self.interval = interval
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again; the database keeps what is not yet done
                log.warning("background_job_failed", job=self.name, error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    def start(self) -> None:
        """Start the loop in the background."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Ask the loop to end and wait until it has: a round in progress may finish within ``grace`` seconds.

        Only a round that overruns is cancelled. Cancelling inside a database call can leave a pooled connection
        checked out for ever (asyncpg issue 547), so a round that would end by itself is let end.
        """
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.warning("background_job_cancelled", job=self.name, grace=grace)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
