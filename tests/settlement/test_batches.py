"""Batches: a run settles many pairs per transaction and books exactly what one pair at a time would book;
a pair that the ledger refuses is reported on its own while the rest of its batch is still booked."""

from __future__ import annotations

import uuid

import pytest

import ledger
from ledger.tables import Account as AccountRow
from marketplace.audit.tables import AuditEvent
from marketplace.events.tables import OutboxEvent
from marketplace.settlement import services
from marketplace.settlement.tables import Settlement, SettlementLine
from tests.builders import running_app
from tests.settlement.helpers import Exchange, run_in_process
from tests.settlement.scenario import EKOM_HZD, KDZ_HZD, PERIOD, TOTAL, february
from tests.settlement.test_exactly_once import _many_pairs


async def _settlements() -> dict[str, dict[str, object]]:
    rows = await Settlement.select().order_by(Settlement.number)
    return {str(row["number"]): row for row in rows}


@pytest.mark.parametrize("batch_pairs", [1, 2, 200])
async def test_any_batch_size_books_the_settlements_of_the_month_by_the_money_rules(
    monkeypatch: pytest.MonkeyPatch, batch_pairs: int
) -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)
    monkeypatch.setattr(services, "BATCH_PAIRS", batch_pairs)
    result = await run_in_process(PERIOD)
    settlements = await _settlements()
    assert result.status == "done"
    assert (result.totals.net, result.totals.tax, result.totals.gross) == (TOTAL["net"], TOTAL["tax"], TOTAL["gross"])
    assert (result.counts.charged, result.counts.missing_usage, result.counts.settlements) == (4, 1, 2)
    ekom, kdz = settlements["S-2025-000001"], settlements["S-2025-000002"]
    assert services.money(int(str(ekom["gross_cents"]))) == EKOM_HZD["gross"]
    assert services.money(int(str(kdz["gross_cents"]))) == KDZ_HZD["gross"]
    entry = await ledger.get_entry(uuid.UUID(str(kdz["ledger_entry"])))
    assert entry.idempotency_key == "settlement:S-2025-000002" and entry.links == ("S-2025-000002",)


async def test_a_batch_numbers_its_settlements_in_pair_order_and_lines_in_reference_order() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await _many_pairs(client, exchange)
    await run_in_process(PERIOD)
    settlements = await Settlement.select(
        Settlement.number, Settlement.provider.code.as_alias("provider"), Settlement.consumer.code.as_alias("consumer")
    ).order_by(Settlement.number)
    pairs = [(row["provider"], row["consumer"]) for row in settlements]
    assert pairs == sorted(pairs)
    lines = await SettlementLine.select(
        SettlementLine.settlement, SettlementLine.line, SettlementLine.agreement.reference.as_alias("reference")
    ).order_by(SettlementLine.settlement)
    by_settlement: dict[object, list[tuple[int, str]]] = {}
    for line in lines:
        by_settlement.setdefault(line["settlement"], []).append((int(line["line"]), str(line["reference"])))
    for found in by_settlement.values():
        numbered = sorted(found)
        assert [n for n, _ in numbered] == list(range(1, len(numbered) + 1))
        assert [reference for _, reference in numbered] == sorted(reference for _, reference in numbered)


async def test_a_batch_writes_one_audit_event_and_one_outbox_event_per_party_of_each_settlement() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await _many_pairs(client, exchange)
    await run_in_process(PERIOD)
    audited = await AuditEvent.select(AuditEvent.subject_id).where(AuditEvent.action == "settlement.booked")
    announced = await OutboxEvent.select(OutboxEvent.subject_id).where(OutboxEvent.type == "settlement.booked")
    numbers = sorted((await _settlements()).keys())
    assert sorted(row["subject_id"] for row in audited) == numbers
    assert sorted(row["subject_id"] for row in announced) == sorted(numbers * 2)


async def test_a_pair_that_the_ledger_refuses_is_reported_and_the_rest_of_its_batch_is_booked() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await _many_pairs(client, exchange)
    # C-1's receivable account disappears from the ledger: its entries are refused (UnknownAccount).
    await AccountRow.update({AccountRow.name: "Assets:Receivable:GONE"}).where(
        AccountRow.name == "Assets:Receivable:C-1"
    )
    result = await run_in_process(PERIOD)
    assert result.status == "failed"
    assert sorted((error.provider, error.consumer) for error in result.errors) == [("EKOM21", "C-1"), ("KDZ-MZ", "C-1")]
    assert all("Assets:Receivable:C-1" in error.detail for error in result.errors)
    assert result.counts.settlements == 10
    numbers = sorted((await _settlements()).keys())
    assert numbers == [f"S-2025-{n:06d}" for n in range(1, 11)]  # the refused pairs used up no number
    assert (await ledger.verify()).ok


def test_batches_are_cut_by_pairs_and_by_agreements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "BATCH_PAIRS", 3)
    monkeypatch.setattr(services, "BATCH_AGREEMENTS", 10)
    sizes = [1, 1, 1, 1, 8, 3, 20, 1]
    pairs = [services._Pair(uuid.uuid4(), uuid.uuid4(), [uuid.uuid4() for _ in range(n)]) for n in sizes]
    batches = list(services._batches(pairs))
    assert [[len(pair.agreements) for pair in batch] for batch in batches] == [[1, 1, 1], [1, 8], [3], [20], [1]]
