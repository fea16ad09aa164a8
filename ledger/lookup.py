"""Reading several journal entries at once, for reports that compare many documents with their entries."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from ledger.journal import entries_from_rows
from ledger.models import Entry
from ledger.tables import Entry as EntryRow

CHUNK = 500


async def get_entries(entry_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Entry]:
    """The entries with these ids, with their postings; ids not in the journal are left out."""
    ids = sorted(set(entry_ids))
    found: dict[uuid.UUID, Entry] = {}
    for index in range(0, len(ids), CHUNK):
        rows = await EntryRow.select().where(EntryRow.id.is_in(ids[index : index + CHUNK]))
        for entry in await entries_from_rows(rows):
            found[entry.id] = entry
    return found
