"""``GET /api/v1/events``: the caller's member's events as Server-Sent Events (see ``streams``)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter
from litestar.response import ServerSentEvent

from marketplace.auth import Principal
from marketplace.errors import AUTHENTICATED, problems
from marketplace.events.hub import EventHub
from marketplace.events.streams import event_stream

LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        max_length=64,
        description="Resume after this event: the events since then are sent first, from the outbox.",
    ),
]

_STREAM = ResponseSpec(
    data_container=str,
    description=(
        "A stream of Server-Sent Events (text/event-stream): `id` (resume with Last-Event-ID), `event` (the type, "
        "e.g. request.accepted) and `data` (the event as JSON); comments keep the connection alive and end it."
    ),
    media_type="text/event-stream",
    generate_examples=False,
)


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
        media_type="text/event-stream",
        responses={200: _STREAM, **problems(*AUTHENTICATED)},
        opt={"exclude_from_rate_limit": True},
    )
    async def stream(self, request: Request[Principal, Any, Any], last_event_id: LastEventId = None) -> ServerSentEvent:
        """Server-Sent Events for your member; each event's id lets a client resume and de-duplicate.

        At most ``EVENT_STREAMS_PER_TOKEN`` streams per token are open at once (429 beyond). A stream ends when its
        token is revoked or expires, its user is deactivated or its member suspended, and when the server stops.
        """
        hub: EventHub = request.app.state.event_hub
        subscription = hub.subscribe(request.user.member_id, request.user.token_id)
        keepalive = request.app.state.settings.event_keepalive_seconds
        return ServerSentEvent(event_stream(subscription, _parse_id(last_event_id), keepalive=keepalive))
