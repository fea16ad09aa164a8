"""One pair never stops a run: a pair that cannot be booked is reported with its reason in the run's errors, and
every other pair of the month is booked, numbered without gaps, in a ledger that verifies.

The bad pair is KDZ-MZ → GU-FFM: a metered agreement whose usage report was stored before the amount bounds
existed, so large that its line (9 × 10^18 thousandths × 100.00 EUR) does not fit 64-bit cents. It sorts between
the good pairs (EKOM21 → HZD before it, KDZ-MZ → HZD after it).
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import httpx
import pytest

import ledger
from marketplace.booking.tables import UsageReport
from marketplace.clock import now
from marketplace.db import engine, is_postgres
from marketplace.settlement import services
from marketplace.settlement.tables import Settlement
from tests.builders import running_app
from tests.settlement.helpers import Exchange, agreement, offer, run, run_in_process
from tests.settlement.scenario import PERIOD, TOTAL, february

#: Thousandths of a unit: fits a BIGINT column, but × 100.00 EUR is 9 × 10^19 cents, beyond 64 bits.
HUGE_USAGE_MILLI = 9 * 10**18
_BOOKING_BOUNDS = importlib.import_module("marketplace.booking.piccolo_migrations.booking_2026_12_03t20_19_00_000000")


async def _usage_stored_before_the_bounds(agreement_id: str, quantity_milli: int) -> None:
    """Insert a usage report as an older release could have: with the bound on usage lifted while it is written.

    The migration's check (PostgreSQL) or triggers (SQLite) are dropped for the insert and put back as the
    migration adds them, so the row is in the database as if it had been there before the migration ran.
    """
    table, name, column, condition = next(bound for bound in _BOOKING_BOUNDS.BOUNDS if bound[0] == "usage_reports")
    db = engine()
    if is_postgres():
        lift = [f"ALTER TABLE {table} DROP CONSTRAINT {name}"]
        restore = [f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition.format(column)}) NOT VALID"]
    else:
        lift = [f"DROP TRIGGER {name}_insert", f"DROP TRIGGER {name}_update"]
        restore = _BOOKING_BOUNDS._sqlite_triggers(table, name, column, condition)
    for statement in lift:
        await db.run_ddl(statement)
    try:
        await UsageReport.insert(
            UsageReport(
                id=uuid.uuid4(),
                agreement=uuid.UUID(agreement_id),
                period=PERIOD,
                quantity_milli=quantity_milli,
                reported_by=None,
                reported_at=now(),
                version=1,
            )
        )
    finally:
        for statement in restore:
            await db.run_ddl(statement)


async def _february_with_an_overflowing_pair(client: httpx.AsyncClient, exchange: Exchange) -> dict[str, Any]:
    """February's scenario (two settlements) plus KDZ-MZ → GU-FFM metered with a usage beyond 64-bit cents."""
    made = await february(client, exchange)
    metered = await offer(client, exchange, unit_price="100.00", pricing="metered", tax_treatment="vat_19", title="CPU")
    made["overflowing"] = await agreement(client, exchange, metered, consumer="GU-FFM", start="2025-01-01")
    await _usage_stored_before_the_bounds(made["overflowing"]["id"], HUGE_USAGE_MILLI)
    return made


async def _numbers() -> list[str]:
    return [str(row["number"]) for row in await Settlement.select(Settlement.number).order_by(Settlement.number)]


def _reported(errors: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(error["provider"], error["consumer"]) for error in errors]


@pytest.mark.parametrize("batch_pairs", [1, 200])
async def test_a_pair_whose_line_overflows_is_reported_and_every_other_pair_is_booked(
    monkeypatch: pytest.MonkeyPatch, batch_pairs: int
) -> None:
    monkeypatch.setattr(services, "BATCH_PAIRS", batch_pairs)
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await _february_with_an_overflowing_pair(client, exchange)
        result = await run(client, exchange, PERIOD)
    assert result["status"] == "failed"  # ended, with a pair it could not book: "Mit Fehlern beendet"
    assert _reported(result["errors"]) == [("KDZ-MZ", "GU-FFM")]
    detail = result["errors"][0]["detail"]
    assert made["overflowing"]["reference"] in detail and "more than a line may" in detail
    assert result["counts"]["settlements"] == 2 and result["counts"]["errors"] == 1
    assert result["totals"] == TOTAL
    assert result["progress"]["processed"] == result["progress"]["total"]
    assert await _numbers() == ["S-2025-000001", "S-2025-000002"]  # the refused pair used up no number
    assert (await ledger.verify()).ok


@pytest.mark.parametrize("batch_pairs", [1, 200])
async def test_a_pair_that_the_database_refuses_is_reported_and_every_other_pair_is_booked(
    monkeypatch: pytest.MonkeyPatch, batch_pairs: int
) -> None:
    # Without the run's own bound check the overflowing line reaches the ledger and the database themselves: a
    # failure no one foresaw, which must stay the pair's all the same.
    monkeypatch.setattr(services, "_check_bounds", lambda *args: None)
    monkeypatch.setattr(services, "BATCH_PAIRS", batch_pairs)
    exchange = await Exchange.make()
    async with running_app() as client:
        await _february_with_an_overflowing_pair(client, exchange)
    result = await run_in_process(PERIOD)
    assert result.status == "failed"
    assert [(error.provider, error.consumer) for error in result.errors] == [("KDZ-MZ", "GU-FFM")]
    assert result.errors[0].detail
    assert result.counts.settlements == 2
    assert (result.totals.net, result.totals.tax, result.totals.gross) == (TOTAL["net"], TOTAL["tax"], TOTAL["gross"])
    assert await _numbers() == ["S-2025-000001", "S-2025-000002"]
    assert (await ledger.verify()).ok


async def test_the_refused_pair_is_booked_by_a_later_run_once_its_usage_is_corrected() -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        made = await _february_with_an_overflowing_pair(client, exchange)
        first = await run(client, exchange, PERIOD)
        await UsageReport.update({UsageReport.quantity_milli: 2_000}).where(
            UsageReport.agreement == uuid.UUID(made["overflowing"]["id"])
        )
        again = await run(client, exchange, PERIOD)
    assert _reported(first["errors"]) == [("KDZ-MZ", "GU-FFM")]
    assert again["status"] == "done" and again["errors"] == []
    assert again["counts"]["settlements"] == 1 and again["totals"]["gross"] == "238.00"  # 2 × 100.00 + 19 %
    assert await _numbers() == ["S-2025-000001", "S-2025-000002", "S-2025-000003"]
    assert (await ledger.verify()).ok


async def test_a_run_stops_when_the_database_no_longer_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = await Exchange.make()
    async with running_app() as client:
        await february(client, exchange)

    async def refused(*args: object, **kwargs: object) -> object:
        raise ConnectionResetError("the database went away")

    async def silent() -> bool:
        return False

    # Every booking fails and the database does not answer: that is no pair's fault, so none is reported.
    monkeypatch.setattr(services, "_post_entries", refused)
    monkeypatch.setattr(services, "_post_entry", refused)
    monkeypatch.setattr(services, "_database_answers", silent)
    with pytest.raises(ConnectionResetError):
        await run_in_process(PERIOD)
    assert await _numbers() == []
