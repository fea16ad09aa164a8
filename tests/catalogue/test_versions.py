"""Offer versions: term changes of a published offer make a new version; the old one stays readable."""

from __future__ import annotations

from uuid import UUID

import pytest

from marketplace.catalogue import services
from marketplace.catalogue.tables import OfferVersion
from marketplace.errors import NotFound
from tests.builders import bearer, running_app, token
from tests.catalogue.helpers import create_offer


async def test_a_price_change_of_a_published_offer_makes_version_2_and_keeps_version_1() -> None:
    provider = await token("KDZ-MZ", "provider")
    buyer = await token("HZD", "buyer")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        changed = await client.patch(
            f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"unit_price": "95.50", "notice_months": 6}
        )
        versions = await client.get(f"/api/v1/offers/{offer['id']}/versions", headers=bearer(buyer))
    assert changed.status_code == 200, changed.text
    current = changed.json()["current_version"]
    assert current["number"] == 2
    assert current["unit_price"] == "95.50"
    assert current["notice_months"] == 6
    assert current["unit"] == "VM-Monat"
    [first, second] = versions.json()["items"]
    assert (first["number"], first["unit_price"], first["notice_months"]) == (1, "89.00", 0)
    assert first["id"] == offer["current_version"]["id"]
    assert second == current
    old = await services.version_terms(UUID(first["id"]))
    assert str(old.unit_price) == "89.00"
    new = await services.offer_terms(UUID(offer["id"]))
    assert (new.version_number, str(new.unit_price), new.provider_code) == (2, "95.50", "KDZ-MZ")


async def test_a_capacity_given_as_null_becomes_unlimited_in_a_new_version() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True, capacity=5)
        kept = await client.patch(
            f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"unit_price": "95.50"}
        )
        cleared = await client.patch(f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"capacity": None})
    assert (kept.json()["current_version"]["number"], kept.json()["current_version"]["capacity"]) == (2, 5)
    assert (cleared.json()["current_version"]["number"], cleared.json()["current_version"]["capacity"]) == (3, None)


async def test_term_changes_of_a_draft_amend_version_1() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider)
        changed = await client.patch(
            f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"unit_price": "99.00", "sla": "99,9 %"}
        )
        versions = await client.get(f"/api/v1/offers/{offer['id']}/versions", headers=bearer(provider))
    assert changed.json()["current_version"]["number"] == 1
    assert changed.json()["current_version"]["id"] == offer["current_version"]["id"]
    assert [(v["number"], v["unit_price"], v["sla"]) for v in versions.json()["items"]] == [(1, "99.00", "99,9 %")]


async def test_text_edits_make_no_version() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        changed = await client.patch(
            f"/api/v1/offers/{offer['id']}",
            headers=bearer(provider),
            json={"title": "VM-Hosting", "description": "Neu beschrieben.", "category": "cloud"},
        )
        versions = await client.get(f"/api/v1/offers/{offer['id']}/versions", headers=bearer(provider))
    body = changed.json()
    assert (body["title"], body["category"], body["version"]) == ("VM-Hosting", "cloud", 3)
    assert body["current_version"]["number"] == 1
    assert len(versions.json()["items"]) == 1


async def test_sending_the_current_terms_again_changes_nothing() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        same = await client.patch(
            f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"unit_price": "89", "unit": "VM-Monat"}
        )
    assert same.json()["version"] == offer["version"]
    assert same.json()["current_version"]["number"] == 1


async def test_versions_page_with_a_cursor() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        for price in ("90.00", "91.00", "92.00"):
            await client.patch(f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"unit_price": price})
        url = f"/api/v1/offers/{offer['id']}/versions?limit=2"
        first = (await client.get(url, headers=bearer(provider))).json()
        second = (await client.get(f"{url}&cursor={first['next_cursor']}", headers=bearer(provider))).json()
    assert [v["number"] for v in first["items"] + second["items"]] == [1, 2, 3, 4]
    assert second["next_cursor"] is None


async def test_a_published_offers_versions_cannot_be_changed_or_deleted_in_the_database() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
    version_id = UUID(offer["current_version"]["id"])
    with pytest.raises(Exception, match="immutable"):
        await OfferVersion.update({OfferVersion.unit_price_cents: 1}).where(OfferVersion.id == version_id)
    with pytest.raises(Exception, match="immutable"):
        await OfferVersion.delete().where(OfferVersion.id == version_id)


async def test_terms_of_an_unknown_offer_or_version_are_not_found() -> None:
    missing = UUID("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        await services.offer_terms(missing)
    with pytest.raises(NotFound):
        await services.version_terms(missing)
