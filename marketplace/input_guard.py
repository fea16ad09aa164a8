"""Input that no engine should see: NUL characters.

PostgreSQL cannot store U+0000 in text while SQLite can; refusing it at the edge keeps both engines answering the
same, with a clear 4xx instead of a driver error.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from marketplace.errors import DomainError, FieldError, InvalidInput

_NUL_IN_JSON = (b"\\u0000", b"\x00")


class NulInQuery(DomainError):
    """A query parameter holds a NUL character."""

    slug = "nul-character"


async def reject_nul_characters(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a NUL in the query string answers 400, in a JSON body 422."""
    if b"%00" in request.scope.get("query_string", b""):
        raise NulInQuery("A query parameter contains a NUL character (%00).")
    if request.method in ("POST", "PUT", "PATCH") and "json" in request.headers.get("content-type", ""):
        body = await request.body()
        if any(marker in body for marker in _NUL_IN_JSON):
            raise InvalidInput(
                "The request body contains a NUL character (\\u0000), which text fields cannot hold.",
                errors=[FieldError(field="body", message="contains U+0000")],
            )
