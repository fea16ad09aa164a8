"""Netting and payouts: three members owing each other in a cycle are netted (one ledger entry each), the payouts
that remain are the fewest transfers, and the SEPA pain.001 file carries them with the settlement numbers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

import ledger
from marketplace.members.tables import Member
from marketplace.reconciliation.tables import NettingShare
from tests.accounting.builders import bean_check
from tests.builders import bearer, running_app, token
from tests.reconciliation.helpers import AS_OF, CLEARING_IBAN, KDZ_IBAN, cycle, net
from tests.settlement.helpers import Exchange

PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
NS = {"p": PAIN}


async def _balance(account: str) -> Decimal:
    return {b.account: b.amount for b in await ledger.balances()}.get(account, Decimal(0))


async def test_a_cycle_is_netted_and_leaves_the_fewest_transfers(tmp_path: Path) -> None:
    async with running_app() as client:
        exchange, numbers = await cycle(client)
        response = await net(client, exchange.accountant)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        entries = {o["member"]: await ledger.get_entry(o["ledger_entry_id"]) for o in body["offsets"]}
        balances = {
            code: (await _balance(f"Assets:Receivable:{code}"), await _balance(f"Liabilities:Payable:{code}"))
            for code in ("HZD", "KDZ-MZ", "EKOM21")
        }
        items = await client.get(f"/api/v1/open-items?as_of={AS_OF}", headers=bearer(exchange.accountant))
        again = await net(client, exchange.accountant)
    assert {(o["member"], o["receivable"], o["payable"], o["amount"]) for o in body["offsets"]} == {
        ("HZD", "100.00", "60.00", "60.00"),
        ("KDZ-MZ", "30.00", "100.00", "30.00"),
        ("EKOM21", "60.00", "30.00", "30.00"),
    }
    [payout] = body["payouts"]
    assert body["transfers"] == 1
    assert (payout["member"], payout["amount"], payout["status"]) == ("KDZ-MZ", "70.00", "proposed")
    assert payout["settlements"] == [numbers["KDZ-MZ"]]
    assert payout["end_to_end_id"] == numbers["KDZ-MZ"]
    assert numbers["KDZ-MZ"] in payout["remittance"]
    assert body["payouts_total"] == "70.00"
    assert body["errors"] == []
    hzd = entries["HZD"]
    assert hzd.idempotency_key == f"netting:{body['id']}:HZD"
    assert "netting" in hzd.tags
    assert set(hzd.links) == {numbers["KDZ-MZ"], numbers["HZD"]}
    assert {(p.account, p.amount) for p in hzd.postings} == {
        ("Liabilities:Payable:HZD", Decimal("60.00")),
        ("Assets:Receivable:HZD", Decimal("-60.00")),
    }
    # Receivables are positive, payables negative: HZD owes 40, EKOM21 owes 30, KDZ-MZ is owed 70.
    assert balances == {
        "HZD": (Decimal("40.00"), Decimal("0")),
        "KDZ-MZ": (Decimal("0"), Decimal("-70.00")),
        "EKOM21": (Decimal("30.00"), Decimal("0")),
    }
    open_items = {(i["member"], i["kind"], i["open"]) for i in items.json()["items"]}
    assert open_items == {
        ("HZD", "receivable", "40.00"),
        ("EKOM21", "receivable", "30.00"),
        ("KDZ-MZ", "payable", "70.00"),
    }
    # Netting again nets nothing more and proposes the same single payout.
    assert again.status_code == 201, again.text
    assert again.json()["offsets"] == []
    assert [(p["member"], p["amount"]) for p in again.json()["payouts"]] == [("KDZ-MZ", "70.00")]
    await ledger.export(str(tmp_path))
    checked = bean_check(tmp_path / "main.beancount")
    assert checked.returncode == 0, checked.stderr
    assert "#netting" in (tmp_path / "2025" / "2025-03.beancount").read_text()


async def test_a_netted_period_reconciles_with_each_share_traced_to_its_settlement() -> None:
    async with running_app() as client:
        exchange, numbers = await cycle(client)
        assert (await net(client, exchange.accountant)).status_code == 201
        report = await client.get("/api/v1/reconciliation/2025-02", headers=bearer(exchange.accountant))
    shares = {
        (row["settlement.number"], row["side"], row["amount_cents"])
        for row in await NettingShare.select(
            NettingShare.settlement.number, NettingShare.side, NettingShare.amount_cents
        )
    }
    assert report.json()["differences"] == []
    # Each member's offset lies on the consumer side of what it owes and the provider side of what it is owed
    # (settlements named by their provider): HZD 60.00, KDZ-MZ 30.00, EKOM21 30.00.
    assert shares == {
        (numbers["KDZ-MZ"], "consumer", 6000),
        (numbers["HZD"], "provider", 6000),
        (numbers["EKOM21"], "consumer", 3000),
        (numbers["KDZ-MZ"], "provider", 3000),
        (numbers["HZD"], "consumer", 3000),
        (numbers["EKOM21"], "provider", 3000),
    }


async def test_the_payments_file_carries_the_end_to_end_ids_and_amounts() -> None:
    async with running_app() as client:
        exchange, numbers = await cycle(client)
        await Member.update({Member.account_holder: "KOPIT eG Verrechnungskonto", Member.bic: "HELADEFFXXX"}).where(
            Member.code == "KOPIT"
        )
        created = await net(client, exchange.accountant)
        run_id = created.json()["id"]
        response = await client.get(f"/api/v1/netting-runs/{run_id}/payments.xml", headers=bearer(exchange.accountant))
        forbidden = await client.get(
            f"/api/v1/netting-runs/{run_id}/payments.xml", headers=bearer(exchange.kdz_provider)
        )
        missing = await client.get(
            "/api/v1/netting-runs/00000000-0000-4000-8000-000000000000/payments.xml",
            headers=bearer(exchange.accountant),
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert forbidden.status_code == 403
    assert missing.status_code == 404
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{PAIN}}}Document"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "1"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "70.00"
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", namespaces=NS)
    assert info is not None
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == CLEARING_IBAN
    assert info.findtext("p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "HELADEFFXXX"
    assert info.findtext("p:Dbtr/p:Nm", namespaces=NS) == "KOPIT eG Verrechnungskonto"
    [transfer] = info.findall("p:CdtTrfTxInf", namespaces=NS)
    assert transfer.findtext("p:PmtId/p:EndToEndId", namespaces=NS) == numbers["KDZ-MZ"]
    amount = transfer.find("p:Amt/p:InstdAmt", namespaces=NS)
    assert amount is not None and (amount.text, amount.get("Ccy")) == ("70.00", "EUR")
    assert transfer.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == KDZ_IBAN
    assert transfer.findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "MALADE51MNZ"
    assert numbers["KDZ-MZ"] in (transfer.findtext("p:RmtInf/p:Ustrd", namespaces=NS) or "")


async def test_a_payee_without_valid_bank_details_is_an_error_not_a_transfer() -> None:
    async with running_app() as client:
        exchange, _ = await cycle(client)
        await Member.update({Member.iban: "DE00500105175407324931"}).where(Member.code == "KDZ-MZ")
        created = await net(client, exchange.accountant)
        response = await client.get(
            f"/api/v1/netting-runs/{created.json()['id']}/payments.xml", headers=bearer(exchange.accountant)
        )
    assert created.status_code == 201, created.text
    [error] = created.json()["errors"]
    assert error.startswith("KDZ-MZ: IBAN")
    assert created.json()["payouts"][0]["bank_details_ok"] is False
    assert response.status_code == 409  # the only payout cannot be paid: no file


async def test_only_the_coop_accountant_may_net() -> None:
    async with running_app() as client:
        exchange, _ = await cycle(client)
        auditor = await token("KOPIT", "auditor")
        member_accountant = await token("HZD", "accountant")
        answers = [
            (await net(client, value)).status_code
            for value in (exchange.admin, auditor, member_accountant, exchange.kdz_provider)
        ]
        runs = await client.get("/api/v1/open-items?member=HZD&as_of=2025-03-31", headers=bearer(exchange.accountant))
    assert answers == [403, 403, 403, 403]
    assert runs.json()["receivables"]["total"] == "100.00"  # nothing was netted


async def test_the_same_idempotency_key_creates_one_run() -> None:
    async with running_app() as client:
        exchange, _ = await cycle(client)
        first = await net(client, exchange.accountant, **{"Idempotency-Key": "netting-1"})
        replay = await net(client, exchange.accountant, **{"Idempotency-Key": "netting-1"})
        other = await client.post(
            "/api/v1/netting-runs",
            headers={**bearer(exchange.accountant), "Idempotency-Key": "netting-1"},
            json={"as_of": "2025-03-30"},
        )
    assert first.status_code == replay.status_code == 201, first.text
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    from marketplace.reconciliation.tables import NettingOffset, NettingRun

    assert await NettingRun.count() == 1
    assert await NettingOffset.count() == 3


async def test_a_day_in_the_future_is_refused() -> None:
    async with running_app() as client:
        exchange = await Exchange.make()
        response = await client.post(
            "/api/v1/netting-runs", headers=bearer(exchange.accountant), json={"as_of": "2999-01-01"}
        )
    assert response.status_code == 422
