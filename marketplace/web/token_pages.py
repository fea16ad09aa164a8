"""Verwaltung › API-Schlüssel: the API tokens of a member's users; create one (its secret shown once), revoke.

The rules are those of the API's token endpoints (``members.stewardship``): a ``member_admin`` manages the tokens
of its own member's users that hold none of the cooperative's roles, the ``coop_admin`` those of any user;
another member answers the 404 page. A token
carries the roles of its user, so the page shows those. Every request reads its token from the database, so a
revoked token stops working at once in every process.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from marketplace.clock import LOCAL_ZONE, now
from marketplace.errors import DomainError, NotFound
from marketplace.members import schemas as member_schemas
from marketplace.members import services as member_services
from marketplace.members.stewardship import manages
from marketplace.periods import LATEST
from marketplace.text import breaks_text_rule
from marketplace.web.catalogue_pages import parse_id
from marketplace.web.context import ADMINS, Viewer, current_viewer, flash, german_error, redirect, render
from marketplace.web.session import ONE_TIME_FIELD, session_of

#: Shown when a token form arrives a second time (a reload of the page that showed the secret).
ALREADY_CREATED = (
    "Dieser Schlüssel wurde bereits angelegt; sein Geheimnis wird nur einmal angezeigt. "
    "Wenn es verloren ist, widerrufen Sie den Schlüssel und legen Sie einen neuen an."
)


class TokenRow(msgspec.Struct, frozen=True, kw_only=True):
    """One token as the page lists it, with its user."""

    token: member_schemas.Token
    user: member_schemas.User
    state: str


def token_state(token: member_schemas.Token, moment: dt.datetime) -> str:
    """Gültig, widerrufen or abgelaufen."""
    if token.revoked_at is not None:
        return "widerrufen"
    if token.expires_at is not None and token.expires_at <= moment:
        return "abgelaufen"
    return "gültig"


async def member_tokens(
    viewer: Viewer, code: str
) -> tuple[member_schemas.Member, list[member_schemas.User], list[TokenRow]]:
    """The member, the users whose tokens the viewer manages and their tokens (valid ones first, newest first)."""
    listed = (await member_services.list_users(code[:32], viewer.principal, limit=500, cursor=None)).items
    member = await member_services.get_member(code[:32], viewer.principal)
    # Users holding the cooperative's roles are the cooperative admin's to manage: not listed for anyone else.
    users = [
        user
        for user in listed
        if manages(
            viewer.principal, user_id=user.id, member_id=member.id, roles=frozenset(user.roles), own_allowed=True
        )
    ]
    moment = now()
    rows = [
        TokenRow(token=token, user=user, state=token_state(token, moment))
        for user in users
        for token in (await member_services.list_tokens(user.id, viewer.principal, limit=500, cursor=None)).items
    ]
    rows.sort(key=lambda row: (row.state != "gültig", -row.token.created_at.timestamp()))
    return member, users, rows


def expiry_of(text: str) -> dt.datetime | None:
    """The end of the day chosen ("gültig bis einschließlich"), in German local time; none: no expiry."""
    if not text:
        return None
    day = dt.date.fromisoformat(text)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_ZONE)


async def _tokens_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    code: str,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    created: member_schemas.TokenCreated | None = None,
    status_code: int = 200,
) -> Response[Any]:
    member, users, rows = await member_tokens(viewer, code)
    return render(
        request,
        "tokens.html",
        viewer,
        member=member,
        users=[user for user in users if user.active],
        rows=rows,
        values=values or {},
        error=error,
        created=created,
        created_user=next((user for user in users if created and user.id == created.user_id), None),
        today=dt.datetime.now(LOCAL_ZONE).date().isoformat(),
        once_field=ONE_TIME_FIELD,
        once=secrets.token_urlsafe(16),
        status_code=status_code,
    )


@get("/verwaltung/mitglieder/{code:str}/schluessel", name="web:tokens")
async def tokens_page(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """The tokens of a member's users: name, user and roles, created, expires, last used, state."""
    viewer = await current_viewer(request, *ADMINS)
    return await _tokens_page(request, viewer, code)


@post("/verwaltung/mitglieder/{code:str}/schluessel", name="web:create-token")
async def create_token(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """Create a token for a user of the member; the answer is the only page that ever shows its secret.

    The form is a one-time form: the answer cannot be a redirect (the secret would have to be kept somewhere to
    show it after one), so a reload of the answer re-sends the form, and that must not create a second token.
    """
    viewer = await current_viewer(request, *ADMINS)
    member, users, _ = await member_tokens(viewer, code)
    form = await request.form()
    form_id = str(form.get(ONE_TIME_FIELD, ""))[:64]
    session = session_of(request)
    if session.was_used(form_id):
        flash(request, "error", ALREADY_CREATED)
        return redirect(f"/verwaltung/mitglieder/{member.code}/schluessel")
    values = {
        "user_id": str(form.get("user_id", "")).strip()[:64],
        "name": str(form.get("name", "")).strip()[:200],
        "expires_on": str(form.get("expires_on", "")).strip()[:20],
    }
    try:
        user_id = UUID(values["user_id"])
    except ValueError:
        user_id = None
    if user_id is None or user_id not in {user.id for user in users}:
        return await _tokens_page(
            request, viewer, code, values=values, error="Bitte wählen Sie einen Benutzer.", status_code=422
        )
    try:
        expires_at = expiry_of(values["expires_on"])
    except (ValueError, OverflowError):  # not a date, or 9999-12-31, whose next day does not exist
        return await _tokens_page(
            request, viewer, code, values=values, error="Bitte prüfen Sie das Datum „Gültig bis“.", status_code=422
        )
    try:
        data = msgspec.convert({"name": values["name"], "expires_at": expires_at}, member_schemas.TokenCreate)
        created = await member_services.create_token(user_id, data, viewer.principal)
    except (DomainError, msgspec.ValidationError) as exc:
        if isinstance(exc, NotFound):
            raise
        status = int(exc.status_code) if isinstance(exc, DomainError) else 422
        text = (
            "Bitte geben Sie einen Namen für den Schlüssel an (höchstens 100 Zeichen)."
            if isinstance(exc, msgspec.ValidationError) and not breaks_text_rule(str(exc))
            else german_error(exc)
        )
        if "expires_at" in str(exc):
            text = "Das Datum „Gültig bis“ muss in der Zukunft liegen."
            if "must lie between" in str(exc):
                text = f"Das Datum „Gültig bis“ darf nicht nach dem {LATEST:%d.%m.%Y} liegen."
        return await _tokens_page(request, viewer, code, values=values, error=text, status_code=status)
    session.mark_used(form_id)
    return await _tokens_page(request, viewer, code, created=created)


@post("/verwaltung/mitglieder/{code:str}/schluessel/{token_id:str}/widerrufen", name="web:revoke-token")
async def revoke_token(request: Request[Any, Any, Any], code: FromPath[str], token_id: FromPath[str]) -> Response[Any]:
    """Revoke a token of a user of the member; it stops working at once."""
    viewer = await current_viewer(request, *ADMINS)
    member, _, rows = await member_tokens(viewer, code)
    token_uuid = parse_id(token_id)
    row = next((row for row in rows if row.token.id == token_uuid), None)
    if row is None:
        raise NotFound("There is no such token of this member.")
    try:
        await member_services.revoke_token(token_uuid, viewer.principal)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        flash(request, "error", german_error(exc))
        return redirect(f"/verwaltung/mitglieder/{member.code}/schluessel")
    flash(
        request,
        "ok",
        f"Der Schlüssel „{row.token.name}“ von {row.user.email} ist widerrufen und gilt ab sofort nicht mehr.",
    )
    return redirect(f"/verwaltung/mitglieder/{member.code}/schluessel")


#: The handlers of this module, for the pages' router.
TOKEN_PAGES = [tokens_page, create_token, revoke_token]
