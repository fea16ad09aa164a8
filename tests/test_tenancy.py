"""Tenancy: another member's objects answer 404, and lists never show them. Grows with every endpoint."""

from __future__ import annotations

import pytest

from tests.builders import bearer, running_app, token, user_id_of

# (method, path, body); {victim_user} is a user of HZD, {victim_token} one of its tokens.
FOREIGN = [
    ("GET", "/api/v1/members/HZD/users", None),
    ("POST", "/api/v1/members/HZD/users", {"email": "spy@example.org", "name": "Spy", "roles": ["buyer"]}),
    ("GET", "/api/v1/users/{victim_user}/tokens", None),
    ("POST", "/api/v1/users/{victim_user}/tokens", {"name": "spy"}),
    ("DELETE", "/api/v1/tokens/{victim_token}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), FOREIGN, ids=[f"{m} {p}" for m, p, _ in FOREIGN])
async def test_another_members_admin_gets_404(method: str, path: str, body: dict | None) -> None:
    victim = await token("HZD", "member_admin")
    intruder = await token("EKOM21", "member_admin")
    async with running_app() as client:
        victim_user = await user_id_of(victim, client)
        tokens = await client.get(f"/api/v1/users/{victim_user}/tokens", headers=bearer(victim))
        url = path.format(victim_user=victim_user, victim_token=tokens.json()["items"][0]["id"])
        response = await client.request(method, url, headers=bearer(intruder), json=body)
    assert response.status_code == 404, response.text


async def test_audit_events_of_another_member_are_not_listed() -> None:
    await token("HZD", "buyer")
    intruder = await token("EKOM21", "accountant")
    async with running_app() as client:
        response = await client.get("/api/v1/audit-events?limit=200", headers=bearer(intruder))
    members = {item["member"] for item in response.json()["items"]}
    assert members == {"EKOM21"}


# (method, path suffix, body): another member's provider acting on a draft offer of HZD.
FOREIGN_OFFER = [
    ("GET", "", None),
    ("GET", "/versions", None),
    ("PATCH", "", {"title": "Übernommen"}),
    ("POST", "/publish", None),
    ("POST", "/pause", None),
    ("POST", "/retire", None),
]


@pytest.mark.parametrize(
    ("method", "suffix", "body"), FOREIGN_OFFER, ids=[f"{m} offer{p}" for m, p, _ in FOREIGN_OFFER]
)
async def test_another_members_provider_gets_404_for_an_offer(method: str, suffix: str, body: dict | None) -> None:
    from marketplace.catalogue import services as catalogue

    await catalogue.ensure_default_categories()
    victim = await token("HZD", "provider")
    intruder = await token("EKOM21", "provider")
    offer = {
        "title": "Lizenzmanagement",
        "description": "Bestandsführung.",
        "category": "licence_management",
        "unit": "Lizenz-Jahr",
        "unit_price": "14.00",
        "pricing": "one_off",
        "tax_treatment": "exempt_public_cooperation",
    }
    async with running_app() as client:
        created = await client.post("/api/v1/offers", headers=bearer(victim), json=offer)
        url = f"/api/v1/offers/{created.json()['id']}{suffix}"
        response = await client.request(method, url, headers=bearer(intruder), json=body)
    assert response.status_code == 404, response.text
