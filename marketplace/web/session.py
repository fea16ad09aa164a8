"""The web pages' session: a signed cookie, a CSRF token in it, and the middleware that reads and writes it.

The cookie holds the signed-in user's id, a digest of the user's password hash (a new password ends every
older session), a session id, the CSRF token, the time of issue and flash messages; it is signed with an HMAC
key derived from ``MARKETPLACE_SECRET`` and expires ``MAX_AGE`` after the sign-in, whatever the browser keeps.
Nothing in it is secret from its holder; the user's roles and member are read from the database on every
request, so that a deactivated user or a suspended member is signed out at once.

Cookie attributes: ``HttpOnly``, ``SameSite=Lax``, ``Path=/`` and ``Secure``; only a page served over plain
``http://`` on a loopback address (``127.0.0.1``, ``localhost``, ``::1``: ``make run`` in development) gets the
cookie without ``Secure``, since a browser would not send it back there otherwise.

CSRF: every form carries the session's token in the field ``_csrf``; ``csrf_guard`` refuses any other
method than GET/HEAD whose token is missing or wrong, before the handler runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from http.cookies import SimpleCookie
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "kopit_session"
#: Absolute lifetime of a session: a working day.
MAX_AGE = 8 * 60 * 60
CSRF_FIELD = "_csrf"
#: The field of a one-time form (one whose repetition must not repeat its effect) and how many used ids are kept.
ONE_TIME_FIELD = "_once"
ONE_TIME_FORMS_KEPT = 8
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class _Payload(msgspec.Struct, forbid_unknown_fields=True):
    u: str | None  # user id
    p: str  # password fingerprint
    s: str  # session id
    c: str  # csrf token
    i: int  # issued at (epoch seconds)
    f: list[tuple[str, str]] = []  # flash messages (kind, text)
    o: list[str] = []  # one-time form ids already used (the newest few)


class WebSession:
    """One browser's session; ``changed`` says whether the cookie must be written again."""

    def __init__(self, payload: _Payload | None = None) -> None:
        self.changed = payload is None
        self._data = payload or _fresh()

    @property
    def user_id(self) -> UUID | None:
        """The signed-in user, or None."""
        return UUID(self._data.u) if self._data.u else None

    @property
    def fingerprint(self) -> str:
        """The digest of the user's password hash at sign-in."""
        return self._data.p

    @property
    def session_id(self) -> UUID:
        """An id for this sign-in (the principal's ``token_id``)."""
        return UUID(self._data.s)

    @property
    def csrf_token(self) -> str:
        """The token every form of this session must send back."""
        return self._data.c

    def sign_in(self, user_id: UUID, fingerprint: str) -> None:
        """Start a signed-in session: a new session id and a new CSRF token (no fixation)."""
        self._data = _fresh(user_id=str(user_id), fingerprint=fingerprint, flash=self._data.f)
        self.changed = True

    def sign_out(self) -> None:
        """Forget the user; an anonymous session with a new CSRF token remains."""
        self._data = _fresh(flash=self._data.f)
        self.changed = True

    def flash(self, kind: str, text: str) -> None:
        """Keep a message (``ok`` or ``error``) for the next page shown."""
        self._data.f = [*self._data.f, (kind, text)][-3:]
        self.changed = True

    def pop_flashes(self) -> list[tuple[str, str]]:
        """The kept messages, forgotten from now on."""
        messages = list(self._data.f)
        if messages:
            self._data.f = []
            self.changed = True
        return messages

    def was_used(self, form_id: str) -> bool:
        """True when a one-time form with this id was already carried out in this session (or has no id)."""
        return not form_id or form_id in self._data.o

    def mark_used(self, form_id: str) -> None:
        """Remember that the one-time form ``form_id`` was carried out: a browser's reload re-sends it."""
        self._data.o = [*self._data.o, form_id][-ONE_TIME_FORMS_KEPT:]
        self.changed = True

    def check_csrf(self, token: str | None) -> bool:
        """True when ``token`` is this session's CSRF token."""
        return bool(token) and hmac.compare_digest(str(token).encode(), self._data.c.encode())

    def encode(self, key: bytes) -> str:
        """The signed cookie value."""
        body = base64.urlsafe_b64encode(msgspec.json.encode(self._data)).decode().rstrip("=")
        return body + "." + _sign(key, body)


def _fresh(
    *, user_id: str | None = None, fingerprint: str = "", flash: list[tuple[str, str]] | None = None
) -> _Payload:
    return _Payload(
        u=user_id,
        p=fingerprint,
        s=str(uuid.uuid4()),
        c=secrets.token_urlsafe(32),
        i=int(time.time()),
        f=list(flash or []),
    )


def _sign(key: bytes, body: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).decode().rstrip("=")


def session_key(secret: str) -> bytes:
    """The HMAC key of session cookies, derived from the application's secret (never the secret itself)."""
    return hmac.new(secret.encode(), b"kopit-web-session-v1", hashlib.sha256).digest()


def decode(value: str | None, key: bytes, *, now: float | None = None) -> WebSession | None:
    """The session in a cookie value, or None when it is missing, forged, malformed or expired."""
    if not value or "." not in value:
        return None
    body, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature.encode(), _sign(key, body).encode()):
        return None
    try:
        payload = msgspec.json.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), type=_Payload)
    except (ValueError, msgspec.DecodeError):
        return None
    moment = time.time() if now is None else now
    if not 0 <= moment - payload.i < MAX_AGE:
        return None
    return WebSession(payload)


def cookie_is_secure(scope: Scope) -> bool:
    """Secure, except for plain http on a loopback host (development with ``make run``)."""
    if scope.get("scheme") == "https":
        return True
    host = ""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = bytes(value).decode("latin-1")
            break
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return hostname not in _LOOPBACK


def set_cookie_header(session: WebSession, key: bytes, *, secure: bool) -> str:
    """The ``Set-Cookie`` header value for ``session``."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[COOKIE_NAME] = session.encode(key)
    morsel = cookie[COOKIE_NAME]
    morsel["path"] = "/"
    morsel["max-age"] = str(MAX_AGE)
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(bytes(value).decode("latin-1"))
            except Exception:  # noqa: S112 - a malformed cookie header is ignored like a missing one
                continue
            if COOKIE_NAME in jar:
                return jar[COOKIE_NAME].value
    return None


class WebSessionMiddleware(ASGIMiddleware):
    """Read the session cookie into ``scope["state"]["web_session"]`` and write it back when it changed."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Wrap one request of a web page."""
        key = session_key(scope["litestar_app"].state.settings.secret)
        session = decode(_cookie(scope), key) or WebSession()
        scope.setdefault("state", {})["web_session"] = session
        secure = cookie_is_secure(scope)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if session.changed:
                    headers.add("Set-Cookie", set_cookie_header(session, key, secure=secure))
                headers["Cache-Control"] = "no-store"
            await send(message)

        await next_app(scope, receive, send_with_cookie)


def session_of(connection: ASGIConnection[Any, Any, Any, Any]) -> WebSession:
    """The session the middleware loaded."""
    session: WebSession = connection.scope["state"]["web_session"]
    return session


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse a state-changing request whose form does not carry the session's CSRF token."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    form = await connection.form()  # type: ignore[attr-defined]  # an HTTP request; the form is cached for the handler
    if not session_of(connection).check_csrf(form.get(CSRF_FIELD)):
        raise PermissionDeniedException("csrf")
