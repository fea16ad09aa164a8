"""A Redis server of the test's own, to pause, kill and restart without touching the shared one.

    async with private_redis() as server:
        client = Redis.from_url(server.url)
        server.pause()            # SIGSTOP: connections stay open, nothing answers (a hung Redis)
        server.resume()           # SIGCONT
        await server.kill()       # SIGKILL: connections are cut, new ones refused
        await server.restart()    # a new, empty server on the same port; returns once it answers

The server listens on 127.0.0.1 on a free port, keeps nothing on disk (``--save "" --appendonly no``) and runs
in a temporary directory that is removed with it. Leaving the block stops it, whatever state it is in. Starting
takes about 50 ms. It needs ``redis-server`` on the PATH (Debian's ``redis-server`` package; CI installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

#: How long starting waits for the server to answer PING.
START_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """One ``redis-server`` process on ``port``, started by ``private_redis()``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self._process: asyncio.subprocess.Process | None = None
        self._paused = False

    @property
    def url(self) -> str:
        """The server's URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start the server and wait until it answers PING (use ``restart`` after ``kill``)."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self._process = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._paused = False
        await self._wait_until_it_answers()

    async def _wait_until_it_answers(self) -> None:
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        client = Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            while True:
                with contextlib.suppress(RedisError, OSError):
                    if await client.ping():
                        return
                if self._process is not None and self._process.returncode is not None:
                    raise RuntimeError(f"redis-server exited ({self._process.returncode}); see {self.directory}")
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not answer within {START_SECONDS} s")
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it keeps its connections and answers nothing until ``resume``."""
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT)."""
        self._signal(signal.SIGCONT)
        self._paused = False

    async def kill(self) -> None:
        """Kill the server (SIGKILL) and wait until it is gone: what it held is lost, connections are refused."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.kill()
        await process.wait()
        self._paused = False

    async def restart(self) -> None:
        """Kill the server if it still runs, then start an empty one on the same port."""
        await self.kill()
        await self.start()

    async def stop(self) -> None:
        """Stop the server for good (a paused one too)."""
        if self._paused:
            self.resume()
        await self.kill()

    def _signal(self, number: signal.Signals) -> None:
        if self._process is None or self._process.returncode is not None:
            raise RuntimeError("the private Redis server is not running")
        self._process.send_signal(number)


@contextlib.asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    """A running private Redis server, stopped and its directory removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix="private-redis-") as directory:
        server = PrivateRedis(Path(directory))
        await server.start()
        try:
            yield server
        finally:
            await server.stop()
