"""Input refused at the edge: NUL characters, and query parameters an API operation does not know.

PostgreSQL cannot store U+0000 in text while SQLite can; refusing it at the edge keeps both engines answering the
same, with a clear 4xx instead of a driver error. An unknown query parameter is refused like an unknown body
field, so that a misspelt filter (``?categroy=``) is an error, not a silently unfiltered list.
"""

from __future__ import annotations

import functools
from typing import Any

from litestar import Request
from litestar.handlers import HTTPRouteHandler

from marketplace.errors import DomainError, FieldError, InvalidInput

_NUL_IN_JSON = (b"\\u0000", b"\x00")


class UnknownQueryParameter(DomainError):
    """A query parameter the operation does not declare."""

    slug = "unknown-query-parameter"


@functools.cache
def _declared_query_names(handler: HTTPRouteHandler) -> frozenset[str]:
    names: set[str] = set()
    for name, parameter in handler.parsed_fn_signature.parameters.items():
        names.add(name)
        definition = parameter.kwarg_definition
        alias = getattr(definition, "query", None) or getattr(definition, "name", None)
        if alias:
            names.add(alias)
    return frozenset(names)


class NulInQuery(DomainError):
    """A query parameter holds a NUL character."""

    slug = "nul-character"


async def reject_nul_characters(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a NUL or an unknown parameter in the query answers 400, a NUL in a JSON body 422."""
    if b"%00" in request.scope.get("query_string", b""):
        raise NulInQuery("A query parameter contains a NUL character (%00).")
    handler = request.scope.get("route_handler")
    if request.url.path.startswith("/api/") and isinstance(handler, HTTPRouteHandler):
        unknown = sorted(set(request.query_params) - _declared_query_names(handler))
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            raise UnknownQueryParameter(f"This operation has no query parameter {names}.")
    if request.method in ("POST", "PUT", "PATCH") and "json" in request.headers.get("content-type", ""):
        body = await request.body()
        if any(marker in body for marker in _NUL_IN_JSON):
            raise InvalidInput(
                "The request body contains a NUL character (\\u0000), which text fields cannot hold.",
                errors=[FieldError(field="body", message="contains U+0000")],
            )
