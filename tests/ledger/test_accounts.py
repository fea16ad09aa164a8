"""Accounts: the scheme of ledger.md, names Beancount accepts, open and close dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import ledger
from tests.ledger.builders import NOV_30, OPENED, open_cooperative, settlement


async def test_setup_opens_the_standard_and_member_accounts_in_eur() -> None:
    await open_cooperative("HZD", "KDZ-MZ")
    accounts = await ledger.list_accounts()
    assert [a.name for a in accounts] == [
        "Assets:Bank:Clearing",
        "Assets:Receivable:HZD",
        "Assets:Receivable:KDZ-MZ",
        "Income:Fees",
        "Liabilities:Payable:HZD",
        "Liabilities:Payable:KDZ-MZ",
        "Liabilities:Unallocated",
    ]
    assert {a.currency for a in accounts} == {"EUR"}
    assert {a.opened_on for a in accounts} == {OPENED}


async def test_open_account_twice_returns_the_open_account() -> None:
    first = await ledger.open_account("Assets:Bank:Clearing", opened_on=OPENED)
    assert await ledger.open_account("Assets:Bank:Clearing", opened_on=OPENED) == first


@pytest.mark.parametrize(
    "name", ["Assets", "Cash:Bank", "Assets:bank", "Assets:Bank Account", "Assets::Bank", "Assets:Bank:-x"]
)
async def test_open_account_refuses_names_beancount_refuses(name: str) -> None:
    with pytest.raises(ledger.InvalidAccount):
        await ledger.open_account(name, opened_on=OPENED)


@pytest.mark.parametrize("code", ["hzd", "1ABC", "A B", "", "ÄÖ"])
async def test_member_accounts_refuse_invalid_member_codes(code: str) -> None:
    with pytest.raises(ledger.InvalidAccount):
        await ledger.open_member_accounts(code, opened_on=OPENED)


async def test_member_codes_with_digits_and_hyphens_are_accounts() -> None:
    assert ledger.member_accounts("GU-FFM") == ("Assets:Receivable:GU-FFM", "Liabilities:Payable:GU-FFM")
    assert ledger.receivable("EKOM21") == "Assets:Receivable:EKOM21"


async def test_post_refuses_a_closed_account_after_its_close_date() -> None:
    await open_cooperative()
    await ledger.close_member_accounts("HZD", closed_on=dt.date(2026, 11, 15))
    with pytest.raises(ledger.AccountClosed):
        await settlement(date=NOV_30)


async def test_close_account_refuses_when_entries_follow_the_close_date() -> None:
    await open_cooperative()
    await settlement(date=NOV_30)
    with pytest.raises(ledger.AccountClosed, match="entries after"):
        await ledger.close_account("Assets:Receivable:HZD", closed_on=dt.date(2026, 11, 29))


async def test_closed_account_is_not_reopened() -> None:
    await open_cooperative()
    await ledger.close_account("Assets:Receivable:HZD", closed_on=NOV_30)
    with pytest.raises(ledger.AccountClosed):
        await ledger.open_account("Assets:Receivable:HZD", opened_on=OPENED)


async def test_entry_before_the_open_date_moves_the_open_back() -> None:
    await open_cooperative(opened_on=dt.date(2026, 11, 26))
    await settlement(date=dt.date(2026, 10, 31))
    assert (await ledger.get_account("Assets:Receivable:HZD")).opened_on == dt.date(2026, 10, 31)
    assert await ledger.account_balance("Assets:Receivable:HZD") == Decimal("1190.00")
