"""Verwaltung › Benutzer anlegen: a new user of a member, with roles, and its one-time password link.

The rules are those of ``POST /api/v1/members/{code}/users`` and ``POST /api/v1/users/{id}/password-link``: a
``member_admin`` creates users of its own member with the member's roles, the ``coop_admin`` users of any member,
and only it grants the cooperative's roles (to users of the cooperative office). The user and its link are made in
one transaction, so a refused link leaves no user behind.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from marketplace.auth import COOP_ROLES, MEMBER_ROLES, Role
from marketplace.db import transaction
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.members import passwords
from marketplace.members import schemas as member_schemas
from marketplace.members import services as member_services
from marketplace.members.tables import Member
from marketplace.web.catalogue_pages import parse_id
from marketplace.web.context import ADMINS, Viewer, current_viewer, flash, german_error, public_url, redirect, render

#: The order in which the form offers the roles: the member's first, then the cooperative's.
ROLE_ORDER = (
    Role.buyer,
    Role.provider,
    Role.accountant,
    Role.member_admin,
    Role.coop_admin,
    Role.coop_accountant,
    Role.auditor,
)


def allowed_roles(viewer: Viewer, member: member_schemas.Member) -> list[Role]:
    """The roles the viewer may give a user of ``member``: the cooperative's only by its admin, to its office."""
    allowed = set(MEMBER_ROLES)
    if viewer.has(Role.coop_admin) and member.kind == Member.Kind.cooperative:
        allowed |= COOP_ROLES
    return [role for role in ROLE_ORDER if role in allowed]


async def _user_form(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    member: member_schemas.Member,
    *,
    values: dict[str, Any],
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render(
        request,
        "user_form.html",
        viewer,
        member=member,
        roles=allowed_roles(viewer, member),
        values=values,
        error=error,
        status_code=status_code,
    )


async def managed_member(viewer: Viewer, code: str) -> member_schemas.Member:
    """A member whose users the viewer manages; any other answers the 404 page (as the API does)."""
    await member_services.list_users(code[:32], viewer.principal, limit=1, cursor=None)
    return await member_services.get_member(code[:32], viewer.principal)


@get("/verwaltung/mitglieder/{code:str}/benutzer/neu", name="web:new-user")
async def new_user_page(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """The form for a new user of a member."""
    viewer = await current_viewer(request, *ADMINS)
    member = await managed_member(viewer, code)
    return await _user_form(request, viewer, member, values={"roles": []})


@post("/verwaltung/mitglieder/{code:str}/benutzer/neu", name="web:new-user-submit")
async def create_user(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """Create the user and show its one-time password link once."""
    viewer = await current_viewer(request, *ADMINS)
    member = await managed_member(viewer, code)
    form = await request.form()
    values: dict[str, Any] = {
        "name": str(form.get("name", "")).strip()[:300],
        "email": str(form.get("email", "")).strip()[:300],
        "roles": [str(role) for role in form.getall("roles", [])][:10],
    }
    if not values["roles"]:
        return await _user_form(
            request, viewer, member, values=values, error="Bitte wählen Sie mindestens eine Rolle.", status_code=422
        )
    try:
        data = msgspec.convert(values, member_schemas.UserCreate, strict=False)
        async with transaction():
            user = await member_services.add_user(member.code, data, viewer.principal)
            token, expires_at, email = await passwords.create_password_link(user.id, viewer.principal)
    except (DomainError, msgspec.ValidationError) as exc:
        if isinstance(exc, NotFound):
            raise
        status = int(exc.status_code) if isinstance(exc, DomainError) else 422
        if isinstance(exc, Conflict):
            text = "Es gibt bereits einen Benutzer mit dieser E-Mail-Adresse."
        elif isinstance(exc, msgspec.ValidationError) and "$.email" in str(exc):
            text = "Bitte prüfen Sie die E-Mail-Adresse."
        elif isinstance(exc, msgspec.ValidationError) and "$.roles" in str(exc):
            text = "Bitte wählen Sie nur Rollen aus der Liste."
        else:
            text = german_error(exc)
        return await _user_form(request, viewer, member, values=values, error=text, status_code=status)
    url = public_url(request, f"/passwort/{token}")
    return render(
        request,
        "password_link.html",
        viewer,
        url=url,
        email=email,
        expires_at=expires_at,
        created_user=user,
        back=f"/verwaltung/mitglieder/{member.code}",
    )


@post("/verwaltung/benutzer/{user_id:str}/status", name="web:user-status")
async def change_user_status(request: Request[Any, Any, Any], user_id: FromPath[str]) -> Response[Any]:
    """Deactivate a user (its tokens and sessions stop working at once) or activate it again."""
    viewer = await current_viewer(request, *ADMINS)
    form = await request.form()
    active = str(form.get("active", "")) == "ja"
    try:
        user = await member_services.update_user(
            parse_id(user_id), member_schemas.UserUpdate(active=active), viewer.principal
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        text = german_error(exc)
        if "yourself" in exc.detail:
            text = "Ihren eigenen Zugang kann nur ein anderer Administrator ändern."
        flash(request, "error", text)
        return redirect("/verwaltung")
    text = "ist wieder aktiv" if user.active else "ist deaktiviert; seine Schlüssel und Sitzungen gelten nicht mehr"
    flash(request, "ok", f"Der Benutzer {user.email} {text}.")
    return redirect(f"/verwaltung/mitglieder/{user.member}")


#: The handlers of this module, for the pages' router.
USER_PAGES = [new_user_page, create_user, change_user_status]
