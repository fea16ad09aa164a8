"""Settlement runs under faults: Redis killed, paused and restarted under a worker, a worker killed mid-run,
a run's database connection lost.

The Redis tests run a Redis server of their own (``private_redis``), so that they can stop it. They take about
5 seconds each on an idle machine (an outage lasts two seconds, and stopping a worker takes SAQ's two-second
grace period); the killed worker is a real ``marketplace worker`` process, and its test records a month through
the API first. The lost connection is simulated and takes a second, on every engine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import msgspec
import pytest
import structlog.testing
from redis.asyncio import Redis
from saq import Status

from marketplace.config import Settings
from marketplace.settlement import jobs, services
from tests.builders import running_app, settings
from tests.conftest import TEST_DATABASE_URL
from tests.reliability.private_redis import private_redis
from tests.settlement.helpers import RUNNER, Exchange, start, wait_for_run
from tests.settlement.scenario import PERIOD, TOTAL, february
from tests.test_cli import CLI, _database_url

#: How long the tests leave a worker without Redis: two rounds of SAQ's schedule, two failed dequeues.
OUTAGE_SECONDS = 2.0


@asynccontextmanager
async def worker(config: Settings) -> AsyncIterator[jobs.SettlementWorker]:
    """What ``marketplace worker`` runs, in this event loop."""
    queue = jobs.settlement_queue(config)
    running = jobs.build_worker(config, queue, concurrency=1)
    running.SIGNALS = []  # the test runner keeps its own signal handlers
    task = asyncio.create_task(running.start())
    try:
        yield running
    finally:
        await running.stop()
        await task
        await queue.disconnect()


@contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """Every event from INFO up: ``capture_logs`` keeps the level filter that an app of an earlier test set."""
    wrapper = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as events:
            yield events
    finally:
        structlog.configure(wrapper_class=wrapper)


async def _until_logged(events: list[dict[str, Any]], event: str, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not any(entry["event"] == event for entry in events):
        assert asyncio.get_running_loop().time() < deadline, f"{event} was not logged within {within} s"
        await asyncio.sleep(0.05)


def _outage_lines(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(entry["event"], entry["log_level"]) for entry in events if entry["event"].startswith("redis_")]


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the standard library's logging got as errors or with a traceback (SAQ logs there)."""
    return [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.exc_info or record.levelno >= logging.ERROR
    ]


@pytest.mark.redis
async def test_a_worker_logs_a_killed_redis_once_when_it_goes_and_once_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="saq")
    async with private_redis() as server:
        with captured_logs() as events:
            async with worker(settings(redis_url=server.url)):
                await asyncio.sleep(0.5)
                await server.kill()
                await asyncio.sleep(OUTAGE_SECONDS)
                await server.restart()
                await _until_logged(events, "redis_available_again")
                await asyncio.sleep(1.0)  # a round of the upkeep and the dequeues with Redis back
    assert _outage_lines(events) == [("redis_unavailable", "warning"), ("redis_available_again", "info")]
    assert _tracebacks(caplog) == []


@pytest.mark.redis
async def test_a_worker_takes_a_redis_that_stops_answering_for_an_outage(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Above the one-second blocking dequeue, so that a Redis that answers is never taken for a hung one.
    monkeypatch.setattr(jobs, "WORKER_REDIS_TIMEOUT", 1.5)
    caplog.set_level(logging.INFO, logger="saq")
    async with private_redis() as server:
        with captured_logs() as events:
            async with worker(settings(redis_url=server.url)):
                await asyncio.sleep(0.5)
                server.pause()
                await _until_logged(events, "redis_unavailable")
                await asyncio.sleep(1.0)
                server.resume()
                await _until_logged(events, "redis_available_again")
                await asyncio.sleep(1.0)
    assert _outage_lines(events) == [("redis_unavailable", "warning"), ("redis_available_again", "info")]
    assert _tracebacks(caplog) == []


# --- a worker killed mid-run --------------------------------------------------------------------------------


@asynccontextmanager
async def _settlements_locked() -> AsyncIterator[asyncpg.Connection]:
    """Hold a lock that stops any run at its first settlement, and give it up on leaving (a connection of its own)."""
    connection = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE settlements IN EXCLUSIVE MODE")
            yield connection
    finally:
        await connection.close()


async def _until_a_run_waits_for_the_lock(connection: asyncpg.Connection, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    query = """
        SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation
        WHERE pg_class.relname = 'settlements' AND NOT pg_locks.granted
    """
    while not await connection.fetchval(query):
        assert asyncio.get_running_loop().time() < deadline, "no run reached its first settlement"
        await asyncio.sleep(0.05)


@pytest.mark.redis
@pytest.mark.postgres
async def test_a_run_whose_worker_was_killed_is_resumed_and_its_job_leaves_the_queue() -> None:
    async with private_redis() as server:
        env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": server.url, "LOG_LEVEL": "WARNING"}
        # Started first, so that it gets ready while the month is recorded.
        process = await asyncio.create_subprocess_exec(
            CLI, "worker", "--concurrency", "1", env=env, stderr=asyncio.subprocess.DEVNULL
        )
        redis = Redis.from_url(server.url)
        queue = jobs.SettlementQueue(redis, name="settlement")
        exchange = await Exchange.make()
        async with running_app(redis_url=server.url) as client:
            await february(client, exchange)
            try:
                async with _settlements_locked() as locker:
                    run_id = (await start(client, exchange, PERIOD)).json()["id"]
                    await _until_a_run_waits_for_the_lock(locker)
                    process.send_signal(signal.SIGKILL)
                    await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            active_when_killed = await redis.lrange("saq:settlement:active", 0, -1)
            resumer = settings(redis_url=server.url, settlement_recovery_seconds=0.1, settlement_stale_seconds=0.5)
            async with worker(resumer):
                finished = await wait_for_run(client, exchange.accountant, run_id, execute=False)
            active = await redis.lrange("saq:settlement:active", 0, -1)
            incomplete = await redis.zrange("saq:settlement:incomplete", 0, -1)
            job = await queue.job(run_id)
        await redis.aclose()
    assert active_when_killed == [queue.job_id(run_id).encode()]
    assert finished["status"] == "done"
    assert finished["totals"] == TOTAL
    assert finished["counts"]["settlements"] == 2
    assert (active, incomplete) == ([], [])
    assert job is not None and job.status == Status.FAILED
    assert job.error == jobs.ABANDONED


# --- a run cut off from the database ------------------------------------------------------------------------


def _lose_the_connection_at_the_second_booking(monkeypatch: pytest.MonkeyPatch) -> None:
    # A run books through _post_entries (BATCH_PAIRS pairs a transaction, set to one here) or, before batching,
    # _post_entry; either way the first pair stays booked.
    name = "_post_entries" if hasattr(services, "_post_entries") else "_post_entry"
    if hasattr(services, "BATCH_PAIRS"):
        monkeypatch.setattr(services, "BATCH_PAIRS", 1)
    real = getattr(services, name)
    booked = 0

    async def losing(*args: Any, **kwargs: Any) -> Any:
        nonlocal booked
        booked += 1
        if booked == 2:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        return await real(*args, **kwargs)

    monkeypatch.setattr(services, name, losing)


async def test_a_run_that_lost_its_database_connection_goes_back_to_the_queue_and_is_resumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
    run_id, _ = await services.create_run(PERIOD, RUNNER, watched=True)
    _lose_the_connection_at_the_second_booking(monkeypatch)
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        await jobs.run_here(run_id, RUNNER, jobs.Timing())
    monkeypatch.undo()
    interrupted = await services.get_run(run_id)
    resumed = await jobs.resume_abandoned(jobs.Timing(heartbeat=0.05, stale=0.0))
    run = await services.get_run(run_id)
    assert interrupted.status == "queued"
    assert resumed == [run_id]
    assert run.status == "done"
    assert msgspec.to_builtins(run.totals) == TOTAL
