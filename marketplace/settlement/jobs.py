"""Settlement runs off the request: on SAQ worker processes when Redis is configured, else as tasks of this process.

The run row in the database is the truth. A job in the queue carries only the run's id and who started it, so a
lost job (Redis flushed, a worker killed) costs time, never data: whoever executes a run writes a heartbeat on
its row every few seconds, and a run whose heartbeat is older than the stale timeout is claimed by one
conditional UPDATE and resumed by a worker (or, without Redis, by a process of the app). Resuming books only
what is missing; the unique index on settlement lines keeps anything from being charged twice, even when two
processes execute the same run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
import structlog
from piccolo.columns.combination import And
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from saq import Job, Status, Worker
from saq.queue.redis import RedisQueue
from saq.utils import now as saq_now

from marketplace.auth import Actor
from marketplace.background import PeriodicJob
from marketplace.clock import now
from marketplace.config import Settings
from marketplace.db import as_uuid, connection_pool, is_connection_lost, prepare_database, transaction
from marketplace.settlement import schemas, services
from marketplace.settlement.tables import Settlement, SettlementLine, SettlementRun
from marketplace.store import REDIS_FAILURES, CircuitBreaker

log = structlog.get_logger(__name__)

#: The name under which workers know the settlement job.
JOB = "settle_run"
QUEUED, RUNNING = "queued", "running"
#: How long the app waits at shutdown for its cancelled runs to write down that they were interrupted.
CLOSE_SECONDS = 10.0
#: How long a worker's Redis call may go unanswered (longer than the one-second blocking dequeue).
WORKER_REDIS_TIMEOUT = 5.0
#: How long a worker waits before it asks Redis again during an outage.
OUTAGE_RETRY_SECONDS = 1.0
#: Redis failures a worker waits out (a refused or hung connection, a replica during a failover), not errors
#: of the call itself, which trying again would not mend.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    OSError,
    TimeoutError,
)
#: The error of a job whose worker died, once its run was resumed without it.
ABANDONED = "abandoned: its worker stopped beating, and the run was resumed by another process"


@dataclass(frozen=True, slots=True)
class Timing:
    """How often a run's executor beats, and after how long without a beat a run counts as abandoned."""

    heartbeat: float = 5.0
    stale: float = 60.0

    @classmethod
    def of(cls, settings: Settings) -> Timing:
        """The timing configured in ``settings``."""
        return cls(heartbeat=settings.settlement_heartbeat_seconds, stale=settings.settlement_stale_seconds)


# --- claiming, beating, resuming -------------------------------------------------------------------------


def _abandoned(timing: Timing) -> And:
    """Unfinished runs whose executor has not beaten for ``timing.stale`` seconds (watched runs only)."""
    cutoff = now() - timedelta(seconds=timing.stale)
    return (
        SettlementRun.status.is_in([QUEUED, RUNNING])
        & SettlementRun.heartbeat_at.is_not_null()
        & (SettlementRun.heartbeat_at < cutoff)
    )


async def claim(run_id: UUID, timing: Timing) -> bool:
    """Take a run to execute it: a queued one, or one abandoned by its executor. One caller wins.

    The decision is one conditional UPDATE, so two workers (or a worker and a resumer) cannot both take it: the
    second one's condition no longer holds once the first one's beat is written.
    """
    condition = (SettlementRun.id == run_id) & ((SettlementRun.status == QUEUED) | _abandoned(timing))
    async with transaction():
        taken = (
            await SettlementRun.update(
                {
                    SettlementRun.status: RUNNING,
                    SettlementRun.heartbeat_at: now(),
                    SettlementRun.finished_at: None,
                    SettlementRun.version: SettlementRun.version + 1,
                }
            )
            .where(condition)
            .returning(SettlementRun.id)
        )
    return bool(taken)


async def _beat(run_id: UUID, interval: float, stopping: asyncio.Event) -> None:
    # Ended by ``stopping`` as well as by cancellation: a driver may turn a cancellation into another error,
    # which this loop would otherwise log and carry on from, for ever.
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
        if stopping.is_set():
            return
        try:
            async with transaction():
                await SettlementRun.update({SettlementRun.heartbeat_at: now()}).where(
                    (SettlementRun.id == run_id) & (SettlementRun.status == RUNNING)
                )
        except Exception as exc:  # a missed beat is harmless unless they all fail for the stale timeout
            log.warning("settlement_heartbeat_failed", run=str(run_id), error=type(exc).__name__)


@dataclass(frozen=True, slots=True)
class _Booked:
    """What earlier attempts of a run booked (settlements still booked, their lines and totals)."""

    settlements: int
    lines: int
    net: int
    tax: int
    gross: int
    fee: int


async def _booked_by(run_id: UUID) -> _Booked:
    rows = await Settlement.select(
        Settlement.id, Settlement.net_cents, Settlement.tax_cents, Settlement.gross_cents, Settlement.fee_cents
    ).where((Settlement.run == run_id) & (Settlement.status == "booked"))
    lines = (
        await SettlementLine.count().where(SettlementLine.settlement.is_in([row["id"] for row in rows])) if rows else 0
    )
    return _Booked(
        settlements=len(rows),
        lines=int(lines),
        net=sum(int(row["net_cents"]) for row in rows),
        tax=sum(int(row["tax_cents"]) for row in rows),
        gross=sum(int(row["gross_cents"]) for row in rows),
        fee=sum(int(row["fee_cents"]) for row in rows),
    )


async def _record_earlier(run_id: UUID) -> None:
    """Keep on the run what its earlier attempts booked, before this attempt counts it as already charged."""
    earlier = await _booked_by(run_id)
    async with transaction():
        await SettlementRun.update(
            {
                SettlementRun.resumed_settlements: earlier.settlements,
                SettlementRun.resumed_lines: earlier.lines,
                SettlementRun.resumed_net_cents: earlier.net,
                SettlementRun.resumed_tax_cents: earlier.tax,
                SettlementRun.resumed_gross_cents: earlier.gross,
                SettlementRun.resumed_fee_cents: earlier.fee,
            }
        ).where(SettlementRun.id == run_id)


async def _interrupted(run_id: UUID) -> None:
    # execute_run marks a cancelled run failed; but it was stopped, not refused: queue it again. A worker's job
    # goes back to the queue and takes it at once; otherwise a resumer does when its heartbeat is stale.
    async with transaction():
        await SettlementRun.update({SettlementRun.status: QUEUED, SettlementRun.finished_at: None}).where(
            (SettlementRun.id == run_id) & SettlementRun.status.is_in([RUNNING, "failed"])
        )


async def execute_claimed(run_id: UUID, actor: Actor, timing: Timing) -> None:
    """Execute a run this process has claimed, beating its heartbeat meanwhile.

    What earlier attempts booked is recorded on the run first, so that a resumed run reports the counts and
    totals of a run that was never interrupted. Cancelled (the process stops), or cut off from the database
    (a lost connection), the run goes back to ``queued`` for another process to resume.
    """
    await _record_earlier(run_id)
    stopping = asyncio.Event()
    beat = asyncio.create_task(_beat(run_id, timing.heartbeat, stopping), name=f"settlement-heartbeat-{run_id}")
    try:
        await services.execute_run(run_id, actor)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await _interrupted(run_id)
        raise
    except Exception as exc:
        # A lost database connection refused nothing: the run is resumed, not left failed.
        if is_connection_lost(exc):
            with contextlib.suppress(Exception):
                await _interrupted(run_id)
        raise
    finally:
        stopping.set()
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def run_here(run_id: UUID, actor: Actor, timing: Timing) -> bool:
    """Claim the run and execute it in this process; False when another process has it or it is finished."""
    if not await claim(run_id, timing):
        log.info("settlement_run_not_claimed", run=str(run_id))
        return False
    await execute_claimed(run_id, actor, timing)
    return True


async def resume_abandoned(timing: Timing, queue: SettlementQueue | None = None) -> list[UUID]:
    """Claim and finish, one after the other, the runs whose executor stopped beating; the ones this call did.

    With the workers' ``queue``, the job that carried a resumed run is taken out of the queue first: its worker
    died with it, and nothing else would ever finish it.
    """
    rows = await SettlementRun.select(
        SettlementRun.id, SettlementRun.started_by, SettlementRun.requested_by_member
    ).where(_abandoned(timing))
    resumed: list[UUID] = []
    for row in rows:
        run_id = as_uuid(row["id"])
        if not await claim(run_id, timing):
            continue
        member = row["requested_by_member"]
        actor = Actor(label=str(row["started_by"]), member_id=None if member is None else as_uuid(member))
        log.warning("settlement_run_resumed", run=str(run_id))
        if queue is not None:
            await queue.forget_abandoned(run_id)
        try:
            await execute_claimed(run_id, actor, timing)
        except Exception:  # marked failed by execute_run; the other abandoned runs still get their turn
            log.exception("settlement_run_resume_failed", run=str(run_id))
        resumed.append(run_id)
    return resumed


def recovery(timing: Timing, interval: float, queue: SettlementQueue | None = None) -> PeriodicJob:
    """The background job that resumes abandoned runs every ``interval`` seconds (see ``resume_abandoned``)."""
    return PeriodicJob("settlement-recovery", lambda: resume_abandoned(timing, queue), interval)


# --- dispatching from the app ----------------------------------------------------------------------------


class RunDispatcher:
    """Where the app sends a new run: the SAQ queue while Redis answers, else a task of this process.

    Redis stays optional and fail-open: configured but down (or its breaker open), the run executes here, and the
    answer is the same. The tasks are the app's: ``close`` cancels them at shutdown, leaving their runs to be
    resumed by another process.
    """

    def __init__(
        self,
        settings: Settings,
        redis: Redis | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.timing = Timing.of(settings)
        self.queue = RedisQueue(redis, name=settings.settlement_queue) if redis is not None else None
        self.breaker = breaker or CircuitBreaker(settings.redis_breaker_seconds)
        self._recovery_interval = settings.settlement_recovery_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    def background_jobs(self) -> list[PeriodicJob]:
        """Without Redis there are no workers: the app's processes resume abandoned runs themselves."""
        return [] if self.queue is not None else [recovery(self.timing, self._recovery_interval)]

    async def dispatch(self, run_id: UUID, actor: Actor) -> str:
        """Send a queued run to be executed; ``"queue"`` or ``"process"``, where it went."""
        if self.queue is not None and not self.breaker.is_open:
            try:
                await enqueue(self.queue, run_id, actor)
            except REDIS_FAILURES as exc:
                # The breaker is shared with the stores; only their probe closes it again (and forgets the cache),
                # so a run is never the call that waits to find out whether Redis is back.
                self.breaker.record_failure()
                log.warning("redis_unavailable", operation="enqueue", error=type(exc).__name__)
            else:
                return "queue"
        task = asyncio.create_task(self._execute(run_id, actor), name=f"settlement-run-{run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return "process"

    async def _execute(self, run_id: UUID, actor: Actor) -> None:
        try:
            await run_here(run_id, actor, self.timing)
        except Exception:  # the run is marked failed and says why; nobody awaits this task to hear it
            log.exception("settlement_run_task_failed", run=str(run_id))

    async def close(self) -> None:
        """Stop the runs executing in this process; they go back to ``queued`` and are resumed elsewhere."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        # Bounded: a task whose cancellation a driver swallowed must not hold the shutdown for a whole run.
        _, pending = await asyncio.wait(tasks, timeout=CLOSE_SECONDS)
        for task in pending:
            log.warning("settlement_run_task_not_stopped", task=task.get_name())


async def enqueue(queue: RedisQueue, run_id: UUID, actor: Actor) -> None:
    """Put the run's job on the queue: keyed by the run, without SAQ timeout or retries (the database resumes)."""
    await queue.enqueue(
        JOB,
        key=str(run_id),
        timeout=0,
        retries=1,
        run_id=str(run_id),
        actor=msgspec.to_builtins(actor),
    )


async def start_run(
    period: str, actor: Actor, *, idempotency_key: str | None = None, dispatcher: RunDispatcher
) -> tuple[schemas.SettlementRun, bool]:
    """Record a run and send it off (a replay sends nothing); the run as it is now and whether it is new."""
    run_id, created = await services.create_run(period, actor, idempotency_key=idempotency_key, watched=True)
    if created:
        await dispatcher.dispatch(run_id, actor)
    return await services.get_run(run_id), created


async def settle_here(period: str, actor: Actor, timing: Timing) -> schemas.SettlementRun:
    """Settle ``period`` in this process, watched by a heartbeat (the CLI); the finished run."""
    run_id, _ = await services.create_run(period, actor, watched=True)
    await run_here(run_id, actor, timing)
    return await services.get_run(run_id)


# --- the worker ------------------------------------------------------------------------------------------


class RedisOutage:
    """One worker's view of Redis: a warning when an outage starts, an info when Redis answers again.

    Every Redis call of the worker reports here (its dequeues, SAQ's upkeep, the jobs' bookkeeping), so that an
    outage logs two lines, whatever was running, instead of a traceback a second.
    """

    def __init__(self) -> None:
        self.down = False

    def failed(self, operation: str, exc: BaseException) -> None:
        """A call failed because Redis is away."""
        if not self.down:
            log.warning("redis_unavailable", operation=operation, error=type(exc).__name__)
            self.down = True

    def answered(self, operation: str) -> None:
        """A call reached Redis."""
        if self.down:
            log.info("redis_available_again", operation=operation)
            self.down = False


class SettlementQueue(RedisQueue):
    """SAQ's Redis queue for a worker that waits out a Redis outage quietly.

    A failed dequeue answers "no job" after a second's pause (SAQ would log a traceback for every failed round,
    one a second). A job's own bookkeeping (marked active, finished) waits until Redis answers, so that the job
    ends in its true state; only sending a job back at shutdown is given up while Redis is away (the database
    resumes its run). Outages are logged by ``outage``.

    It does not sweep. SAQ's sweep retries jobs past their timeout or heartbeat, which these jobs do not have
    (the database finds abandoned runs), and it aborts any job in the active list not yet marked active, which
    a worker's job is for a moment after it was dequeued. The job of a run whose worker died is taken out by
    whoever resumes the run (``forget_abandoned``).
    """

    def __init__(self, redis: Redis, name: str) -> None:
        super().__init__(redis, name=name)
        self.outage = RedisOutage()

    @property
    def redis_down(self) -> bool:
        """True while the last call found Redis away."""
        return self.outage.down

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        """Nothing to sweep (see the class)."""
        return []

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Job | None:  # noqa: ASYNC109 - SAQ's
        """The next job, or None: none waiting within ``timeout``, or Redis down (after a second's pause)."""
        try:
            job = await super().dequeue(timeout, poll_interval)
        except REDIS_FAILURES as exc:
            self.outage.failed("dequeue", exc)
            await asyncio.sleep(OUTAGE_RETRY_SECONDS)
            return None
        self.outage.answered("dequeue")
        return job

    async def _update(self, job: Job, status: Status | None = None, **kwargs: Any) -> None:
        await self._patiently("update_job", lambda: super(SettlementQueue, self)._update(job, status, **kwargs))

    async def _finish(
        self, job: Job, status: Status, *, result: Any = None, error: str | None = None, **kwargs: Any
    ) -> None:
        await self._patiently(
            "finish_job",
            lambda: super(SettlementQueue, self)._finish(job, status, result=result, error=error, **kwargs),
        )

    async def _retry(self, job: Job, error: str | None) -> None:
        # Only a worker that stops sends a job back (the jobs have no retries), and it must not wait for Redis.
        try:
            await super()._retry(job, error)
        except REDIS_FAILURES as exc:
            self.outage.failed("retry_job", exc)
        else:
            self.outage.answered("retry_job")

    async def _patiently(self, operation: str, call: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await call()
            except OUTAGE_ERRORS as exc:
                self.outage.failed(operation, exc)
                await asyncio.sleep(OUTAGE_RETRY_SECONDS)
            else:
                self.outage.answered(operation)
                return

    async def forget_abandoned(self, run_id: UUID) -> None:
        """Finish, as failed, the job of a run that is resumed without it (its worker died).

        SAQ would keep such a job in its active list and its set of incomplete jobs for ever. It is marked
        failed, not aborted: were its worker alive after all, an abort would stop it in the middle of the run
        that the resumer now executes too, and put the run back to ``queued`` under the resumer's feet.
        """
        try:
            job = await self.job(str(run_id))
            if job is not None and job.status not in (Status.COMPLETE, Status.FAILED, Status.ABORTED):
                was = job.status
                job.status, job.error, job.completed = Status.FAILED, ABANDONED, saq_now()
                await self.redis.lrem(self.namespace("queued"), 0, job.id)
                # SAQ's own finish, without this queue's patience: a resumer does not wait for Redis.
                await super()._finish(job, Status.FAILED, error=ABANDONED)
                log.info("settlement_job_forgotten", run=str(run_id), was=was)
        except REDIS_FAILURES as exc:  # the run is resumed all the same; its job waits for the next resumer
            self.outage.failed("forget_job", exc)
        else:
            self.outage.answered("forget_job")


class SettlementWorker(Worker[Any]):
    """SAQ's worker whose upkeep waits out a Redis outage: reported to the queue's ``outage``, no traceback.

    SAQ's upkeep loops (schedule every second, worker info, abort checks) log a traceback for every failed
    round; here a Redis failure is an outage, logged once by the queue, and the loop goes on.
    """

    queue: SettlementQueue

    async def schedule(self, lock: int = 1) -> None:
        """SAQ's schedule round (it always asks Redis)."""
        await self._upkeep("schedule", super().schedule(lock), asks_redis=True)

    async def worker_info(self, ttl: int = 60) -> Any:
        """SAQ's worker info round (it always asks Redis); None while Redis is away."""
        return await self._upkeep("worker_info", super().worker_info(ttl), asks_redis=True)

    async def abort(self, abort_threshold: float) -> None:
        """SAQ's abort round (it asks Redis only while a job runs)."""
        await self._upkeep("abort", super().abort(abort_threshold), asks_redis=False)

    async def _upkeep(self, operation: str, step: Awaitable[Any], *, asks_redis: bool) -> Any:
        try:
            result = await step
        except REDIS_FAILURES as exc:
            self.queue.outage.failed(operation, exc)
            return None
        if asks_redis:
            self.queue.outage.answered(operation)
        return result


async def settle_run(ctx: dict[str, Any], *, run_id: str, actor: dict[str, Any]) -> str:
    """The SAQ job: execute one run if it is still waiting (or abandoned).

    Its result is ``"done"``, ``"skipped"`` (another process has the run, or it is finished) or
    ``"interrupted"`` (the database connection was lost; the run is resumed).
    """
    timing: Timing = ctx["timing"]
    try:
        ran = await run_here(UUID(run_id), msgspec.convert(actor, Actor), timing)
    except Exception as exc:
        if not is_connection_lost(exc):
            raise
        # Back to queued (see execute_claimed): a resumer finishes it once its heartbeat is stale.
        log.warning("settlement_run_interrupted", run=run_id, error=type(exc).__name__)
        return "interrupted"
    return "done" if ran else "skipped"


def build_worker(settings: Settings, queue: SettlementQueue, *, concurrency: int) -> SettlementWorker:
    """An SAQ worker for the settlement queue that also resumes abandoned runs while it lives."""
    timing = Timing.of(settings)
    resumer = recovery(timing, settings.settlement_recovery_seconds, queue)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["timing"] = timing
        resumer.start()

    async def shutdown(ctx: dict[str, Any]) -> None:
        await resumer.stop()

    return SettlementWorker(
        queue,
        functions=[(JOB, settle_run)],
        concurrency=concurrency,
        startup=startup,
        shutdown=shutdown,
        # Dequeues wait at most a second, so that on stopping the idle slots end by themselves within the grace
        # period instead of being cancelled inside a blocking Redis read. Runs still in hand after it are
        # interrupted: each goes back to ``queued``, its job back to the queue, and the next worker continues
        # where it stopped. The hard deadline is for writing that down.
        dequeue_timeout=1.0,
        shutdown_grace_period_s=2,
        cancellation_hard_deadline_s=10.0,
    )


def settlement_queue(settings: Settings) -> SettlementQueue:
    """The workers' queue on ``settings.redis_url``.

    A call that gets no answer for ``WORKER_REDIS_TIMEOUT`` seconds fails, so that a Redis that hangs (paused,
    or cut off without the connection being reset) is an outage like a Redis that is down, not a wait for ever.
    A call on a connection that broke meanwhile is tried once more on a new one: after a restart of Redis every
    pooled connection is broken, and without that each of them would fail once more, an outage after the end
    of the outage.
    """
    assert settings.redis_url, "a worker needs REDIS_URL"
    redis = Redis.from_url(
        settings.redis_url,
        socket_timeout=WORKER_REDIS_TIMEOUT,
        socket_connect_timeout=WORKER_REDIS_TIMEOUT,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), retries=1, supported_errors=(redis_errors.ConnectionError,)),
    )
    return SettlementQueue(redis, name=settings.settlement_queue)


async def work(settings: Settings, concurrency: int) -> None:
    """Run a settlement worker until SIGINT or SIGTERM (``marketplace worker``)."""
    if not settings.redis_url:
        raise ValueError("a worker needs REDIS_URL")
    await prepare_database()
    queue = settlement_queue(settings)
    worker = build_worker(settings, queue, concurrency=concurrency)
    # A connection for each run in hand, plus the heartbeats and the resumer.
    size = max(settings.database_pool_size, concurrency + 2) if settings.database_pool_size > 0 else 0
    async with connection_pool(size):
        log.info("settlement_worker_started", queue=settings.settlement_queue, concurrency=concurrency)
        try:
            await queue.connect()
            await worker.start()
        finally:
            with contextlib.suppress(*REDIS_FAILURES):  # stopping while Redis is away is still a clean stop
                await queue.disconnect()
