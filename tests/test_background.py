"""Background jobs and the connection pool end when asked, without waiting for ever on what they hold."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from marketplace import db as database
from marketplace.background import PeriodicJob
from marketplace.db import connection_pool, engine


async def test_stopping_lets_the_round_in_progress_finish() -> None:
    rounds: list[str] = []

    async def step() -> None:
        rounds.append("started")
        await asyncio.sleep(0.1)
        rounds.append("finished")

    job = PeriodicJob("test", step, interval=60)
    job.start()
    await asyncio.sleep(0.01)
    await job.stop(grace=5)
    assert rounds == ["started", "finished"]


async def test_stopping_cancels_a_round_that_overruns_its_grace() -> None:
    cancelled = asyncio.Event()

    async def step() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job = PeriodicJob("test", step, interval=60)
    job.start()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(job.stop(grace=0.05), 5)
    assert cancelled.is_set()


async def test_stopping_ends_a_loop_whose_step_swallows_the_cancellation() -> None:
    async def step() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("a driver turned the cancellation into an error") from None

    job = PeriodicJob("test", step, interval=60)
    job.start()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(job.stop(grace=0.05), 5)


@pytest.mark.postgres
async def test_the_pool_closes_although_a_connection_was_never_released(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "POOL_CLOSE_SECONDS", 0.2)
    db = engine()

    async def leak_and_close() -> asyncpg.Pool:
        async with connection_pool(2):
            pool: asyncpg.Pool = db.pool  # type: ignore[attr-defined]
            leaked = await pool.acquire()
            assert await leaked.fetchval("SELECT 1") == 1
        return pool

    pool = await asyncio.wait_for(leak_and_close(), 5)  # asyncpg's graceful close alone would wait for ever
    assert pool.is_closing()
    assert db.pool is None  # type: ignore[attr-defined]
