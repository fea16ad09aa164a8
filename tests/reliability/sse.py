"""Reading a Server-Sent Events stream in the background: events, comments, and whether it ended."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx


class StreamReader:
    """Reads one ``GET /api/v1/events`` stream into ``events`` and ``comments`` until it ends."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.comments: list[str] = []
        self.status: int | None = None
        self.ended = asyncio.Event()
        self._changed = asyncio.Event()

    async def read(self, client: httpx.AsyncClient, token: str) -> None:
        """Read until the server ends the stream (or the task is cancelled)."""
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with client.stream("GET", "/api/v1/events", headers=headers, timeout=None) as response:
                self.status = response.status_code
                self._changed.set()
                fields: dict[str, str] = {}
                async for line in response.aiter_lines():
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line == "":
                        if "data" in fields:
                            self.events.append({"id": fields.get("id"), "data": json.loads(fields["data"])})
                        fields = {}
                    else:
                        key, _, value = line.partition(":")
                        fields[key] = value.removeprefix(" ")
                    self._changed.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()
            self._changed.set()

    def subjects(self) -> list[str]:
        """The subject ids of the events received, in order."""
        return [event["data"]["subject_id"] for event in self.events]

    async def until(self, condition: Any, within: float) -> bool:
        """Wait until ``condition()`` holds (True) or ``within`` seconds passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True


@contextlib.asynccontextmanager
async def reading(client: httpx.AsyncClient, token: str) -> AsyncIterator[StreamReader]:
    """A stream read in the background while the block runs; it waits until the answer's status is known."""
    reader = StreamReader()
    task = asyncio.create_task(reader.read(client, token))
    try:
        assert await reader.until(lambda: reader.status is not None or reader.ended.is_set(), 15)
        yield reader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
