"""Runs leave the request: 202 at once, then executed by SAQ workers through Redis or, without Redis (or with
Redis down), by a task of the app; a run abandoned by a dead process is resumed once and ends like a clean run."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
import pytest
import structlog.testing
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

from ledger.tables import Entry as EntryRow
from marketplace.clock import now
from marketplace.config import load_settings
from marketplace.settlement import jobs, services
from marketplace.settlement.tables import Settlement, SettlementLine, SettlementRun
from tests.builders import bearer, running_app
from tests.conftest import TEST_REDIS_URL
from tests.settlement.helpers import RUNNER, Exchange, Killed, settlement_worker, start, wait_for_run
from tests.settlement.scenario import PERIOD, TOTAL, february
from tests.test_cli import CLI, _database_url, run_cli

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
#: Timing in which any run that is not beating right now counts as abandoned.
IMPATIENT = jobs.Timing(heartbeat=0.05, stale=0.0)
COUNTS = {
    "agreements": 5,
    "charged": 4,
    "already_charged": 0,
    "not_due": 0,
    "missing_usage": 1,
    "settlements": 2,
    "errors": 0,
}


async def _status(run_id: UUID | str) -> dict[str, Any]:
    row = (
        await SettlementRun.select(SettlementRun.status, SettlementRun.heartbeat_at, SettlementRun.finished_at)
        .where(SettlementRun.id == run_id)
        .first()
    )
    assert row is not None
    return dict(row)


async def _booked_once() -> int:
    """The number of settlements, after checking that nothing was charged twice or booked half."""
    lines = [row["agreement"] for row in await SettlementLine.select(SettlementLine.agreement)]
    settlements = await Settlement.select(Settlement.ledger_entry)
    entries = await EntryRow.select(EntryRow.id).where(EntryRow.tags == "settlement")
    assert len(lines) == len(set(lines))
    assert {row["ledger_entry"] for row in settlements} == {row["id"] for row in entries}
    return len(settlements)


def _stop_at_the_second_booking(monkeypatch: pytest.MonkeyPatch, stop: Callable[[], Awaitable[None]]) -> None:
    """Make a run await ``stop()`` when it books its second settlement (``monkeypatch.undo()`` ends it)."""
    # Before the batching rewrite a run books through _post_entry, one pair a transaction; after it through
    # _post_entries, BATCH_PAIRS pairs a transaction (set to one here). Either way the first pair stays booked.
    name = "_post_entries" if hasattr(services, "_post_entries") else "_post_entry"
    if hasattr(services, "BATCH_PAIRS"):
        monkeypatch.setattr(services, "BATCH_PAIRS", 1)
    real = getattr(services, name)
    booked = 0

    async def stopping(*args: Any, **kwargs: Any) -> Any:
        nonlocal booked
        if booked == 1:
            await stop()
        booked += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(services, name, stopping)


async def _abandoned_midway(monkeypatch: pytest.MonkeyPatch) -> UUID:
    """A run whose process died after booking the first of its two settlements, as the database keeps it."""
    run_id, _ = await services.create_run(PERIOD, RUNNER, watched=True)
    assert await jobs.claim(run_id, jobs.Timing())

    async def killed() -> None:
        raise Killed("the process was killed")

    _stop_at_the_second_booking(monkeypatch, killed)
    with pytest.raises(Killed):
        await services.execute_run(run_id, RUNNER)
    monkeypatch.undo()
    # A killed process writes nothing more: its run stays running, the last heartbeat long ago.
    await SettlementRun.update(
        {
            SettlementRun.status: "running",
            SettlementRun.finished_at: None,
            SettlementRun.heartbeat_at: now() - timedelta(minutes=10),
        }
    ).where(SettlementRun.id == run_id)
    assert await Settlement.count() == 1
    return run_id


async def _results(queue: RedisQueue, keys: list[str]) -> list[Any]:
    """The results of the jobs, once all of them have ended (fail the test after 20 seconds)."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        found = [await queue.job(key) for key in keys]
        if all(job is not None and job.status in ("complete", "failed", "aborted") for job in found):
            return [(job.status, job.result) for job in found if job is not None]
        assert asyncio.get_running_loop().time() < deadline, [job and job.status for job in found]
        await asyncio.sleep(0.05)


# --- without Redis, and with Redis down ---------------------------------------------------------------------


async def test_without_redis_a_run_answers_202_and_finishes_in_the_apps_process() -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
        answer = await start(client, exchange, PERIOD)
        finished = await wait_for_run(client, exchange.accountant, answer.json()["id"], execute=False)
    assert answer.status_code == 202
    assert answer.json()["status"] in ("queued", "running")
    assert answer.headers["Location"] == f"/api/v1/settlement-runs/{answer.json()['id']}"
    assert finished["status"] == "done"
    assert finished["counts"] == COUNTS
    assert finished["totals"] == TOTAL
    assert finished["progress"] == {"processed": 5, "total": 5, "percent": 100}


async def test_with_redis_down_a_run_still_answers_202_and_finishes_in_the_apps_process() -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=UNREACHABLE_REDIS) as client:
        await february(client, exchange)
        answer = await start(client, exchange, PERIOD)
        finished = await wait_for_run(client, exchange.accountant, answer.json()["id"], execute=False)
    assert answer.status_code == 202
    assert finished["status"] == "done"
    assert finished["totals"] == TOTAL


async def test_the_api_description_says_202_with_a_location() -> None:
    async with running_app(redis_url=None) as client:
        document = (await client.get("/schema/openapi.json")).json()
    responses = document["paths"]["/api/v1/settlement-runs"]["post"]["responses"]
    assert "201" not in responses
    assert "Location" in responses["202"]["headers"]


def test_the_settings_read_the_workers_configuration_and_refuse_a_bad_fee() -> None:
    base = {"MARKETPLACE_SECRET": "s"}
    read = load_settings(
        {
            **base,
            "SETTLEMENT_FEE_PERCENT": "1.5",
            "WORKER_CONCURRENCY": "4",
            "SETTLEMENT_QUEUE": "runs",
            "SETTLEMENT_STALE_SECONDS": "90",
        }
    )
    assert (read.settlement_fee_percent, read.worker_concurrency, read.settlement_queue) == ("1.5", 4, "runs")
    assert read.settlement_stale_seconds == 90.0
    with pytest.raises(ValueError, match="SETTLEMENT_FEE_PERCENT"):
        load_settings({**base, "SETTLEMENT_FEE_PERCENT": "150"})
    with pytest.raises(ValueError, match="WORKER_CONCURRENCY"):
        load_settings({**base, "WORKER_CONCURRENCY": "0"})


async def test_a_replayed_key_answers_the_same_run_and_starts_nothing() -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
        first = await start(client, exchange, PERIOD, **{"Idempotency-Key": "feb"})
        finished = await wait_for_run(client, exchange.accountant, first.json()["id"], execute=False)
        replay = await start(client, exchange, PERIOD, **{"Idempotency-Key": "feb"})
    assert replay.status_code == 202
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == finished
    assert await SettlementRun.count() == 1
    assert await _booked_once() == 2


async def test_a_run_stopped_with_the_app_goes_back_to_the_queue_and_is_resumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange = await Exchange.make()
    second = asyncio.Event()

    async def until_cancelled() -> None:
        second.set()
        await asyncio.Event().wait()  # until the app's shutdown cancels the run

    _stop_at_the_second_booking(monkeypatch, until_cancelled)
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
        run_id = (await start(client, exchange, PERIOD)).json()["id"]
        await asyncio.wait_for(second.wait(), 20)
    stopped = await _status(run_id)
    monkeypatch.undo()
    resumed = await jobs.resume_abandoned(IMPATIENT)
    run = await services.get_run(UUID(run_id))
    assert (stopped["status"], stopped["finished_at"]) == ("queued", None)
    assert resumed == [UUID(run_id)]
    assert run.status == "done"
    assert msgspec.to_builtins(run.totals) == TOTAL
    assert await _booked_once() == 2


# --- claiming and resuming -----------------------------------------------------------------------------------


async def test_an_abandoned_run_is_resumed_and_ends_with_the_counts_and_totals_of_a_clean_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
    run_id = await _abandoned_midway(monkeypatch)
    resumed = await jobs.resume_abandoned(jobs.Timing())
    run = await services.get_run(run_id)
    assert resumed == [run_id]
    assert run.status == "done"
    assert msgspec.to_builtins(run.totals) == TOTAL
    assert msgspec.to_builtins(run.counts) == COUNTS
    assert await _booked_once() == 2


async def test_a_run_whose_executor_still_beats_is_not_resumed(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
    run_id = await _abandoned_midway(monkeypatch)
    await SettlementRun.update({SettlementRun.heartbeat_at: now()}).where(SettlementRun.id == run_id)
    resumed = await jobs.resume_abandoned(jobs.Timing(stale=60))
    assert resumed == []
    assert (await _status(run_id))["status"] == "running"
    assert await Settlement.count() == 1


async def test_two_resumers_cannot_both_take_the_same_run(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
    run_id = await _abandoned_midway(monkeypatch)
    taken = await asyncio.gather(*(jobs.claim(run_id, jobs.Timing()) for _ in range(4)))
    assert sorted(taken) == [False, False, False, True]


async def test_a_run_whose_process_died_before_handing_it_on_is_resumed() -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
    # Recorded for a worker, then nothing more: the process died before it enqueued the run.
    run_id, _ = await services.create_run(PERIOD, RUNNER, watched=True)
    assert (await _status(run_id))["status"] == "queued"
    assert await jobs.resume_abandoned(IMPATIENT) == [run_id]
    assert (await _status(run_id))["status"] == "done"
    assert await _booked_once() == 2


async def test_a_run_from_services_run_period_without_a_heartbeat_is_never_resumed() -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
    run_id, _ = await services.create_run(PERIOD, RUNNER)
    await SettlementRun.update({SettlementRun.created_at: now() - timedelta(hours=1)}).where(SettlementRun.id == run_id)
    assert await jobs.resume_abandoned(IMPATIENT) == []
    assert (await _status(run_id))["status"] == "running"


async def test_without_redis_the_app_resumes_abandoned_runs_in_the_background(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=None) as client:
        await february(client, exchange)
    run_id = await _abandoned_midway(monkeypatch)
    async with running_app(redis_url=None, settlement_recovery_seconds=0.05) as client:
        finished = await wait_for_run(client, exchange.accountant, str(run_id), execute=False)
    assert finished["status"] == "done"
    assert finished["totals"] == TOTAL
    assert await _booked_once() == 2


async def test_a_worker_waits_out_a_redis_outage_with_one_warning_and_no_job() -> None:
    queue = jobs.SettlementQueue(Redis.from_url(UNREACHABLE_REDIS), name="settlement")
    with structlog.testing.capture_logs() as logs:
        first = await queue.dequeue(timeout=0.1)
        second = await queue.dequeue(timeout=0.1)
    assert (first, second) == (None, None)
    assert [entry["event"] for entry in logs] == ["redis_unavailable"]
    assert queue.redis_down


# --- with Redis: SAQ workers ---------------------------------------------------------------------------------


@pytest.mark.redis
async def test_with_redis_the_run_waits_in_the_queue_until_a_worker_executes_it() -> None:
    exchange = await Exchange.make()
    queue = RedisQueue(Redis.from_url(TEST_REDIS_URL), name="settlement")
    async with running_app(redis_url=TEST_REDIS_URL) as client:
        await february(client, exchange)
        answer = await start(client, exchange, PERIOD)
        run_id = answer.json()["id"]
        await asyncio.sleep(0.3)
        waiting = await _status(run_id)
        job = await queue.job(run_id)
        async with settlement_worker():
            finished = await wait_for_run(client, exchange.accountant, run_id, execute=False)
    await queue.disconnect()
    assert answer.status_code == 202
    assert waiting["status"] == "queued"
    # The job carries only the run's id and who started it; the rest is read from the database.
    assert job is not None and job.function == jobs.JOB
    assert job.kwargs is not None and job.kwargs["run_id"] == run_id
    assert job.kwargs["actor"]["label"] == finished["started_by"]
    assert finished["status"] == "done"
    assert finished["counts"] == COUNTS
    assert finished["totals"] == TOTAL


@pytest.mark.redis
async def test_two_workers_given_the_same_run_twice_book_it_once() -> None:
    exchange = await Exchange.make()
    queue = RedisQueue(Redis.from_url(TEST_REDIS_URL), name="settlement")
    async with running_app(redis_url=TEST_REDIS_URL) as client:
        await february(client, exchange)
        run_id = (await start(client, exchange, PERIOD)).json()["id"]
        # The same run sent once more under another key, as a job delivered twice would be.
        again = await queue.enqueue(jobs.JOB, key=f"{run_id}-again", timeout=0, run_id=run_id, actor={"label": "x"})
        assert again is not None
        async with settlement_worker(), settlement_worker():
            finished = await wait_for_run(client, exchange.accountant, run_id, execute=False)
            results = await _results(queue, [run_id, f"{run_id}-again"])
    await queue.disconnect()
    assert sorted(results) == [("complete", "done"), ("complete", "skipped")]
    assert finished["totals"] == TOTAL
    assert await _booked_once() == 2


@pytest.mark.redis
async def test_a_worker_resumes_an_abandoned_run_that_has_no_job(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = await Exchange.make()
    async with running_app(redis_url=TEST_REDIS_URL) as client:
        await february(client, exchange)
        run_id = await _abandoned_midway(monkeypatch)
        async with settlement_worker(settlement_recovery_seconds=0.05):
            finished = await wait_for_run(client, exchange.accountant, str(run_id), execute=False)
    assert finished["status"] == "done"
    assert finished["totals"] == TOTAL
    assert await _booked_once() == 2


@pytest.mark.redis
async def test_marketplace_worker_executes_queued_runs_and_stops_on_sigterm() -> None:
    exchange = await Exchange.make()
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": TEST_REDIS_URL, "LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        CLI, "worker", "--concurrency", "1", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with running_app(redis_url=TEST_REDIS_URL) as client:
            await february(client, exchange)
            run_id = (await start(client, exchange, PERIOD)).json()["id"]
            deadline = asyncio.get_running_loop().time() + 30
            while (await _status(run_id))["status"] not in ("done", "failed"):
                assert asyncio.get_running_loop().time() < deadline, "the worker did not finish the run"
                await asyncio.sleep(0.1)
            finished = (await client.get(f"/api/v1/settlement-runs/{run_id}", headers=bearer(exchange.admin))).json()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert finished["status"] == "done"
    assert finished["totals"] == TOTAL


async def test_marketplace_worker_refuses_to_start_without_redis() -> None:
    code, _, stderr = await run_cli("worker")
    assert code == 1
    assert "REDIS_URL" in stderr
