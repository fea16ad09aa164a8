"""Recorded balance assertions: kept only when the journal agrees, written into the export, proven by bean-check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import ledger
from ledger.db import engine
from tests.accounting.builders import bean_check
from tests.ledger.builders import NOV_30, open_cooperative, payment, settlement

DEC_10 = dt.date(2026, 12, 10)
CLEARING = "Assets:Bank:Clearing"


async def _paid() -> None:
    await open_cooperative()
    await settlement()
    await payment(date=DEC_10, link="S-2026-000042")


async def test_a_balance_the_journal_agrees_with_is_recorded_once() -> None:
    await _paid()
    first = await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=DEC_10, source="test", actor="tests")
    again = await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=DEC_10, source="test", actor="tests")
    recorded = await ledger.recorded_assertions()
    assert (first.recorded, again.recorded) == (True, True)
    assert [(a.account, a.as_of, a.date, a.amount) for a in recorded] == [
        (CLEARING, DEC_10, dt.date(2026, 12, 11), Decimal("1190.00"))
    ]


async def test_a_balance_the_journal_disagrees_with_is_not_recorded_and_the_difference_is_named() -> None:
    await _paid()
    check = await ledger.assert_balance(CLEARING, Decimal("1200.00"), as_of=DEC_10, source="test", actor="tests")
    assert check.recorded is False
    assert (check.expected, check.found, check.difference) == (Decimal("1200.00"), Decimal("1190.00"), Decimal("10"))
    assert check.reason == "the journal holds 1190.00 EUR"
    assert await ledger.recorded_assertions() == []


async def test_a_balance_in_a_closed_period_is_not_recorded() -> None:
    await open_cooperative()
    await payment(date=NOV_30, link="S-2026-000042")
    await ledger.close_period("2026-11", actor="tests")
    check = await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=NOV_30, source="test", actor="tests")
    assert check.recorded is False
    assert check.reason is not None
    assert "closed period" in check.reason


async def test_the_export_writes_recorded_balances_and_bean_check_proves_them(tmp_path: Path) -> None:
    await _paid()
    await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=DEC_10, source="test", actor="tests")
    # A day without entries in a month without entries still gets its month's file.
    await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=dt.date(2027, 1, 31), source="test", actor="tests")
    result = await ledger.export(tmp_path)
    checked = bean_check(tmp_path / "main.beancount")
    assert checked.returncode == 0, checked.stderr
    assert (
        "2026-12-11 balance Assets:Bank:Clearing  1190.00 EUR\n"
        in (tmp_path / "2026" / "2026-12.beancount").read_text()
    )
    assert (tmp_path / "2027" / "2027-01.beancount").read_text() == (
        "2027-02-01 balance Assets:Bank:Clearing  1190.00 EUR\n"
    )
    assert result.files == (
        "main.beancount",
        "2026/2026-11.beancount",
        "2026/2026-12.beancount",
        "2027/2027-01.beancount",
    )


async def test_closing_a_period_freezes_its_recorded_balances_and_verify_still_passes(tmp_path: Path) -> None:
    await _paid()
    await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=DEC_10, source="test", actor="tests")
    await ledger.close_period("2026-12", actor="tests")
    report = await ledger.verify()
    await ledger.export(tmp_path)
    assert report.ok, report.first_break
    assert bean_check(tmp_path / "main.beancount").returncode == 0


@pytest.mark.parametrize(
    "sql",
    ["UPDATE ledger_recorded_assertions SET amount_cents = 1", "DELETE FROM ledger_recorded_assertions"],
)
async def test_the_database_refuses_to_change_or_delete_a_recorded_balance(sql: str) -> None:
    await _paid()
    await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=DEC_10, source="test", actor="tests")
    with pytest.raises(Exception, match="append-only"):
        await engine().run_ddl(sql)
    assert [a.amount for a in await ledger.recorded_assertions()] == [Decimal("1190.00")]


async def test_an_entry_dated_before_a_recorded_balance_of_its_account_is_refused() -> None:
    await _paid()
    await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=DEC_10, source="test", actor="tests")
    with pytest.raises(ledger.BalanceAsserted, match="asserted at the start of 2026-12-11"):
        await payment(amount="5.00", date=DEC_10, link="S-2026-000043")
    assert await ledger.account_balance(CLEARING) == Decimal("1190.00")


async def test_a_batch_with_an_entry_before_a_recorded_balance_is_refused_whole() -> None:
    await _paid()
    await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=DEC_10, source="test", actor="tests")
    legs = [ledger.Leg(CLEARING, Decimal("5.00")), ledger.Leg("Assets:Receivable:HZD", Decimal("-5.00"))]
    later = ledger.NewEntry(
        date=dt.date(2026, 12, 11), narration="Zahlung", postings=legs, idempotency_key="later", actor="tests"
    )
    earlier = ledger.NewEntry(date=DEC_10, narration="Zahlung", postings=legs, idempotency_key="earlier", actor="tests")
    with pytest.raises(ledger.BalanceAsserted, match="entry 2: "):
        await ledger.post_many([later, earlier])
    assert await ledger.account_balance(CLEARING) == Decimal("1190.00")


async def test_an_entry_on_the_day_a_recorded_balance_holds_from_is_booked() -> None:
    await _paid()
    await ledger.assert_balance(CLEARING, Decimal("1190.00"), as_of=DEC_10, source="test", actor="tests")
    await payment(amount="5.00", date=dt.date(2026, 12, 11), link="S-2026-000043")
    assert await ledger.account_balance(CLEARING) == Decimal("1195.00")
