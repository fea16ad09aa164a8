"""Offers: created as drafts, published, paused, retired; every other transition answers 409 with the state."""

from __future__ import annotations

import pytest

from tests.builders import bearer, running_app, token
from tests.catalogue.helpers import create_offer, offer_body, titles


async def test_a_provider_creates_a_draft_with_version_1_and_an_etag() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        response = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body(capacity=400))
    assert response.status_code == 201, response.text
    offer = response.json()
    assert response.headers["ETag"] == '"1"'
    assert offer["status"] == "draft"
    assert offer["provider"] == "KDZ-MZ"
    assert offer["version"] == 1
    assert offer["published_at"] is None
    version = offer["current_version"]
    assert version["number"] == 1
    assert version["unit_price"] == "89.00"
    assert version["currency"] == "EUR"
    assert version["capacity"] == 400
    assert version["min_term_months"] == 0
    assert version["sla"] is None


async def test_published_offers_are_listed_and_found_by_an_inflected_word() -> None:
    provider = await token("KDZ-MZ", "provider")
    buyer = await token("HZD", "buyer")
    async with running_app() as client:
        draft = await create_offer(client, provider, title="Schulungen zur E-Akte")
        assert await titles(client, buyer) == []
        published = await client.post(f"/api/v1/offers/{draft['id']}/publish", headers=bearer(provider))
        assert published.status_code == 200
        assert published.json()["published_at"] is not None
        assert await titles(client, buyer, "q=Schulung") == ["Schulungen zur E-Akte"]


async def test_pause_takes_an_offer_out_of_the_catalogue_and_publish_brings_it_back() -> None:
    provider = await token("KDZ-MZ", "provider")
    buyer = await token("HZD", "buyer")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        paused = await client.post(f"/api/v1/offers/{offer['id']}/pause", headers=bearer(provider))
        assert paused.json()["status"] == "paused"
        assert await titles(client, buyer) == []
        hidden = await client.get(f"/api/v1/offers/{offer['id']}", headers=bearer(buyer))
        assert hidden.status_code == 404
        again = await client.post(f"/api/v1/offers/{offer['id']}/publish", headers=bearer(provider))
        assert again.json()["status"] == "published"
        assert again.json()["published_at"] == offer["published_at"]
        assert len(await titles(client, buyer)) == 1


@pytest.mark.parametrize(
    ("steps", "refused", "state"),
    [
        ([], "pause", "draft"),
        ([], "retire", "draft"),
        (["publish"], "publish", "published"),
        (["publish", "pause"], "pause", "paused"),
        (["publish", "retire"], "publish", "retired"),
        (["publish", "retire"], "pause", "retired"),
        (["publish", "retire"], "retire", "retired"),
    ],
)
async def test_a_transition_outside_the_map_answers_409_with_the_state(
    steps: list[str], refused: str, state: str
) -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider)
        for step in steps:
            assert (await client.post(f"/api/v1/offers/{offer['id']}/{step}", headers=bearer(provider))).is_success
        response = await client.post(f"/api/v1/offers/{offer['id']}/{refused}", headers=bearer(provider))
    assert response.status_code == 409, response.text
    assert response.json()["state"] == state


async def test_a_retired_offer_cannot_be_changed() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        await client.post(f"/api/v1/offers/{offer['id']}/retire", headers=bearer(provider))
        response = await client.patch(f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"title": "X"})
    assert response.status_code == 409
    assert response.json()["state"] == "retired"


async def test_a_stale_if_match_answers_412_and_a_current_one_passes() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider)
        url = f"/api/v1/offers/{offer['id']}"
        first = await client.patch(url, headers={**bearer(provider), "If-Match": '"1"'}, json={"title": "Neu"})
        assert first.status_code == 200
        assert first.headers["ETag"] == '"2"'
        stale = await client.patch(url, headers={**bearer(provider), "If-Match": '"1"'}, json={"title": "Alt"})
        assert stale.status_code == 412
        stale_publish = await client.post(f"{url}/publish", headers={**bearer(provider), "If-Match": '"1"'})
        assert stale_publish.status_code == 412
        current = await client.post(f"{url}/publish", headers={**bearer(provider), "If-Match": '"2"'})
        assert current.status_code == 200
        assert (await client.get(url, headers=bearer(provider))).headers["ETag"] == '"3"'


async def test_every_change_is_audited_with_the_providers_member() -> None:
    provider = await token("KDZ-MZ", "provider")
    auditor = await token("KOPIT", "auditor")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        await client.patch(f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"unit_price": "95.00"})
        await client.post(f"/api/v1/offers/{offer['id']}/pause", headers=bearer(provider), json={"reason": "Wartung"})
        events = await client.get(f"/api/v1/audit-events?subject={offer['id']}", headers=bearer(auditor))
    items = events.json()["items"]
    assert [item["action"] for item in items] == ["offer.created", "offer.published", "offer.updated", "offer.paused"]
    assert {item["member"] for item in items} == {"KDZ-MZ"}
    update = items[2]
    assert update["before"]["unit_price_cents"] == 8900
    assert update["after"]["unit_price_cents"] == 9500
    assert update["after"]["version_number"] == 2
    assert items[3]["reason"] == "Wartung"


async def test_a_refused_change_writes_no_audit_event() -> None:
    from marketplace.audit.tables import AuditEvent

    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        offer = await create_offer(client, provider)
        before = await AuditEvent.count()
        refused = await client.post(f"/api/v1/offers/{offer['id']}/pause", headers=bearer(provider))
    assert refused.status_code == 409
    assert await AuditEvent.count() == before


async def test_unknown_body_fields_are_refused() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        created = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body(status="published"))
        offer = await create_offer(client, provider)
        patched = await client.patch(f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"version": 7})
    assert created.status_code == 422
    assert patched.status_code == 422


async def test_an_unknown_category_answers_422() -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        response = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body(category="catering"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "category"


async def test_the_same_idempotency_key_creates_one_offer() -> None:
    provider = await token("KDZ-MZ", "provider")
    headers = {**bearer(provider), "Idempotency-Key": "angebot-1"}
    async with running_app() as client:
        first = await client.post("/api/v1/offers", headers=headers, json=offer_body())
        second = await client.post("/api/v1/offers", headers=headers, json=offer_body())
        versions = await client.get(f"/api/v1/offers/{first.json()['id']}/versions", headers=bearer(provider))
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(versions.json()["items"]) == 1
