"""Matching: by the settlement number in the remittance or the EndToEndId, then by amount and payer IBAN; partial
and over-payments; unmatched money listed and assigned by hand; payouts mark the provider's side paid. Every match
is a ledger entry linked to the settlement, and bean-check accepts the export afterwards."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

import ledger
from tests.accounting.builders import bean_check
from tests.builders import bearer, running_app
from tests.reconciliation.helpers import (
    EKOM_SETTLEMENT,
    KDZ_IBAN,
    KDZ_SETTLEMENT,
    STRANGER_IBAN,
    V02,
    Entry,
    Statement,
    camt053,
    imported,
    settled,
    upload,
)
from tests.settlement.helpers import Exchange


async def _items(client: httpx.AsyncClient, exchange: Exchange, member: str = "HZD") -> dict[str, dict[str, Any]]:
    response = await client.get(
        f"/api/v1/open-items?member={member}&as_of=2025-03-31", headers=bearer(exchange.accountant)
    )
    assert response.status_code == 200, response.text
    return {f"{item['settlement']}:{item['kind']}": item for item in response.json()["items"]}


async def _balance(account: str) -> Decimal:
    return {b.account: b.amount for b in await ledger.balances()}.get(account, Decimal(0))


async def _only_line(result: dict[str, Any]) -> dict[str, Any]:
    [line] = result["lines"]
    return dict(line)


async def test_a_full_payment_by_reference_books_the_receivable_and_marks_the_settlement_paid() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        receivable = await _balance("Assets:Receivable:HZD")
        result = await imported(
            client, exchange, camt053(Statement(entries=[Entry("558.68", "R-1", f"Rechnung {KDZ_SETTLEMENT} Feb")]))
        )
        items = await _items(client, exchange)
        line = await _only_line(result)
        entry = await ledger.get_entry(line["ledger_entry_id"])
        assert await _balance("Assets:Receivable:HZD") == receivable - Decimal("558.68")
        # The first statement's opening balance (1000.00) is booked once, then the payment.
        assert await _balance("Assets:Bank:Clearing") == Decimal("1558.68")
    assert (line["status"], line["unallocated"]) == ("matched", "0.00")
    assert line["allocations"] == [
        {
            "settlement": KDZ_SETTLEMENT,
            "side": "consumer",
            "method": "reference",
            "amount": "558.68",
            "ledger_entry_id": line["ledger_entry_id"],
            "settlement_status": "paid",
        }
    ]
    assert entry.links == (KDZ_SETTLEMENT,)
    assert {(p.account, p.amount) for p in entry.postings} == {
        ("Assets:Bank:Clearing", Decimal("558.68")),
        ("Assets:Receivable:HZD", Decimal("-558.68")),
    }
    assert f"{KDZ_SETTLEMENT}:receivable" not in items
    assert f"{EKOM_SETTLEMENT}:receivable" in items


async def test_the_end_to_end_id_names_the_settlement_too() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        content = camt053(Statement(entries=[Entry("59.50", "R-1", "Danke", end_to_end=EKOM_SETTLEMENT)]), version=V02)
        line = await _only_line(await imported(client, exchange, content))
    assert line["allocations"][0]["settlement"] == EKOM_SETTLEMENT
    assert line["status"] == "matched"


async def test_a_partial_payment_leaves_the_settlement_partially_paid() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        line = await _only_line(
            await imported(client, exchange, camt053(Statement(entries=[Entry("200.00", "R-1", KDZ_SETTLEMENT)])))
        )
        items = await _items(client, exchange)
    assert line["allocations"][0]["settlement_status"] == "partially_paid"
    item = items[f"{KDZ_SETTLEMENT}:receivable"]
    assert (item["amount"], item["paid"], item["open"], item["status"]) == (
        "558.68",
        "200.00",
        "358.68",
        "partially_paid",
    )


async def test_an_over_payment_books_the_rest_as_unallocated_and_it_can_be_assigned_by_hand() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        line = await _only_line(
            await imported(client, exchange, camt053(Statement(entries=[Entry("600.00", "R-1", EKOM_SETTLEMENT)])))
        )
        assert await _balance("Liabilities:Unallocated") == Decimal("-540.50")
        listed = (await client.get("/api/v1/bank-statements", headers=bearer(exchange.accountant))).json()
        assigned = await client.post(
            f"/api/v1/bank-statements/lines/{line['id']}/assign",
            headers=bearer(exchange.accountant),
            json={"settlement": KDZ_SETTLEMENT},
        )
        again = await client.post(
            f"/api/v1/bank-statements/lines/{line['id']}/assign",
            headers=bearer(exchange.accountant),
            json={"settlement": KDZ_SETTLEMENT},
        )
        assert await _balance("Liabilities:Unallocated") == Decimal("0.00")
        items = await _items(client, exchange)
    assert (line["status"], line["unallocated"]) == ("partially_matched", "540.50")
    assert line["allocations"][0]["amount"] == "59.50"
    assert [entry["id"] for entry in listed["items"][0]["unmatched_lines"]] == [line["id"]]
    assert assigned.status_code == 200, assigned.text
    body = assigned.json()
    assert (body["status"], body["unallocated"]) == ("matched", "0.00")
    assert [(a["settlement"], a["method"], a["amount"]) for a in body["allocations"]] == [
        (EKOM_SETTLEMENT, "reference", "59.50"),
        (KDZ_SETTLEMENT, "manual", "540.50"),
    ]
    assert again.status_code == 409
    assert again.json()["state"] == "matched"
    assert items[f"{KDZ_SETTLEMENT}:receivable"]["open"] == "18.18"


async def test_a_payment_matched_by_amount_and_payer_iban() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        line = await _only_line(
            await imported(client, exchange, camt053(Statement(entries=[Entry("59.50", "R-1", "Februar")])))
        )
    assert [(a["settlement"], a["method"]) for a in line["allocations"]] == [(EKOM_SETTLEMENT, "amount_and_iban")]


async def test_a_payment_that_matches_nothing_is_listed_unallocated_and_assigned_in_part() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        unknown = Entry("42.00", "R-1", "Gutschrift", counterparty_iban=STRANGER_IBAN)
        wrong_number = Entry("59.50", "R-2", "S-2025-000099")
        result = await imported(client, exchange, camt053(Statement(entries=[unknown, wrong_number])))
        listed = (await client.get("/api/v1/bank-statements", headers=bearer(exchange.accountant))).json()
        line = {line["bank_reference"]: line for line in result["lines"]}["R-1"]
        entry = await ledger.get_entry(line["ledger_entry_id"])
        too_much = await client.post(
            f"/api/v1/bank-statements/lines/{line['id']}/assign",
            headers=bearer(exchange.accountant),
            json={"settlement": EKOM_SETTLEMENT, "amount": "59.50"},
        )
        unknown_settlement = await client.post(
            f"/api/v1/bank-statements/lines/{line['id']}/assign",
            headers=bearer(exchange.accountant),
            json={"settlement": "S-2025-000099"},
        )
        partly = await client.post(
            f"/api/v1/bank-statements/lines/{line['id']}/assign",
            headers=bearer(exchange.accountant),
            json={"settlement": EKOM_SETTLEMENT, "amount": "40.00"},
        )
        items = await _items(client, exchange)
    assert (result["matched"], result["unmatched"]) == (0, 2)
    assert {(p.account, p.amount) for p in entry.postings} == {
        ("Assets:Bank:Clearing", Decimal("42.00")),
        ("Liabilities:Unallocated", Decimal("-42.00")),
    }
    assert sorted(line["bank_reference"] for line in listed["items"][0]["unmatched_lines"]) == ["R-1", "R-2"]
    assert too_much.status_code == 409
    assert unknown_settlement.status_code == 404
    assert partly.status_code == 200, partly.text
    assert (partly.json()["status"], partly.json()["unallocated"]) == ("partially_matched", "2.00")
    assert items[f"{EKOM_SETTLEMENT}:receivable"]["open"] == "19.50"


async def test_a_payout_to_the_provider_marks_its_side_paid() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        payout = Entry("-558.68", "R-1", f"Auszahlung {KDZ_SETTLEMENT}", counterparty_iban=KDZ_IBAN)
        elsewhere = Entry("-59.50", "R-2", EKOM_SETTLEMENT, counterparty_iban=STRANGER_IBAN)
        result = await imported(client, exchange, camt053(Statement(entries=[payout, elsewhere])))
        lines = {line["bank_reference"]: line for line in result["lines"]}
        entry = await ledger.get_entry(lines["R-1"]["ledger_entry_id"])
        before = await _items(client, exchange, "KDZ-MZ")
        ekom = await _items(client, exchange, "EKOM21")
    assert lines["R-1"]["allocations"][0]["side"] == "provider"
    assert lines["R-1"]["allocations"][0]["settlement_status"] == "paid"
    assert {(p.account, p.amount) for p in entry.postings} == {
        ("Liabilities:Payable:KDZ-MZ", Decimal("558.68")),
        ("Assets:Bank:Clearing", Decimal("-558.68")),
    }
    assert f"{KDZ_SETTLEMENT}:payable" not in before
    assert lines["R-2"]["status"] == "unmatched"  # not the provider's account
    assert lines["R-2"]["unallocated"] == "-59.50"
    assert f"{EKOM_SETTLEMENT}:payable" in ekom


async def test_bean_check_accepts_the_export_after_matching(tmp_path: Path) -> None:
    async with running_app() as client:
        exchange = await settled(client)
        entries = [
            Entry("558.68", "R-1", KDZ_SETTLEMENT),
            Entry("50.00", "R-2", EKOM_SETTLEMENT),
            Entry("7.00", "R-3", 'Text mit "Anführungszeichen" \\ und Umlauten', counterparty_iban=STRANGER_IBAN),
            Entry("-558.68", "R-4", KDZ_SETTLEMENT, counterparty_iban=KDZ_IBAN),
        ]
        result = await imported(client, exchange, camt053(Statement(entries=entries)))
        line = {line["bank_reference"]: line for line in result["lines"]}["R-3"]
        assigned = await client.post(
            f"/api/v1/bank-statements/lines/{line['id']}/assign",
            headers=bearer(exchange.accountant),
            json={"settlement": EKOM_SETTLEMENT},
        )
        assert assigned.status_code == 200, assigned.text
    await ledger.export(str(tmp_path))
    checked = bean_check(tmp_path / "main.beancount")
    assert checked.returncode == 0, checked.stderr
    assert await _balance("Assets:Bank:Clearing") == Decimal("1057.00")  # opening balance 1000.00 + 57.00
    assert "^S-2025-000002" in (tmp_path / "2025" / "2025-03.beancount").read_text()


async def test_an_idempotency_key_replays_the_import_and_the_assignment() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        content = camt053(Statement(entries=[Entry("42.00", "R-1", "ohne Bezug", counterparty_iban=STRANGER_IBAN)]))
        first = await upload(client, exchange.accountant, content, **{"Idempotency-Key": "import-1"})
        replay = await upload(client, exchange.accountant, content, **{"Idempotency-Key": "import-1"})
        line = first.json()["lines"][0]
        path = f"/api/v1/bank-statements/lines/{line['id']}/assign"
        headers = {**bearer(exchange.accountant), "Idempotency-Key": "assign-1"}
        assigned = await client.post(path, headers=headers, json={"settlement": EKOM_SETTLEMENT, "amount": "10.00"})
        again = await client.post(path, headers=headers, json={"settlement": EKOM_SETTLEMENT, "amount": "10.00"})
        other = await client.post(path, headers=headers, json={"settlement": EKOM_SETTLEMENT, "amount": "11.00"})
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert assigned.status_code == again.status_code == 200
    assert again.json() == assigned.json()
    assert assigned.json()["unallocated"] == "32.00"
    assert other.status_code == 422
