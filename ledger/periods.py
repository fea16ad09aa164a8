"""Closing months. A closed period is frozen: its file's sha256 is stored and nothing more is booked into it.

Closing asserts, for every account with activity in the month, its balance at the start of the next month's
first day (Beancount checks a balance at the start of its date, pitfalls.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ledger import rules
from ledger.assertions import recorded_assertions
from ledger.balances import balances
from ledger.db import JOURNAL_LOCK, lock, transaction
from ledger.errors import InvalidEntry
from ledger.models import Balance, ClosedPeriod
from ledger.render import balance_text, entry_text
from ledger.stream import entries
from ledger.tables import BalanceAssertion as AssertionRow
from ledger.tables import Entry as EntryRow
from ledger.tables import Period as PeriodRow
from ledger.tables import Posting as PostingRow


async def period_file(
    period: str,
    assertions: Sequence[Balance],
    *,
    accounts: Sequence[str] | None = None,
    max_number: int | None = None,
) -> AsyncIterator[str]:
    """The text of the period's file in chunks: its entries by date and number, the assertions recorded for its
    days (``ledger.assertions``), then its closing balance assertions.

    ``accounts`` gives a member's file: the entries touching those accounts and only their assertions.
    """
    first, last = rules.period(period)
    async for batch in entries(start=first, end=last, accounts=accounts, max_number=max_number):
        yield "".join(entry_text(entry) + "\n" for entry in batch)
    own = None if accounts is None else frozenset(accounts)
    yield "".join(a.text() for a in await recorded_assertions(start=first, end=last, accounts=own))
    day = rules.next_month(first)
    yield "".join(
        balance_text(day, a.account, int(a.amount.scaleb(2)), a.currency)
        for a in sorted(assertions, key=lambda a: (a.account, a.currency))
        if accounts is None or a.account in accounts
    )


async def period_sha256(period: str, assertions: Sequence[Balance]) -> tuple[str, int]:
    """The sha256 of the period's whole file and its number of entries, computed without holding the file."""
    digest = hashlib.sha256()
    first, last = rules.period(period)
    async for chunk in period_file(period, assertions):
        digest.update(chunk.encode("utf-8"))
    count = await EntryRow.count().where((EntryRow.date >= first) & (EntryRow.date <= last))
    return digest.hexdigest(), int(count)


async def close_period(period: str, *, actor: str) -> ClosedPeriod:
    """Close the month ``period`` (``YYYY-MM``): assert balances, freeze its file; idempotent.

    Afterwards nothing dated in it or before it can be booked (``PeriodClosed``): corrections are reversals
    in an open period.
    """
    first, last = rules.period(period)
    who = rules.text(actor, "actor", limit=254)
    if not who:
        raise InvalidEntry("actor must not be empty")
    async with transaction():
        await lock(JOURNAL_LOCK)
        existing = await get_closed_period(period)
        if existing is not None:
            return existing
        active = await (
            PostingRow.select(PostingRow.account, PostingRow.currency)
            .where(
                PostingRow.entry.is_in(
                    EntryRow.select(EntryRow.id).where((EntryRow.date >= first) & (EntryRow.date <= last))
                )
            )
            .distinct()
        )
        touched = {(str(row["account"]), str(row["currency"])) for row in active}
        assertions = [b for b in await balances(as_of=last) if (b.account, b.currency) in touched]
        sha256, count = await period_sha256(period, assertions)
        closed_at = dt.datetime.now(dt.UTC)
        await PeriodRow.insert(
            PeriodRow(
                id=uuid.uuid4(),
                period=period,
                closed_at=closed_at,
                closed_by=who,
                entry_count=count,
                file_sha256=sha256,
            )
        )
        if assertions:
            day = rules.next_month(first)
            await AssertionRow.insert(
                *(
                    AssertionRow(
                        id=uuid.uuid4(),
                        period=period,
                        date=day,
                        account=a.account,
                        amount_cents=int(a.amount.scaleb(2)),
                        currency=a.currency,
                    )
                    for a in assertions
                )
            )
        return ClosedPeriod(period, closed_at, who, count, sha256, tuple(assertions))


def _closed(row: dict[str, Any], assertions: list[dict[str, Any]]) -> ClosedPeriod:
    return ClosedPeriod(
        period=str(row["period"]),
        closed_at=row["closed_at"],
        closed_by=str(row["closed_by"]),
        entry_count=int(row["entry_count"]),
        file_sha256=str(row["file_sha256"]),
        assertions=tuple(
            Balance(str(a["account"]), str(a["currency"]), rules.decimal_cents(int(a["amount_cents"])))
            for a in sorted(assertions, key=lambda a: (a["account"], a["currency"]))
        ),
    )


async def get_closed_period(period: str) -> ClosedPeriod | None:
    """The closed period ``period``, or None while it is open."""
    row = await PeriodRow.select().where(PeriodRow.period == period).first()
    if row is None:
        return None
    assertions = await AssertionRow.select().where(AssertionRow.period == period)
    return _closed(row, assertions)


async def closed_periods() -> list[ClosedPeriod]:
    """Every closed period, oldest first."""
    rows = await PeriodRow.select().order_by(PeriodRow.period)
    assertions = await AssertionRow.select()
    by_period: dict[str, list[dict[str, Any]]] = {}
    for assertion in assertions:
        by_period.setdefault(str(assertion["period"]), []).append(assertion)
    return [_closed(row, by_period.get(str(row["period"]), [])) for row in rows]
