"""Who manages which user: the one rule behind every user-management path (tokens, links, roles, deactivation).

A user is managed by the cooperative's admin (``coop_admin``), and by the ``member_admin`` of the user's own
member — unless the user holds one of the cooperative's roles: those users are the cooperative's to manage, so
that a member's admin can never act as, or arm, a ``coop_admin``, ``coop_accountant`` or ``auditor``. For its
own API tokens every user is its own manager (a token carries exactly its user's roles).

A user of another member answers ``NotFound`` (tenancy); a user the caller may see but not manage ``Forbidden``.
"""

from __future__ import annotations

from uuid import UUID

from marketplace.auth import COOP_ROLES, Principal, Role
from marketplace.errors import Forbidden, NotFound


def parse_roles(value: str) -> frozenset[Role]:
    """The roles stored as comma-separated names."""
    return frozenset(Role(name) for name in value.split(",") if name)


def ensure_manages(
    viewer: Principal,
    *,
    user_id: UUID,
    member_id: UUID,
    roles: frozenset[Role],
    what: str,
    own_allowed: bool = False,
) -> None:
    """Refuse unless ``viewer`` manages ``what`` (e.g. "tokens") of the user ``user_id`` holding ``roles``."""
    if own_allowed and user_id == viewer.user_id:
        return
    if viewer.has(Role.coop_admin):
        return
    if viewer.has(Role.member_admin) and member_id == viewer.member_id:
        held = sorted(roles & COOP_ROLES)
        if held:
            raise Forbidden(
                f"Only the cooperative's admin manages the {what} of users holding the cooperative's roles "
                f"({', '.join(held)})."
            )
        return
    raise NotFound(f"There is no such user whose {what} you manage.")


def ensure_may_grant(viewer: Principal, roles: frozenset[Role]) -> None:
    """Only the cooperative's admin grants the cooperative's roles."""
    if roles & COOP_ROLES and not viewer.has(Role.coop_admin):
        raise Forbidden("Only the cooperative's admin may grant the cooperative's roles.")


def manages(
    viewer: Principal, *, user_id: UUID, member_id: UUID, roles: frozenset[Role], own_allowed: bool = False
) -> bool:
    """True when ``ensure_manages`` would let ``viewer`` manage the user (for pages that offer the actions)."""
    try:
        ensure_manages(viewer, user_id=user_id, member_id=member_id, roles=roles, what="", own_allowed=own_allowed)
    except (Forbidden, NotFound):
        return False
    return True
