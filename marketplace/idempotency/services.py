"""Run a creating command at most once per (member, Idempotency-Key).

The key is claimed in the same transaction as the command: the first request inserts the row and the command's
answer, a concurrent duplicate waits on the unique index and then finds the committed answer. The same key with
another request (method, path or body) answers 422. Keys are kept for ``RETENTION`` and then purged.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import msgspec
from litestar import Response

from marketplace.auth import Principal
from marketplace.clock import now
from marketplace.db import is_integrity_error, transaction
from marketplace.errors import DomainError, FieldError, InvalidInput
from marketplace.idempotency.tables import IdempotencyKey

RETENTION = timedelta(hours=48)
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
#: The status a claimed key holds until its command's answer is stored, within the same transaction.
PENDING = 102

T = TypeVar("T")


def fingerprint(method: str, path: str, data: Any) -> str:
    """What identifies a request: its method, path and body, as parsed (so key order and spacing do not count)."""
    body = msgspec.json.encode(data, order="sorted") if data is not None else b""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def _check_key(key: str) -> None:
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            errors=[FieldError(field="Idempotency-Key", message="invalid")],
        )


async def _stored(member_id: uuid.UUID, key: str, print_: str) -> Response[Any] | None:
    row = (
        await IdempotencyKey.select().where((IdempotencyKey.member == member_id) & (IdempotencyKey.key == key)).first()
    )
    if row is None:
        return None
    if row["fingerprint"] != print_:
        raise InvalidInput(
            "This Idempotency-Key was already used for a different request; use a new key.",
            errors=[FieldError(field="Idempotency-Key", message="used for a different request")],
        )
    return Response(
        content=row["response_body"].encode(),
        status_code=row["status_code"],
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"},
    )


async def run_once(
    principal: Principal,
    key: str | None,
    request_print: str,
    command: Callable[[], Awaitable[T]],
    *,
    status_code: int,
    headers: Callable[[T], dict[str, str]] | None = None,
) -> Response[Any]:
    """Run ``command`` (which must join the ambient transaction) unless ``key`` already has an answer.

    A domain error is not stored: the client may correct the request and send it again with the same key.
    """
    if key is None:
        result = await command()
        return Response(result, status_code=status_code, headers=headers(result) if headers else None)
    _check_key(key)
    try:
        async with transaction():
            replay = await _stored(principal.member_id, key, request_print)
            if replay is not None:
                return replay
            # Claim the key before running the command: a concurrent duplicate now waits on the unique index
            # until this transaction ends, and then finds the answer instead of running the command again.
            claim = uuid.uuid4()
            await IdempotencyKey.insert(
                IdempotencyKey(
                    id=claim,
                    member=principal.member_id,
                    key=key,
                    fingerprint=request_print,
                    status_code=PENDING,
                    response_body="",
                    created_at=now(),
                )
            )
            result = await command()
            await IdempotencyKey.update(
                {
                    IdempotencyKey.status_code: status_code,
                    IdempotencyKey.response_body: msgspec.json.encode(result).decode(),
                }
            ).where(IdempotencyKey.id == claim)
    except DomainError:
        raise
    except Exception as exc:
        if not is_integrity_error(exc):
            raise
        # A concurrent request with the same key committed first; answer what it answered.
        replay = await _stored(principal.member_id, key, request_print)
        if replay is None:
            raise
        return replay
    return Response(result, status_code=status_code, headers=headers(result) if headers else None)


async def purge_expired() -> int:
    """Forget keys older than ``RETENTION``; the number forgotten."""
    cutoff = now() - RETENTION
    rows = await IdempotencyKey.delete().where(IdempotencyKey.created_at < cutoff).returning(IdempotencyKey.id)
    return len(rows)
