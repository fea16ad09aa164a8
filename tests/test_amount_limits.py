"""Amount limits: prices, quantities and usage are bounded (``marketplace.money``) so that every settlement line,
settlement and ledger balance fits 64-bit cents; beyond a bound the API and the web forms answer 422 naming the
field, the database refuses the value, and nothing changes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import ledger.rules
from marketplace.booking.tables import Agreement, ServiceRequest, UsageReport
from marketplace.catalogue.tables import Offer, OfferVersion
from marketplace.db import INTEGRITY_ERRORS
from marketplace.money import (
    INT64_MAX,
    MAX_CAPACITY,
    MAX_LINE_GROSS_CENTS,
    MAX_QUANTITY,
    MAX_SETTLEMENT_CENTS,
    MAX_TAX_PERCENT,
    MAX_UNIT_PRICE_CENTS,
    MAX_USAGE_MILLI,
    from_cents,
)
from marketplace.settlement import pricing
from tests.booking.helpers import Parties, submitted_request
from tests.builders import bearer, running_app
from tests.catalogue.helpers import create_offer, offer_body
from tests.settlement.helpers import Exchange, agreement, offer, usage
from tests.web.helpers import post_form, sign_in, web_client, web_user

# --- the arithmetic -------------------------------------------------------------------------------------


def _largest_line(tax_treatment: str) -> pricing.Amounts:
    return pricing.line_amounts(pricing.one_off_net(MAX_QUANTITY, from_cents(MAX_UNIT_PRICE_CENTS)), tax_treatment)


def test_the_largest_line_lies_within_the_line_bound_whatever_its_pricing_and_tax() -> None:
    price = from_cents(MAX_UNIT_PRICE_CENTS)
    nets = [
        pricing.recurring_net(MAX_QUANTITY, price, 31, 31),
        pricing.recurring_net(MAX_QUANTITY, price, 30, 31),
        pricing.one_off_net(MAX_QUANTITY, price),
        pricing.metered_net(MAX_USAGE_MILLI, price),
    ]
    for tax_treatment in pricing.TAX_RATES:
        for net in nets:
            assert pricing.line_amounts(net, tax_treatment).gross <= MAX_LINE_GROSS_CENTS
    assert _largest_line("vat_19").gross == MAX_LINE_GROSS_CENTS
    assert max(pricing.TAX_RATES.values()) == MAX_TAX_PERCENT


def test_a_settlement_of_eight_largest_lines_is_one_posting_the_ledger_accepts() -> None:
    assert MAX_SETTLEMENT_CENTS == ledger.rules.MAX_CENTS - 1
    assert 8 * MAX_LINE_GROSS_CENTS <= MAX_SETTLEMENT_CENTS
    assert ledger.rules.cents(from_cents(MAX_SETTLEMENT_CENTS)) == MAX_SETTLEMENT_CENTS


def test_sums_of_thousands_of_largest_settlements_fit_a_bigint() -> None:
    assert 9_000 * MAX_SETTLEMENT_CENTS <= INT64_MAX
    assert MAX_CAPACITY <= 2**31 - 1  # offer_versions.capacity is an INTEGER


# --- the API --------------------------------------------------------------------------------------------


def _refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]], response.text


async def _metered(client: httpx.AsyncClient, exchange: Exchange) -> dict[str, Any]:
    offer_id = await offer(client, exchange, unit_price="8.99", pricing="metered", unit="TB", title="Speicher")
    return await agreement(client, exchange, offer_id, start="2025-01-01")


async def test_usage_beyond_a_million_units_is_refused_and_not_stored() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await _metered(client, exchange)
        refused = await usage(client, exchange, made["id"], "2025-02", "1000000.001")
        listed = (await client.get(f"/api/v1/agreements/{made['id']}/usage", headers=bearer(exchange.admin))).json()
    _refused(refused, "quantity")
    assert listed["items"] == []


async def test_usage_of_exactly_a_million_units_is_accepted() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await _metered(client, exchange)
        accepted = await usage(client, exchange, made["id"], "2025-02", "1000000.000")
    assert accepted.status_code == 201, accepted.text
    assert await UsageReport.select(UsageReport.quantity_milli).first() == {"quantity_milli": MAX_USAGE_MILLI}


@pytest.mark.parametrize(
    ("field", "value"), [("unit_price", "1000000.01"), ("unit_price", "99999999999"), ("capacity", MAX_CAPACITY + 1)]
)
async def test_an_offer_beyond_a_bound_is_refused_and_not_stored(field: str, value: object) -> None:
    parties = await Parties.make()
    async with running_app() as client:
        refused = await client.post(
            "/api/v1/offers", headers=bearer(parties.provider), json=offer_body(**{field: value})
        )
    _refused(refused, field)
    assert await Offer.count() == 0


async def test_an_offer_at_the_largest_price_is_accepted() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        made = await create_offer(client, parties.provider, unit_price="1000000.00")
    assert made["current_version"]["unit_price"] == "1000000.00"


async def test_a_price_change_beyond_the_bound_is_refused_and_changes_nothing() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        made = await create_offer(client, parties.provider, publish=True)
        refused = await client.patch(
            f"/api/v1/offers/{made['id']}", headers=bearer(parties.provider), json={"unit_price": "1000000.01"}
        )
        after = (await client.get(f"/api/v1/offers/{made['id']}", headers=bearer(parties.provider))).json()
    _refused(refused, "unit_price")
    assert (after["version"], after["current_version"]["unit_price"]) == (made["version"], "89.00")
    assert await OfferVersion.count() == 1


async def test_the_openapi_document_shows_the_bounds() -> None:
    async with running_app() as client:
        document = (await client.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]

    def field(struct: str, name: str) -> dict[str, Any]:
        found = [s["properties"][name] for key, s in schemas.items() if key.endswith(struct)]
        assert found, struct
        return dict(found[0])

    assert field("RequestCreate", "quantity")["maximum"] == MAX_QUANTITY
    assert field("AgreementImport", "quantity")["maximum"] == MAX_QUANTITY
    assert field("OfferCreate", "capacity")["maximum"] == MAX_CAPACITY
    assert "1000000.00" in field("OfferCreate", "unit_price")["description"]
    assert "1000000.00" in field("OfferUpdate", "unit_price")["description"]
    usage_pattern = field("UsageCreate", "quantity")["pattern"]
    assert "1000000" in usage_pattern and "1000000" in json.dumps(field("UsageCreate", "quantity"))


# --- the database ---------------------------------------------------------------------------------------


async def _write_refused(table: Any, statement: str, *args: object) -> None:
    with pytest.raises(INTEGRITY_ERRORS):
        await table.raw(statement, *args)


async def test_the_database_refuses_usage_beyond_the_bound() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await _metered(client, exchange)
        assert (await usage(client, exchange, made["id"], "2025-02", "1")).status_code == 201
    await _write_refused(UsageReport, "UPDATE usage_reports SET quantity_milli = {}", MAX_USAGE_MILLI + 1)
    await _write_refused(
        UsageReport,
        "INSERT INTO usage_reports (id, agreement, period, quantity_milli, reported_at, version) "
        "SELECT id, agreement, '2025-01', {}, reported_at, 1 FROM usage_reports",
        MAX_USAGE_MILLI + 1,
    )
    assert await UsageReport.select(UsageReport.quantity_milli).output(as_list=True) == [1000]


async def test_the_database_refuses_quantities_and_terms_beyond_the_bounds() -> None:
    parties = await Parties.make()
    async with running_app() as client:
        offer_id = (await create_offer(client, parties.provider, publish=True))["id"]
        await submitted_request(client, parties.buyer, offer_id)
        accepted = await client.post(
            f"/api/v1/requests/{(await submitted_request(client, parties.buyer, offer_id))['id']}/accept",
            headers=bearer(parties.provider),
        )
        assert accepted.status_code == 201, accepted.text
    await _write_refused(ServiceRequest, "UPDATE requests SET quantity = {}", MAX_QUANTITY + 1)
    await _write_refused(Agreement, "UPDATE agreements SET quantity = {}", MAX_QUANTITY + 1)
    await _write_refused(OfferVersion, "UPDATE offer_versions SET unit_price_cents = {}", MAX_UNIT_PRICE_CENTS + 1)
    await _write_refused(OfferVersion, "UPDATE offer_versions SET capacity = {}", MAX_CAPACITY + 1)
    assert set(await ServiceRequest.select(ServiceRequest.quantity).output(as_list=True)) == {1}
    assert await Agreement.select(Agreement.quantity).output(as_list=True) == [1]
    assert await OfferVersion.select(OfferVersion.unit_price_cents).output(as_list=True) == [8900]


# --- the web forms --------------------------------------------------------------------------------------


async def test_the_usage_form_refuses_more_than_a_million_units_in_german() -> None:
    exchange = await Exchange.make()
    user = await web_user("KDZ-MZ", "provider")
    async with web_client() as client:
        made = await _metered(client, exchange)
        await sign_in(client, user)
        path = f"/anbieter/nutzung/{made['id']}"
        refused = await post_form(client, path, {"period": "2025-02", "quantity": "1.000.000,5"}, page=path)
    assert refused.status_code == 422
    assert "von 0 bis 1.000.000" in refused.text
    assert await UsageReport.count() == 0


async def test_the_offer_form_refuses_a_price_beyond_the_bound() -> None:
    user = await web_user("KDZ-MZ", "provider")
    form = {**offer_body(unit_price="1.000.000,01"), "min_term_months": "0", "notice_months": "1"}
    async with web_client() as client:
        await sign_in(client, user)
        refused = await post_form(client, "/anbieter/angebote/neu", form, page="/anbieter/angebote/neu")
    assert refused.status_code == 422
    assert "Preis je Einheit" in refused.text
    assert await Offer.count() == 0


async def test_the_request_form_refuses_more_than_a_million_units() -> None:
    parties = await Parties.make()
    user = await web_user("HZD", "buyer")
    async with web_client() as client:
        offer_id = (await create_offer(client, parties.provider, publish=True))["id"]
        await sign_in(client, user)
        path = f"/katalog/{offer_id}"
        page = await client.get(path)
        assert page.status_code == 200, page.text
        refused = await post_form(
            client,
            f"/katalog/{offer_id}/anfragen",
            {"quantity": str(MAX_QUANTITY + 1), "start_date": "2099-01-01"},
            page=path,
        )
    assert refused.status_code == 422, refused.text
    assert "Menge" in refused.text
    assert await ServiceRequest.count() == 0
