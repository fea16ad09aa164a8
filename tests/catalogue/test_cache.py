"""Catalogue answers are cached, and every change is visible in the very next read, in every instance."""

from __future__ import annotations

import pytest

from marketplace.app import create_app
from tests.builders import bearer, running_app, settings, token
from tests.catalogue.helpers import create_offer
from tests.conftest import TEST_REDIS_URL

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


async def test_reads_are_served_from_the_cache() -> None:
    from marketplace.catalogue.tables import Offer

    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    async with running_app(redis_url=None) as client:
        offer = await create_offer(client, provider, publish=True)
        url = f"/api/v1/offers/{offer['id']}"
        for _ in range(2):  # the first read after the change starts a generation, the second fills it
            first = await client.get("/api/v1/offers", headers=bearer(reader))
            detail = await client.get(url, headers=bearer(reader))
        # Behind the service's back (no invalidation): the cached answers stay.
        await Offer.update({Offer.title: "Geheim"}).where(Offer.id == offer["id"])
        again = await client.get("/api/v1/offers", headers=bearer(reader))
        detail_again = await client.get(url, headers=bearer(reader))
    assert first.json() == again.json()
    assert detail.json() == detail_again.json()
    assert detail_again.json()["title"] != "Geheim"


async def test_a_change_is_visible_in_the_very_next_read() -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        offer = await create_offer(client, provider, publish=True)
        url = f"/api/v1/offers/{offer['id']}"
        for _ in range(2):  # fill the cache
            await client.get("/api/v1/offers?q=Rechenzentrum", headers=bearer(reader))
            await client.get(url, headers=bearer(reader))
            await client.get(f"{url}/versions", headers=bearer(reader))
        await client.patch(url, headers=bearer(provider), json={"unit_price": "77.00", "title": "VM-Hosting"})
        listed = (await client.get("/api/v1/offers?q=Hosting", headers=bearer(reader))).json()["items"]
        detail = (await client.get(url, headers=bearer(reader))).json()
        versions = (await client.get(f"{url}/versions", headers=bearer(reader))).json()["items"]
        assert listed[0]["current_version"]["unit_price"] == "77.00"
        assert detail["title"] == "VM-Hosting"
        assert len(versions) == 2
        await client.post(f"{url}/pause", headers=bearer(provider))
        assert (await client.get(url, headers=bearer(reader))).status_code == 404
        assert (await client.get("/api/v1/offers?q=Hosting", headers=bearer(reader))).json()["items"] == []
        # The provider still sees its paused offer: visibility is checked on every read, cached or not.
        assert (await client.get(url, headers=bearer(provider))).json()["status"] == "paused"


async def test_a_cached_draft_is_not_shown_to_another_member() -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    async with running_app() as client:
        offer = await create_offer(client, provider)
        url = f"/api/v1/offers/{offer['id']}"
        assert (await client.get(url, headers=bearer(provider))).status_code == 200
        assert (await client.get(url, headers=bearer(provider))).status_code == 200
        assert (await client.get(url, headers=bearer(reader))).status_code == 404
        assert (await client.get(f"{url}/versions", headers=bearer(reader))).status_code == 404


async def test_answers_are_the_same_when_redis_is_down() -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    answers = []
    for redis_url in (None, UNREACHABLE_REDIS):
        async with running_app(redis_url=redis_url) as client:
            if redis_url is None:
                offer = await create_offer(client, provider, publish=True)
            else:
                await client.patch(
                    f"/api/v1/offers/{offer['id']}", headers=bearer(provider), json={"unit_price": "1.00"}
                )
            listed = (await client.get("/api/v1/offers", headers=bearer(reader))).json()
            again = (await client.get("/api/v1/offers", headers=bearer(reader))).json()
            assert listed == again
            answers.append(listed["items"][0]["current_version"]["unit_price"])
    assert answers == ["89.00", "1.00"]


@pytest.mark.redis
async def test_a_change_through_one_instance_is_visible_through_another_sharing_redis() -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    first = create_app(settings(redis_url=TEST_REDIS_URL))
    second = create_app(settings(redis_url=TEST_REDIS_URL))
    async with running_app(first) as a, running_app(second) as b:
        offer = await create_offer(a, provider, publish=True)
        url = f"/api/v1/offers/{offer['id']}"
        for client in (a, b, b):
            await client.get("/api/v1/offers", headers=bearer(reader))
            await client.get(url, headers=bearer(reader))
        changed = await a.patch(url, headers=bearer(provider), json={"unit_price": "12.34"})
        assert changed.status_code == 200
        listed = (await b.get("/api/v1/offers", headers=bearer(reader))).json()["items"]
        detail = (await b.get(url, headers=bearer(reader))).json()
        assert listed[0]["current_version"]["unit_price"] == "12.34"
        assert detail["current_version"]["unit_price"] == "12.34"
        await a.post(f"{url}/retire", headers=bearer(provider))
        assert (await b.get("/api/v1/offers", headers=bearer(reader))).json()["items"] == []


async def test_a_change_through_one_instance_is_visible_through_another_without_redis() -> None:
    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    first, second = create_app(settings(redis_url=None)), create_app(settings(redis_url=None))
    async with running_app(first) as a, running_app(second) as b:
        offer = await create_offer(a, provider, publish=True)
        url = f"/api/v1/offers/{offer['id']}"
        for _ in range(2):  # each instance caches in its own memory
            await b.get("/api/v1/offers", headers=bearer(reader))
            await b.get(url, headers=bearer(reader))
        changed = await a.patch(url, headers=bearer(provider), json={"unit_price": "12.34"})
        listed = (await b.get("/api/v1/offers", headers=bearer(reader))).json()["items"]
        detail = (await b.get(url, headers=bearer(reader))).json()
    assert changed.status_code == 200
    assert listed[0]["current_version"]["unit_price"] == "12.34"
    assert detail["current_version"]["unit_price"] == "12.34"


async def test_a_change_committed_by_another_process_needs_no_message_to_be_seen() -> None:
    """A change made without any app (the CLI, another process) moves the counter in its own transaction."""
    from decimal import Decimal

    from marketplace.auth import Actor
    from marketplace.catalogue import schemas, services
    from marketplace.members.tables import Member

    provider = await token("KDZ-MZ", "provider")
    reader = await token("HZD", "buyer")
    async with running_app(redis_url=None) as client:
        offer = await create_offer(client, provider, publish=True)
        for _ in range(2):
            await client.get("/api/v1/offers", headers=bearer(reader))
        kdz = await Member.select(Member.id).where(Member.code == "KDZ-MZ").first()
        assert kdz is not None
        await services.update_offer(
            offer["id"], schemas.OfferUpdate(unit_price=Decimal("5.00")), kdz["id"], Actor(label="cli"), if_match=None
        )
        listed = (await client.get("/api/v1/offers", headers=bearer(reader))).json()["items"]
    assert listed[0]["current_version"]["unit_price"] == "5.00"
