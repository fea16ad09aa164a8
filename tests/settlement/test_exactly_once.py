"""Exactly once: concurrent runs, a repeated run and a run killed in the middle each charge every (agreement,
period) at most once and leave no settlement half-booked."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

import ledger
from ledger.tables import Entry as EntryRow
from marketplace.db import INTEGRITY_ERRORS
from marketplace.settlement import services
from marketplace.settlement.tables import Settlement, SettlementLine, SettlementRun
from tests.builders import member, running_app
from tests.settlement.helpers import Exchange, Killed, agreement, offer, run_in_process, wait_for_run
from tests.settlement.scenario import PERIOD, TOTAL, february

CONSUMERS = ("HZD", "GU-FFM", "C-1", "C-2", "C-3", "C-4")


async def _many_pairs(client: httpx.AsyncClient, exchange: Exchange) -> None:
    """February's scenario plus more consumers of both providers: a dozen settlements to book."""
    await february(client, exchange)
    for code in CONSUMERS[2:]:
        await member(code)
    kdz = await offer(client, exchange, unit_price="12.34", tax_treatment="vat_19", title="Backup")
    ekom = await offer(client, exchange, "EKOM21", unit_price="7.77", title="Support")
    for code in CONSUMERS[1:]:
        await agreement(client, exchange, kdz, consumer=code, quantity=2, start="2025-02-05")
        await agreement(client, exchange, ekom, provider="EKOM21", consumer=code, start="2024-12-01")


async def _book_state() -> dict[str, Any]:
    lines = await SettlementLine.select(SettlementLine.agreement).where(SettlementLine.period == PERIOD)
    settlements = await Settlement.select().where(Settlement.period == PERIOD)
    entries = await EntryRow.select(EntryRow.id).where(EntryRow.tags == "settlement")
    return {
        "lines": [row["agreement"] for row in lines],
        "settlements": settlements,
        "entries": {row["id"] for row in entries},
        "gross": sum(int(row["gross_cents"]) for row in settlements),
    }


def _assert_consistent(state: dict[str, Any]) -> None:
    # Each (agreement, period) charged once; every settlement has exactly its own entry, nothing half-booked.
    assert len(state["lines"]) == len(set(state["lines"]))
    assert {row["ledger_entry"] for row in state["settlements"]} == state["entries"]
    assert len(state["entries"]) == len(state["settlements"])


@pytest.mark.postgres
async def test_five_concurrent_runs_charge_every_agreement_once() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await _many_pairs(client, exchange)
    results = await asyncio.gather(*(run_in_process(PERIOD) for _ in range(5)))
    state = await _book_state()
    _assert_consistent(state)
    assert sum(r.counts.charged for r in results) == len(state["lines"]) == 14
    assert sum(r.counts.settlements for r in results) == len(state["settlements"]) == 12
    numbers = sorted(row["number"] for row in state["settlements"])
    assert numbers == [f"S-2025-{n:06d}" for n in range(1, 13)]
    assert all(r.status == "done" for r in results)


async def test_concurrent_runs_through_the_api_charge_every_agreement_once() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await _many_pairs(client, exchange)
        answers = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/settlement-runs",
                    headers={"Authorization": f"Bearer {exchange.accountant}"},
                    json={"period": PERIOD},
                )
                for _ in range(3)
            )
        )
        assert [a.status_code for a in answers] == [202, 202, 202]
        finished = [await wait_for_run(client, exchange.accountant, a.json()["id"]) for a in answers]
    state = await _book_state()
    _assert_consistent(state)
    assert sum(run["counts"]["charged"] for run in finished) == 14


async def test_a_run_killed_midway_and_started_again_ends_like_a_clean_run(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
    monkeypatch.setattr(services, "BATCH_PAIRS", 1)
    real_post = services._post_entries
    booked = 0

    async def dies_at_the_second_booking(entries: list[ledger.NewEntry]) -> list[ledger.Entry]:
        nonlocal booked
        if booked == 1:
            raise Killed("the process was killed")
        booked += 1
        return await real_post(entries)

    monkeypatch.setattr(services, "_post_entries", dies_at_the_second_booking)
    with pytest.raises(Killed):
        await run_in_process(PERIOD)
    halfway = await _book_state()
    _assert_consistent(halfway)
    assert len(halfway["settlements"]) == 1  # the second settlement rolled back whole: no lines, no entry
    failed = await SettlementRun.select(SettlementRun.status).first()
    assert failed is not None and failed["status"] == "failed"

    monkeypatch.setattr(services, "_post_entries", real_post)
    again = await run_in_process(PERIOD)
    state = await _book_state()
    _assert_consistent(state)
    assert again.counts.already_charged == 1 and again.counts.settlements == 1
    assert services.money(state["gross"]) == TOTAL["gross"]
    numbers = sorted(row["number"] for row in state["settlements"])
    assert numbers == ["S-2025-000001", "S-2025-000002"]  # the rolled-back number was not lost
    found = {b.account: b.amount for b in await ledger.balances()}
    assert found["Assets:Receivable:HZD"] == Decimal(TOTAL["gross"])


async def test_a_run_killed_in_its_second_batch_keeps_the_first_batch_whole_and_the_restart_completes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await _many_pairs(client, exchange)
    monkeypatch.setattr(services, "BATCH_PAIRS", 5)
    real_post = services._post_entries
    batches = 0

    async def dies_in_the_second_batch(entries: list[ledger.NewEntry]) -> list[ledger.Entry]:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise Killed("the process was killed")
        return await real_post(entries)

    monkeypatch.setattr(services, "_post_entries", dies_in_the_second_batch)
    with pytest.raises(Killed):
        await run_in_process(PERIOD)
    halfway = await _book_state()
    _assert_consistent(halfway)
    assert len(halfway["settlements"]) == 5  # the whole second batch rolled back: no settlement, line or entry
    failed = await SettlementRun.select(SettlementRun.gross_cents).where(SettlementRun.status == "failed").first()
    assert failed is not None and failed["gross_cents"] == halfway["gross"]

    monkeypatch.setattr(services, "_post_entries", real_post)
    again = await run_in_process(PERIOD)
    state = await _book_state()
    _assert_consistent(state)
    assert len(state["lines"]) == 14 and len(state["settlements"]) == 12
    assert again.counts.settlements == 7 and again.counts.already_charged == len(halfway["lines"])
    assert again.totals.gross == services.money(state["gross"] - halfway["gross"])
    assert sorted(row["number"] for row in state["settlements"]) == [f"S-2025-{n:06d}" for n in range(1, 13)]
    receivables = sum(b.amount for b in await ledger.balances() if b.account.startswith("Assets:Receivable:"))
    assert receivables == Decimal(services.money(state["gross"]))


async def test_the_database_refuses_a_second_charge_of_the_same_agreement_and_period() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
    await run_in_process(PERIOD)
    line = await SettlementLine.select().first()
    assert line is not None
    duplicate = {**line, "id": __import__("uuid").uuid4(), "line": 99}
    with pytest.raises(INTEGRITY_ERRORS):
        await SettlementLine.insert(SettlementLine(**duplicate))
