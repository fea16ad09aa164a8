"""Balances per account and per member, and statements with a running balance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledger import rules
from ledger.accounts import get_account, member_accounts
from ledger.models import Balance, Entry, MemberBalance, Statement, StatementLine
from ledger.stream import entries
from ledger.tables import Entry as EntryRow


def _amount(cents: Any) -> Decimal:
    # PostgreSQL's SUM over BIGINT is NUMERIC, SQLite's an integer: both are whole cents.
    return Decimal(int(cents)).scaleb(-2)


async def balances(
    *, as_of: dt.date | None = None, accounts: Sequence[str] | None = None, member: str | None = None
) -> list[Balance]:
    """Balances at the end of ``as_of`` (all dates if None), per account and currency, sorted by account.

    ``member`` restricts them to that member's accounts, ``accounts`` to the named ones. Accounts without
    postings are left out.
    """
    names = list(accounts) if accounts is not None else None
    if member is not None:
        own = list(member_accounts(member))
        names = own if names is None else [name for name in names if name in own]
    conditions: list[str] = []
    args: list[Any] = []
    if as_of is not None:
        conditions.append("e.date <= {}")
        args.append(rules.date(as_of))
    if names is not None:
        if not names:
            return []
        conditions.append("p.account IN (" + ", ".join("{}" for _ in names) + ")")
        args.extend(names)
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    rows = await EntryRow.raw(
        "SELECT p.account AS account, p.currency AS currency, SUM(p.amount_cents) AS cents "
        "FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry "
        f"{where} GROUP BY p.account, p.currency ORDER BY p.account, p.currency",
        *args,
    )
    return [Balance(str(row["account"]), str(row["currency"]), _amount(row["cents"])) for row in rows]


async def balances_at_each(days: Sequence[dt.date], *, member: str) -> dict[dt.date, list[Balance]]:
    """The balances of ``member``'s accounts at the end of each of ``days``, read in one pass over the postings."""
    if not days:
        return {}
    names = list(member_accounts(member))
    ordered = sorted({rules.date(day) for day in days})
    sums = ", ".join(
        f"SUM(CASE WHEN e.date <= {{}} THEN p.amount_cents ELSE 0 END) AS c{n}" for n in range(len(ordered))
    )
    rows = await EntryRow.raw(
        f"SELECT p.account AS account, p.currency AS currency, {sums} "
        "FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry "
        "WHERE e.date <= {} AND p.account IN (" + ", ".join("{}" for _ in names) + ") "
        "GROUP BY p.account, p.currency ORDER BY p.account, p.currency",
        *ordered,
        ordered[-1],
        *names,
    )
    return {
        day: [
            Balance(str(row["account"]), str(row["currency"]), _amount(row[f"c{n}"]))
            for row in rows
            if row[f"c{n}"] is not None
        ]
        for n, day in enumerate(ordered)
    }


async def account_balance(account: str, *, as_of: dt.date | None = None) -> Decimal:
    """The balance of ``account`` in its own currency at the end of ``as_of``."""
    found = await get_account(account)
    for balance in await balances(as_of=as_of, accounts=[account]):
        if balance.currency == found.currency:
            return balance.amount
    return Decimal("0.00")


async def member_balance(code: str, *, as_of: dt.date | None = None) -> MemberBalance:
    """What member ``code`` owes (``receivable``), is owed (``payable``, positive) and the ``net`` it owes."""
    receivable_account, payable_account = member_accounts(code)
    found = {b.account: b.amount for b in await balances(as_of=as_of, accounts=[receivable_account, payable_account])}
    owes = found.get(receivable_account, Decimal("0.00"))
    # A liability has a negative balance in Beancount: what the cooperative owes the member is its negation.
    owed = -found.get(payable_account, Decimal("0.00")) or Decimal("0.00")
    return MemberBalance(member=code, receivable=owes, payable=owed, net=owes - owed)


async def statement(account: str, *, start: dt.date | None = None, end: dt.date | None = None) -> Statement:
    """The postings on ``account`` dated ``start``..``end`` (inclusive) with the balance after each."""
    found = await get_account(account)
    opening = Decimal("0.00")
    if start is not None:
        opening = await account_balance(account, as_of=start - dt.timedelta(days=1))
    running = opening
    lines: list[StatementLine] = []
    async for batch in entries(start=start, end=end, accounts=[account]):
        for entry in batch:
            for posting in entry.postings:
                if posting.account != account or posting.currency != found.currency:
                    continue
                running += posting.amount
                lines.append(
                    StatementLine(
                        date=entry.date,
                        entry_id=entry.id,
                        number=entry.number,
                        payee=entry.payee,
                        narration=entry.narration,
                        links=entry.links,
                        amount=posting.amount,
                        balance=running,
                    )
                )
    return Statement(
        account=account,
        currency=found.currency,
        start=start,
        end=end,
        opening_balance=opening,
        closing_balance=running,
        lines=tuple(lines),
    )


async def member_entries(
    code: str, *, start: dt.date | None = None, end: dt.date | None = None, limit: int | None = None
) -> list[Entry]:
    """The member's view: the entries that touch its accounts, each with all its postings.

    The other postings are the counter-postings of its own entries; entries between other members are not
    in it. Sorted by date, then number.
    """
    found: list[Entry] = []
    async for batch in entries(start=start, end=end, accounts=list(member_accounts(code))):
        found.extend(batch)
        if limit is not None and len(found) >= limit:
            return found[:limit]
    return found
