"""What each role sees, tenancy (another member's agreement is the 404 page), the flows through the forms."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from marketplace.observability import WEB_CSP
from marketplace.web.formatting import betrag, datum, parse_amount
from tests.booking.helpers import Parties, agreement, published_offer
from tests.builders import member
from tests.web.helpers import post_form, sign_in, web_client, web_user

SECTIONS = {
    "/katalog": "Katalog",
    "/mein-bereich": "Mein Bereich",
    "/anbieter": "Anbieter",
    "/abrechnung": "Abrechnung",
    "/verwaltung": "Verwaltung",
}
#: role → the sections it opens (the others answer the 403 page and are not in its navigation).
ALLOWED = {
    "buyer": {"/katalog", "/mein-bereich"},
    "provider": {"/katalog", "/anbieter"},
    "accountant": {"/katalog", "/abrechnung"},
    "member_admin": {"/katalog", "/verwaltung"},
    "coop_admin": {"/katalog", "/abrechnung", "/verwaltung"},
    "coop_accountant": {"/katalog", "/abrechnung"},
    "auditor": {"/katalog", "/abrechnung"},
}


async def test_pages_need_a_signed_in_user() -> None:
    async with web_client() as client:
        for path in [*SECTIONS, "/vereinbarungen/00000000-0000-0000-0000-000000000000"]:
            response = await client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/anmelden?weiter=" + path
        assert (await client.get("/")).headers["location"] == "/katalog"


@pytest.mark.parametrize("role", sorted(ALLOWED))
async def test_each_role_sees_only_its_sections(role: str) -> None:
    await member("KOPIT")
    code = "KOPIT" if role in ("coop_admin", "coop_accountant", "auditor") else "HZD"
    email = await web_user(code, role)
    async with web_client() as client:
        await sign_in(client, email)
        navigation = (await client.get("/katalog")).text.split('aria-label="Hauptnavigation"')[1].split("</nav>")[0]
        for path, text in SECTIONS.items():
            response = await client.get(path)
            allowed = path in ALLOWED[role]
            assert response.status_code == (200 if allowed else 403), (role, path)
            assert (f'href="{path}"' in navigation) is allowed, (role, path)
            if not allowed:
                assert "Keine Berechtigung" in response.text
                assert text not in response.text.split("<main")[1].split("</h1>")[0]


async def test_another_members_agreement_page_is_the_404_page() -> None:
    async with web_client() as client:
        parties = await Parties.make()
        offer_id = await published_offer(client, parties.provider)
        made = await agreement(client, parties, offer_id)
        stranger = await web_user("GU-FFM", "buyer", "accountant", "provider")
        party = await web_user("HZD", "accountant")
        await sign_in(client, stranger)
        refused = await client.get(f"/vereinbarungen/{made['id']}")
        assert refused.status_code == 404
        assert "Nicht gefunden" in refused.text
        assert made["reference"] not in refused.text
        assert refused.headers["content-type"].startswith("text/html")
        assert (await client.get(f"/vereinbarungen/{made['id']}/kuendigen")).status_code == 404
        assert (await client.get("/vereinbarungen/not-a-uuid")).status_code == 404
        await post_form(client, "/abmelden")
        await sign_in(client, party)
        shown = await client.get(f"/vereinbarungen/{made['id']}")
        assert shown.status_code == 200
        assert made["reference"] in shown.text
        assert "kündigen" not in shown.text  # an accountant cannot terminate


async def test_a_member_admin_manages_only_its_own_members_users() -> None:
    await member("EKOM21")
    admin = await web_user("HZD", "member_admin")
    async with web_client() as client:
        await sign_in(client, admin)
        assert (await client.get("/verwaltung/mitglieder/HZD")).status_code == 200
        assert (await client.get("/verwaltung/mitglieder/EKOM21")).status_code == 404
        overview = await client.get("/verwaltung")
        assert 'href="/verwaltung/mitglieder/HZD"' in overview.text
        assert 'href="/verwaltung/mitglieder/EKOM21"' not in overview.text


async def test_a_member_admin_creates_a_password_link_on_the_page() -> None:
    admin = await web_user("HZD", "member_admin")
    buyer = await web_user("HZD", "buyer", email="neu@hzd.example", password="Altes-Passwort-1")
    async with web_client(public_base_url="https://austausch.kopit.example") as client:
        await sign_in(client, admin)
        users = await client.get("/verwaltung/mitglieder/HZD")
        row = users.text.split("neu@hzd.example")[0].rsplit("<tr>", 1)[-1] + users.text.split("neu@hzd.example")[1]
        user_id = re.search(r"/verwaltung/benutzer/([0-9a-f-]+)/passwort-link", row)
        assert user_id, users.text
        shown = await post_form(client, f"/verwaltung/benutzer/{user_id.group(1)}/passwort-link", page="/verwaltung")
        assert shown.status_code == 200
        link = re.search(r'value="https://austausch.kopit.example(/passwort/[^"]+)"', shown.text)
        assert link
        await post_form(client, "/abmelden")
        page = await client.get(link.group(1))
        assert buyer in page.text


async def test_the_whole_flow_through_the_forms() -> None:
    await member("KOPIT")
    provider = await web_user("KDZ-MZ", "provider")
    buyer = await web_user("HZD", "buyer")
    accountant = await web_user("HZD", "accountant")
    async with web_client() as client:
        await sign_in(client, provider)
        created = await post_form(
            client,
            "/anbieter/angebote/neu",
            {
                "title": "Georedundantes Backup",
                "description": "Sicherung in zwei Rechenzentren.",
                "category": "hosting",
                "unit": "TB-Monat",
                "unit_price": "1.234,50",
                "pricing": "recurring",
                "tax_treatment": "exempt_public_cooperation",
                "capacity": "10",
                "min_term_months": "0",
                "notice_months": "1",
                "sla": "99,9 % Verfügbarkeit",
            },
        )
        assert created.status_code == 303, created.text
        page = await client.get("/anbieter")
        offer_id = re.search(r'href="/katalog/([0-9a-f-]+)">Georedundantes Backup', page.text).group(1)  # type: ignore[union-attr]
        assert "Entwurf" in page.text
        published = await post_form(client, f"/anbieter/angebote/{offer_id}/veroeffentlichen", page="/anbieter")
        assert published.status_code == 303
        assert "ist veröffentlicht" in (await client.get("/anbieter")).text
        await post_form(client, "/abmelden")

        await sign_in(client, buyer)
        found = await client.get("/katalog", params={"q": "Backup"})
        assert "Georedundantes Backup" in found.text
        assert "1.234,50\u00a0€" in found.text
        offer_page = await client.get(f"/katalog/{offer_id}")
        assert "99,9 % Verfügbarkeit" in offer_page.text
        bad = await post_form(
            client,
            f"/katalog/{offer_id}/anfragen",
            {"quantity": "0", "start_date": "2020-01-01"},
            page=f"/katalog/{offer_id}",
        )
        assert bad.status_code == 422
        assert "Menge" in bad.text
        start = re.search(r'name="start_date" type="date" min="[^"]+" required value="([^"]+)"', offer_page.text).group(
            1
        )  # type: ignore[union-attr]
        requested = await post_form(
            client, f"/katalog/{offer_id}/anfragen", {"quantity": "2", "start_date": start}, page=f"/katalog/{offer_id}"
        )
        assert requested.status_code == 303
        assert "Eingereicht" in (await client.get("/mein-bereich")).text
        await post_form(client, "/abmelden")

        await sign_in(client, provider)
        incoming = await client.get("/anbieter")
        request_id = re.search(r"/anbieter/anfragen/([0-9a-f-]+)/annehmen", incoming.text).group(1)  # type: ignore[union-attr]
        accepted = await post_form(client, f"/anbieter/anfragen/{request_id}/annehmen", page="/anbieter")
        assert accepted.status_code == 303
        assert "Angenommen: Vereinbarung AGR-" in (await client.get("/anbieter")).text
        await post_form(client, "/abmelden")

        await sign_in(client, buyer)
        area = await client.get("/mein-bereich")
        assert "2.469,00\u00a0€ netto je Monat" in area.text
        agreement_id = re.search(r'href="/vereinbarungen/([0-9a-f-]+)"', area.text).group(1)  # type: ignore[union-attr]
        confirm = await client.get(f"/vereinbarungen/{agreement_id}/kuendigen")
        earliest = re.search(r'id="fruehestes-ende">([0-9.]+)<', confirm.text).group(1)  # type: ignore[union-attr]
        effective = re.search(r'name="effective_date" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
        assert datum(effective) == earliest
        terminated = await post_form(
            client, f"/vereinbarungen/{agreement_id}/kuendigen", {"effective_date": effective}, page="/mein-bereich"
        )
        assert terminated.status_code == 303
        shown = await client.get(f"/vereinbarungen/{agreement_id}")
        assert f"ist zum {earliest} gekündigt" in shown.text
        assert "Gekündigt" in shown.text
        await post_form(client, "/abmelden")

        await sign_in(client, accountant)
        accounting = await client.get("/abrechnung")
        assert accounting.status_code == 200
        assert "Kontoauszug von HZD" in accounting.text
        assert "Assets:Receivable:HZD" in accounting.text
        ledger = await client.get("/abrechnung/hauptbuch")
        assert ledger.status_code == 200
        assert ledger.headers["content-disposition"] == 'attachment; filename="ledger-HZD.beancount"'
        assert "open Assets:Receivable:HZD EUR" in ledger.text
        assert "KDZ-MZ" not in ledger.text  # only the member's own part of the ledger


async def test_web_pages_get_a_same_origin_csp_and_the_api_keeps_its_own() -> None:
    async with web_client() as client:
        page = await client.get("/anmelden")
        assert page.headers["content-security-policy"] == WEB_CSP
        assert "'unsafe-inline'" not in WEB_CSP
        assert page.headers["cache-control"] == "no-store"
        css = await client.get("/static/site.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        api = await client.get("/api/v1/me")
        assert api.status_code == 401
        assert api.headers["content-security-policy"].startswith("default-src 'none'")
        assert "set-cookie" not in api.headers


async def test_the_web_pages_are_not_in_the_openapi_document() -> None:
    async with web_client() as client:
        schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/users/{user_id}/password-link" in schema["paths"]
    assert not [path for path in schema["paths"] if not path.startswith(("/api/", "/health"))]


def test_amounts_and_dates_in_german_form() -> None:
    assert betrag(Decimal("1234.5")) == "1.234,50\u00a0€"
    assert betrag("-0.10") == "-0,10\u00a0€"
    assert betrag(Decimal("1000000")) == "1.000.000,00\u00a0€"
    assert datum("2026-11-26") == "26.11.2026"
    assert parse_amount("1.234,50") == Decimal("1234.50")
    assert parse_amount("1234.5") == Decimal("1234.5")
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount("zwölf")
