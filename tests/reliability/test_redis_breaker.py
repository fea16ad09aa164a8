"""The Redis circuit breaker: after its cooldown one call probes Redis, the others keep to the fallback.

Against a Redis that hangs (``RedisProxy`` in ``hang`` mode) every attempt costs the store's timeout, so the
number of attempts that reached Redis is what a cooldown costs. About 1 second each.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from marketplace.store import CircuitBreaker, ResilientStore, redis_client
from tests.conftest import TEST_REDIS_URL
from tests.redis_proxy import RedisProxy

TIMEOUT = 0.2
COOLDOWN = 0.3
CALLS = 20


class Counted(Store):
    """A store that counts the calls that reach ``inner``."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls = 0

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        self.calls += 1
        await self.inner.set(key, value, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        self.calls += 1
        return await self.inner.get(key, renew_for)

    async def delete(self, key: str) -> None:
        self.calls += 1
        await self.inner.delete(key)

    async def delete_all(self) -> None:
        self.calls += 1
        await self.inner.delete_all()

    async def exists(self, key: str) -> bool:
        self.calls += 1
        return await self.inner.exists(key)

    async def expires_in(self, key: str) -> int | None:
        self.calls += 1
        return await self.inner.expires_in(key)


async def _tripped_store(proxy: RedisProxy) -> tuple[ResilientStore, Counted, Any]:
    """A rate-limit store on the proxy whose breaker one failure has opened and whose cooldown has passed."""
    redis = redis_client(proxy.url(), TIMEOUT)
    primary = Counted(RedisStore(redis, namespace="breaker-test", handle_client_shutdown=False))
    store = ResilientStore(primary, MemoryStore(), CircuitBreaker(COOLDOWN))
    await store.get("key")
    assert store.breaker.is_open
    await asyncio.sleep(COOLDOWN + 0.05)
    return store, primary, redis


@pytest.mark.redis
async def test_after_the_cooldown_one_call_probes_a_hanging_redis_and_the_others_use_the_fallback() -> None:
    proxy = RedisProxy(TEST_REDIS_URL)
    await proxy.start()
    try:
        proxy.set_mode("hang")
        store, primary, redis = await _tripped_store(proxy)
        primary.calls = 0
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(store.set(f"key-{n}", b"1") for n in range(CALLS)))
        took = asyncio.get_running_loop().time() - started
        await redis.aclose()
    finally:
        await proxy.close()
    assert primary.calls == 1
    assert store.breaker.is_open  # the probe failed: another cooldown
    assert took < 2 * TIMEOUT + 0.2  # nobody waited for more than the probe's timeout
    assert await store.fallback.get("key-0") == b"1"  # type: ignore[union-attr]


@pytest.mark.redis
async def test_calls_wait_for_the_probe_to_find_redis_back_and_then_all_use_it() -> None:
    proxy = RedisProxy(TEST_REDIS_URL)
    await proxy.start()
    try:
        proxy.set_mode("hang")
        store, primary, redis = await _tripped_store(proxy)
        proxy.set_mode("forward")
        primary.calls = 0
        await asyncio.gather(*(store.set(f"key-{n}", b"1") for n in range(CALLS)))
        during_the_probe = primary.calls
        await asyncio.gather(*(store.set(f"key-{n}", b"2") for n in range(CALLS)))
        await redis.aclose()
    finally:
        await proxy.close()
    assert during_the_probe == 1
    assert primary.calls == 1 + CALLS
    assert not store.breaker.is_open


def test_a_probe_that_never_reports_is_given_up_after_a_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("marketplace.store.time.monotonic", lambda: clock[0])
    breaker = CircuitBreaker(cooldown=5)
    breaker.record_failure()
    clock[0] += 5
    assert (breaker.allow(), breaker.allow()) == (True, False)  # the probe, then the fallback
    clock[0] += 5  # the probe's task was cancelled: it reports nothing
    assert (breaker.allow(), breaker.allow()) == (True, False)
