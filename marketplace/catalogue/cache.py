"""The response cache of catalogue reads, invalidated by a generation counter.

Every key holds the current generation, which lives in the same store (``app.state.stores.cache``: Redis when
configured, process memory otherwise). Every change of an offer or category sets a new generation after its
transaction committed and before it answers, so the very next read (in any process sharing the Redis) misses and
reads the database. Old entries are never read again and expire after ``TTL``.

While the generation is unknown (a fresh store, Redis flushed, or Redis down, where the store answers nothing)
an answer is computed but not cached; a fresh generation is set for the next read. So a cache that may have
missed an invalidation is never trusted, and Redis being down changes latency, never answers.

Visibility: list and search answers hold published offers only and are the same for every caller; a detail
answer is cached per offer and the caller's right to see it (drafts!) is checked on every read, cached or not.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from litestar.stores.base import Store

from marketplace.config import load_settings
from marketplace.store import Stores

T = TypeVar("T")

GENERATION_KEY = "catalogue:generation"
#: How long an entry lives at most; a change invalidates it long before.
TTL_SECONDS = 300


class CatalogueCache:
    """Cached reads of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def of(cls, stores: Stores) -> CatalogueCache:
        """The cache of an application's stores (``request.app.state.stores``)."""
        return cls(stores.cache)

    async def _generation(self) -> str | None:
        value = await self.store.get(GENERATION_KEY)
        if value is None:
            await self.invalidate()
            return None
        return value.decode()

    async def fetch(self, kind: str, params: Any, produce: Callable[[], Awaitable[T]], type_: type[T]) -> T:
        """The cached answer for ``kind`` and ``params``, or ``produce()``'s (then cached)."""
        generation = await self._generation()
        if generation is None:
            return await produce()
        digest = hashlib.sha256(msgspec.json.encode(params, order="sorted")).hexdigest()[:32]
        key = f"catalogue:{generation}:{kind}:{digest}"
        cached = await self.store.get(key)
        if cached is not None:
            return msgspec.json.decode(cached, type=type_)
        value = await produce()
        await self.store.set(key, msgspec.json.encode(value), expires_in=TTL_SECONDS)
        return value

    async def invalidate(self) -> None:
        """Start a new generation: every entry cached so far is stale."""
        await self.store.set(GENERATION_KEY, uuid.uuid4().hex)


async def invalidate_shared_cache() -> None:
    """Invalidate the Redis cache of running servers from another process (the CLI); nothing without Redis."""
    settings = load_settings()
    if not settings.redis_url:
        return
    stores = Stores(settings.redis_url, settings.redis_timeout_seconds, settings.redis_breaker_seconds)
    try:
        await CatalogueCache.of(stores).invalidate()
    finally:
        await stores.close()
