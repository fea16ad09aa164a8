"""A TCP proxy in front of Redis that a test can make refuse or hang, to stop Redis "mid-run"."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal
from urllib.parse import urlsplit

Mode = Literal["forward", "refuse", "hang"]


class RedisProxy:
    """Listens on a free local port and forwards to the Redis at ``target_url`` while ``mode`` is ``forward``."""

    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        self.target = (target.hostname or "127.0.0.1", target.port or 6379)
        self.db = int(target.path.lstrip("/") or 0)
        self.mode: Mode = "forward"
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def url(self) -> str:
        """A Redis URL pointing at the proxy, with the target's database."""
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    def set_mode(self, mode: Mode) -> None:
        """Change behaviour; open connections are cut so that the client must reconnect."""
        self.mode = mode
        for writer in list(self._writers):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.mode == "refuse":
                return
            if self.mode == "hang":
                await reader.read()  # keep the connection open, answer nothing
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode != "forward":
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        """Stop listening and cut every connection."""
        self.set_mode("refuse")
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
