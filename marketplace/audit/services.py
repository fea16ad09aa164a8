"""Writing and reading the audit trail."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from piccolo.columns.combination import Where

from marketplace.audit.schemas import AuditEventOut, AuditEventPage
from marketplace.audit.tables import AuditEvent
from marketplace.auth import Actor, Principal
from marketplace.bulk import insert_records
from marketplace.clock import now
from marketplace.observability import current_request_id
from marketplace.pagination import InvalidCursor, decode_cursor, encode_cursor


async def record(
    actor: Actor,
    *,
    action: str,
    subject_type: str,
    subject_id: str | UUID,
    member_id: UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Append one audit event; call it inside the transaction of the change it describes."""
    await AuditEvent.insert(
        AuditEvent(
            id=uuid.uuid4(),
            occurred_at=now(),
            actor_user=actor.user_id,
            actor_label=actor.label,
            member=member_id,
            subject_type=subject_type,
            subject_id=str(subject_id),
            action=action,
            before=json.dumps(before, default=str, sort_keys=True) if before is not None else None,
            after=json.dumps(after, default=str, sort_keys=True) if after is not None else None,
            reason=reason,
            request_id=current_request_id(),
        )
    )


@dataclass(frozen=True, slots=True)
class Change:
    """One audit event for ``record_many``: the keyword arguments of ``record``."""

    action: str
    subject_type: str
    subject_id: str | UUID
    member_id: UUID | None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None


_AUDIT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_user",
    "actor_label",
    "member",
    "subject_type",
    "subject_id",
    "action",
    "before",
    "after",
    "reason",
    "request_id",
)


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


async def record_many(actor: Actor, changes: Sequence[Change]) -> None:
    """Append several audit events in bulk; call it inside the transaction of the changes.

    The same rows as ``record`` once per change, for batch work (a settlement run books thousands of changes).
    """
    moment = now()
    request_id = current_request_id()
    await insert_records(
        AuditEvent,
        _AUDIT_COLUMNS,
        [
            (
                uuid.uuid4(),
                moment,
                actor.user_id,
                actor.label,
                change.member_id,
                change.subject_type,
                str(change.subject_id),
                change.action,
                _json(change.before),
                _json(change.after),
                change.reason,
                request_id,
            )
            for change in changes
        ],
    )


def _loads(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else None


async def list_events(
    viewer: Principal,
    *,
    subject: str | None,
    action: str | None,
    limit: int,
    cursor: str | None,
) -> AuditEventPage:
    """Events the viewer may see, oldest first: all for the cooperative's roles, else its member's."""
    conditions: list[Where | Any] = []
    if not viewer.sees_all_members:
        conditions.append(AuditEvent.member == viewer.member_id)
    if subject is not None:
        conditions.append(AuditEvent.subject_id == subject)
    if action is not None:
        conditions.append(AuditEvent.action == action)
    key = decode_cursor(cursor, 2)
    if key is not None:
        try:
            after_time, after_id = datetime.fromisoformat(key[0]), UUID(key[1])
        except ValueError as exc:
            raise InvalidCursor("The cursor is not valid; start again without one.") from exc
        conditions.append(
            (AuditEvent.occurred_at > after_time)
            | ((AuditEvent.occurred_at == after_time) & (AuditEvent.id > after_id))
        )
    query = AuditEvent.select(
        *AuditEvent.all_columns(exclude=[AuditEvent.member]),
        AuditEvent.member.code.as_alias("member_code"),
    )
    for condition in conditions:
        query = query.where(condition)
    rows = await query.order_by(AuditEvent.occurred_at, AuditEvent.id).limit(limit + 1)
    items = [
        AuditEventOut(
            id=row["id"],
            occurred_at=row["occurred_at"],
            actor=row["actor_label"],
            actor_user_id=row["actor_user"],
            member=row["member_code"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            action=row["action"],
            before=_loads(row["before"]),
            after=_loads(row["after"]),
            reason=row["reason"],
            request_id=row["request_id"],
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.occurred_at.isoformat(), last.id)
    return AuditEventPage(items=items, next_cursor=next_cursor)
