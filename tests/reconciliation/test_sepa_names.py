"""Names in the SEPA payment file: an account holder is saved only in the SEPA character set (umlauts spelled out
in the file), and a name stored before that rule can never make the cooperative's pain.001 file fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sepaxml
from lxml import etree

from marketplace.members.tables import Member
from tests.builders import bearer, member, running_app, token
from tests.reconciliation.helpers import cycle, net

PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
NS = {"p": PAIN}
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.09.xsd"
#: The SEPA character set of the EPC guidelines (what every bank accepts).
SEPA = re.compile(r"[A-Za-z0-9/?:().,'+ -]{1,70}")


async def _payments_file(**kdz_fields: object) -> bytes:
    """The pain.001 file of the netting cycle, after writing ``kdz_fields`` (the payee's row) and the cooperative's
    holder straight into the database, as rows stored before the rule would be."""
    async with running_app() as client:
        exchange, _ = await cycle(client)
        await Member.update({Member.account_holder: "KOPIT eG\x01 – Verrechnungskonto ☺"}).where(Member.code == "KOPIT")
        await Member.update({getattr(Member, name): value for name, value in kdz_fields.items()}).where(
            Member.code == "KDZ-MZ"
        )
        created = await net(client, exchange.accountant)
        assert created.status_code == 201, created.text
        response = await client.get(
            f"/api/v1/netting-runs/{created.json()['id']}/payments.xml", headers=bearer(exchange.accountant)
        )
    assert response.status_code == 200, response.text
    return response.content


def _names(content: bytes) -> tuple[str, str]:
    root = etree.fromstring(content)
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(root)
    debtor = root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:Dbtr/p:Nm", namespaces=NS) or ""
    creditor = root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf/p:Cdtr/p:Nm", namespaces=NS) or ""
    return debtor, creditor


async def test_a_holder_stored_with_control_and_foreign_characters_still_gives_a_valid_file() -> None:
    content = await _payments_file(account_holder="Kommunale\x1b Datenzentrale & Söhne\u202e\x85 ©")
    debtor, creditor = _names(content)
    assert SEPA.fullmatch(debtor) and SEPA.fullmatch(creditor)
    assert debtor == "KOPIT eG Verrechnungskonto"
    assert creditor == "Kommunale Datenzentrale + Soehne"


async def test_a_long_member_name_without_a_holder_is_cut_to_70_characters() -> None:
    content = await _payments_file(account_holder=None, name="Stadtwerke Groß-Gerau " + "Rechenzentrumsbetrieb " * 8)
    _, creditor = _names(content)
    assert SEPA.fullmatch(creditor)
    assert len(creditor) <= 70
    assert creditor.startswith("Stadtwerke Gross-Gerau Rechenzentrumsbetrieb")


async def test_a_holder_saved_with_umlauts_is_spelled_out_in_the_file() -> None:
    async with running_app() as client:
        exchange, _ = await cycle(client)
        kdz_admin = await token("KDZ-MZ", "member_admin")
        saved = await client.patch(
            "/api/v1/members/KDZ-MZ",
            headers=bearer(kdz_admin),
            json={"account_holder": "Stadtkasse Gießen-Süd (Abt. 3/4), Nr.: 5+6?'"},
        )
        created = await net(client, exchange.accountant)
        response = await client.get(
            f"/api/v1/netting-runs/{created.json()['id']}/payments.xml", headers=bearer(exchange.accountant)
        )
    assert saved.status_code == 200, saved.text
    assert saved.json()["account_holder"] == "Stadtkasse Gießen-Süd (Abt. 3/4), Nr.: 5+6?'"
    assert response.status_code == 200, response.text
    _, creditor = _names(response.content)
    assert creditor == "Stadtkasse Giessen-Sued (Abt. 3/4), Nr.: 5+6?'"


@pytest.mark.parametrize(
    "holder",
    [
        "Stadt & Land",  # & is not in the SEPA set
        "Kasse\nZwei",
        "Café Müller",  # é is no umlaut: banks refuse it
        "KOPIT\n",
    ],
    ids=["ampersand", "line-break", "accent", "trailing-line-feed"],
)
async def test_a_holder_outside_the_sepa_set_is_refused_when_saved(holder: str) -> None:
    await member("HZD", account_holder="Hessische Zentrale")
    admin = await token("KOPIT", "coop_admin")
    async with running_app() as client:
        response = await client.patch("/api/v1/members/HZD", headers=bearer(admin), json={"account_holder": holder})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "account_holder"
    assert await Member.select(Member.account_holder).where(Member.code == "HZD").first() == {
        "account_holder": "Hessische Zentrale"
    }
