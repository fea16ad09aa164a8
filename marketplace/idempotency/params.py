"""The ``Idempotency-Key`` header as a handler parameter."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=255,
        description=(
            "Send the same key again to get the first answer instead of a second object; the same key with a "
            "different body answers 422. Kept for 48 hours, per member."
        ),
    ),
]
