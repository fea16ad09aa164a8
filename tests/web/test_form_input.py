"""The web forms apply the API's input limits: a control character or a date out of range is refused with a
German message on the form and nothing is stored; a NUL in a form or a path is a refusal, never a 500."""

from __future__ import annotations

import re

import pytest

from marketplace.booking.tables import ServiceRequest
from marketplace.catalogue.tables import Offer
from marketplace.members.tables import ApiToken
from tests.booking.helpers import published_offer, submitted_request
from tests.builders import token
from tests.web.helpers import post_form, sign_in, web_client, web_user

CHARACTERS_REFUSED = "enthält Zeichen, die nicht erlaubt sind"


def _token_form(page: str, email: str) -> dict[str, str]:
    """The token form's user (``email``) and one-time id, as the page offers them."""
    user = re.search(r'<option value="([0-9a-f-]+)"[^>]*>[^<]*\(' + re.escape(email) + r"\)", page)
    once = re.search(r'name="_once" value="([^"]+)"', page)
    assert user and once, page
    return {"user_id": user.group(1), "_once": once.group(1)}


async def test_an_offer_titled_with_a_control_character_is_refused_on_the_form_and_not_stored() -> None:
    provider = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        await sign_in(client, provider)
        answer = await post_form(
            client,
            "/anbieter/angebote/neu",
            {
                "title": "Backup\x07 im Rechenzentrum",
                "description": "Sicherung in zwei Rechenzentren.",
                "category": "hosting",
                "unit": "TB-Monat",
                "unit_price": "12,50",
                "pricing": "recurring",
                "tax_treatment": "exempt_public_cooperation",
                "min_term_months": "0",
                "notice_months": "1",
            },
            page="/anbieter/angebote/neu",
        )
    assert answer.status_code == 422
    assert f"Das Feld „Titel“ {CHARACTERS_REFUSED}" in answer.text
    assert await Offer.count() == 0


async def test_a_decline_reason_with_a_control_character_is_refused_and_the_request_stays_open() -> None:
    provider_token = await token("KDZ-MZ", "provider")
    buyer_token = await token("HZD", "buyer")
    provider = await web_user("KDZ-MZ", "provider", email="anbieter@kdz.example")
    async with web_client() as client:
        offer_id = await published_offer(client, provider_token)
        request = await submitted_request(client, buyer_token, offer_id)
        await sign_in(client, provider)
        answer = await post_form(
            client, f"/anbieter/anfragen/{request['id']}/ablehnen", {"reason": "ausgebucht\x1b[2J"}, page="/anbieter"
        )
        page = await client.get("/anbieter")
    assert answer.status_code == 303
    assert f"Das Feld „Begründung“ {CHARACTERS_REFUSED}" in page.text
    assert await ServiceRequest.select(ServiceRequest.status).first() == {"status": "submitted"}


async def test_a_nul_in_the_sign_in_address_is_a_wrong_sign_in_not_an_error() -> None:
    await web_user("HZD", "buyer", email="einkauf@hzd.example")
    async with web_client() as client:
        answer = await sign_in(client, "einkauf\x00@hzd.example")
    assert answer.status_code == 400
    assert "E-Mail-Adresse oder Passwort ist falsch." in answer.text


async def test_a_nul_in_the_path_of_a_page_is_the_400_page() -> None:
    admin = await web_user("HZD", "member_admin", email="admin@hzd.example")
    async with web_client() as client:
        await sign_in(client, admin)
        answer = await client.get("/verwaltung/mitglieder/HZD%00/schluessel")
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "Ungültige Anfrage" in answer.text


@pytest.mark.parametrize(
    ("expires_on", "message"),
    [
        ("9999-12-31", "Bitte prüfen Sie das Datum „Gültig bis“."),  # its next day, when it would end, does not exist
        ("3500-01-01", "Das Datum „Gültig bis“ darf nicht nach dem 31.12.2999 liegen."),
    ],
)
async def test_a_token_expiry_outside_the_supported_range_is_refused_in_german(expires_on: str, message: str) -> None:
    admin = await web_user("HZD", "member_admin", email="admin@hzd.example")
    path = "/verwaltung/mitglieder/HZD/schluessel"
    async with web_client() as client:
        await sign_in(client, admin)
        page = await client.get(path)
        form = {**_token_form(page.text, "admin@hzd.example"), "name": "Befristet", "expires_on": expires_on}
        answer = await post_form(client, path, form, page=path)
    assert answer.status_code == 422
    assert message in answer.text
    assert await ApiToken.count() == 0
