"""Closing a month: balances asserted on the first day after, a frozen file, no more bookings into it."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

import ledger
from tests.ledger.builders import NOV_30, open_cooperative, payment, settlement


async def test_close_asserts_the_balance_of_every_account_with_activity() -> None:
    await open_cooperative("HZD", "KDZ-MZ", "EKOM21")
    await settlement(amount="100.00", date=dt.date(2026, 10, 15))
    await settlement(amount="50.00", date=NOV_30)
    closed = await ledger.close_period("2026-11", actor="user:carol")
    assert closed.assertions == (
        ledger.Balance("Assets:Receivable:HZD", "EUR", Decimal("150.00")),
        ledger.Balance("Liabilities:Payable:KDZ-MZ", "EUR", Decimal("-150.00")),
    )
    assert closed.entry_count == 1


async def test_posting_into_a_closed_period_fails() -> None:
    await open_cooperative()
    await settlement(date=NOV_30)
    await ledger.close_period("2026-11", actor="user:carol")
    with pytest.raises(ledger.PeriodClosed) as raised:
        await settlement(date=NOV_30, number="S-2026-000099")
    assert raised.value.http_status == 409


async def test_posting_before_a_closed_period_fails_too() -> None:
    await open_cooperative(opened_on=dt.date(2026, 1, 1))
    await ledger.close_period("2026-11", actor="user:carol")
    with pytest.raises(ledger.PeriodClosed):
        await settlement(date=dt.date(2026, 10, 31))


async def test_a_correction_goes_into_the_open_period_as_a_reversal() -> None:
    await open_cooperative()
    wrong = await settlement(date=NOV_30)
    await ledger.close_period("2026-11", actor="user:carol")
    reversal = await ledger.reverse(wrong.id, reason="Storno", actor="user:bob", date=dt.date(2026, 12, 1))
    assert reversal.date == dt.date(2026, 12, 1)


async def test_close_twice_returns_the_closed_period() -> None:
    await open_cooperative()
    await settlement(date=NOV_30)
    first = await ledger.close_period("2026-11", actor="user:carol")
    assert await ledger.close_period("2026-11", actor="user:dave") == first
    assert await ledger.closed_periods() == [first]


async def test_close_refuses_a_malformed_period() -> None:
    with pytest.raises(ledger.InvalidEntry):
        await ledger.close_period("2026-13", actor="user:carol")


async def test_frozen_hash_is_the_sha256_of_the_exported_period_file(tmp_path: Path) -> None:
    await open_cooperative()
    await settlement(date=NOV_30)
    await payment(date=NOV_30, link="S-2026-000042")
    closed = await ledger.close_period("2026-11", actor="user:carol")
    await ledger.export(tmp_path)
    text = (tmp_path / "2026" / "2026-11.beancount").read_bytes()
    assert hashlib.sha256(text).hexdigest() == closed.file_sha256
    assert text.endswith(
        b"2026-12-01 balance Assets:Bank:Clearing  1190.00 EUR\n"
        b"2026-12-01 balance Assets:Receivable:HZD  0.00 EUR\n"
        b"2026-12-01 balance Liabilities:Payable:KDZ-MZ  -1190.00 EUR\n"
    )
