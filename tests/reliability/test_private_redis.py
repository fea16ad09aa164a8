"""The private Redis server that fault tests stop and start (``private_redis``). About 1 second."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.reliability.private_redis import private_redis


@pytest.mark.redis
async def test_a_private_redis_hangs_when_paused_refuses_when_killed_and_restarts_empty_on_its_port() -> None:
    async with private_redis() as server:
        client = Redis.from_url(server.url, socket_timeout=0.3, socket_connect_timeout=0.3)
        await client.set("key", "value")
        server.pause()
        with pytest.raises(RedisTimeoutError):
            await client.get("key")
        server.resume()
        kept = await client.get("key")
        await server.kill()
        with pytest.raises(RedisConnectionError):
            await client.get("key")
        await server.restart()
        after_restart = await client.get("key")
        await client.aclose()
    assert kept == b"value"
    assert after_restart is None
