"""What every page needs: the signed-in user, the answer as a template, German messages, error pages.

Pages call the services with the ``Principal`` of the session's user (``members.passwords.session_principal``:
the same rules as for bearer tokens, a suspended member's users are signed out). Roles are checked here, tenancy
by the services, so another member's object answers the 404 page, as the API answers 404: to a form as to a GET.
A page that shows a service's refusals as messages therefore lets ``NotFound`` through to the error page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

import ledger
from marketplace.auth import Principal, Role
from marketplace.config import Settings
from marketplace.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
)
from marketplace.members import passwords
from marketplace.members import services as member_services
from marketplace.observability import ensure_request_id
from marketplace.text import breaks_text_rule
from marketplace.web.formatting import label
from marketplace.web.session import CSRF_FIELD, MAX_AGE, WebSession, session_of

log = structlog.get_logger(__name__)

LEDGER_READERS = (Role.coop_admin, Role.coop_accountant, Role.auditor, Role.accountant)
ADMINS = (Role.coop_admin, Role.member_admin)
#: The main navigation: (path, label, roles that see it; none: everyone signed in).
NAVIGATION: list[tuple[str, str, tuple[Role, ...]]] = [
    ("/katalog", "Katalog", ()),
    ("/mein-bereich", "Mein Bereich", (Role.buyer,)),
    ("/anbieter", "Anbieter", (Role.provider,)),
    ("/abrechnung", "Abrechnung", LEDGER_READERS),
    ("/verwaltung", "Verwaltung", ADMINS),
]
#: German names of the fields people fill in, for error messages.
FIELD_LABELS = {
    "title": "Titel",
    "description": "Beschreibung",
    "category": "Kategorie",
    "unit": "Einheit",
    "unit_price": "Preis je Einheit",
    "pricing": "Preismodell",
    "tax_treatment": "Steuerliche Behandlung",
    "capacity": "Kapazität",
    "min_term_months": "Mindestlaufzeit",
    "notice_months": "Kündigungsfrist",
    "sla": "Service-Level",
    "quantity": "Menge",
    "start_date": "Beginn",
    "end_date": "Ende",
    "message": "Nachricht",
    "reason": "Begründung",
    "effective_date": "Vertragsende",
    "password": "Passwort",
    "name": "Name",
    "from": "Von",
    "to": "Bis",
}


class NotSignedIn(NotAuthorizedException):
    """The page needs a signed-in user; the answer is a redirect to the sign-in page."""


class Viewer(msgspec.Struct, frozen=True):
    """The signed-in user as the pages show it."""

    principal: Principal
    name: str
    email: str
    member_code: str
    member_name: str

    def has(self, *roles: Role) -> bool:
        """True when the user holds any of ``roles``."""
        return self.principal.has(*roles)

    @property
    def navigation(self) -> list[tuple[str, str]]:
        """The sections this user's roles open."""
        return [(path, text) for path, text, roles in NAVIGATION if not roles or self.has(*roles)]

    @property
    def role_labels(self) -> list[str]:
        """The user's roles in German."""
        return [label(role, "role") for role in sorted(self.principal.roles)]


async def end_session(request: Request[Any, Any, Any]) -> None:
    """Sign out: the browser's cookie is replaced, and the session id is recorded as ended until it expires.

    The record lives in the database, so that a copy of the cookie replayed later is refused by every process,
    with or without Redis.
    """
    session = session_of(request)
    if session.user_id is not None:
        await passwords.end_web_session(session.session_id, session.user_id, timedelta(seconds=MAX_AGE))
    session.sign_out()


async def session_ended(session: WebSession) -> bool:
    """True when the session was signed out."""
    return await passwords.web_session_ended(session.session_id)


async def current_viewer(request: Request[Any, Any, Any], *roles: Role) -> Viewer:
    """The signed-in user, holding one of ``roles`` if any are named; else the sign-in page or the 403 page."""
    viewer: Viewer | None = request.scope["state"].get("web_viewer")
    if viewer is None:
        session = session_of(request)
        principal = None
        if session.user_id is not None and not await session_ended(session):
            principal = await passwords.session_principal(session.user_id, session.fingerprint, session.session_id)
            if principal is None:
                session.sign_out()
                session.flash("error", "Ihre Sitzung ist nicht mehr gültig. Bitte melden Sie sich erneut an.")
        if principal is None:
            raise NotSignedIn()
        me = await member_services.get_me(principal)
        viewer = Viewer(
            principal=principal,
            name=me.user.name,
            email=me.user.email,
            member_code=me.member.code,
            member_name=me.member.name,
        )
        request.scope["state"]["web_viewer"] = viewer
    if roles and not viewer.has(*roles):
        raise Forbidden("roles")
    return viewer


def render(
    request: Request[Any, Any, Any],
    template: str,
    viewer: Viewer | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A page: ``template`` with the viewer, the CSRF token and the flash messages (and ``headers``, if any)."""
    session: WebSession = session_of(request)
    return Template(
        template_name=template,
        context={
            "viewer": viewer,
            "csrf_field": CSRF_FIELD,
            "csrf_token": session.csrf_token,
            "flashes": session.pop_flashes(),
            "current_path": request.url.path,
            **context,
        },
        status_code=status_code,
        headers=headers,
    )


def public_url(request: Request[Any, Any, Any], path: str) -> str:
    """The absolute URL of ``path`` on ``PUBLIC_BASE_URL``, for links that leave the page (never the Host header)."""
    settings: Settings = request.app.state.settings
    return settings.public_url(path)


def redirect(path: str) -> Redirect:
    """After a form: go (GET) to ``path`` (post/redirect/get)."""
    return Redirect(path=path, status_code=HTTP_303_SEE_OTHER)


def flash(request: Request[Any, Any, Any], kind: str, text: str) -> None:
    """Keep a message for the next page."""
    session_of(request).flash(kind, text)


def german_error(exc: DomainError | msgspec.ValidationError | ValueError) -> str:
    """What went wrong, in German, for a message on the page."""
    if isinstance(exc, msgspec.ValidationError | ValueError) and not isinstance(exc, DomainError):
        text = str(exc)
        field = text.rsplit("$.", 1)[-1].strip("`' ") if "$." in text else ""
        name = FIELD_LABELS.get(field.split("[")[0], field)
        if name and breaks_text_rule(text):
            return (
                f"Das Feld „{name}“ enthält Zeichen, die nicht erlaubt sind (Steuerzeichen, Zeilenumbrüche in "
                "einzeiligen Feldern oder Zeichen, die die Schreibrichtung umkehren)."
            )
        return f"Bitte prüfen Sie das Feld „{name}“." if name else "Bitte prüfen Sie Ihre Eingaben."
    detail = exc.detail
    if isinstance(exc, InvalidInput):
        names = [FIELD_LABELS.get(error.field, error.field) for error in exc.errors or []]
        lead = (
            "Bitte prüfen Sie: " + ", ".join(dict.fromkeys(names)) + "." if names else "Bitte prüfen Sie Ihre Eingaben."
        )
        return f"{lead} ({detail})"
    if isinstance(exc, InvalidTransition):
        state = f" (Zustand: {label(exc.state)})" if exc.state else ""
        return f"Dieser Schritt ist im aktuellen Zustand nicht möglich{state}."
    if isinstance(exc, Conflict):
        if "capacity" in detail:
            return "Die Kapazität des Angebots ist erschöpft."
        if "own offers" in detail:
            return "Ein Mitglied kann seine eigenen Angebote nicht anfragen."
        return f"Das ist nicht möglich: {detail}"
    if isinstance(exc, PreconditionFailed):
        return "Der Eintrag wurde inzwischen geändert. Bitte laden Sie die Seite neu."
    if isinstance(exc, NotFound):
        return "Der Eintrag wurde nicht gefunden."
    if isinstance(exc, Forbidden):
        return "Ihre Rollen erlauben diesen Schritt nicht."
    return f"Das ist nicht möglich: {detail}"


# --- error pages ----------------------------------------------------------------------------------------

_ERROR_PAGES = {
    400: ("Ungültige Anfrage", "Die Anfrage konnte nicht verarbeitet werden."),
    403: ("Keine Berechtigung", "Ihre Rollen erlauben den Zugriff auf diese Seite nicht."),
    404: ("Nicht gefunden", "Diese Seite gibt es nicht, oder sie gehört zu einem anderen Mitglied."),
    405: ("Nicht erlaubt", "Diese Aktion ist hier nicht möglich."),
    409: ("Nicht möglich", "Dieser Schritt ist im aktuellen Zustand nicht möglich."),
    413: ("Zu groß", "Die gesendeten Daten sind zu groß."),
    422: ("Ungültige Eingabe", "Bitte prüfen Sie Ihre Eingaben."),
    429: ("Zu viele Anfragen", "Bitte warten Sie einen Moment und versuchen Sie es dann erneut."),
    500: ("Fehler", "Ein unerwarteter Fehler ist aufgetreten."),
}


def error_page(request: Request[Any, Any, Any], status: int, text: str | None = None) -> Response[Any]:
    """The HTML error page for ``status``."""
    title, default = _ERROR_PAGES.get(status, _ERROR_PAGES[500] if status >= 500 else _ERROR_PAGES[400])
    viewer: Viewer | None = request.scope["state"].get("web_viewer")
    return render(
        request,
        "error.html",
        viewer,
        status_code=status,
        title=title,
        text=text or default,
        status=status,
        request_id=ensure_request_id(request.scope),
    )


def _sign_in_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return Redirect(path="/anmelden?weiter=" + quote(target, safe="/"), status_code=HTTP_303_SEE_OTHER)


def web_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every error of a page answers a page (or the sign-in page), never a problem document."""
    if isinstance(exc, NotSignedIn):
        return _sign_in_redirect(request)
    if isinstance(exc, PermissionDeniedException) and exc.detail == "csrf":
        return error_page(
            request,
            403,
            "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden Sie die Seite neu "
            "und senden Sie es erneut.",
        )
    if isinstance(exc, DomainError):
        status = int(exc.status_code)
        return error_page(request, status, german_error(exc) if status in (409, 412, 422) else None)
    if isinstance(exc, ledger.LedgerError):
        return error_page(request, int(exc.http_status))
    if isinstance(exc, HTTPException):
        return error_page(request, exc.status_code)
    log.exception("unexpected_error", path=request.url.path)
    return error_page(request, 500)
