"""Resolving a bearer token to its principal: one database read per request, never a cache.

A token, its user and its member are read together on every request, so that a revoked or expired token, a
deactivated user or a suspended member is refused by every process on its very next request, whatever Redis
does. An earlier version cached lookups under a generation in Redis or process memory; an invalidation lost
while Redis was paused, or a second process without Redis, then accepted a revoked token for up to a minute.

The same read brings the catalogue's change counter along (``events.counters``), so that a cached catalogue
read costs no query of its own.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from marketplace.auth import Principal, bearer_token, hash_token
from marketplace.clock import now
from marketplace.errors import Forbidden, Unauthorized
from marketplace.events.counters import CATALOGUE
from marketplace.members.stewardship import parse_roles
from marketplace.members.tables import ApiToken, Member

#: How often ``last_used_at`` is written at most: a token used every second costs one write a minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_LOOKUP = f"""
SELECT t.id AS id, t.expires_at AS expires_at, t.revoked_at AS revoked_at, t.last_used_at AS last_used_at,
       u.id AS user_id, u.email AS email, u.roles AS roles, u.active AS user_active,
       m.id AS member_id, m.code AS member_code, m.status AS member_status,
       (SELECT value FROM change_counters WHERE name = '{CATALOGUE}') AS catalogue_generation
FROM api_tokens t
JOIN users u ON u.id = t.owner
JOIN members m ON m.id = u.member
WHERE t.token_hash = {{}}
"""


class Authenticated(msgspec.Struct, frozen=True, kw_only=True):
    """A request's resolved token: who calls, until when the token holds, and the catalogue's change counter."""

    principal: Principal
    expires_at: datetime | None
    catalogue_generation: int


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def authenticate(token: str) -> Authenticated:
    """Resolve a bearer token, or refuse it (401 unknown, revoked, expired or deactivated; 403 member suspended)."""
    rows = await ApiToken.raw(_LOOKUP, hash_token(token))
    row = rows[0] if rows else None
    moment = now()
    if row is None or row["revoked_at"] is not None:
        raise Unauthorized("The bearer token is unknown or has been revoked.")
    expires_at = _moment(row["expires_at"])
    if expires_at is not None and expires_at <= moment:
        raise Unauthorized("The bearer token has expired.")
    if not row["user_active"]:
        raise Unauthorized("The user of this token has been deactivated.")
    if row["member_status"] != Member.Status.active:
        raise Forbidden(f"The member {row['member_code']} is {row['member_status']}; its tokens are not accepted.")
    token_id = _uuid(row["id"])
    last_used = _moment(row["last_used_at"])
    if last_used is None or moment - last_used >= LAST_USED_RESOLUTION:
        await ApiToken.update({ApiToken.last_used_at: moment}).where(ApiToken.id == token_id)
    principal = Principal(
        user_id=_uuid(row["user_id"]),
        email=row["email"],
        member_id=_uuid(row["member_id"]),
        member_code=row["member_code"],
        roles=parse_roles(row["roles"]),
        token_id=token_id,
    )
    return Authenticated(
        principal=principal, expires_at=expires_at, catalogue_generation=int(row["catalogue_generation"] or 0)
    )


async def valid_tokens(token_ids: Collection[UUID]) -> set[UUID]:
    """Which of ``token_ids`` would still be accepted now (for open event streams)."""
    if not token_ids:
        return set()
    rows = await ApiToken.select(
        ApiToken.id,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.owner.active.as_alias("user_active"),
        ApiToken.owner.member.status.as_alias("member_status"),  # type: ignore[union-attr]
    ).where(ApiToken.id.is_in(list(token_ids)))
    moment = now()
    return {
        row["id"]
        for row in rows
        if row["revoked_at"] is None
        and (row["expires_at"] is None or row["expires_at"] > moment)
        and row["user_active"]
        and row["member_status"] == Member.Status.active
    }


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Resolve the bearer token to a ``Principal``; ``request.auth`` holds the whole ``Authenticated``."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        """Authenticate one request or answer 401."""
        token = bearer_token(connection.headers.get("authorization"))
        if token is None:
            raise NotAuthorizedException("A bearer token is required: send 'Authorization: Bearer <token>'.")
        resolved = await authenticate(token)
        return AuthenticationResult(user=resolved.principal, auth=resolved)
