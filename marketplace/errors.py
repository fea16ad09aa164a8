"""Domain errors and their RFC 9457 problem-details answers.

Services raise ``DomainError`` subclasses and never HTTP exceptions; one set of handlers turns every error,
ours and the framework's, into ``application/problem+json``. An unexpected error answers a 500 problem that
names the request id and nothing of the internals.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.types import ExceptionHandlersMap

import ledger
from marketplace.db import is_connection_lost, is_integrity_error
from marketplace.observability import ensure_request_id
from marketplace.text import explain

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://kopit.example/problems/"

log = structlog.get_logger(__name__)


class FieldError(msgspec.Struct, frozen=True):
    """One offending field of a request."""

    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem-details document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    state: str | None = None


class DomainError(Exception):
    """A rule of the domain refused a command; subclasses know their HTTP status."""

    status_code = HTTPStatus.BAD_REQUEST
    slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, state: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.state = state


class NotFound(DomainError):
    """The object does not exist or belongs to another member (tenancy answers 404, never 403)."""

    status_code = HTTPStatus.NOT_FOUND
    slug = "not-found"


class Forbidden(DomainError):
    """The caller is known but its roles do not allow the command."""

    status_code = HTTPStatus.FORBIDDEN
    slug = "forbidden"


class Unauthorized(DomainError):
    """No valid credentials."""

    status_code = HTTPStatus.UNAUTHORIZED
    slug = "unauthorized"


class Conflict(DomainError):
    """The command conflicts with existing data (a duplicate, a business limit)."""

    status_code = HTTPStatus.CONFLICT
    slug = "conflict"


class InvalidTransition(Conflict):
    """The object's life-cycle state does not allow the command; the problem names the current state."""

    slug = "invalid-transition"


class PreconditionFailed(DomainError):
    """``If-Match`` named a version that is no longer current."""

    status_code = HTTPStatus.PRECONDITION_FAILED
    slug = "precondition-failed"


class InvalidInput(DomainError):
    """Well-formed input that breaks a rule (an invalid Leitweg-ID, an unknown role)."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "invalid-input"


class TooManyRequests(DomainError):
    """A limit per caller is reached (open event streams, …); ``retry_after`` says when to try again."""

    status_code = HTTPStatus.TOO_MANY_REQUESTS
    slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def _problem_response(
    request: Request[Any, Any, Any], problem: Problem, headers: dict[str, str] | None = None
) -> Response[Any]:
    problem.instance = request.url.path
    problem.request_id = ensure_request_id(request.scope)
    return Response(
        content=msgspec.to_builtins(problem),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _slug_for(status: int) -> str:
    return _title(status).lower().replace(" ", "-").replace("'", "")


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    """Answer a domain error with its own status."""
    status = int(exc.status_code)
    return _problem_response(
        request,
        Problem(
            type=PROBLEM_TYPE_BASE + exc.slug,
            title=_title(status),
            status=status,
            detail=exc.detail,
            errors=exc.errors,
            state=exc.state,
        ),
        headers=_domain_headers(exc),
    )


def _domain_headers(exc: DomainError) -> dict[str, str] | None:
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="marketplace"'}
    if isinstance(exc, TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    return None


def _ledger_slug(exc: ledger.LedgerError) -> str:
    name = type(exc).__name__
    return "".join("-" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def ledger_error_handler(request: Request[Any, Any, Any], exc: ledger.LedgerError) -> Response[Any]:
    """Answer an error of the ledger library with the status it carries (``http_status``).

    A refused booking into a closed period names the state ``closed``; a 5xx (an export Beancount refused)
    is logged and answered without its internals.
    """
    status = int(exc.http_status)
    if status >= 500:
        log.error("ledger_error", path=request.url.path, error=type(exc).__name__, message=exc.message)
        detail = "The ledger could not produce a valid answer. Quote the request id when you report it."
    else:
        detail = exc.message
    return _problem_response(
        request,
        Problem(
            type=PROBLEM_TYPE_BASE + _ledger_slug(exc),
            title=_title(status),
            status=status,
            detail=detail,
            state="closed" if isinstance(exc, ledger.PeriodClosed) else None,
        ),
    )


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors: list[FieldError] = []
    for item in extra:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            message = str(item.get("message", "invalid"))
            errors.append(FieldError(field=key, message=explain(message) or message))
    return errors


def validation_error_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Malformed syntax answers 400; well-formed input that breaks the schema answers 422."""
    errors = _validation_errors(exc)
    malformed = "malformed" in str(exc.detail).lower() or "JSON is malformed" in str(exc.extra)
    status = 400 if malformed else 422
    detail = "The request body is not valid JSON." if malformed else "The request does not match the schema."
    if errors and not malformed:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return _problem_response(
        request,
        Problem(
            type=PROBLEM_TYPE_BASE + ("malformed-request" if malformed else "validation-error"),
            title=_title(status),
            status=status,
            detail=detail,
            errors=errors or None,
        ),
    )


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Framework errors (401, 404, 405, 413, 429, …) as problems."""
    status = exc.status_code
    detail = exc.detail if exc.detail and exc.detail != _title(status) else _default_detail(status)
    headers = dict(exc.headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="marketplace"'
    return _problem_response(
        request,
        Problem(type=PROBLEM_TYPE_BASE + _slug_for(status), title=_title(status), status=status, detail=detail),
        headers=headers or None,
    )


def _default_detail(status: int) -> str:
    return {
        401: "A valid bearer token is required.",
        403: "Your roles do not allow this.",
        404: "Nothing exists at this address.",
        405: "This method is not allowed here.",
        413: "The request body is too large.",
        503: "The database connection was lost; try again.",
        429: "Too many requests; slow down and retry after the time in the RateLimit-Reset header.",
    }.get(status, _title(status))


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Integrity errors of either driver become 409, a lost database connection 503; anything else a 500."""
    if is_connection_lost(exc):
        # Whatever the command had written was rolled back with the connection (a loss during COMMIT may have
        # come after it: a command sent with an Idempotency-Key can be repeated safely).
        log.warning("database_connection_lost", path=request.url.path, error=type(exc).__name__)
        return _problem_response(
            request,
            Problem(
                type=PROBLEM_TYPE_BASE + "database-unavailable",
                title=_title(503),
                status=503,
                detail="The database connection was lost; try again.",
            ),
            headers={"Retry-After": "1"},
        )
    if is_integrity_error(exc):
        return _problem_response(
            request,
            Problem(
                type=PROBLEM_TYPE_BASE + "conflict",
                title=_title(409),
                status=409,
                detail="The change conflicts with existing data (a duplicate or a reference that does not hold).",
            ),
        )
    log.exception("unexpected_error", path=request.url.path)
    return _problem_response(
        request,
        Problem(
            type=PROBLEM_TYPE_BASE + "internal-error",
            title=_title(500),
            status=500,
            detail="An unexpected error occurred. Quote the request id when you report it.",
        ),
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error_handler,
    ledger.LedgerError: ledger_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response specs for the problem answers an operation can give."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_default_detail(status) if status != 422 else "The request does not match the schema.",
            media_type=PROBLEM_MEDIA_TYPE,
            examples=[
                Example(
                    summary=_title(status),
                    value={
                        "type": PROBLEM_TYPE_BASE + _slug_for(status),
                        "title": _title(status),
                        "status": status,
                        "detail": _default_detail(status),
                    },
                )
            ],
        )
        for status in sorted(set(statuses))
    }


#: What every authenticated operation can answer besides its success.
AUTHENTICATED = (400, 401, 403, 413, 422, 429)
