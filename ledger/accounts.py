"""Opening and closing accounts. Accounts are never deleted; a member's accounts are closed when it leaves."""

from __future__ import annotations

import datetime as dt
import uuid

from ledger import rules
from ledger.db import JOURNAL_LOCK, lock, transaction
from ledger.errors import AccountClosed, InvalidEntry, UnknownAccount
from ledger.journal import account_from_row
from ledger.models import Account
from ledger.tables import Account as AccountRow
from ledger.tables import Entry as EntryRow
from ledger.tables import Posting as PostingRow

CLEARING = "Assets:Bank:Clearing"
FEES = "Income:Fees"
UNALLOCATED = "Liabilities:Unallocated"
STANDARD_ACCOUNTS = (CLEARING, FEES, UNALLOCATED)


def receivable(code: str) -> str:
    """``Assets:Receivable:<CODE>``: what member CODE owes for services it consumed."""
    return f"Assets:Receivable:{rules.member_code(code)}"


def payable(code: str) -> str:
    """``Liabilities:Payable:<CODE>``: what is owed to member CODE for services it provided."""
    return f"Liabilities:Payable:{rules.member_code(code)}"


def member_accounts(code: str) -> tuple[str, str]:
    """The member's two accounts: receivable and payable."""
    return receivable(code), payable(code)


async def open_account(name: str, *, opened_on: dt.date, currency: str = "EUR") -> Account:
    """Open ``name`` on ``opened_on`` in ``currency``; opening an open account again returns it.

    An earlier ``opened_on`` moves the Open back. A closed account is not reopened (``AccountClosed``), and an
    account cannot change its currency (``InvalidEntry``).
    """
    rules.account_name(name)
    rules.currency(currency)
    rules.date(opened_on)
    async with transaction():
        await lock(JOURNAL_LOCK)
        row = await AccountRow.select().where(AccountRow.name == name).first()
        if row is None:
            await AccountRow.insert(
                AccountRow(
                    id=uuid.uuid4(),
                    name=name,
                    currency=currency,
                    opened_on=opened_on,
                    closed_on=None,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
            return Account(name=name, currency=currency, opened_on=opened_on, closed_on=None)
        account = account_from_row(row)
        if account.closed_on is not None:
            raise AccountClosed(f"account {name} was closed on {account.closed_on} and is not reopened")
        if account.currency != currency:
            raise InvalidEntry(f"account {name} is kept in {account.currency}, not {currency}")
        if opened_on < account.opened_on:
            await AccountRow.update({AccountRow.opened_on: opened_on}).where(AccountRow.name == name)
            account = Account(name=name, currency=currency, opened_on=opened_on, closed_on=None)
        return account


async def close_account(name: str, *, closed_on: dt.date) -> Account:
    """Close ``name`` on ``closed_on`` (nothing may be booked on it after that day); idempotent.

    Refused (``AccountClosed``) if entries on the account are dated after ``closed_on``.
    """
    rules.date(closed_on)
    async with transaction():
        await lock(JOURNAL_LOCK)
        row = await AccountRow.select().where(AccountRow.name == name).first()
        if row is None:
            raise UnknownAccount(f"account {name} is not open")
        account = account_from_row(row)
        if account.closed_on is not None:
            if account.closed_on != closed_on:
                raise AccountClosed(f"account {name} was closed on {account.closed_on} already")
            return account
        if closed_on < account.opened_on:
            raise AccountClosed(f"account {name} cannot close before it opened ({account.opened_on})")
        later = await EntryRow.exists().where(
            (EntryRow.date > closed_on)
            & EntryRow.id.is_in(PostingRow.select(PostingRow.entry).where(PostingRow.account == name))
        )
        if later:
            raise AccountClosed(f"account {name} has entries after {closed_on}")
        await AccountRow.update({AccountRow.closed_on: closed_on}).where(AccountRow.name == name)
        return Account(name=name, currency=account.currency, opened_on=account.opened_on, closed_on=closed_on)


async def open_standard_accounts(*, opened_on: dt.date) -> list[Account]:
    """Open the cooperative's own accounts: the clearing bank account, fees and unallocated receipts."""
    return [await open_account(name, opened_on=opened_on) for name in STANDARD_ACCOUNTS]


async def open_member_accounts(code: str, *, opened_on: dt.date) -> list[Account]:
    """Open the receivable and payable accounts of member ``code`` (on admission)."""
    return [await open_account(name, opened_on=opened_on) for name in member_accounts(code)]


async def close_member_accounts(code: str, *, closed_on: dt.date) -> list[Account]:
    """Close the member's two accounts (when it leaves)."""
    return [await close_account(name, closed_on=closed_on) for name in member_accounts(code)]


async def get_account(name: str) -> Account:
    """The account ``name`` (``UnknownAccount`` if it was never opened)."""
    row = await AccountRow.select().where(AccountRow.name == name).first()
    if row is None:
        raise UnknownAccount(f"account {name} is not open")
    return account_from_row(row)


async def list_accounts() -> list[Account]:
    """Every account, open or closed, by name."""
    rows = await AccountRow.select().order_by(AccountRow.name)
    return [account_from_row(row) for row in rows]
