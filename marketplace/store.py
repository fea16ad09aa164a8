"""Redis, optional and fail-open.

``ResilientStore`` wraps a Litestar ``RedisStore`` with short timeouts and a circuit breaker: after a failure
Redis is left alone for a while and every call goes to the fallback (in-process memory for rate limits, nothing
for the cache), until one call has found Redis answering again. Redis is never the only copy of anything, so
the fallback changes latency, never answers.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import structlog
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


class CircuitBreaker:
    """Keeps calls away from Redis after a failure, and lets one call at a time find out whether it is back.

    Closed, every call may use Redis. A failure opens it for ``cooldown`` seconds: every call uses the fallback.
    After the cooldown it is half-open: exactly one call (``allow`` answers True once) probes Redis while the
    others keep to the fallback, until the probe reports a success (closed) or a failure (open for another
    cooldown). Without the single probe every call in flight at the end of a cooldown would wait for Redis's
    timeout. A probe that never reports (its task was cancelled) is given up after a cooldown, and another
    call probes.
    """

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._open_until = 0.0
        self._probe_until = 0.0
        self.failures = 0

    @property
    def is_open(self) -> bool:
        """True while a failure is unanswered: calls use Redis only as the probe (``allow``)."""
        return self.failures > 0

    def allow(self) -> bool:
        """True when this call may use Redis: the breaker is closed, or this call is the one probe."""
        if self.failures == 0:
            return True
        moment = time.monotonic()
        if moment < self._open_until or moment < self._probe_until:
            return False
        self._probe_until = moment + self.cooldown
        return True

    def record_failure(self) -> None:
        """Open the breaker (again) for a cooldown."""
        self.failures += 1
        self._open_until = time.monotonic() + self.cooldown
        self._probe_until = 0.0

    def record_success(self) -> bool:
        """Close the breaker; True when it had been tripped before (Redis came back)."""
        recovered = self.failures > 0
        self.failures = 0
        self._open_until = self._probe_until = 0.0
        return recovered


def redis_client(url: str, timeout: float) -> Redis:
    """A client whose every call gives up after ``timeout`` seconds, without retries."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry_on_timeout=False,
        retry=None,
        health_check_interval=0,
    )


class ResilientStore(Store):
    """A store that uses Redis while it answers and ``fallback`` (or nothing) while it does not."""

    def __init__(
        self,
        primary: Store | None,
        fallback: Store | None,
        breaker: CircuitBreaker,
        *,
        forget_on_recovery: bool = False,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.breaker = breaker
        # A cache may have missed invalidations while Redis was away: empty it when Redis comes back.
        self.forget_on_recovery = forget_on_recovery

    async def _call(self, method: str, *args: Any, default: Any = None, **kwargs: Any) -> Any:
        if self.primary is not None and self.breaker.allow():
            try:
                result = await getattr(self.primary, method)(*args, **kwargs)
            except REDIS_FAILURES as exc:
                self.breaker.record_failure()
                log.warning("redis_unavailable", operation=method, error=type(exc).__name__)
            else:
                if self.breaker.record_success() and self.forget_on_recovery:
                    await self._forget_after_recovery()
                return result
        if self.fallback is not None:
            return await getattr(self.fallback, method)(*args, **kwargs)
        return default

    async def _forget_after_recovery(self) -> None:
        try:
            assert self.primary is not None
            await self.primary.delete_all()
        except REDIS_FAILURES:
            self.breaker.record_failure()

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        """Store ``value`` under ``key``."""
        await self._call("set", key, value, expires_in=expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        """The value under ``key``, or None."""
        result: bytes | None = await self._call("get", key, renew_for=renew_for)
        return result

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        await self._call("delete", key)

    async def delete_all(self) -> None:
        """Forget every key of this store's namespace."""
        await self._call("delete_all")

    async def exists(self, key: str) -> bool:
        """True when ``key`` holds a value."""
        return bool(await self._call("exists", key, default=False))

    async def expires_in(self, key: str) -> int | None:
        """Seconds until ``key`` expires, or None."""
        result: int | None = await self._call("expires_in", key)
        return result


class Stores:
    """The process's stores, built from one Redis client (or none)."""

    def __init__(self, redis_url: str | None, timeout: float, cooldown: float) -> None:
        self.breaker = CircuitBreaker(cooldown)
        self.redis: Redis | None = redis_client(redis_url, timeout) if redis_url else None
        root = RedisStore(self.redis, namespace="marketplace", handle_client_shutdown=False) if self.redis else None
        self.rate_limit = ResilientStore(
            root.with_namespace("rate_limit") if root else None, MemoryStore(), self.breaker
        )
        # Without Redis each process caches in memory; with Redis configured but down, nothing is cached, so
        # that two processes can never serve each other stale answers.
        self.cache = ResilientStore(
            root.with_namespace("cache") if root else MemoryStore(),
            None,
            self.breaker,
            forget_on_recovery=True,
        )

    @property
    def configured(self) -> bool:
        """True when a Redis URL was given."""
        return self.redis is not None

    async def ping(self) -> bool:
        """Ask Redis directly, bypassing the breaker; a failure opens it."""
        if self.redis is None:
            return False
        try:
            await self.redis.ping()
        except REDIS_FAILURES:
            self.breaker.record_failure()
            return False
        return True

    async def close(self) -> None:
        """Release the Redis connections."""
        if self.redis is not None:
            await self.redis.aclose()
