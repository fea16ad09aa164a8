"""Rate limits count per token, not per address, and answer 429 as a problem."""

from __future__ import annotations

from tests.builders import bearer, running_app, token


async def test_a_token_over_its_limit_gets_429() -> None:
    value = await token("HZD", "buyer")
    async with running_app(rate_limit_per_minute=3) as client:
        statuses = [(await client.get("/api/v1/me", headers=bearer(value))).status_code for _ in range(4)]
        refused = await client.get("/api/v1/me", headers=bearer(value))
    assert statuses == [200, 200, 200, 429]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "ratelimit-reset" in refused.headers


async def test_the_limit_is_kept_per_token_not_per_address() -> None:
    busy = await token("HZD", "buyer")
    other = await token("EKOM21", "buyer")
    async with running_app(rate_limit_per_minute=2) as client:
        for _ in range(3):
            await client.get("/api/v1/me", headers=bearer(busy))
        response = await client.get("/api/v1/me", headers=bearer(other))
    assert response.status_code == 200


async def test_health_is_not_rate_limited() -> None:
    async with running_app(rate_limit_per_minute=1) as client:
        statuses = {(await client.get("/health")).status_code for _ in range(3)}
    assert statuses == {200}
