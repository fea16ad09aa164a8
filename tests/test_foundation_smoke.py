from __future__ import annotations

from tests.builders import bearer, member, running_app, token


async def test_me_answers_for_a_token() -> None:
    await member("KOPIT")
    value = await token("HZD", "buyer")
    async with running_app() as client:
        response = await client.get("/api/v1/me", headers=bearer(value))
    assert response.status_code == 200, response.text
    assert response.json()["member"]["code"] == "HZD"
