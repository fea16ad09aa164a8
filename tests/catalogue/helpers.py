"""Builders for catalogue test data: offers through the API, with sensible defaults."""

from __future__ import annotations

from typing import Any

import httpx

from tests.builders import bearer


def offer_body(**fields: Any) -> dict[str, Any]:
    """A valid ``POST /offers`` body."""
    body: dict[str, Any] = {
        "title": "Rechenzentrums-Hosting: virtuelle Server",
        "description": "Virtuelle Server im kommunalen Rechenzentrum.",
        "category": "hosting",
        "unit": "VM-Monat",
        "unit_price": "89.00",
        "pricing": "recurring",
        "tax_treatment": "exempt_public_cooperation",
    }
    body.update(fields)
    return body


async def create_offer(client: httpx.AsyncClient, provider: str, *, publish: bool = False, **fields: Any) -> dict:
    """Create an offer as ``provider`` (a token) and optionally publish it; the offer as answered."""
    response = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body(**fields))
    assert response.status_code == 201, response.text
    offer = response.json()
    if publish:
        published = await client.post(f"/api/v1/offers/{offer['id']}/publish", headers=bearer(provider))
        assert published.status_code == 200, published.text
        offer = published.json()
    return offer


async def titles(client: httpx.AsyncClient, reader: str, query: str = "") -> list[str]:
    """The titles ``GET /offers?{query}`` answers, in order (first page of up to 200)."""
    separator = "&" if query else ""
    response = await client.get(f"/api/v1/offers?{query}{separator}limit=200", headers=bearer(reader))
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]
