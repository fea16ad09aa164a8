"""Money is exact: decimal strings with at most two places in, two places out; never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.catalogue.services import from_cents, to_cents
from marketplace.errors import InvalidInput
from tests.builders import bearer, running_app, token
from tests.catalogue.helpers import offer_body


@pytest.mark.parametrize(
    ("given", "answered"),
    [("89", "89.00"), ("89.5", "89.50"), ("0.04", "0.04"), ("0", "0.00"), ("1234.50", "1234.50"), (0.1, "0.10")],
)
async def test_prices_are_answered_with_two_places(given: object, answered: str) -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        response = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body(unit_price=given))
    assert response.status_code == 201, response.text
    assert response.json()["current_version"]["unit_price"] == answered


@pytest.mark.parametrize("given", ["-1.00", "1.234", "0.001", "abc", "NaN", "Infinity", "1e20", "", None, True])
async def test_bad_prices_answer_422(given: object) -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        response = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body(unit_price=given))
        patched = None
        if given is not None:
            created = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body())
            patched = await client.patch(
                f"/api/v1/offers/{created.json()['id']}", headers=bearer(provider), json={"unit_price": given}
            )
    assert response.status_code == 422, response.text
    assert patched is None or patched.status_code == 422


@pytest.mark.parametrize(
    "field", [{"capacity": 0}, {"min_term_months": -1}, {"notice_months": 121}, {"pricing": "free"}]
)
async def test_bad_terms_answer_422(field: dict) -> None:
    provider = await token("KDZ-MZ", "provider")
    async with running_app() as client:
        response = await client.post("/api/v1/offers", headers=bearer(provider), json=offer_body(**field))
    assert response.status_code == 422


def test_cents_round_trip_exactly() -> None:
    assert to_cents(Decimal("0.10")) + to_cents(Decimal("0.20")) == 30
    assert from_cents(30) == Decimal("0.30")
    assert str(from_cents(123450)) == "1234.50"
    with pytest.raises(InvalidInput):
        to_cents(Decimal("0.005"))
