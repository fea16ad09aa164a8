"""Verification over HTTP: ok for an untouched journal, the first break named after a change behind its back."""

from __future__ import annotations

from tests.accounting.builders import journal
from tests.builders import bearer, running_app, token
from tests.ledger.tamper import tamper


async def test_verify_reports_ok_for_an_untouched_journal() -> None:
    await journal()
    caller = await token("KOPIT", "auditor")
    async with running_app() as client:
        body = (await client.get("/api/v1/ledger/verify", headers=bearer(caller))).json()
    assert body == {
        "ok": True,
        "first_break": None,
        "entries_checked": 3,
        "periods_checked": 0,
        "entry_id": None,
        "period": None,
    }


async def test_verify_names_the_first_break_after_tampering() -> None:
    entries = await journal()
    caller = await token("KOPIT", "auditor")
    target = entries["ekom21_november"]
    async with running_app() as client:
        assert (await client.get("/api/v1/ledger/verify", headers=bearer(caller))).json()["ok"] is True
        await tamper(
            "ledger_postings",
            f"UPDATE ledger_postings SET amount_cents = amount_cents * 10 WHERE entry = '{target.id}'",
        )
        body = (await client.get("/api/v1/ledger/verify", headers=bearer(caller))).json()
    assert body["ok"] is False
    assert body["entry_id"] == str(target.id)
    assert body["first_break"] == f"entry {target.number} has been altered: its hash does not match its content"


async def test_verify_names_a_closed_period_whose_file_changed() -> None:
    entries = await journal()
    caller = await token("KOPIT", "coop_accountant")
    target = entries["hzd_october"]
    async with running_app() as client:
        await client.post("/api/v1/ledger/periods/2026-10/close", headers=bearer(caller))
        await tamper(
            "ledger_balance_assertions",
            "UPDATE ledger_balance_assertions SET amount_cents = amount_cents + 1 WHERE period = '2026-10'",
        )
        body = (await client.get("/api/v1/ledger/verify", headers=bearer(caller))).json()
    assert (body["ok"], body["period"]) == (False, "2026-10")
    assert body["first_break"] == "closed period 2026-10 no longer matches its frozen file"
    assert target.number == 1
