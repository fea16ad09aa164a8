"""Event streams across real processes: they stay up through silence and Redis outages, end when access ends,
and end on shutdown. Each test starts one or two ``marketplace serve`` processes on the test's PostgreSQL
database (one to three seconds each); the module takes about half a minute."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import pytest

from marketplace.db import transaction
from marketplace.events.services import emit
from marketplace.events.tables import OutboxEvent
from marketplace.members.tables import Member, User
from tests.builders import bearer, token
from tests.conftest import TEST_REDIS_URL
from tests.reliability.app_process import app_process
from tests.reliability.private_redis import private_redis
from tests.reliability.sse import reading

pytestmark = pytest.mark.postgres

FAST = {"EVENT_KEEPALIVE_SECONDS": "1", "SHUTDOWN_TIMEOUT_SECONDS": "3"}


async def _announce(code: str, subject: str) -> None:
    row = await Member.select(Member.id).where(Member.code == code).first()
    assert row is not None
    async with transaction():
        await emit("request.accepted", subject, [row["id"]], {"reference": subject})


@pytest.mark.parametrize("redis", ["without Redis", pytest.param("with Redis", marks=pytest.mark.redis)])
async def test_a_stream_silent_longer_than_the_keepalive_stays_open_and_then_delivers(redis: str) -> None:
    value = await token("HZD", "buyer")
    redis_url = TEST_REDIS_URL if redis == "with Redis" else None
    async with app_process(redis_url=redis_url, **FAST) as one, reading(one.client, value) as stream:
        assert await stream.until(lambda: stream.comments.count("keep-alive") >= 2, 10)
        assert not stream.ended.is_set()
        await _announce("HZD", "after-silence")
        assert await stream.until(lambda: "after-silence" in stream.subjects(), 10), stream.comments
    assert stream.events[0]["data"]["subject_id"] == "after-silence"


@pytest.mark.redis
async def test_live_events_come_back_after_redis_is_killed_and_restarted() -> None:
    value = await token("HZD", "buyer")
    async with private_redis() as server, app_process(redis_url=server.url, **FAST) as one:
        async with reading(one.client, value) as before:
            await _announce("HZD", "while-up")
            assert await before.until(lambda: "while-up" in before.subjects(), 10)
            await server.kill()
            await _announce("HZD", "while-down")
            assert await before.until(lambda: "while-down" in before.subjects(), 10), "no fallback to the outbox"
            await server.restart()
            await asyncio.sleep(3)  # the hub reconnects within its retry pause
            async with reading(one.client, value) as after:
                await _announce("HZD", "back-again")
                assert await before.until(lambda: "back-again" in before.subjects(), 10)
                assert await after.until(lambda: "back-again" in after.subjects(), 10)
        # Handed over by the hub (Redis) again, not only read from the outbox.
        for _ in range(100):
            if not await OutboxEvent.exists().where(OutboxEvent.published_at.is_null()):
                break
            await asyncio.sleep(0.1)
        assert not await OutboxEvent.exists().where(OutboxEvent.published_at.is_null())
    assert before.subjects() == ["while-up", "while-down", "back-again"]


@pytest.mark.redis
async def test_a_stream_delivers_while_redis_hangs() -> None:
    value = await token("HZD", "buyer")
    async with (
        private_redis() as server,
        app_process(redis_url=server.url, **FAST) as one,
        reading(one.client, value) as stream,
    ):
        server.pause()
        try:
            await _announce("HZD", "while-paused")
            assert await stream.until(lambda: "while-paused" in stream.subjects(), 15)
        finally:
            server.resume()
        await _announce("HZD", "resumed")
        assert await stream.until(lambda: "resumed" in stream.subjects(), 15)
    assert stream.subjects() == ["while-paused", "resumed"]


async def _revoke_token(one: Any, admin: str, target: str) -> None:
    me = (await one.client.get("/api/v1/me", headers=bearer(target))).json()["user"]["id"]
    listed = (await one.client.get(f"/api/v1/users/{me}/tokens", headers=bearer(admin))).json()["items"]
    for item in listed:
        assert (await one.client.delete(f"/api/v1/tokens/{item['id']}", headers=bearer(admin))).status_code == 204


async def _suspend_member(one: Any, admin: str, target: str) -> None:
    assert (await one.client.post("/api/v1/members/HZD/suspend", headers=bearer(admin))).status_code == 200


async def _deactivate_user(one: Any, admin: str, target: str) -> None:
    row = await User.select(User.id).where(User.email == "einkauf@hzd.example").first()
    assert row is not None
    response = await one.client.patch(f"/api/v1/users/{row['id']}", headers=bearer(admin), json={"active": False})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "end_access",
    [
        pytest.param(_revoke_token, id="token revoked"),
        pytest.param(_suspend_member, id="member suspended"),
        pytest.param(_deactivate_user, id="user deactivated"),
    ],
)
@pytest.mark.parametrize("redis", ["without Redis", pytest.param("with Redis", marks=pytest.mark.redis)])
async def test_a_stream_on_another_process_ends_within_seconds_when_access_ends(end_access: Any, redis: str) -> None:
    admin = await token("KOPIT", "coop_admin")
    target = await token("HZD", "buyer", email="einkauf@hzd.example")
    redis_url = TEST_REDIS_URL if redis == "with Redis" else None
    async with (
        app_process(redis_url=redis_url, **FAST) as one,
        app_process(redis_url=redis_url, **FAST) as two,
        reading(two.client, target) as stream,
    ):
        assert stream.status == 200
        started = time.monotonic()
        await end_access(one, admin, target)
        assert await stream.until(stream.ended.is_set, 10), "the stream outlived the access"
        took = time.monotonic() - started
        await _announce("HZD", "after-the-end")
    assert "access ended" in stream.comments
    assert "after-the-end" not in stream.subjects()
    assert took < 5


async def test_a_token_holds_only_so_many_streams_at_once() -> None:
    value = await token("HZD", "buyer")
    async with (
        app_process(EVENT_STREAMS_PER_TOKEN="2", **FAST) as one,
        reading(one.client, value) as first,
        reading(one.client, value) as second,
        reading(one.client, value) as third,
    ):
        assert (first.status, second.status, third.status) == (200, 200, 429)
        refused = await one.client.get("/api/v1/events", headers=bearer(value))
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) > 0


async def test_sigterm_with_an_open_stream_ends_it_and_exits_within_the_bound() -> None:
    value = await token("HZD", "buyer")
    async with app_process(**FAST) as one, reading(one.client, value) as stream:
        assert stream.status == 200
        started = time.monotonic()
        code = await one.stop(signal.SIGTERM, within=20)
        took = time.monotonic() - started
        assert await stream.until(stream.ended.is_set, 5)
    assert code in (0, -signal.SIGTERM), one.output()  # uvicorn re-raises the signal once it has shut down
    assert took < 3 + 2  # SHUTDOWN_TIMEOUT_SECONDS and the application's own shutdown
    assert any("shutting down" in comment for comment in stream.comments), stream.comments
