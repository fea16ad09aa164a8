"""Sign-in, sign-out and setting a password through a one-time link."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from marketplace.errors import NotFound, Unauthorized
from marketplace.members import passwords
from marketplace.text import text_error
from marketplace.web.context import NotSignedIn, current_viewer, end_session, error_page, redirect, render
from marketplace.web.session import session_of

RULE_TEXTS = {
    "too_short": f"mindestens {passwords.MIN_LENGTH} Zeichen",
    "too_long": f"höchstens {passwords.MAX_LENGTH} Zeichen",
    "too_simple": "mindestens 4 verschiedene Zeichen",
}


def _safe_target(value: str | None) -> str:
    """Only a path of this site (no ``//host``, no scheme) may be the page after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/katalog"


def delayed_text(seconds: int) -> str:
    """The refusal of an attempt that came before the wait after failed sign-ins ended."""
    wait = "einer Sekunde" if seconds == 1 else f"{seconds} Sekunden"
    return f"Zu viele Fehlversuche. Bitte versuchen Sie es in {wait} erneut."


@get("/", name="web:home")
async def home(request: Request[Any, Any, Any]) -> Response[Any]:
    """The start page is the catalogue (or the sign-in page)."""
    return redirect("/katalog")


@get("/anmelden", name="web:sign-in")
async def sign_in_page(
    request: Request[Any, Any, Any], weiter: FromQuery[str | None] = None, email: FromQuery[str] = ""
) -> Response[Any]:
    """The sign-in form."""
    try:
        await current_viewer(request)
    except NotSignedIn:
        return render(request, "sign_in.html", target=_safe_target(weiter), email=email[:254])
    return redirect(_safe_target(weiter))


@post("/anmelden", name="web:sign-in-submit")
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    """Check e-mail address and password; start a session."""
    form = await request.form()
    email, password = str(form.get("email", "")).strip()[:254], str(form.get("password", ""))[:1000]
    target = _safe_target(form.get("weiter"))

    def again(message: str, status: int, headers: dict[str, str] | None = None) -> Response[Any]:
        return render(
            request, "sign_in.html", target=target, email=email, error=message, status_code=status, headers=headers
        )

    if text_error(email) is not None:  # no address of ours holds one; a NUL would not even reach PostgreSQL
        return again("E-Mail-Adresse oder Passwort ist falsch.", 400)
    # The client's address as the server saw it (``serve`` trusts X-Forwarded-For only from FORWARDED_ALLOW_IPS).
    client = request.client.host if request.client else ""
    try:
        user_id, fingerprint = await passwords.sign_in(email, password, client)
    except passwords.SignInDelayed as exc:
        return again(delayed_text(exc.seconds), 429, {"Retry-After": str(exc.seconds)})
    except passwords.MemberNotActive:
        return again("Ihr Mitglied ist gesperrt oder ausgetreten; eine Anmeldung ist nicht möglich.", 403)
    except Unauthorized:
        return again("E-Mail-Adresse oder Passwort ist falsch.", 400)
    session_of(request).sign_in(user_id, fingerprint)
    return redirect(target)


@post("/abmelden", name="web:sign-out")
async def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session."""
    await end_session(request)
    session_of(request).flash("ok", "Sie wurden abgemeldet.")
    return redirect("/anmelden")


@get("/passwort/{token:str}", name="web:password")
async def password_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """The form that sets a password through a one-time link."""
    email = await passwords.password_link_email(token) if len(token) <= 100 else None
    if email is None:
        return error_page(request, 404, "Dieser Link ist ungültig, abgelaufen oder wurde bereits benutzt.")
    return render(request, "password.html", email=email, token=token)


@post("/passwort/{token:str}", name="web:password-submit")
async def set_password(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """Set the password and use the link up."""
    email = await passwords.password_link_email(token) if len(token) <= 100 else None
    if email is None:
        return error_page(request, 404, "Dieser Link ist ungültig, abgelaufen oder wurde bereits benutzt.")
    form = await request.form()
    password, repeated = str(form.get("password", "")), str(form.get("password_repeat", ""))
    problems = [RULE_TEXTS[problem] for problem in passwords.rule_violations(password)]
    error = None
    if problems:
        error = "Das Passwort braucht " + ", ".join(problems) + "."
    elif password != repeated:
        error = "Die beiden Passwörter stimmen nicht überein."
    if error:
        return render(request, "password.html", email=email, token=token, error=error, status_code=400)
    try:
        await passwords.set_password_with_link(token, password)
    except NotFound:
        return error_page(request, 404, "Dieser Link ist ungültig, abgelaufen oder wurde bereits benutzt.")
    session = session_of(request)
    session.sign_out()
    session.flash("ok", "Ihr Passwort ist gesetzt. Sie können sich jetzt anmelden.")
    return Response(content=b"", status_code=303, headers={"Location": "/anmelden?email=" + quote(email, safe="@")})
