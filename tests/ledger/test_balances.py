"""Balances per account and per member as of a date, statements, and a member's own view of the journal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ledger
from tests.ledger.builders import NOV_30, open_cooperative, payment, settlement

DEC_10 = dt.date(2026, 12, 10)


async def test_balances_as_of_a_date_leave_out_later_entries() -> None:
    await open_cooperative()
    await settlement(amount="100.00", date=NOV_30)
    await settlement(amount="50.00", date=DEC_10)
    assert await ledger.balances(as_of=NOV_30) == [
        ledger.Balance("Assets:Receivable:HZD", "EUR", Decimal("100.00")),
        ledger.Balance("Liabilities:Payable:KDZ-MZ", "EUR", Decimal("-100.00")),
    ]
    assert await ledger.account_balance("Assets:Receivable:HZD") == Decimal("150.00")


async def test_member_balance_shows_what_it_owes_and_is_owed() -> None:
    await open_cooperative("HZD", "KDZ-MZ")
    await settlement("HZD", "KDZ-MZ", "100.00")
    await settlement("KDZ-MZ", "HZD", "30.00")
    await payment("HZD", "40.00", date=NOV_30, link="S-1")
    assert await ledger.member_balance("HZD") == ledger.MemberBalance(
        "HZD", receivable=Decimal("60.00"), payable=Decimal("30.00"), net=Decimal("30.00")
    )


async def test_member_balances_list_only_the_members_accounts() -> None:
    await open_cooperative("HZD", "KDZ-MZ")
    await settlement("HZD", "KDZ-MZ", "100.00")
    assert [b.account for b in await ledger.balances(member="HZD")] == ["Assets:Receivable:HZD"]


async def test_balances_at_each_of_several_days_agree_with_one_reading_per_day() -> None:
    await open_cooperative("HZD", "KDZ-MZ")
    await settlement("HZD", "KDZ-MZ", "100.00", date=dt.date(2026, 11, 5))
    await settlement("KDZ-MZ", "HZD", "30.00", date=NOV_30)
    await payment("HZD", "40.00", date=DEC_10, link="S-1")
    days = [dt.date(2026, 10, 31), dt.date(2026, 11, 5), NOV_30, dt.date(2026, 12, 31)]
    at_each = await ledger.balances_at_each(days, member="HZD")
    for day in days:
        one_by_one = await ledger.balances(as_of=day, member="HZD")
        assert [b for b in at_each[day] if b.amount] == [b for b in one_by_one if b.amount], day
    assert at_each[dt.date(2026, 12, 31)] == [
        ledger.Balance("Assets:Receivable:HZD", "EUR", Decimal("60.00")),
        ledger.Balance("Liabilities:Payable:HZD", "EUR", Decimal("-30.00")),
    ]


async def test_statement_shows_a_running_balance_after_an_opening_balance() -> None:
    await open_cooperative()
    await settlement(amount="100.00", date=dt.date(2026, 11, 5))
    await settlement(amount="50.00", date=NOV_30)
    await payment(amount="120.00", date=DEC_10, link="S-1")
    statement = await ledger.statement("Assets:Receivable:HZD", start=dt.date(2026, 11, 6))
    assert statement.opening_balance == Decimal("100.00")
    assert [(line.amount, line.balance) for line in statement.lines] == [
        (Decimal("50.00"), Decimal("150.00")),
        (Decimal("-120.00"), Decimal("30.00")),
    ]
    assert statement.closing_balance == Decimal("30.00")


async def test_member_view_shows_its_entries_with_their_counter_postings_only() -> None:
    await open_cooperative("HZD", "KDZ-MZ", "EKOM21")
    own = await settlement("HZD", "KDZ-MZ", "100.00")
    await settlement("EKOM21", "KDZ-MZ", "70.00")
    view = await ledger.member_entries("HZD")
    assert [entry.id for entry in view] == [own.id]
    assert {p.account for p in view[0].postings} == {"Assets:Receivable:HZD", "Liabilities:Payable:KDZ-MZ"}
