"""Redis is optional and fail-open: stopped or hung, the service answers the same, /health says degraded."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from marketplace.app import create_app
from tests.builders import bearer, member, running_app, settings, token
from tests.conftest import TEST_REDIS_URL
from tests.redis_proxy import RedisProxy

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


async def _answers(client: httpx.AsyncClient, value: str) -> list[tuple[int, Any]]:
    paths = ["/api/v1/me", "/api/v1/members", "/api/v1/members/HZD", "/api/v1/members/NOPE"]
    results = []
    for path in paths:
        response = await client.get(path, headers=bearer(value))
        body = response.json()
        if isinstance(body, dict):
            body.pop("request_id", None)
        results.append((response.status_code, body))
    return results


async def test_health_is_ok_without_redis_configured() -> None:
    async with running_app(redis_url=None) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "disabled"}}


@pytest.mark.redis
async def test_health_is_ok_with_redis_answering() -> None:
    async with running_app(redis_url=TEST_REDIS_URL) as client:
        response = await client.get("/health")
    assert response.json()["checks"]["redis"] == "ok"


async def test_health_is_degraded_when_redis_is_down() -> None:
    async with running_app(redis_url=UNREACHABLE_REDIS) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "redis": "down"}}


async def test_answers_are_unchanged_when_redis_is_down() -> None:
    await member("KOPIT")
    value = await token("HZD", "buyer")
    async with running_app(redis_url=None) as client:
        without = await _answers(client, value)
    async with running_app(redis_url=UNREACHABLE_REDIS) as client:
        broken = await _answers(client, value)
    assert broken == without


async def test_health_answers_503_when_the_database_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    from piccolo.engine.sqlite import SQLiteEngine

    from marketplace import health

    monkeypatch.setattr(health, "engine", lambda: SQLiteEngine(path="/proc/no-such-dir/db.sqlite"))
    async with running_app(redis_url=None) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "down"


@pytest.mark.redis
@pytest.mark.parametrize("failure", ["refuse", "hang"])
async def test_redis_failing_mid_run_changes_no_answer(failure: str) -> None:
    await member("KOPIT")
    value = await token("HZD", "buyer")
    proxy = RedisProxy(TEST_REDIS_URL)
    await proxy.start()
    try:
        app = create_app(settings(redis_url=proxy.url(), redis_timeout_seconds=0.2))
        async with running_app(app) as client:
            healthy = await _answers(client, value)
            assert (await client.get("/health")).json()["status"] == "ok"
            proxy.set_mode(failure)  # type: ignore[arg-type]
            during = await _answers(client, value)
            health = (await client.get("/health")).json()
    finally:
        await proxy.close()
    assert during == healthy
    assert health["status"] == "degraded"
    # The breaker is open: later calls skip Redis instead of waiting for its timeout again.
    assert app.state.stores.breaker.is_open


async def test_health_answers_503_when_the_database_does_not_answer_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from marketplace import health

    class Hanging:
        async def run_ddl(self, _: str) -> None:
            await asyncio.sleep(60)

    monkeypatch.setattr(health, "engine", Hanging)
    async with running_app(redis_url=None, health_timeout_seconds=0.1) as client:
        response = await asyncio.wait_for(client.get("/health"), 10)
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"
