"""Settlement runs: every agreement that ran in the month charged by the money rules, booked as one entry per
settlement, numbered without gaps; metered agreements without usage listed, not charged."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import ledger
from marketplace.settlement.tables import Settlement, SettlementRun
from tests.accounting.builders import bean_check
from tests.builders import bearer, running_app, token
from tests.settlement.helpers import Exchange, run, usage
from tests.settlement.scenario import EKOM_HZD, KDZ_HZD, PERIOD, TOTAL, february
from tests.test_cli import run_cli


async def test_a_run_charges_every_agreement_of_the_month_by_the_money_rules() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await february(client, exchange)
        result = await run(client, exchange, PERIOD)
        listed = (await client.get(f"/api/v1/settlements?period={PERIOD}", headers=bearer(exchange.accountant))).json()
        kdz = (await client.get("/api/v1/settlements/S-2025-000002", headers=bearer(exchange.accountant))).json()
    assert result["status"] == "done"
    assert result["totals"] == TOTAL
    assert result["counts"] == {
        "agreements": 5,
        "charged": 4,
        "already_charged": 0,
        "not_due": 0,
        "missing_usage": 1,
        "settlements": 2,
        "errors": 0,
    }
    assert result["progress"] == {"processed": 5, "total": 5, "percent": 100}
    assert [m["reference"] for m in result["missing_usage"]] == [made["missing"]["reference"]]
    assert [(s["number"], s["provider"], s["consumer"]) for s in listed["items"]] == [
        ("S-2025-000002", "KDZ-MZ", "HZD"),
        ("S-2025-000001", "EKOM21", "HZD"),
    ]
    assert {k: listed["items"][1]["totals"][k] for k in EKOM_HZD} == EKOM_HZD
    assert {k: kdz["totals"][k] for k in KDZ_HZD} == KDZ_HZD
    lines = {line["agreement_reference"]: line for line in kdz["lines"]}
    recurring = lines[made["recurring"]["reference"]]
    assert (recurring["quantity"], recurring["unit_price"], recurring["net"], recurring["tax"]) == (
        "3",
        "40.00",
        "81.43",
        "0.00",
    )
    assert (recurring["active_days"], recurring["days_in_month"]) == (19, 28)
    assert "anteilig 19/28 Tage" in recurring["description"]
    one_off = lines[made["one_off"]["reference"]]
    assert (one_off["net"], one_off["tax_rate"], one_off["tax"], one_off["gross"]) == (
        "300.00",
        "19",
        "57.00",
        "357.00",
    )
    metered = lines[made["metered"]["reference"]]
    assert (metered["quantity"], metered["net"], metered["tax"], metered["gross"]) == (
        "12.5",
        "112.38",
        "7.87",
        "120.25",
    )


async def test_each_settlement_is_one_ledger_entry_of_the_documented_shape() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        await run(client, exchange, PERIOD)
        body = (await client.get("/api/v1/settlements/S-2025-000002", headers=bearer(exchange.accountant))).json()
    entry = await ledger.get_entry(body["ledger_entry_id"])
    assert entry.date.isoformat() == "2025-02-28"
    assert entry.payee == "KDZ-MZ"
    assert entry.narration == "Leistungsverrechnung 2025-02 an HZD"
    assert entry.tags == ("settlement",)
    assert entry.links == ("S-2025-000002",)
    assert entry.metadata == {"settlement": "S-2025-000002", "period": "2025-02"}
    assert entry.idempotency_key == "settlement:S-2025-000002"
    assert [(p.account, p.amount) for p in entry.postings] == [
        ("Assets:Receivable:HZD", Decimal("558.68")),
        ("Liabilities:Payable:KDZ-MZ", Decimal("-558.68")),
    ]


async def test_a_fee_reduces_the_providers_payable_and_goes_to_income(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTLEMENT_FEE_PERCENT", "2")
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        result = await run(client, exchange, PERIOD)
        body = (await client.get("/api/v1/settlements/S-2025-000002", headers=bearer(exchange.accountant))).json()
    # 2 % of the net 493.81 = 9.8762 → 9.88; 2 % of 50.00 = 1.00
    assert body["totals"]["fee"] == "9.88"
    assert result["totals"]["fee"] == "10.88"
    assert result["fee_percent"] == "2"
    entry = await ledger.get_entry(body["ledger_entry_id"])
    assert [(p.account, p.amount) for p in entry.postings] == [
        ("Assets:Receivable:HZD", Decimal("558.68")),
        ("Liabilities:Payable:KDZ-MZ", Decimal("-548.80")),
        ("Income:Fees", Decimal("-9.88")),
    ]


async def test_receivables_equal_payables_plus_fees_and_bean_check_accepts_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTLEMENT_FEE_PERCENT", "1.5")
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        await run(client, exchange, PERIOD)
        await run(client, exchange, "2025-01")
    found = {b.account: b.amount for b in await ledger.balances()}
    receivables = sum(v for k, v in found.items() if k.startswith("Assets:Receivable:"))
    payables = -sum(v for k, v in found.items() if k.startswith("Liabilities:Payable:"))
    fees = -found.get("Income:Fees", Decimal(0))
    assert receivables > 0 and fees > 0
    assert receivables == payables + fees
    await ledger.export(str(tmp_path))
    checked = bean_check(tmp_path / "main.beancount")
    assert checked.returncode == 0, checked.stderr


async def test_numbers_are_gapless_per_year_across_runs() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        january = await run(client, exchange, "2025-01")
        february_run = await run(client, exchange, PERIOD)
        listed = (await client.get("/api/v1/settlements", headers=bearer(exchange.accountant))).json()
    numbers = sorted(item["number"] for item in listed["items"])
    total = january["counts"]["settlements"] + february_run["counts"]["settlements"]
    assert numbers == [f"S-2025-{n:06d}" for n in range(1, total + 1)]


async def test_a_repeated_run_charges_nothing_twice() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        first = await run(client, exchange, PERIOD)
        second = await run(client, exchange, PERIOD)
    assert first["counts"]["settlements"] == 2
    assert second["status"] == "done"
    assert second["counts"]["charged"] == 0
    assert second["counts"]["already_charged"] == 4
    assert second["counts"]["settlements"] == 0
    assert second["totals"]["gross"] == "0.00"
    assert await Settlement.count() == 2


async def test_late_usage_is_charged_by_the_next_run_and_nothing_else_again() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await february(client, exchange)
        await run(client, exchange, PERIOD)
        reported = await usage(client, exchange, made["missing"]["id"], PERIOD, "10", provider="EKOM21")
        again = await run(client, exchange, PERIOD)
    assert reported.status_code == 201, reported.text
    assert again["counts"]["charged"] == 1
    assert again["counts"]["missing_usage"] == 0
    assert again["totals"]["gross"] == "10.00"


async def test_a_period_that_has_not_ended_is_refused() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        current = await client.post(
            "/api/v1/settlement-runs", headers=bearer(exchange.accountant), json={"period": "2099-01"}
        )
        malformed = await client.post(
            "/api/v1/settlement-runs", headers=bearer(exchange.accountant), json={"period": "2025-13"}
        )
    assert current.status_code == 422
    assert "not ended" in current.json()["detail"]
    assert malformed.status_code == 422


async def test_a_closed_ledger_period_is_refused_with_409() -> None:
    exchange = await Exchange.make()
    await ledger.close_period("2025-02", actor="tests")
    async with running_app() as client:
        response = await client.post(
            "/api/v1/settlement-runs", headers=bearer(exchange.accountant), json={"period": PERIOD}
        )
    assert response.status_code == 409
    assert response.json()["state"] == "closed"


async def test_the_run_can_be_read_back_and_an_unknown_one_is_404() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        started = await run(client, exchange, PERIOD)
        read = await client.get(f"/api/v1/settlement-runs/{started['id']}", headers=bearer(exchange.admin))
        unknown = await client.get(
            "/api/v1/settlement-runs/00000000-0000-4000-8000-000000000000", headers=bearer(exchange.accountant)
        )
    assert read.status_code == 200
    assert read.json() == started
    assert unknown.status_code == 404


async def test_the_same_idempotency_key_answers_the_same_run() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        first = await run(client, exchange, PERIOD, **{"Idempotency-Key": "feb"})
        replay = await client.post(
            "/api/v1/settlement-runs",
            headers={**bearer(exchange.accountant), "Idempotency-Key": "feb"},
            json={"period": PERIOD},
        )
        other = await client.post(
            "/api/v1/settlement-runs",
            headers={**bearer(exchange.accountant), "Idempotency-Key": "feb"},
            json={"period": "2025-01"},
        )
    assert replay.status_code == 202
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Location"] == f"/api/v1/settlement-runs/{first['id']}"
    assert replay.json()["id"] == first["id"]
    assert other.status_code == 422
    assert await SettlementRun.count() == 1


@pytest.mark.parametrize("role", ["coop_admin", "auditor", "accountant", "buyer", "provider", "member_admin"])
async def test_only_the_coop_accountant_starts_runs(role: str) -> None:
    exchange = await Exchange.make()
    caller = await token("KOPIT" if role in ("coop_admin", "auditor") else "HZD", role)
    async with running_app() as client:
        response = await client.post("/api/v1/settlement-runs", headers=bearer(caller), json={"period": PERIOD})
    assert exchange.accountant
    assert response.status_code == 403


async def test_marketplace_settle_runs_a_period_from_the_command_line() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
    code, stdout, stderr = await run_cli("settle", "--period", PERIOD)
    assert code == 0, stderr
    assert "2 settlements" in stdout
    assert "gross 618.18 EUR" in stdout
    assert "missing usage" in stdout
    bad, _, error = await run_cli("settle", "--period", "2025-2")
    assert bad != 0
    assert "YYYY-MM" in error
    future, _, error = await run_cli("settle", "--period", "2099-01")
    assert future == 1
    assert "not ended" in error
