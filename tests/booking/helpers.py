"""Builders for booking tests: a published offer, a request, an agreement, through the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from marketplace.clock import today
from tests.builders import bearer, member, token


class Parties:
    """A provider (KDZ-MZ) and a buyer (HZD) with their tokens."""

    provider: str
    buyer: str

    @classmethod
    async def make(cls) -> Parties:
        parties = cls()
        await member("KOPIT")
        parties.provider = await token("KDZ-MZ", "provider")
        parties.buyer = await token("HZD", "buyer")
        return parties


def next_month_start() -> date:
    """The first day of next month: a start date that is always in the future."""
    first = today().replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


async def published_offer(client: httpx.AsyncClient, provider_token: str, **terms: Any) -> str:
    """Create and publish an offer; its id."""
    body = {
        "title": "Rechenzentrums-Hosting virtueller Server",
        "description": "Betrieb virtueller Server im Rechenzentrum Mainz, georedundant.",
        "category": "hosting",
        "unit": "VM-Monat",
        "unit_price": "40.00",
        "pricing": "recurring",
        "tax_treatment": "exempt_public_cooperation",
        "capacity": 10,
        "min_term_months": 0,
        "notice_months": 1,
    }
    body.update(terms)
    body = {key: value for key, value in body.items() if value is not None}
    created = await client.post("/api/v1/offers", headers=bearer(provider_token), json=body)
    assert created.status_code == 201, created.text
    offer_id = created.json()["id"]
    published = await client.post(f"/api/v1/offers/{offer_id}/publish", headers=bearer(provider_token))
    assert published.status_code == 200, published.text
    return str(offer_id)


async def submitted_request(
    client: httpx.AsyncClient, buyer_token: str, offer_id: str, quantity: int = 1, **fields: Any
) -> dict[str, Any]:
    """Submit a request; its JSON."""
    body: dict[str, Any] = {"offer_id": offer_id, "quantity": quantity, "start_date": next_month_start().isoformat()}
    body.update(fields)
    response = await client.post("/api/v1/requests", headers=bearer(buyer_token), json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def agreement(
    client: httpx.AsyncClient, parties: Parties, offer_id: str, quantity: int = 1, **fields: Any
) -> dict[str, Any]:
    """Submit and accept a request; the agreement's JSON."""
    submitted = await submitted_request(client, parties.buyer, offer_id, quantity, **fields)
    accepted = await client.post(f"/api/v1/requests/{submitted['id']}/accept", headers=bearer(parties.provider))
    assert accepted.status_code == 201, accepted.text
    return dict(accepted.json())
