"""Anbieter: editing an offer (texts, terms, versions, stale forms), the versions page, usage reports and their
corrections until the month is settled; each page only for providers, and another member's things are the 404 page."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from marketplace.catalogue.tables import Offer, OfferVersion
from tests.builders import bearer, token
from tests.catalogue.helpers import create_offer
from tests.settlement.helpers import Exchange, agreement, offer, run_in_process, usage
from tests.web.helpers import post_form, sign_in, web_client, web_user

_VERSION = re.compile(r'name="version" value="(\d+)"')


def form_fields(offer: dict[str, Any], **changes: str) -> dict[str, str]:
    """The edit form as a browser sends it, filled like the page fills it, with ``changes``."""
    terms = offer["current_version"]
    fields = {
        "title": offer["title"],
        "description": offer["description"],
        "category": offer["category"],
        "unit": terms["unit"],
        "unit_price": terms["unit_price"].replace(".", ","),
        "pricing": terms["pricing"],
        "tax_treatment": terms["tax_treatment"],
        "capacity": str(terms["capacity"] or ""),
        "min_term_months": str(terms["min_term_months"]),
        "notice_months": str(terms["notice_months"]),
        "sla": terms["sla"] or "",
    }
    fields.update(changes)
    return fields


async def edit(client: httpx.AsyncClient, offer: dict[str, Any], **changes: str) -> httpx.Response:
    """Open the edit page of ``offer`` and submit it with ``changes``."""
    page = await client.get(f"/anbieter/angebote/{offer['id']}/bearbeiten")
    assert page.status_code == 200, page.text
    version = _VERSION.search(page.text)
    assert version, page.text
    return await post_form(
        client,
        f"/anbieter/angebote/{offer['id']}/bearbeiten",
        {**form_fields(offer), "version": version.group(1), **changes},
        page=f"/anbieter/angebote/{offer['id']}/bearbeiten",
    )


# --- who may open the pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["buyer", "accountant", "member_admin"])
async def test_the_provider_pages_are_refused_to_other_roles(role: str) -> None:
    provider = await token("KDZ-MZ", "provider")
    someone = await web_user("KDZ-MZ", role)
    async with web_client() as client:
        made = await create_offer(client, provider, publish=True)
        await sign_in(client, someone)
        for path in (
            "/anbieter/nutzung",
            f"/anbieter/angebote/{made['id']}/bearbeiten",
            f"/anbieter/angebote/{made['id']}/versionen",
        ):
            refused = await client.get(path)
            assert refused.status_code == 403, path
            assert "Keine Berechtigung" in refused.text


async def test_the_provider_pages_render_for_a_provider_with_links_from_the_provider_page() -> None:
    provider = await token("KDZ-MZ", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, provider, publish=True)
        await sign_in(client, user)
        overview = await client.get("/anbieter")
        assert f'href="/anbieter/angebote/{made["id"]}/bearbeiten"' in overview.text
        assert f'href="/anbieter/angebote/{made["id"]}/versionen"' in overview.text
        assert 'href="/anbieter/nutzung"' in overview.text
        for path in (
            "/anbieter/nutzung",
            f"/anbieter/angebote/{made['id']}/bearbeiten",
            f"/anbieter/angebote/{made['id']}/versionen",
        ):
            assert (await client.get(path)).status_code == 200, path


async def test_another_members_offer_cannot_be_edited_or_its_versions_read_here() -> None:
    other = await token("EKOM21", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, other, publish=True)
        await sign_in(client, user)
        for path in (f"/anbieter/angebote/{made['id']}/bearbeiten", f"/anbieter/angebote/{made['id']}/versionen"):
            refused = await client.get(path)
            assert refused.status_code == 404, path
            assert made["title"] not in refused.text
        posted = await post_form(
            client,
            f"/anbieter/angebote/{made['id']}/bearbeiten",
            {**form_fields(made, unit_price="1,00"), "version": str(made["version"])},
            page="/anbieter",
        )
        assert posted.status_code == 404
        assert (await client.get("/anbieter/angebote/not-a-uuid/versionen")).status_code == 404
    assert await OfferVersion.count().where(OfferVersion.offer == made["id"]) == 1


# --- editing --------------------------------------------------------------------------------------------


async def test_a_price_change_of_a_published_offer_makes_version_2_shown_on_the_versions_page() -> None:
    provider = await token("KDZ-MZ", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, provider, publish=True)
        await sign_in(client, user)
        form = await client.get(f"/anbieter/angebote/{made['id']}/bearbeiten")
        assert "neue Version 2" in form.text
        saved = await edit(client, made, unit_price="1.095,50")
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == f"/anbieter/angebote/{made['id']}/versionen"
        versions = await client.get(saved.headers["location"])
        api = (await client.get(f"/api/v1/offers/{made['id']}", headers=bearer(provider))).json()
    assert "Die Konditionen gelten jetzt als Version 2" in versions.text
    rows = versions.text.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert [re.search(r'<th scope="row">(\d+)', row).group(1) for row in rows] == ["2", "1"]  # type: ignore[union-attr]
    assert "1.095,50\u00a0€" in rows[0] and "aktuell" in rows[0]
    assert "89,00\u00a0€" in rows[1] and "aktuell" not in rows[1]
    assert (api["current_version"]["number"], api["current_version"]["unit_price"]) == (2, "1095.50")


async def test_a_term_change_of_a_draft_amends_version_1() -> None:
    provider = await token("KDZ-MZ", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, provider)
        await sign_in(client, user)
        form = await client.get(f"/anbieter/angebote/{made['id']}/bearbeiten")
        assert "es entsteht keine neue Version" in form.text
        saved = await edit(client, made, unit_price="99,00", title="Neuer Titel")
        assert saved.status_code == 303, saved.text
        assert "Die Änderungen sind gespeichert." in (await client.get(saved.headers["location"])).text
    assert await OfferVersion.count().where(OfferVersion.offer == made["id"]) == 1
    version = await OfferVersion.select(OfferVersion.unit_price_cents).where(OfferVersion.offer == made["id"]).first()
    assert version == {"unit_price_cents": 9900}


async def test_a_stale_edit_form_is_refused_with_a_german_message_and_changes_nothing() -> None:
    provider = await token("KDZ-MZ", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, provider, publish=True)
        await sign_in(client, user)
        page = await client.get(f"/anbieter/angebote/{made['id']}/bearbeiten")
        read_at = _VERSION.search(page.text).group(1)  # type: ignore[union-attr]
        meanwhile = await client.patch(
            f"/api/v1/offers/{made['id']}", headers=bearer(provider), json={"title": "Inzwischen geändert"}
        )
        assert meanwhile.status_code == 200
        stale = await post_form(
            client,
            f"/anbieter/angebote/{made['id']}/bearbeiten",
            {**form_fields(made, unit_price="1,00"), "version": read_at},
            page="/anbieter",
        )
        assert stale.status_code == 412
        assert "Der Eintrag wurde inzwischen geändert. Bitte laden Sie die Seite neu." in stale.text
    row = await Offer.select(Offer.title).where(Offer.id == made["id"]).first()
    assert row == {"title": "Inzwischen geändert"}
    assert await OfferVersion.count().where(OfferVersion.offer == made["id"]) == 1


async def test_an_edit_without_the_version_it_was_read_at_is_refused() -> None:
    provider = await token("KDZ-MZ", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, provider, publish=True)
        await sign_in(client, user)
        refused = await post_form(
            client,
            f"/anbieter/angebote/{made['id']}/bearbeiten",
            form_fields(made, unit_price="1,00"),
            page="/anbieter",
        )
    assert refused.status_code == 412
    assert await OfferVersion.count().where(OfferVersion.offer == made["id"]) == 1


async def test_emptying_a_limited_capacity_makes_the_next_version_unlimited() -> None:
    provider = await token("KDZ-MZ", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, provider, publish=True, capacity=5)
        await sign_in(client, user)
        saved = await edit(client, made, capacity="")
    assert saved.status_code == 303, saved.text
    versions = await OfferVersion.select(OfferVersion.number, OfferVersion.capacity).where(
        OfferVersion.offer == made["id"]
    )
    assert sorted((row["number"], row["capacity"]) for row in versions) == [(1, 5), (2, None)]


async def test_invalid_terms_are_shown_as_a_german_message_with_the_typed_values() -> None:
    provider = await token("KDZ-MZ", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, provider, publish=True)
        await sign_in(client, user)
        refused = await edit(client, made, unit_price="12,345")
    assert refused.status_code == 422
    assert "Preis je Einheit" in refused.text
    assert 'value="12,345"' in refused.text
    assert await OfferVersion.count().where(OfferVersion.offer == made["id"]) == 1


async def test_a_retired_offer_shows_no_edit_form_and_refuses_a_change() -> None:
    provider = await token("KDZ-MZ", "provider")
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await create_offer(client, provider, publish=True)
        retired = await client.post(f"/api/v1/offers/{made['id']}/retire", headers=bearer(provider))
        assert retired.status_code == 200
        await sign_in(client, user)
        page = await client.get(f"/anbieter/angebote/{made['id']}/bearbeiten")
        assert "Ein eingestelltes Angebot kann nicht mehr geändert werden." in page.text
        assert 'name="version"' not in page.text
        refused = await post_form(
            client,
            f"/anbieter/angebote/{made['id']}/bearbeiten",
            {**form_fields(made, unit_price="1,00"), "version": str(retired.json()["version"])},
            page="/anbieter",
        )
    assert refused.status_code == 409
    assert "Eingestellt" in refused.text


# --- usage reports --------------------------------------------------------------------------------------


async def metered_agreement(client: httpx.AsyncClient, exchange: Exchange, start: str = "2025-01-01") -> dict:
    """A metered agreement KDZ-MZ → HZD from ``start`` (recorded by the coop_admin, so it may lie in the past)."""
    offer_id = await offer(client, exchange, unit_price="8.99", pricing="metered", unit="TB", title="Speicher")
    return await agreement(client, exchange, offer_id, start=start)


async def report(client: httpx.AsyncClient, agreement_id: str, period: str, quantity: str) -> httpx.Response:
    """Submit the usage form of an agreement."""
    path = f"/anbieter/nutzung/{agreement_id}"
    return await post_form(client, path, {"period": period, "quantity": quantity}, page=path)


async def test_the_provider_reports_and_corrects_a_month_on_the_page() -> None:
    exchange = await Exchange.make()
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await metered_agreement(client, exchange)
        await sign_in(client, user)
        overview = await client.get("/anbieter/nutzung")
        assert made["reference"] in overview.text
        reported = await report(client, made["id"], "2025-03", "12,5")
        assert reported.status_code == 303, reported.text
        page = await client.get(f"/anbieter/nutzung/{made['id']}")
        assert "März 2025: 12,5 TB gemeldet" in page.text
        corrected = await report(client, made["id"], "03/2025", "1.011,25")
        assert corrected.status_code == 303, corrected.text
        page = await client.get(f"/anbieter/nutzung/{made['id']}")
        listed = (await client.get(f"/api/v1/agreements/{made['id']}/usage", headers=bearer(exchange.admin))).json()
    assert "März 2025: 1.011,25 TB korrigiert" in page.text
    row = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert "März 2025" in row and "1.011,25 TB" in row and "offen – korrigierbar" in row
    assert [(item["period"], item["quantity"]) for item in listed["items"]] == [("2025-03", "1011.250")]


async def test_a_correction_is_refused_once_the_month_is_settled() -> None:
    exchange = await Exchange.make()
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await metered_agreement(client, exchange)
        assert (await usage(client, exchange, made["id"], "2025-02", "12.5")).status_code == 201
        await run_in_process("2025-02")
        await sign_in(client, user)
        page = await client.get(f"/anbieter/nutzung/{made['id']}")
        assert "abgerechnet" in page.text.split("<tbody>")[1]
        refused = await report(client, made["id"], "2025-02", "20")
        listed = (await client.get(f"/api/v1/agreements/{made['id']}/usage", headers=bearer(exchange.admin))).json()
    assert refused.status_code == 409
    assert "Februar 2025 ist bereits abgerechnet" in refused.text
    assert [item["quantity"] for item in listed["items"]] == ["12.500"]


async def test_a_future_month_and_a_bad_quantity_are_refused_in_german() -> None:
    exchange = await Exchange.make()
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await metered_agreement(client, exchange)
        await sign_in(client, user)
        future = await report(client, made["id"], "2999-01", "1")
        bad = await report(client, made["id"], "2025-03", "viel")
        too_fine = await report(client, made["id"], "2025-03", "1,2345")
        before = await report(client, made["id"], "2024-12", "1")
        listed = (await client.get(f"/api/v1/agreements/{made['id']}/usage", headers=bearer(exchange.admin))).json()
    assert future.status_code == 422
    assert "laufenden oder einen vergangenen Monat" in future.text
    assert (bad.status_code, too_fine.status_code) == (422, 422)
    assert "Bitte geben Sie die Menge als Zahl" in bad.text
    assert "höchstens drei Nachkommastellen" in too_fine.text
    assert before.status_code == 422
    assert "Die Vereinbarung läuft in diesem Monat nicht." in before.text
    assert listed["items"] == []


async def test_another_members_agreement_has_no_usage_page() -> None:
    exchange = await Exchange.make()
    consumer_provider = await web_user("HZD", "provider", "buyer")
    stranger = await web_user("GU-FFM", "provider")
    async with web_client() as client:
        made = await metered_agreement(client, exchange)
        for email in (consumer_provider, stranger):
            await sign_in(client, email)
            assert made["reference"] not in (await client.get("/anbieter/nutzung")).text
            refused = await client.get(f"/anbieter/nutzung/{made['id']}")
            assert refused.status_code == 404, email
            assert made["reference"] not in refused.text
            posted = await post_form(
                client, f"/anbieter/nutzung/{made['id']}", {"period": "2025-03", "quantity": "1"}, page="/anbieter"
            )
            assert posted.status_code == 404, email
            await post_form(client, "/abmelden")
        listed = (await client.get(f"/api/v1/agreements/{made['id']}/usage", headers=bearer(exchange.admin))).json()
    assert listed["items"] == []
