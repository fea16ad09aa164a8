"""What the audit API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class AuditEventOut(msgspec.Struct, kw_only=True):
    """One recorded change."""

    id: UUID
    occurred_at: datetime
    actor: str
    actor_user_id: UUID | None
    member: str | None
    subject_type: str
    subject_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    request_id: str | None


class AuditEventPage(msgspec.Struct):
    """One page of audit events."""

    items: list[AuditEventOut]
    next_cursor: str | None
