"""A short-lived cache of token lookups, so that a request does not read the database to know its caller.

Entries live under a generation counter in the cache store (Redis when configured, process memory otherwise).
Every change that can withdraw a token — revoking it, suspending or ending a membership — starts a new
generation after its transaction has committed, so the very next request, in any process sharing the Redis,
reads the database again. While the generation is unknown (a fresh store, Redis flushed or down) nothing is
served from the cache. An entry lives ``TTL_SECONDS`` at most; a token's own expiry is checked on every hit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from litestar.stores.base import Store

from marketplace.auth import Principal
from marketplace.config import load_settings
from marketplace.store import Stores

GENERATION_KEY = "auth:generation"
TTL_SECONDS = 60


class CachedPrincipal(msgspec.Struct, frozen=True):
    """A resolved token: who it is, and until when it is valid."""

    principal: Principal
    expires_at: datetime | None


class AuthCache:
    """Token lookups of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def generation(self) -> str | None:
        """The current generation; None (and a new one started) when it is unknown."""
        value = await self.store.get(GENERATION_KEY)
        if value is None:
            await self.forget_all()
            return None
        return value.decode()

    async def get(self, generation: str, token_hash: str) -> CachedPrincipal | None:
        """The cached lookup of a token, if any."""
        raw = await self.store.get(f"auth:{generation}:{token_hash}")
        return msgspec.json.decode(raw, type=CachedPrincipal) if raw is not None else None

    async def put(self, generation: str, token_hash: str, entry: CachedPrincipal) -> None:
        """Remember a lookup under the generation it was made in."""
        await self.store.set(f"auth:{generation}:{token_hash}", msgspec.json.encode(entry), expires_in=TTL_SECONDS)

    async def forget_all(self) -> None:
        """Start a new generation: no lookup made so far is used again."""
        await self.store.set(GENERATION_KEY, uuid.uuid4().hex)


async def forget_shared() -> None:
    """Invalidate the Redis-held lookups of running servers from another process (the CLI)."""
    settings = load_settings()
    if not settings.redis_url:
        return
    stores = Stores(settings.redis_url, settings.redis_timeout_seconds, settings.redis_breaker_seconds)
    try:
        await AuthCache(stores.cache).forget_all()
    finally:
        await stores.close()
