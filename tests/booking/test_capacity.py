"""Capacity: running agreements never add up to more than the offer's capacity, also when accepts race."""

from __future__ import annotations

import asyncio

import pytest

from marketplace.booking.tables import Agreement, ServiceRequest
from marketplace.db import engine
from tests.booking.helpers import Parties, published_offer, submitted_request
from tests.builders import bearer, running_app, token
from tests.conftest import ON_POSTGRES


async def test_an_accept_beyond_capacity_answers_409_and_leaves_the_request_submitted() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider, capacity=5)
        first = await submitted_request(client, parties.buyer, offer_id, quantity=4)
        second = await submitted_request(client, parties.buyer, offer_id, quantity=2)
        await client.post(f"/api/v1/requests/{first['id']}/accept", headers=bearer(parties.provider))
        refused = await client.post(f"/api/v1/requests/{second['id']}/accept", headers=bearer(parties.provider))
        reread = await client.get(f"/api/v1/requests/{second['id']}", headers=bearer(parties.buyer))
    assert refused.status_code == 409
    assert "capacity" in refused.json()["detail"]
    assert reread.json()["status"] == "submitted"


async def test_an_import_beyond_capacity_answers_409_without_a_request_state() -> None:
    parties = await Parties.make()
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider, capacity=2)
        refused = await client.post(
            "/api/v1/agreements",
            headers=bearer(admin),
            json={
                "offer_id": offer_id,
                "provider": "KDZ-MZ",
                "consumer": "HZD",
                "quantity": 3,
                "start_date": "2024-01-01",
            },
        )
    assert refused.status_code == 409
    assert "capacity" in refused.json()["detail"]
    # An imported agreement has no request whose state the problem could name.
    assert "state" not in refused.json()
    assert await Agreement.count() == 0


async def test_concurrent_accepts_never_exceed_capacity() -> None:
    racers, capacity = (50, 10) if ON_POSTGRES else (12, 4)
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider, capacity=capacity)
        requests = [await submitted_request(client, parties.buyer, offer_id) for _ in range(racers)]
        responses = await asyncio.gather(
            *(
                client.post(f"/api/v1/requests/{request['id']}/accept", headers=bearer(parties.provider))
                for request in requests
            )
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * capacity + [409] * (racers - capacity)
    assert await Agreement.count() == capacity
    assert await ServiceRequest.count().where(ServiceRequest.status == "submitted") == racers - capacity
    references = sorted(response.json()["reference"] for response in responses if response.status_code == 201)
    assert [int(reference[-6:]) for reference in references] == list(range(1, capacity + 1))


async def test_the_database_refuses_an_agreement_beyond_capacity() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider, capacity=1)
        request = await submitted_request(client, parties.buyer, offer_id)
        accepted = await client.post(f"/api/v1/requests/{request['id']}/accept", headers=bearer(parties.provider))
    assert accepted.status_code == 201
    row = await Agreement.select().first()
    assert row is not None
    # Bypass the service: insert a second agreement directly.
    with pytest.raises(Exception, match="capacity"):
        await engine().run_ddl(
            "INSERT INTO agreements (id, reference, request, offer, offer_version, provider, consumer, quantity, "
            "start_date, status, imported, created_at, version) "
            f"SELECT '6f9619ff-8b86-d011-b42d-00c04fc964ff', 'AGR-2099-000001', NULL, offer, offer_version, "
            f"provider, consumer, 1, start_date, 'active', {'TRUE' if ON_POSTGRES else '1'}, created_at, 1 "
            f"FROM agreements WHERE id = '{row['id']}'"
        )
