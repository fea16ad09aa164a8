"""The response cache of catalogue reads, keyed by the catalogue's change counter in the database.

Every change of an offer or category increments the counter ``events.counters.CATALOGUE`` inside its own
transaction. Every cached read takes the counter as committed when the request began — from the token lookup,
which reads it along (``members.authentication``), or by one indexed read — and looks for an entry under it. So
a cached answer is never older than a change committed before the request began, in any process, with Redis,
without Redis, and when an invalidation message would have been lost: there are no invalidation messages.

Entries live in ``app.state.stores.cache`` (Redis when configured and answering, shared by every process; process
memory without Redis). Old entries are never read again and expire after ``TTL_SECONDS``. While Redis is down the
store answers nothing, so answers come from the database, unchanged.

Visibility: list and search answers hold published offers only and are the same for every caller; a detail
answer is cached per offer and the caller's right to see it (drafts!) is checked on every read, cached or not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.stores.base import Store

from marketplace.events import counters
from marketplace.members.authentication import Authenticated

T = TypeVar("T")

#: How long an entry lives at most; a change makes it unreachable long before.
TTL_SECONDS = 300


class CatalogueCache:
    """Cached reads of one store at one value of the catalogue's change counter."""

    def __init__(self, store: Store, generation: int | None = None) -> None:
        self.store = store
        self.generation = generation

    @classmethod
    def of(cls, request: Request[Any, Any, Any]) -> CatalogueCache:
        """The cache of a request: its app's store, and the counter its token lookup read (if any)."""
        resolved = request.scope.get("auth")
        generation = resolved.catalogue_generation if isinstance(resolved, Authenticated) else None
        return cls(request.app.state.stores.cache, generation)

    async def fetch(self, kind: str, params: Any, produce: Callable[[], Awaitable[T]], type_: type[T]) -> T:
        """The cached answer for ``kind`` and ``params``, or ``produce()``'s (then cached)."""
        if self.generation is None:
            self.generation = await counters.current(counters.CATALOGUE)
        digest = hashlib.sha256(msgspec.json.encode(params, order="sorted")).hexdigest()[:32]
        key = f"catalogue:{self.generation}:{kind}:{digest}"
        cached = await self.store.get(key)
        if cached is not None:
            return msgspec.json.decode(cached, type=type_)
        value = await produce()
        await self.store.set(key, msgspec.json.encode(value), expires_in=TTL_SECONDS)
        return value
