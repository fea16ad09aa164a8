"""Documents of text stored before the input rules: an offer title, a unit or a member name holding control
characters or characters the PDF's font does not know still give a PDF and a valid XRechnung, never a 500."""

from __future__ import annotations

import io
from pathlib import Path

import drafthorse
from lxml import etree
from pypdf import PdfReader

from marketplace.catalogue.tables import Offer
from marketplace.members.tables import Member
from marketplace.settlement.tables import SettlementLine
from tests.builders import bearer, running_app
from tests.settlement.helpers import Exchange, run
from tests.settlement.scenario import PERIOD, february

SCHEMA = Path(drafthorse.__file__).parent / "schema" / "Factur-X_1.0.07_EN16931.xsd"
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
NUMBER = "S-2025-000002"  # KDZ-MZ → HZD
#: Characters the rules refuse today, as rows written before them could hold (PostgreSQL cannot hold U+0000).
CONTROLS = ("\x01", "\x0b", "\x1f", "\x7f", "\x85", "\u2028", "\u202e", "\uffff")


async def _documents() -> tuple[Exchange, list[bytes]]:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        await Offer.update({Offer.title: "Virtuelle\x01 Server\x0b\u202e ☺ 虚拟服务器"}).where(
            Offer.title == "Virtuelle Server"
        )
        await Member.update({Member.name: "Kommunale\x1f Datenzentrale\u2028 Mainz ☺"}).where(Member.code == "KDZ-MZ")
        await run(client, exchange, PERIOD)
        # A version is immutable once published: the unit is changed where the settlement keeps its copy.
        await SettlementLine.update({SettlementLine.unit: "TB\x7f\x85\uffff"}).where(SettlementLine.unit == "TB")
        answers = [
            await client.get(f"/api/v1/settlements/{NUMBER}/document", headers={**bearer(exchange.accountant), **h})
            for h in ({}, {"Accept": "application/xml"})
        ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
    return exchange, [answer.content for answer in answers]


async def test_a_pdf_of_stored_control_characters_is_made_without_them() -> None:
    _, (pdf, _) = await _documents()
    pages = PdfReader(io.BytesIO(pdf)).pages
    text = " ".join(page.extract_text() for page in pages)
    assert not any(character in text for character in CONTROLS)
    words = " ".join(text.split())
    assert "Kommunale Datenzentrale Mainz" in words
    assert "Virtuelle Server" in words


async def test_an_xrechnung_of_stored_control_characters_is_valid_and_without_them() -> None:
    _, (_, xml) = await _documents()
    root = etree.fromstring(xml)
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(root)
    seller = root.findtext(".//ram:SellerTradeParty/ram:Name", namespaces=NS) or ""
    names = [item.text or "" for item in root.iterfind(".//ram:SpecifiedTradeProduct/ram:Name", namespaces=NS)]
    assert " ".join(seller.split()) == "Kommunale Datenzentrale Mainz ☺"
    assert any(" ".join(name.split()).startswith("Virtuelle Server ☺ 虚拟服务器") for name in names)
    assert "Einheit TB" in xml.decode()
    assert not any(character in xml.decode() for character in CONTROLS)
