"""Real app processes for the tests: ``marketplace serve`` as a subprocess on its own port, on this test's database.

    async with app_process(redis_url=server.url, EVENT_KEEPALIVE_SECONDS="1") as one:
        response = await one.client.get("/api/v1/me", headers=bearer(token))
        code = await one.stop()           # SIGTERM; the exit code, once the process is gone

The process serves the database of the running test (the SQLite copy or the PostgreSQL worker database), so rows
the test writes are what it reads. Starting takes one to three seconds (imports, migrations are not run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from piccolo.engine.sqlite import SQLiteEngine

from marketplace.db import engine
from tests.conftest import TEST_DATABASE_URL

START_SECONDS = 30.0
MARKETPLACE = str(Path(sys.executable).with_name("marketplace"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url() -> str:
    """The URL of the running test's database, for another process."""
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    db = engine()
    assert isinstance(db, SQLiteEngine)
    return f"sqlite:///{db.path}"


class AppProcess:
    """One running ``marketplace serve`` process and an HTTP client for it."""

    def __init__(self, process: asyncio.subprocess.Process, base_url: str, log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log
        self.client = httpx.AsyncClient(base_url=base_url, timeout=15)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    async def stop(self, sig: signal.Signals = signal.SIGTERM, within: float = 30.0) -> int:
        """Send ``sig`` and wait for the process to end (killed after ``within`` seconds); its exit code."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self.client.aclose()
        return int(self.process.returncode or 0)

    def output(self) -> str:
        """What the process wrote to its log so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextlib.asynccontextmanager
async def app_process(*, redis_url: str | None = None, **environment: str) -> AsyncIterator[AppProcess]:
    """A served app on a free port (the test's database, ``redis_url``, extra settings), stopped at the end."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url or "",
        "MARKETPLACE_SECRET": "test-secret",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PER_MINUTE": "100000",
        "HEALTH_TIMEOUT_SECONDS": "15",
        "DATABASE_POOL_SIZE": "4",
        "MAINTENANCE_INTERVAL_SECONDS": "3600",
        **environment,
    }
    log = Path(env.get("MARKETPLACE_VAR_DIR", "/tmp")) / f"app-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            MARKETPLACE,
            *("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
        )
    served = AppProcess(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await served.client.get("/health")).status_code in (200, 503):
                    break
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"marketplace serve did not start:\n{served.output()}")
            await asyncio.sleep(0.05)
        yield served
    finally:
        await served.stop()
