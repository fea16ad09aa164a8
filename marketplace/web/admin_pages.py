"""Abrechnung (balances, statement, ledger download) and Verwaltung (members, users, password links, and the
cooperative's admin confirming a member's new IBAN)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from marketplace.accounting import services as accounting
from marketplace.auth import Actor, Role
from marketplace.errors import DomainError, NotFound, PreconditionFailed
from marketplace.members import passwords
from marketplace.members import services as member_services
from marketplace.members.stewardship import manages
from marketplace.web.accounting_pages import balance_chart
from marketplace.web.catalogue_pages import parse_id
from marketplace.web.context import (
    ADMINS,
    LEDGER_READERS,
    current_viewer,
    error_page,
    flash,
    german_error,
    public_url,
    redirect,
    render,
)


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


# --- Abrechnung -----------------------------------------------------------------------------------------


@get("/abrechnung", name="web:accounting")
async def accounting_page(
    request: Request[Any, Any, Any],
    mitglied: FromQuery[str | None] = None,
    von: FromQuery[str | None] = None,
    bis: FromQuery[str | None] = None,
) -> Response[Any]:
    """Balances and the statement of the member (the cooperative's roles choose a member)."""
    viewer = await current_viewer(request, *LEDGER_READERS)
    principal = viewer.principal
    member = mitglied if principal.sees_all_members and mitglied else None
    start, end = _date(von), _date(bis)
    try:
        balances = await accounting.get_balances(principal, as_of=None, member=member)
        statement = None
        chart = None
        if member or not principal.sees_all_members:
            statement = await accounting.get_statement(principal, member=member, start=start, end=end)
            chart = await balance_chart(viewer, member)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return error_page(request, int(exc.status_code), "Bitte prüfen Sie den Zeitraum (Von/Bis).")
    members = []
    if principal.sees_all_members:
        members = (await member_services.list_members(principal, limit=200, cursor=None)).items
    return render(
        request,
        "accounting.html",
        viewer,
        balances=balances,
        statement=statement,
        chart=chart,
        member=member or (None if principal.sees_all_members else principal.member_code),
        members=members,
        von=start.isoformat() if start else "",
        bis=end.isoformat() if end else "",
    )


@get("/abrechnung/hauptbuch", name="web:ledger-download")
async def ledger_download(
    request: Request[Any, Any, Any],
    mitglied: FromQuery[str | None] = None,
    von: FromQuery[str | None] = None,
    bis: FromQuery[str | None] = None,
) -> Response[Any]:
    """The member's part of the ledger (or all of it, for the cooperative) as a Beancount file."""
    viewer = await current_viewer(request, *LEDGER_READERS)
    member = mitglied or None if viewer.principal.sees_all_members else None
    name, chunks = await accounting.export_text(viewer.principal, member=member, start=_date(von), end=_date(bis))
    return Stream(
        chunks,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- Verwaltung -----------------------------------------------------------------------------------------


@get("/verwaltung", name="web:admin")
async def admin_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The member directory (the cooperative's admin manages every member; a member's admin its own)."""
    viewer = await current_viewer(request, *ADMINS)
    members = (await member_services.list_members(viewer.principal, limit=200, cursor=None)).items
    manageable = {m.code for m in members if viewer.has(Role.coop_admin) or m.code == viewer.member_code}
    pending = [m for m in members if m.pending_iban] if viewer.has(Role.coop_admin) else []
    return render(request, "admin.html", viewer, members=members, manageable=manageable, pending=pending)


@post("/verwaltung/mitglieder/{code:str}/bankverbindung", name="web:confirm-bank-details")
async def confirm_bank_details(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """Confirm a member's new IBAN (the cooperative's admin): from now on payments are matched by it."""
    viewer = await current_viewer(request, Role.coop_admin)
    form = await request.form()
    version = str(form.get("version", "")).strip()
    try:
        if not version.isdigit():
            raise PreconditionFailed("The form does not say which version of the member it was read at.")
        member = await member_services.confirm_bank_details(
            code[:32], str(form.get("iban", ""))[:42], Actor.of(viewer.principal), if_match=int(version)
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        in_use = exc.detail == member_services.IBAN_IN_USE
        flash(request, "error", "Diese IBAN verwendet bereits ein anderes Mitglied." if in_use else german_error(exc))
        return redirect("/verwaltung")
    flash(
        request,
        "ok",
        f"Die Bankverbindung von {member.code} ist bestätigt. "
        f"Zahlungen werden ab jetzt der IBAN {member.iban} zugeordnet.",
    )
    return redirect("/verwaltung")


@get("/verwaltung/mitglieder/{code:str}", name="web:member-users")
async def member_users(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """The users of a member whose users the viewer manages."""
    viewer = await current_viewer(request, *ADMINS)
    users = await member_services.list_users(code[:32], viewer.principal, limit=200, cursor=None)
    member = await member_services.get_member(code[:32], viewer.principal)
    managed = {
        user.id
        for user in users.items
        if manages(viewer.principal, user_id=user.id, member_id=member.id, roles=frozenset(user.roles))
    }
    return render(
        request,
        "member_users.html",
        viewer,
        member=member,
        users=users.items,
        managed=managed,
        me=viewer.principal.user_id,
    )


@post("/verwaltung/benutzer/{user_id:str}/passwort-link", name="web:password-link")
async def password_link(request: Request[Any, Any, Any], user_id: FromPath[str]) -> Response[Any]:
    """Create a one-time password link for a user and show it once."""
    viewer = await current_viewer(request, *ADMINS)
    try:
        token, expires_at, email = await passwords.create_password_link(parse_id(user_id), viewer.principal)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        flash(request, "error", "Für diesen Benutzer können Sie keinen Passwort-Link erstellen.")
        return redirect("/verwaltung")
    url = public_url(request, f"/passwort/{token}")
    return render(request, "password_link.html", viewer, url=url, email=email, expires_at=expires_at)
