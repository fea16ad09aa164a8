"""Metered usage: reported by the provider per agreement and month, corrected while unsettled, audited."""

from __future__ import annotations

from marketplace.audit.tables import AuditEvent
from marketplace.booking.calendar import period_of
from tests.booking.helpers import Parties, published_offer
from tests.builders import bearer, running_app, token


async def _metered_agreement(client, parties: Parties) -> dict:  # type: ignore[no-untyped-def]
    admin = await token("KOPIT", "coop_admin")
    offer_id = await published_offer(client, parties.provider, pricing="metered", unit="TB-Monat", capacity=None)
    response = await client.post(
        "/api/v1/agreements",
        headers=bearer(admin),
        json={"offer_id": offer_id, "provider": "KDZ-MZ", "consumer": "HZD", "quantity": 1, "start_date": "2025-01-01"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_provider_reports_a_month() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        made = await _metered_agreement(client, parties)
        response = await client.post(
            f"/api/v1/agreements/{made['id']}/usage",
            headers=bearer(parties.provider),
            json={"period": "2025-03", "quantity": "12.5"},
        )
    assert response.status_code == 201, response.text
    assert response.json()["quantity"] == "12.500"


async def test_a_correction_replaces_the_month_and_is_audited() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        made = await _metered_agreement(client, parties)
        url = f"/api/v1/agreements/{made['id']}/usage"
        await client.post(url, headers=bearer(parties.provider), json={"period": "2025-03", "quantity": "12.5"})
        corrected = await client.post(
            url, headers=bearer(parties.provider), json={"period": "2025-03", "quantity": "11"}
        )
        listed = await client.get(url, headers=bearer(parties.buyer))
    assert corrected.status_code == 200
    assert [item["quantity"] for item in listed.json()["items"]] == ["11.000"]
    assert await AuditEvent.count().where(AuditEvent.action == "usage.corrected") == 1


async def test_usage_for_a_future_month_is_refused() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        made = await _metered_agreement(client, parties)
        response = await client.post(
            f"/api/v1/agreements/{made['id']}/usage",
            headers=bearer(parties.provider),
            json={"period": "2099-01", "quantity": "1"},
        )
    assert response.status_code == 422


async def test_usage_of_a_recurring_agreement_is_refused() -> None:
    parties = await Parties.make()
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        made = (
            await client.post(
                "/api/v1/agreements",
                headers=bearer(admin),
                json={
                    "offer_id": offer_id,
                    "provider": "KDZ-MZ",
                    "consumer": "HZD",
                    "quantity": 1,
                    "start_date": "2025-01-01",
                },
            )
        ).json()
        response = await client.post(
            f"/api/v1/agreements/{made['id']}/usage",
            headers=bearer(parties.provider),
            json={"period": period_of(__import__("datetime").date(2025, 2, 1)), "quantity": "1"},
        )
    assert response.status_code == 409


async def test_the_consumer_cannot_report_usage() -> None:
    parties = await Parties.make()
    consumer_provider = await token("HZD", "provider")
    async with running_app() as client:
        made = await _metered_agreement(client, parties)
        response = await client.post(
            f"/api/v1/agreements/{made['id']}/usage",
            headers=bearer(consumer_provider),
            json={"period": "2025-03", "quantity": "1"},
        )
    assert response.status_code == 404
