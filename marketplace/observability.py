"""Structured logs with a request id, and the middleware that stamps every answer.

Logs are one event per request (method, path, status, duration, request id, member code) in console or JSON
form. Headers and bodies are never logged, so tokens and personal data stay out of the logs.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = structlog.get_logger("marketplace.http")

#: Answers of the JSON API; the schema UI loads its scripts and styles from a CDN, so it gets a wider policy.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SCHEMA_UI_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://cdn.jsdelivr.net; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: The web pages (``marketplace.web``): every asset from this origin, no inline script or style, no framing.
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
#: Paths of the web pages and their assets.
WEB_PATH_PREFIXES = (
    "/anmelden",
    "/abmelden",
    "/passwort/",
    "/katalog",
    "/mein-bereich",
    "/anfragen/",
    "/vereinbarungen/",
    "/anbieter",
    "/abrechnung",
    "/verwaltung",
    "/static/",
)


def is_web_path(path: str) -> bool:
    """True for the web pages and their assets (they get ``WEB_CSP``)."""
    return path == "/" or path.startswith(WEB_PATH_PREFIXES)


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """Set up structlog and the standard library's logging to write one line per event."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return request_id_var.get()


def ensure_request_id(scope: Scope) -> str:
    """The request's id: kept from a well-formed ``X-Request-ID``, else made up, and stored in the scope."""
    state = scope.setdefault("state", {})
    request_id: str | None = state.get("request_id")
    if request_id is None:
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state["request_id"] = request_id
    return request_id


class RequestContextMiddleware(ASGIMiddleware):
    """Bind the request id to the logging context for everything the request does."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Wrap one request."""
        request_id = ensure_request_id(scope)
        scope["state"]["started"] = time.perf_counter()
        token = request_id_var.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await next_app(scope, receive, send)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)


async def stamp_response(message: Message, scope: Scope) -> None:
    """``before_send`` hook: headers and one log line for every answer, errors raised in middleware included."""
    if message["type"] != "http.response.start":
        return
    request_id = ensure_request_id(scope)
    path: str = scope.get("path", "")
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Request-ID"] = request_id
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    is_schema_ui = path.startswith("/schema") and not path.endswith((".json", ".yaml", ".yml"))
    headers["Content-Security-Policy"] = SCHEMA_UI_CSP if is_schema_ui else WEB_CSP if is_web_path(path) else API_CSP
    if path.startswith(("/api/", "/health")):
        headers["Cache-Control"] = "no-store"
    started = scope["state"].get("started")
    user = scope.get("user")
    log.info(
        "request",
        request_id=request_id,
        method=scope.get("method"),
        path=path,
        status=message["status"],
        duration_ms=round((time.perf_counter() - started) * 1000, 1) if started else None,
        member=getattr(user, "member_code", None),
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
