"""Balances and statements over HTTP: exact decimal strings, running balances, validated dates."""

from __future__ import annotations

import pytest

from tests.accounting.builders import journal
from tests.builders import bearer, running_app, token


async def test_balances_answer_money_as_decimal_strings_with_two_places() -> None:
    await journal()
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        body = (await client.get("/api/v1/ledger/balances", headers=bearer(caller))).json()
    accounts = {item["account"]: item["balance"] for item in body["accounts"]}
    assert accounts == {
        "Assets:Bank:Clearing": "1190.00",
        "Assets:Receivable:EKOM21": "238.00",
        "Assets:Receivable:HZD": "0.00",
        "Liabilities:Payable:KDZ-MZ": "-1428.00",
    }
    positions = {item["member"]: item for item in body["members"]}
    assert set(positions) == {"EKOM21", "HZD", "KDZ-MZ", "KOPIT"}
    assert positions["KDZ-MZ"] == {
        "member": "KDZ-MZ",
        "currency": "EUR",
        "receivable": "0.00",
        "payable": "1428.00",
        "net": "-1428.00",
    }
    assert positions["HZD"]["net"] == "0.00"


async def test_balances_as_of_a_day_leave_out_later_entries() -> None:
    await journal()
    caller = await token("HZD", "accountant")
    async with running_app() as client:
        body = (await client.get("/api/v1/ledger/balances?as_of=2026-10-31", headers=bearer(caller))).json()
    assert body["as_of"] == "2026-10-31"
    assert body["accounts"] == [{"account": "Assets:Receivable:HZD", "currency": "EUR", "balance": "1190.00"}]
    assert body["members"][0]["net"] == "1190.00"


async def test_statement_carries_a_running_balance_per_account() -> None:
    entries = await journal()
    caller = await token("HZD", "accountant")
    async with running_app() as client:
        body = (await client.get("/api/v1/ledger/statement", headers=bearer(caller))).json()
    receivable = next(a for a in body["accounts"] if a["account"] == "Assets:Receivable:HZD")
    assert [(line["date"], line["amount"], line["balance"]) for line in receivable["lines"]] == [
        ("2026-10-31", "1190.00", "1190.00"),
        ("2026-11-30", "-1190.00", "0.00"),
    ]
    assert receivable["lines"][0]["entry_id"] == str(entries["hzd_october"].id)
    assert receivable["lines"][0]["links"] == ["S-2026-000041"]
    assert (receivable["opening_balance"], receivable["closing_balance"]) == ("0.00", "0.00")


async def test_statement_from_a_day_opens_with_the_balance_before_it() -> None:
    await journal()
    caller = await token("HZD", "accountant")
    async with running_app() as client:
        response = await client.get(
            "/api/v1/ledger/statement", params={"from": "2026-11-01", "to": "2026-11-30"}, headers=bearer(caller)
        )
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-11-01", "2026-11-30")
    receivable = next(a for a in body["accounts"] if a["account"] == "Assets:Receivable:HZD")
    assert receivable["opening_balance"] == "1190.00"
    assert [line["balance"] for line in receivable["lines"]] == ["0.00"]


async def test_the_cooperatives_statement_without_member_covers_every_account() -> None:
    await journal()
    caller = await token("KOPIT", "auditor")
    async with running_app() as client:
        body = (await client.get("/api/v1/ledger/statement", headers=bearer(caller))).json()
    assert body["member"] is None
    assert "Assets:Bank:Clearing" in {a["account"] for a in body["accounts"]}
    assert "Assets:Receivable:EKOM21" in {a["account"] for a in body["accounts"]}


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/ledger/balances", "as_of=2026-13-01"),
        ("/api/v1/ledger/balances", "as_of=yesterday"),
        ("/api/v1/ledger/statement", "from=2026-02-30"),
        ("/api/v1/ledger/export", "to=30.11.2026"),
        ("/api/v1/ledger/balances", "member=hzd"),
    ],
)
async def test_a_malformed_query_answers_a_client_error_problem(path: str, query: str) -> None:
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        response = await client.get(f"{path}?{query}", headers=bearer(caller))
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/api/v1/ledger/statement", "/api/v1/ledger/export"])
async def test_from_after_to_answers_422(path: str) -> None:
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        response = await client.get(path, params={"from": "2026-12-01", "to": "2026-11-01"}, headers=bearer(caller))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "from"


@pytest.mark.parametrize("query", ["as_of=0001-01-01", "as_of=9999-12-31"])
async def test_dates_far_out_of_range_answer_422_not_500(query: str) -> None:
    caller = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        response = await client.get(f"/api/v1/ledger/balances?{query}", headers=bearer(caller))
    assert response.status_code == 422
