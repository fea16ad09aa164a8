"""Input refused at the edge: NUL characters, JSON nested too deeply, query parameters unknown or given twice.

PostgreSQL cannot store U+0000 in text while SQLite can; refusing it at the edge keeps both engines answering the
same, with a clear 4xx instead of a driver error. It can arrive in the query string (``%00``), in the path
(``/members/%00``: the ASGI server decodes the path, so the parameter holds the character), or in a JSON body
(``\\u0000``); a cursor carries it base64-encoded, which ``pagination.decode_cursor`` refuses. An unknown query
parameter is refused like an unknown body field, so that a misspelt filter (``?categroy=``) is an error, not a
silently unfiltered list.

A JSON body is decoded here, once (Litestar keeps the decoded value for the handler): the decoder raises
``RecursionError`` for a body nested about a thousand levels deep, which would otherwise surface as a 500.
"""

from __future__ import annotations

import functools
from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import SerializationException
from litestar.handlers import HTTPRouteHandler

from marketplace.errors import DomainError, FieldError, InvalidInput

_NUL_IN_JSON = (b"\\u0000", b"\x00")


class UnknownQueryParameter(DomainError):
    """A query parameter the operation does not declare."""

    slug = "unknown-query-parameter"


class RepeatedQueryParameter(DomainError):
    """A query parameter given more than once (no operation takes a list in its query)."""

    slug = "repeated-query-parameter"


class NulInQuery(DomainError):
    """A query parameter or the path holds a NUL character."""

    slug = "nul-character"


class NestedTooDeeply(DomainError):
    """A JSON body nested deeper than the decoder follows."""

    slug = "malformed-request"


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


@functools.cache
def _takes_json(handler: HTTPRouteHandler) -> bool:
    """True when the handler reads its body as JSON (whatever Content-Type the client sends)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    return getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON) == RequestEncodingType.JSON


async def reject_nul_characters(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a NUL in the query or path, an unknown or repeated query parameter or a JSON body
    nested too deeply answers 400, a NUL in a JSON body 422."""
    if b"%00" in request.scope.get("query_string", b"") or b"\x00" in request.scope.get("query_string", b""):
        raise NulInQuery("A query parameter contains a NUL character (%00).")
    if "\x00" in request.scope.get("path", ""):
        raise NulInQuery("The path contains a NUL character (%00).")
    handler = request.scope.get("route_handler")
    if not isinstance(handler, HTTPRouteHandler):
        return
    if request.url.path.startswith("/api/"):
        unknown = sorted(set(request.query_params) - _declared_query_names(handler))
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            raise UnknownQueryParameter(f"This operation has no query parameter {names}.")
        # No operation takes a list in its query: a parameter given twice would otherwise count once, silently.
        repeated = sorted(name for name in set(request.query_params) if len(request.query_params.getall(name)) > 1)
        if repeated:
            names = ", ".join(repr(name) for name in repeated)
            raise RepeatedQueryParameter(f"The query parameter {names} is given more than once; give it once.")
    if request.method in ("POST", "PUT", "PATCH") and _takes_json(handler):
        body = await request.body()
        if any(marker in body for marker in _NUL_IN_JSON):
            raise InvalidInput(
                "The request body contains a NUL character (\\u0000), which text fields cannot hold.",
                errors=[FieldError(field="body", message="contains U+0000")],
            )
        try:
            await request.json()
        except RecursionError as exc:
            raise NestedTooDeeply("The request body is nested too deeply to be read.") from exc
        except SerializationException:
            pass  # malformed JSON: the handler's body parsing answers it with a 400
