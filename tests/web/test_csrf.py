"""Every form of the pages needs the session's CSRF token; the JSON API needs none (it has bearer tokens)."""

from __future__ import annotations

import pytest

from tests.booking.helpers import Parties, published_offer
from tests.builders import bearer
from tests.web.helpers import PASSWORD, csrf, sign_in, two_browsers, web_client, web_user


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_sign_in_without_the_right_csrf_token_is_refused(token: str | None) -> None:
    email = await web_user("HZD", "buyer")
    async with web_client() as client:
        await csrf(client)  # the browser has a session with a token, the form does not carry it
        data = {"email": email, "password": PASSWORD}
        if token is not None:
            data["_csrf"] = token
        response = await client.post("/anmelden", data=data)
        assert response.status_code == 403
        assert "Formular ist abgelaufen" in response.text
        assert (await client.get("/katalog")).status_code == 303


async def test_a_token_of_another_session_is_refused() -> None:
    email = await web_user("HZD", "buyer")
    async with two_browsers() as (attacker, victim):
        foreign = await csrf(attacker)
        await sign_in(victim, email)
        response = await victim.post("/abmelden", data={"_csrf": foreign})
        assert response.status_code == 403
        assert (await victim.get("/katalog")).status_code == 200  # still signed in


async def test_sign_in_rotates_the_csrf_token() -> None:
    email = await web_user("HZD", "buyer")
    async with web_client() as client:
        before = await csrf(client)
        await sign_in(client, email)
        after = await csrf(client, "/katalog")
        assert before != after
        refused = await client.post("/abmelden", data={"_csrf": before})
        assert refused.status_code == 403


async def test_state_changing_pages_refuse_a_post_without_token() -> None:
    email = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        await sign_in(client, email)
        response = await client.post(
            "/anbieter/angebote/neu",
            data={"title": "Hosting", "description": "x", "category": "hosting", "unit": "VM", "unit_price": "1"},
        )
        assert response.status_code == 403


async def test_the_json_api_needs_no_csrf_token() -> None:
    async with web_client() as client:
        parties = await Parties.make()
        offer_id = await published_offer(client, parties.provider)
        response = await client.get(f"/api/v1/offers/{offer_id}", headers=bearer(parties.buyer))
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
