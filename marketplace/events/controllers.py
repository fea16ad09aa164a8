"""``GET /api/v1/events``: the caller's member's events as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated, Any
from uuid import UUID

import msgspec
import structlog
from litestar import Controller, Request, get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import HeaderParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from marketplace.auth import Principal
from marketplace.clock import now
from marketplace.errors import AUTHENTICATED, problems
from marketplace.events.services import Event, channel_for, history
from marketplace.store import REDIS_FAILURES

KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
log = structlog.get_logger(__name__)

LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        max_length=64,
        description="Resume after this event: the events since then are sent first, from the outbox.",
    ),
]


def _message(event: Event) -> ServerSentEventMessage:
    return ServerSentEventMessage(id=str(event.id), event=event.type, data=msgspec.json.encode(event).decode())


def _parse_id(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


class EventController(Controller):
    """Events of the caller's member only: new requests for its offers, accepted, declined, withdrawn, …"""

    path = "/api/v1/events"
    tags = ["events"]

    @get(
        operation_id="streamEvents",
        responses=problems(*AUTHENTICATED),
        include_in_schema=True,
        opt={"exclude_from_rate_limit": True},
    )
    async def stream(
        self,
        request: Request[Principal, Any, Any],
        channels: NamedDependency[ChannelsPlugin],
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        """Server-Sent Events for your member; each event's id lets a client resume and de-duplicate."""
        member_id = request.user.member_id

        async def messages() -> AsyncGenerator[ServerSentEventMessage, None]:
            connected_at = now()
            last: UUID | None = _parse_id(last_event_id)
            try:
                async with channels.start_subscription([channel_for(member_id)]) as subscriber:
                    # Subscribed first, then the history: nothing falls between the two; duplicates are skipped.
                    sent: set[UUID] = set()
                    if last is not None:
                        for event in await history(member_id, last):
                            sent.add(event.id)
                            last = event.id
                            yield _message(event)
                    events = subscriber.iter_events()
                    while True:
                        try:
                            raw = await asyncio.wait_for(anext(events), KEEPALIVE_SECONDS)
                        except TimeoutError:
                            yield ServerSentEventMessage(comment="keep-alive")
                            continue
                        event = msgspec.json.decode(raw, type=Event)
                        if event.id not in sent:
                            last = event.id
                            yield _message(event)
            except REDIS_FAILURES as exc:
                log.warning("events_channel_unavailable", error=type(exc).__name__)
            # Without the channels (Redis down), read the outbox itself: slower, the same events.
            while True:
                for event in await history(member_id, last, since=connected_at):
                    last = event.id
                    yield _message(event)
                await asyncio.sleep(POLL_SECONDS)

        return ServerSentEvent(messages())
