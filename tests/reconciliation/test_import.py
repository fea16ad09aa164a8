"""Bank statement import: camt.053 (.001.02 and .001.08) and CSV, each line stored once, exact amounts,
balances checked and differences reported, a malformed or foreign file refused whole (422, nothing stored)."""

from __future__ import annotations

import pytest

from ledger.tables import Entry as EntryRow
from marketplace.reconciliation.tables import BankAllocation, BankLine, BankStatement, SettlementPayment
from tests.builders import bearer, running_app
from tests.reconciliation.helpers import (
    CLEARING_IBAN,
    KDZ_SETTLEMENT,
    STRANGER_IBAN,
    V02,
    V08,
    Entry,
    Statement,
    camt053,
    imported,
    settled,
    upload,
)


async def _counts() -> tuple[int, int, int, int, int]:
    return (
        await BankStatement.count(),
        await BankLine.count(),
        await BankAllocation.count(),
        await SettlementPayment.count(),
        await EntryRow.count(),
    )


@pytest.mark.parametrize("version", [V02, V08])
async def test_both_camt_versions_are_read_with_exact_amounts(version: str) -> None:
    async with running_app() as client:
        exchange = await settled(client)
        content = camt053(
            Statement(
                entries=[
                    Entry("0.01", reference="R-1", remittance="Kleinstbetrag"),
                    Entry("-12345678.99", reference="R-2", counterparty_iban=STRANGER_IBAN, remittance="Miete"),
                ]
            ),
            version=version,
        )
        result = await imported(client, exchange, content)
    assert result["imported"] == 2 and result["duplicates"] == 0
    [statement] = result["statements"]
    assert statement["account_iban"] == CLEARING_IBAN
    assert statement["format"] == "camt.053"
    assert (statement["opening_balance"], statement["entries_total"]) == ("1000.00", "-12345678.98")
    assert statement["balance_ok"] is True and statement["balance_difference"] == "0.00"
    amounts = {line["bank_reference"]: line["amount"] for line in result["lines"]}
    assert amounts == {"R-1": "0.01", "R-2": "-12345678.99"}
    assert {line["bank_reference"]: line["counterparty_name"] for line in result["lines"]}["R-1"].startswith(
        "Hessische"
    )


async def test_the_same_file_imported_twice_changes_nothing() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        content = camt053(
            Statement(
                entries=[
                    Entry("558.68", reference="R-1", remittance=f"Rechnung {KDZ_SETTLEMENT}"),
                    Entry("10.00", remittance="ohne Bankreferenz"),
                    Entry("10.00", remittance="ohne Bankreferenz"),
                ]
            )
        )
        first = await imported(client, exchange, content)
        before = await _counts()
        second = await imported(client, exchange, content)
        after = await _counts()
        settlement = await client.get("/api/v1/open-items?member=HZD", headers=bearer(exchange.accountant))
    assert (first["imported"], first["duplicates"]) == (3, 0)
    assert (second["imported"], second["duplicates"]) == (0, 3)
    assert before == after
    assert before[1] == 3  # two identical entries without a bank reference are still two lines
    assert [s["id"] for s in second["statements"]] == [s["id"] for s in first["statements"]]
    assert KDZ_SETTLEMENT not in {item["settlement"] for item in settlement.json()["items"]}


async def test_a_closing_balance_that_disagrees_is_reported() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        content = camt053(Statement(entries=[Entry("100.00", reference="R-1")], opening="1000.00", closing="1099.50"))
        result = await imported(client, exchange, content)
        listed = (await client.get("/api/v1/bank-statements", headers=bearer(exchange.accountant))).json()
    [statement] = result["statements"]
    assert statement["balance_ok"] is False
    assert statement["balance_difference"] == "-0.50"
    assert result["balance_differences"] == [
        "STMT-2025-03-10: opening 1000.00 + entries 100.00 differs from closing 1099.50 by -0.50",
        "STMT-2025-03-10: closing balance 1099.50 on 2025-03-10 is not asserted in the ledger "
        "(the journal holds 1100.00 EUR; difference -0.50)",
    ]
    assert listed["items"][0]["statement"]["balance_ok"] is False


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'><BkToCstmrStmt>", "well-formed"),
        (
            b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'><CstmrCdtTrfInitn/></Document>",
            "namespace",
        ),
        (b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "DOCTYPE"),
        (b"", "empty"),
        (b"date;betrag\n2025-03-01;12\n", "CSV header lacks"),
        (camt053(Statement(entries=[Entry("1.005", reference="R-1")])), "two decimal places"),
        (camt053(Statement(entries=[Entry("10.00", reference="R-1", currency="USD")])), "only EUR"),
        (camt053(Statement(iban="DE00123")), "IBAN"),
    ],
)
async def test_a_malformed_or_foreign_file_answers_422_and_stores_nothing(content: bytes, reason: str) -> None:
    async with running_app() as client:
        exchange = await settled(client)
        before = await _counts()
        response = await upload(client, exchange.accountant, content)
        after = await _counts()
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert reason in response.json()["detail"]
    assert before == after


async def test_a_bad_entry_after_good_ones_leaves_nothing_half_imported() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        before = await _counts()
        good = [Entry("558.68", reference="R-1", remittance=KDZ_SETTLEMENT), Entry("5.00", reference="R-2")]
        response = await upload(
            client, exchange.accountant, camt053(Statement(entries=[*good, Entry("3.00", "R-3", currency="CHF")]))
        )
        after = await _counts()
    assert response.status_code == 422
    assert before == after


async def test_a_statement_of_another_account_is_refused() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        response = await upload(client, exchange.accountant, camt053(Statement(iban=STRANGER_IBAN)))
    assert response.status_code == 422
    assert "not the clearing account" in response.json()["detail"]
    assert await BankStatement.count() == 0


async def test_a_csv_statement_is_imported_and_matched() -> None:
    csv = (
        "account_iban;booking_date;value_date;amount;currency;counterparty_iban;counterparty_name;remittance;"
        "end_to_end_id;bank_reference\n"
        f"{CLEARING_IBAN};2025-03-12;2025-03-12;558,68;EUR;DE89370400440532013000;HZD;;{KDZ_SETTLEMENT};CSV-1\n"
        f"{CLEARING_IBAN};2025-03-12;;7.50;EUR;;;Spende;;\n"
    ).encode()
    async with running_app() as client:
        exchange = await settled(client)
        first = await upload(client, exchange.accountant, csv, name="umsaetze.csv")
        second = await upload(client, exchange.accountant, csv, name="umsaetze.csv")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["statements"][0]["format"] == "csv"
    assert body["statements"][0]["balance_ok"] is None
    lines = {line["amount"]: line for line in body["lines"]}
    assert lines["558.68"]["status"] == "matched"
    assert lines["558.68"]["allocations"][0]["settlement"] == KDZ_SETTLEMENT
    assert lines["7.50"]["status"] == "unmatched"
    assert (second.json()["imported"], second.json()["duplicates"]) == (0, 2)
