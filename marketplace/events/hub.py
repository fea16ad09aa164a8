"""Live delivery of published events to the open streams of this process.

The outbox in the database is the record of every event; the hub only carries the news that one was published,
so that an open stream can send it at once instead of polling. Without Redis the hub fans out in process memory.
With Redis it holds one subscription per process (channel ``marketplace:events:<member id>`` for every member
with an open stream here), supervised:

- a reader task takes messages and answers a ping every ``PING_SECONDS``; no answer within ``DEAD_SECONDS`` (a
  paused Redis keeps its sockets open) or any connection error marks the hub *degraded*;
- while degraded, every subscription is told so and its stream reads the outbox itself every second; the task
  reconnects with a growing pause and, once subscribed again to every wanted channel, tells every subscription
  to catch up from the outbox (what was published in between) and go on live;
- a stream opened for a member whose channel is not yet confirmed is told to catch up when it is, so nothing
  published between the stream's start and the subscription is missed.

The hub never cancels a pending read of a stream: a stream waits on its own queue, and a timeout there (the
keep-alive) leaves the subscription as it was. ``close`` ends every stream with a final comment (shutdown);
``revoke`` ends the streams of tokens that are no longer valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from marketplace.clock import now
from marketplace.errors import TooManyRequests
from marketplace.store import REDIS_FAILURES, CircuitBreaker

log = structlog.get_logger(__name__)

CHANNEL_PREFIX = "marketplace:events:"
#: How often the reader pings Redis, and after how long without an answer it gives the connection up.
PING_SECONDS = 1.0
DEAD_SECONDS = 3.0
#: How long a stream's queue may grow before its stream is told to re-read the outbox instead.
QUEUE_LIMIT = 500
_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


class Signal(enum.Enum):
    """What a subscription hears besides events."""

    CATCH_UP = "catch-up"  # read the outbox since the last event sent: something may have been missed
    DEGRADED = "degraded"  # live delivery stopped: read the outbox every second until CATCH_UP
    CLOSE = "close"  # the server shuts down: end the stream
    REVOKED = "revoked"  # the token no longer holds: end the stream


class Subscription:
    """One open stream's inbox: event payloads and signals, in order."""

    def __init__(self, hub: EventHub, member_id: UUID, token_id: UUID) -> None:
        self.hub = hub
        self.member_id = member_id
        self.token_id = token_id
        self.opened_at = time.monotonic()
        #: When the stream began: without Last-Event-ID, the outbox is read from here.
        self.connected_at = now()
        self.started = False
        self._queue: asyncio.Queue[bytes | Signal] = asyncio.Queue()

    def push(self, item: bytes | Signal) -> None:
        """Queue an event or a signal; a stream that falls far behind re-reads the outbox instead."""
        if isinstance(item, bytes) and self._queue.qsize() >= QUEUE_LIMIT:
            self._drain()
            item = Signal.CATCH_UP
        self._queue.put_nowait(item)

    def _drain(self) -> None:
        kept = []
        while not self._queue.empty():
            queued = self._queue.get_nowait()
            if isinstance(queued, Signal) and queued in (Signal.CLOSE, Signal.REVOKED):
                kept.append(queued)
        for queued in kept:
            self._queue.put_nowait(queued)

    async def next(self, wait: float) -> bytes | Signal | None:
        """The next item, or None after ``wait`` seconds; waiting never disturbs the subscription."""
        try:
            return await asyncio.wait_for(self._queue.get(), wait)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Leave the hub (the stream ended)."""
        self.hub.unsubscribe(self)


class EventHub:
    """The process's live event delivery (see the module's docstring)."""

    def __init__(
        self,
        redis_url: str | None,
        *,
        timeout: float,
        breaker: CircuitBreaker | None = None,
        publisher: Redis | None = None,
        streams_per_token: int = 5,
    ) -> None:
        self._url = redis_url
        self._timeout = timeout
        self._breaker = breaker
        self._publisher = publisher
        self.streams_per_token = streams_per_token
        self._subscriptions: dict[UUID, set[Subscription]] = defaultdict(set)
        self._per_token: dict[UUID, int] = defaultdict(int)
        self._confirmed: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self.closed = False
        self._outage = False
        self._attempt = 0
        #: False while the Redis subscription is known to be down (never without Redis).
        self.live = redis_url is None

    @property
    def shared(self) -> bool:
        """True when events published by other processes arrive live too (Redis); else streams also poll."""
        return self._url is not None

    # --- streams ----------------------------------------------------------------------------------------

    def subscribe(self, member_id: UUID, token_id: UUID) -> Subscription:
        """Open a subscription for a stream of ``member_id``'s events; 429 beyond ``streams_per_token``."""
        if self.closed:
            raise TooManyRequests("The server is shutting down; reconnect in a moment.", retry_after=1)
        if self._per_token[token_id] >= self.streams_per_token:
            raise TooManyRequests(
                f"This token has {self.streams_per_token} event streams open already; close one first.",
                retry_after=5,
            )
        subscription = Subscription(self, member_id, token_id)
        self._subscriptions[member_id].add(subscription)
        self._per_token[token_id] += 1
        if not self.live:
            subscription.push(Signal.DEGRADED)
        self._wake.set()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription (idempotent)."""
        members = self._subscriptions.get(subscription.member_id)
        if members is None or subscription not in members:
            return
        members.discard(subscription)
        if not members:
            del self._subscriptions[subscription.member_id]
        self._per_token[subscription.token_id] -= 1
        if self._per_token[subscription.token_id] <= 0:
            del self._per_token[subscription.token_id]
        self._wake.set()

    def subscriptions(self) -> list[Subscription]:
        """The open subscriptions."""
        return [item for items in self._subscriptions.values() for item in items]

    def revoke(self, token_ids: Iterable[UUID]) -> int:
        """End the streams of these tokens; the number ended."""
        wanted = set(token_ids)
        ended = 0
        for subscription in self.subscriptions():
            if subscription.token_id in wanted:
                subscription.push(Signal.REVOKED)
                ended += 1
        return ended

    def close(self) -> None:
        """End every stream (shutdown) and refuse new ones."""
        self.closed = True
        for subscription in self.subscriptions():
            subscription.push(Signal.CLOSE)

    def _broadcast(self, signal: Signal, member_ids: Iterable[UUID] | None = None) -> None:
        for member_id in list(self._subscriptions) if member_ids is None else member_ids:
            for subscription in self._subscriptions.get(member_id, ()):
                subscription.push(signal)

    def _deliver(self, member_id: UUID, payload: bytes) -> None:
        for subscription in self._subscriptions.get(member_id, ()):
            subscription.push(payload)

    # --- publishing -------------------------------------------------------------------------------------

    async def publish(self, member_id: UUID, payload: bytes) -> None:
        """Hand one published event to every process's streams of ``member_id``; raises when Redis fails."""
        if self._url is None:
            self._deliver(member_id, payload)
            return
        assert self._publisher is not None
        # The breaker's probe too: without a success reported here, a breaker opened by an outage would stay open.
        if self._breaker is not None and not self._breaker.allow():
            raise ConnectionError("Redis is left alone after a failure (circuit breaker open)")
        try:
            await self._publisher.publish(CHANNEL_PREFIX + str(member_id), payload)
        except REDIS_FAILURES:
            if self._breaker is not None:
                self._breaker.record_failure()
            raise
        if self._breaker is not None:
            self._breaker.record_success()

    # --- the supervised subscription --------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader (with Redis); without Redis there is nothing to run."""
        if self._url is not None and self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._supervise(), name="event-hub")

    async def stop(self) -> None:
        """End every stream and stop the reader."""
        self.close()
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, *REDIS_FAILURES):
                await asyncio.wait_for(self._task, 5)
            self._task = None

    def _wanted(self) -> set[str]:
        return {CHANNEL_PREFIX + str(member_id) for member_id in self._subscriptions}

    async def _supervise(self) -> None:
        self._attempt = 0
        while not self._stopping:
            client = Redis.from_url(
                self._url or "",
                socket_connect_timeout=self._timeout,
                socket_timeout=None,
                retry=None,
                health_check_interval=0,
            )
            pubsub = client.pubsub()
            try:
                await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except REDIS_FAILURES as exc:  # ConnectionError, raised for a silent Redis, is an OSError
                if not self._outage:
                    log.warning("event_channel_unavailable", error=type(exc).__name__)
                self._degrade()
                self._attempt += 1
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), 1)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.aclose(), 1)
            if self._stopping:
                return
            await asyncio.sleep(_RETRY_SECONDS[min(self._attempt, len(_RETRY_SECONDS) - 1)])

    def _degrade(self) -> None:
        self._confirmed.clear()
        self._outage = True
        if self.live:
            self.live = False
            self._broadcast(Signal.DEGRADED)

    async def _listen(self, pubsub: PubSub) -> None:
        """Connect, subscribe to every wanted channel and read until the connection fails or stops answering."""
        await pubsub.ping()
        if await pubsub.parse_response(block=False, timeout=DEAD_SECONDS) is None:
            raise ConnectionError(f"Redis did not answer a ping within {DEAD_SECONDS} s")
        self.live = True
        self._attempt = 0
        if self._outage:
            self._outage = False
            log.info("event_channel_available_again")
        subscribed: set[str] = set()
        last_answer = last_ping = time.monotonic()
        while not self._stopping:
            wanted = self._wanted()
            if wanted - subscribed:
                await pubsub.subscribe(*(wanted - subscribed))
            if subscribed - wanted:
                await pubsub.unsubscribe(*(subscribed - wanted))
                self._confirmed &= wanted
            subscribed = wanted
            if not pubsub.subscribed:
                # Nothing to listen to (a read would return at once): wait until a stream opens.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), PING_SECONDS)
                last_answer = last_ping = time.monotonic()
                continue
            moment = time.monotonic()
            if moment - last_ping >= PING_SECONDS:
                await pubsub.ping()
                last_ping = moment
            if moment - last_answer > DEAD_SECONDS:
                raise ConnectionError(f"Redis did not answer a ping for {DEAD_SECONDS} s")
            message = await pubsub.get_message(timeout=0.2)
            if message is None:
                continue
            last_answer = time.monotonic()
            kind = message.get("type")
            channel = _text(message.get("channel"))
            if kind == "message" and channel.startswith(CHANNEL_PREFIX):
                self._deliver(UUID(channel.removeprefix(CHANNEL_PREFIX)), _bytes(message["data"]))
            elif kind == "subscribe" and channel.startswith(CHANNEL_PREFIX):
                # From now on this member's events arrive live; what was published before is in the outbox.
                self._confirmed.add(channel)
                self._broadcast(Signal.CATCH_UP, [UUID(channel.removeprefix(CHANNEL_PREFIX))])


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
