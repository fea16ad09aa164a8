"""Admission opens the member's ledger accounts; the cooperative's own accounts exist from the first one."""

from __future__ import annotations

import ledger
from marketplace.clock import now
from tests.builders import member


async def test_admission_opens_the_members_receivable_and_payable_accounts() -> None:
    await member("HZD")
    names = {account.name: account for account in await ledger.list_accounts()}
    assert "Assets:Receivable:HZD" in names
    assert "Liabilities:Payable:HZD" in names
    assert names["Assets:Receivable:HZD"].opened_on == now().date()
    assert names["Assets:Receivable:HZD"].currency == "EUR"


async def test_the_first_admission_opens_the_standard_accounts_whoever_is_admitted() -> None:
    await member("HZD")
    names = {account.name for account in await ledger.list_accounts()}
    assert set(ledger.STANDARD_ACCOUNTS) <= names


async def test_further_admissions_leave_the_standard_accounts_as_they_are() -> None:
    await member("KOPIT")
    before = {a.name: a for a in await ledger.list_accounts() if a.name in ledger.STANDARD_ACCOUNTS}
    await member("EKOM21")
    after = {a.name: a for a in await ledger.list_accounts() if a.name in ledger.STANDARD_ACCOUNTS}
    assert before == after
    assert len(await ledger.list_accounts()) == 3 + 2 * 2
