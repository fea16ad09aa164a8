"""No process answers from a stale cache: a revoked token, a suspended member and a changed price are refused or
fresh on another process on its very next request — without Redis, with Redis, and while Redis hangs or is gone.
Two ``marketplace serve`` processes per test on the test's PostgreSQL database; about ten seconds a test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.builders import bearer, token
from tests.catalogue.helpers import create_offer
from tests.conftest import TEST_REDIS_URL
from tests.reliability.app_process import AppProcess, app_process
from tests.reliability.private_redis import PrivateRedis, private_redis

pytestmark = pytest.mark.postgres


@contextlib.asynccontextmanager
async def _redis_for(situation: str) -> AsyncIterator[PrivateRedis | None]:
    if situation in ("Redis paused", "Redis killed"):
        async with private_redis() as server:
            yield server
    else:
        yield None


async def _warm(two: AppProcess, reader: str, spare: str) -> None:
    """Let the second process answer everything once and again, so that any cache it keeps is filled."""
    for _ in range(2):
        assert (await two.client.get("/api/v1/me", headers=bearer(spare))).status_code == 200
        assert (await two.client.get("/api/v1/me", headers=bearer(reader))).status_code == 200
        assert (await two.client.get("/api/v1/offers", headers=bearer(reader))).status_code == 200


@pytest.mark.parametrize(
    "situation",
    [
        "without Redis",
        pytest.param("with Redis", marks=pytest.mark.redis),
        "Redis paused",
        "Redis killed",
    ],
)
async def test_changes_on_one_process_are_seen_by_the_other_on_the_next_request(situation: str) -> None:
    admin = await token("KOPIT", "coop_admin")
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    spare = await token("GU-FFM", "buyer")
    async with _redis_for(situation) as server:
        redis_url = server.url if server else (TEST_REDIS_URL or None) if situation == "with Redis" else None
        async with app_process(redis_url=redis_url) as one, app_process(redis_url=redis_url) as two:
            offer = await create_offer(one.client, provider, publish=True)
            await _warm(two, reader, spare)
            if situation == "Redis paused":
                assert server is not None
                server.pause()
            elif situation == "Redis killed":
                assert server is not None
                await server.kill()
            try:
                me = (await one.client.get("/api/v1/me", headers=bearer(spare))).json()["user"]["id"]
                tokens = (await one.client.get(f"/api/v1/users/{me}/tokens", headers=bearer(admin))).json()["items"]
                revoked = await one.client.delete(f"/api/v1/tokens/{tokens[0]['id']}", headers=bearer(admin))
                changed = await one.client.patch(
                    f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"unit_price": "12.34"}
                )
                suspended = await one.client.post("/api/v1/members/HZD/suspend", headers=bearer(admin))
                assert (revoked.status_code, changed.status_code, suspended.status_code) == (204, 200, 200)
                after_revocation = await two.client.get("/api/v1/me", headers=bearer(spare))
                after_suspension = await two.client.get("/api/v1/me", headers=bearer(reader))
                listed = await two.client.get("/api/v1/offers", headers=bearer(admin))
                detail = await two.client.get(f"/api/v1/offers/{offer['id']}", headers=bearer(admin))
            finally:
                if situation == "Redis paused" and server is not None:
                    server.resume()
    assert after_revocation.status_code == 401
    assert after_suspension.status_code == 403
    assert listed.json()["items"][0]["current_version"]["unit_price"] == "12.34"
    assert detail.json()["current_version"]["unit_price"] == "12.34"
