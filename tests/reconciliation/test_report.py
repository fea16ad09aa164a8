"""The reconciliation report of a period: settlements against their ledger entries, documents against ledger
totals, bank lines against payments booked, statements against the ledger's bank account; every difference listed.
Statements whose closing balance the ledger agrees with become Beancount balance assertions in the export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import ledger
from marketplace.reconciliation.tables import SettlementPayment
from marketplace.settlement.tables import Settlement
from tests.accounting.builders import bean_check
from tests.builders import bearer, running_app, token
from tests.reconciliation.helpers import (
    EKOM_SETTLEMENT,
    KDZ_SETTLEMENT,
    Entry,
    Statement,
    camt053,
    imported,
    settled,
    upload,
)
from tests.settlement.helpers import Exchange
from tests.test_cli import run_cli

PAID = Entry("558.68", "R-1", f"Rechnung {KDZ_SETTLEMENT}")


async def _report(client: httpx.AsyncClient, token_value: str, period: str, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/v1/reconciliation/{period}{query}", headers=bearer(token_value))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _differences(report: dict[str, Any]) -> set[tuple[str, str, str | None, str | None]]:
    return {(d["subject"], d["what"], d["expected"], d["found"]) for d in report["differences"]}


async def _export(tmp_path: Path) -> str:
    await ledger.export(str(tmp_path))
    return (tmp_path / "2025" / "2025-03.beancount").read_text()


async def test_a_settled_period_reconciles_without_differences() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        report = await _report(client, exchange.accountant, "2025-02")
    assert report["clean"] is True
    assert report["differences"] == []
    assert [s["number"] for s in report["settlements"]] == [EKOM_SETTLEMENT, KDZ_SETTLEMENT]
    assert all(s["ok"] for s in report["settlements"])
    kdz = report["settlements"][1]
    assert (kdz["gross"], kdz["lines_gross"], kdz["ledger_receivable"], kdz["ledger_payable"]) == (
        "558.68",
        "558.68",
        "558.68",
        "558.68",
    )
    assert report["totals"]["documents"] == {"receivable": "618.18", "payable": "618.18", "fee": "0.00"}
    assert report["totals"]["ledger"] == report["totals"]["documents"]


async def test_the_month_of_a_matched_statement_reconciles_without_differences() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        await imported(client, exchange, camt053(Statement(entries=[PAID])))
        report = await _report(client, exchange.accountant, "2025-03")
    assert report["clean"] is True, report["differences"]
    assert report["payments"] == {
        "lines": 1,
        "received": "558.68",
        "paid_out": "0.00",
        "ledger_received": "558.68",
        "ledger_paid_out": "0.00",
    }
    [statement] = report["statements"]
    assert (statement["opening_balance"], statement["closing_balance"], statement["ledger_balance"]) == (
        "1000.00",
        "1558.68",
        "1558.68",
    )
    assert (statement["consistent"], statement["asserted"]) == (True, True)


async def test_a_settlement_row_altered_in_the_database_is_listed_as_a_difference() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        # Net and gross together: the table's own check keeps gross = net + tax.
        await Settlement.update({Settlement.net_cents: 49481, Settlement.gross_cents: 55968}).where(
            Settlement.number == KDZ_SETTLEMENT
        )
        report = await _report(client, exchange.accountant, "2025-02")
    assert report["clean"] is False
    assert _differences(report) == {
        (KDZ_SETTLEMENT, "net: settlement against the sum of its lines", "494.81", "493.81"),
        (KDZ_SETTLEMENT, "gross: settlement against the sum of its lines", "559.68", "558.68"),
        (KDZ_SETTLEMENT, "ledger entry: Assets:Receivable:HZD", "559.68", "558.68"),
        (KDZ_SETTLEMENT, "ledger entry: Liabilities:Payable:KDZ-MZ", "-559.68", "-558.68"),
        ("totals", "receivables: documents against the ledger", "619.18", "618.18"),
        ("totals", "payables: documents against the ledger", "619.18", "618.18"),
    }
    assert [s["ok"] for s in report["settlements"]] == [True, False]


async def test_a_payment_record_that_its_bank_allocations_do_not_explain_is_listed() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        await imported(client, exchange, camt053(Statement(entries=[PAID])))
        kdz = await Settlement.select(Settlement.id).where(Settlement.number == KDZ_SETTLEMENT).first()
        assert kdz is not None
        await SettlementPayment.update({SettlementPayment.paid_cents: 50000}).where(
            SettlementPayment.settlement == kdz["id"]
        )
        report = await _report(client, exchange.accountant, "2025-02")
    assert report["clean"] is False
    assert _differences(report) == {
        (
            KDZ_SETTLEMENT,
            "consumer side: bank allocations and netting shares against the amount recorded as paid",
            "558.68",
            "500.00",
        ),
        (KDZ_SETTLEMENT, "consumer side: recorded as paid", "558.68", "500.00"),
    }


async def test_a_reversed_settlement_reconciles_against_its_reversal_entry() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        reversed_ = await client.post(
            f"/api/v1/settlements/{EKOM_SETTLEMENT}/reverse",
            headers=bearer(exchange.accountant),
            json={"reason": "falsche Menge"},
        )
        assert reversed_.status_code == 200, reversed_.text
        report = await _report(client, exchange.accountant, "2025-02")
    assert report["clean"] is True, report["differences"]
    assert report["totals"]["booked"] == 1
    assert report["totals"]["reversed"] == 1
    assert report["totals"]["documents"]["receivable"] == "558.68"
    assert report["totals"]["ledger"]["receivable"] == "558.68"
    assert report["settlements"][0]["reversal_entry_id"] is not None


async def test_a_statement_that_agrees_becomes_a_balance_assertion_that_bean_check_proves(tmp_path: Path) -> None:
    async with running_app() as client:
        exchange = await settled(client)
        result = await imported(client, exchange, camt053(Statement(entries=[PAID])))
        text = await _export(tmp_path)
    assert result["balance_differences"] == []
    assert "2025-03-11 balance Assets:Bank:Clearing  1558.68 EUR\n" in text
    checked = bean_check(tmp_path / "main.beancount")
    assert checked.returncode == 0, checked.stderr


async def test_the_first_statements_opening_balance_is_booked_once_against_equity() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        await imported(client, exchange, camt053(Statement(entries=[PAID])))
        second = Statement(
            entries=[Entry("59.50", "R-2", f"Rechnung {EKOM_SETTLEMENT}", booked="2025-03-11")],
            identifier="STMT-2025-03-11",
            opening="1558.68",
            day="2025-03-11",
        )
        await imported(client, exchange, camt053(second))
        report = await _report(client, exchange.accountant, "2025-03")
    opening = await ledger.get_entry_by_key("bank-opening:DE02120300000000202051")
    assert opening is not None
    assert {(p.account, str(p.amount)) for p in opening.postings} == {
        ("Assets:Bank:Clearing", "1000.00"),
        ("Equity:Bank-Opening-Balance", "-1000.00"),
    }
    assert [(s["reference"], s["asserted"]) for s in report["statements"]] == [
        ("STMT-2025-03-10", True),
        ("STMT-2025-03-11", True),
    ]
    assert report["clean"] is True, report["differences"]


async def test_a_statement_whose_closing_balance_disagrees_is_named_and_not_asserted(tmp_path: Path) -> None:
    async with running_app() as client:
        exchange = await settled(client)
        content = camt053(Statement(entries=[PAID], closing="1558.18"))
        result = await imported(client, exchange, content)
        report = await _report(client, exchange.accountant, "2025-03")
        text = await _export(tmp_path)
    assert (
        "STMT-2025-03-10: closing balance 1558.18 on 2025-03-10 is not asserted in the ledger "
        "(the journal holds 1558.68 EUR; difference -0.50)"
    ) in result["balance_differences"]
    assert _differences(report) == {
        ("statement STMT-2025-03-10", "closing balance: opening balance + entries", "1558.18", "1558.68"),
        ("statement STMT-2025-03-10", "closing balance on 2025-03-10: the ledger's bank account", "1558.18", "1558.68"),
    }
    assert report["statements"][0]["asserted"] is False
    assert "balance Assets:Bank:Clearing" not in text
    checked = bean_check(tmp_path / "main.beancount")
    assert checked.returncode == 0, checked.stderr


async def test_an_older_statement_after_an_asserted_newer_one_is_refused_and_stores_nothing() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        newer = Statement(
            entries=[Entry("10.00", "R-2", booked="2025-03-12")], identifier="STMT-2025-03-12", day="2025-03-12"
        )
        await imported(client, exchange, camt053(newer))
        older = camt053(Statement(entries=[PAID], identifier="STMT-2025-03-10"))
        refused = await upload(client, exchange.accountant, older)
        report = await _report(client, exchange.accountant, "2025-03")
    assert refused.status_code == 409, refused.text
    assert refused.json()["state"] == "reconciled"
    assert [s["reference"] for s in report["statements"]] == ["STMT-2025-03-12"]
    assert report["clean"] is True, report["differences"]


async def test_a_members_accountant_reads_only_its_members_part() -> None:
    async with running_app() as client:
        await settled(client)
        hzd = await token("HZD", "accountant")
        own = await _report(client, hzd, "2025-02")
        other = await client.get("/api/v1/reconciliation/2025-02?member=KDZ-MZ", headers=bearer(hzd))
        ekom = await _report(client, await token("EKOM21", "accountant"), "2025-02")
    assert (own["member"], own["payments"], own["statements"]) == ("HZD", None, None)
    assert own["totals"]["documents"] == {"receivable": "618.18", "payable": "0.00", "fee": "0.00"}
    assert own["clean"] is True
    assert other.status_code == 404
    assert [s["number"] for s in ekom["settlements"]] == [EKOM_SETTLEMENT]
    assert ekom["totals"]["ledger"] == {"receivable": "0.00", "payable": "59.50", "fee": "0.00"}


@pytest.mark.parametrize("role", ["coop_admin", "auditor"])
async def test_the_cooperatives_readers_see_the_whole_report(role: str) -> None:
    async with running_app() as client:
        await settled(client)
        report = await _report(client, await token("KOPIT", role), "2025-02")
    assert report["member"] is None
    assert len(report["settlements"]) == 2


@pytest.mark.parametrize("role", ["buyer", "provider", "member_admin"])
async def test_other_roles_may_not_read_the_report(role: str) -> None:
    async with running_app() as client:
        await settled(client)
        response = await client.get("/api/v1/reconciliation/2025-02", headers=bearer(await token("HZD", role)))
    assert response.status_code == 403


@pytest.mark.parametrize("period", ["2025-13", "März", "2025-2"])
async def test_a_malformed_period_answers_422(period: str) -> None:
    async with running_app() as client:
        exchange = await Exchange.make()
        response = await client.get(f"/api/v1/reconciliation/{period}", headers=bearer(exchange.accountant))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "period"


async def test_reconcile_on_the_command_line_exits_0_when_clean_and_1_with_differences() -> None:
    async with running_app() as client:
        await settled(client)
    clean = await run_cli("reconcile", "--period", "2025-02")
    await Settlement.update({Settlement.net_cents: 5100, Settlement.gross_cents: 6050}).where(
        Settlement.number == EKOM_SETTLEMENT
    )
    broken = await run_cli("reconcile", "--period", "2025-02")
    assert clean[0] == 0, clean[2]
    assert "clean: no differences" in clean[1]
    assert broken[0] == 1
    assert f"DIFFERENCE {EKOM_SETTLEMENT}: net: settlement against the sum of its lines" in broken[2]


async def test_bank_import_on_the_command_line_books_the_statement(tmp_path: Path) -> None:
    async with running_app() as client:
        await settled(client)
    path = tmp_path / "statement.xml"
    path.write_bytes(camt053(Statement(entries=[PAID])))
    code, stdout, stderr = await run_cli("bank", "import", str(path))
    again = await run_cli("bank", "import", str(path))
    assert code == 0, stderr
    assert "1 new line(s)" in stdout
    assert "0 new line(s), 1 already known" in again[1]


async def test_a_statement_covers_the_days_from_the_day_after_its_prcd_balance_to_its_clbd_balance() -> None:
    async with running_app() as client:
        exchange = await settled(client)
        result = await imported(client, exchange, camt053(Statement(entries=[PAID], day="2025-03-10")))
    [statement] = result["statements"]
    assert (statement["opening_date"], statement["closing_date"]) == ("2025-03-10", "2025-03-10")
