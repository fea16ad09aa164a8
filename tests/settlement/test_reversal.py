"""Reversal: the ledger reversal, the settlement marked reversed, its lines free for a corrected settlement; a
settled period does not change."""

from __future__ import annotations

from decimal import Decimal

import ledger
from marketplace.audit.tables import AuditEvent
from tests.builders import bearer, running_app, token
from tests.settlement.helpers import Exchange, run, usage
from tests.settlement.scenario import PERIOD, TOTAL, february

NUMBER = "S-2025-000002"


async def test_reversing_books_the_negated_entry_and_marks_the_settlement() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        await run(client, exchange, PERIOD)
        response = await client.post(
            f"/api/v1/settlements/{NUMBER}/reverse",
            headers=bearer(exchange.accountant),
            json={"reason": "Menge falsch erfasst"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "reversed"
    assert body["reversal_reason"] == "Menge falsch erfasst"
    assert all(line["reversed"] for line in body["lines"])
    original = await ledger.get_entry(body["ledger_entry_id"])
    reversal = await ledger.get_entry(body["reversal_entry_id"])
    assert reversal.reverses == original.id
    assert reversal.links == (NUMBER,)
    assert [(p.account, p.amount) for p in reversal.postings] == [(p.account, -p.amount) for p in original.postings]
    assert await AuditEvent.count().where(AuditEvent.action == "settlement.reversed") == 1


async def test_a_reversed_settlement_can_be_corrected_by_a_new_run() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await february(client, exchange)
        await run(client, exchange, PERIOD)
        refused = await usage(client, exchange, made["metered"]["id"], PERIOD, "10")
        await client.post(
            f"/api/v1/settlements/{NUMBER}/reverse", headers=bearer(exchange.accountant), json={"reason": "Korrektur"}
        )
        corrected_usage = await usage(client, exchange, made["metered"]["id"], PERIOD, "10")
        again = await run(client, exchange, PERIOD)
        corrected = (await client.get("/api/v1/settlements/S-2025-000003", headers=bearer(exchange.accountant))).json()
        old = (await client.get(f"/api/v1/settlements/{NUMBER}", headers=bearer(exchange.accountant))).json()
    # Settled: the usage of the month may no longer change (409); after the reversal it may.
    assert refused.status_code == 409, refused.text
    assert refused.json()["state"] == "settled"
    assert corrected_usage.status_code == 200, corrected_usage.text
    assert again["counts"]["charged"] == 3
    assert again["counts"]["already_charged"] == 1  # EKOM21 → HZD stays as it was
    # 10 TB × 8.99 = 89.90 + 7 % 6.29 = 96.19 instead of 120.25
    assert corrected["totals"]["gross"] == "534.62"
    assert old["status"] == "reversed"  # the first stays visible
    found = {b.account: b.amount for b in await ledger.balances()}
    assert found["Assets:Receivable:HZD"] == Decimal(TOTAL["gross"]) - Decimal("120.25") + Decimal("96.19")


async def test_a_reversed_settlement_cannot_be_reversed_again() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
        await run(client, exchange, PERIOD)
        url = f"/api/v1/settlements/{NUMBER}/reverse"
        await client.post(url, headers=bearer(exchange.accountant), json={"reason": "falsch"})
        again = await client.post(url, headers=bearer(exchange.accountant), json={"reason": "nochmal"})
    assert again.status_code == 409
    assert again.json()["state"] == "reversed"


async def test_a_reason_is_required_and_only_the_coop_accountant_reverses() -> None:
    exchange = await Exchange.make()
    admin_accountant = await token("HZD", "accountant")
    async with running_app() as client:
        await february(client, exchange)
        await run(client, exchange, PERIOD)
        url = f"/api/v1/settlements/{NUMBER}/reverse"
        empty = await client.post(url, headers=bearer(exchange.accountant), json={"reason": "  "})
        missing = await client.post(url, headers=bearer(exchange.accountant), json={})
        by_admin = await client.post(url, headers=bearer(exchange.admin), json={"reason": "x"})
        by_member = await client.post(url, headers=bearer(admin_accountant), json={"reason": "x"})
        unknown = await client.post(
            "/api/v1/settlements/S-2025-000999/reverse", headers=bearer(exchange.accountant), json={"reason": "x"}
        )
    assert empty.status_code == 422
    assert missing.status_code == 422
    assert by_admin.status_code == 403
    assert by_member.status_code == 403
    assert unknown.status_code == 404


async def test_a_settled_period_ignores_later_changes_to_the_agreement() -> None:
    exchange = await Exchange.make()
    buyer = await token("HZD", "buyer")
    async with running_app() as client:
        made = await february(client, exchange)
        await run(client, exchange, PERIOD)
        before = (await client.get(f"/api/v1/settlements/{NUMBER}", headers=bearer(exchange.accountant))).json()
        terminated = await client.post(f"/api/v1/agreements/{made['recurring']['id']}/terminate", headers=bearer(buyer))
        second = await run(client, exchange, PERIOD)
        after = (await client.get(f"/api/v1/settlements/{NUMBER}", headers=bearer(exchange.accountant))).json()
    assert terminated.status_code == 200, terminated.text
    assert second["counts"]["charged"] == 0
    assert after == before
