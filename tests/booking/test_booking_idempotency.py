"""Idempotency-Key on booking: concurrent duplicates of a submit produce one request."""

from __future__ import annotations

import asyncio

from marketplace.booking.tables import ServiceRequest
from tests.booking.helpers import Parties, next_month_start, published_offer
from tests.builders import bearer, running_app


async def test_twenty_concurrent_submits_with_one_key_make_one_request() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        body = {"offer_id": offer_id, "quantity": 1, "start_date": next_month_start().isoformat()}
        headers = {**bearer(parties.buyer), "Idempotency-Key": "submit-once"}
        responses = await asyncio.gather(
            *(client.post("/api/v1/requests", headers=headers, json=body) for _ in range(20))
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await ServiceRequest.count() == 1


async def test_a_retried_accept_with_its_key_returns_the_same_agreement() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        body = {"offer_id": offer_id, "quantity": 1, "start_date": next_month_start().isoformat()}
        request = (await client.post("/api/v1/requests", headers=bearer(parties.buyer), json=body)).json()
        headers = {**bearer(parties.provider), "Idempotency-Key": "accept-once"}
        first = await client.post(f"/api/v1/requests/{request['id']}/accept", headers=headers)
        retry = await client.post(f"/api/v1/requests/{request['id']}/accept", headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json()["reference"] == first.json()["reference"]
