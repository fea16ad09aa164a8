"""Events: written with the change, published at least once, streamed to the caller's member only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from marketplace.app import create_app
from marketplace.db import transaction
from marketplace.events.services import emit
from marketplace.events.tables import OutboxEvent
from marketplace.members.tables import Member
from tests.builders import bearer, member, running_app, settings, token
from tests.live_server import live_server

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


async def _member_id(code: str) -> Any:
    row = await Member.select(Member.id).where(Member.code == code).first()
    assert row is not None
    return row["id"]


async def _sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                yield {"id": fields.get("id"), "event": fields.get("event"), "data": json.loads(fields["data"])}
            fields = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")


async def _first_event(base_url: str, value: str, *, last_event_id: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {value}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream("GET", "/api/v1/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        async for event in _sse_events(response):
            return event
    raise AssertionError("the stream ended without an event")


async def until_subscribed(app: Litestar, streams: int = 1) -> None:
    """Wait until ``streams`` event streams of ``app`` have started (instead of guessing with a sleep)."""
    for _ in range(400):
        if sum(item.started for item in app.state.event_hub.subscriptions()) >= streams:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the stream did not start")


async def _wait_until_published(attempts: int = 200) -> None:
    for _ in range(attempts):
        if not await OutboxEvent.exists().where(OutboxEvent.published_at.is_null()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("events were not published")


async def test_an_event_of_a_rolled_back_change_is_never_written() -> None:
    hzd = await _member_id(await member("HZD"))

    class Abort(Exception):
        pass

    async def change_that_fails() -> None:
        async with transaction():
            await emit("request.submitted", "x", [hzd], {"reference": "x"})
            raise Abort

    with pytest.raises(Abort):
        await change_that_fails()
    assert await OutboxEvent.count() == 0


async def test_events_left_unpublished_by_a_dead_process_are_published_by_the_next() -> None:
    hzd = await _member_id(await member("HZD"))
    async with transaction():
        await emit("request.submitted", "r-1", [hzd], {"reference": "r-1"})
    # No dispatcher ran: as if the process died right after the commit.
    assert await OutboxEvent.count().where(OutboxEvent.published_at.is_null()) == 1
    app = create_app(settings())
    async with app.lifespan():
        await _wait_until_published()
    assert await OutboxEvent.count().where(OutboxEvent.published_at.is_null()) == 0


async def test_a_member_receives_its_own_events_only() -> None:
    value = await token("HZD", "buyer")
    hzd, ekom = await _member_id("HZD"), await _member_id(await member("EKOM21"))
    app = create_app(settings())
    async with live_server(app) as base_url:
        reader = asyncio.create_task(_first_event(base_url, value))
        await until_subscribed(app)
        async with transaction():
            await emit("request.accepted", "for-ekom", [ekom], {"reference": "for-ekom"})
            await emit("request.accepted", "for-hzd", [hzd], {"reference": "for-hzd"})
        event = await asyncio.wait_for(reader, 10)
    assert event["event"] == "request.accepted"
    assert event["data"]["subject_id"] == "for-hzd"


async def test_a_client_resumes_after_its_last_event_id() -> None:
    value = await token("HZD", "buyer")
    hzd = await _member_id("HZD")
    async with transaction():
        await emit("request.submitted", "first", [hzd], {})
    first = await OutboxEvent.select(OutboxEvent.id).first()
    assert first is not None
    async with transaction():
        await emit("request.withdrawn", "second", [hzd], {})
    async with live_server(create_app(settings())) as base_url:
        event = await asyncio.wait_for(_first_event(base_url, value, last_event_id=str(first["id"])), 10)
    assert event["data"]["subject_id"] == "second"


async def test_events_still_arrive_when_redis_is_down() -> None:
    value = await token("HZD", "buyer")
    hzd = await _member_id("HZD")
    app = create_app(settings(redis_url=UNREACHABLE_REDIS))
    async with live_server(app) as base_url:
        reader = asyncio.create_task(_first_event(base_url, value))
        await until_subscribed(app)
        async with transaction():
            await emit("agreement.terminated", "t-1", [hzd], {})
        event = await asyncio.wait_for(reader, 10)
    assert event["data"]["subject_id"] == "t-1"


async def test_the_openapi_document_declares_the_stream_as_text_event_stream() -> None:
    value = await token("HZD", "buyer")
    async with running_app() as client:
        document = (await client.get("/schema/openapi.json", headers=bearer(value))).json()
    answers = document["paths"]["/api/v1/events"]["get"]["responses"]
    assert list(answers["200"]["content"]) == ["text/event-stream"]
    assert answers["429"]["content"].keys() == {"application/problem+json"}


async def test_a_keepalive_is_a_comment_without_an_empty_event() -> None:
    value = await token("HZD", "buyer")
    async with (
        live_server(create_app(settings(event_keepalive_seconds=0.2))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream("GET", "/api/v1/events", headers={"Authorization": f"Bearer {value}"}) as response,
    ):
        lines = []
        async for line in response.aiter_lines():
            lines.append(line)
            if len(lines) >= 4:
                break
    assert lines == [": keep-alive", "", ": keep-alive", ""]
