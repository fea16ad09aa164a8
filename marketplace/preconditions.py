"""Optimistic concurrency over HTTP: the ``If-Match`` header, the version it names and the ``ETag`` answered."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter

from marketplace.errors import PreconditionFailed

IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description="The ETag of the version you read; a stale one answers 412."),
]


def parse_if_match(value: str | None) -> int | None:
    """The version an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``3``), None for absent or ``*``."""
    if value is None or value.strip() in ("", "*"):
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise PreconditionFailed(f"If-Match must name a version as given in the ETag, not {value!r}.")
    return int(text)


def etag(version: int) -> dict[str, str]:
    """The ``ETag`` header for a resource at ``version``."""
    return {"ETag": f'"{version}"'}
