"""HTTP endpoint of the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from marketplace.audit import services
from marketplace.audit.schemas import AuditEventPage
from marketplace.auth import Principal
from marketplace.errors import AUTHENTICATED, problems
from marketplace.pagination import DEFAULT_LIMIT, Cursor, Limit


class AuditController(Controller):
    """Who changed what: all of it for the cooperative's roles, a member's own objects for its users."""

    path = "/api/v1/audit-events"
    tags = ["audit"]

    @get(operation_id="listAuditEvents", responses=problems(*AUTHENTICATED))
    async def list_events(
        self,
        request: Request[Principal, Any, Any],
        subject: Annotated[str | None, QueryParameter(max_length=64, description="Id of the changed object.")] = None,
        action: Annotated[str | None, QueryParameter(max_length=64, description="e.g. member.suspended")] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> AuditEventPage:
        """Audit events, oldest first."""
        return await services.list_events(request.user, subject=subject, action=action, limit=limit, cursor=cursor)
