"""Keyset pagination with opaque cursors: ``?limit=`` and ``?cursor=``, answered with ``next_cursor``.

A cursor holds the sort key of the last item served, so pages stay stable while rows are added. It comes back
from the client, so it is input like any other: a cursor that is too long, not base64, not a list of the
expected number of strings, or whose strings hold characters no key of ours has (a NUL would reach PostgreSQL,
which cannot compare it) answers 400 ``invalid-cursor`` before any query runs.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from litestar.params import QueryParameter

from marketplace.errors import DomainError
from marketplace.text import text_error

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: The longest cursor: the sort keys of this service encode to well under 200 characters.
MAX_CURSOR_LENGTH = 512

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Items per page (1–200).")]
# The length is checked by ``decode_cursor`` (400, like any other bad cursor) and only stated here.
Cursor = Annotated[
    str | None,
    QueryParameter(
        description="The `next_cursor` of the previous page.", schema_extra={"maxLength": MAX_CURSOR_LENGTH}
    ),
]


class InvalidCursor(DomainError):
    """The cursor was not made by this service."""

    slug = "invalid-cursor"


def encode_cursor(*key: Any) -> str:
    """An opaque cursor for the sort key ``key``."""
    raw = json.dumps([str(part) for part in key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, parts: int) -> list[str] | None:
    """The sort key inside ``cursor``, or None for the first page."""
    if cursor is None:
        return None
    invalid = InvalidCursor("The cursor is not valid; start again without one.")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise invalid from exc
    if not isinstance(key, list) or len(key) != parts:
        raise invalid
    if not all(isinstance(part, str) and text_error(part) is None for part in key):
        raise invalid
    return key
