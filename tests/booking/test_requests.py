"""Requests: submit, withdraw, decline, accept, expire (domain.md life cycle)."""

from __future__ import annotations

from datetime import timedelta

from marketplace.booking.services import expire_due_requests
from marketplace.booking.tables import ServiceRequest
from marketplace.clock import now, today
from marketplace.events.tables import OutboxEvent
from tests.booking.helpers import Parties, next_month_start, published_offer, submitted_request
from tests.builders import bearer, running_app, token


async def test_a_buyer_requests_a_published_offer() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id, quantity=3, message="Bitte ab Januar")
    assert request["status"] == "submitted"
    assert request["consumer"] == "HZD"
    assert request["provider"] == "KDZ-MZ"
    assert request["terms"]["unit_price"] == "40.00"


async def test_submitting_tells_the_provider_by_an_event() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id)
    types = await OutboxEvent.select(OutboxEvent.type).where(OutboxEvent.subject_id == request["id"])
    assert {row["type"] for row in types} == {"request.submitted"}


async def test_a_member_cannot_request_its_own_offer() -> None:
    parties = await Parties.make()
    own_buyer = await token("KDZ-MZ", "buyer")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        response = await client.post(
            "/api/v1/requests",
            headers=bearer(own_buyer),
            json={"offer_id": offer_id, "quantity": 1, "start_date": next_month_start().isoformat()},
        )
    assert response.status_code == 409


async def test_a_start_in_the_past_is_refused() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        response = await client.post(
            "/api/v1/requests",
            headers=bearer(parties.buyer),
            json={"offer_id": offer_id, "quantity": 1, "start_date": (today() - timedelta(days=1)).isoformat()},
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "start_date"


async def test_an_end_within_the_minimum_term_is_refused() -> None:
    parties = await Parties.make()
    start = next_month_start()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider, min_term_months=12)
        response = await client.post(
            "/api/v1/requests",
            headers=bearer(parties.buyer),
            json={
                "offer_id": offer_id,
                "quantity": 1,
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=100)).isoformat(),
            },
        )
    assert response.status_code == 422
    assert "minimum term" in response.json()["detail"]


async def test_a_quantity_of_zero_is_refused() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        response = await client.post(
            "/api/v1/requests",
            headers=bearer(parties.buyer),
            json={"offer_id": offer_id, "quantity": 0, "start_date": next_month_start().isoformat()},
        )
    assert response.status_code == 422


async def test_a_paused_offer_cannot_be_requested() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        await client.post(f"/api/v1/offers/{offer_id}/pause", headers=bearer(parties.provider))
        response = await client.post(
            "/api/v1/requests",
            headers=bearer(parties.buyer),
            json={"offer_id": offer_id, "quantity": 1, "start_date": next_month_start().isoformat()},
        )
    assert response.status_code == 409
    assert response.json()["state"] == "paused"


async def test_the_buyer_withdraws_an_unanswered_request() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id)
        withdrawn = await client.post(f"/api/v1/requests/{request['id']}/withdraw", headers=bearer(parties.buyer))
        again = await client.post(f"/api/v1/requests/{request['id']}/withdraw", headers=bearer(parties.buyer))
    assert withdrawn.json()["status"] == "withdrawn"
    assert again.status_code == 409
    assert again.json()["state"] == "withdrawn"


async def test_the_provider_declines_with_a_reason() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id)
        declined = await client.post(
            f"/api/v1/requests/{request['id']}/decline",
            headers=bearer(parties.provider),
            json={"reason": "Kapazität erst ab Q3"},
        )
    assert declined.json()["status"] == "declined"
    assert declined.json()["decline_reason"] == "Kapazität erst ab Q3"


async def test_declining_needs_a_reason() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id)
        response = await client.post(
            f"/api/v1/requests/{request['id']}/decline", headers=bearer(parties.provider), json={}
        )
    assert response.status_code == 422


async def test_accepting_makes_an_agreement_with_a_reference() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id, quantity=2)
        accepted = await client.post(f"/api/v1/requests/{request['id']}/accept", headers=bearer(parties.provider))
        reread = await client.get(f"/api/v1/requests/{request['id']}", headers=bearer(parties.buyer))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["reference"] == f"AGR-{today().year}-000001"
    assert accepted.json()["quantity"] == 2
    assert reread.json()["status"] == "accepted"
    assert reread.json()["agreement_reference"] == accepted.json()["reference"]


async def test_an_answered_request_cannot_be_accepted_again() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id)
        await client.post(f"/api/v1/requests/{request['id']}/accept", headers=bearer(parties.provider))
        again = await client.post(f"/api/v1/requests/{request['id']}/accept", headers=bearer(parties.provider))
    assert again.status_code == 409
    assert again.json()["state"] == "accepted"


async def test_an_unanswered_request_expires_when_read_after_its_deadline() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id)
        await ServiceRequest.raw("UPDATE requests SET expires_at = {}", now() - timedelta(seconds=1))
        reread = await client.get(f"/api/v1/requests/{request['id']}", headers=bearer(parties.buyer))
        accept = await client.post(f"/api/v1/requests/{request['id']}/accept", headers=bearer(parties.provider))
    assert reread.json()["status"] == "expired"
    assert accept.status_code == 409


async def test_the_periodic_task_expires_unanswered_requests() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        await submitted_request(client, parties.buyer, offer_id)
    await ServiceRequest.raw("UPDATE requests SET expires_at = {}", now() - timedelta(seconds=1))
    assert await expire_due_requests() == 1
    assert await ServiceRequest.count().where(ServiceRequest.status == "expired") == 1


async def test_lists_show_requests_by_side() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        await submitted_request(client, parties.buyer, offer_id)
        as_buyer = await client.get("/api/v1/requests?side=buyer", headers=bearer(parties.buyer))
        as_provider = await client.get("/api/v1/requests?side=provider", headers=bearer(parties.provider))
        provider_as_buyer = await client.get("/api/v1/requests?side=buyer", headers=bearer(parties.provider))
    assert len(as_buyer.json()["items"]) == 1
    assert len(as_provider.json()["items"]) == 1
    assert provider_as_buyer.json()["items"] == []


async def test_accepting_tells_each_party_once_with_the_agreement_reference() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        request = await submitted_request(client, parties.buyer, offer_id)
        accepted = await client.post(f"/api/v1/requests/{request['id']}/accept", headers=bearer(parties.provider))
    rows = await OutboxEvent.select(OutboxEvent.member, OutboxEvent.payload).where(
        (OutboxEvent.subject_id == request["id"]) & (OutboxEvent.type == "request.accepted")
    )
    assert len(rows) == 2
    assert {row["member"] for row in rows} == {
        (await _member_id("HZD")),
        (await _member_id("KDZ-MZ")),
    }
    assert all(accepted.json()["reference"] in str(row["payload"]) for row in rows)


async def _member_id(code: str) -> object:
    from marketplace.members.tables import Member

    row = await Member.select(Member.id).where(Member.code == code).first()
    assert row is not None
    return row["id"]
