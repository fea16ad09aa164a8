"""Keyset pagination with opaque cursors: ``?limit=`` and ``?cursor=``, answered with ``next_cursor``.

A cursor holds the sort key of the last item served, so pages stay stable while rows are added.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from litestar.params import QueryParameter

from marketplace.errors import DomainError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Items per page (1–200).")]
Cursor = Annotated[str | None, QueryParameter(max_length=512, description="The `next_cursor` of the previous page.")]


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
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("The cursor is not valid; start again without one.") from exc
    if not isinstance(key, list) or len(key) != parts or not all(isinstance(p, str) for p in key):
        raise InvalidCursor("The cursor is not valid; start again without one.")
    return key
