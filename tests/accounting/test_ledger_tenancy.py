"""Tenancy in the ledger: a member's accountant reads only its own member's part; another member answers 404."""

from __future__ import annotations

import pytest

from tests.accounting.builders import journal
from tests.builders import bearer, running_app, token

READS = ["/api/v1/ledger/balances", "/api/v1/ledger/statement", "/api/v1/ledger/export"]


@pytest.mark.parametrize("path", READS)
async def test_another_members_accountant_gets_404_for_member_hzd(path: str) -> None:
    await journal()
    intruder = await token("EKOM21", "accountant")
    async with running_app() as client:
        response = await client.get(path, params={"member": "HZD"}, headers=bearer(intruder))
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("not-found")
    # Nothing of HZD's ledger in the answer (the request id, random hex, is left out: it may hold any digits).
    answer = {key: value for key, value in response.json().items() if key != "request_id"}
    assert "Receivable" not in str(answer)
    assert "1190" not in str(answer)


@pytest.mark.parametrize("path", READS)
async def test_an_unknown_member_answers_the_same_404(path: str) -> None:
    await journal()
    intruder = await token("EKOM21", "accountant")
    async with running_app() as client:
        foreign = await client.get(path, params={"member": "HZD"}, headers=bearer(intruder))
        unknown = await client.get(path, params={"member": "NOPE"}, headers=bearer(intruder))
    assert (foreign.status_code, unknown.status_code) == (404, 404)


@pytest.mark.parametrize("path", READS)
async def test_the_cooperative_gets_404_for_a_member_that_does_not_exist(path: str) -> None:
    await journal()
    caller = await token("KOPIT", "auditor")
    async with running_app() as client:
        response = await client.get(path, params={"member": "NOPE"}, headers=bearer(caller))
    assert response.status_code == 404


async def test_balances_of_a_members_accountant_show_only_its_own_accounts() -> None:
    await journal()
    caller = await token("EKOM21", "accountant")
    async with running_app() as client:
        body = (await client.get("/api/v1/ledger/balances", headers=bearer(caller))).json()
    assert body["member"] == "EKOM21"
    assert {item["account"] for item in body["accounts"]} == {"Assets:Receivable:EKOM21"}
    assert [item["member"] for item in body["members"]] == ["EKOM21"]


async def test_statement_of_a_members_accountant_never_shows_foreign_lines() -> None:
    entries = await journal()
    caller = await token("EKOM21", "accountant")
    async with running_app() as client:
        body = (await client.get("/api/v1/ledger/statement", headers=bearer(caller))).json()
    assert {account["account"] for account in body["accounts"]} == {
        "Assets:Receivable:EKOM21",
        "Liabilities:Payable:EKOM21",
    }
    entry_ids = {line["entry_id"] for account in body["accounts"] for line in account["lines"]}
    assert entry_ids == {str(entries["ekom21_november"].id)}


async def test_export_of_a_members_accountant_holds_only_its_own_entries() -> None:
    entries = await journal()
    caller = await token("EKOM21", "accountant")
    async with running_app() as client:
        response = await client.get("/api/v1/ledger/export", headers=bearer(caller))
    assert response.status_code == 200
    assert str(entries["ekom21_november"].id) in response.text
    assert str(entries["hzd_october"].id) not in response.text
    assert str(entries["hzd_payment"].id) not in response.text
    assert "Assets:Receivable:HZD" not in response.text


async def test_a_members_accountant_may_name_its_own_member() -> None:
    await journal()
    caller = await token("HZD", "accountant")
    async with running_app() as client:
        response = await client.get("/api/v1/ledger/balances?member=HZD", headers=bearer(caller))
    assert response.status_code == 200
    assert response.json()["member"] == "HZD"


async def test_periods_show_a_members_accountant_only_its_own_assertions() -> None:
    await journal()
    coop = await token("KOPIT", "coop_accountant")
    async with running_app() as client:
        assert (await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(coop))).status_code == 200
        seen = {}
        for code in ("HZD", "EKOM21"):
            caller = await token(code, "accountant")
            body = (await client.get("/api/v1/ledger/periods", headers=bearer(caller))).json()
            seen[code] = next(item for item in body["items"] if item["period"] == "2026-10")
    assert [a["account"] for a in seen["HZD"]["assertions"]] == ["Assets:Receivable:HZD"]
    assert seen["EKOM21"]["assertions"] == []
    assert seen["EKOM21"]["state"] == "closed"
    assert seen["EKOM21"]["closed_by"] is None
