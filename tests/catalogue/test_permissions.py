"""Who may change offers (provider of that member) and who sees drafts (its users and the cooperative)."""

from __future__ import annotations

import pytest

from tests.builders import bearer, running_app, token
from tests.catalogue.helpers import create_offer, offer_body


async def test_a_buyer_cannot_create_or_change_offers() -> None:
    provider = await token("KDZ-MZ", "provider")
    own_buyer = await token("KDZ-MZ", "buyer")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        created = await client.post("/api/v1/offers", headers=bearer(own_buyer), json=offer_body())
        patched = await client.patch(f"/api/v1/offers/{offer['id']}", headers=bearer(own_buyer), json={"title": "X"})
        paused = await client.post(f"/api/v1/offers/{offer['id']}/pause", headers=bearer(own_buyer))
    assert (created.status_code, patched.status_code, paused.status_code) == (403, 403, 403)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"title": "Übernommen"}),
        ("POST", "/publish", None),
        ("POST", "/pause", None),
        ("POST", "/retire", None),
    ],
)
async def test_another_members_provider_gets_404(method: str, suffix: str, body: dict | None) -> None:
    provider = await token("KDZ-MZ", "provider")
    intruder = await token("EKOM21", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=suffix != "/publish")
        response = await client.request(
            method, f"/api/v1/offers/{offer['id']}{suffix}", headers=bearer(intruder), json=body
        )
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("member", "role", "sees"),
    [
        ("KDZ-MZ", "provider", True),
        ("KDZ-MZ", "buyer", True),
        ("HZD", "buyer", False),
        ("EKOM21", "provider", False),
        ("KOPIT", "coop_admin", True),
        ("KOPIT", "auditor", True),
    ],
)
async def test_a_draft_is_visible_only_to_its_members_users_and_the_cooperative(
    member: str, role: str, sees: bool
) -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token(member, role)
    async with running_app() as client:
        offer = await create_offer(client, provider)
        detail = await client.get(f"/api/v1/offers/{offer['id']}", headers=bearer(reader))
        versions = await client.get(f"/api/v1/offers/{offer['id']}/versions", headers=bearer(reader))
        listed = await client.get("/api/v1/offers", headers=bearer(reader))
    expected = 200 if sees else 404
    assert (detail.status_code, versions.status_code) == (expected, expected)
    assert listed.json()["items"] == []  # the catalogue lists published offers only


async def test_the_cooperatives_admin_adds_a_category_and_others_cannot() -> None:
    admin = await token("KOPIT", "coop_admin")
    provider = await token("KDZ-MZ", "provider")
    category = {"code": "telefonie", "label_de": "Telefonie", "label_en": "Telephony"}
    async with running_app() as client:
        refused = await client.post("/api/v1/categories", headers=bearer(provider), json=category)
        created = await client.post("/api/v1/categories", headers=bearer(admin), json=category)
        duplicate = await client.post("/api/v1/categories", headers=bearer(admin), json=category)
        listed = await client.get("/api/v1/categories?limit=200", headers=bearer(provider))
        used = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body(category="telefonie"))
    assert (refused.status_code, created.status_code, duplicate.status_code) == (403, 201, 409)
    codes = [item["code"] for item in listed.json()["items"]]
    assert codes == sorted(codes)
    assert {"hosting", "licence_management", "training", "security", "telefonie"} <= set(codes)
    assert used.status_code == 201


async def test_the_starting_categories_have_german_and_english_labels() -> None:
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        listed = await client.get("/api/v1/categories", headers=bearer(reader))
    labels = {item["code"]: (item["label_de"], item["label_en"]) for item in listed.json()["items"]}
    assert labels["licence_management"] == ("Lizenzmanagement", "Licence management")
    assert labels["application_operation"] == ("Fachverfahrensbetrieb", "Application operation")
    assert len(labels) == 8
