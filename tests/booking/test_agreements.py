"""Agreements: gapless references, termination by notice, the version kept, imported agreements, expiry."""

from __future__ import annotations

from datetime import timedelta

from marketplace.booking.calendar import add_months, month_end
from marketplace.booking.services import expire_ended_agreements
from marketplace.booking.tables import Agreement
from marketplace.clock import today
from tests.booking.helpers import Parties, agreement, next_month_start, published_offer
from tests.builders import bearer, running_app, token


async def test_references_are_numbered_without_gaps() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        references = [(await agreement(client, parties, offer_id))["reference"] for _ in range(3)]
    year = today().year
    assert references == [f"AGR-{year}-000001", f"AGR-{year}-000002", f"AGR-{year}-000003"]


async def test_terminating_without_a_date_ends_at_the_earliest_month_end_the_notice_allows() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider, notice_months=3)
        made = await agreement(client, parties, offer_id)
        terminated = await client.post(
            f"/api/v1/agreements/{made['id']}/terminate", headers=bearer(parties.buyer), json={}
        )
    expected = max(month_end(add_months(today(), 3)), month_end(next_month_start()))
    assert terminated.status_code == 200, terminated.text
    assert terminated.json()["status"] == "terminated"
    assert terminated.json()["end_date"] == expected.isoformat()


async def test_an_end_before_the_notice_period_is_refused() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider, notice_months=6)
        made = await agreement(client, parties, offer_id)
        response = await client.post(
            f"/api/v1/agreements/{made['id']}/terminate",
            headers=bearer(parties.buyer),
            json={"effective_date": month_end(add_months(today(), 1)).isoformat()},
        )
    assert response.status_code == 422
    assert "notice period" in response.json()["detail"]


async def test_an_end_that_is_not_a_month_end_is_refused() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        made = await agreement(client, parties, offer_id)
        day = month_end(add_months(today(), 4)) - timedelta(days=3)
        response = await client.post(
            f"/api/v1/agreements/{made['id']}/terminate",
            headers=bearer(parties.provider),
            json={"effective_date": day.isoformat()},
        )
    assert response.status_code == 422


async def test_a_terminated_agreement_cannot_be_terminated_again() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        made = await agreement(client, parties, offer_id)
        await client.post(f"/api/v1/agreements/{made['id']}/terminate", headers=bearer(parties.buyer))
        again = await client.post(f"/api/v1/agreements/{made['id']}/terminate", headers=bearer(parties.provider))
    assert again.status_code == 409
    assert again.json()["state"] == "terminated"


async def test_an_accountant_cannot_terminate() -> None:
    parties = await Parties.make()
    accountant = await token("HZD", "accountant")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        made = await agreement(client, parties, offer_id)
        response = await client.post(f"/api/v1/agreements/{made['id']}/terminate", headers=bearer(accountant))
    assert response.status_code == 403


async def test_a_price_change_leaves_the_agreement_on_its_version() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider, unit_price="40.00")
        made = await agreement(client, parties, offer_id)
        changed = await client.patch(
            f"/api/v1/offers/{offer_id}", headers=bearer(parties.provider), json={"unit_price": "55.00"}
        )
        reread = await client.get(f"/api/v1/agreements/{made['id']}", headers=bearer(parties.buyer))
    assert changed.status_code == 200, changed.text
    assert reread.json()["terms"]["unit_price"] == "40.00"
    assert reread.json()["terms"]["version"] == 1


async def test_coop_admin_records_an_agreement_from_before_the_exchange() -> None:
    parties = await Parties.make()
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        response = await client.post(
            "/api/v1/agreements",
            headers=bearer(admin),
            json={
                "offer_id": offer_id,
                "provider": "KDZ-MZ",
                "consumer": "HZD",
                "quantity": 4,
                "start_date": "2024-01-01",
            },
        )
        seen_by_buyer = await client.get(f"/api/v1/agreements/{response.json()['id']}", headers=bearer(parties.buyer))
    assert response.status_code == 201, response.text
    assert response.json()["imported"] is True
    assert response.json()["start_date"] == "2024-01-01"
    assert seen_by_buyer.status_code == 200


async def test_an_imported_agreement_needs_the_offers_own_provider() -> None:
    parties = await Parties.make()
    admin = await token("KOPIT", "coop_admin")
    await token("EKOM21", "buyer")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        response = await client.post(
            "/api/v1/agreements",
            headers=bearer(admin),
            json={
                "offer_id": offer_id,
                "provider": "EKOM21",
                "consumer": "HZD",
                "quantity": 1,
                "start_date": "2024-01-01",
            },
        )
    assert response.status_code == 422


async def test_only_coop_admin_records_existing_agreements() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        response = await client.post(
            "/api/v1/agreements",
            headers=bearer(parties.buyer),
            json={
                "offer_id": offer_id,
                "provider": "KDZ-MZ",
                "consumer": "HZD",
                "quantity": 1,
                "start_date": "2024-01-01",
            },
        )
    assert response.status_code == 403


async def test_an_agreement_past_its_end_date_is_expired() -> None:
    parties = await Parties.make()
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        await client.post(
            "/api/v1/agreements",
            headers=bearer(admin),
            json={
                "offer_id": offer_id,
                "provider": "KDZ-MZ",
                "consumer": "HZD",
                "quantity": 1,
                "start_date": "2024-01-01",
                "end_date": "2024-12-31",
            },
        )
    assert await expire_ended_agreements() == 1
    rows = await Agreement.select(Agreement.status)
    assert [row["status"] for row in rows] == ["expired"]


async def test_the_cli_records_an_existing_agreement() -> None:
    from tests.test_cli import run_cli

    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
    code, stdout, stderr = await run_cli(
        "agreement", "import", "--offer", offer_id, "--provider", "KDZ-MZ", "--consumer", "HZD",
        "--quantity", "2", "--start", "2024-03-01",
    )  # fmt: skip
    assert code == 0, stderr
    assert f"AGR-{today().year}-000001" in stdout
    row = await Agreement.select(Agreement.imported, Agreement.start_date).first()
    assert row is not None
    assert row["imported"] is True


async def test_the_cli_refuses_an_import_for_the_wrong_provider() -> None:
    from tests.test_cli import run_cli

    parties = await Parties.make()
    await token("EKOM21", "buyer")
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
    code, _, stderr = await run_cli(
        "agreement", "import", "--offer", offer_id, "--provider", "EKOM21", "--consumer", "HZD",
        "--quantity", "1", "--start", "2024-03-01",
    )  # fmt: skip
    assert code == 1
    assert "provider" in stderr
    assert "Traceback" not in stderr


async def test_agreements_page_newest_first_with_a_cursor() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = await published_offer(client, parties.provider)
        made = [(await agreement(client, parties, offer_id))["reference"] for _ in range(3)]
        first = await client.get("/api/v1/agreements?limit=2", headers=bearer(parties.buyer))
        second = await client.get(
            f"/api/v1/agreements?limit=2&cursor={first.json()['next_cursor']}", headers=bearer(parties.buyer)
        )
    seen = [item["reference"] for item in first.json()["items"] + second.json()["items"]]
    assert seen == list(reversed(made))
    assert second.json()["next_cursor"] is None
