"""Documents: a PDF a person can file and an XRechnung CII invoice valid against the EN 16931 schema."""

from __future__ import annotations

import io
from pathlib import Path

import drafthorse
from lxml import etree
from pypdf import PdfReader

from tests.builders import bearer, running_app
from tests.settlement.helpers import LEITWEG_HZD, Exchange, run
from tests.settlement.scenario import PERIOD, february

SCHEMA = Path(drafthorse.__file__).parent / "schema" / "Factur-X_1.0.07_EN16931.xsd"
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
NUMBER = "S-2025-000002"


async def _document(accept: str | None = None) -> tuple[int, str, bytes, dict]:
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await february(client, exchange)
        await run(client, exchange, PERIOD)
        headers = bearer(exchange.accountant)
        if accept:
            headers["Accept"] = accept
        response = await client.get(f"/api/v1/settlements/{NUMBER}/document", headers=headers)
    return response.status_code, response.headers.get("content-type", ""), response.content, made


async def test_the_pdf_names_number_parties_leitweg_id_lines_and_the_2b_note() -> None:
    status, media_type, content, made = await _document()
    assert status == 200
    assert media_type.startswith("application/pdf")
    assert content.startswith(b"%PDF")
    pages = PdfReader(io.BytesIO(content)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())  # lines wrap anywhere
    assert NUMBER in text
    assert LEITWEG_HZD in text
    assert "Kommunale Datenzentrale Mainz" in text
    assert "Hessische Zentrale" in text
    assert made["recurring"]["reference"] in text
    assert "558,68" in text
    assert "§ 2b Abs. 3 UStG" in text
    assert "Februar 2025" in text


async def test_the_xml_is_a_valid_cii_invoice_with_the_leitweg_id_as_buyer_reference() -> None:
    status, media_type, content, made = await _document("application/xml")
    assert status == 200
    assert media_type.startswith("application/xml")
    root = etree.fromstring(content)
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(root)
    assert root.findtext(".//rsm:ExchangedDocument/ram:ID", namespaces=NS) == NUMBER
    assert root.findtext(".//ram:ApplicableHeaderTradeAgreement/ram:BuyerReference", namespaces=NS) == LEITWEG_HZD
    assert "xrechnung" in root.findtext(".//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", namespaces=NS)
    assert root.findtext(".//ram:GrandTotalAmount", namespaces=NS) == "558.68"
    categories = sorted(e.text for e in root.iterfind(".//ram:ApplicableTradeTax/ram:CategoryCode", namespaces=NS))
    assert categories == ["O", "O", "S", "S", "S", "S"]  # three lines and three breakdowns
    assert len(root.findall(".//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)) == 3
    assert made["metered"]["reference"] in content.decode()
