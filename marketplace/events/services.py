"""Writing events into the outbox, handing them to the hub, and reading a member's history.

``emit`` is called inside the transaction of the change it announces, so an event exists exactly when the change
does. The dispatcher publishes unpublished rows and only then marks them; a process that dies in between
publishes them again after a restart (at least once), and consumers de-duplicate by the event id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import structlog

from marketplace.background import PeriodicJob
from marketplace.bulk import insert_records
from marketplace.clock import now
from marketplace.db import is_postgres, transaction
from marketplace.events.hub import EventHub
from marketplace.events.tables import OutboxEvent
from marketplace.store import REDIS_FAILURES

log = structlog.get_logger(__name__)
BATCH = 200


class Event(msgspec.Struct, kw_only=True):
    """What a member's client receives."""

    id: UUID
    type: str
    subject_id: str
    occurred_at: datetime
    data: dict[str, Any]


async def emit(event_type: str, subject_id: UUID | str, recipients: Iterable[UUID], data: dict[str, Any]) -> None:
    """Write one event per recipient member into the outbox (inside the caller's transaction)."""
    moment = now()
    payload = json.dumps(data, default=str, sort_keys=True)
    rows = [
        OutboxEvent(
            id=uuid.uuid4(),
            member=member_id,
            type=event_type,
            subject_id=str(subject_id),
            payload=payload,
            created_at=moment,
        )
        for member_id in dict.fromkeys(recipients)
    ]
    if rows:
        await OutboxEvent.insert(*rows)


class Announcement(msgspec.Struct, frozen=True):
    """One event for ``emit_many``: the arguments of ``emit``."""

    type: str
    subject_id: UUID | str
    recipients: tuple[UUID, ...]
    data: dict[str, Any]


async def emit_many(announcements: Sequence[Announcement]) -> None:
    """Write several events into the outbox in bulk (inside the caller's transaction).

    The same rows as ``emit`` once per announcement, for batch work such as a settlement run.
    """
    moment = now()
    records: list[tuple[Any, ...]] = []
    for item in announcements:
        payload = json.dumps(item.data, default=str, sort_keys=True)
        records.extend(
            (uuid.uuid4(), member_id, item.type, str(item.subject_id), payload, moment)
            for member_id in dict.fromkeys(item.recipients)
        )
    await insert_records(OutboxEvent, ("id", "member", "type", "subject_id", "payload", "created_at"), records)


def _event(row: dict[str, Any]) -> Event:
    payload = row["payload"]
    return Event(
        id=row["id"],
        type=row["type"],
        subject_id=row["subject_id"],
        occurred_at=row["created_at"],
        data=json.loads(payload) if isinstance(payload, str) else payload,
    )


async def publish_pending(hub: EventHub, limit: int = BATCH) -> int:
    """Publish up to ``limit`` unpublished events in order and mark them; the number published.

    A failure to publish (Redis down) leaves the rows unpublished for the next round; the streams of every
    process read the outbox themselves meanwhile, so nothing waits for Redis.
    """
    # A cheap look first: on SQLite the transaction below takes the write lock.
    if not await OutboxEvent.exists().where(OutboxEvent.published_at.is_null()):
        return 0
    async with transaction():
        query = (
            OutboxEvent.select()
            .where(OutboxEvent.published_at.is_null())
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .limit(limit)
        )
        if is_postgres():
            # Several dispatchers (one per process) share the work instead of sending every row twice.
            query = query.lock_rows("UPDATE", skip_locked=True)
        rows = await query
        for row in rows:
            event = _event(row)
            try:
                await hub.publish(row["member"], msgspec.json.encode(event))
            except REDIS_FAILURES:
                # Redis is down: the rows wait for the next round; the streams read the outbox meanwhile, and the
                # hub has said so once in the log.
                return 0
        if rows:
            await OutboxEvent.update({OutboxEvent.published_at: now()}).where(
                OutboxEvent.id.is_in([row["id"] for row in rows])
            )
    return len(rows)


async def history(
    member_id: UUID, after: UUID | None, *, since: datetime | None = None, limit: int = BATCH
) -> list[Event]:
    """A member's events after the one with id ``after`` (for ``Last-Event-ID``) or since a time, oldest first."""
    query = OutboxEvent.select().where(OutboxEvent.member == member_id)
    if after is None and since is not None:
        query = query.where(OutboxEvent.created_at >= since)
    if after is not None:
        anchor = (
            await OutboxEvent.select(OutboxEvent.created_at)
            .where((OutboxEvent.id == after) & (OutboxEvent.member == member_id))
            .first()
        )
        if anchor is None and since is None:
            return []
        if anchor is None:
            # Not one of the member's events (another member's id, or purged): what happened since ``since``.
            query = query.where(OutboxEvent.created_at >= since)
        else:
            query = query.where(
                (OutboxEvent.created_at > anchor["created_at"])
                | ((OutboxEvent.created_at == anchor["created_at"]) & (OutboxEvent.id > after))
            )
    rows = await query.order_by(OutboxEvent.created_at, OutboxEvent.id).limit(limit)
    return [_event(row) for row in rows]


async def publish_all(hub: EventHub) -> None:
    """Publish every pending event, a batch at a time."""
    while await publish_pending(hub) == BATCH:
        pass


def dispatcher(hub: EventHub, interval: float = 0.5) -> PeriodicJob:
    """The background job that publishes the outbox of this process every ``interval`` seconds."""
    return PeriodicJob("outbox-dispatcher", lambda: publish_all(hub), interval)
