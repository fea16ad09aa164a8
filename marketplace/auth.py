"""Authentication by bearer token and authorisation by role.

A token is random, shown once and stored as its SHA-256; ``members.authentication`` resolves it to a
``Principal`` (user, member, roles) on every request, so that a revoked token, a deactivated user or a suspended
member stops working at once. Guards check roles; tenancy (another member's object answers 404) is the services'
job.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from marketplace.errors import Forbidden

TOKEN_PREFIX = "mkp_"  # noqa: S105 - a public prefix, not a secret


class Role(StrEnum):
    """The roles of domain.md."""

    coop_admin = "coop_admin"
    coop_accountant = "coop_accountant"
    auditor = "auditor"
    member_admin = "member_admin"
    provider = "provider"
    buyer = "buyer"
    accountant = "accountant"


#: Roles that only users of the cooperative office may hold; they see every member's objects.
COOP_ROLES = frozenset({Role.coop_admin, Role.coop_accountant, Role.auditor})
MEMBER_ROLES = frozenset(Role) - COOP_ROLES


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: one user of one member, with roles."""

    user_id: UUID
    email: str
    member_id: UUID
    member_code: str
    roles: frozenset[Role]
    token_id: UUID

    def has(self, *roles: Role) -> bool:
        """True when the caller holds any of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def sees_all_members(self) -> bool:
        """The cooperative's roles read every member's objects."""
        return not self.roles.isdisjoint(COOP_ROLES)


class Actor(msgspec.Struct, frozen=True):
    """Who made a change, as the audit trail records it: a user, or the command line."""

    label: str
    user_id: UUID | None = None
    member_id: UUID | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor behind an authenticated request."""
        return cls(label=principal.email, user_id=principal.user_id, member_id=principal.member_id)


def new_token() -> str:
    """A fresh bearer token with 256 bits of randomness."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 under which a token is stored; tokens are random, so no salt or stretching is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def requires(*roles: Role) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard that admits callers holding at least one of ``roles``."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.roles.isdisjoint(allowed):
            names = ", ".join(sorted(allowed))
            raise Forbidden(f"This needs one of the roles: {names}.")

    guard.__name__ = "requires_" + "_or_".join(sorted(allowed))
    return guard
