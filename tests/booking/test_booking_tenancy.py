"""Tenancy of booking: another member gets 404 on every request and agreement endpoint; lists hide foreign rows."""

from __future__ import annotations

import pytest

from tests.booking.helpers import Parties, agreement, published_offer, submitted_request
from tests.builders import bearer, running_app, token

FOREIGN = [
    ("GET", "/api/v1/requests/{request}", None, "buyer"),
    ("POST", "/api/v1/requests/{request}/withdraw", None, "buyer"),
    ("POST", "/api/v1/requests/{request}/accept", None, "provider"),
    ("POST", "/api/v1/requests/{request}/decline", {"reason": "nein"}, "provider"),
    ("GET", "/api/v1/agreements/{agreement}", None, "buyer"),
    ("POST", "/api/v1/agreements/{agreement}/terminate", None, "buyer"),
    ("GET", "/api/v1/agreements/{agreement}/usage", None, "accountant"),
    ("POST", "/api/v1/agreements/{agreement}/usage", {"period": "2025-01", "quantity": "1"}, "provider"),
]


@pytest.mark.parametrize(("method", "path", "body", "role"), FOREIGN, ids=[f"{m} {p}" for m, p, _, _ in FOREIGN])
async def test_another_member_gets_404(method: str, path: str, body: dict | None, role: str) -> None:
    parties = await Parties.make()
    intruder = await token("EKOM21", role)
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        made = await agreement(client, parties, offer_id)
        open_request = await submitted_request(client, parties.buyer, offer_id)
        url = path.format(request=open_request["id"], agreement=made["id"])
        response = await client.request(method, url, headers=bearer(intruder), json=body)
    assert response.status_code == 404, response.text


async def test_lists_never_show_another_members_requests_or_agreements() -> None:
    parties = await Parties.make()
    intruder = await token("EKOM21", "buyer")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        await agreement(client, parties, offer_id)
        await submitted_request(client, parties.buyer, offer_id)
        requests = await client.get("/api/v1/requests", headers=bearer(intruder))
        agreements = await client.get("/api/v1/agreements", headers=bearer(intruder))
    assert requests.json()["items"] == []
    assert agreements.json()["items"] == []


async def test_the_cooperatives_auditor_sees_every_agreement() -> None:
    parties = await Parties.make()
    auditor = await token("KOPIT", "auditor")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        made = await agreement(client, parties, offer_id)
        listed = await client.get("/api/v1/agreements", headers=bearer(auditor))
    assert [item["id"] for item in listed.json()["items"]] == [made["id"]]
