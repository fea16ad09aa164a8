"""Reading the journal in batches, in export order (date, then number), so memory stays flat."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence

from ledger.journal import entries_from_rows
from ledger.models import Entry
from ledger.tables import Entry as EntryRow
from ledger.tables import Posting as PostingRow

BATCH_SIZE = 1000


async def entries(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    accounts: Sequence[str] | None = None,
    max_number: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[list[Entry]]:
    """Batches of entries dated ``start``..``end`` (inclusive), sorted by date then number.

    ``accounts`` keeps only entries with a posting on one of them (all their postings are kept);
    ``max_number`` pins a snapshot, since entries are only ever appended.
    """
    after: tuple[dt.date, int] | None = None
    while True:
        query = EntryRow.select()
        if start is not None:
            query = query.where(EntryRow.date >= start)
        if end is not None:
            query = query.where(EntryRow.date <= end)
        if max_number is not None:
            query = query.where(EntryRow.number <= max_number)
        if accounts is not None:
            query = query.where(
                EntryRow.id.is_in(PostingRow.select(PostingRow.entry).where(PostingRow.account.is_in(list(accounts))))
            )
        if after is not None:
            query = query.where(
                (EntryRow.date > after[0]) | ((EntryRow.date == after[0]) & (EntryRow.number > after[1]))
            )
        rows = await query.order_by(EntryRow.date).order_by(EntryRow.number).limit(batch_size)
        if not rows:
            return
        yield await entries_from_rows(rows)
        after = (rows[-1]["date"], int(rows[-1]["number"]))
        if len(rows) < batch_size:
            return


async def last_number() -> int:
    """The number of the newest entry (0 for an empty journal)."""
    row = await EntryRow.select(EntryRow.number).order_by(EntryRow.number, ascending=False).first()
    return 0 if row is None else int(row["number"])
