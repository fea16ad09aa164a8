"""One member's event stream (Server-Sent Events), and the watch that ends streams whose access ended.

A stream sends the events of the caller's member in the order the outbox holds them, each once:

- with ``Last-Event-ID`` it first sends what the outbox holds after that event;
- then it sends what the hub delivers live; when the hub says live delivery stopped (Redis down) it reads the
  outbox every ``POLL_SECONDS`` instead, and when the hub says it is back, it catches up from the outbox and goes
  on live. Without Redis it also reads the outbox every ``POLL_SECONDS``, for events of other processes;
- after ``keepalive`` seconds without anything to send it sends a comment, so that proxies keep the connection;
- it ends with a final comment when the server shuts down, and when its token, user or member no longer holds
  (``AccessWatch``: within ``ACCESS_CHECK_SECONDS`` of the change, on every process).

Events are de-duplicated by id (a recent window), since the live path and the outbox may both carry one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncGenerator
from datetime import datetime
from uuid import UUID

import msgspec
import structlog
from litestar.response import ServerSentEventMessage

from marketplace.background import PeriodicJob
from marketplace.events import counters
from marketplace.events.hub import EventHub, Signal, Subscription
from marketplace.events.services import Event, history
from marketplace.members.authentication import valid_tokens

log = structlog.get_logger(__name__)

POLL_SECONDS = 1.0
#: How often each process looks whether access changed (the ``ACCESS`` counter), and re-checks all streams anyway.
ACCESS_CHECK_SECONDS = 1.0
FULL_CHECK_SECONDS = 30.0
#: A subscription whose response never started (the client left before) is dropped after this long.
UNSTARTED_SECONDS = 30.0
_REMEMBERED_IDS = 2000


def message(event: Event) -> ServerSentEventMessage:
    """An event as an SSE message: its id (for ``Last-Event-ID``), type and JSON."""
    return ServerSentEventMessage(id=str(event.id), event=event.type, data=msgspec.json.encode(event).decode())


def comment(text: str) -> ServerSentEventMessage:
    """An SSE comment line and nothing else (Litestar's message sends an empty ``data:`` unless told not to)."""
    return ServerSentEventMessage(comment=text, data=None)


class _Sent:
    """The ids of the events sent lately, and the last one (the outbox is read after it)."""

    def __init__(self, last: UUID | None) -> None:
        self.last = last
        self._ids: OrderedDict[UUID, None] = OrderedDict()

    def fresh(self, event: Event) -> bool:
        """Record ``event`` as sent; False when it was sent already."""
        if event.id in self._ids:
            return False
        self._ids[event.id] = None
        if len(self._ids) > _REMEMBERED_IDS:
            self._ids.popitem(last=False)
        self.last = event.id
        return True


async def event_stream(
    subscription: Subscription, last_event_id: UUID | None, *, keepalive: float
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The messages of one stream (see the module's docstring); the subscription is closed at the end."""
    subscription.started = True
    member_id = subscription.member_id
    connected_at = subscription.connected_at
    sent = _Sent(last_event_id)
    polling = not subscription.hub.live or not subscription.hub.shared

    async def from_outbox() -> AsyncGenerator[ServerSentEventMessage, None]:
        while True:
            events = await _history(member_id, sent.last, connected_at)
            for event in events:
                if sent.fresh(event):
                    yield message(event)
            if len(events) < 200:
                return

    try:
        if last_event_id is not None:
            async for first in from_outbox():
                yield first
        quiet_since = time.monotonic()
        while True:
            wait = POLL_SECONDS if polling else keepalive
            wait = min(wait, max(0.05, keepalive - (time.monotonic() - quiet_since)))
            item = await subscription.next(wait)
            sent_something = False
            if item is Signal.CLOSE:
                yield comment("server shutting down; reconnect with Last-Event-ID")
                return
            if item is Signal.REVOKED:
                yield comment("access ended")
                return
            if item is Signal.DEGRADED:
                polling = True
            elif item is Signal.CATCH_UP:
                polling = not subscription.hub.shared
            if isinstance(item, bytes):
                event = msgspec.json.decode(item, type=Event)
                if sent.fresh(event):
                    sent_something = True
                    yield message(event)
            elif item is Signal.CATCH_UP or (item is None and polling):
                async for outboxed in from_outbox():
                    sent_something = True
                    yield outboxed
            if sent_something:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= keepalive:
                quiet_since = time.monotonic()
                yield comment("keep-alive")
    finally:
        subscription.close()


async def _history(member_id: UUID, after: UUID | None, since: datetime) -> list[Event]:
    return await history(member_id, after, since=since)


class AccessWatch:
    """Ends the open streams of tokens that no longer hold (revoked, expired, user deactivated, member suspended).

    Every ``ACCESS_CHECK_SECONDS`` it reads the ``ACCESS`` change counter; when it moved, when a stream opened
    since the last check, or every ``FULL_CHECK_SECONDS`` regardless, it checks the tokens of all open streams
    in one query. Nothing is read while no stream is open.
    """

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self._counter: int | None = None
        self._checked: set[int] = set()
        self._full_at = 0.0

    async def check(self) -> int:
        """One round; the number of streams ended."""
        subscriptions = self.hub.subscriptions()
        moment = time.monotonic()
        for subscription in subscriptions:
            if not subscription.started and moment - subscription.opened_at > UNSTARTED_SECONDS:
                subscription.close()
        subscriptions = [item for item in subscriptions if item.started or moment - item.opened_at <= UNSTARTED_SECONDS]
        if not subscriptions:
            self._counter = None
            self._checked.clear()
            return 0
        counter = await counters.current(counters.ACCESS)
        new = {id(item) for item in subscriptions} - self._checked
        if counter == self._counter and not new and moment - self._full_at < FULL_CHECK_SECONDS:
            return 0
        tokens = {item.token_id for item in subscriptions}
        invalid = tokens - await valid_tokens(tokens)
        self._counter, self._checked, self._full_at = counter, {id(item) for item in subscriptions}, moment
        ended = self.hub.revoke(invalid) if invalid else 0
        if ended:
            log.info("event_streams_ended", streams=ended, reason="access ended")
        return ended

    def job(self) -> PeriodicJob:
        """The background job of this process."""
        return PeriodicJob("event-access-watch", self.check, ACCESS_CHECK_SECONDS)
